"""Rate control: search the quality that meets a size or fidelity target."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._errors import CodecError
from ._metrics import psnr

__all__ = ["search_quality"]

_LO, _HI = 100, 10000  # qualities in hundredths


def _number(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise CodecError(f"{name} must be a number {bound}; got {value!r}")
    return float(value)


def search_quality(encode_at, decode, arr: np.ndarray, pipe, target_bpp=None, target_psnr=None,
                   max_bytes=None) -> bytes:
    """Bisect the quality (in steps of 0.01) with ``encode_at(quality) -> bytes``
    (``decode(bytes) -> pixels`` scores a PSNR target).

    Size and PSNR grow with quality, so about 14 encodes settle any target.
    """
    if not pipe.rate_knob():
        raise CodecError("rate control needs a pipeline whose rate the quality sets (a quantizer, or a "
                         f"stage with a rate parameter); {pipe.spec()!r} has none (it is lossless or fixed-rate)")
    h, w = arr.shape[:2]
    cache: dict[int, bytes] = {}

    def at(cq: int) -> bytes:
        if cq not in cache:
            cache[cq] = encode_at(cq // 100 if cq % 100 == 0 else cq / 100)
        return cache[cq]

    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Integral) or max_bytes < 1:
            raise CodecError(f"max_bytes must be a positive integer; got {max_bytes!r}")
        ok = lambda cq: len(at(cq)) <= max_bytes  # noqa: E731
        if not ok(_LO):
            raise CodecError(f"cannot fit in {max_bytes} bytes: the smallest file at quality 1 "
                             f"takes {len(at(_LO))} bytes")
        return at(_last_true(ok))
    if target_psnr is not None:
        target = _number("target_psnr", target_psnr, 0.0)
        score = lambda cq: psnr(arr, decode(at(cq)).reshape(arr.shape))  # noqa: E731
        if score(_HI) < target:
            return at(_HI)  # the best this pipeline can do
        return at(_first_true(lambda cq: score(cq) >= target))
    target = _number("target_bpp", target_bpp, 1e-6)
    bpp = lambda cq: 8.0 * len(at(cq)) / (h * w)  # noqa: E731
    above = _first_true(lambda cq: bpp(cq) >= target)
    below = max(_LO, above - 1)
    best = min((below, above), key=lambda cq: abs(bpp(cq) - target))
    return at(best)


def _first_true(pred) -> int:
    """Smallest hundredth-quality in [_LO, _HI] where ``pred`` holds (``_HI`` if none)."""
    lo, hi = _LO, _HI
    if pred(lo):
        return lo
    if not pred(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _last_true(pred) -> int:
    """Largest hundredth-quality where ``pred`` holds, given that it holds at ``_LO``."""
    return _HI if pred(_HI) else _first_true(lambda cq: not pred(cq)) - 1
