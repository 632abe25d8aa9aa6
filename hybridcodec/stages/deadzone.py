"""Dead-zone uniform scalar quantizer with per-subband steps."""

from __future__ import annotations

from functools import lru_cache

from .._jit import kernel
import numpy as np

from .._params import Param
from .._quality import ijg_scale
from .._registry import register_stage
from .._bands import check_bands
from .._stage import PlaneInfo, Stage

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
    return max(0.5, 32.0 * ijg_scale(quality) / 100.0)


@register_stage
class DeadZone(Stage):
    """Quantize ``c`` to ``q = sign(c) * floor(|c| / step + rounding)``.  Index ``q != 0``
    stands for ``|c| / step`` in ``[|q| - rounding, |q| + 1 - rounding)`` and is
    reconstructed ``recon`` of the way into that bin (0.5 = its middle; less suits
    the peaked distributions of transform coefficients).

    Works after any transform that publishes bands: each band's step is
    ``step / sqrt(gain)`` with ``gain`` the energy of its synthesis basis, so equal
    steps mean equal distortion in pixels (after ``dct``, orthonormal, every step is
    the same); chroma planes take ``chroma`` times the luma step.
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
        check_bands(planes, "deadzone")
        return tuple(p.quantized() for p in planes)

    def _steps(self, info: PlaneInfo, ctx) -> np.ndarray | np.float32:
        """One step per coefficient, in the plane's own array shape (a scalar when all
        bands share one)."""
        step = base_step(ctx.quality) * (self.chroma if info.role == "chroma" else 1.0) * ctx.sample_scale
        steps = _band_steps(info.bands, step)
        if steps.size == 1:
            return steps[0]
        return info.unflat(steps)

    def encode(self, planes, layout, ctx):
        out = []
        for c, info in zip(planes, layout):
            mag = np.abs(c) / self._steps(info, ctx)
            q = np.floor(mag + np.float32(self.rounding))
            if self.isolated < self.rounding and not all(b.tiled for b in info.bands):
                flat = np.ascontiguousarray(info.flat(q))  # a view of q for flat planes
                _drop_isolated(flat, info.flat(mag), info.bands, self.isolated)
                q = info.unflat(flat)
            out.append((np.sign(c) * q).astype(np.int32))
        return out

    def decode(self, planes, layout, ctx):
        out = []
        shift = np.float32(self.recon - self.rounding)
        for k, info in zip(planes, layout):
            # bin [|q| - rounding, |q| + 1 - rounding) * step; reconstruct `recon` into it
            steps = self._steps(info, ctx)
            if np.ndim(steps) == 0:
                k = k.astype(np.float32)
                out.append((k + np.sign(k) * shift) * steps)
            else:
                flat = _dequantize(np.ascontiguousarray(info.flat(k)), info.flat(steps), shift)
                out.append(info.unflat(flat))
        return out


@lru_cache(maxsize=64)
def _band_steps(bands, step) -> np.ndarray:
    """``step / sqrt(gain)`` repeated over each band, in band-major order; one value
    when every band has the same gain."""
    gains = np.array([b.gain for b in bands], np.float64)
    per_band = (step / np.sqrt(gains)).astype(np.float32)
    if np.all(per_band == per_band[0]):
        out = per_band[:1]
    else:
        ordered = sorted(zip((b.offset for b in bands), per_band, (b.size for b in bands)))
        out = np.repeat(np.array([v for _, v, _ in ordered], np.float32), [n for _, _, n in ordered])
    return out  # cached: never written (left writable so that its views compile one kernel variant)


@kernel(cache=True, nogil=True)
def _dequantize(k, steps, shift):
    out = np.empty(k.shape, np.float32)
    for i in range(len(k)):
        v = k[i]
        out[i] = 0.0 if v == 0 else (v + shift if v > 0 else v - shift) * steps[i]
    return out


def _drop_isolated(q, mag, bands, rounding):
    """Re-quantize, with a wider dead zone, the coefficients whose 8 neighbours in their
    band all quantize to zero: a lone non-zero value costs many bits for little gain.
    ``q`` and ``mag`` are band-major flat views (``q`` is written through).  Tiled bands
    (one coefficient per block) are left alone: measured for wavelet subbands only."""
    import cv2

    for b in bands:
        h, w = b.shape
        if b.size and not b.tiled:
            band = q[b.offset : b.offset + b.size].reshape(h, w)
            nz = (band != 0).astype(np.float32)
            around = cv2.boxFilter(nz, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT) - nz
            lone = (around == 0) & (band == 1)
            if lone.any():
                m = mag[b.offset : b.offset + b.size].reshape(h, w)
                band[lone] = np.floor(m[lone] + np.float32(rounding))
