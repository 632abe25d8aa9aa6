"""The table family of ``ctxrans``: discretized zero-mean Laplace distributions at 64
log-spaced scales, as integer CDFs (built once, by training, and shipped in the model
file: no decoder derives a table from floats), and what each value costs under them."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from hybridcodec import SymbolTables

__all__ = ["table_scales", "laplace_tables", "costs", "RMAX"]

RMAX = 1023  # widest table: +-1023, beyond it the escape


def table_scales(n: int = 64, low: float = 0.03, high: float = 512.0) -> np.ndarray:
    """The Laplace scales (in quantizer steps) of :func:`laplace_tables`, log-spaced."""
    return np.exp(np.linspace(math.log(low), math.log(high), n))


def laplace_tables(n: int = 64, low: float = 0.03, high: float = 512.0) -> SymbolTables:
    """Discretized zero-mean Laplace tables at ``n`` log-spaced scales.

    Examples
    --------
    >>> t = laplace_tables(4)
    >>> len(t.lengths), bool(t.lengths[0] < t.lengths[-1])
    (4, True)
    """
    pmfs, offsets, width = [], [], 0
    for s in table_scales(n, low, high):
        r = int(min(RMAX, math.ceil(s * math.log(1e9)) + 1))
        k = np.arange(-r, r + 1, dtype=np.float64)
        upper = np.where(k + 0.5 < 0, 0.5 * np.exp((k + 0.5) / s), 1 - 0.5 * np.exp(-(k + 0.5) / s))
        lower = np.where(k - 0.5 < 0, 0.5 * np.exp((k - 0.5) / s), 1 - 0.5 * np.exp(-(k - 0.5) / s))
        pmfs.append(upper - lower)
        offsets.append(-r)
        width = max(width, len(k))
    cdfs = np.zeros((n, width + 2), np.int32)
    lengths = np.zeros(n, np.int32)
    for i, p in enumerate(pmfs):
        one = SymbolTables.from_pmfs(p[None], [0])
        m = int(one.lengths[0])
        cdfs[i, :m], cdfs[i, m:], lengths[i] = one.cdfs[0, :m], 1 << 16, m
    return SymbolTables(cdfs, lengths, np.asarray(offsets, np.int32))


@lru_cache(maxsize=4)
def costs(tables: SymbolTables, vmax: int = 4096) -> np.ndarray:
    """Bits of |value| 0..vmax-1 under each table (escapes at their real cost)."""
    out = np.zeros((len(tables.lengths), vmax))
    v = np.arange(vmax)
    for t, (n, off) in enumerate(zip(tables.lengths, tables.offsets)):
        freq = np.diff(tables.cdfs[t, :n].astype(np.int64))
        k = v - off
        inside = k < n - 2
        bits = np.where(inside, -np.log2(freq[np.minimum(k, n - 3)] / 65536.0), 0.0)
        raw = 2 * np.maximum(k - (n - 2), 0)
        chunks = np.ceil(np.log2(raw + 1) / 4)
        esc = -np.log2(freq[n - 2] / 65536.0) + 4 * (1 + chunks)
        out[t] = np.where(inside, bits, esc)
    return out
