"""Dead-zone uniform scalar quantizer with per-subband steps."""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from .._errors import CodecError
from .._params import Param
from .._registry import register_stage
from .._stage import PlaneInfo, Stage
from ..wavelets.subbands import band_gains

__all__ = ["DeadZone", "base_step"]


def base_step(quality: float) -> float:
    """Step size for a quality, on the IJG curve so that a quality means about the
    distortion it means for JPEG: 32 * S(q) / 100 with S = 5000/q below 50 and
    200 - 2q above, and at least 0.5.

    Examples
    --------
    >>> base_step(50), base_step(75), base_step(100)
    (32.0, 16.0, 0.5)
    """
    s = 5000.0 / quality if quality < 50 else 200.0 - 2.0 * quality
    return max(0.5, 32.0 * s / 100.0)


@register_stage
class DeadZone(Stage):
    """Quantize ``c`` to ``q = sign(c) * floor(|c| / step + rounding)``.  Index ``q != 0``
    stands for ``|c| / step`` in ``[|q| - rounding, |q| + 1 - rounding)`` and is
    reconstructed ``recon`` of the way into that bin (0.5 = its middle; less suits
    the peaked distributions of transform coefficients).

    After ``dwt``, each subband's step is ``step / sqrt(gain)`` with ``gain`` the
    energy of its synthesis basis, so equal steps mean equal distortion in pixels;
    chroma planes take ``chroma`` times the luma step.  After ``dct`` (orthonormal)
    the step is the same for every coefficient.
    """

    name = "deadzone"
    kind = "quantizer"
    doc = "dead-zone scalar quantizer, per-subband steps weighted by synthesis gains"
    params = (
        Param("rounding", float, 0.33, "rounding offset; 0.5 = plain rounding, smaller widens the dead zone",
              min=0.0, max=0.5),
        Param("recon", float, 0.4, "reconstruction point within a bin, 0..1 (0.5 = middle)",
              min=0.0, max=1.0),
        Param("chroma", float, 1.0, "chroma step relative to luma", min=0.1, max=10.0),
        Param("isolated", float, 0.1, "rounding offset for a coefficient with no non-zero "
              "neighbour (coding it costs the most)", min=0.0, max=0.5),
    )

    def layout(self, planes):
        for p in planes:
            if p.form not in ("subbands", "blocks"):
                raise CodecError("deadzone needs transform coefficients; put dwt or dct before it")
        return tuple(PlaneInfo(p.shape, p.role, p.form, True, p.extra) for p in planes)

    def _steps(self, info: PlaneInfo, ctx) -> np.ndarray | float:
        step = base_step(ctx.quality) * (self.chroma if info.role == "chroma" else 1.0)
        if info.form == "blocks":
            return np.float32(step)
        return _subband_steps(info.get("bands"), info.get("engine"), info.get("levels"),
                              info.get("mode"), step)

    def encode(self, planes, layout, ctx):
        out = []
        for c, info in zip(planes, layout):
            mag = np.abs(c) / self._steps(info, ctx)
            q = np.floor(mag + np.float32(self.rounding))
            if self.isolated < self.rounding and info.form == "subbands":
                _drop_isolated(q, mag, info.get("bands"), self.isolated)
            out.append((np.sign(c) * q).astype(np.int32))
        return out

    def decode(self, planes, layout, ctx):
        out = []
        for k, info in zip(planes, layout):
            steps = self._steps(info, ctx)
            if info.form == "subbands":
                steps = steps[: len(k)]  # a reduced-size decode brings only the coarse bands
                out.append(_dequantize(k, steps, np.float32(self.recon - self.rounding)))
            else:  # bin [|q| - rounding, |q| + 1 - rounding) * step; reconstruct `recon` into it
                k = k.astype(np.float32)
                out.append((k + np.sign(k) * np.float32(self.recon - self.rounding)) * steps)
        return out


@lru_cache(maxsize=64)
def _subband_steps(bands, engine, levels, mode, step) -> np.ndarray:
    gains = band_gains(engine, levels, mode)
    if len(gains) != len(bands):
        raise CodecError("deadzone: band layout does not match the transform")
    per_band = (step / np.sqrt(gains)).astype(np.float32)
    out = np.repeat(per_band, [shape[0] * shape[1] for _, _, shape in bands])
    out.setflags(write=False)
    return out


@numba.njit(cache=True, nogil=True)
def _dequantize(k, steps, shift):
    out = np.empty(k.shape, np.float32)
    for i in range(len(k)):
        v = k[i]
        out[i] = 0.0 if v == 0 else (v + shift if v > 0 else v - shift) * steps[i]
    return out


def _drop_isolated(q, mag, bands, rounding):
    """Re-quantize, with a wider dead zone, the coefficients whose 8 neighbours in their
    band all quantize to zero: a lone non-zero value costs many bits for little gain."""
    import cv2

    off = 0
    for _, _, (h, w) in bands:
        n = h * w
        if n:
            band = q[off : off + n].reshape(h, w)
            nz = (band != 0).astype(np.float32)
            around = cv2.boxFilter(nz, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT) - nz
            lone = (around == 0) & (band == 1)
            if lone.any():
                m = mag[off : off + n].reshape(h, w)
                band[lone] = np.floor(m[lone] + np.float32(rounding))
        off += n
