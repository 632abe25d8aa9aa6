"""Reading any transform's band list: coding order, reduced decodes, validation.

Shared by the stages that work on any transform (``deadzone``, ``arith``, ``rans``);
none of them names a transform or a form.
"""

from __future__ import annotations

import numpy as np

from ._errors import CodecError
from ._stage import Band, PlaneInfo

__all__ = ["check_coded", "check_bands", "coding_order", "plane_starts", "bands_needed", "flatten", "unflatten"]


def check_coded(layout: tuple[PlaneInfo, ...], who: str, hint: str) -> None:
    """What an entropy stage needs: integer coefficients with a valid band list."""
    if not all(p.integer for p in layout):
        raise CodecError(f"{who} codes integer coefficients; {hint}")
    check_bands(layout, who)


def check_bands(layout: tuple[PlaneInfo, ...], who: str) -> None:
    """Raise CodecError unless every plane has a band list that tiles its flat vector
    and whose references name bands coded earlier in the same plane."""
    for pi, p in enumerate(layout):
        if not p.bands:
            raise CodecError(f"{who} needs transform coefficients described by bands; put a transform "
                             f"stage (dwt, dct, ...) before it")
        spans = sorted((b.offset, b.size) for b in p.bands)
        end = 0
        for off, size in spans:
            if off != end:
                raise CodecError(f"{who}: the bands of plane {pi} do not tile its coefficients")
            end += size
        if end != p.size:
            raise CodecError(f"{who}: the bands of plane {pi} hold {end} coefficients, the plane {p.size}")
        if len({b.key for b in p.bands}) != len(p.bands):
            raise CodecError(f"{who}: plane {pi} has two bands with one key")
    seen: set = set()
    for pi, _, b in coding_order(layout):
        for ref in tuple(r for r in b.parents if r is not None) + ((b.sibling,) if b.sibling else ()):
            if (pi, ref[0]) not in seen:
                raise CodecError(f"{who}: band {b.key!r} refers to {ref[0]!r}, which is not coded before it")
        if not 0 <= b.context < 48:
            raise CodecError(f"{who}: band {b.key!r} has context {b.context}; contexts are 0..47")
        seen.add((pi, b.key))


def coding_order(layout: tuple[PlaneInfo, ...]) -> list[tuple[int, int, Band]]:
    """``(plane, position, band)`` of every band, sorted by ``(order, plane, position)``."""
    items = [(b.order, pi, bi, b) for pi, p in enumerate(layout) for bi, b in enumerate(p.bands)]
    items.sort(key=lambda t: t[:3])
    return [(pi, bi, b) for _, pi, bi, b in items]


def plane_starts(layout: tuple[PlaneInfo, ...]) -> np.ndarray:
    """Offset of each plane in the planes' concatenated flat vectors, and the total."""
    return np.concatenate([[0], np.cumsum([p.size for p in layout])]).astype(np.int64)


def bands_needed(order: list[tuple[int, int, Band]], reduce_levels: int) -> int:
    """How many leading bands of ``order`` a decode at ``1 / 2**reduce_levels`` needs."""
    last = -1
    for i, (_, _, b) in enumerate(order):
        if b.reduce > reduce_levels:
            last = i
    return last + 1


def flatten(planes, layout, dtype=np.int32) -> np.ndarray:
    """Every plane's band-major flat vector, concatenated: a view when the planes lie
    one after another in one buffer (as the colour stages and the in-place stages after
    them leave them), else one copy (blocks reordered straight into it: 6 bytes a pixel
    less than flattening each plane and then joining them, at 4:2:0)."""
    views = [info.shaped(np.asarray(p)) for p, info in zip(planes, layout)]
    if views and all(v.dtype == dtype and v.flags.c_contiguous for v in views):
        at = [v.__array_interface__["data"][0] for v in views]
        if all(a + v.nbytes == b for a, v, b in zip(at, views, at[1:])):
            n = sum(v.size for v in views)
            return np.lib.stride_tricks.as_strided(views[0], shape=(n,), strides=(views[0].itemsize,),
                                                   writeable=bool(views[0].flags.writeable))
    starts = plane_starts(layout)
    out = np.empty(int(starts[-1]), dtype)
    for v, s, e in zip(views, starts, starts[1:]):
        if v.size != e - s:
            raise CodecError(f"a plane of {v.size} values where its layout has {e - s}: the stage before the "
                             "entropy stage gave planes its layout does not describe")
        out[s:e].reshape(v.shape)[...] = v
    return out


def unflatten(flat: np.ndarray, layout) -> list[np.ndarray]:
    starts = plane_starts(layout)
    return [info.unflat(flat[s:e]) for s, e, info in zip(starts, starts[1:], layout)]
