"""Multi-level 2-D wavelet decomposition into a flat, band-ordered coefficient vector.

Bands are ordered coarse to fine: ``LL`` at the coarsest level, then for each
level from coarsest to finest ``HL`` (horizontal high-pass), ``LH`` (vertical
high-pass), ``HH``.  Decoding the first ``1 + 3 k`` bands gives the image at
``2**(levels - k)`` times reduced size.

Two engines: the JPEG 2000 lifting schemes (non-expansive, whole-sample
symmetric; ``cdf97`` and the integer ``legall53``), and PyWavelets for every
other wavelet and boundary mode (expansive: bands are slightly larger).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import warnings

import numpy as np
import pywt

from . import lifting

__all__ = ["Band", "WaveletPlan", "auto_levels", "band_gains", "measure_gains"]


@dataclass(frozen=True)
class Band:
    level: int  # 1 = finest
    orient: str  # "LL", "HL", "LH", "HH"
    shape: tuple[int, int]
    offset: int

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]


def auto_levels(h: int, w: int) -> int:
    """Decomposition depth for an image: stop once the low band is about 16 samples."""
    return int(max(0, min(6, np.floor(np.log2(max(1, min(h, w)))) - 4)))


class WaveletPlan:
    """Band layout and transforms of one plane.

    Parameters
    ----------
    shape : (h, w)
    engine : ``"cdf97"``, ``"legall53"`` (lifting) or a PyWavelets wavelet name
    levels : int
    mode : PyWavelets boundary mode (ignored by the lifting engines)
    """

    def __init__(self, shape, engine: str, levels: int, mode: str = "reflect"):
        self.shape = tuple(int(v) for v in shape)
        self.engine, self.levels, self.mode = engine, int(levels), mode
        self.lifting = engine in lifting.KINDS
        if not self.lifting:  # PyWavelets cannot go deeper than the filter allows (nor split 1 sample)
            self.levels = min(self.levels, pywt.dwt_max_level(min(self.shape), pywt.Wavelet(engine).dec_len))
        shapes = self._band_shapes()
        bands, off = [], 0
        for level, orient, shp in shapes:
            bands.append(Band(level, orient, shp, off))
            off += shp[0] * shp[1]
        self.bands = bands
        self.size = off

    def _band_shapes(self):
        h, w = self.shape
        L = self.levels
        if self.lifting:
            dims = [(h, w)]
            for _ in range(L):
                ph, pw = dims[-1]
                dims.append((-(-ph // 2), -(-pw // 2)))
            out = [(L, "LL", dims[L])]
            for j in range(L, 0, -1):
                ph, pw = dims[j - 1]
                lo_h, hi_h, lo_w, hi_w = -(-ph // 2), ph // 2, -(-pw // 2), pw // 2
                out += [(j, "HL", (lo_h, hi_w)), (j, "LH", (hi_h, lo_w)), (j, "HH", (hi_h, hi_w))]
            return out
        with warnings.catch_warnings():  # deep levels on small images only warn in pywt
            warnings.simplefilter("ignore", UserWarning)
            shapes = pywt.wavedecn_shapes(self.shape, self.engine, mode=self.mode, level=L, axes=(0, 1))
        out = [(L, "LL", tuple(shapes[0]))]
        for i, d in enumerate(shapes[1:]):
            j = L - i
            out += [(j, "HL", tuple(d["ad"])), (j, "LH", tuple(d["da"])), (j, "HH", tuple(d["dd"]))]
        return out

    def n_bands(self, reduce_levels: int = 0) -> int:
        """How many leading bands an image reduced by ``2**reduce_levels`` needs."""
        return 1 + 3 * (self.levels - min(reduce_levels, self.levels))

    def forward(self, plane: np.ndarray, use_kernels: bool = True, in_place: bool = False) -> np.ndarray:
        """The band-major coefficients of a plane (``use_kernels=False``: the lifting in
        numpy, the reference the numba kernels equal).  ``in_place``: the coefficients
        may go into the plane's own buffer (the plane is then overwritten)."""
        kernels = self._kernels(plane.dtype) if use_kernels else None
        if kernels is not None:  # numba kernels, the same result as the numpy lifting
            reuse = in_place and plane.flags.c_contiguous and plane.flags.writeable and plane.size == self.size
            return kernels.forward(plane, self.bands, self.levels, None if reuse else np.empty(self.size, plane.dtype))
        flat = np.empty(self.size, dtype=np.int32 if self.engine == "legall53" else np.float32)
        if self.lifting:
            ll, details = plane, []
            for _ in range(self.levels):
                lo, hi = lifting.analyze(ll, self.engine, axis=1)
                ll, lh = lifting.analyze(lo, self.engine, axis=0)
                hl, hh = lifting.analyze(hi, self.engine, axis=0)
                details.append((hl, lh, hh))
            arrays = [ll] + [a for lvl in reversed(details) for a in lvl]
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                coeffs = pywt.wavedec2(plane, self.engine, mode=self.mode, level=self.levels, axes=(0, 1))
            # pywt's (cH, cV, cD): cH is low-pass along rows' direction = our LH; keep our names
            arrays = [coeffs[0]] + [a for cH, cV, cD in coeffs[1:] for a in (cV, cH, cD)]
        for band, arr in zip(self.bands, arrays):
            flat[band.offset : band.offset + band.size] = arr.ravel()
        return flat

    def _kernels(self, dtype):
        """The numba lifting module for this engine and dtype (float64, for gains, and
        the pywt wavelets run in numpy)."""
        if self.engine == "cdf97" and dtype == np.float32:
            from . import _cdf97

            return _cdf97
        if self.engine == "legall53" and dtype == np.int32:
            from . import _legall53

            return _legall53
        return None

    def _band(self, flat, i):
        b = self.bands[i]
        return flat[b.offset : b.offset + b.size].reshape(b.shape)

    def inverse(self, flat: np.ndarray, reduce_levels: int = 0, use_kernels: bool = True,
                in_place: bool = False) -> np.ndarray:
        """Reconstruct, skipping the ``reduce_levels`` finest levels; a skipped level halves
        each side (rounding up) and, with unit-DC-gain low-pass, keeps the pixel scale.
        ``in_place``: the plane may be written over ``flat``."""
        r = min(reduce_levels, self.levels)
        kernels = self._kernels(flat.dtype) if use_kernels else None
        if kernels is not None:
            return kernels.inverse(flat, self.bands, self.levels, r, in_place=in_place and flat.flags.writeable)
        if self.lifting:
            ll = self._band(flat, 0)
            for j in range(self.levels, r, -1):
                k = 1 + 3 * (self.levels - j)
                hl, lh, hh = (self._band(flat, k + i) for i in range(3))
                lo = lifting.synthesize(ll, lh, self.engine, axis=0)
                hi = lifting.synthesize(hl, hh, self.engine, axis=0)
                ll = lifting.synthesize(lo, hi, self.engine, axis=1)
            return ll
        coeffs = [self._band(flat, 0)]
        for j in range(self.levels, r, -1):
            k = 1 + 3 * (self.levels - j)
            hl, lh, hh = (self._band(flat, k + i) for i in range(3))
            coeffs.append((lh, hl, hh))
        out = pywt.waverec2(coeffs, self.engine, mode=self.mode, axes=(0, 1))
        h, w = -(-self.shape[0] // 2**r), -(-self.shape[1] // 2**r)
        if not r:
            return out[:h, :w]
        out = out / np.float32(2**r)  # pywt's low-pass has DC gain sqrt(2) per axis
        # pywt's approximation samples lie ahead of the image by a filter-dependent delay
        s = _lead(self.engine, self.mode, r)
        out = out[s : s + h, s : s + w]
        if out.shape != (h, w):
            out = np.pad(out, ((0, h - out.shape[0]), (0, w - out.shape[1])), mode="edge")
        return out

    def gains(self) -> np.ndarray:
        """Energy of each band's synthesis basis (squared L2 norm of the image made by
        one unit coefficient), so that step / sqrt(gain) gives equal distortion."""
        return band_gains(self.engine, self.levels, self.mode)


@lru_cache(maxsize=64)
def _lead(wavelet: str, mode: str, r: int) -> int:
    """Index of the level-``r`` approximation sample that sits nearest the centre of the
    first ``2**r`` pixels, measured on a ramp (PyWavelets pads and delays its output)."""
    n = 64 * 2**r + 64
    ramp = np.arange(n, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ca = pywt.wavedec(ramp, wavelet, mode=mode, level=r)[0] / np.sqrt(2.0) ** r
    i = len(ca) // 2
    delay = ca[i] - 2**r * i  # sample i sits at 2**r * i + delay
    return max(0, int(round(((2**r - 1) / 2 - delay) / 2**r)))


@lru_cache(maxsize=64)
def band_gains(engine: str, levels: int, mode: str) -> np.ndarray:
    """Synthesis energy gain of each band (in band order) of a ``levels``-deep transform.

    The lifting wavelets read a table measured once (``_gains.py``, made by
    :func:`measure_gains`), so the cost does not grow with the levels a file declares;
    PyWavelets wavelets are measured here, their depth being capped by the image size."""
    if engine in lifting.KINDS and 1 <= levels <= 8:
        from ._gains import GAINS

        out = np.array(GAINS[(engine, levels)], np.float64)
        out.setflags(write=False)
        return out
    return measure_gains(engine, levels, mode)


def measure_gains(engine: str, levels: int, mode: str) -> np.ndarray:
    """Synthesize one unit coefficient at the centre of each band of a plane large enough
    that no basis function reaches its border, and sum the squares."""
    size = 16 * 2 ** max(levels, 1) + 1
    plan = WaveletPlan((size, size), engine, levels, mode)
    out = np.empty(len(plan.bands))
    for i, b in enumerate(plan.bands):
        flat = np.zeros(plan.size, np.float64)  # float: the 5/3 runs without rounding
        flat[b.offset + (b.shape[0] // 2) * b.shape[1] + b.shape[1] // 2] = 1.0
        out[i] = float(np.sum(np.asarray(plan.inverse(flat), np.float64) ** 2))
    out.setflags(write=False)
    return out
