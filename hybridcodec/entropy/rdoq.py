"""Rate-distortion optimised quantization (RDOQ) for the coefficient coder of
:mod:`hybridcodec.entropy.coefficients`: an encoder-only pass that re-decides each
quantized index with the coder's own rate, before the bands are coded.

A quantizer that offers *soft* values (each coefficient over its band's step,
``c / step``, in 1/256ths, written in place of the index so that the offer costs no
memory: ``deadzone``) and its reconstruction rule (index ``m >= 1`` stands for
``m + shift`` steps, 0 for 0) lets the entropy stage pick, coefficient by
coefficient in coding order, the index ``m`` among 0, ``m* - 1`` and ``m*`` (``m*``
the index nearest in reconstruction) that minimises

    J(m) = (|c| / step - r(m))^2 + lam * R(m)

with ``R`` the bits the adaptive coder would spend on it in its actual context (the
neighbours and references already decided), from the same adaptive probabilities
the coder will have, updated with each decision (the greedy RDOQ of H.265's
encoders; a decision's effect on the contexts of later coefficients is not
counted).  Every band's step is ``step / sqrt(gain)``, so the squared error in step
units is the same pixel error in every band, and one ``lam`` serves them all:
``lam = mu * ln 2 / 6``, the high-rate slope ``dD/dR`` of a uniform quantizer,
times a factor ``mu`` measured on training photos (see :data:`MU`).

Predicted bands (wavelet LL, DCT DC) are left as the quantizer made them.  The
decoder is not involved: it decodes whatever indexes were coded.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import kernel
from .coefficients import _MAG0, _QMAG, _QPAR, _QSIG, _SGN0, _SIG0, NK, PER_CLASS, _ref_sums, row_context
from .range_coder import PROB_BITS, _p0, _update

__all__ = ["rdoq", "MU"]

# lam = MU * ln2 / 6.  Measured with `wavelet` on 6 training photos (every 30th of
# ../shared/datasets/train), q5-95, BD-rate (28-38 dB) against the same encoder without
# RDOQ: MU 0.6 -1.39 %, 0.75 -1.79 %, 0.9 -1.88 %, 1.0 -1.77 %, 1.5 +0.01 %; with MU 0.9,
# deadzone recon 0.34 -1.89 %, 0.46 -1.68 % (the preset's 0.4 kept)
MU = 0.9
_COST = np.array([-math.log2(max(p, 1) / (1 << PROB_BITS)) for p in range((1 << PROB_BITS) + 1)], np.float64)


@kernel(cache=True, inline="always")
def _bit(probs, c, bit, cost):
    """Bits to code ``bit`` in context ``c`` now."""
    p0 = _p0(probs, c)
    return cost[p0] if bit == 0 else cost[(1 << PROB_BITS) - p0]


@kernel(cache=True, inline="always")
def _mag_bits(probs, mctx, m, cost):
    """Bits of magnitude ``m >= 1``: its unary bins (``NK`` at most), and about
    ``2 log2`` bits of Exp-Golomb beyond them."""
    bits = 0.0
    k = 1
    while k <= NK:
        more = 1 if m > k else 0
        bits += _bit(probs, mctx + k - 1, more, cost)
        if more == 0:
            return bits
        k += 1
    e = m - NK
    n = 0
    while (e >> (n + 1)) > 0:
        n += 1
    return bits + 2 * n + 1


@kernel(cache=True, inline="always")
def _mag_update(probs, mctx, m):
    k = 1
    while k <= NK:
        more = 1 if m > k else 0
        _update(probs, mctx + k - 1, more)
        if more == 0:
            return
        k += 1


@kernel(cache=True, nogil=True)
def _rdoq(bands, coef, soft_rows, fine, shift, lam, probs, cost, qsig, qpar, qmag, refs_buf):
    """Over the rows of ``bands`` (in coding order) flagged in ``soft_rows``, replace the
    soft values ``coef`` holds (``c / step`` in ``fine``-ths) by the indexes decided."""
    big_w = 1
    for bi in range(len(bands)):
        big_w = max(big_w, bands[bi, 2])
    up = np.zeros(big_w, np.int64)
    sns = np.zeros(big_w, np.int64)
    sbase = np.zeros(big_w, np.int64)
    pcs = np.zeros(big_w, np.int64)
    changed = 0
    for bi in range(len(bands)):
        off, h, w, cls, pred = bands[bi, 0], bands[bi, 1], bands[bi, 2], bands[bi, 3], bands[bi, 4]
        if pred or not soft_rows[bi] or h * w == 0:
            continue  # indexes already (a predicted band's contexts are its own)
        base = cls * PER_CLASS
        refs = refs_buf[: h * w]
        _ref_sums(coef, bands, bi, refs, 0, bands[bi, 1])
        band = coef[off : off + h * w]
        for y in range(h):  # the coder's row contexts (measured on kodim01 q75, one thread: 52 -> 20 ms
            row_context(band, refs[y * w : y * w + w], y, w, base, qpar, up, sbase, pcs, sns)  # against own loop
            cur = band[y * w : y * w + w]
            vw = np.int64(0)
            vww = np.int64(0)
            for x in range(w):
                a = up[x] + 2 * abs(vw) + abs(vww)
                sctx = sbase[x] + qsig[min(a, 63)] * 9
                s = np.float64(cur[x]) / fine
                mag = abs(s)
                top = np.int64(math.floor(mag - shift + 0.5))
                if top < 1:
                    _update(probs, sctx, 0)
                    cur[x] = 0
                    vww = vw
                    vw = 0
                    continue
                t = min(a + pcs[x], 63)
                mctx = base + _MAG0 + qmag[t] * NK
                sw = (vw > 0) - (vw < 0)
                sc = base + _SGN0 + 3 * (sw + 1) + (sns[x] + 1)
                neg = 1 if s < 0 else 0
                nonzero = _bit(probs, sctx, 1, cost) + _bit(probs, sc, neg, cost)
                best_j = mag * mag + lam * _bit(probs, sctx, 0, cost)
                best = np.int64(0)
                for m in range(max(1, top - 1), top + 1):
                    d = mag - (m + shift)
                    j = d * d + lam * (nonzero + _mag_bits(probs, mctx, m, cost))
                    if j < best_j:
                        best_j = j
                        best = m
                if best:
                    _update(probs, sctx, 1)
                    _mag_update(probs, mctx, best)
                    _update(probs, sc, neg)
                else:
                    _update(probs, sctx, 0)
                v = np.int32(-best if neg else best)
                changed += best
                cur[x] = v
                vww = vw
                vw = v
    return changed


def rdoq(coef: np.ndarray, bands: np.ndarray, soft_rows: np.ndarray, shift: float, fine: int = 256,
         mu: float = MU) -> int:
    """Decide the indexes of the bands ``bands`` (coding-order rows of
    :mod:`~hybridcodec.entropy.coefficients`) flagged in ``soft_rows``, whose values in
    ``coef`` (int32, flat, changed in place) are soft: ``c / step`` in ``fine``-ths (other
    rows hold indexes and are left alone).  Returns the sum of the non-zero magnitudes
    chosen (a figure for tests)."""
    from .coefficients import N_CLASSES
    from .range_coder import new_probs

    big = int(max((bands[:, 1] * bands[:, 2]).max(), 1)) if len(bands) else 1
    return int(_rdoq(bands, coef, np.asarray(soft_rows, np.bool_), np.float64(fine), np.float64(shift),
                     np.float64(mu * math.log(2) / 6), new_probs(N_CLASSES * PER_CLASS), _COST, _QSIG, _QPAR, _QMAG,
                     np.empty(big, np.int32)))
