"""Alpha planes, stored losslessly beside the colour pipeline: integer 5/3 + arith."""

from __future__ import annotations

import numpy as np

from ._errors import CodecError
from ._stage import Context, PlaneInfo
from .stages.arith import Arith
from .stages.dwt import Int53

__all__ = ["encode_alpha", "decode_alpha"]


def _stages(h: int, w: int):
    int53 = Int53()
    pixels = (PlaneInfo((h, w), "luma", "pixels", True),)
    return int53, Arith(), pixels, int53.layout(pixels)


def encode_alpha(alpha: np.ndarray) -> bytes:
    h, w = alpha.shape
    int53, arith, pixels, coefs = _stages(h, w)
    ctx = Context(w, h, 1, 100)
    planes = int53.encode([alpha.astype(np.int32) - 128], pixels, ctx)
    return arith.encode(planes, coefs, ctx)


def decode_alpha(payload: bytes, h: int, w: int, ctx: Context) -> np.ndarray:
    """The alpha plane (float32, 0..255), reduced like the colour planes."""
    int53, arith, pixels, coefs = _stages(h, w)
    actx = Context(w, h, 1, 100, reduce=ctx.reduce, allow_truncated=ctx.allow_truncated)
    try:
        planes = arith.decode(payload, coefs, actx)
    except CodecError as exc:
        raise CodecError(f"alpha plane: {exc}") from None
    (plane,) = int53.decode(planes, pixels, actx)
    return plane.astype(np.float32) + np.float32(128.0)
