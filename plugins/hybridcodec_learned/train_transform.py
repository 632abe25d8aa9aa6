"""``hybridcodec train transform``: CPU training of the learned transforms (``learned``,
``dcnn``) with a rate-distortion loss at a random quantizer step per crop, so that one
set of weights serves every quality.

Random crops of the training photos (flipped at random) are drawn from images held in
memory; a fixed seed and thread count make a run repeat bit for bit (the record keeps
a fingerprint of the weights every 500 steps to check a rerun against).  A checkpoint
is written every few minutes and ``--resume`` continues from it; snapshots of the
weights at the times in ``SNAPSHOT_MINUTES`` let the RD-versus-training-time curve be
measured with the real codec afterwards (``benchmarks/rd_hours.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hybridcodec import CodecError
from hybridcodec._files import write_atomic

from . import transform_models as models
from .train import _save, check_target, checkpoint, fingerprint, machine, torch_threads, training_files_and_target

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
    ckpt, snaps = target.with_suffix(".ckpt"), target.parent / (target.stem + "-snapshots")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    crops = _Crops(files, spec.crop, rng)
    net = spec.build()
    spec.init(net, crops.batch(32))
    net.to(device)  # before the optimizer, so that a resumed optimizer state lands on the device too
    opt = torch.optim.Adam(spec.groups(net))
    peaks = [g["lr"] for g in opt.param_groups]
    step, spent, prints, history = 0, 0.0, {}, []
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)  # our own checkpoint
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step, spent, prints = state["step"], state["seconds"], state["fingerprints"]
        history = state.get("history", [])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        say(f"resuming at step {step} ({spent / 60:.1f} min trained)")
    budget = hours * 3600 if hours else float("inf")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, initial=step, unit="step", desc=f"train {target.name}", dynamic_ncols=True)
    start, last_ckpt, avg = time.perf_counter() - spent, time.perf_counter(), None
    done_snaps = {m for m in SNAPSHOT_MINUTES if m * 60 <= spent}
    net.train()
    while step < steps and time.perf_counter() - start < budget:
        ramp = min(1.0, (step + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group, peak in zip(opt.param_groups, peaks):
            group["lr"] = peak * ramp
        x = crops.batch(spec.batch).to(device)
        log2_step = spec.steps(torch.rand(len(x))).to(device)
        loss, bpp, psnr = spec.loss(net, x, log2_step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        now = np.array([loss.item(), bpp, psnr])
        avg = now if avg is None else 0.99 * avg + 0.01 * now
        if step % 500 == 0:
            prints[str(step)] = fingerprint(net)
            history.append([step, round(time.perf_counter() - start, 1), *np.round(avg, 4).tolist()])
        if bar is not None:
            bar.update()
            bar.set_postfix(loss=f"{avg[0]:.3f}", bpp=f"{avg[1]:.3f}", psnr=f"{avg[2]:.2f}")
        elapsed = time.perf_counter() - start
        for m in SNAPSHOT_MINUTES:
            if m not in done_snaps and elapsed >= m * 60:
                snaps.mkdir(exist_ok=True)
                _save(snaps / f"{target.stem}-{m}min.pt", spec.export(net))
                done_snaps.add(m)
        if time.perf_counter() - last_ckpt > 300:
            checkpoint(ckpt, net, opt, step, elapsed, rng, prints, history=history)
            last_ckpt = time.perf_counter()
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    checkpoint(ckpt, net, opt, step, seconds, rng, prints, history=history)
    net.to("cpu")
    _save(target, spec.export(net))
    if extra is not None:
        write_atomic(extra, spec.companion(net))
    record = {
        "file": target.name,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "command": "hybridcodec train transform " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        if sys.argv[1:3] == ["train", "transform"] else None,
        "model": spec.name, "steps": step, "planned_steps": steps, "seed": seed, "batch": spec.batch,
        "crop": spec.crop, "learning_rates": peaks, "training_seconds": round(seconds, 1),
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "machine": machine(),
        "fingerprints": prints, "history (step, seconds, loss, bpp, psnr; running means)": history,
    }
    if extra is not None:  # each file has its record, and each names the other
        own = {"file": extra.name, "sha256": hashlib.sha256(extra.read_bytes()).hexdigest()}
        other = {k: record[k] for k in ("command", "steps", "seed", "training_seconds", "device", "machine")}
        other = {**own, "trained_with": {"file": target.name, "sha256": record["sha256"]}, **other}
        write_atomic(extra.with_suffix(".json"), (json.dumps(other, indent=1) + "\n").encode())
        record["trained_with"] = own
    write_atomic(target.with_suffix(".json"), (json.dumps(record, indent=1) + "\n").encode())
    say(f"wrote {target} after {step} steps, {seconds / 60:.1f} min")
    return target

