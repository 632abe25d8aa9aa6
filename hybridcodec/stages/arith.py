"""Entropy stage: context-adaptive binary range coding of quantized coefficients."""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np

from .._errors import CodecError, TruncatedError
from .._registry import register_stage
from .._bands import bands_needed, check_coded, coding_order, flatten, plane_starts, unflatten
from .._stage import Stage
from ..entropy import coefficients as cm
from ..entropy.rdoq import rdoq

__all__ = ["Arith"]

_ROLE_CLASSES = cm.N_CLASSES // 2  # classes 0..47 luma, 48..95 chroma
_ERRORS = {cm.ERR_TRUNCATED: "the bitstream ends early", cm.ERR_RANGE: "a value out of range"}


@register_stage
class Arith(Stage):
    """Context-adaptive arithmetic coding of the integer coefficients of any transform
    that describes its output as bands (:class:`~hybridcodec.Band`).

    Bands go in their coding order, coarse to fine, so a reduced-size decode reads
    only a prefix of the stream.  Each band's contexts come from its ``context``
    class, its neighbours and its references (parents, sibling, the luma band); see
    :mod:`hybridcodec.entropy.coefficients`.  An entropy model offered by the stage
    before is ignored: ``arith`` adapts on its own.
    """

    name = "arith"
    kind = "entropy"
    uses_soft = True  # a quantizer's soft values: rate-distortion optimised indexes (encoder only)
    format_version = 2  # version 2: luma and chroma in two streams (version 1, and any file without chroma: one)
    doc = "context-adaptive binary range coding of coefficients (neighbours + parents)"

    def layout(self, planes):
        check_coded(planes, "arith", "put a quantizer (deadzone, jpegq) or a reversible transform before it")
        return planes

    @staticmethod
    @lru_cache(maxsize=32)
    def _plan(layout):
        """Band table in coding order (see :mod:`hybridcodec.entropy.coefficients`) and
        the coding order itself."""
        starts = plane_starts(layout)
        order = coding_order(layout)
        table = np.full((len(order), cm.ROW), -1, dtype=np.int64)
        index, shapes = {}, {}
        for i, (pi, _, b) in enumerate(order):
            role = _ROLE_CLASSES * (layout[pi].role == "chroma")
            h, w = b.shape
            table[i, :5] = (int(starts[pi]) + b.offset, h, w, b.context + role, int(b.predict))
            refs = [_NONE if r is None else (index[(pi, r[0])], r[1], r[2]) for r in (b.parents + (None, None))[:2]]
            refs.append(_NONE if b.sibling is None else (index[(pi, b.sibling[0])], *b.sibling[1:]))
            luma = index.get((0, b.key))
            if b.luma and pi > 0 and layout[pi].role == "chroma" and luma is not None:
                lh, lw = shapes[luma]
                refs.append((luma, _scale(h, lh), _scale(w, lw)))
            for k, ref in enumerate(refs):
                table[i, 5 + 3 * k : 8 + 3 * k] = ref
            index[(pi, b.key)] = i
            shapes[i] = (h, w)
        table.setflags(write=False)
        return table, order

    def encode(self, planes, layout, ctx) -> bytes:
        rows, order = self._plan(layout)
        coef = flatten(planes, layout)
        if ctx.soft is not None:  # the quantizer's soft values: decide the indexes with our rates
            soft_planes, shift, fine = ctx.soft
            coef = np.ascontiguousarray(coef, np.int32)
            rdoq(coef, rows, [soft_planes[pi] and not b.predict for pi, _, b in order], shift, fine=fine)
        try:
            streams = cm.encode_streams(coef, rows, split=ctx.version >= 2)
        except ValueError as exc:
            raise CodecError(f"arith: {exc}") from None
        if len(streams) == 1:  # the same as in version 1
            return streams[0]
        ctx.needs_version = max(ctx.needs_version, 2)
        return struct.pack(">I", len(streams[0])) + streams[0] + streams[1]

    @staticmethod
    def _streams(payload, rows, ctx) -> list[bytes]:
        """The payload's streams: in version 2, when the planes have luma and chroma
        classes, a 4-byte length, the luma stream and the chroma stream."""
        if ctx.version < 2 or len(cm.streams(rows)) < 2:
            return [payload]
        if len(payload) < 4:
            if not ctx.allow_truncated:
                raise TruncatedError("corrupt data: the arithmetic-coded payload ends inside its stream table")
            ctx.truncated = True
            return [b"", b""]
        (n,) = struct.unpack_from(">I", payload)
        if 4 + n > len(payload) and not ctx.allow_truncated:
            raise TruncatedError(f"corrupt data: the luma stream's {n} bytes run past the payload's end")
        view = memoryview(payload)  # slices without copies of the streams
        return [view[4 : 4 + n], view[4 + n :]]

    def decode(self, payload, layout, ctx):
        rows, order = self._plan(layout)
        n = int(plane_starts(layout)[-1])
        if len(payload) * 8 * 2048 < n and not ctx.allow_truncated:  # zeros cost > 1/2048 bit each
            raise CodecError(f"corrupt data: {len(payload)} bytes cannot hold {n} coefficients")
        n_bands = bands_needed(order, ctx.reduce_levels) if ctx.reduce > 1 else len(rows)
        flat, status = cm.decode_streams(self._streams(payload, rows, ctx), rows, n, n_bands)
        ctx.truncated |= status == cm.ERR_TRUNCATED
        if status != cm.OK and not (ctx.allow_truncated and status == cm.ERR_TRUNCATED):
            raise (TruncatedError if status == cm.ERR_TRUNCATED else CodecError)(f"corrupt data: the arithmetic-coded stream has {_ERRORS[status]}")
        return unflatten(flat, layout)


_NONE = (-1, 0, 0)


def _scale(small: int, large: int) -> int:
    """Coordinate map code from a band of size ``small`` to one of size ``large``."""
    return 1 if large >= 2 * small - 1 and large > small else (-1 if 2 * large <= small + 1 and large < small else 0)
