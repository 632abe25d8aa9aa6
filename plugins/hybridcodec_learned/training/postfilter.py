"""``hybridcodec train postfilter``: CPU training of the CNN post-filter.

Regions of the training photos are compressed on the fly with a preset at random
qualities and cut into patches; the network learns to map the decoded crops back to the
originals (MSE).  Fixed seed, progress bar, a checkpoint every few minutes, and
``--resume`` from it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import hybridcodec

from .. import weights
from ..nets.postfilter import PostFilterNet, strength
from ..stages.cnn import family_artefact
from .common import command_line, machine, torch_threads, training_files_and_target, write_record
from .loop import Run

__all__ = ["train_postfilter", "postfilter_presets"]

POOL = 1024  # patches in the pool
RENEW_EVERY = 2  # steps between renewals of one region's patches: each patch is seen ~4 times


def postfilter_presets() -> dict:
    """Preset -> the post-filter artefact ``train postfilter --preset`` writes: every lossy
    preset whose transform family has post-filter weights (shipped or registered).

    Examples
    --------
    >>> presets = postfilter_presets()
    >>> presets["baseline"].name, presets["wavelet"].name, "lossless" in presets
    ('postfilter-dct', 'postfilter-dwt', False)
    """
    out = {}
    for name in hybridcodec.PRESETS:
        try:
            pipe = hybridcodec.Pipeline(name)
            if pipe.rate_knob():  # a lossless preset leaves nothing to correct
                out[name] = family_artefact(pipe.family)
        except hybridcodec.CodecError:
            continue
    return out


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
    presets = postfilter_presets()
    if preset not in presets:
        raise hybridcodec.CodecError(f"train postfilter takes --preset {', '.join(presets)} (the presets whose "
                                     f"transform family has post-filter weights), not {preset!r}")
    for name, value, low in (("steps", steps, 1), ("batch", batch, 1), ("channels", channels, 1),
                             ("layers", layers, 2), ("crop", crop, 16), ("threads", 1 if threads is None else threads, 1)):
        if int(value) != value or value < low:
            raise hybridcodec.CodecError(f"--{name} must be a whole number of at least {low}, not {value}")
    if crop % 2:
        raise hybridcodec.CodecError(f"--crop must be even, not {crop}")
    if not lr > 0 or not math.isfinite(lr) or (hours is not None and not hours > 0):
        raise hybridcodec.CodecError("--lr and --hours must be positive numbers")
    art = presets[preset]
    files, target = training_files_and_target(data, out, art.file.name, resume, force, replace_shipped)
    with torch_threads(threads):
        return _train(art, files, preset, target, steps, hours, resume, seed, batch, crop, channels, layers, lr,
                      progress, say, init)


def _train(art, files, preset, target, steps, hours, resume, seed, batch, crop, channels, layers, lr, progress, say,
           init=None):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = PostFilterNet(channels, layers)
    started_from = None
    if init:
        start_net, digest, _ = weights.load_file("postfilter", str(Path(init).resolve()), "cnn weights")
        if (start_net.channels, start_net.layers) != (channels, layers):
            raise hybridcodec.CodecError(f"--init {init} has {start_net.channels} channels and {start_net.layers} "
                                         "layers; pass the same --channels and --layers")
        net.load_state_dict(start_net.state_dict())
        started_from = {"file": Path(init).name, "sha256": digest.hex()}
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    run = Run(net, opt, target, steps, hours, rng, progress, say)
    run.resume(resume)
    pool = _Pairs(files, preset, crop, POOL, rng)
    gain = [0.0]

    def train_step():
        x, s, y = pool.batch(batch)
        loss = torch.mean((net(x, s) - y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            base = torch.mean((x - y) ** 2).item()
        gain[0] = 10 * math.log10(max(base, 1e-12) / max(loss.item(), 1e-12))
        return {"gain_db": gain[0]}

    def after_step(step, elapsed):
        if step % RENEW_EVERY == 0:
            pool.renew()

    # a cosine decay over the planned steps
    run.run(train_step, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)), after_step)
    weights.save("postfilter", target, weights.FORMATS["postfilter"].pack(net))
    write_record(target, art.name, "postfilter", command=command_line("train", "postfilter"), steps=run.step,
                 seed=seed, training_seconds=round(run.seconds, 3), device="cpu", machine=machine(),
                 init=started_from, fingerprints=run.prints, history=run.history,
                 settings={"preset": preset, "batch": batch, "crop": crop, "channels": channels, "layers": layers,
                           "lr": lr, "planned_steps": steps})
    say(f"wrote {target} after {run.step} steps, {run.seconds / 60:.1f} min; training-set gain {gain[0]:+.2f} dB "
        "(last step)")
    return target
