"""``hybridcodec train entropy``: fit the ``ctxrans`` context model on training photos.

Each photo is coded by ``ycbcr(subsampling=444)|TRANSFORM|deadzone`` at every quality
of the RD sweep; the quantized coefficients are counted per (class, pass, context
cell, |q|), and each cell gets the Laplace table that codes its counts in the fewest
bits (maximum likelihood over the table family), its counts first blended with its
class's (``PRIOR`` coefficients' worth) so that rare cells lean on their class.
The integer tables are built here, once, and shipped with the map: the decoder never
derives a table from floats.  Deterministic: the same photos give the same file.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image

from hybridcodec import CodecError, Pipeline, SymbolTables
from hybridcodec.plugin import coding_order, encode_forward, flatten, plane_starts

from .. import weights
from ..entropy.contexts import CELLS, CLASSES, coded_cells
from ..entropy.laplace import costs, laplace_tables
from .common import command_line, machine, training_files_and_target, write_record

__all__ = ["train_entropy", "count_contexts", "fit", "QUALITIES"]

QUALITIES = (3, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
VMAX = 256  # |q| counted up to this (larger values in the last bin)
PRIOR = 8.0
def count_contexts(planes, layout) -> np.ndarray:
    """Flat keys ``((class * 2 + pass) * CELLS + cell) * VMAX + min(|q|, VMAX - 1)`` of
    every coefficient outside predicted bands, in the stage's own contexts."""
    flat, starts = flatten(planes, layout, np.int64), plane_starts(layout)
    got, keys = {}, []
    for pi, _, b in coding_order(layout):
        if b.predict:
            continue
        v = flat[starts[pi] + b.offset : starts[pi] + b.offset + b.size].reshape(b.shape)
        cls, anchor, first, second = coded_cells(b, pi, layout, got, v)
        a = np.minimum(np.abs(v), VMAX - 1)
        keys.append(((cls * 2) * CELLS + first) * VMAX + a[anchor])
        keys.append(((cls * 2 + 1) * CELLS + second) * VMAX + a[~anchor])
        got[(pi, b.key)] = v
    return np.concatenate(keys + [np.zeros(0, np.int64)])


def fit(counts: np.ndarray, tables: SymbolTables) -> tuple[np.ndarray, float]:
    """(class, pass, cell) -> table index, and the bits per coefficient it gives on ``counts``."""
    cost = costs(tables, VMAX).T  # VMAX x T
    h = counts.reshape(CLASSES * 2, CELLS, VMAX).astype(np.float64)
    group = h.sum(axis=1, keepdims=True)
    total = group.sum(axis=0, keepdims=True)
    group = np.where(group.sum(axis=2, keepdims=True) > 0, group, total)  # unseen classes: everything
    prior = group / np.maximum(group.sum(axis=2, keepdims=True), 1) * PRIOR
    index = np.argmin((h + prior) @ cost, axis=2).astype(np.uint8)
    bits = np.take_along_axis(h @ cost, index[..., None].astype(np.int64), axis=2).sum()
    return index.reshape(CLASSES, 2, CELLS), float(bits / max(h.sum(), 1))


def train_entropy(data: str, transform: str = "dwt", out: str | None = None, force: bool = False,
                  replace_shipped: bool = False, limit: int | None = None, say=print) -> Path:
    """Fit the context model on the photos under ``data`` and write it (and a ``.json`` record)."""
    from hybridcodec import available_stages

    transforms = [n for n, c in available_stages().items() if c.kind == "transform"]
    if transform not in transforms:
        raise CodecError(f"train entropy takes --transform and a transform stage ({', '.join(transforms)}), "
                         f"not {transform!r}")
    if limit is not None and (int(limit) != limit or limit < 1):
        raise CodecError("--limit must be a whole number of at least 1")
    files, target = training_files_and_target(data, out, "ctxrans.npz", False, force, replace_shipped)
    files = files[:limit] if limit else files
    pipe = Pipeline(f"ycbcr(subsampling=444)|{transform}|deadzone|arith")
    start = time.perf_counter()
    counts = np.zeros(CLASSES * 2 * CELLS * VMAX, np.int64)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as exc:  # a broken photo: say which, write nothing
            raise CodecError(f"cannot read training photo {f}: {exc}") from None
        keys = np.concatenate([count_contexts(*encode_forward(pipe, arr, q)) for q in QUALITIES])
        counts += np.bincount(keys, minlength=len(counts))
        if (i + 1) % 20 == 0:
            say(f"counted {i + 1}/{len(files)} photos ({time.perf_counter() - start:.0f} s)")
    tables = laplace_tables()
    index, bits = fit(counts, tables)
    weights.save("ctxrans", target, weights.FORMATS["ctxrans"].pack((tables, index)))
    seconds = time.perf_counter() - start
    write_record(target, "ctxrans" if transform == "dwt" else f"ctxrans-{transform}", "ctxrans",
                 command=command_line("train", "entropy"), training_seconds=round(seconds, 1),
                 device="cpu (numpy; no torch)", machine=machine(),
                 settings={"transform": transform, "photos": len(files), "qualities": list(QUALITIES),
                           "coefficients": int(counts.sum()), "training_bits_per_coefficient": round(bits, 5)})
    say(f"wrote {target}: {len(files)} photos, {bits:.4f} bits per coefficient on them, {seconds:.0f} s")
    return target
