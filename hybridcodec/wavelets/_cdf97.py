"""The CDF 9/7 lifting of :mod:`hybridcodec.wavelets.lifting` as numba kernels on
float32 planes, giving bit for bit what the numpy version gives (the same float32
operations in the same order per sample: no fastmath, no fused multiply-add), with
far fewer temporaries and on every core: the vertical passes go over runs of
columns, the horizontal ones over runs of rows, every step a loop along memory.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from .._threads import run, spans
from .lifting import _A, _B, _D, _G, _K

__all__ = ["forward", "inverse"]

_C = np.array([_A, _B, _G, _D, 1 / _K, _K / 2, _K, 2 / _K], np.float32)  # as numpy rounds them


@kernel(cache=True, inline="always")
def copy_rows(src, dst, c0, c1):
    """A vertical pass over one sample: the low band is the plane (columns c0:c1)."""
    for i in range(dst.shape[0]):
        for c in range(c0, c1):
            dst[i, c] = src[i, c]


@kernel(cache=True, inline="always")
def copy_row(src, dst, row):
    """A horizontal pass over one sample: the row itself."""
    for i in range(dst.shape[1]):
        dst[row, i] = src[row, i]


@kernel(cache=True, nogil=True)
def _v_analyze(x, lo, hi, c0, c1, k):
    """Columns ``c0:c1``: rows of ``x`` to low-pass rows ``lo`` and high-pass rows ``hi``."""
    k0, k1, k2, k3, k4, k5 = k[0], k[1], k[2], k[3], k[4], k[5]  # scalars: stores cannot alias them
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(x, lo, c0, c1)
        return
    for i in range(nd):  # predict 1
        r = 2 * min(i + 1, ns - 1)
        for c in range(c0, c1):
            hi[i, c] = x[2 * i + 1, c] + k0 * (x[2 * i, c] + x[r, c])
    for i in range(ns):  # update 1
        a, b = max(i - 1, 0), min(i, nd - 1)
        for c in range(c0, c1):
            lo[i, c] = x[2 * i, c] + k1 * (hi[a, c] + hi[b, c])
    for i in range(nd):  # predict 2
        r = min(i + 1, ns - 1)
        for c in range(c0, c1):
            hi[i, c] += k2 * (lo[i, c] + lo[r, c])
    for i in range(ns):  # update 2, scale
        a, b = max(i - 1, 0), min(i, nd - 1)
        for c in range(c0, c1):
            lo[i, c] = (lo[i, c] + k3 * (hi[a, c] + hi[b, c])) * k4
    for i in range(nd):
        for c in range(c0, c1):
            hi[i, c] *= k5
    return


@kernel(cache=True, nogil=True)
def _v_synthesize(lo, hi, x, c0, c1, k):
    """Inverse of :func:`_v_analyze` into ``x``."""
    k0, k1, k2, k3, k6, k7 = k[0], k[1], k[2], k[3], k[6], k[7]  # scalars: stores cannot alias them
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(lo, x, c0, c1)
        return
    for i in range(ns):
        for c in range(c0, c1):
            x[2 * i, c] = lo[i, c] * k6
    for i in range(nd):
        for c in range(c0, c1):
            x[2 * i + 1, c] = hi[i, c] * k7
    for step in range(4):
        if step % 2 == 0:  # undo an update: even rows from the odd ones around them
            kk = k3 if step == 0 else k1
            for i in range(ns):
                a, b = 2 * max(i - 1, 0) + 1, 2 * min(i, nd - 1) + 1
                for c in range(c0, c1):
                    x[2 * i, c] -= kk * (x[a, c] + x[b, c])
        else:  # undo a predict: odd rows from the even ones around them
            kk = k2 if step == 1 else k0
            for i in range(nd):
                r = 2 * min(i + 1, ns - 1)
                for c in range(c0, c1):
                    x[2 * i + 1, c] -= kk * (x[2 * i, c] + x[r, c])


@kernel(cache=True, nogil=True)
def _h_analyze(x, lo, hi, r0, r1, k):
    """Rows ``r0:r1``: each row of ``x`` to its low-pass and high-pass halves."""
    k0, k1, k2, k3, k4, k5 = k[0], k[1], k[2], k[3], k[4], k[5]  # scalars: stores cannot alias them
    ns, nd = lo.shape[1], hi.shape[1]
    for row in range(r0, r1):
        if nd == 0:
            copy_row(x, lo, row)
            continue
        s = lo[row]
        d = hi[row]
        for i in range(nd):
            d[i] = x[row, 2 * i + 1] + k0 * (x[row, 2 * i] + x[row, 2 * min(i + 1, ns - 1)])
        for i in range(ns):
            s[i] = x[row, 2 * i] + k1 * (d[max(i - 1, 0)] + d[min(i, nd - 1)])
        for i in range(nd):
            d[i] += k2 * (s[i] + s[min(i + 1, ns - 1)])
        for i in range(ns):
            s[i] = (s[i] + k3 * (d[max(i - 1, 0)] + d[min(i, nd - 1)])) * k4
        for i in range(nd):
            d[i] *= k5


@kernel(cache=True, nogil=True)
def _h_synthesize(lo, hi, x, r0, r1, k):
    k0, k1, k2, k3, k6, k7 = k[0], k[1], k[2], k[3], k[6], k[7]  # scalars: stores cannot alias them
    ns, nd = lo.shape[1], hi.shape[1]
    s = np.empty(ns, np.float32)
    d = np.empty(max(nd, 1), np.float32)
    for row in range(r0, r1):
        if nd == 0:
            copy_row(lo, x, row)
            continue
        for i in range(ns):
            s[i] = lo[row, i] * k6
        for i in range(nd):
            d[i] = hi[row, i] * k7
        for i in range(ns):
            s[i] -= k3 * (d[max(i - 1, 0)] + d[min(i, nd - 1)])
        for i in range(nd):
            d[i] -= k2 * (s[i] + s[min(i + 1, ns - 1)])
        for i in range(ns):
            s[i] -= k1 * (d[max(i - 1, 0)] + d[min(i, nd - 1)])
        for i in range(nd):
            d[i] -= k0 * (s[i] + s[min(i + 1, ns - 1)])
        for i in range(ns):
            x[row, 2 * i] = s[i]
        for i in range(nd):
            x[row, 2 * i + 1] = d[i]


_KERNELS = (_h_analyze, _v_analyze, _h_synthesize, _v_synthesize)


def _cols(fn, a, b, c, w):
    run(fn, [(a, b, c, c0, c1, _C) for c0, c1 in spans(w, 64)])


def _rows(fn, a, b, c, h):
    run(fn, [(a, b, c, r0, r1, _C) for r0, r1 in spans(h, 16)])


def forward(plane: np.ndarray, bands, levels: int, flat: np.ndarray, kernels=None, dtype=np.float32) -> None:
    """Write the ``levels``-deep transform of a float32 plane into the band-major
    ``flat`` vector (``bands``: the plan's bands, LL first, then each level from the
    coarsest: HL, LH, HH).  ``kernels`` and ``dtype``: another wavelet's (the 5/3's)."""
    h_an, v_an, _, _ = kernels or _KERNELS
    ll = np.ascontiguousarray(plane, dtype=dtype)
    view = {(b.level, b.orient): flat[b.offset : b.offset + b.size].reshape(b.shape) for b in bands}
    for level in range(1, levels + 1):
        h, w = ll.shape
        lo = np.empty((h, -(-w // 2)), dtype)
        hi = np.empty((h, w // 2), dtype)
        _rows(h_an, ll, lo, hi, h)
        nxt = view[(level, "LL")] if level == levels else np.empty((-(-h // 2), lo.shape[1]), dtype)
        _cols(v_an, lo, nxt, view[(level, "LH")], lo.shape[1])
        _cols(v_an, hi, view[(level, "HL")], view[(level, "HH")], hi.shape[1])
        ll = nxt
    if levels == 0:
        view[(0, "LL")][:] = ll


def inverse(flat: np.ndarray, bands, levels: int, skip: int, kernels=None, dtype=np.float32) -> np.ndarray:
    """The plane from its band-major float32 coefficients, leaving out the ``skip``
    finest levels (a reduced-size image)."""
    _, _, h_syn, v_syn = kernels or _KERNELS
    view = {(b.level, b.orient): flat[b.offset : b.offset + b.size].reshape(b.shape) for b in bands}
    ll = np.ascontiguousarray(view[(levels, "LL")])
    for level in range(levels, skip, -1):
        hl, lh, hh = (np.ascontiguousarray(view[(level, o)]) for o in ("HL", "LH", "HH"))
        lo = np.empty((ll.shape[0] + lh.shape[0], ll.shape[1]), dtype)
        hi = np.empty((hl.shape[0] + hh.shape[0], hl.shape[1]), dtype)
        _cols(v_syn, ll, lh, lo, lo.shape[1])
        _cols(v_syn, hl, hh, hi, hi.shape[1])
        ll = np.empty((lo.shape[0], lo.shape[1] + hi.shape[1]), dtype)
        _rows(h_syn, lo, hi, ll, ll.shape[0])
    return ll
