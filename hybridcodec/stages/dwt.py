"""Wavelet transform stages: ``dwt`` (any PyWavelets wavelet; CDF 9/7 by lifting)
and ``int53`` (JPEG 2000's reversible integer 5/3, for lossless coding)."""

from __future__ import annotations

from collections import namedtuple
from functools import lru_cache

import numpy as np
import pywt

from .._errors import CodecError
from .._params import Param
from .._registry import register_stage
from .._stage import Band, PlaneInfo, Stage
from .._threads import SPLIT_SAMPLES, run
from ..wavelets.subbands import WaveletPlan, auto_levels, band_gains

__all__ = ["DWT", "Int53"]

_PYWT_WAVELETS = tuple(pywt.wavelist(kind="discrete"))


class _Wavelet(Stage):
    kind = "transform"
    family = "dwt"
    engine = ""
    integer = False

    def _engine(self) -> str:
        return self.engine

    def _mode(self) -> str:
        return "reflect"

    def plans(self, layout) -> list[WaveletPlan]:
        out = []
        for p in layout:
            if p.form != "pixels":
                raise CodecError(f"{self.name} needs pixel planes; put it after the colour stages")
            if self.integer and not p.integer:
                raise CodecError(f"{self.name} needs integer planes; use a reversible colour stage (rct)")
            h, w = p.shape
            levels = self.levels if self.levels else auto_levels(*layout[0].shape)
            out.append(_plan((h, w), self._engine(), levels, self._mode()))
        return out

    def layout(self, planes):
        out = []
        for p, plan in zip(planes, self.plans(planes)):
            out.append(PlaneInfo((plan.size,), role=p.role, form="subbands", integer=self.integer,
                                 bands=wavelet_bands(plan)))
        return tuple(out)

    # Planes go to the threads whole (a Kodak plane's transform is ~1 ms: too little to
    # split); a large plane's passes are split inside instead (_threads.SPLIT_SAMPLES).
    def encode(self, planes, layout, ctx):
        cast = np.int32 if self.integer else np.float32
        reuse = ctx.reuse_planes
        return _per_plane(lambda p, plan: plan.forward(np.asarray(p).astype(cast, copy=False), in_place=reuse),
                          planes, self.plans(layout))

    def decode(self, planes, layout, ctx):
        r = ctx.reduce_levels
        cast = np.int32 if self.integer else np.float32
        reuse = ctx.reuse_planes
        return _per_plane(lambda c, plan: plan.inverse(c.astype(cast, copy=False), r, in_place=reuse), planes,
                          self.plans(layout))


@lru_cache(maxsize=64)
def _plan(shape, engine, levels, mode) -> WaveletPlan:
    return WaveletPlan(shape, engine, levels, mode)  # immutable once made


def _per_plane(fn, planes, plans) -> list:
    """``fn(plane, plan)`` for each plane: on the threads, one plane each, when the planes
    are small; one after another when they are large enough to split their own passes."""
    jobs = list(zip(planes, plans))
    if max((np.size(p) for p in planes), default=0) >= SPLIT_SAMPLES:
        return [fn(*job) for job in jobs]
    return run(fn, jobs)


@register_stage
class DWT(_Wavelet):
    """Multi-level 2-D discrete wavelet transform.

    ``bior4.4`` (the CDF 9/7 of JPEG 2000) with ``mode=reflect`` (whole-sample
    symmetric extension) runs as a non-expansive lifting scheme; any other wavelet
    or mode runs through PyWavelets, whose bands are slightly larger than the image.
    """

    name = "dwt"
    doc = "2-D wavelet transform (CDF 9/7 lifting by default; any PyWavelets wavelet)"
    params = (
        Param("wavelet", str, "bior4.4", "PyWavelets name", choices=_PYWT_WAVELETS),
        Param("levels", int, 0, "decomposition levels; 0 = from the image size", min=0, max=8),
        Param("mode", str, "reflect", "boundary extension (PyWavelets mode)", choices=tuple(pywt.Modes.modes)),
    )

    def _engine(self):
        return "cdf97" if (self.wavelet, self.mode) == ("bior4.4", "reflect") else self.wavelet

    def _mode(self):
        return self.mode


@register_stage
class Int53(_Wavelet):
    """JPEG 2000's reversible LeGall 5/3 integer lifting: exact on integers."""

    name = "int53"
    doc = "reversible integer 5/3 lifting wavelet (lossless)"
    engine = "legall53"
    integer = True
    params = (Param("levels", int, 0, "decomposition levels; 0 = from the image size", min=0, max=8),)


_PlanBand = namedtuple("_PlanBand", "level orient shape offset")

# Context classes of the coefficient coder: 1 + 2 * (level - 1) + (HH), levels past 8 share
_ORIENTS = ("HL", "LH", "HH")


def wavelet_bands(plan: WaveletPlan) -> tuple[Band, ...]:
    """The typed band list of one plane: LL first (predicted), then each level from the
    coarsest; a detail band refers to the same orientation one level coarser (its
    parent), LH and HH to the HL band of their level (sibling), chroma to luma."""
    return _bands(tuple((b.level, b.orient, b.shape, b.offset) for b in plan.bands), plan.engine, plan.levels,
                  plan.mode)


@lru_cache(maxsize=64)
def _bands(plan_bands, engine, levels, mode) -> tuple[Band, ...]:
    gains = band_gains(engine, levels, mode)
    out = []
    for (level, orient, shape, offset), gain in zip(plan_bands, gains):
        b = _PlanBand(level, orient, shape, offset)
        if b.orient == "LL":
            out.append(Band("LL", b.shape, b.offset, float(gain), order=0, predict=True))
            continue
        parent = ((f"{b.level + 1}{b.orient}", -1, -1),) if b.level < levels else ()
        sibling = None if b.orient == "HL" else (f"{b.level}HL", 0, 0)
        out.append(Band(f"{b.level}{b.orient}", b.shape, b.offset, float(gain), order=(1 << 10) - b.level,
                        reduce=b.level, context=1 + 2 * min(b.level - 1, 7) + (b.orient == "HH"),
                        parents=parent, sibling=sibling, luma=True))
    return tuple(out)
