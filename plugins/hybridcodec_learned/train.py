"""``hybridcodec train postfilter``: CPU training of the CNN post-filter.

Regions of the training photos are compressed on the fly with a preset at random
qualities and cut into patches; the network learns to map the decoded crops back to the
originals (MSE).  Fixed seed, progress bar, a checkpoint every few minutes, and
``--resume`` from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import hybridcodec
from hybridcodec._files import write_atomic

from .model import PostFilterNet, strength
from . import postfilter as _postfilter
from .postfilter import weights_path

__all__ = ["train_postfilter", "fingerprint", "FAMILY_OF_PRESET"]

FAMILY_OF_PRESET = {"baseline": "dct", "dct-arith": "dct", "wavelet": "dwt", "learned": "learned", "lifting": "lifting"}
POOL = 1024  # patches in the pool
RENEW_EVERY = 2  # steps between renewals of one region's patches: each patch is seen ~4 times
FINGERPRINT_EVERY = 500  # steps between the weight fingerprints kept in the record
_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm"}


class _Pairs:
    """A pool of (original, decoded, strength) patches, partly renewed as training goes.

    Patches come from regions of up to 512 x 512 pixels compressed as a whole, so that
    the artifacts are those of full-size images (a wavelet's depth follows the image
    size), and they sit on a 16-pixel grid, as the block grid of a full image does.
    """

    REGION, PER_REGION, GRID = 512, 8, 16

    def __init__(self, files, preset, crop, size, rng):
        self.files, self.preset, self.crop, self.rng = files, preset, crop, rng
        self.images = {}
        self.items = []
        while len(self.items) < size:
            self.items += self._region()
        self.items = self.items[:size]

    def _image(self, path):
        if path not in self.images:
            with Image.open(path) as im:
                self.images[path] = np.asarray(im.convert("RGB"))
        return self.images[path]

    def _at(self, size, limit):
        return int(self.rng.integers(0, max(1, limit - size + 1))) // self.GRID * self.GRID

    def _region(self):
        img = self._image(self.files[self.rng.integers(len(self.files))])
        h, w = img.shape[:2]
        rh, rw = min(self.REGION, h), min(self.REGION, w)
        y, x = self._at(rh, h), self._at(rw, w)
        region = np.ascontiguousarray(img[y : y + rh, x : x + rw])
        q = float(np.round(self.rng.uniform(5, 95), 2))
        dec = hybridcodec.decode(hybridcodec.encode(region, preset=self.preset, quality=q))
        c = self.crop
        if rh < c or rw < c:
            pad = ((0, max(0, c - rh)), (0, max(0, c - rw)), (0, 0))
            region, dec = np.pad(region, pad, mode="edge"), np.pad(dec, pad, mode="edge")
        out = []
        for _ in range(self.PER_REGION):
            py, px = self._at(c, region.shape[0]), self._at(c, region.shape[1])
            out.append((region[py : py + c, px : px + c], dec[py : py + c, px : px + c], strength(q)))
        return out

    def renew(self):
        """Replace the patches of one region's worth of pool slots."""
        for item in self._region():
            self.items[int(self.rng.integers(len(self.items)))] = item

    def batch(self, n):
        idx = self.rng.integers(len(self.items), size=n)
        orig = np.stack([self.items[i][0] for i in idx]).astype(np.float32) / 255
        dec = np.stack([self.items[i][1] for i in idx]).astype(np.float32) / 255
        s = np.array([self.items[i][2] for i in idx], np.float32)
        t = lambda a: torch.from_numpy(a.transpose(0, 3, 1, 2).copy())  # noqa: E731
        return t(dec), torch.from_numpy(s), t(orig)


DEFAULT_OUT = "trained-weights"  # training writes here unless told otherwise


def check_target(target: Path, resume: bool, force: bool, replace_shipped: bool) -> None:
    """Refuse, before any work, to replace shipped weights or an existing file by accident."""
    shipped = target.resolve().parent == _postfilter.WEIGHTS_DIR.resolve()
    if shipped and not replace_shipped:
        raise hybridcodec.CodecError(
            f"refusing to write {target}: it is in the shipped weights folder, and every file made with the "
            "current weights would then fail to decode; train into another --out, or pass --replace-shipped "
            "(with --force to replace an existing file) if you mean to replace them")
    if target.exists() and not (resume or force):
        raise hybridcodec.CodecError(f"{target} already exists; pass --force to replace it or --resume to "
                                     "continue its training")
    if target.is_dir():
        raise hybridcodec.CodecError(f"{target} is a folder; --out takes a .pt file name")


def train_postfilter(data: str, preset: str, steps: int = 6000, hours: float | None = None,
                     resume: bool = False, out: str | None = None, seed: int = 0, batch: int = 16,
                     crop: int = 96, channels: int = 48, layers: int = 8, lr: float = 5e-4,
                     threads: int | None = None, progress: bool = True, say=print, force: bool = False,
                     replace_shipped: bool = False, init: str | None = None) -> Path:
    """Train, save the weights (and a ``.json`` record beside them); return their path.

    With the same arguments and thread count a run is bit-for-bit repeatable; the record
    lists a fingerprint of the weights every 500 steps so that a rerun can be checked
    against it as it goes.

    Without ``out`` the weights go to ``trained-weights/postfilter-FAMILY.pt`` in the
    current folder.  An existing file is replaced only with ``force`` (or continued with
    ``resume``), and the plugin's shipped weights only with ``replace_shipped``: every
    file made with the old weights would fail to decode.  ``init`` starts from another
    family's weights file (fine-tuning) instead of random weights."""
    if preset not in FAMILY_OF_PRESET:
        raise hybridcodec.CodecError(f"train postfilter takes --preset {', '.join(FAMILY_OF_PRESET)}")
    for name, value, low in (("steps", steps, 1), ("batch", batch, 1), ("channels", channels, 1),
                             ("layers", layers, 2), ("crop", crop, 16), ("threads", 1 if threads is None else threads, 1)):
        if int(value) != value or value < low:
            raise hybridcodec.CodecError(f"--{name} must be a whole number of at least {low}, not {value}")
    if crop % 2:
        raise hybridcodec.CodecError(f"--crop must be even, not {crop}")
    if not lr > 0 or not math.isfinite(lr) or (hours is not None and not hours > 0):
        raise hybridcodec.CodecError("--lr and --hours must be positive numbers")
    files, target = training_files_and_target(data, out, weights_path(FAMILY_OF_PRESET[preset]).name, resume, force,
                                              replace_shipped)
    with torch_threads(threads):
        return _train(files, preset, target, steps, hours, resume, seed, batch, crop, channels, layers, lr,
                      progress, say, init)


def training_files_and_target(data, out, default_name, resume, force, replace_shipped):
    """The training photos under ``data`` and the checked weights path (made ready)."""
    files = sorted(str(p) for p in Path(data).rglob("*") if p.suffix.lower() in _EXT)
    if not files:
        raise hybridcodec.CodecError(f"no training images in {data}")
    target = Path(out) if out else Path(DEFAULT_OUT) / default_name
    check_target(target, resume, force, replace_shipped)
    target.parent.mkdir(parents=True, exist_ok=True)
    return files, target


@contextmanager
def torch_threads(threads):
    """Run with ``threads`` torch threads (None: as is), restoring the count after."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train(files, preset, target, steps, hours, resume, seed, batch, crop, channels, layers, lr, progress, say,
           init=None):
    ckpt = target.with_suffix(".ckpt")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = PostFilterNet(channels, layers)
    started_from = None
    if init:
        start_net, digest = _postfilter.load_weights(str(Path(init).resolve()))
        if (start_net.channels, start_net.layers) != (channels, layers):
            raise hybridcodec.CodecError(f"--init {init} has {start_net.channels} channels and {start_net.layers} "
                                         "layers; pass the same --channels and --layers")
        net.load_state_dict(start_net.state_dict())
        started_from = {"file": Path(init).name, "sha256": digest.hex()}
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    step, spent, prints = 0, 0.0, {}
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)  # our own checkpoint
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        step, spent, prints = state["step"], state["seconds"], state.get("fingerprints", {})
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        say(f"resuming at step {step} ({spent / 60:.1f} min trained)")
    pool = _Pairs(files, preset, crop, POOL, rng)
    budget = hours * 3600 if hours else float("inf")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, initial=step, unit="step", desc=f"train {target.name}", dynamic_ncols=True)
    start, last_ckpt, gain = time.perf_counter() - spent, time.perf_counter(), 0.0
    net.train()
    while step < steps and time.perf_counter() - start < budget:
        for group in opt.param_groups:  # cosine decay over the planned steps
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        x, s, y = pool.batch(batch)
        loss = torch.mean((net(x, s) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            base = torch.mean((x - y) ** 2).item()
        gain = 0.98 * gain + 0.02 * 10 * math.log10(base / max(loss.item(), 1e-12))
        step += 1
        if step % RENEW_EVERY == 0:
            pool.renew()
        if step % FINGERPRINT_EVERY == 0:
            prints[str(step)] = fingerprint(net)
        if bar is not None:
            bar.update()
            bar.set_postfix(gain_db=f"{gain:+.3f}")
        if time.perf_counter() - last_ckpt > 300:
            checkpoint(ckpt, net, opt, step, time.perf_counter() - start, rng, prints)
            last_ckpt = time.perf_counter()
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    checkpoint(ckpt, net, opt, step, seconds, rng, prints)
    _save(target, {"channels": channels, "layers": layers,
                   "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()}})
    record = {
        "file": target.name,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "command": "hybridcodec train postfilter " + " ".join(shlex.quote(a) for a in sys.argv[3:])
        if sys.argv[1:3] == ["train", "postfilter"] else None,
        "preset": preset, "steps": step, "seed": seed, "batch": batch, "crop": crop,
        "channels": channels, "layers": layers, "training_seconds": round(seconds, 3),
        "lr": lr, "machine": machine(),
        "init": started_from, "fingerprints": prints,
    }
    write_atomic(target.with_suffix(".json"), (json.dumps(record, indent=1) + "\n").encode())
    say(f"wrote {target} after {step} steps, {seconds / 60:.1f} min; training-set gain {gain:+.2f} dB")
    return target


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
    return f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, {cpu}"


def fingerprint(net) -> str:
    """A short hash of the network's weights (to compare runs step by step)."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _save(path, obj):
    """torch.save, atomically: an interrupted run never leaves a half-written file.  It
    saves under the final name in a private folder (torch names the archive's root after
    the file, so the bytes and sha256 are those of a direct save) and renames it."""
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".save-") as tmp:
        torch.save(obj, Path(tmp) / path.name)
        os.replace(Path(tmp) / path.name, path)


def checkpoint(path, net, opt, step, seconds, rng, prints, **extra):
    """Everything ``--resume`` needs (weights, optimizer, step, time, both RNGs, the
    fingerprints so far, and any ``extra`` the trainer keeps), saved atomically."""
    _save(path, {"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "seconds": seconds,
                 "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "fingerprints": prints,
                 **extra})
