"""The contexts of ``ctxrans`` (see its docstring and docs/FORMAT.md): which cell of
the model codes each coefficient, from the bands already coded.  Also what training
(:mod:`.train_entropy`, :mod:`.joint_net`) counts and learns by."""

from __future__ import annotations

import numpy as np

__all__ = ["CELLS", "CLASSES", "EDGES", "band_contexts", "second_cells", "coded_cells", "checker", "map_axis"]

EDGES = np.array([1, 2, 4, 8, 16, 32, 64], np.int64)  # bin(v) = how many edges are <= v: 0..7
CELLS = 512  # 8 x 8 x 8 bins per pass
CLASSES = 96  # band context 0..47, plus 48 in chroma planes

_BINS = np.searchsorted(EDGES, np.arange(EDGES[-1] + 1), side="right").astype(np.int32)


def _bin(v: np.ndarray) -> np.ndarray:
    return _BINS[np.minimum(v, EDGES[-1])]


def _box(a: np.ndarray) -> np.ndarray:
    """3x3 sums (zero outside) of an int32 array of |q| (< 2**24, so the sums fit)."""
    p = np.pad(a, 1)
    h, w = a.shape
    rows = p[:-2] + p[1:-1] + p[2:]
    return rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]


def map_axis(n: int, s: int, m: int) -> np.ndarray:
    """Where each of ``n`` positions of a band reads a reference of size ``m`` along one
    axis: -1 halves, 0 keeps, 1 doubles, 2 scales by the sizes; clipped to ``m``."""
    i = np.arange(n)
    i = i >> 1 if s == -1 else (i << 1 if s == 1 else ((i * m) // n if s == 2 else i))
    return np.minimum(i, m - 1)


def _map(a: np.ndarray, h: int, w: int, sy: int, sx: int) -> np.ndarray:
    """``a`` read at the positions of an ``h x w`` band (see :func:`map_axis`)."""
    if a.size == 0:
        return np.zeros((h, w), np.int32)
    return a[np.ix_(map_axis(h, sy, a.shape[0]), map_axis(w, sx, a.shape[1]))]


def band_contexts(band, pi, layout, got):
    """``(class, first-pass cells, second-pass references)`` of ``band`` of plane ``pi``
    from the bands already coded (``got``: (plane, key) -> int array, predicted bands
    left out).  The second pass's cells need the decoded anchors: :func:`second_cells`."""
    h, w = band.shape

    def box(key):
        return _box(np.abs(got[key]).astype(np.int32))

    par = np.zeros((h, w), np.int32)
    for r in band.parents:
        if r is not None and (pi, r[0]) in got:
            par += _map(box((pi, r[0])), h, w, r[1], r[2])
    sib = np.zeros((h, w), np.int32)
    if band.sibling is not None and (pi, band.sibling[0]) in got:
        r = band.sibling
        sib = _map(box((pi, r[0])), h, w, r[1], r[2])
    lum = np.zeros((h, w), np.int32)
    if band.luma and pi > 0 and layout[pi].role == "chroma" and (0, band.key) in got:
        lum = _map(box((0, band.key)), h, w, 2, 2)
    cls = band.context + 48 * (layout[pi].role == "chroma")
    first = _bin(par) * 64 + _bin(sib) * 8 + _bin(lum)
    return cls, first, _bin(par) * 8 + _bin(sib + lum)


def second_cells(anchors_abs: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Second-pass cells: the anchors' 4-neighbour |q| sum (``anchors_abs`` holds |q| at
    anchors, 0 elsewhere) with the first references' bins."""
    p = np.pad(anchors_abs.astype(np.int32), 1)
    nb = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    return _bin(nb) * 64 + rest


def coded_cells(band, pi, layout, got, v):
    """What the encoder (and training) knows of band ``v``: ``(class, anchor mask,
    first-pass cells of the anchors, second-pass cells of the others)``."""
    cls, first, rest = band_contexts(band, pi, layout, got)
    anchor = checker(band.shape)
    second = second_cells(np.where(anchor, np.abs(v), 0), rest)
    return cls, anchor, first[anchor], second[~anchor]


def checker(shape):
    yy, xx = np.indices(shape)
    return (yy + xx) % 2 == 0
