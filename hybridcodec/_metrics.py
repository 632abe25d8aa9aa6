"""Quality metrics and Bjøntegaard deltas."""

from __future__ import annotations

import numpy as np

from ._errors import CodecError

__all__ = ["psnr", "bd_rate", "bd_psnr"]


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio in dB of two images (all channels together), peak 255
    for uint8 and 65535 for uint16.

    Examples
    --------
    >>> import numpy as np
    >>> round(psnr(np.zeros((4, 4), np.uint8), np.full((4, 4), 1, np.uint8)), 2)
    48.13
    """
    wide = np.asarray(a).dtype == np.uint16 or np.asarray(b).dtype == np.uint16
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise CodecError(f"psnr needs images of the same shape; got {a.shape} and {b.shape}")
    mse = np.mean((a - b) ** 2)
    peak = 65535.0 if wide else 255.0
    return float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))


def _curve(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2 or not np.all(np.isfinite(x) & np.isfinite(y)):
        raise CodecError("a BD curve needs two or more finite (rate, quality) points")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    keep = np.concatenate([[True], np.diff(x) > 0])
    return x[keep], y[keep]


def bd_rate(rate_ref, psnr_ref, rate_test, psnr_test, window=(28.0, 38.0)) -> float:
    """Bjøntegaard delta rate in percent of the test curve against the reference
    (negative: the test needs fewer bits), with piecewise cubic (PCHIP) interpolation
    of log-rate over PSNR, integrated where both curves and ``window`` overlap.

    Examples
    --------
    >>> r = [0.25, 0.5, 1.0, 2.0]; q = [28.0, 31.0, 34.5, 38.0]
    >>> round(bd_rate(r, q, [x * 0.9 for x in r], q), 6)
    -10.0
    """
    qa, la = _curve(psnr_ref, np.log(rate_ref))
    qb, lb = _curve(psnr_test, np.log(rate_test))
    lo = max(qa[0], qb[0], window[0] if window else -np.inf)
    hi = min(qa[-1], qb[-1], window[1] if window else np.inf)
    if not hi > lo:
        raise CodecError(f"BD-rate: the curves do not overlap inside the window {window} dB")
    from scipy.interpolate import PchipInterpolator  # 0.15 s to import: only here

    ia = PchipInterpolator(qa, la).integrate(lo, hi)
    ib = PchipInterpolator(qb, lb).integrate(lo, hi)
    return float((np.exp((ib - ia) / (hi - lo)) - 1) * 100)


def bd_psnr(rate_ref, psnr_ref, rate_test, psnr_test) -> float:
    """Bjøntegaard delta PSNR in dB of the test curve against the reference, PCHIP
    interpolation of PSNR over log-rate on the overlapping rate range.

    Examples
    --------
    >>> r = [0.25, 0.5, 1.0, 2.0]; q = [28.0, 31.0, 34.5, 38.0]
    >>> round(bd_psnr(r, q, r, [x + 0.5 for x in q]), 6)
    0.5
    """
    la, qa = _curve(np.log(rate_ref), psnr_ref)
    lb, qb = _curve(np.log(rate_test), psnr_test)
    lo, hi = max(la[0], lb[0]), min(la[-1], lb[-1])
    if not hi > lo:
        raise CodecError("BD-PSNR: the curves' rate ranges do not overlap")
    from scipy.interpolate import PchipInterpolator

    ia = PchipInterpolator(la, qa).integrate(lo, hi)
    ib = PchipInterpolator(lb, qb).integrate(lo, hi)
    return float((ib - ia) / (hi - lo))
