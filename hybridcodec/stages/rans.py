"""Entropy stage ``rans``: codes integer planes with the entropy model that the stage
before offers (per-symbol integer CDF tables), by rANS."""

from __future__ import annotations

import numpy as np

from .._bands import bands_needed, check_coded, coding_order, flatten, plane_starts
from .._errors import CodecError, TruncatedError
from .._registry import register_stage
from .._stage import Stage
from ..entropy import rans

__all__ = ["Rans"]

_ERRORS = {rans.ERR_TRUNCATED: "the stream ends early", rans.ERR_RANGE: "a value out of range",
           rans.ERR_CORRUPT: "data that does not end where the coded symbols do"}


@register_stage
class Rans(Stage):
    """rANS coding of a transform's integer coefficients with the probability tables
    of an offered :class:`~hybridcodec.EntropyModel` (no adaptation: the model knows).

    Bands go in their coding order, coarse to fine, so a reduced-size decode stops
    after the bands it needs.  The model is asked for its tables before the stream
    is coded or decoded, so it may first decode side streams of its own.
    """

    name = "rans"
    kind = "entropy"
    needs_model = True
    doc = "rANS with the entropy model offered by the stage before (integer CDF tables)"

    def layout(self, planes):
        check_coded(planes, "rans", "put it after a stage that outputs integers and offers an entropy model")
        return planes

    @staticmethod
    def _plan(layout, ctx):
        """Tables, every coefficient's table index and the coding-order permutation of
        the concatenated band-major planes, with the symbol count each band ends at."""
        if ctx.model is None:
            raise CodecError("rans needs an entropy model from the stage before it")
        tables, indexes = ctx.model.tables(layout, ctx)
        if len(indexes) != len(layout) or any(np.size(i) != p.size for i, p in zip(indexes, layout)):
            raise CodecError("the entropy model gave table indexes that do not match the planes")
        starts = plane_starts(layout)
        order = coding_order(layout)
        firsts = [int(starts[pi] + b.offset) for pi, _, b in order]
        ends = np.cumsum([b.size for _, _, b in order], dtype=np.int64)
        idx = [np.asarray(i, np.int32).ravel() for i in indexes]
        idx = idx[0] if len(idx) == 1 else np.concatenate(idx + [np.zeros(0, np.int32)])
        if firsts == [0, *ends[:-1].tolist()]:  # the bands in coding order are the planes in order:
            return tables, idx, None, order, ends  # no permutation (8 bytes a symbol) and no copies
        perm = np.concatenate([np.arange(b.size, dtype=np.int64) + f for f, (_, _, b) in zip(firsts, order)]
                              + [np.zeros(0, np.int64)])
        return tables, idx[perm], perm, order, ends

    def encode(self, planes, layout, ctx) -> bytes:
        tables, idx, perm, _, _ = self._plan(layout, ctx)
        try:
            flat = flatten(planes, layout)
            return rans.encode(flat if perm is None else flat[perm], idx, tables)
        except ValueError as exc:
            raise CodecError(f"rans: {exc}") from None

    def decode(self, payload, layout, ctx):
        tables, idx, perm, order, ends = self._plan(layout, ctx)
        n = len(idx)
        if ctx.reduce > 1:
            k = bands_needed(order, ctx.reduce_levels)
            n = int(ends[k - 1]) if k else 0
        sym, status = rans.decode(payload, idx, tables, n)
        ctx.truncated |= status == rans.ERR_TRUNCATED
        if status != rans.OK and not (ctx.allow_truncated and status == rans.ERR_TRUNCATED):
            raise (TruncatedError if status == rans.ERR_TRUNCATED else CodecError)(f"corrupt data: the rANS stream has {_ERRORS[status]}")
        if perm is None:
            flat = sym
        else:
            flat = np.zeros(len(idx), np.int32)
            flat[perm] = sym
        starts = plane_starts(layout)
        return [info.unflat(flat[s:e]) for s, e, info in zip(starts, starts[1:], layout)]
