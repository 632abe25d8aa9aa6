"""What the learned transforms share at their pixel end: which planes they take, the
planes as an RGB float array, and reduced-size output."""

from __future__ import annotations

import numpy as np

from hybridcodec import CodecError
from hybridcodec.plugin import from_samples

__all__ = ["check_pixel_planes", "sample_rows", "plane_rows", "to_rgb", "from_rgb", "MAX_WIDTH"]

# The learned transforms run their networks a strip of rows at a time (learned: a few
# latent rows with 2 rows of context; dcnn: the block rows of a batch of 256 blocks), so
# their memory is a few bytes a pixel however tall the image (6000 x 4000: learned 21 /
# 19 bytes a pixel to encode / decode, dcnn 7 / 13, benchmarks/memory.py); a strip is
# the whole width, so the width is limited (JPEG's limit).  Time is the decoder's work
# rule's to bound (docs/FORMAT.md, "Work"): a small file declaring a huge image is
# refused from its header before any network runs.
MAX_WIDTH = 65535


def check_pixel_planes(planes, name: str) -> tuple[int, int]:
    """(h, w) of 1 (grey) or 3 (RGB) pixel planes of one size, at most MAX_WIDTH
    across; CodecError otherwise."""
    if len(planes) not in (1, 3) or any(p.form != "pixels" for p in planes):
        raise CodecError(f"{name} takes 1 or 3 pixel planes (grey or RGB), as the first stage of a pipeline")
    h, w = planes[0].shape
    if any(p.shape != (h, w) for p in planes):
        raise CodecError(f"{name} needs planes of one size (no chroma subsampling before it)")
    if w > MAX_WIDTH:
        raise CodecError(f"{name} codes images of up to {MAX_WIDTH} pixels across, not {w}; "
                         "use a classical pipeline (wavelet) for wider ones")
    return h, w


def sample_rows(samples, ctx):
    """``rows -> 3 x len(rows) x W`` float32 (8-bit scale) of the image's samples
    (H x W x C): what a first stage that reads the image a strip at a time takes."""
    return lambda rows: to_rgb(from_samples(samples[rows]), ctx)


def plane_rows(planes, ctx):
    """:func:`sample_rows` from pixel planes (centred floats)."""
    return lambda rows: to_rgb([np.asarray(p)[rows] for p in planes], ctx)


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
