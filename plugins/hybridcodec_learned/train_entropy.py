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

import hashlib
import io
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from hybridcodec import CodecError, SymbolTables
from hybridcodec._files import write_atomic
from hybridcodec._pipeline import Pipeline

from . import ctxrans as cr

__all__ = ["train_entropy", "laplace_tables", "table_scales", "model_bytes", "count_contexts", "fit", "QUALITIES"]

QUALITIES = (3, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
VMAX = 256  # |q| counted up to this (larger values in the last bin)
PRIOR = 8.0
RMAX = 1023  # widest table: +-1023, beyond it the escape


def table_scales(n: int = 64, low: float = 0.03, high: float = 512.0) -> np.ndarray:
    """The Laplace scales (in quantizer steps) of :func:`laplace_tables`, log-spaced."""
    return np.exp(np.linspace(math.log(low), math.log(high), n))


def laplace_tables(n: int = 64, low: float = 0.03, high: float = 512.0) -> SymbolTables:
    """Discretized zero-mean Laplace tables at ``n`` log-spaced scales."""
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


def _quantized(pipe: Pipeline, arr: np.ndarray, quality: float):
    """The quantized planes and their layout: the forward stages only (as encode_planes)."""
    h, w, c = arr.shape
    layouts = pipe.layouts(h, w, c)
    ctx = pipe.context(w, h, c, quality, bits=8)
    planes = pipe.forward[0].encode_samples(arr, layouts[0], ctx)
    for stage, layout in zip(pipe.forward[1:], layouts[1:]):
        planes = stage.encode(planes, layout, ctx)
    return planes, layouts[-1]


def count_contexts(planes, layout) -> np.ndarray:
    """Flat keys ``((class * 2 + pass) * CELLS + cell) * VMAX + min(|q|, VMAX - 1)`` of
    every coefficient outside predicted bands, in the stage's own contexts."""
    from hybridcodec._bands import coding_order, flatten, plane_starts

    flat, starts = flatten(planes, layout, np.int64), plane_starts(layout)
    got, keys = {}, []
    for pi, _, b in coding_order(layout):
        if b.predict:
            continue
        v = flat[starts[pi] + b.offset : starts[pi] + b.offset + b.size].reshape(b.shape)
        cls, anchor, first, second = cr.coded_cells(b, pi, layout, got, v)
        a = np.minimum(np.abs(v), VMAX - 1)
        keys.append(((cls * 2) * cr.CELLS + first) * VMAX + a[anchor])
        keys.append(((cls * 2 + 1) * cr.CELLS + second) * VMAX + a[~anchor])
        got[(pi, b.key)] = v
    return np.concatenate(keys + [np.zeros(0, np.int64)])


def fit(counts: np.ndarray, tables: SymbolTables) -> tuple[np.ndarray, float]:
    """(class, pass, cell) -> table index, and the bits per coefficient it gives on ``counts``."""
    cost = cr._costs(tables, VMAX).T  # VMAX x T
    h = counts.reshape(cr.CLASSES * 2, cr.CELLS, VMAX).astype(np.float64)
    group = h.sum(axis=1, keepdims=True)
    total = group.sum(axis=0, keepdims=True)
    group = np.where(group.sum(axis=2, keepdims=True) > 0, group, total)  # unseen classes: everything
    prior = group / np.maximum(group.sum(axis=2, keepdims=True), 1) * PRIOR
    index = np.argmin((h + prior) @ cost, axis=2).astype(np.uint8)
    bits = np.take_along_axis(h @ cost, index[..., None].astype(np.int64), axis=2).sum()
    return index.reshape(cr.CLASSES, 2, cr.CELLS), float(bits / max(h.sum(), 1))


def model_bytes(tables: SymbolTables, index: np.ndarray) -> bytes:
    """A ``ctxrans.npz``: the integer tables and the (class, pass, cell) -> table map."""
    buf = io.BytesIO()
    np.savez_compressed(buf, format=np.array(cr.FORMAT), cdfs=tables.cdfs, lengths=tables.lengths,
                        offsets=tables.offsets, index=np.asarray(index, np.uint8))
    return buf.getvalue()


def train_entropy(data: str, transform: str = "dwt", out: str | None = None, force: bool = False,
                  replace_shipped: bool = False, limit: int | None = None, say=print) -> Path:
    """Fit the context model on the photos under ``data`` and write it (and a ``.json`` record)."""
    from .train import training_files_and_target

    if transform not in ("dwt", "lifting", "lifting-joint"):
        raise CodecError(f"train entropy takes --transform dwt, lifting or lifting-joint, not {transform!r}")
    if limit is not None and (int(limit) != limit or limit < 1):
        raise CodecError("--limit must be a whole number of at least 1")
    files, target = training_files_and_target(data, out, "ctxrans.npz", False, force, replace_shipped)
    files = files[:limit] if limit else files
    pipe = Pipeline(f"ycbcr(subsampling=444)|{transform}|deadzone|arith")
    start = time.perf_counter()
    counts = np.zeros(cr.CLASSES * 2 * cr.CELLS * VMAX, np.int64)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as exc:  # a broken photo: say which, write nothing
            raise CodecError(f"cannot read training photo {f}: {exc}") from None
        keys = np.concatenate([count_contexts(*_quantized(pipe, arr, q)) for q in QUALITIES])
        counts += np.bincount(keys, minlength=len(counts))
        if (i + 1) % 20 == 0:
            say(f"counted {i + 1}/{len(files)} photos ({time.perf_counter() - start:.0f} s)")
    tables = laplace_tables()
    index, bits = fit(counts, tables)
    write_atomic(target, model_bytes(tables, index))
    seconds = time.perf_counter() - start
    record = {
        "file": target.name, "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "command": "hybridcodec train entropy " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        if sys.argv[1:3] == ["train", "entropy"] else None,
        "transform": transform, "photos": len(files), "qualities": list(QUALITIES),
        "coefficients": int(counts.sum()), "training_bits_per_coefficient": round(bits, 5),
        "training_seconds": round(seconds, 1), "device": "cpu (numpy; no torch)",
    }
    write_atomic(target.with_suffix(".json"), (json.dumps(record, indent=1) + "\n").encode())
    say(f"wrote {target}: {len(files)} photos, {bits:.4f} bits per coefficient on them, {seconds:.0f} s")
    return target
