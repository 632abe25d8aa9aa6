"""Huffman *coder*: packs symbols and extra bits, and decodes blocks, in numba.

Bits are written most significant first; the last byte is padded with 1 bits.
"""

from __future__ import annotations

from .._jit import kernel
import numpy as np

__all__ = ["block_stats", "pack_blocks", "decode_blocks", "OK", "ERR_CODE", "ERR_RUN", "ERR_TRUNCATED", "ERR_RANGE", "ERR_TRAILING"]

OK, ERR_CODE, ERR_RUN, ERR_TRUNCATED, ERR_RANGE, ERR_TRAILING = 0, -1, -2, -3, -4, -5
_MASK56 = (1 << 56) - 1
_DC_LIMIT = 1 << 20


_SIZES = np.array([int(v).bit_length() for v in range(1 << 12)], np.int64)


@kernel(cache=True, inline="always")
def _size(v):
    # bit length by table below 4096 (a data-dependent loop mispredicts: 1.6 ms for a
    # Kodak luma plane's coefficients, the table 0.1 ms)
    a = -v if v < 0 else v
    if a < 4096:
        return _SIZES[a]
    s = 12
    a >>= 12
    while a:
        a >>= 1
        s += 1
    return s


# de Bruijn sequence and table: the index of a 64-bit word's lowest set bit without
# a loop (numba has no count-trailing-zeros)
_DEBRUIJN = 0x03F79D71B4CB0A89
_CTZ = np.zeros(64, np.int64)
for _i in range(64):
    _CTZ[(((1 << _i) * _DEBRUIJN) & ((1 << 64) - 1)) >> 58] = _i


@kernel(cache=True, inline="always")
def _lowest(mask, ctz):
    return ctz[np.uint64(((mask & -mask) * np.int64(_DEBRUIJN))) >> np.uint64(58)]


@kernel(cache=True, inline="always")
def _nonzero_mask(coef, b, order, word):
    """Bit j set: zigzag coefficient ``64 * word + j`` (never the DC) of block b is not zero."""
    mask = np.int64(0)
    for k in range(max(64 * word, 1), min(64 * word + 64, coef.shape[1])):
        mask |= np.int64(coef[b, order[k]] != 0) << (k - 64 * word)
    return mask


@kernel(cache=True, nogil=True)
def block_stats(coef, order, b0, b1, dc_tab, ac_tab, freq, masks):
    """Add the symbol counts of blocks ``b0:b1`` of one plane (``coef``: n_blocks x N,
    natural order; ``order``: the zigzag scan) to ``freq[table, symbol]``,
    keep each block's non-zero masks in ``masks`` (n_blocks x ceil(N / 64)) (for :func:`pack_blocks`), and
    return their extra bits.  The symbols are those of
    :func:`hybridcodec.entropy.rle.rle_encode`; the first block's DC is predicted from
    block ``b0 - 1``.  Only the non-zero coefficients are visited (a Kodak image's
    luma: 1.9 ms visiting all, 0.6 ms)."""
    nc = coef.shape[1]
    ctz = _CTZ
    extra = np.int64(0)
    pred = np.int64(coef[b0 - 1, 0]) if b0 > 0 else np.int64(0)
    for b in range(b0, b1):
        dc = np.int64(coef[b, 0])
        s = _size(dc - pred)
        pred = dc
        freq[dc_tab, s] += 1
        extra += s
        prev = 0
        for word in range(masks.shape[1]):
            mask = _nonzero_mask(coef, b, order, word)
            masks[b, word] = mask
            while mask:
                k = 64 * word + _lowest(mask, ctz)
                mask &= mask - 1
                run = k - prev - 1
                prev = k
                freq[ac_tab, 0xF0] += run >> 4
                s = _size(np.int64(coef[b, order[k]]))
                freq[ac_tab, ((run & 15) << 4) | s] += 1
                extra += s
        if prev < nc - 1:
            freq[ac_tab, 0] += 1
    return extra


@kernel(cache=True, inline="always")
def _put(acc, nacc, pos, out, value, n):
    # up to 32 bits at a time into a 64-bit accumulator holding fewer than 32.  The
    # next four bytes are always written (later writes correct them), so that the only
    # branch is the cheap one: 1.4 ms for a Kodak luma plane, 3.1 ms branching on the write
    acc = (acc << n) | value
    nacc += n
    full = nacc >= 32
    w = acc >> (nacc - 32 if full else 0)
    out[pos] = (w >> 24) & 0xFF
    out[pos + 1] = (w >> 16) & 0xFF
    out[pos + 2] = (w >> 8) & 0xFF
    out[pos + 3] = w & 0xFF
    if full:
        pos += 4
        nacc -= 32
        acc &= (np.int64(1) << nacc) - 1
    return acc, nacc, pos


@kernel(cache=True, nogil=True)
def pack_blocks(coef, order, b0, b1, dc_tab, ac_tab, codes, lengths, out, lead, masks):
    """Write the code of blocks ``b0:b1`` (the symbols :func:`block_stats` counts, with
    the masks it kept) into the zeroed ``out`` after ``lead`` zero bits; a final partial
    byte is padded with zeros.  Runs packed apart (in parallel) are joined by OR-ing
    their bytes.  ``out`` needs 4 bytes to spare (they are written over)."""
    nc = coef.shape[1]
    ctz = _CTZ
    acc = np.int64(0)
    nacc = np.int64(lead)
    pos = 0
    pred = np.int64(coef[b0 - 1, 0]) if b0 > 0 else np.int64(0)
    zrl = (np.int64(codes[ac_tab, 0xF0]), np.int64(lengths[ac_tab, 0xF0]))
    eob = (np.int64(codes[ac_tab, 0]), np.int64(lengths[ac_tab, 0]))
    for b in range(b0, b1):
        dc = np.int64(coef[b, 0])
        d = dc - pred
        pred = dc
        s = _size(d)
        v = d if d >= 0 else d + (np.int64(1) << s) - 1
        acc, nacc, pos = _put(acc, nacc, pos, out, (np.int64(codes[dc_tab, s]) << s) | v,
                              np.int64(lengths[dc_tab, s]) + s)
        prev = 0
        for word in range(masks.shape[1]):
            mask = masks[b, word]
            while mask:
                k = 64 * word + _lowest(mask, ctz)
                mask &= mask - 1
                run = k - prev - 1
                prev = k
                while run >= 16:
                    acc, nacc, pos = _put(acc, nacc, pos, out, zrl[0], zrl[1])
                    run -= 16
                c = np.int64(coef[b, order[k]])
                s = _size(c)
                sym = (run << 4) | s
                v = c if c >= 0 else c + (np.int64(1) << s) - 1
                acc, nacc, pos = _put(acc, nacc, pos, out, (np.int64(codes[ac_tab, sym]) << s) | v,
                                      np.int64(lengths[ac_tab, sym]) + s)
        if prev < nc - 1:
            acc, nacc, pos = _put(acc, nacc, pos, out, eob[0], eob[1])
    while nacc >= 8:
        nacc -= 8
        out[pos] = (acc >> nacc) & 0xFF
        pos += 1
    if nacc > 0:
        out[pos] = (acc << (8 - nacc)) & 0xFF


@kernel(cache=True, nogil=True)
def decode_blocks(data, luts, starts, tables, out, order):
    """Decode every block into ``out`` (zeroed, ``n_blocks x N``, natural order;
    ``order`` is the zigzag scan).

    ``starts`` and ``tables`` are as for the symbol kernel; ``luts[t]`` maps the
    next 16 bits to ``length << 8 | symbol`` (or -1).  Returns OK or an error code.
    """
    nc = out.shape[1]
    size = len(data)
    acc = np.int64(0)
    nacc = 0
    pos = 0
    for p in range(len(starts) - 1):
        dlut = luts[tables[p, 0]]
        alut = luts[tables[p, 1]]
        pred = np.int64(0)
        for b in range(starts[p], starts[p + 1]):
            k = 0
            while k < nc:
                while nacc <= 48:
                    acc = ((acc << 8) | (data[pos] if pos < size else 0)) & _MASK56
                    pos += 1
                    nacc += 8
                if pos - 8 > size:  # far past the end: only padding is left
                    return ERR_TRUNCATED
                e = (dlut if k == 0 else alut)[(acc >> (nacc - 16)) & 0xFFFF]
                if e < 0:
                    return ERR_CODE
                nacc -= e >> 8
                s = e & 0xFF
                size_bits = s & 15
                if k == 0:
                    if s > 16:
                        return ERR_CODE
                    size_bits = s
                elif size_bits == 0:
                    if s == 0:
                        break
                    if s != 0xF0 or k + 16 >= nc:
                        return ERR_RUN
                    k += 16
                    continue
                else:
                    k += s >> 4
                    if k >= nc:
                        return ERR_RUN
                v = np.int64(0)
                if size_bits:
                    nacc -= size_bits
                    v = (acc >> nacc) & ((1 << size_bits) - 1)
                    if v < (1 << (size_bits - 1)):
                        v -= (1 << size_bits) - 1
                if k == 0:
                    pred += v
                    if pred >= _DC_LIMIT or pred <= -_DC_LIMIT:
                        return ERR_RANGE
                    out[b, 0] = pred
                else:
                    out[b, order[k]] = v
                k += 1
    used = pos * 8 - nacc
    if used > size * 8:
        return ERR_TRUNCATED
    if (used + 7) // 8 != size:
        return ERR_TRAILING
    return OK
