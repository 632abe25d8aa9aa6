"""Reversible colour transform (JPEG 2000 RCT) for lossless coding."""

from __future__ import annotations

import numpy as np

from .._errors import CodecError
from .._registry import register_stage
from .._stage import PlaneInfo, Stage

__all__ = ["RCT"]


@register_stage
class RCT(Stage):
    """Y = floor((R + 2G + B) / 4), Cb = B - G, Cr = R - G, exactly invertible on
    integers.  Grey images pass through (as integers)."""

    name = "rct"
    kind = "colour"
    doc = "reversible integer colour transform (JPEG 2000 RCT)"

    def layout(self, planes):
        if len(planes) not in (1, 3) or any(p.form != "pixels" for p in planes):
            raise CodecError("rct needs three pixel planes (an RGB image) or one (grey)")
        roles = ("luma", "chroma", "chroma")
        return tuple(PlaneInfo(p.shape, roles[i], "pixels", True) for i, p in enumerate(planes))

    # Three planes go a band of rows at a time, into the planes' own memory when they are
    # the runner's (float32 and int32 are both 4 bytes a sample): the same integers, and a
    # large image held once instead of three or four times.

    def encode(self, planes, layout, ctx):
        if len(planes) == 1:
            return [np.rint(planes[0]).astype(np.int32)]
        out = _outputs(planes, ctx, np.int32)
        for rows in _bands(planes[0].shape):
            r, g, b = (np.rint(p[rows]).astype(np.int32) for p in planes)
            out[0][rows], out[1][rows], out[2][rows] = (r + 2 * g + b) >> 2, b - g, r - g
        return out

    def decode(self, planes, layout, ctx):
        if len(planes) == 1:
            return [np.asarray(planes[0]).astype(np.float32)]
        out = _outputs(planes, ctx, np.float32)
        for rows in _bands(np.shape(planes[0])):
            y, cb, cr = (np.asarray(p[rows]).astype(np.int32, copy=False) for p in planes)
            g = y - ((cb + cr) >> 2)
            out[0][rows], out[1][rows], out[2][rows] = cr + g, g, cb + g
        return out


_BAND_PIXELS = 1 << 16


def _bands(shape):
    h, w = shape
    step = max(1, _BAND_PIXELS // max(w, 1))
    return [slice(y, min(h, y + step)) for y in range(0, h, step)]


def _outputs(planes, ctx, dtype):
    """Where the three output planes go: the input planes' buffers (viewed as ``dtype``)
    when the runner lets the stage reuse them, else new arrays."""
    if ctx.reuse_planes and all(isinstance(p, np.ndarray) and p.itemsize == 4 and p.flags.writeable
                                and p.flags.c_contiguous for p in planes):
        return [p.view(dtype) for p in planes]
    return [np.empty(np.shape(p), dtype) for p in planes]
