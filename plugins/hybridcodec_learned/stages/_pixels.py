"""What the learned transforms share at their pixel end: which planes they take, the
planes as an RGB float array, and reduced-size output."""

from __future__ import annotations

import numpy as np

from hybridcodec import CodecError

__all__ = ["check_pixel_planes", "to_rgb", "from_rgb", "MAX_PIXELS", "MAX_WIDTH"]

# The learned transforms hold their latents (192 per 8x8 block), means and the network's
# activations at once: about 100 bytes a pixel of the image padded to their grid (32
# pixels), so 2^24 padded pixels (4096 x 4096) need ~1.7 GB.  Larger images are refused
# from the header, before any work: a small file must not make a decoder allocate what
# it claims (a 109-byte dcnn file re-declared 1 x 16777216 -- 32 x 16777216 padded, 268
# million latents -- took 11 s and 4.8 GB before this check).
MAX_PIXELS = 1 << 24
GRID = 32
# Stages that run in strips of rows hold a few rows of the whole width at a time: their
# images may be as tall as the format allows but at most this wide (JPEG's limit too).
MAX_WIDTH = 65535


def check_pixel_planes(planes, name: str, capped: bool = True) -> tuple[int, int]:
    """(h, w) of 1 (grey) or 3 (RGB) pixel planes of one size; CodecError otherwise.
    ``capped``: at most MAX_PIXELS (padded); a stage that runs its networks a strip of
    rows at a time passes False and is held to MAX_WIDTH instead (a strip's memory
    grows with the width)."""
    if len(planes) not in (1, 3) or any(p.form != "pixels" for p in planes):
        raise CodecError(f"{name} takes 1 or 3 pixel planes (grey or RGB), as the first stage of a pipeline")
    h, w = planes[0].shape
    if any(p.shape != (h, w) for p in planes):
        raise CodecError(f"{name} needs planes of one size (no chroma subsampling before it)")
    if not capped:
        if w > MAX_WIDTH:
            raise CodecError(f"{name} codes images of up to {MAX_WIDTH} pixels across, not {w}; "
                             "use a classical pipeline (wavelet) for wider ones")
        return h, w
    if -(-h // GRID) * -(-w // GRID) * GRID * GRID > MAX_PIXELS:
        raise CodecError(f"{name} codes images of up to {MAX_PIXELS >> 20} megapixels (4096 x 4096, padded to "
                         f"multiples of {GRID}), not {w} x {h}; use a classical pipeline (wavelet) for larger ones")
    return h, w


def to_rgb(planes, ctx) -> np.ndarray:
    """3 x H x W float32 on the 8-bit scale (grey repeated; 16-bit samples divided by 256)."""
    x = np.stack([np.asarray(p, np.float32) for p in planes])
    if ctx.sample_scale != 1:
        x /= np.float32(ctx.sample_scale)
    return np.repeat(x, 3, axis=0) if len(planes) == 1 else x


def from_rgb(x: np.ndarray, layout, ctx) -> list:
    """Decoded 3 x H x W (8-bit scale) back to the pipeline's planes: the sample scale, grey
    as the mean of the three, and 1/reduce of the size (box average, size rounded up)."""
    if ctx.sample_scale != 1:
        x = x * np.float32(ctx.sample_scale)
    planes = [x.mean(axis=0)] if len(layout) == 1 else list(x)
    return [_reduce(p, ctx.reduce) for p in planes]


def _reduce(plane: np.ndarray, r: int) -> np.ndarray:
    if r == 1:
        return plane
    h, w = plane.shape
    p = np.pad(plane, ((0, -h % r), (0, -w % r)), mode="edge")
    return p.reshape(p.shape[0] // r, r, p.shape[1] // r, r).mean(axis=(1, 3))
