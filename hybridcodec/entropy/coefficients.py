"""Context *model* for quantized transform coefficients, coded with the adaptive
binary range coder of :mod:`hybridcodec.entropy.range_coder`.

Coefficients are coded band by band (a band is a 2-D array: a wavelet subband, or
one DCT frequency across all blocks of a plane), each coefficient as

* a significance bit (is it non-zero?),
* its magnitude minus one: unary bins up to ``NK``, then Exp-Golomb (adaptive
  prefix, equiprobable suffix),
* its sign.

Each bin's probability comes from a context chosen by the band's class (kind of
band, resolution, plane role) and by what is already coded:

* ``a``: the causal neighbours in the same band (W, N weighted 2; NW, NE, WW, NN);
* ``pp``: up to two *parent* references (the co-located coefficient one wavelet
  level coarser; the two lower frequencies of the same DCT block);
* ``cc``: up to two *cross* references (the same band of the luma plane, for
  chroma; the sibling orientation at the same wavelet level).

Bands flagged ``pred`` (wavelet LL, DCT DC) code the residual of a median
edge-detecting predictor instead.

Band table rows (int64, ``ROW`` columns): offset, height, width, class, pred, then
four references ``band, sy, sx`` (band -1 = none; sy, sx map coordinates: -1
halves, 0 keeps, 1 doubles; results are clipped to the reference's size).
References must point to bands coded earlier.
"""

from __future__ import annotations

from .._jit import kernel
import numpy as np

from .range_coder import (ENC_START, dec_bit, dec_direct, dec_start, enc_bit, enc_direct, enc_finish,
                          new_probs)

__all__ = ["N_CLASSES", "ROW", "LIMIT", "encode_bands", "decode_bands", "OK", "ERR_TRUNCATED", "ERR_RANGE"]

NSIG, NK, NMAG, NEG, NSIGN = 12 * 3 * 3, 14, 5, 24, 9
ROW = 17
_SIG0 = 0
_MAG0 = _SIG0 + NSIG
_EG0 = _MAG0 + NK * NMAG
_SGN0 = _EG0 + NEG
PER_CLASS = _SGN0 + NSIGN
N_CLASSES = 96
OK, ERR_TRUNCATED, ERR_RANGE, ERR_OVERFLOW = 0, -1, -2, -3
LIMIT = 1 << 24  # magnitudes (and prediction residuals) must stay below this

# neighbourhood activity t -> significance context (roughly logarithmic)
_QSIG = np.array([0, 1, 2, 3, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 8] + [9] * 7 + [10] * 9 + [11] * 32,
                 dtype=np.int64)
_QPAR = np.array([0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], dtype=np.int64)
_NO_OUT, _NO_DATA = np.zeros(0, np.uint8), np.zeros(0, np.uint8)
_QMAG = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2] + [3] * 12 + [4] * 40, dtype=np.int64)


@kernel(cache=True, inline="always")
def _med(a, b, c):
    """LOCO-I median edge detector: a = left, b = up, c = up-left."""
    if c >= max(a, b):
        return min(a, b)
    if c <= min(a, b):
        return max(a, b)
    return a + b - c


@kernel(cache=True, inline="always")
def _ref(coef, ro, rh, rw, sy, sx, y, x):
    """|coefficient| of a reference band (offset ``ro``, ``rh x rw``; ``rh == 0``: none;
    never empty)
    at the position mapped from (y, x)."""
    if rh == 0:
        return 0
    ry = y >> 1 if sy < 0 else (y << 1 if sy > 0 else y)
    rx = x >> 1 if sx < 0 else (x << 1 if sx > 0 else x)
    return abs(coef[ro + min(ry, rh - 1) * rw + min(rx, rw - 1)])


@kernel(cache=True)
def _run(decoding, bands, n_bands, coef, res, probs, out, buf, qsig, qpar, qmag):
    """Code (into ``out``) or decode (from ``buf``, into ``coef``) the first ``n_bands``
    bands.  ``res`` holds what was coded for each coefficient (the value, or the
    prediction residual).  One loop serves both directions so they cannot drift
    apart.  Returns (status, bytes written or read)."""
    low, rng, cache, csize, pos = ENC_START
    low, rng, cache, csize, pos = np.int64(low), np.int64(rng), np.int64(cache), np.int64(csize), np.int64(pos)
    code, drng, dpos = dec_start(buf)
    for bi in range(n_bands):
        off, h, w, cls, pred = bands[bi, 0], bands[bi, 1], bands[bi, 2], bands[bi, 3], bands[bi, 4]
        base = cls * PER_CLASS
        # the four references, unpacked once per band
        ro = np.zeros(4, np.int64)
        rh = np.zeros(4, np.int64)
        rw = np.zeros(4, np.int64)
        for k in range(4):
            r = bands[bi, 5 + 3 * k]
            if r >= 0 and bands[r, 1] > 0 and bands[r, 2] > 0:  # an empty band is no reference
                ro[k], rh[k], rw[k] = bands[r, 0], bands[r, 1], bands[r, 2]
        o0, o1, o2, o3 = ro[0], ro[1], ro[2], ro[3]
        h0, h1, h2, h3 = rh[0], rh[1], rh[2], rh[3]
        w0, w1, w2, w3 = rw[0], rw[1], rw[2], rw[3]
        y0, y1, y2, y3 = bands[bi, 6], bands[bi, 9], bands[bi, 12], bands[bi, 15]
        x0, x1, x2, x3 = bands[bi, 7], bands[bi, 10], bands[bi, 13], bands[bi, 16]
        for y in range(h):
            row = off + y * w
            for x in range(w):
                i = row + x
                # activity of the causal neighbourhood (a), parents (pp) and cross bands (cc)
                a = 0
                sw = 0
                sn = 0
                if x > 0:
                    v = res[i - 1]
                    a += 2 * abs(v)
                    sw = (v > 0) - (v < 0)
                    if x > 1:
                        a += abs(res[i - 2])
                if y > 0:
                    v = res[i - w]
                    a += 2 * abs(v)
                    sn = (v > 0) - (v < 0)
                    if x > 0:
                        a += abs(res[i - w - 1])
                    if x < w - 1:
                        a += abs(res[i - w + 1])
                    if y > 1:
                        a += abs(res[i - 2 * w])
                pp = _ref(coef, o0, h0, w0, y0, x0, y, x) + _ref(coef, o1, h1, w1, y1, x1, y, x)
                cc = _ref(coef, o2, h2, w2, y2, x2, y, x) + _ref(coef, o3, h3, w3, y3, x3, y, x)
                t = min(a + pp + cc, 63)
                p = 0
                if pred:
                    if y == 0:
                        p = coef[i - 1] if x > 0 else 0
                    elif x == 0:
                        p = coef[i - w]
                    else:
                        p = _med(coef[i - 1], coef[i - w], coef[i - w - 1])
                # significance
                c = base + _SIG0 + qsig[min(a, 63)] * 9 + qpar[min(pp + cc, 15)] * 3
                if decoding:
                    nz, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, c)
                else:
                    r = np.int64(coef[i]) - p
                    nz = 1 if r != 0 else 0
                    low, rng, cache, csize, pos = enc_bit(low, rng, cache, csize, pos, out, probs, c, nz)
                if nz == 0:
                    res[i] = 0
                    if decoding:
                        coef[i] = p
                    continue
                # magnitude - 1: unary part
                mctx = base + _MAG0 + qmag[t] * NK
                if not decoding:
                    m = abs(r)
                k = 1
                while k <= NK:
                    if decoding:
                        more, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, mctx + k - 1)
                    else:
                        more = 1 if m > k else 0
                        low, rng, cache, csize, pos = enc_bit(low, rng, cache, csize, pos, out, probs, mctx + k - 1, more)
                    if more == 0:
                        break
                    k += 1
                if k > NK:  # Exp-Golomb order 0 of m - NK - 1
                    if decoding:
                        n = 0
                        while True:
                            one, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, base + _EG0 + min(n, NEG - 1))
                            if not one:
                                break
                            n += 1
                            if n > 25:
                                return ERR_RANGE, dpos
                        low_bits, code, drng, dpos = dec_direct(code, drng, dpos, buf, n)
                        e = ((np.int64(1) << n) | low_bits) - 1
                        m = e + NK + 1
                        if m >= LIMIT:
                            return ERR_RANGE, dpos
                    else:
                        e1 = m - NK
                        n = 0
                        while (e1 >> (n + 1)) > 0:
                            n += 1
                        for j in range(n + 1):
                            low, rng, cache, csize, pos = enc_bit(low, rng, cache, csize, pos, out, probs,
                                                                  base + _EG0 + min(j, NEG - 1), 1 if j < n else 0)
                        low, rng, cache, csize, pos = enc_direct(low, rng, cache, csize, pos, out,
                                                                 e1 & ((np.int64(1) << n) - 1), n)
                elif decoding:
                    m = k
                # sign
                c = base + _SGN0 + 3 * (sw + 1) + (sn + 1)
                if decoding:
                    neg, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, c)
                    r = -m if neg else m
                    v = p + r
                    if v >= LIMIT or v <= -LIMIT:
                        return ERR_RANGE, dpos
                    coef[i] = v
                else:
                    low, rng, cache, csize, pos = enc_bit(low, rng, cache, csize, pos, out, probs, c, 1 if r < 0 else 0)
                res[i] = r
        if decoding and dpos > len(buf) + 8:
            return ERR_TRUNCATED, dpos
    if decoding:
        return OK, dpos
    return OK, enc_finish(low, rng, cache, csize, pos, out)


def encode_bands(coef: np.ndarray, bands: np.ndarray) -> bytes:
    """Code every band of ``coef`` (int32, flat) described by ``bands``."""
    coef = np.ascontiguousarray(coef, dtype=np.int32)
    if len(coef) and np.abs(coef).max() >= LIMIT // 2:  # residuals may double it
        raise ValueError(f"coefficient magnitude {int(np.abs(coef).max())} is out of range (< {LIMIT // 2})")
    size = 2 * len(coef) + 1024
    while True:
        out = np.empty(size, np.uint8)
        res = np.zeros(len(coef), np.int32)
        _, n = _run(False, bands, len(bands), coef, res, new_probs(N_CLASSES * PER_CLASS), out, _NO_DATA,
                    _QSIG, _QPAR, _QMAG)
        if n <= size:
            assert out[0] == 0  # the coded value is below 1: its first byte is always 0
            return out[1:n].tobytes()
        size *= 2


def decode_bands(data: bytes, bands: np.ndarray, n_coefs: int, n_bands: int | None = None):
    """Decode the first ``n_bands`` bands (all by default) into a new flat int32 array.
    Returns ``(coef, status)``; status is OK or a negative error code."""
    buf = np.frombuffer(data, np.uint8)
    coef = np.zeros(n_coefs, np.int32)
    res = np.zeros(n_coefs, np.int32)
    nb = len(bands) if n_bands is None else n_bands
    status, used = _run(True, bands, nb, coef, res, new_probs(N_CLASSES * PER_CLASS), _NO_OUT, buf,
                        _QSIG, _QPAR, _QMAG)
    if status == OK and nb == len(bands) and used > len(buf) + 4:
        status = ERR_TRUNCATED
    return coef, status
