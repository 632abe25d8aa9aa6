"""Float planes to integer samples, and back: the two ends of every pipeline.

``to_samples`` writes decoded planes (centred on 0) straight into the output image,
rounding and clipping on the way, stripe by stripe on every core; before, the planes
were stacked, shifted, rounded and clipped by numpy with an H x W x C float32
temporary at each step (36 bytes per pixel of an RGB image).
"""

from __future__ import annotations

import numpy as np

from ._errors import CodecError
from ._jit import kernel
from ._threads import run, spans

__all__ = ["to_samples", "from_samples"]


@kernel(cache=True, nogil=True)
def _write_rows(plane, mid, top, out, ch, r0, r1):
    for y in range(r0, r1):
        for x in range(plane.shape[1]):
            v = np.rint(plane[y, x] + mid)
            out[y, x, ch] = min(max(v, np.float32(0.0)), top)


@kernel(cache=True, nogil=True)
def _read_rows(samples, mid, ch, plane, r0, r1):
    for y in range(r0, r1):
        for x in range(plane.shape[1]):
            plane[y, x] = np.float32(samples[y, x, ch]) - mid


def to_samples(planes, out: np.ndarray, first: int = 0) -> None:
    """Write float planes (centred on 0) as channels ``first...`` of ``out`` (H x W x C,
    uint8 or uint16): ``clip(rint(plane + mid), 0, max)``, as the decoder always did."""
    h, w = out.shape[:2]
    bits = 16 if out.dtype == np.uint16 else 8
    mid, top = np.float32(1 << (bits - 1)), np.float32((1 << bits) - 1)
    jobs = []
    for c, p in enumerate(planes):
        if p.shape != (h, w):
            raise CodecError(f"corrupt .hcx file: a decoded plane is {p.shape[1]}x{p.shape[0]}, the image {w}x{h}")
        p = np.ascontiguousarray(p, dtype=np.float32)
        jobs += [(p, mid, top, out, first + c, a, b) for a, b in spans(h, 64)]
    run(_write_rows, jobs)


def from_samples(samples: np.ndarray) -> list[np.ndarray]:
    """The float32 planes, centred on 0, of an H x W x C uint8 or uint16 image."""
    samples = np.ascontiguousarray(samples)
    h, w, c = samples.shape
    mid = np.float32(1 << (15 if samples.dtype == np.uint16 else 7))
    planes = list(np.empty((c, h, w), np.float32))  # one buffer: stages in place keep it, the coder reads it whole
    run(_read_rows, [(samples, mid, i, planes[i], a, b) for i in range(c) for a, b in spans(h, 64)])
    return planes
