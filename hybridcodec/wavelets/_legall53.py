"""The reversible LeGall 5/3 lifting of :mod:`hybridcodec.wavelets.lifting` as numba
kernels on int32 planes (integer arithmetic: the same result as the numpy version by
construction), over runs of columns (vertical passes) and rows (horizontal ones) on
every core.  Reuses the driver of :mod:`hybridcodec.wavelets._cdf97`.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from . import _cdf97
from ._cdf97 import copy_row, copy_rows, merge_row, split_row

__all__ = ["forward", "inverse"]


# As in _cdf97: the steps on 1-D runs indexed from 0, so that the loops vectorize, and
# in-place steps kept apart from the others (an overlap check would fail on them).


@kernel(cache=True, inline="always")
def _p(out, src, a, b, sg):
    """``out = src + sg * ((a + b) >> 1)``: a predict step (sg = -1) or its undoing."""
    for c in range(len(out)):
        out[c] = src[c] + sg * ((a[c] + b[c]) >> 1)


@kernel(cache=True, inline="always")
def _u(out, src, a, b, sg):
    """``out = src + sg * ((a + b + 2) >> 2)``: an update step (sg = 1) or its undoing."""
    for c in range(len(out)):
        out[c] = src[c] + sg * ((a[c] + b[c] + 2) >> 2)


@kernel(cache=True, inline="always")
def _odd(d, s, sg):
    """In place, ``d[i] += sg * ((s[i] + s[i + 1]) >> 1)``, s mirrored past its end."""
    ns, nd = len(s), len(d)
    for i in range(ns - 1):
        d[i] = d[i] + sg * ((s[i] + s[i + 1]) >> 1)
    if nd == ns:
        d[nd - 1] = d[nd - 1] + sg * ((s[ns - 1] + s[ns - 1]) >> 1)


@kernel(cache=True, inline="always")
def _even(s, d, sg):
    """In place, ``s[i] += sg * ((d[i - 1] + d[i] + 2) >> 2)``, d mirrored at both ends."""
    ns, nd = len(s), len(d)
    s[0] = s[0] + sg * ((d[0] + d[0] + 2) >> 2)
    for i in range(1, nd):
        s[i] = s[i] + sg * ((d[i - 1] + d[i] + 2) >> 2)
    if ns > nd:
        s[nd] = s[nd] + sg * ((d[nd - 1] + d[nd - 1] + 2) >> 2)


@kernel(cache=True, nogil=True)
def _v_analyze(x, lo, hi, c0, c1, k):
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(x, lo, c0, c1)
        return
    for i in range(ns):  # one sweep: row i's update needs the high rows up to i
        if i < nd:
            _p(hi[i, c0:c1], x[2 * i + 1, c0:c1], x[2 * i, c0:c1], x[2 * min(i + 1, ns - 1), c0:c1], -1)
        _u(lo[i, c0:c1], x[2 * i, c0:c1], hi[max(i - 1, 0), c0:c1], hi[min(i, nd - 1), c0:c1], 1)


@kernel(cache=True, nogil=True)
def _v_synthesize(lo, hi, x, c0, c1, k):
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(lo, x, c0, c1)
        return
    for t in range(ns + 1):  # one sweep: odd row i needs the even rows up to i + 1
        if t < ns:
            _u(x[2 * t, c0:c1], lo[t, c0:c1], hi[max(t - 1, 0), c0:c1], hi[min(t, nd - 1), c0:c1], -1)
        i = t - 1
        if 0 <= i < nd:
            _p(x[2 * i + 1, c0:c1], hi[i, c0:c1], x[2 * i, c0:c1], x[2 * min(i + 1, ns - 1), c0:c1], 1)


@kernel(cache=True, nogil=True)
def _h_analyze(x, lo, hi, r0, r1, k):
    ns, nd = lo.shape[1], hi.shape[1]
    xr = np.empty(ns + nd, x.dtype)
    for row in range(r0, r1):
        if nd == 0:
            copy_row(x, lo, row)
            continue
        s, d = lo[row], hi[row]
        split_row(x, row, xr, s, d)
        _odd(d, s, -1)
        _even(s, d, 1)


@kernel(cache=True, nogil=True)
def _h_synthesize(lo, hi, x, r0, r1, k):
    ns, nd = lo.shape[1], hi.shape[1]
    s = np.empty(ns, lo.dtype)
    d = np.empty(max(nd, 1), lo.dtype)[:nd]
    for row in range(r0, r1):
        if nd == 0:
            copy_row(lo, x, row)
            continue
        for i in range(ns):  # loops, not s[:] = ...: a slice copy compiles numba's shape-error raising (~5 s)
            s[i] = lo[row, i]
        for i in range(nd):
            d[i] = hi[row, i]
        _even(s, d, -1)
        _odd(d, s, 1)
        merge_row(s, d, x, row)


_KERNELS = (_h_analyze, _v_analyze, _h_synthesize, _v_synthesize)


def forward(plane: np.ndarray, bands, levels: int, flat: np.ndarray | None) -> np.ndarray:
    return _cdf97.forward(plane, bands, levels, flat, _KERNELS, np.int32)


def inverse(flat: np.ndarray, bands, levels: int, skip: int, in_place: bool = False) -> np.ndarray:
    return _cdf97.inverse(flat, bands, levels, skip, _KERNELS, np.int32, in_place)
