"""The trained ``ctxrans`` model and its file: the integer tables and the
(class, pass, context cell) -> table map, in a ``.npz`` of numpy arrays only (read
without pickle)."""

from __future__ import annotations

import io
import math

import numpy as np

from hybridcodec import SymbolTables
from hybridcodec.plugin import rans, write_atomic

from .contexts import CELLS, CLASSES

__all__ = ["Model", "read", "pack", "write", "FORMAT"]

FORMAT = "hybridcodec-ctxrans/1"


class Model:
    """A trained context model: integer tables and the (class, pass, cell) -> table map."""

    def __init__(self, tables: SymbolTables, index: np.ndarray):
        self.tables, self.index = tables, index
        # the fewest bits any symbol can cost (its table's most probable symbol): a stream
        # of n symbols holds at least n times this, less the coder's final state
        steps = [int(np.diff(c[:n]).max()) for c, n in zip(tables.cdfs, tables.lengths)]
        self.min_bits = -math.log2(max(steps) / 2.0**rans.PRECISION)


def read(path) -> Model:
    with np.load(path, allow_pickle=False) as z:
        if str(z["format"]) != FORMAT:
            raise ValueError(f"format {z['format']!s}, expected {FORMAT}")
        tables = SymbolTables(z["cdfs"], z["lengths"], z["offsets"])
        index = np.ascontiguousarray(z["index"], np.int32)
    if index.shape != (CLASSES, 2, CELLS) or index.min() < 0 or index.max() >= len(tables.lengths):
        raise ValueError("bad context map")
    index.setflags(write=False)
    return Model(tables, index)


def pack(model: tuple) -> bytes:
    """A model file's bytes from ``(tables, index)``."""
    tables, index = model
    buf = io.BytesIO()
    np.savez_compressed(buf, format=np.array(FORMAT), cdfs=tables.cdfs, lengths=tables.lengths,
                        offsets=tables.offsets, index=np.asarray(index, np.uint8))
    return buf.getvalue()


def write(path, data: bytes) -> None:
    write_atomic(path, data)
