"""Huffman *coder*: packs symbols and extra bits, and decodes blocks, in numba.

Bits are written most significant first; the last byte is padded with 1 bits.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["pack_bits", "decode_blocks", "OK", "ERR_CODE", "ERR_RUN", "ERR_TRUNCATED", "ERR_RANGE", "ERR_TRAILING"]

OK, ERR_CODE, ERR_RUN, ERR_TRUNCATED, ERR_RANGE, ERR_TRAILING = 0, -1, -2, -3, -4, -5
_MASK56 = (1 << 56) - 1
_DC_LIMIT = 1 << 20


@numba.njit(cache=True, nogil=True)
def pack_bits(sym, tab, val, nbits, codes, lengths, total_bits):
    """Concatenate ``code[tab, sym]`` and ``nbits`` extra bits of ``val`` per symbol."""
    out = np.empty((total_bits + 7) // 8, np.uint8)
    acc = np.int64(0)
    nacc = 0
    pos = 0
    for i in range(len(sym)):
        t = tab[i]
        s = sym[i]
        n = np.int64(lengths[t, s])
        acc = ((acc << n) | np.int64(codes[t, s])) & _MASK56
        nacc += n
        n = np.int64(nbits[i])
        acc = ((acc << n) | np.int64(val[i])) & _MASK56
        nacc += n
        while nacc >= 8:
            nacc -= 8
            out[pos] = (acc >> nacc) & 0xFF
            pos += 1
    if nacc > 0:
        out[pos] = ((acc << (8 - nacc)) | ((1 << (8 - nacc)) - 1)) & 0xFF
    return out


@numba.njit(cache=True, nogil=True)
def decode_blocks(data, luts, starts, tables, out):
    """Decode every block into ``out`` (zeroed, ``n_blocks x N``, zigzag order).

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
                    out[b, k] = v
                k += 1
    used = pos * 8 - nacc
    if used > size * 8:
        return ERR_TRUNCATED
    if (used + 7) // 8 != size:
        return ERR_TRAILING
    return OK
