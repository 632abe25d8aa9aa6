"""Block DCT transform stage."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._errors import CodecError
from .._params import Param
from .._registry import register_stage
from .._stage import Band, PlaneInfo, Stage
from ..entropy.rle import zigzag_order
from ._blocks import forward_dct, inverse_dct

__all__ = ["BlockDCT"]


@register_stage
class BlockDCT(Stage):
    """Orthonormal 2-D DCT-II on non-overlapping B x B blocks.

    Planes are padded to whole blocks by repeating the last row and column;
    the padding is cropped away on decode.  Output form ``"blocks"`` has shape
    ``(blocks_y, blocks_x, B, B)`` with ``[..., u, v]`` the vertical and
    horizontal frequency.  The transforms are numba kernels over runs of block rows
    (see :mod:`hybridcodec.stages._blocks`).
    """

    name = "dct"
    kind = "transform"
    family = "dct"
    doc = "orthonormal block DCT-II"
    params = (Param("block", int, 8, "block size", choices=(4, 8, 16)),)

    def layout(self, planes):
        out = []
        b = self.block
        for p in planes:
            if p.form != "pixels":
                raise CodecError("dct needs pixel planes; put it after the colour stages")
            h, w = p.shape
            nby, nbx = -(-h // b), -(-w // b)
            out.append(PlaneInfo((nby, nbx, b, b), role=p.role, form="blocks", bands=dct_bands(nby, nbx, b),
                                 axes=(2, 3, 0, 1)))
        return tuple(out)

    def encode(self, planes, layout, ctx):
        return [self._forward(p) for p in planes]

    def decode(self, planes, layout, ctx):
        out = []
        for coef, info in zip(planes, layout):
            nby, nbx, b, _ = coef.shape
            h, w = info.shape
            if ctx.reduce == 1:
                out.append(inverse_dct(coef, h, w))
                continue
            # reduced-size decode: the top-left m x m frequencies, scaled for an m-point
            # inverse, give each block at m x m pixels (the libjpeg scaled-IDCT idea)
            m = max(1, b // ctx.reduce)
            coef = coef[:, :, :m, :m].astype(np.float32) * np.float32(m / b)
            pix = inverse_dct(coef, nby * m, nbx * m) if m > 1 else coef.reshape(nby, nbx)
            f = b // m
            out.append(pix[: -(-h // f), : -(-w // f)])
        return out

    def _forward(self, plane: np.ndarray) -> np.ndarray:
        return forward_dct(plane, self.block)


@lru_cache(maxsize=32)
def dct_bands(nby: int, nbx: int, b: int) -> tuple[Band, ...]:
    """One band per frequency ``(u, v)`` holding it across all blocks, in zigzag coding
    order; each refers to the two lower frequencies of the same block (parents) and,
    in chroma, to luma.  Orthonormal: every gain is 1."""
    pos = {int(nat): f for f, nat in enumerate(zigzag_order(b))}
    out = []
    for nat in range(b * b):
        u, v = divmod(nat, b)
        f = pos[nat]
        reduce = next((r for r in range(16) if max(u, v) >= max(1, b >> r)), 1 << 16)
        if f == 0:
            out.append(Band("0,0", (nby, nbx), 0, order=0, reduce=reduce, predict=True, tiled=True))
            continue
        up = (f"{u - 1},{v}", 0, 0) if u > 1 or (u == 1 and v > 0) else None
        left = (f"{u},{v - 1}", 0, 0) if v > 1 or (v == 1 and u > 0) else None
        out.append(Band(f"{u},{v}", (nby, nbx), nat * nby * nbx, order=f, reduce=reduce,
                        context=17 + min((u + v) * 8 // b, 14), tiled=True, parents=(up, left), luma=True))
    return tuple(out)
