"""Uniform scalar quantizer with JPEG quantization tables scaled by quality."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._errors import CodecError
from .._params import Param
from .._quality import ijg_scale
from .._registry import register_stage
from .._stage import Stage
from ._blocks import dequantize, quantize

__all__ = ["JPEGQuantizer", "quant_table", "ANNEX_K_LUMA", "ANNEX_K_CHROMA"]

# ITU-T T.81 Annex K, tables K.1 and K.2 (natural row-major order).
ANNEX_K_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64).reshape(8, 8)
ANNEX_K_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99], dtype=np.float64).reshape(8, 8)
_BASES = {
    "annexk": {"luma": ANNEX_K_LUMA, "chroma": ANNEX_K_CHROMA},
    "flat": {"luma": np.full((8, 8), 16.0), "chroma": np.full((8, 8), 16.0)},
}
_LIMIT = 32767  # keeps every coefficient within the coders' 15-bit magnitude classes


@lru_cache(maxsize=256)
def quant_table(table: str, role: str, block: int, quality: float) -> np.ndarray:
    """Step sizes for one B x B block: the 8x8 base table resampled to B x B by frequency,
    then scaled with the IJG formula and clamped to 1..255 as libjpeg does (force_baseline).

    Examples
    --------
    >>> quant_table("annexk", "luma", 8, 50)[0, :4]
    array([16., 11., 10., 16.], dtype=float32)
    >>> int(quant_table("annexk", "luma", 8, 100).max())
    1
    """
    if not 1 <= quality <= 100:
        raise CodecError(f"quality must be 1..100; got {quality}")
    base = _BASES[table][role]
    if block != 8:
        f = np.arange(block) * 8.0 / block
        uu, vv = np.meshgrid(f, f, indexing="ij")
        from scipy.ndimage import map_coordinates  # only for 4x4 and 16x16 blocks

        base = map_coordinates(base, [uu, vv], order=1, mode="nearest")
    scale = ijg_scale(quality)
    t = np.floor((base * scale + 50) / 100)
    t = np.clip(t, 1, 255).astype(np.float32)
    t.setflags(write=False)
    return t


@register_stage
class JPEGQuantizer(Stage):
    """Divide each DCT coefficient by its table step and round to the nearest integer."""

    name = "jpegq"
    kind = "quantizer"
    doc = "JPEG tables (luma/chroma) scaled by quality, uniform rounding"
    params = (Param("table", str, "annexk", "base tables", choices=tuple(_BASES)),)

    def layout(self, planes):
        for p in planes:
            if p.form != "blocks":
                raise CodecError("jpegq needs block coefficients; put a dct stage before it")
        return tuple(p.quantized() for p in planes)

    def _steps(self, role: str, block: int, ctx) -> np.ndarray:
        table = quant_table(self.table, role, block, ctx.quality)
        return table if ctx.bits == 8 else table * np.float32(ctx.sample_scale)  # same relative precision

    def encode(self, planes, layout, ctx):
        # the planes' indexes one after another in one buffer: the coder reads them without a copy
        buf = np.empty(sum(np.size(p) for p in planes), np.int32)
        out, at = [], 0
        for coef, info in zip(planes, layout):
            q = self._steps(info.role, info.shape[-1], ctx)
            out.append(quantize(coef, q, _LIMIT, buf[at : at + np.size(coef)].reshape(np.shape(coef))))
            at += np.size(coef)
        return out

    def decode(self, planes, layout, ctx):
        return [dequantize(k, self._steps(info.role, info.shape[-1], ctx)) for k, info in zip(planes, layout)]
