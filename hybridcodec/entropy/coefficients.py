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

import numba
import numpy as np

from .range_coder import (dec_bit, dec_direct, dec_init, enc_bit, enc_direct, enc_finish, enc_init,
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
_NO_ENC, _NO_OUT = np.zeros(6, np.int64), np.zeros(0, np.uint8)
_NO_DEC, _NO_DATA = np.zeros(3, np.int64), np.frombuffer(b"", np.uint8)
_QMAG = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2] + [3] * 12 + [4] * 40, dtype=np.int64)


@numba.njit(cache=True, inline="always")
def _med(a, b, c):
    """LOCO-I median edge detector: a = left, b = up, c = up-left."""
    if c >= max(a, b):
        return min(a, b)
    if c <= min(a, b):
        return max(a, b)
    return a + b - c


@numba.njit(cache=True, inline="always")
def _ref(coef, bands, row, k, y, x):
    """|coefficient| of reference ``k`` of band ``row`` at the mapped position."""
    r = bands[row, 5 + 3 * k]
    if r < 0:
        return 0
    sy, sx = bands[row, 6 + 3 * k], bands[row, 7 + 3 * k]
    ry = y >> 1 if sy < 0 else (y << 1 if sy > 0 else y)
    rx = x >> 1 if sx < 0 else (x << 1 if sx > 0 else x)
    rw = bands[r, 2]
    ry = min(ry, bands[r, 1] - 1)
    rx = min(rx, rw - 1)
    return abs(coef[bands[r, 0] + ry * rw + rx])


@numba.njit(cache=True)
def _run(decoding, bands, n_bands, coef, res, probs, st, out, ds, buf, qsig, qpar, qmag):
    """Code (``st``, ``out``) or decode (``ds``, ``buf``, into ``coef``) the first
    ``n_bands`` bands.  ``res`` holds what was coded for each coefficient (the value,
    or the prediction residual).  One loop serves both directions so they cannot
    drift apart."""
    for bi in range(n_bands):
        off, h, w, cls, pred = bands[bi, 0], bands[bi, 1], bands[bi, 2], bands[bi, 3], bands[bi, 4]
        base = cls * PER_CLASS
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
                pp = _ref(coef, bands, bi, 0, y, x) + _ref(coef, bands, bi, 1, y, x)
                cc = _ref(coef, bands, bi, 2, y, x) + _ref(coef, bands, bi, 3, y, x)
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
                    nz = dec_bit(ds, buf, probs, c)
                else:
                    r = np.int64(coef[i]) - p
                    nz = 1 if r != 0 else 0
                    enc_bit(st, out, probs, c, nz)
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
                        more = dec_bit(ds, buf, probs, mctx + k - 1)
                    else:
                        more = 1 if m > k else 0
                        enc_bit(st, out, probs, mctx + k - 1, more)
                    if more == 0:
                        break
                    k += 1
                if k > NK:  # Exp-Golomb order 0 of m - NK - 1
                    if decoding:
                        n = 0
                        while dec_bit(ds, buf, probs, base + _EG0 + min(n, NEG - 1)):
                            n += 1
                            if n > 25:
                                return ERR_RANGE
                        e = ((np.int64(1) << n) | dec_direct(ds, buf, n)) - 1
                        m = e + NK + 1
                        if m >= LIMIT:
                            return ERR_RANGE
                    else:
                        e1 = m - NK
                        n = 0
                        while (e1 >> (n + 1)) > 0:
                            n += 1
                        for j in range(n):
                            enc_bit(st, out, probs, base + _EG0 + min(j, NEG - 1), 1)
                        enc_bit(st, out, probs, base + _EG0 + min(n, NEG - 1), 0)
                        enc_direct(st, out, e1 & ((np.int64(1) << n) - 1), n)
                elif decoding:
                    m = k
                # sign
                c = base + _SGN0 + 3 * (sw + 1) + (sn + 1)
                if decoding:
                    neg = dec_bit(ds, buf, probs, c)
                    r = -m if neg else m
                    v = p + r
                    if v >= LIMIT or v <= -LIMIT:
                        return ERR_RANGE
                    coef[i] = v
                else:
                    enc_bit(st, out, probs, c, 1 if r < 0 else 0)
                res[i] = r
        if decoding and ds[2] > len(buf) + 8:
            return ERR_TRUNCATED
    return OK


def encode_bands(coef: np.ndarray, bands: np.ndarray) -> bytes:
    """Code every band of ``coef`` (int32, flat) described by ``bands``."""
    coef = np.ascontiguousarray(coef, dtype=np.int32)
    if len(coef) and np.abs(coef).max() >= LIMIT // 2:  # residuals may double it
        raise ValueError(f"coefficient magnitude {int(np.abs(coef).max())} is out of range (< {LIMIT // 2})")
    size = 2 * len(coef) + 1024
    while True:
        out = np.empty(size, np.uint8)
        st = enc_init()
        res = np.zeros(len(coef), np.int32)
        _run(False, bands, len(bands), coef, res, new_probs(N_CLASSES * PER_CLASS), st, out,
             _NO_DEC, _NO_DATA, _QSIG, _QPAR, _QMAG)
        n = enc_finish(st, out)
        if n >= 0:
            assert out[0] == 0  # the coded value is below 1: its first byte is always 0
            return out[1:n].tobytes()
        size *= 2


def decode_bands(data: bytes, bands: np.ndarray, n_coefs: int, n_bands: int | None = None):
    """Decode the first ``n_bands`` bands (all by default) into a new flat int32 array.
    Returns ``(coef, status)``; status is OK or a negative error code."""
    buf = np.frombuffer(data, np.uint8)
    coef = np.zeros(n_coefs, np.int32)
    res = np.zeros(n_coefs, np.int32)
    ds = dec_init(buf)
    nb = len(bands) if n_bands is None else n_bands
    status = _run(True, bands, nb, coef, res, new_probs(N_CLASSES * PER_CLASS), _NO_ENC, _NO_OUT,
                  ds, buf, _QSIG, _QPAR, _QMAG)
    if status == OK and nb == len(bands) and ds[2] > len(buf) + 4:
        status = ERR_TRUNCATED
    return coef, status
