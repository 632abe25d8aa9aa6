"""Range asymmetric numeral systems (rANS) *coder* for symbols with per-symbol
probability tables: integer CDFs, so that encoder and decoder agree bit for bit on
any machine.  The model that chooses the tables lives elsewhere
(:class:`hybridcodec.SymbolTables`, :class:`hybridcodec.EntropyModel`).

* 32-bit state in ``[2**16, 2**32)``, 16-bit words, CDFs of precision 16 (the total
  of every table is 65536; every symbol a table can code has a frequency of 1 or more).
* Table ``t`` codes values ``offsets[t] .. offsets[t] + lengths[t] - 3``; its last
  symbol (index ``lengths[t] - 2``) is an escape, followed by the value's distance
  from the table's range in 4-bit equiprobable chunks (a count, then the chunks),
  as CompressAI's coder does, so that no value is unencodable.
* Stream: the final encoder state (two words), then the words in decoding order,
  big-endian.  A full decode must end in the encoder's initial state with every
  word read; anything else is reported as corrupt.

Measured against constriction 0.4's vectorised ANS (``benchmarks/rans.py``): see
the commit that added this file and the benchmark's output.
"""

from __future__ import annotations

from .._jit import kernel
import numpy as np

__all__ = ["PRECISION", "encode", "decode", "Decoder", "OK", "ERR_TRUNCATED", "ERR_RANGE", "ERR_CORRUPT", "MAX_VALUE"]

PRECISION = 16
_TOTAL = 1 << PRECISION
_L = 1 << 16  # lower bound of the state
OK, ERR_TRUNCATED, ERR_RANGE, ERR_CORRUPT = 0, -1, -2, -3
MAX_VALUE = 1 << 30  # |symbol| must stay below this
_CHUNK = 4  # bits per equiprobable escape chunk


@kernel(cache=True, nogil=True)
def _raw(value, lo, esc):
    """Escape payload of ``value`` for a table whose regular symbols are lo .. lo+esc-1
    (-1 when the value is regular)."""
    k = value - lo
    if k < 0:
        return -2 * k - 1
    if k >= esc:
        return 2 * (k - esc)
    return -1


@kernel(cache=True, nogil=True)
def _n_chunks(raw):
    n = 0
    while raw > 0:
        raw >>= _CHUNK
        n += 1
    return n


@kernel(cache=True, nogil=True)
def _encode(sym, idx, cdfs, lengths, offsets):
    n = len(sym)
    ops = 0
    for i in range(n):
        t = idx[i]
        raw = _raw(np.int64(sym[i]), np.int64(offsets[t]), np.int64(lengths[t] - 2))
        ops += 1 if raw < 0 else 2 + _n_chunks(raw)
    out = np.empty(ops + 2, np.uint16)
    pos = ops + 2
    x = np.int64(_L)
    for i in range(n - 1, -1, -1):
        t = idx[i]
        esc = np.int64(lengths[t] - 2)
        raw = _raw(np.int64(sym[i]), np.int64(offsets[t]), esc)
        if raw >= 0:
            nc = _n_chunks(raw)
            for j in range(nc, -1, -1):  # chunks last to first, then their count
                c = nc if j == 0 else (raw >> (_CHUNK * (j - 1))) & 15
                while x >= (np.int64(1) << 28):
                    pos -= 1
                    out[pos] = x & 0xFFFF
                    x >>= 16
                x = ((x >> 12) << 16) + (x & 0xFFF) + (c << 12)
            k = esc
        else:
            k = np.int64(sym[i]) - offsets[t]
        start = np.int64(cdfs[t, k])
        freq = np.int64(cdfs[t, k + 1]) - start
        while x >= (freq << 16):
            pos -= 1
            out[pos] = x & 0xFFFF
            x >>= 16
        x = ((x // freq) << 16) + (x % freq) + start
    pos -= 1
    out[pos] = x & 0xFFFF
    pos -= 1
    out[pos] = x >> 16
    return out[pos:]


@kernel(cache=True, nogil=True, inline="always")
def _refill(x, words, pos):
    """Read a word into a state that fell below 2**16 (zeros past the end: truncated)."""
    if x >= _L:
        return x, pos, False
    if pos < len(words):
        return (x << 16) | np.int64(words[pos]), pos + 1, False
    return x << 16, pos + 1, True


@kernel(cache=True, nogil=True)
def _decode_run(words, state, idx, cdfs, lengths, offsets, n, out):
    """Decode ``n`` symbols into ``out`` from the coder state ``state`` = [x, pos]
    (updated in place, so that a later call goes on where this one stopped);
    returns a status."""
    x, pos = state[0], state[1]
    truncated = False
    for i in range(n):
        t = idx[i]
        length = lengths[t]
        slot = x & 0xFFFF
        lo, hi = 0, length - 1  # cdf[lo] <= slot < cdf[hi]
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if cdfs[t, mid] <= slot:
                lo = mid
            else:
                hi = mid
        start = np.int64(cdfs[t, lo])
        x = (np.int64(cdfs[t, lo + 1]) - start) * (x >> 16) + slot - start
        x, pos, cut = _refill(x, words, pos)
        truncated |= cut
        esc = length - 2
        if lo < esc:
            out[i] = lo + offsets[t]
            continue
        raw = np.int64(0)
        nc = 0
        for j in range(9):
            c = (x & 0xFFFF) >> 12
            x = (np.int64(1) << 12) * (x >> 16) + (x & 0xFFF)
            x, pos, cut = _refill(x, words, pos)
            truncated |= cut
            if j == 0:
                nc = c
                if nc > 8:
                    return ERR_RANGE
            else:
                raw |= c << (_CHUNK * (j - 1))
            if j == nc:
                break
        k = -((raw + 1) >> 1) if raw & 1 else esc + (raw >> 1)
        v = k + offsets[t]
        if v <= -MAX_VALUE or v >= MAX_VALUE:
            return ERR_RANGE
        out[i] = v
        if truncated:
            return ERR_TRUNCATED
    state[0], state[1] = x, pos
    if truncated:
        return ERR_TRUNCATED
    return OK


def _start(data: bytes):
    """The stream's words and the decoder's initial state (None: too short)."""
    words = np.frombuffer(data, ">u2", count=len(data) // 2).astype(np.uint16)
    if len(words) < 2:
        return words, None
    return words, np.array([(int(words[0]) << 16) | int(words[1]), 2], np.int64)


def encode(symbols: np.ndarray, indexes: np.ndarray, tables) -> bytes:
    """Code ``symbols[i]`` with table ``indexes[i]`` of ``tables``
    (:class:`~hybridcodec.SymbolTables`); raise ValueError for values of
    magnitude 2**30 or more and for indexes out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridcodec import SymbolTables
    >>> t = SymbolTables.from_pmfs(np.array([[0.25, 0.5, 0.25]]), offsets=[-1])
    >>> sym = np.array([0, 1, -1, 0, 7, -300], np.int32)
    >>> data = encode(sym, np.zeros(6, np.int32), t)
    >>> decode(data, np.zeros(6, np.int32), t, 6)[0].tolist()
    [0, 1, -1, 0, 7, -300]
    """
    sym = np.ascontiguousarray(symbols, np.int32).ravel()
    idx = np.ascontiguousarray(indexes, np.int32).ravel()
    if len(sym) != len(idx):
        raise ValueError(f"{len(sym)} symbols but {len(idx)} table indexes")
    if len(sym) and (idx.min() < 0 or idx.max() >= len(tables.lengths)):
        raise ValueError(f"table indexes must be 0..{len(tables.lengths) - 1}")
    if len(sym) and max(-int(sym.min()), int(sym.max())) >= MAX_VALUE:  # no int64 copy of the symbols
        raise ValueError(f"rans codes values of magnitude below {MAX_VALUE}")
    words = _encode(sym, idx, tables.cdfs, tables.lengths, tables.offsets)
    return words.astype(">u2").tobytes()


def decode(data: bytes, indexes: np.ndarray, tables, n: int | None = None) -> tuple[np.ndarray, int]:
    """Decode the first ``n`` (default: all) of ``len(indexes)`` symbols; returns
    ``(symbols, status)`` with the symbols not decoded left 0."""
    idx = np.ascontiguousarray(indexes, np.int32).ravel()
    n = len(idx) if n is None else int(n)
    out = np.zeros(len(idx), np.int32)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(tables.lengths)):
        return out, ERR_RANGE
    words, state = _start(data)
    if state is None:
        return out, ERR_TRUNCATED
    status = _decode_run(words, state, idx, tables.cdfs, tables.lengths, tables.offsets, n, out)
    if status == OK and n == len(idx) and (state[1] != len(words) or state[0] != _L or len(data) % 2):
        status = ERR_CORRUPT
    return out, status


class Decoder:
    """Decodes one stream in pieces, each with its own table indexes, so that a model
    can choose the next piece's tables from the symbols decoded so far (context
    models); the pieces together are the symbols :func:`encode` was given.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridcodec import SymbolTables
    >>> t = SymbolTables.from_pmfs(np.array([[0.25, 0.5, 0.25]]), offsets=[-1])
    >>> d = Decoder(encode(np.array([1, -1, 0, 9], np.int32), np.zeros(4, np.int32), t))
    >>> d.take(np.zeros(1, np.int32), t).tolist(), d.take(np.zeros(3, np.int32), t).tolist(), d.finish()
    ([1], [-1, 0, 9], 0)
    """

    def __init__(self, data: bytes):
        self._words, self._state = _start(data)
        self._odd = len(data) % 2
        self.status = OK if self._state is not None else ERR_TRUNCATED

    def take(self, indexes: np.ndarray, tables) -> np.ndarray:
        """The next ``len(indexes)`` symbols (zeros once :attr:`status` is not OK)."""
        idx = np.ascontiguousarray(indexes, np.int32).ravel()
        out = np.zeros(len(idx), np.int32)
        if self.status != OK or not len(idx):
            return out
        if idx.min() < 0 or idx.max() >= len(tables.lengths):
            self.status = ERR_RANGE
            return out
        self.status = _decode_run(self._words, self._state, idx, tables.cdfs, tables.lengths, tables.offsets,
                                  len(idx), out)
        return out

    def finish(self) -> int:
        """Status of the whole stream: OK only if every word was read and the coder is
        back in its initial state (call it after the last piece)."""
        if self.status == OK and (self._state[1] != len(self._words) or self._state[0] != _L or self._odd):
            self.status = ERR_CORRUPT
        return self.status
