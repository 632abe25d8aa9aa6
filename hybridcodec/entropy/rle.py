"""Zigzag scan and JPEG-style (run, size) symbols with DC prediction, EOB and ZRL.

A block of N zigzag-ordered integer coefficients (|c| < 2**15) becomes: one DC
symbol (the size class, 0..16, of the difference to the previous block's DC), then AC symbols
``run << 4 | size`` (``run`` zeros, then a non-zero value of ``size`` bits),
``ZRL`` (0xF0, sixteen zeros) and ``EOB`` (0x00, the rest are zero).  Each
symbol of size s > 0 is followed by s extra bits: v if v > 0, else v + 2**s - 1.
"""

from __future__ import annotations

from functools import lru_cache

from .._jit import kernel
import numpy as np

__all__ = [
    "EOB",
    "ZRL",
    "zigzag_order",
    "rle_encode",
    "rle_decode",
    "valid_dc_symbols",
    "valid_ac_symbols",
]

EOB = 0x00
ZRL = 0xF0
MAX_SIZE = 15  # AC magnitudes below 2**15
MAX_DC_SIZE = 16  # DC differences of two such values


@lru_cache(maxsize=8)
def zigzag_order(block: int) -> np.ndarray:
    """Row-major indices of a ``block x block`` array in JPEG zigzag order.

    Examples
    --------
    >>> zigzag_order(4).tolist()
    [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15]
    """
    r, c = np.divmod(np.arange(block * block), block)
    s = r + c
    order = np.lexsort((np.where(s % 2 == 1, r, -r), s))
    order.setflags(write=False)
    return order


def valid_dc_symbols() -> np.ndarray:
    v = np.zeros(256, dtype=bool)
    v[: MAX_DC_SIZE + 1] = True
    return v


def valid_ac_symbols() -> np.ndarray:
    v = np.zeros(256, dtype=bool)
    sym = np.arange(256)
    v[(sym & 15) >= 1] = True  # (run, size) with size 1..15
    v[[EOB, ZRL]] = True
    return v


@kernel(cache=True, nogil=True)
def _size(v):
    a = -v if v < 0 else v
    s = 0
    while a:
        a >>= 1
        s += 1
    return s


@kernel(cache=True, nogil=True)
def symbols_kernel(zz, starts, tables, sym, tab, val, nbits):
    """Symbols of every block.  ``zz`` holds the zigzagged blocks of all planes
    back to back; plane p is rows ``starts[p]:starts[p+1]`` and uses DC table
    ``tables[p, 0]`` and AC table ``tables[p, 1]``.  Returns the symbol count."""
    n = 0
    nc = zz.shape[1]
    for p in range(len(starts) - 1):
        dct, act = tables[p, 0], tables[p, 1]
        pred = 0
        for b in range(starts[p], starts[p + 1]):
            dc = np.int64(zz[b, 0])
            d = dc - pred
            pred = dc
            s = _size(d)
            sym[n] = s
            tab[n] = dct
            val[n] = d if d >= 0 else d + (1 << s) - 1
            nbits[n] = s
            n += 1
            last = nc - 1
            while last > 0 and zz[b, last] == 0:
                last -= 1
            run = 0
            for k in range(1, last + 1):
                v = np.int64(zz[b, k])
                if v == 0:
                    run += 1
                    continue
                while run >= 16:
                    sym[n] = 0xF0
                    tab[n] = act
                    val[n] = 0
                    nbits[n] = 0
                    n += 1
                    run -= 16
                s = _size(v)
                sym[n] = (run << 4) | s
                tab[n] = act
                val[n] = v if v >= 0 else v + (1 << s) - 1
                nbits[n] = s
                n += 1
                run = 0
            if last < nc - 1:
                sym[n] = 0
                tab[n] = act
                val[n] = 0
                nbits[n] = 0
                n += 1
    return n


def max_symbols(n_blocks: int, n_coefs: int) -> int:
    """Upper bound of the symbol count: DC + every AC + EOB, ZRLs never exceed that."""
    return n_blocks * (n_coefs + 1)


def rle_encode(zz: np.ndarray):
    """Symbols of one plane's zigzagged blocks (``n_blocks x N`` integers).

    Returns ``(symbols, extra_values, extra_bit_counts, is_ac)``.

    Examples
    --------
    >>> s, v, n, ac = rle_encode(np.array([[5, 0, 0, -3] + [0] * 12]))
    >>> [hex(x) for x in s], v.tolist(), n.tolist()
    (['0x3', '0x22', '0x0'], [5, 0, 0], [3, 2, 0])
    """
    zz = np.ascontiguousarray(zz, dtype=np.int32)
    size = max_symbols(*zz.shape)
    sym = np.empty(size, np.uint8)
    tab = np.empty(size, np.uint8)
    val = np.empty(size, np.int32)
    nb = np.empty(size, np.uint8)
    n = symbols_kernel(zz, np.array([0, len(zz)]), np.array([[0, 1]]), sym, tab, val, nb)
    return sym[:n], val[:n], nb[:n], tab[:n] == 1


def rle_decode(symbols, values, n_blocks: int, n_coefs: int) -> np.ndarray:
    """Inverse of :func:`rle_encode` (a plain reference; the stage's decoder fuses
    this with Huffman decoding).  Raises ValueError on inconsistent input."""
    out = np.zeros((n_blocks, n_coefs), dtype=np.int32)
    i, pred = 0, 0
    symbols = np.asarray(symbols)
    values = np.asarray(values)
    for b in range(n_blocks):
        s = int(symbols[i])
        pred += _extend(int(values[i]), s)
        out[b, 0] = pred
        i += 1
        k = 1
        while k < n_coefs:
            s = int(symbols[i])
            r, size = s >> 4, s & 15
            if size == 0:
                i += 1
                if s == EOB:
                    break
                if s != ZRL or k + 16 >= n_coefs:
                    raise ValueError(f"invalid symbol {s:#x} at coefficient {k}")
                k += 16
                continue
            k += r
            if k >= n_coefs:
                raise ValueError("run goes past the end of the block")
            out[b, k] = _extend(int(values[i]), size)
            i += 1
            k += 1
    if i != len(symbols):
        raise ValueError("symbols left over after the last block")
    return out


def _extend(v: int, s: int) -> int:
    return v if s == 0 or v >= 1 << (s - 1) else v - (1 << s) + 1
