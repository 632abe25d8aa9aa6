"""Huffman *models*: length-limited code lengths, canonical codes, table I/O.

The coder that uses these tables lives in :mod:`hybridcodec.entropy.huffman_coder`.
"""

from __future__ import annotations

import numpy as np

from .._errors import CodecError, TruncatedError
from .._jit import kernel

__all__ = [
    "MAX_CODE_LENGTH",
    "code_lengths",
    "canonical_codes",
    "write_table",
    "read_table",
    "decode_lut",
]

MAX_CODE_LENGTH = 16
LUT_BITS = MAX_CODE_LENGTH


def code_lengths(freqs, max_length: int = MAX_CODE_LENGTH) -> np.ndarray:
    """Huffman code lengths for symbol frequencies, limited to ``max_length`` bits.

    Over-long codes are shortened with the procedure of ITU-T T.81 Annex K.3
    (which keeps the Kraft sum at most one), then lengths are handed out in
    order of decreasing frequency.  A lone symbol gets length 1.

    Parameters
    ----------
    freqs : array_like of int
        Count of each symbol; symbols with count 0 get length 0 (no code).

    Examples
    --------
    >>> code_lengths([5, 0, 1, 1, 3]).tolist()
    [1, 0, 3, 3, 2]
    """
    freqs = np.asarray(freqs, dtype=np.int64)
    lengths = np.zeros(len(freqs), dtype=np.uint8)
    used = np.flatnonzero(freqs)
    if len(used) == 0:
        return lengths
    if len(used) == 1:
        lengths[used[0]] = 1
        return lengths
    if len(used) > (1 << max_length):
        raise ValueError("too many symbols for the length limit")
    depth = _depths(freqs, used)
    bits = np.bincount(depth[used], minlength=64).astype(np.int64)
    for i in range(len(bits) - 1, max_length, -1):  # Annex K.3 (Figure K.3)
        while bits[i] > 0:
            j = i - 2
            while bits[j] == 0:
                j -= 1
            bits[i] -= 2
            bits[i - 1] += 1
            bits[j + 1] += 2
            bits[j] -= 1
    order = used[np.lexsort((used, -freqs[used]))]  # most frequent first, ties by symbol
    lengths[order] = np.repeat(np.arange(len(bits)), bits)[: len(order)]
    return lengths


@kernel(cache=True, nogil=True)
def _depths(freqs, used):
    """Depth of each used symbol in the Huffman tree that repeatedly merges the two
    lightest subtrees, ties going to the subtree with the smaller least symbol."""
    n = len(used)
    weight = np.empty(2 * n, np.int64)
    tie = np.empty(2 * n, np.int64)
    parent = np.full(2 * n, -1, np.int64)
    alive = np.zeros(2 * n, np.bool_)
    for i in range(n):
        weight[i] = freqs[used[i]]
        tie[i] = used[i]
        alive[i] = True
    for m in range(n, 2 * n - 1):
        a = -1
        b = -1
        for i in range(m):
            if not alive[i]:
                continue
            if a < 0 or weight[i] < weight[a] or (weight[i] == weight[a] and tie[i] < tie[a]):
                b = a
                a = i
            elif b < 0 or weight[i] < weight[b] or (weight[i] == weight[b] and tie[i] < tie[b]):
                b = i
        alive[a] = False
        alive[b] = False
        parent[a] = m
        parent[b] = m
        weight[m] = weight[a] + weight[b]
        tie[m] = min(tie[a], tie[b])
        alive[m] = True
    depth = np.zeros(len(freqs), np.int64)
    for i in range(n):
        d = 0
        j = i
        while parent[j] >= 0:
            j = parent[j]
            d += 1
        depth[used[i]] = d
    return depth


def canonical_codes(lengths) -> np.ndarray:
    """Canonical code values: by increasing length, then by symbol value.

    Examples
    --------
    >>> canonical_codes([1, 0, 3, 3, 2]).tolist()
    [0, 0, 6, 7, 2]
    """
    return _canonical(np.asarray(lengths, dtype=np.int64))


@kernel(cache=True, nogil=True)
def _canonical(lengths):
    codes = np.zeros(len(lengths), np.uint32)
    code = 0
    prev = 0
    for n in range(1, 64):
        for s in range(len(lengths)):
            if lengths[s] == n:
                code <<= n - prev
                prev = n
                codes[s] = code
                code += 1
    return codes


def write_table(lengths) -> bytes:
    """Serialise code lengths: max length L (1 byte), L counts, then the symbols in
    canonical order (the layout of JPEG's DHT segment with a variable count list)."""
    lengths = np.asarray(lengths)
    used = np.flatnonzero(lengths)
    if len(used) == 0:
        return b"\x00"
    maxlen = int(lengths.max())
    counts = np.bincount(lengths[used], minlength=maxlen + 1)[1:]
    order = used[np.lexsort((used, lengths[used]))]
    return bytes([maxlen]) + bytes(counts.astype(np.uint8)) + bytes(order.astype(np.uint8))


def read_table(buf: bytes, pos: int, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Inverse of :func:`write_table`, checking everything; ``valid[s]`` says whether
    symbol ``s`` may occur.  Returns ``(lengths, new_pos)``."""
    if pos >= len(buf):
        raise TruncatedError("corrupt data: Huffman table is truncated")
    maxlen = buf[pos]
    if maxlen > MAX_CODE_LENGTH:
        raise CodecError(f"corrupt data: Huffman code length {maxlen} exceeds {MAX_CODE_LENGTH}")
    pos += 1
    if pos + maxlen > len(buf):
        raise TruncatedError("corrupt data: Huffman table is truncated")
    counts = np.frombuffer(buf, np.uint8, maxlen, pos).astype(np.int64)
    pos += maxlen
    n = int(counts.sum())
    if n > len(valid) or pos + n > len(buf):
        raise TruncatedError("corrupt data: Huffman table is truncated or too large")
    symbols = np.frombuffer(buf, np.uint8, n, pos).astype(np.int64)
    pos += n
    if len(np.unique(symbols)) != n or not valid[symbols].all():
        raise CodecError("corrupt data: Huffman table lists an invalid or repeated symbol")
    kraft = sum(int(c) << (MAX_CODE_LENGTH - i - 1) for i, c in enumerate(counts))
    if kraft > (1 << MAX_CODE_LENGTH):
        raise CodecError("corrupt data: Huffman table is over-subscribed (not a prefix code)")
    lengths = np.zeros(len(valid), dtype=np.uint8)
    lengths[symbols] = np.repeat(np.arange(1, maxlen + 1), counts)
    return lengths, pos


def decode_lut(lengths, out: np.ndarray | None = None) -> np.ndarray:
    """Table indexed by the next 16 bits of the stream: ``length << 8 | symbol``,
    or -1 where no code starts with those bits; written into ``out`` (int32, 2^16
    entries) when given.  A baseline decode builds four: into the rows of one array,
    not stacked afterwards (that copy of 1 MB was 0.4 ms of a 1.1 ms 16x16 decode)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if out is None:
        out = np.empty(1 << LUT_BITS, np.int32)
    _lut(lengths, _canonical(lengths), out)
    return out


@kernel(cache=True, nogil=True)
def _lut(lengths, codes, lut):
    lut[:] = -1
    for s in range(len(lengths)):
        n = lengths[s]
        if n:
            shift = LUT_BITS - n
            lut[np.int64(codes[s]) << shift : (np.int64(codes[s]) + 1) << shift] = (n << 8) | s
