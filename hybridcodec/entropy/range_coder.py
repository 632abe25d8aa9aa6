"""Adaptive binary range *coder* (LZMA-style carry handling), as numba helpers.

Probabilities are 15-bit estimates that the bit is 0, each the mean of a fast
(shift 4) and a slow (shift 7) adaptive estimate.  The context *model* that picks
which estimate codes each bit lives in :mod:`hybridcodec.entropy.coefficients`.

Coder state is a small int64 array so that helpers can be shared by the encoder
and decoder loops:

* encoder ``st``: low, range, cache, cache_size, out_pos, overflow
* decoder ``st``: code, range, in_pos
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["PROB_HALF", "new_probs", "enc_init", "enc_bit", "enc_direct", "enc_finish",
           "dec_init", "dec_bit", "dec_direct"]

PROB_BITS = 15
PROB_HALF = 1 << (PROB_BITS - 1)
_TOP = 1 << 24
_FAST, _SLOW = 4, 6
_MASK40 = (1 << 40) - 1


def new_probs(n: int) -> np.ndarray:
    """``n`` fresh contexts (fast estimate, slow estimate, count), at p(0) = 1/2."""
    probs = np.full((n, 3), PROB_HALF, dtype=np.int32)
    probs[:, 2] = 0
    return probs


@numba.njit(cache=True, inline="always")
def _shift_low(st, out):
    low = st[0]
    if low < 0xFF000000 or low >= (1 << 32):
        carry = low >> 32
        temp = st[2]
        while True:
            if st[4] >= len(out):
                st[5] = 1
            else:
                out[st[4]] = (temp + carry) & 0xFF
            st[4] += 1
            temp = 0xFF
            st[3] -= 1
            if st[3] == 0:
                break
        st[2] = (low >> 24) & 0xFF
    st[3] += 1
    st[0] = (low & 0x00FFFFFF) << 8


@numba.njit(cache=True)
def enc_init():
    st = np.zeros(6, np.int64)
    st[1] = 0xFFFFFFFF
    st[3] = 1
    return st


@numba.njit(cache=True, inline="always")
def _update(probs, c, bit):
    # a young context adapts fast (shift 1, 2, 2, 3, ...: about 1 / (count + 2)), then
    # settles at the fixed fast and slow rates
    n = probs[c, 2]
    r = 1 if n < 1 else (2 if n < 3 else (3 if n < 7 else (4 if n < 15 else (5 if n < 31 else 7))))
    if n < 31:
        probs[c, 2] = n + 1
    rf = min(r, _FAST)
    rs = min(r, _SLOW)
    if bit:
        probs[c, 0] -= probs[c, 0] >> rf
        probs[c, 1] -= probs[c, 1] >> rs
    else:
        probs[c, 0] += ((1 << PROB_BITS) - probs[c, 0]) >> rf
        probs[c, 1] += ((1 << PROB_BITS) - probs[c, 1]) >> rs


@numba.njit(cache=True, inline="always")
def _p0(probs, c):
    return (np.int64(probs[c, 0]) + np.int64(probs[c, 1])) >> 1


@numba.njit(cache=True, inline="always")
def enc_bit(st, out, probs, c, bit):
    bound = (st[1] >> PROB_BITS) * _p0(probs, c)
    if bit:
        st[0] += bound
        st[1] -= bound
    else:
        st[1] = bound
    _update(probs, c, bit)
    while st[1] < _TOP:
        st[1] <<= 8
        _shift_low(st, out)


@numba.njit(cache=True, inline="always")
def enc_direct(st, out, value, nbits):
    """``nbits`` equiprobable bits of ``value``, most significant first."""
    for i in range(nbits - 1, -1, -1):
        st[1] >>= 1
        if (value >> i) & 1:
            st[0] += st[1]
        while st[1] < _TOP:
            st[1] <<= 8
            _shift_low(st, out)


@numba.njit(cache=True)
def enc_finish(st, out):
    """Flush; returns the byte count, or -1 if ``out`` was too small."""
    for _ in range(5):
        _shift_low(st, out)
    return -1 if st[5] else st[4]


@numba.njit(cache=True, inline="always")
def _next_byte(st, data):
    pos = st[2]
    st[2] = pos + 1
    return np.int64(data[pos]) if pos < len(data) else np.int64(0)


@numba.njit(cache=True)
def dec_init(data):
    st = np.zeros(3, np.int64)
    st[1] = 0xFFFFFFFF
    st[2] = 0
    for _ in range(4):
        st[0] = (st[0] << 8) | _next_byte(st, data)
    return st


@numba.njit(cache=True, inline="always")
def dec_bit(st, data, probs, c):
    bound = (st[1] >> PROB_BITS) * _p0(probs, c)
    if st[0] < bound:
        st[1] = bound
        bit = 0
    else:
        st[0] -= bound
        st[1] -= bound
        bit = 1
    _update(probs, c, bit)
    while st[1] < _TOP:
        st[1] <<= 8
        st[0] = ((st[0] << 8) | _next_byte(st, data)) & _MASK40
    return bit


@numba.njit(cache=True, inline="always")
def dec_direct(st, data, nbits):
    v = np.int64(0)
    for _ in range(nbits):
        st[1] >>= 1
        bit = 1 if st[0] >= st[1] else 0
        if bit:
            st[0] -= st[1]
        v = (v << 1) | bit
        while st[1] < _TOP:
            st[1] <<= 8
            st[0] = ((st[0] << 8) | _next_byte(st, data)) & _MASK40
    return v
