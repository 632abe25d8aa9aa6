"""What every trainer shares before and after its loop: the training photos, the output
path checked before any work (never a shipped or existing file by accident), torch's
thread count, the description of the machine, and the record written beside the weights
(the weights layer's one schema)."""

from __future__ import annotations

import shlex
import sys
from contextlib import contextmanager
from pathlib import Path

from hybridcodec import CodecError

from .. import weights

__all__ = ["DEFAULT_OUT", "training_files_and_target", "check_target", "torch_threads", "machine", "command_line",
           "write_record"]

DEFAULT_OUT = "trained-weights"  # training writes here unless told otherwise
_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm"}


def check_target(target: Path, resume: bool, force: bool, replace_shipped: bool) -> None:
    """Refuse, before any work, to replace shipped weights or an existing file by accident."""
    if weights.is_shipped(target) and not replace_shipped:
        raise CodecError(
            f"refusing to write {target}: it is in the shipped weights folder, and every file made with the "
            "current weights would then fail to decode; train into another --out, or pass --replace-shipped "
            "(with --force to replace an existing file) if you mean to replace them")
    if target.exists() and not (resume or force):
        raise CodecError(f"{target} already exists; pass --force to replace it or --resume to continue its training")
    if target.is_dir():
        raise CodecError(f"{target} is a folder; --out takes a file name")


def training_files_and_target(data, out, default_name, resume, force, replace_shipped):
    """The training photos under ``data`` and the checked output path (its folder made)."""
    files = sorted(str(p) for p in Path(data).rglob("*") if p.suffix.lower() in _EXT)
    if not files:
        raise CodecError(f"no training images in {data}")
    target = Path(out) if out else Path(DEFAULT_OUT) / default_name
    check_target(target, resume, force, replace_shipped)
    target.parent.mkdir(parents=True, exist_ok=True)
    return files, target


@contextmanager
def torch_threads(threads):
    """Run with ``threads`` torch threads (None: as is), restoring the count after."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def machine() -> str:
    """What a weight record says of the machine that trained: torch's threads and version,
    and the CPU.  Float training is bit-reproducible on one CPU model, not across them
    (postfilter-lifting.pt's command, rerun on an AMD EPYC, gave other weights)."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        import platform

        cpu = platform.processor() or cpu
    try:
        import torch
    except ImportError:
        return f"numpy only, {cpu}"
    return f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, {cpu}"


def command_line(*words: str) -> str | None:
    """The command that is running, when it is ``hybridcodec WORDS ...`` (else None: a
    call from Python, whose arguments the record lists in its settings)."""
    n = len(words)
    if sys.argv[1 : 1 + n] != list(words):
        return None
    return "hybridcodec " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def write_record(target: Path, artefact: str, format: str, **fields) -> dict:
    """The record beside ``target`` (see :func:`hybridcodec_learned.weights.write_record`)."""
    return weights.write_record(target, artefact, format, **fields)
