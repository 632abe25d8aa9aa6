"""Non-expansive lifting wavelets with whole-sample symmetric extension (JPEG 2000,
ITU-T T.800 Annex F): the CDF 9/7 (float) and the LeGall 5/3 (integer, reversible).

A signal of N samples gives ceil(N/2) low-pass samples (the even positions) and
floor(N/2) high-pass samples; N = 1 passes through unchanged.  The 5/3 rounds
(and is exactly reversible) on integer arrays; on float arrays it is the linear
filter bank, used to measure its gains.
"""

from __future__ import annotations

import numpy as np

__all__ = ["analyze", "synthesize", "KINDS", "CDF97"]

# CDF 9/7 lifting constants (T.800 Table F.4); low-pass has unit DC gain.
_A, _B, _G, _D = -1.586134342059924, -0.052980118572961, 0.882911075530934, 0.443506852043971
_K = 1.230174104914001
KINDS = ("cdf97", "legall53")
CDF97 = (_A, _B, _G, _D, _K)  # for other implementations of the same steps (the learned lifting)


def _right(s: np.ndarray, n_out: int) -> np.ndarray:
    """s[i + 1] for i < n_out, mirroring the last sample (whole-sample symmetry)."""
    if n_out <= len(s) - 1:
        return s[1 : n_out + 1]
    return np.concatenate([s[1:], s[-1:]], axis=0)[:n_out]


def _left(d: np.ndarray, n_out: int) -> np.ndarray:
    """d[i - 1] for i < n_out, with d[-1] mirrored to d[0]."""
    return np.concatenate([d[:1], d[: n_out - 1]], axis=0)


def _cur(d: np.ndarray, n_out: int) -> np.ndarray:
    """d[i] for i < n_out, mirroring past the end (d[n] = d[n - 1])."""
    if n_out <= len(d):
        return d[:n_out]
    return np.concatenate([d, d[-1:]], axis=0)


def _predict_odd(s, d):
    """Neighbour sum for the odd samples: s[i] + s[i + 1]."""
    return s[: len(d)] + _right(s, len(d))


def _update_even(s, d):
    """Neighbour sum for the even samples: d[i - 1] + d[i]."""
    return _left(d, len(s)) + _cur(d, len(s))


def analyze(x: np.ndarray, kind: str, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """One level along ``axis``: returns (low, high)."""
    x = np.moveaxis(x, axis, 0)
    if x.shape[0] < 2:
        return np.moveaxis(x.copy(), 0, axis), np.moveaxis(x[:0].copy(), 0, axis)
    s, d = x[0::2].copy(), x[1::2].copy()
    if kind == "legall53" and s.dtype.kind in "iu":
        d -= _predict_odd(s, d) >> 1
        s += (_update_even(s, d) + 2) >> 2
    elif kind == "legall53":  # the same filters without rounding, for gains
        d -= 0.5 * _predict_odd(s, d)
        s += 0.25 * _update_even(s, d)
    else:
        d += _A * _predict_odd(s, d)
        s += _B * _update_even(s, d)
        d += _G * _predict_odd(s, d)
        s += _D * _update_even(s, d)
        s *= 1 / _K
        d *= _K / 2
    return np.moveaxis(s, 0, axis), np.moveaxis(d, 0, axis)


def synthesize(s: np.ndarray, d: np.ndarray, kind: str, axis: int) -> np.ndarray:
    """Inverse of :func:`analyze`."""
    s = np.moveaxis(s, axis, 0).copy()
    d = np.moveaxis(d, axis, 0).copy()
    if d.shape[0] == 0:
        return np.moveaxis(s, 0, axis)
    if kind == "legall53" and s.dtype.kind in "iu":
        s -= (_update_even(s, d) + 2) >> 2
        d += _predict_odd(s, d) >> 1
    elif kind == "legall53":
        s -= 0.25 * _update_even(s, d)
        d += 0.5 * _predict_odd(s, d)
    else:
        s *= _K
        d *= 2 / _K
        s -= _D * _update_even(s, d)
        d -= _G * _predict_odd(s, d)
        s -= _B * _update_even(s, d)
        d -= _A * _predict_odd(s, d)
    out = np.empty((s.shape[0] + d.shape[0],) + s.shape[1:], dtype=s.dtype)
    out[0::2], out[1::2] = s, d
    return np.moveaxis(out, 0, axis)
