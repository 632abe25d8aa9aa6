"""Entropy stage: context-adaptive binary range coding of quantized coefficients."""

from __future__ import annotations

import numpy as np

from .._errors import CodecError
from .._registry import register_stage
from .._stage import Stage
from ..entropy import coefficients as cm
from ..entropy.rle import zigzag_order

__all__ = ["Arith"]

_ROLE_CLASSES = cm.N_CLASSES // 2  # classes 0..47 luma, 48..95 chroma
_DCT_AC0 = 17  # classes 1..16: wavelet detail bands; 17..31: DCT frequency groups
_ERRORS = {cm.ERR_TRUNCATED: "the bitstream ends early", cm.ERR_RANGE: "a value out of range"}


@register_stage
class Arith(Stage):
    """Context-adaptive arithmetic coding after ``dwt``/``int53`` (wavelet subbands) or
    after ``dct`` (each frequency of a plane's blocks coded as one band).

    Bands go coarse to fine (wavelet levels; DCT frequencies in zigzag order), all
    planes at one level before the next, so a reduced-size decode reads only a prefix
    of the stream.  See :mod:`hybridcodec.entropy.coefficients` for the contexts.
    """

    name = "arith"
    kind = "entropy"
    doc = "context-adaptive binary range coding of coefficients (neighbours + parents)"

    def layout(self, planes):
        for p in planes:
            if not p.integer or p.form not in ("subbands", "blocks"):
                raise CodecError("arith codes integer wavelet subbands or quantized DCT blocks; "
                                 "use it after dwt/int53 or after dct and a quantizer")
        if len({p.form for p in planes}) > 1:
            raise CodecError("arith needs every plane in the same form")
        return planes

    # -- band plans -------------------------------------------------------------
    @staticmethod
    def _plan(layout):
        """Band table in coding order (see :mod:`hybridcodec.entropy.coefficients`), each
        plane's offset in the flat buffer, and how many leading bands each reduce level needs."""
        starts = np.concatenate([[0], np.cumsum([p.size for p in layout])]).astype(np.int64)
        if layout[0].form == "subbands":
            rows, need = _wavelet_rows(layout, starts)
        else:
            rows, need = _dct_rows(layout, starts)
        table = np.full((len(rows), cm.ROW), -1, dtype=np.int64)
        for i, (head, refs) in enumerate(rows):
            table[i, :5] = head
            for k, ref in enumerate(refs[:4]):
                table[i, 5 + 3 * k : 8 + 3 * k] = ref
        return table, starts, need

    @staticmethod
    def _flatten(planes, layout):
        if layout[0].form == "subbands":
            return np.concatenate([np.asarray(p, np.int32).ravel() for p in planes])
        return np.concatenate([np.asarray(p, np.int32).transpose(2, 3, 0, 1).ravel() for p in planes])

    def encode(self, planes, layout, ctx) -> bytes:
        rows, _, _ = self._plan(layout)
        try:
            return cm.encode_bands(self._flatten(planes, layout), rows)
        except ValueError as exc:
            raise CodecError(f"arith: {exc}") from None

    def decode(self, payload, layout, ctx):
        rows, starts, need = self._plan(layout)
        n = int(starts[-1])
        if len(payload) * 8 * 2048 < n and not ctx.allow_truncated:  # zeros cost > 1/2048 bit each
            raise CodecError(f"corrupt data: {len(payload)} bytes cannot hold {n} coefficients")
        n_bands = need[min(ctx.reduce_levels, 3)] if ctx.reduce > 1 else len(rows)
        flat, status = cm.decode_bands(payload, rows, n, n_bands)
        if status != cm.OK and not (ctx.allow_truncated and status == cm.ERR_TRUNCATED):
            raise CodecError(f"corrupt data: the arithmetic-coded stream has {_ERRORS[status]}")
        out = []
        for s, e, p in zip(starts, starts[1:], layout):
            part = flat[s:e]
            if p.form == "subbands" and ctx.reduce > 1:  # only the coarse bands were decoded
                keep = 1 + 3 * max(0, p.get("levels") - ctx.reduce_levels)
                part = part[: sum(sh[0] * sh[1] for _, _, sh in p.get("bands")[:keep])]
            if p.form == "blocks":
                nby, nbx, b, _ = p.shape
                part = part.reshape(b, b, nby, nbx).transpose(2, 3, 0, 1)
            out.append(part)
        return out


def _scale(small: int, large: int) -> int:
    """Coordinate map code from a band of size ``small`` to one of size ``large``."""
    return 1 if large >= 2 * small - 1 and large > small else (-1 if 2 * large <= small + 1 and large < small else 0)


def _wavelet_rows(layout, starts):
    """Rows for wavelet planes: every plane's LL, then level by level from the coarsest
    (planes may have different depths), HL, LH, HH of each plane."""
    per_plane = []
    for pi, p in enumerate(layout):
        bands, off = {}, int(starts[pi])
        for level, orient, shape in p.get("bands"):
            bands[(level, orient)] = (tuple(shape), off)
            off += shape[0] * shape[1]
        per_plane.append(bands)
    top = max(p.get("levels") for p in layout)
    order = [(pi, (p.get("levels"), "LL")) for pi, p in enumerate(layout)]
    for level in range(top, 0, -1):
        order += [(pi, (level, o)) for pi in range(len(layout)) for o in ("HL", "LH", "HH")
                  if (level, o) in per_plane[pi]]
    rows, index = [], {}
    for pi, key in order:
        (shape, off), (level, orient) = per_plane[pi][key], key
        role = _ROLE_CLASSES * (layout[pi].role == "chroma")
        index[(pi, key)] = len(rows)
        if orient == "LL":
            rows.append(((off, shape[0], shape[1], role, 1), []))
            continue
        parent = index.get((pi, (level + 1, orient)))
        sib = {"HL": None, "LH": "HL", "HH": "HL"}[orient]
        refs = [(parent, -1, -1) if parent is not None else (-1, 0, 0), (-1, 0, 0),
                (index[(pi, (level, sib))], 0, 0) if sib else (-1, 0, 0)]
        luma = index.get((0, key))
        if pi > 0 and layout[pi].role == "chroma" and luma is not None:
            lshape = per_plane[0][key][0]
            refs.append((luma, _scale(shape[0], lshape[0]), _scale(shape[1], lshape[1])))
        cls = 1 + 2 * min(level - 1, 7) + (orient == "HH")
        rows.append(((off, shape[0], shape[1], cls + role, 0), refs))
    need = {r: sum(1 for _, (level, o) in order if o == "LL" or level > r) for r in range(4)}
    return rows, need


def _dct_rows(layout, starts):
    b = layout[0].shape[-1]
    zz = zigzag_order(b)
    rows, index = [], {}
    for f, nat in enumerate(zz):
        u, v = divmod(int(nat), b)
        for pi, p in enumerate(layout):
            nby, nbx = p.shape[:2]
            role = _ROLE_CLASSES * (p.role == "chroma")
            off = int(starts[pi]) + int(nat) * nby * nbx
            index[(pi, u, v)] = len(rows)
            if f == 0:
                rows.append(((off, nby, nbx, role, 1), []))
                continue
            refs = [(index[(pi, u - 1, v)], 0, 0) if u > 1 or (u == 1 and v > 0) else (-1, 0, 0),
                    (index[(pi, u, v - 1)], 0, 0) if v > 1 or (v == 1 and u > 0) else (-1, 0, 0),
                    (-1, 0, 0)]
            if pi > 0 and p.role == "chroma":
                ly, lx = layout[0].shape[:2]
                refs.append((index[(0, u, v)], _scale(nby, ly), _scale(nbx, lx)))
            g = min((u + v) * 8 // b, 14)
            rows.append(((off, nby, nbx, _DCT_AC0 + g + role, 0), refs))
    pos = {int(nat): f for f, nat in enumerate(zz)}
    need = {}
    for r in range(4):
        m = max(1, b >> r)
        need[r] = len(layout) * (1 + max(pos[u * b + v] for u in range(m) for v in range(m)))
    return rows, need
