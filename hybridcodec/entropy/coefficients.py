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

from .._threads import in_job, run, submit, threads
from .range_coder import (TOP, ENC_START, dec_bit, dec_direct, dec_start, enc_direct, enc_finish,
                          enc_renorm, enc_step, new_probs)

__all__ = ["N_CLASSES", "ROW", "LIMIT", "encode_bands", "decode_bands", "encode_streams", "decode_streams", "streams", "OK", "ERR_TRUNCATED", "ERR_RANGE"]

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
def _predict(coef, i, y, x, w):
    """A predicted band's prediction of coefficient ``i`` (row ``y``, column ``x`` of a
    band ``w`` wide): W in the first row, N in the first column, else the median of
    W, N and W + N - NW."""
    if y == 0:
        return np.int64(coef[i - 1]) if x > 0 else np.int64(0)
    if x == 0:
        return np.int64(coef[i - w])
    return np.int64(_med(coef[i - 1], coef[i - w], coef[i - w - 1]))


@kernel(cache=True, nogil=True)
def _ref_sums(coef, bands, bi, out, y0, y1):
    """``out[(y - y0) * w + x]``: the sum of |coefficient| over band ``bi``'s (up to
    four) references at the positions mapped from (y, x), for rows ``y0:y1``.  The references
    are coded before the band, so both directions compute this ahead of the band's rows
    in one pass; the coding loop then reads one value instead of mapping four positions
    per coefficient (measured: the loop ran ~25 ns per coefficient with them inline).
    Row ``y`` reads one row of each reference: ``y >> 1``, ``y`` or ``2 y`` as its
    ``sy`` says (clipped)."""
    h, w = bands[bi, 1], bands[bi, 2]
    for i in range((y1 - y0) * w):
        out[i] = 0
    for k in range(4):
        r = bands[bi, 5 + 3 * k]
        if r < 0 or bands[r, 1] <= 0 or bands[r, 2] <= 0:  # none, or an empty band: no reference
            continue
        ro, rh, rw = bands[r, 0], bands[r, 1], bands[r, 2]
        sy, sx = bands[bi, 6 + 3 * k], bands[bi, 7 + 3 * k]
        for y in range(y0, y1):
            ry = min(y >> 1 if sy < 0 else (y << 1 if sy > 0 else y), rh - 1)
            row = ro + ry * rw
            if sx == 0:
                for x in range(w):
                    out[(y - y0) * w + x] += abs(coef[row + min(x, rw - 1)])
            elif sx < 0:
                for x in range(w):
                    out[(y - y0) * w + x] += abs(coef[row + min(x >> 1, rw - 1)])
            else:
                for x in range(w):
                    out[(y - y0) * w + x] += abs(coef[row + min(x << 1, rw - 1)])


# The Exp-Golomb escape of large magnitudes: the decoder's out of line (it is rare in
# photos, and inlined four times over it made the coding kernels the slowest to
# compile: _decode_run 10.7 s, _encode_run 14.5 s with an empty cache).  The encoder's
# is inlined once: on noise most coefficients escape, and the call (``out`` and the
# coder state through it) cost 11 % of a lossless encode (768x512 uniform noise,
# chroma stream 90.5 -> 80.9 ms) for +1.9 s of a cold first lossless encode.


@kernel(cache=True, nogil=True)
def _dec_escape(code, drng, dpos, buf, probs, base):
    """The magnitude whose unary part ran past ``NK`` (-1: out of range)."""
    n = 0
    while True:
        one, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, base + _EG0 + min(n, NEG - 1))
        if not one:
            break
        n += 1
        if n > 25:
            return np.int64(-1), code, drng, dpos
    low_bits, code, drng, dpos = dec_direct(code, drng, dpos, buf, n)
    m = ((np.int64(1) << n) | low_bits) - 1 + NK + 1
    if m >= LIMIT:
        return np.int64(-1), code, drng, dpos
    return m, code, drng, dpos


@kernel(cache=True, inline="always")
def _enc_escape(low, rng, cache, csize, pos, out, probs, base, m):
    e1 = m - NK
    n = 0
    while (e1 >> (n + 1)) > 0:
        n += 1
    for jj in range(n + 1):
        low, rng = enc_step(low, rng, probs, base + _EG0 + min(jj, NEG - 1), 1 if jj < n else 0)
        if rng < TOP:
            low, rng, cache, csize, pos = enc_renorm(low, rng, cache, csize, pos, out)
    return enc_direct(low, rng, cache, csize, pos, out, e1 & ((np.int64(1) << n) - 1), n)


@kernel(cache=True, inline="always")
def row_context(nb, rr, y, w, base, qpar, up, sbase, pcs, sns):
    """What coding row ``y`` of a band (``nb``: its values as the neighbourhood reads
    them, flat; ``rr``: the row's reference sums, see :func:`_ref_sums`) knows before
    the row starts, per column: the activity of the rows above
    (``up``: 2 N + NW + NE + NN), the significance context base from the references
    (``sbase``), their activity (``pcs``) and the sign of N (``sns``).  Shared by the
    coder and :mod:`~hybridcodec.entropy.rdoq`, so that both read the same contexts."""
    row = y * w
    for x in range(w):  # rr, up, ...: 1-D runs indexed from 0: no negative-index checks, loops vectorize
        pc = np.int64(rr[x])
        pcs[x] = pc
        sbase[x] = base + _SIG0 + qpar[min(pc, 15)] * 3
        up[x] = 0
        sns[x] = 0
    if y > 0:
        n1 = nb[row - w : row]
        for x in range(w):
            v = n1[x]
            up[x] = 2 * abs(v)
            sns[x] = (v > 0) - (v < 0)
        u1, u0, n1r = up[1:w], up[: w - 1], n1[1:w]
        for x in range(w - 1):
            u1[x] += abs(n1[x])
        for x in range(w - 1):
            u0[x] += abs(n1r[x])
        if y > 1:
            n2 = nb[row - 2 * w : row - w]
            for x in range(w):
                up[x] += abs(n2[x])


# Rows whose reference sums are computed at a time (a band's all at once took a
# temporary of 4 bytes a coefficient of the largest band, which a pool thread's heap
# then kept resident: 37 MB after a 6000 x 4000 wavelet decode).
_REF_ROWS = 64


@kernel(cache=True, inline="always")
def _run(decoding, bands, idx, t0, y0, t1, y1, coef, probs, out, buf, state, qsig, qpar, qmag):
    """Code (into ``out``) or decode (from ``buf``, into ``coef``) bands ``idx[t0:t1]``
    (rows of ``bands``), from row ``y0`` of the first, and then rows ``0:y1`` of band
    ``idx[t1]`` (``y1`` 0: none).  A decoder resumes from and leaves its state in
    ``state`` (code, range, position), so that a stream can be decoded a few rows at a
    time; a row's contexts come from the rows above and the references only.
    Context activity comes from what was coded for each coefficient: its value,
    or, in a predicted band, its prediction residual.  One loop serves both directions
    so they cannot drift apart; it is inlined into one kernel per direction with
    ``decoding`` a constant, so each keeps only its own state in registers."""
    low, rng, cache, csize, pos = ENC_START
    low, rng, cache, csize, pos = np.int64(low), np.int64(rng), np.int64(cache), np.int64(csize), np.int64(pos)
    code, drng, dpos = state[0], state[1], state[2]
    tn = min(t1 + 1, len(idx)) if y1 > 0 else t1  # the bands touched
    big_w = 1
    for tt in range(t0, tn):
        big_w = max(big_w, bands[idx[tt], 2])
    refs = np.empty(_REF_ROWS * big_w, np.int32)  # the reference sums of a run of rows
    # per row, what is known before the row is coded: the activity of the row(s) above
    # (up), the significance context base from the references (sbase), their activity
    # (pcs) and the sign of N (sns); the serial loop then adds only W and WW (measured on
    # 6 Kodak images, wavelet q75, one thread: decode 23.3 -> 17.1 ns per coefficient; the
    # row loops on 1-D runs indexed from 0, 18.4 -> 16.5 ns, encode 20.4 -> 18.4)
    up = np.empty(big_w, np.int64)
    sbase = np.empty(big_w, np.int64)
    pcs = np.empty(big_w, np.int64)
    sns = np.empty(big_w, np.int64)
    for tt in range(t0, tn):
        bi = idx[tt]
        off, h, w, cls, pred = bands[bi, 0], bands[bi, 1], bands[bi, 2], bands[bi, 3], bands[bi, 4]
        ys = min(y0, h) if tt == t0 else 0
        ye = min(y1, h) if tt == t1 else h
        base = cls * PER_CLASS
        # what the neighbourhood reads: the coefficients, or a predicted band's residuals
        # (those of rows coded before this call: from the coefficients again)
        res = np.empty(h * w if pred else 0, np.int32)
        nb = res if pred else coef[off : off + h * w]
        if pred:
            for y in range(ys):
                for x in range(w):
                    res[y * w + x] = coef[off + y * w + x] - _predict(coef, off + y * w + x, y, x, w)
        for y in range(ys, ye):
            row = y * w
            k = (y - ys) % _REF_ROWS
            if k == 0:
                _ref_sums(coef, bands, bi, refs, y, min(y + _REF_ROWS, ye))
            row_context(nb, refs[k * w : k * w + w], y, w, base, qpar, up, sbase, pcs, sns)
            vw = np.int64(0)  # W and WW as the neighbourhood reads them
            vww = np.int64(0)
            for x in range(w):
                j = row + x
                i = off + j
                a = up[x] + 2 * abs(vw) + abs(vww)
                pc = pcs[x]
                p = _predict(coef, i, y, x, w) if pred else 0
                # significance
                c = sbase[x] + qsig[min(a, 63)] * 9
                if decoding:
                    nz, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, c)
                else:
                    r = np.int64(coef[i]) - p
                    nz = 1 if r != 0 else 0
                    low, rng = enc_step(low, rng, probs, c, nz)
                    if rng < TOP:
                        low, rng, cache, csize, pos = enc_renorm(low, rng, cache, csize, pos, out)
                if nz == 0:
                    if pred:
                        res[j] = 0
                        if decoding:
                            coef[i] = p
                    vww = vw
                    vw = 0
                    continue
                t = min(a + pc, 63)
                sw = (vw > 0) - (vw < 0)
                sn = sns[x]
                # magnitude - 1: unary part
                mctx = base + _MAG0 + qmag[t] * NK
                if decoding:
                    k = 1
                    while k <= NK:
                        more, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, mctx + k - 1)
                        if more == 0:
                            break
                        k += 1
                else:  # the encoder knows the run: m - 1 ones (at most NK), then a zero if m <= NK
                    m = abs(r)
                    k = min(m, NK + 1)
                    for kk in range(mctx, mctx + k - 1):
                        low, rng = enc_step(low, rng, probs, kk, 1)
                        if rng < TOP:
                            low, rng, cache, csize, pos = enc_renorm(low, rng, cache, csize, pos, out)
                    if k <= NK:
                        low, rng = enc_step(low, rng, probs, mctx + k - 1, 0)
                        if rng < TOP:
                            low, rng, cache, csize, pos = enc_renorm(low, rng, cache, csize, pos, out)
                if k > NK:  # Exp-Golomb order 0 of m - NK - 1 (the decoder's out of line)
                    if decoding:
                        m, code, drng, dpos = _dec_escape(code, drng, dpos, buf, probs, base)
                        if m < 0:
                            return ERR_RANGE
                    else:
                        low, rng, cache, csize, pos = _enc_escape(low, rng, cache, csize, pos, out, probs, base, m)
                elif decoding:
                    m = k
                # sign
                c = base + _SGN0 + 3 * (sw + 1) + (sn + 1)
                if decoding:
                    neg, code, drng, dpos = dec_bit(code, drng, dpos, buf, probs, c)
                    r = -m if neg else m
                    v = p + r
                    if v >= LIMIT or v <= -LIMIT:
                        return ERR_RANGE
                    coef[i] = v
                else:
                    low, rng = enc_step(low, rng, probs, c, 1 if r < 0 else 0)
                    if rng < TOP:
                        low, rng, cache, csize, pos = enc_renorm(low, rng, cache, csize, pos, out)
                if pred:
                    res[j] = r
                vww = vw
                vw = r if pred else coef[i]
        if decoding:
            state[0], state[1], state[2] = code, drng, dpos
            if dpos > len(buf) + 8:
                return ERR_TRUNCATED
    if decoding:
        return OK
    state[0] = enc_finish(low, rng, cache, csize, pos, out)
    return OK


@kernel(cache=True, nogil=True)
def _encode_run(bands, idx, coef, probs, out, state, qsig, qpar, qmag):
    """Code bands ``idx`` into ``out``; ``state[0]`` = the bytes written (more than
    ``len(out)``: it was too small)."""
    return _run(False, bands, idx, 0, 0, len(idx), 0, coef, probs, out, _NO_DATA, state, qsig, qpar, qmag)


@kernel(cache=True, nogil=True)
def _decode_run(bands, idx, t0, y0, t1, y1, coef, probs, buf, state, qsig, qpar, qmag):
    return _run(True, bands, idx, t0, y0, t1, y1, coef, probs, _NO_OUT, buf, state, qsig, qpar, qmag)


def _readonly(data) -> np.ndarray:
    a = np.frombuffer(data, np.uint8)
    a.flags.writeable = False
    return a


@kernel(cache=True, nogil=True)
def _decoder_state(buf):
    code, rng, pos = dec_start(buf)
    return np.array([code, rng, pos], np.int64)


def streams(bands: np.ndarray) -> list[np.ndarray]:
    """The rows of ``bands`` (in coding order) that each stream codes: luma classes and
    chroma classes (whose contexts never mix) go to separate streams when both occur,
    so that two cores can code them; one stream otherwise."""
    chroma = bands[:, 3] >= N_CLASSES // 2
    refs = bands[~chroma][:, 5:17:3]
    if chroma.all() or not chroma.any() or chroma[refs[refs >= 0]].any():  # luma may not refer to chroma
        return [np.arange(len(bands), dtype=np.int64)]
    return [np.flatnonzero(~chroma).astype(np.int64), np.flatnonzero(chroma).astype(np.int64)]


def _check(coef):
    coef = np.ascontiguousarray(coef, dtype=np.int32)
    top = max(int(coef.max()), -int(coef.min())) if len(coef) else 0  # no |coef| array: no temporary
    if top >= LIMIT // 2:  # residuals may double it
        raise ValueError(f"coefficient magnitude {top} is out of range (< {LIMIT // 2})")
    return coef


def _size_guess(coef, bands, idx) -> int:
    """Bytes for a stream's buffer: log2(1 + |c|) + 2.5 bits per non-zero coefficient and
    0.5 per zero, from every 61st coefficient of each band, with a quarter to spare.  A stream that outgrows it
    is coded again (measured on Kodak: none did, wavelet q75 or lossless; a fixed 2
    bytes a coefficient, before, was 6 bytes a pixel of memory, and a fixed half byte
    made the lossless encode 1.4x slower from re-coding)."""
    total = 0.0
    for i in idx:
        off, n = bands[i, 0], bands[i, 1] * bands[i, 2]
        if n:
            sample = np.abs(coef[off : off + n : 61].astype(np.float32))
            bits = np.where(sample > 0, np.log2(sample + 1) + 2.5, 0.5)
            total += float(bits.mean()) * n / 8
    return int(total * 1.25) + 4096


def _encode_stream(coef, bands, idx, probs) -> bytes:
    size = _size_guess(coef, bands, idx)
    while True:
        out = np.empty(size, np.uint8)
        state = np.zeros(1, np.int64)
        _encode_run(bands, idx, coef, probs.copy(), out, state, _QSIG, _QPAR, _QMAG)
        n = int(state[0])
        if n <= size:
            assert out[0] == 0  # the coded value is below 1: its first byte is always 0
            return out[1:n].tobytes()
        size = n + 16  # the coder counted every byte it could not write


def encode_bands(coef: np.ndarray, bands: np.ndarray) -> bytes:
    """Code every band of ``coef`` (int32, flat) described by ``bands`` in one stream."""
    return encode_streams(coef, bands, split=False)[0]


def decode_bands(data: bytes, bands: np.ndarray, n_coefs: int, n_bands: int | None = None):
    """Decode the first ``n_bands`` bands (all by default) of one stream into a new flat
    int32 array.  Returns ``(coef, status)``; status is OK or a negative error code."""
    return decode_streams([data], bands, n_coefs, n_bands)


def encode_streams(coef: np.ndarray, bands: np.ndarray, split: bool = True) -> list[bytes]:
    """Code every band of ``coef`` (int32, flat) described by ``bands``: one stream per
    group of :func:`streams` (coded in parallel), or all in one (``split=False``, the
    version 1 layout)."""
    coef = _check(coef)
    probs = new_probs(N_CLASSES * PER_CLASS)
    groups = streams(bands) if split else [np.arange(len(bands), dtype=np.int64)]
    return run(_encode_stream, [(coef, bands, g, probs) for g in groups])


def decode_streams(data: list, bands: np.ndarray, n_coefs: int, n_bands: int | None = None):
    """Decode the first ``n_bands`` bands in coding order (all by default) from the
    streams ``data`` (as :func:`encode_streams` made them) into a new flat int32 array.
    Returns ``(coef, status)``; status is OK or a negative error code.

    With two streams, the second (chroma) refers to bands of the first: the first
    stream advances a few bands at a time, and the second, on another core, decodes
    whatever its references allow meanwhile."""
    nb = len(bands) if n_bands is None else n_bands
    groups = streams(bands) if len(data) > 1 else [np.arange(len(bands), dtype=np.int64)]
    groups = [g[g < nb] for g in groups]
    bufs = [_readonly(d) for d in data]  # the streams as they are (no copy), always read-only: one kernel variant
    states = [_decoder_state(b) for b in bufs]
    coef = np.zeros(n_coefs, np.int32)
    probs = new_probs(N_CLASSES * PER_CLASS)  # the streams use disjoint rows of it

    def job(k, start, end):  # positions (band in the group, row)
        return _decode_run(bands, groups[k], start[0], start[1], end[0], end[1], coef, probs, bufs[k], states[k],
                           _QSIG, _QPAR, _QMAG)

    if len(groups) == 1 or threads() < 2 or in_job():
        status = OK
        for k, g in enumerate(groups):
            status = job(k, (0, 0), (len(g), 0)) if status == OK else status
    else:
        status = _decode_two(groups, bands, job)
    if status == OK and nb == len(bands):
        for buf, state in zip(bufs, states):
            if state[2] > len(buf) + 4:
                status = ERR_TRUNCATED
    return coef, status


_PIECES = 48  # the first stream is decoded in this many pieces (each a kernel call)


def _decode_two(groups, bands, job) -> int:
    """Decode two streams at once: this thread decodes the first a few rows at a time
    (pieces of ~1/48 of its coefficients), and between its pieces hands the second
    stream (on a pool thread) whatever rows of it their references in the first now
    allow.  Neither waits for the other except when the second has nothing ready.
    (Handed whole bands, the second stream, chroma, could not start a band before the
    first had finished the luma band it refers to, and the first then waited for that
    tail: Kodak lossless decoded on 1.36 cores of 2.)"""
    g0, g1 = groups
    rows0 = np.array([bands[i, 1] for i in g0], np.int64)
    width0 = np.array([max(1, bands[i, 2]) for i in g0], np.int64)
    ends = np.cumsum(rows0 * width0)  # coefficients of the first stream up to each band's end
    pos0 = {int(b): i for i, b in enumerate(g0)}
    done0, done1 = (0, 0), (0, 0)
    st0 = st1 = OK  # each stream's status: luma goes on when chroma is cut short (a truncated file)
    pending = None  # (future, end) of the second stream's piece in flight
    while True:
        if pending is not None and (pending[0].done() or done0[0] == len(g0) or st0 != OK):
            st1 = pending[0].result()
            done1, pending = pending[1], None
            continue
        if pending is None and st0 == st1 == OK and done1[0] < len(g1):
            end = _reachable(bands, g1, done1, pos0, done0)
            if end > done1:
                pending = (submit(job, 1, done1, end), end)
                continue
        if st0 == OK and done0[0] < len(g0):
            end = _piece_end(done0, rows0, width0, ends)
            st0 = job(0, done0, end)
            done0 = end
        elif pending is None:  # nothing in flight, and nothing more either stream can do
            break
    return min(st0, st1)  # the graver error (OK 0, truncated -1, out of range -2)


def _piece_end(start, rows, widths, ends) -> tuple[int, int]:
    """Where a piece of ~1/48 of the first stream's coefficients from ``start`` (band,
    row) ends: at least one row further."""
    t, y = start
    target = (ends[t - 1] if t else 0) + y * widths[t] + max(1, int(ends[-1]) // _PIECES)
    t1 = min(int(np.searchsorted(ends, target, side="right")), len(rows))
    y1 = 0 if t1 == len(rows) else int((target - (ends[t1 - 1] if t1 else 0)) // widths[t1])
    if (t1, y1) <= (t, y):
        t1, y1 = (t, y + 1) if y + 1 < rows[t] else (t + 1, 0)
    return t1, y1


def _reachable(bands, g1, start, pos0, done0) -> tuple[int, int]:
    """How far (band in ``g1``, row) the second stream can decode from ``start`` while
    the first has decoded up to ``done0``: row ``y`` of a band reads row ``y >> 1``,
    ``y`` or ``2 y`` (its ``sy``) of each reference, clipped to the reference's height."""
    t0, y0 = done0
    j, y = start
    while j < len(g1):
        b = g1[j]
        h = int(bands[b, 1])
        lim = h
        for k in range(4):
            r = int(bands[b, 5 + 3 * k])
            p = pos0.get(r, -1)
            if p < t0:  # no reference in the first stream, or one decoded whole
                continue
            if p > t0:
                return j, y
            rh, sy = int(bands[r, 1]), int(bands[b, 6 + 3 * k])
            if y0 < rh:  # rows 0:y0 of it are decoded; row y needs row min(map(y), rh - 1) < y0
                lim = min(lim, 2 * y0 if sy < 0 else ((y0 + 1) // 2 if sy > 0 else y0))
        if lim < h:
            return j, max(y, lim)
        j, y = j + 1, 0
    return j, 0
