"""Entropy *models* apart from coders: integer probability tables, and the protocol by
which a stage offers a model for the planes it produces.

The split follows CompressAI (``EntropyBottleneck`` / ``GaussianConditional`` build
integer CDFs; the rANS coder only codes) and constriction (models apart from
coders).  Tables are integers, so encoder and decoder agree bit for bit on any
machine, whatever computed the probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import CodecError

__all__ = ["SymbolTables", "EntropyModel", "PRECISION"]

PRECISION = 16  # every CDF ends at 2**16


@dataclass(frozen=True, eq=False)
class SymbolTables:
    """Integer CDF tables for :mod:`hybridcodec.entropy.rans`.

    Attributes
    ----------
    cdfs : int32 array, T x L
        Row ``t`` holds ``lengths[t]`` non-decreasing values from 0 to ``2**16``
        (the rest is ignored); each step (a symbol's frequency) is at least 1.
        The last symbol of every table is the escape for values outside it.
    lengths : int32 array, T
        Number of CDF entries of each table: symbols + 1, at least 3.
    offsets : int32 array, T
        Value of each table's first symbol.

    Examples
    --------
    >>> t = SymbolTables.from_pmfs(np.array([[0.1, 0.8, 0.1]]), offsets=[-1])
    >>> t.cdfs.tolist(), t.lengths.tolist(), t.offsets.tolist()
    ([[0, 6554, 58981, 65535, 65536]], [5], [-1])
    """

    cdfs: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray

    def __post_init__(self):
        cdfs = np.ascontiguousarray(self.cdfs, np.int32)
        lengths = np.ascontiguousarray(self.lengths, np.int32).ravel()
        offsets = np.ascontiguousarray(self.offsets, np.int32).ravel()
        if cdfs.ndim != 2 or len(cdfs) != len(lengths) or len(offsets) != len(lengths) or not len(lengths):
            raise CodecError("SymbolTables needs a T x L cdfs array, T lengths and T offsets (T >= 1)")
        if lengths.min() < 3 or lengths.max() > cdfs.shape[1]:
            raise CodecError(f"SymbolTables: lengths must be 3..{cdfs.shape[1]} (symbols + 1, escape included)")
        cols = np.arange(cdfs.shape[1])
        live = cols[None, 1:] < lengths[:, None]
        steps = np.diff(cdfs.astype(np.int64), axis=1)
        last = cdfs[np.arange(len(lengths)), lengths - 1]
        if np.any(cdfs[:, 0] != 0) or np.any(last != 1 << PRECISION) or np.any(steps[live] < 1):
            raise CodecError("SymbolTables: every CDF must rise from 0 to 2**16 in steps of at least 1")
        for name, value in (("cdfs", cdfs), ("lengths", lengths), ("offsets", offsets)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def from_pmfs(cls, pmfs, offsets, tail=None) -> "SymbolTables":
        """Quantize probability rows (``T x K``, any non-negative weights) to tables of
        K symbols plus an escape whose probability is ``tail`` (default: what the
        row leaves below 1, at least the smallest frequency).  Deterministic for
        given float64 inputs; build tables once (as CompressAI's ``update()``) and
        ship the integers when the inputs come from a network."""
        p = np.asarray(pmfs, np.float64)
        if p.ndim != 2 or p.shape[1] < 1 or not np.all(np.isfinite(p)) or np.any(p < 0):
            raise CodecError("from_pmfs needs a T x K array of finite, non-negative probabilities")
        t, k = p.shape
        rest = np.clip(1.0 - p.sum(axis=1), 0.0, 1.0) if tail is None else np.broadcast_to(
            np.asarray(tail, np.float64), (t,))
        full = np.concatenate([p, rest[:, None]], axis=1)
        full /= np.maximum(full.sum(axis=1, keepdims=True), 1e-300)
        budget = (1 << PRECISION) - (k + 1)  # one count each is given away first
        freq = 1 + np.floor(full * budget).astype(np.int64)
        short = (1 << PRECISION) - freq.sum(axis=1)
        freq[np.arange(t), np.argmax(full, axis=1)] += short  # the most likely symbol takes the rest
        cdfs = np.zeros((t, k + 2), np.int64)
        np.cumsum(freq, axis=1, out=cdfs[:, 1:])
        return cls(cdfs.astype(np.int32), np.full(t, k + 2, np.int32), np.asarray(offsets, np.int32))


class EntropyModel:
    """A probability model for the integer planes a stage produces.

    A stage offers one from :meth:`Stage.entropy_model`; an entropy stage with
    ``needs_model = True`` (``rans``) codes with it, adaptive ones (``arith``)
    ignore it.  :meth:`tables` is called by the coder on both sides *before* the
    main stream is coded or decoded, so a model may depend on side information:
    the offering stage writes it in its ``encode`` with ``ctx.emit(index, bytes)``
    (a hyper-latent stream, per-band scales...) and the model reads it back with
    ``ctx.take(index)``, decoding it first; ``ctx.scratch`` keeps what it decoded
    for the stage's own ``decode``.
    """

    def tables(self, layout, ctx) -> tuple[SymbolTables, list[np.ndarray]]:
        """The tables, and for each plane of ``layout`` the table index of every
        coefficient (int32, the plane's band-major order, ``layout[i].size`` long)."""
        raise NotImplementedError
