"""The reversible LeGall 5/3 lifting of :mod:`hybridcodec.wavelets.lifting` as numba
kernels on int32 planes (integer arithmetic: the same result as the numpy version by
construction), over runs of columns (vertical passes) and rows (horizontal ones) on
every core.  Reuses the driver of :mod:`hybridcodec.wavelets._cdf97`.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from . import _cdf97
from ._cdf97 import copy_row, copy_rows

__all__ = ["forward", "inverse"]


@kernel(cache=True, nogil=True)
def _v_analyze(x, lo, hi, c0, c1, k):
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(x, lo, c0, c1)
        return
    for i in range(nd):
        r = 2 * min(i + 1, ns - 1)
        for c in range(c0, c1):
            hi[i, c] = x[2 * i + 1, c] - ((x[2 * i, c] + x[r, c]) >> 1)
    for i in range(ns):
        a, b = max(i - 1, 0), min(i, nd - 1)
        for c in range(c0, c1):
            lo[i, c] = x[2 * i, c] + ((hi[a, c] + hi[b, c] + 2) >> 2)


@kernel(cache=True, nogil=True)
def _v_synthesize(lo, hi, x, c0, c1, k):
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(lo, x, c0, c1)
        return
    for i in range(ns):
        a, b = max(i - 1, 0), min(i, nd - 1)
        for c in range(c0, c1):
            x[2 * i, c] = lo[i, c] - ((hi[a, c] + hi[b, c] + 2) >> 2)
    for i in range(nd):
        r = 2 * min(i + 1, ns - 1)
        for c in range(c0, c1):
            x[2 * i + 1, c] = hi[i, c] + ((x[2 * i, c] + x[r, c]) >> 1)


@kernel(cache=True, nogil=True)
def _h_analyze(x, lo, hi, r0, r1, k):
    ns, nd = lo.shape[1], hi.shape[1]
    for row in range(r0, r1):
        if nd == 0:
            copy_row(x, lo, row)
            continue
        for i in range(nd):
            hi[row, i] = x[row, 2 * i + 1] - ((x[row, 2 * i] + x[row, 2 * min(i + 1, ns - 1)]) >> 1)
        for i in range(ns):
            lo[row, i] = x[row, 2 * i] + ((hi[row, max(i - 1, 0)] + hi[row, min(i, nd - 1)] + 2) >> 2)


@kernel(cache=True, nogil=True)
def _h_synthesize(lo, hi, x, r0, r1, k):
    ns, nd = lo.shape[1], hi.shape[1]
    for row in range(r0, r1):
        if nd == 0:
            copy_row(lo, x, row)
            continue
        for i in range(ns):
            x[row, 2 * i] = lo[row, i] - ((hi[row, max(i - 1, 0)] + hi[row, min(i, nd - 1)] + 2) >> 2)
        for i in range(nd):
            x[row, 2 * i + 1] = hi[row, i] + ((x[row, 2 * i] + x[row, 2 * min(i + 1, ns - 1)]) >> 1)


_KERNELS = (_h_analyze, _v_analyze, _h_synthesize, _v_synthesize)


def forward(plane: np.ndarray, bands, levels: int, flat: np.ndarray) -> None:
    _cdf97.forward(plane, bands, levels, flat, _KERNELS, np.int32)


def inverse(flat: np.ndarray, bands, levels: int, skip: int) -> np.ndarray:
    return _cdf97.inverse(flat, bands, levels, skip, _KERNELS, np.int32)
