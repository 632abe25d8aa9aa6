"""``hybridcodec train transform``: CPU training of the learned transforms (``learned``,
``dcnn``) with a rate-distortion loss at a random quantizer step per crop, so that one
set of weights serves every quality.

Random crops of the training photos (flipped at random) are drawn from images held in
memory; a fixed seed and thread count make a run repeat bit for bit (the record keeps
a fingerprint of the weights every 500 steps to check a rerun against).  A checkpoint
is written every few minutes and ``--resume`` continues from it; snapshots of the
weights at the times in ``SNAPSHOT_MINUTES`` let the RD-versus-training-time curve be
measured with the real codec afterwards (``python benchmarks/suite.py hours FILES``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hybridcodec import CodecError

from .. import weights
from . import models
from .common import check_target, command_line, machine, torch_threads, training_files_and_target, write_record
from .loop import Run, cosine

__all__ = ["train_transform", "SNAPSHOT_MINUTES"]

SNAPSHOT_MINUTES = (5, 15, 30, 60, 120, 240)
WARMUP = 200  # steps of linear learning-rate warm-up


class _Crops:
    """Random crops (and flips) of photos held in memory as uint8."""

    def __init__(self, files, crop, rng):
        self.images, self.crop, self.rng = [], crop, rng
        for f in files:
            with Image.open(f) as im:
                a = np.asarray(im.convert("RGB"))
            if min(a.shape[:2]) >= crop:
                self.images.append(a)
        if not self.images:
            raise CodecError(f"no training image is at least {crop}x{crop} pixels")

    def batch(self, n) -> torch.Tensor:
        c, out = self.crop, []
        for _ in range(n):
            im = self.images[int(self.rng.integers(len(self.images)))]
            y = int(self.rng.integers(im.shape[0] - c + 1))
            x = int(self.rng.integers(im.shape[1] - c + 1))
            patch = im[y : y + c, x : x + c]
            if self.rng.integers(2):
                patch = patch[:, ::-1]
            out.append(patch)
        return torch.from_numpy(np.stack(out).transpose(0, 3, 1, 2).astype(np.float32) - 128.0)


def train_transform(model: str, data: str, steps: int, hours: float | None = None, resume: bool = False,
                    out: str | None = None, seed: int = 0, threads: int | None = None,
                    device: str = "cpu", progress: bool = True, say=print, force: bool = False,
                    replace_shipped: bool = False) -> Path:
    """Train ``model`` (``learned`` or ``dcnn``), write its weights (and a ``.json`` record)
    and return their path; see the module's docstring."""
    if model not in models.MODELS:
        raise CodecError(f"train transform takes --model {' or '.join(models.MODELS)}, not {model!r}")
    if int(steps) != steps or steps < 1 or (threads is not None and threads < 1):
        raise CodecError("--steps and --threads must be whole numbers of at least 1")
    if hours is not None and not (hours > 0 and math.isfinite(hours)):
        raise CodecError("--hours must be a positive number")
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise CodecError(f"--device {device}: not available here (cpu, or cuda with a CUDA build of torch)")
    spec = models.MODELS[model]
    files, target = training_files_and_target(data, out, spec.file, resume, force, replace_shipped)
    extra = None
    if spec.companion is not None:  # checked before any work, as the weights are
        extra = target.with_name(spec.companion_name.format(stem=target.stem))
        check_target(extra, resume, force, replace_shipped)
    with torch_threads(threads):
        return _train(spec, files, target, extra, steps, hours, resume, seed, device, progress, say)


def _train(spec, files, target, extra, steps, hours, resume, seed, device, progress, say):
    snaps = target.parent / (target.stem + "-snapshots")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    crops = _Crops(files, spec.crop, rng)
    net = spec.build()
    spec.init(net, crops.batch(32))
    net.to(device)  # before the optimizer, so that a resumed optimizer state lands on the device too
    opt = torch.optim.Adam(spec.groups(net))
    run = Run(net, opt, target, steps, hours, rng, progress, say)
    run.resume(resume)
    done_snaps = {m for m in SNAPSHOT_MINUTES if m * 60 <= run.spent}

    def train_step():
        x = crops.batch(spec.batch).to(device)
        log2_step = spec.steps(torch.rand(len(x))).to(device)
        loss, bpp, psnr = spec.loss(net, x, log2_step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "bpp": bpp, "psnr": psnr}

    def after_step(step, elapsed):
        for m in SNAPSHOT_MINUTES:
            if m not in done_snaps and elapsed >= m * 60:
                snaps.mkdir(exist_ok=True)
                weights.formats.save_torch(snaps / f"{target.stem}-{m}min.pt", spec.export(net))
                done_snaps.add(m)

    run.run(train_step, lambda step: cosine(step, steps, WARMUP), after_step)
    net.to("cpu")
    weights.formats.save_torch(target, spec.export(net))
    trained = dict(command=command_line("train", "transform"), steps=run.step, seed=seed,
                   training_seconds=round(run.seconds, 1),
                   device=device if device == "cpu" else torch.cuda.get_device_name(), machine=machine())
    own = None
    if extra is not None:  # each file has its record, and each names the other
        weights.save("ctxrans", extra, spec.companion(net))
        own = write_record(extra, f"ctxrans-{spec.name}", "ctxrans", trained_with={"file": target.name}, **trained)
    record = write_record(target, spec.name, spec.format, fingerprints=run.prints, history=run.history,
                          trained_with=None if own is None else {"file": own["file"], "sha256": own["sha256"]},
                          settings={"model": spec.name, "planned_steps": steps, "batch": spec.batch, "crop": spec.crop,
                                    "learning_rates": run.peaks,
                                    "history columns": ["step", "seconds", "loss", "bpp", "psnr (running means)"]},
                          **trained)
    if own is not None:  # the companion's record names the weights' sha256 too
        write_record(extra, f"ctxrans-{spec.name}", "ctxrans", trained_with={"file": target.name, "sha256": record["sha256"]},
                     **trained)
    say(f"wrote {target} after {run.step} steps, {run.seconds / 60:.1f} min")
    return target
