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

    def encode(self, planes, layout, ctx):
        ints = [np.rint(p).astype(np.int32) for p in planes]
        if len(ints) == 1:
            return ints
        r, g, b = ints
        return [(r + 2 * g + b) >> 2, b - g, r - g]

    def decode(self, planes, layout, ctx):
        ints = [np.asarray(p).astype(np.int32, copy=False) for p in planes]
        if len(ints) == 1:
            return [ints[0].astype(np.float32)]
        y, cb, cr = ints
        g = y - ((cb + cr) >> 2)
        return [(cr + g).astype(np.float32), g.astype(np.float32), (cb + g).astype(np.float32)]
