"""The one training loop of the torch trainers (``train postfilter``, ``train transform``):
the step count and time budget, the learning-rate schedule, a fingerprint of the weights
and a history line every ``FINGERPRINT_EVERY`` steps, a checkpoint every few minutes
(and at the end) that ``--resume`` continues from bit for bit, and the progress bar.

A trainer builds its network, optimizer and data, calls :meth:`Run.resume`, then
:meth:`Run.run` with a function that takes one optimizer step; what it draws from its
random generators, and in which order, is its own, so a run repeats exactly.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..weights.formats import save_torch

__all__ = ["Run", "fingerprint", "checkpoint", "cosine", "FINGERPRINT_EVERY", "CHECKPOINT_SECONDS"]

FINGERPRINT_EVERY = 500  # steps between the weight fingerprints (and history lines) kept in the record
CHECKPOINT_SECONDS = 300


def fingerprint(net) -> str:
    """A short hash of the network's weights (to compare runs step by step)."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def checkpoint(path, net, opt, step, seconds, rng, prints, **extra):
    """Everything ``--resume`` needs (weights, optimizer, step, time, both RNGs, the
    fingerprints so far, and any ``extra`` the trainer keeps), saved atomically."""
    save_torch(path, {"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "seconds": seconds,
                      "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "fingerprints": prints,
                      **extra})


def cosine(step: int, steps: int, warmup: int = 0) -> float:
    """The learning rate's factor at ``step``: a linear warm-up over ``warmup`` steps, and
    a cosine decay to 0 over the planned ``steps``."""
    ramp = min(1.0, (step + 1) / warmup) if warmup else 1.0
    return ramp * 0.5 * (1 + math.cos(math.pi * step / steps))


class Run:
    """One run of a trainer towards ``target`` (its checkpoint is ``target.ckpt``)."""

    def __init__(self, net, opt, target: Path, steps: int, hours: float | None, rng, progress: bool, say):
        self.net, self.opt, self.rng, self.say = net, opt, rng, say
        self.ckpt = Path(target).with_suffix(".ckpt")
        self.name, self.steps = Path(target).name, steps
        self.budget = hours * 3600 if hours else float("inf")
        self.progress = progress
        self.step, self.spent, self.prints, self.history = 0, 0.0, {}, []
        self.peaks = [g["lr"] for g in opt.param_groups]
        self.seconds = 0.0

    def resume(self, resume: bool) -> None:
        """Continue from the checkpoint, if asked and there is one."""
        if not (resume and self.ckpt.exists()):
            return
        state = torch.load(self.ckpt, map_location="cpu", weights_only=False)  # our own checkpoint
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.spent, self.prints = state["step"], state["seconds"], state.get("fingerprints", {})
        self.history = state.get("history", [])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.say(f"resuming at step {self.step} ({self.spent / 60:.1f} min trained)")

    def run(self, train_step: Callable[[], dict], schedule: Callable[[int], float],
            after_step: Callable[[int, float], None] | None = None) -> None:
        """Train until the planned steps or the time budget: each step sets every group's
        learning rate to its peak times ``schedule(step)``, calls ``train_step()`` (one
        optimizer step; it returns the numbers to show and average), then
        ``after_step(step, elapsed)``."""
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=self.steps, initial=self.step, unit="step", desc=f"train {self.name}",
                       dynamic_ncols=True)
        start, last_ckpt, avg = time.perf_counter() - self.spent, time.perf_counter(), None
        self.net.train()
        while self.step < self.steps and time.perf_counter() - start < self.budget:
            factor = schedule(self.step)
            for group, peak in zip(self.opt.param_groups, self.peaks):
                group["lr"] = peak * factor
            shown = train_step()
            self.step += 1
            now = np.array(list(shown.values()), np.float64)
            avg = now if avg is None else 0.99 * avg + 0.01 * now
            if self.step % FINGERPRINT_EVERY == 0:
                self.prints[str(self.step)] = fingerprint(self.net)
                self.history.append([self.step, round(time.perf_counter() - start, 1), *np.round(avg, 4).tolist()])
            if bar is not None:
                bar.update()
                bar.set_postfix({k: f"{v:.3f}" for k, v in zip(shown, avg)})
            elapsed = time.perf_counter() - start
            if after_step is not None:
                after_step(self.step, elapsed)
            if time.perf_counter() - last_ckpt > CHECKPOINT_SECONDS:
                self.checkpoint(elapsed)
                last_ckpt = time.perf_counter()
        if bar is not None:
            bar.close()
        self.seconds = time.perf_counter() - start
        self.checkpoint(self.seconds)

    def checkpoint(self, seconds: float) -> None:
        checkpoint(self.ckpt, self.net, self.opt, self.step, seconds, self.rng, self.prints, history=self.history)
