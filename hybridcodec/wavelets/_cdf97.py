"""The CDF 9/7 lifting of :mod:`hybridcodec.wavelets.lifting` as numba kernels on
float32 planes, giving bit for bit what the numpy version gives (the same float32
operations in the same order per sample: no fastmath, no fused multiply-add), with
far fewer temporaries and on every core: the vertical passes go over runs of
columns, the horizontal ones over runs of rows, every step a loop along memory.
"""

from __future__ import annotations

import numpy as np

from .._heap import release_free_memory
from .._jit import kernel
from .._threads import SPLIT_SAMPLES, run, spans
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


@kernel(cache=True, inline="always")
def split_row(x, row, xr, s, d):
    """Row ``row`` of ``x`` into its even samples ``s`` and odd ones ``d``, through the
    buffer ``xr`` (``s`` may lie over ``x``: the forward transform in place, top down)."""
    for i in range(len(xr)):
        xr[i] = x[row, i]
    for i in range(len(s)):
        s[i] = xr[2 * i]
    for i in range(len(d)):
        d[i] = xr[2 * i + 1]


@kernel(cache=True, inline="always")
def merge_row(s, d, x, row):
    """Even samples ``s`` and odd ones ``d`` into row ``row`` of ``x``."""
    xr = x[row]
    for i in range(len(s)):
        xr[2 * i] = s[i]
    for i in range(len(d)):
        xr[2 * i + 1] = d[i]


# The lifting steps work on 1-D runs (a row's columns c0:c1, or a row's even or odd
# samples) indexed from 0: numba then drops the negative-index checks and the loops
# vectorize (measured on a 768 x 512 plane, one thread, horizontal + vertical pass:
# analysis 3.5 -> 1.1 ns and synthesis 4.4 -> 1.1 ns per sample, against loops over
# columns c0:c1 with the indices clamped inside; the 5/3 plane 0.97 -> 0.52 ms forward,
# 0.94 -> 0.76 ms inverse).
# Subtracting kk * v is adding (-kk) * v: the same float32 result, bit for bit.


@kernel(cache=True, inline="always")
def _lift(out, src, a, b, kk):
    for c in range(len(out)):
        out[c] = src[c] + kk * (a[c] + b[c])


@kernel(cache=True, inline="always")
def _acc(out, a, b, kk):
    """In place (``_lift(out, out, ...)`` would fail the compiler's overlap check and
    run unvectorized)."""
    for c in range(len(out)):
        out[c] = out[c] + kk * (a[c] + b[c])


@kernel(cache=True, inline="always")
def _acc_scale(out, a, b, kk, g):
    for c in range(len(out)):
        out[c] = (out[c] + kk * (a[c] + b[c])) * g


@kernel(cache=True, inline="always")
def _scale_in(out, g):
    for c in range(len(out)):
        out[c] = out[c] * g


@kernel(cache=True, inline="always")
def _scale(out, src, g):
    for c in range(len(out)):
        out[c] = src[c] * g


@kernel(cache=True, inline="always")
def _odd(d, s, kk):
    """``d[i] += kk * (s[i] + s[i + 1])``, s mirrored past its end."""
    ns, nd = len(s), len(d)
    _acc(d[: ns - 1], s[: ns - 1], s[1:ns], kk)
    if nd == ns:
        d[nd - 1] = d[nd - 1] + kk * (s[ns - 1] + s[ns - 1])


@kernel(cache=True, inline="always")
def _even(s, d, kk, g, scaled):
    """``s[i] += kk * (d[i - 1] + d[i])`` (then ``*= g``), d mirrored at both ends."""
    ns, nd = len(s), len(d)
    if scaled:
        s[0] = (s[0] + kk * (d[0] + d[0])) * g
        _acc_scale(s[1:nd], d[: nd - 1], d[1:nd], kk, g)
        if ns > nd:
            s[nd] = (s[nd] + kk * (d[nd - 1] + d[nd - 1])) * g
    else:
        s[0] = s[0] + kk * (d[0] + d[0])
        _acc(s[1:nd], d[: nd - 1], d[1:nd], kk)
        if ns > nd:
            s[nd] = s[nd] + kk * (d[nd - 1] + d[nd - 1])


@kernel(cache=True, nogil=True)
def _v_analyze(x, lo, hi, c0, c1, k):
    """Columns ``c0:c1``: rows of ``x`` to low-pass rows ``lo`` and high-pass rows ``hi``.
    The four lifting steps run in one sweep down the rows, each a row or two behind the
    one before, so a row is finished while it is still in cache (every sample gets the
    same operations in the same order as step by step)."""
    k0, k1, k2, k3, k4, k5 = k[0], k[1], k[2], k[3], k[4], k[5]  # scalars: stores cannot alias them
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(x, lo, c0, c1)
        return
    for t in range(ns + 2):
        i = t
        if i < nd:  # predict 1
            _lift(hi[i, c0:c1], x[2 * i + 1, c0:c1], x[2 * i, c0:c1], x[2 * min(i + 1, ns - 1), c0:c1], k0)
        if i < ns:  # update 1
            _lift(lo[i, c0:c1], x[2 * i, c0:c1], hi[max(i - 1, 0), c0:c1], hi[min(i, nd - 1), c0:c1], k1)
        i = t - 1
        if 0 <= i < nd:  # predict 2
            _acc(hi[i, c0:c1], lo[i, c0:c1], lo[min(i + 1, ns - 1), c0:c1], k2)
        if 0 <= i < ns:  # update 2, scale
            _acc_scale(lo[i, c0:c1], hi[max(i - 1, 0), c0:c1], hi[min(i, nd - 1), c0:c1], k3, k4)
        i = t - 2
        if 0 <= i < nd:
            _scale_in(hi[i, c0:c1], k5)


@kernel(cache=True, nogil=True)
def _v_synthesize(lo, hi, x, c0, c1, k):
    """Inverse of :func:`_v_analyze` into ``x``, in one sweep as well."""
    n0, n1, n2, n3, k6, k7 = -k[0], -k[1], -k[2], -k[3], k[6], k[7]
    ns, nd = lo.shape[0], hi.shape[0]
    if nd == 0:
        copy_rows(lo, x, c0, c1)
        return
    for t in range(ns + 2):
        i = t
        if i < ns:
            _scale(x[2 * i, c0:c1], lo[i, c0:c1], k6)
        if i < nd:
            _scale(x[2 * i + 1, c0:c1], hi[i, c0:c1], k7)
        if i < ns:  # undo update 2: even rows from the odd ones around them
            a, b = 2 * max(i - 1, 0) + 1, 2 * min(i, nd - 1) + 1
            _acc(x[2 * i, c0:c1], x[a, c0:c1], x[b, c0:c1], n3)
        i = t - 1
        if 0 <= i < nd:  # undo predict 2: odd rows from the even ones around them
            r = 2 * min(i + 1, ns - 1)
            _acc(x[2 * i + 1, c0:c1], x[2 * i, c0:c1], x[r, c0:c1], n2)
        if 0 <= i < ns:  # undo update 1
            a, b = 2 * max(i - 1, 0) + 1, 2 * min(i, nd - 1) + 1
            _acc(x[2 * i, c0:c1], x[a, c0:c1], x[b, c0:c1], n1)
        i = t - 2
        if 0 <= i < nd:  # undo predict 1
            r = 2 * min(i + 1, ns - 1)
            _acc(x[2 * i + 1, c0:c1], x[2 * i, c0:c1], x[r, c0:c1], n0)


@kernel(cache=True, nogil=True)
def _h_analyze(x, lo, hi, r0, r1, k):
    """Rows ``r0:r1``: each row of ``x`` to its low-pass and high-pass halves."""
    k0, k1, k2, k3, k4, k5 = k[0], k[1], k[2], k[3], k[4], k[5]  # scalars: stores cannot alias them
    ns, nd = lo.shape[1], hi.shape[1]
    xr = np.empty(ns + nd, x.dtype)
    for row in range(r0, r1):
        if nd == 0:
            copy_row(x, lo, row)
            continue
        s, d = lo[row], hi[row]
        split_row(x, row, xr, s, d)
        _odd(d, s, k0)
        _even(s, d, k1, k4, False)
        _odd(d, s, k2)
        _even(s, d, k3, k4, True)
        _scale_in(d, k5)


@kernel(cache=True, nogil=True)
def _h_synthesize(lo, hi, x, r0, r1, k):
    n0, n1, n2, n3, k6, k7 = -k[0], -k[1], -k[2], -k[3], k[6], k[7]
    ns, nd = lo.shape[1], hi.shape[1]
    s = np.empty(ns, np.float32)
    d = np.empty(max(nd, 1), np.float32)[:nd]
    for row in range(r0, r1):
        if nd == 0:
            copy_row(lo, x, row)
            continue
        _scale(s, lo[row], k6)
        _scale(d, hi[row], k7)
        _even(s, d, n3, k6, False)
        _odd(d, s, n2)
        _even(s, d, n1, k6, False)
        _odd(d, s, n0)
        merge_row(s, d, x, row)


_KERNELS = (_h_analyze, _v_analyze, _h_synthesize, _v_synthesize)


def _cols(fn, a, b, c, w):
    pieces = None if a.size + b.size >= SPLIT_SAMPLES else 1
    run(fn, [(a, b, c, c0, c1, _C) for c0, c1 in spans(w, 64, pieces)])


def _rows(fn, a, b, c, r1, r0=0):
    """Rows ``r0:r1`` of ``a`` and ``b`` through ``fn`` into ``c``, split over the threads
    when they hold ``SPLIT_SAMPLES`` samples or more."""
    pieces = None if (r1 - r0) * (a.shape[1] + b.shape[1]) >= SPLIT_SAMPLES else 1
    run(fn, [(a, b, c, r0 + s0, r0 + s1, _C) for s0, s1 in spans(r1 - r0, 16, pieces)])


def forward(plane: np.ndarray, bands, levels: int, flat: np.ndarray | None, kernels=None,
            dtype=np.float32) -> np.ndarray:
    """The ``levels``-deep transform of a float32 plane as a band-major flat vector
    (``bands``: the plan's bands, LL first, then each level from the coarsest: HL, LH,
    HH), written into ``flat``; or, with ``flat=None``, into the plane's own buffer
    (the first horizontal pass frees it) when the plane is C-contiguous in ``dtype``.
    ``kernels`` and ``dtype``: another wavelet's (the 5/3's)."""
    h_an, v_an, _, _ = kernels or _KERNELS
    ll = np.ascontiguousarray(plane, dtype=dtype)
    own = flat is None
    if own:
        flat = ll.reshape(-1) if ll is plane or ll.base is None else np.empty(ll.size, dtype)
    view = {(b.level, b.orient): flat[b.offset : b.offset + b.size].reshape(b.shape) for b in bands}
    if levels == 0:
        view[(0, "LL")][:] = ll
        return flat
    h0, w0 = ll.shape
    tight = own and levels > 1 and w0 > 1 and h0 * -(-w0 // 2) <= _offset(bands, 1, "LH")
    for level in range(1, levels + 1):
        h, w = ll.shape
        hi = np.empty((h, w // 2), dtype)
        if tight and level == 1:
            # in place: the low half goes over the plane's own rows (top down, each row
            # copied first), where the coarser bands and HL go once it is read; LH,
            # which the low half's vertical pass writes, lies past it (temporaries of 3
            # bytes a sample instead of 5, measured at 6000x4000)
            lo = flat[: h * -(-w // 2)].reshape(h, -(-w // 2))
            h_an(ll, lo, hi, 0, h, _C)  # one thread
        else:
            lo = np.empty((h, -(-w // 2)), dtype)
            _rows(h_an, ll, lo, hi, h)
        nxt = view[(level, "LL")] if level == levels else np.empty((-(-h // 2), lo.shape[1]), dtype)
        _cols(v_an, lo, nxt, view[(level, "LH")], lo.shape[1])
        _cols(v_an, hi, view[(level, "HL")], view[(level, "HH")], hi.shape[1])
        ll = nxt
    return flat


def inverse(flat: np.ndarray, bands, levels: int, skip: int, kernels=None, dtype=np.float32,
            in_place: bool = False) -> np.ndarray:
    """The plane from its band-major float32 coefficients, leaving out the ``skip``
    finest levels (a reduced-size image).  ``in_place``: the plane is written over
    ``flat``'s buffer (every level in place in a full-size decode, see
    :func:`_inverse_in_place`; the last one in a reduced decode)."""
    _, _, h_syn, v_syn = kernels or _KERNELS
    if in_place and skip == 0 and levels > 0 and flat.flags.c_contiguous:
        return _inverse_in_place(flat, bands, levels, h_syn, v_syn, dtype)
    view = {(b.level, b.orient): flat[b.offset : b.offset + b.size].reshape(b.shape) for b in bands}
    ll = np.ascontiguousarray(view[(levels, "LL")])
    for level in range(levels, skip, -1):
        hl, lh, hh = (np.ascontiguousarray(view[(level, o)]) for o in ("HL", "LH", "HH"))
        hi = np.empty((hl.shape[0] + hh.shape[0], hl.shape[1]), dtype)
        _cols(v_syn, hl, hh, hi, hi.shape[1])
        lo = np.empty((ll.shape[0] + lh.shape[0], ll.shape[1]), dtype)
        _cols(v_syn, ll, lh, lo, lo.shape[1])
        shape = (lo.shape[0], lo.shape[1] + hi.shape[1])
        # a reduced decode in place: its last level over the coefficients, all read by then
        last = in_place and level == skip + 1 and flat.flags.c_contiguous
        ll = flat[: shape[0] * shape[1]].reshape(shape) if last else np.empty(shape, dtype)
        _rows(h_syn, lo, hi, ll, ll.shape[0])
        del lo, hi
        release_free_memory(flat.size)  # the level's temporaries, before the next level's
    return ll


def _inverse_in_place(flat, bands, levels, h_syn, v_syn, dtype) -> np.ndarray:
    """Every level of the inverse in ``flat``'s buffer, with one temporary: the level's
    vertically synthesized low half (2 bytes a sample at the finest level, instead of 3;
    measured at 6000x4000).

    A level's bands lie at the front of the buffer as LL (the coarser level's output),
    then HL, LH, HH.  The low half (from LL and LH) goes to the temporary; the high half
    (from HL and HH) goes over the front, where LL and HL were: a sweep down the rows
    writes rows ``2i`` and ``2i + 1`` as it reads HL's row ``i``, which lies at least
    ``rows(LL)`` rows further on, so no row is written before it is read (column runs
    apart when HL's columns line up with the high half's, else one run over the whole
    width).  The rows of the plane then go over the front, the last half of the rows
    first, then the half of the rest, ...: rows ``r0:r1`` cover the buffer from
    ``r0 * w``, past the high half's rows ``0:r1`` still to be read.  Every sample gets
    the same operations as in :func:`inverse`'s other path (tested)."""
    view = {(b.level, b.orient): flat[b.offset : b.offset + b.size].reshape(b.shape) for b in bands}
    shape = view[(levels, "LL")].shape
    for level in range(levels, 0, -1):
        ll = flat[: shape[0] * shape[1]].reshape(shape)
        hl, lh, hh = (view[(level, o)] for o in ("HL", "LH", "HH"))
        (ns, cw), nd, fw = ll.shape, lh.shape[0], hl.shape[1]
        h, w = ns + nd, cw + fw
        lo = np.empty((h, cw), dtype)
        _cols(v_syn, ll, lh, lo, cw)
        hi = flat[: h * fw].reshape(h, fw)
        if fw and (ns * cw) % fw == 0:  # HL's columns over the high half's
            _cols(v_syn, hl, hh, hi, fw)
        elif fw:
            v_syn(hl, hh, hi, 0, fw, _C)
        out = flat[: h * w].reshape(h, w)
        r1 = h
        while r1 > 0:
            r0 = (r1 + 1) // 2 if r1 > 1 else 0
            _rows(h_syn, lo, hi, out, r1, r0)
            r1 = r0
        del lo
        release_free_memory(flat.size)  # the level's temporary, before the next level's
        shape = (h, w)
    return flat[: shape[0] * shape[1]].reshape(shape)


def _offset(bands, level, orient) -> int:
    return next(b.offset for b in bands if (b.level, b.orient) == (level, orient))
