"""Adaptive binary range *coder* (LZMA-style carry handling), as numba helpers.

Probabilities are 15-bit estimates that the bit is 0, each the mean of a fast
(shift 4) and a slow (shift 6) adaptive estimate; a young context adapts faster
(see ``_update``).  The context *model* that picks which estimate codes each bit
lives in :mod:`hybridcodec.entropy.coefficients`.

The helpers take the coder state as scalars and return the new state, so that a
coding loop keeps it in registers:

* encoder state ``(low, rng, cache, csize, pos)``, bytes written to ``out``
  (a position past its end means ``out`` was too small);
* decoder state ``(code, rng, pos)``, bytes read from ``data`` (zeros past its end).

Encoding a bit is ``low, rng = enc_step(...)`` and, when ``rng < TOP``,
``enc_renorm(...)``: the byte output stays out of the inlined bit step.
"""

from __future__ import annotations

from .._jit import kernel
import numpy as np

__all__ = ["PROB_HALF", "TOP", "new_probs", "ENC_START", "enc_step", "enc_renorm", "enc_direct", "enc_finish",
           "dec_start", "dec_bit", "dec_direct"]

PROB_BITS = 15
PROB_HALF = 1 << (PROB_BITS - 1)
_TOP = TOP = 1 << 24  # below this the range is renormalised (a byte out, or in)
_FAST, _SLOW = 4, 6
_MASK40 = (1 << 40) - 1
ENC_START = (0, 0xFFFFFFFF, 0, 1, 0)


def new_probs(n: int) -> np.ndarray:
    """``n`` fresh contexts (fast estimate, slow estimate, count), at p(0) = 1/2."""
    probs = np.full((n, 3), PROB_HALF, dtype=np.int32)
    probs[:, 2] = 0
    return probs


@kernel(cache=True, inline="always")
def _update(probs, c, bit):
    # a young context adapts fast (shift 1, 2, 2, 3, ...: about 1 / (count + 2)), then
    # settles at the fixed fast and slow rates
    n = probs[c, 2]
    if n < 31:
        probs[c, 2] = n + 1
        r = 1 if n < 1 else (2 if n < 3 else (3 if n < 7 else (4 if n < 15 else 5)))
        rf = min(r, _FAST)
        rs = min(r, _SLOW)
    else:
        rf = _FAST
        rs = _SLOW
    if bit:
        probs[c, 0] -= probs[c, 0] >> rf
        probs[c, 1] -= probs[c, 1] >> rs
    else:
        probs[c, 0] += ((1 << PROB_BITS) - probs[c, 0]) >> rf
        probs[c, 1] += ((1 << PROB_BITS) - probs[c, 1]) >> rs


@kernel(cache=True, inline="always")
def _p0(probs, c):
    return (np.int64(probs[c, 0]) + np.int64(probs[c, 1])) >> 1


@kernel(cache=True, inline="always")
def _shift_low(low, cache, csize, pos, out):
    if low < 0xFF000000 or low >= (1 << 32):
        carry = low >> 32
        temp = cache
        while True:
            if pos < len(out):
                out[pos] = (temp + carry) & 0xFF
            pos += 1
            temp = 0xFF
            csize -= 1
            if csize == 0:
                break
        cache = (low >> 24) & 0xFF
    csize += 1
    low = (low & 0x00FFFFFF) << 8
    return low, cache, csize, pos


@kernel(cache=True, inline="always")
def enc_step(low, rng, probs, c, bit):
    """A bit's interval step, without the byte output (:func:`enc_renorm`, when
    ``rng < 2**24``)."""
    bound = (rng >> PROB_BITS) * _p0(probs, c)
    if bit:
        low += bound
        rng -= bound
    else:
        rng = bound
    _update(probs, c, bit)
    return low, rng


@kernel(cache=True, nogil=True)
def enc_renorm(low, rng, cache, csize, pos, out):
    """The encoder's byte output, a call of its own: inlined into every coded bit (with
    ``out`` passed in), it left reference counting on ``out`` in the bit loop, and the
    encoder ran 2.4x slower than the decoder on a run of zeros (28.5 against 11.8 ns a
    coefficient); it runs about once in eight bits."""
    while rng < _TOP:
        rng <<= 8
        low, cache, csize, pos = _shift_low(low, cache, csize, pos, out)
    return low, rng, cache, csize, pos


@kernel(cache=True, inline="always")
def enc_direct(low, rng, cache, csize, pos, out, value, nbits):
    """``nbits`` equiprobable bits of ``value``, most significant first."""
    for i in range(nbits - 1, -1, -1):
        rng >>= 1
        if (value >> i) & 1:
            low += rng
        while rng < _TOP:
            rng <<= 8
            low, cache, csize, pos = _shift_low(low, cache, csize, pos, out)
    return low, rng, cache, csize, pos


@kernel(cache=True)
def enc_finish(low, rng, cache, csize, pos, out):
    """Flush; returns the byte count (more than ``len(out)``: it was too small)."""
    for _ in range(5):
        low, cache, csize, pos = _shift_low(low, cache, csize, pos, out)
    return pos


@kernel(cache=True, inline="always")
def _byte(data, pos):
    return np.int64(data[pos]) if pos < len(data) else np.int64(0)


@kernel(cache=True)
def dec_start(data):
    code = np.int64(0)
    for pos in range(4):
        code = (code << 8) | _byte(data, pos)
    return code, np.int64(0xFFFFFFFF), np.int64(4)


@kernel(cache=True, inline="always")
def dec_bit(code, rng, pos, data, probs, c):
    bound = (rng >> PROB_BITS) * _p0(probs, c)
    if code < bound:
        rng = bound
        bit = 0
    else:
        code -= bound
        rng -= bound
        bit = 1
    _update(probs, c, bit)
    while rng < _TOP:
        rng <<= 8
        code = ((code << 8) | _byte(data, pos)) & _MASK40
        pos += 1
    return bit, code, rng, pos


@kernel(cache=True, inline="always")
def dec_direct(code, rng, pos, data, nbits):
    v = np.int64(0)
    for _ in range(nbits):
        rng >>= 1
        bit = 1 if code >= rng else 0
        if bit:
            code -= rng
        v = (v << 1) | bit
        while rng < _TOP:
            rng <<= 8
            code = ((code << 8) | _byte(data, pos)) & _MASK40
            pos += 1
    return v, code, rng, pos
