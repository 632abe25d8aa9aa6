"""Stage ``lifting``: the CDF 9/7 lifting wavelet with learned predict and update steps
(:mod:`.lifting_net`, weights ``lifting.pt``).

It publishes the very band list of the ``dwt`` stage (same bands, shapes, gains,
coding contexts and reduce levels), so ``deadzone`` quantizes its coefficients with
the per-subband steps of the quality and ``arith`` codes them, unchanged; with its
learned steps at zero it *is* ``dwt``.  Its family is ``lifting``: the ``cnn``
post-filter after it uses ``postfilter-lifting.pt``, fine-tuned from the wavelet's
(files made while it used ``postfilter-dwt.pt`` still decode: ``cnn`` finds the
weights a file names).

Only the synthesis is learned float arithmetic, after the coefficients are decoded
(by ``arith``, exactly): another machine reconstructs the same pixels within float
rounding, never different coefficients.  The encoder stores the first 4 bytes of the
weights' sha256 (older files hold 8, and still decode) and the decoder
refuses other weights.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from hybridcodec import CodecError, Param, PlaneInfo, Stage, register_stage
from hybridcodec.stages.dwt import wavelet_bands
from hybridcodec.wavelets.subbands import WaveletPlan, auto_levels

from ._pixels import MAX_PIXELS

__all__ = ["LearnedLifting", "JointLifting", "weights_file", "load_weights"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
# bytes of the weights' sha256 a file keeps: 32 were 1 % of a 0.06 bpp Kodak file; older
# files hold 8 (still read); 4 now, as cnn keeps (wrong weights pass 1 time in 2^32)
_DIGEST = 4
_DIGEST_LENGTHS = (_DIGEST, 8)
# replaced weights (``NAME-YYYYMMDD.pt``), shipped on so that the files made with them decode
RETIRED: tuple[str, ...] = ("lifting-20261127.pt",)  # 5000 steps, in files of 2026-11-27 and before


def weights_file(name: str = "lifting") -> Path:
    """The shipped ``NAME.pt`` (``lifting``, ``lifting-joint``), or the file
    ``HYBRIDCODEC_LIFTING_WEIGHTS`` (``HYBRIDCODEC_LIFTING_JOINT_WEIGHTS``) names (to
    measure a rerun of the training or a snapshot; files record which weights made them)."""
    other = os.environ.get(f"HYBRIDCODEC_{name.upper().replace('-', '_')}_WEIGHTS")
    return Path(other) if other else WEIGHTS_DIR / f"{name}.pt"


@lru_cache(maxsize=4)
def load_weights(path: str, model: str = "lifting"):
    """(network, sha256) of a lifting weight file, read without pickle."""
    p = Path(path)
    if not p.exists():
        raise CodecError(f"{model} weights {p} are missing; train them with "
                         f"`hybridcodec train transform --model {model}` or reinstall hybridcodec-learned")
    try:
        import torch
    except ImportError:
        raise CodecError("the lifting stage needs torch; install torch's CPU build: pip install torch==2.13.0") from None
    from .lifting_net import LiftingNet

    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
        net = LiftingNet(int(blob["channels"]))
        net.load_state_dict(blob["state_dict"])
    except Exception as exc:  # not a lifting weight file: say which and why
        raise CodecError(f"cannot read lifting weights {p}: {exc}") from None
    net.eval()
    return net, hashlib.sha256(p.read_bytes()).digest()


@register_stage
class LearnedLifting(Stage):
    """CDF 9/7 lifting plus learned predict/update steps (iWave-style); weights lifting.pt."""

    name = "lifting"
    kind = "transform"
    family = "lifting"  # cnn uses postfilter-lifting.pt, fine-tuned from postfilter-dwt.pt
    doc = "CDF 9/7 lifting wavelet with learned predict/update steps (bands as dwt's; weights lifting.pt)"
    params = (Param("levels", int, 0, "decomposition levels; 0 = from the image size", min=0, max=8),)

    def _plans(self, layout) -> list[WaveletPlan]:
        if not layout or any(p.form != "pixels" for p in layout):
            raise CodecError("lifting needs pixel planes; put it after the colour stages")
        if sum(int(np.prod(p.shape)) for p in layout) > 3 * MAX_PIXELS:
            raise CodecError(f"lifting codes images of up to {MAX_PIXELS >> 20} megapixels a plane; use "
                             "a classical pipeline (wavelet) for larger ones")
        levels = self.levels if self.levels else auto_levels(*layout[0].shape)
        return [_plan(tuple(p.shape), levels) for p in layout]

    def layout(self, planes):
        return tuple(PlaneInfo((plan.size,), role=p.role, form="subbands", integer=False, bands=wavelet_bands(plan))
                     for p, plan in zip(planes, self._plans(planes)))

    def encode(self, planes, layout, ctx):
        import torch

        from .lifting_net import analyze

        net, digest = load_weights(str(weights_file(self.name)), self.name)
        scale = np.float32(ctx.sample_scale)  # the network sees the 8-bit scale
        out = []
        with torch.no_grad():
            for p, plan in zip(planes, self._plans(layout)):
                x = torch.from_numpy(np.ascontiguousarray(p, np.float32) / scale)[None, None]
                bands = analyze(x, net, plan.levels)
                out.append(np.concatenate([b.reshape(-1).numpy() for b in bands]) * scale)
        ctx.emit(self.index, digest[:_DIGEST])
        return out

    def decode(self, planes, layout, ctx):
        import torch

        from .lifting_net import synthesize

        net, digest = load_weights(str(weights_file(self.name)), self.name)
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) not in _DIGEST_LENGTHS:
            raise CodecError(f"corrupt .hcx file: bad {self.name} side data")
        if side[0] != digest[: len(side[0])]:  # the weights of an older version of the plugin?
            older = [WEIGHTS_DIR / r for r in RETIRED if r.startswith(f"{self.name}-2")]
            older = [p for p in older if p.exists() and load_weights(str(p), self.name)[1][: len(side[0])] == side[0]]
            if older:
                net, digest = load_weights(str(older[0]), self.name)
        if side[0] != digest[: len(side[0])]:
            raise CodecError(f"this file was made with {self.name} weights sha256 {side[0].hex()[:16]}..., but the "
                             f"installed {weights_file(self.name).name} is {digest.hex()[:16]}...; install the "
                             "hybridcodec-learned version that made the file")
        r = ctx.reduce_levels
        scale = np.float32(ctx.sample_scale)
        out = []
        with torch.no_grad():
            for c, plan in zip(planes, self._plans(layout)):
                c = np.asarray(c, np.float32) / scale
                bands = [torch.from_numpy(c[b.offset : b.offset + b.size].reshape(b.shape))[None, None]
                         for b in plan.bands[: plan.n_bands(r)]]
                out.append(synthesize(bands, net, plan.levels, r)[0, 0].numpy() * scale)
        return out


@register_stage
class JointLifting(LearnedLifting):
    """The same stage with the steps trained together with the ``ctxrans`` model that
    codes their coefficients (``train transform --model lifting-joint``): weights
    ``lifting-joint.pt``; ``ctxrans`` after it uses ``ctxrans-lifting-joint.npz``."""

    name = "lifting-joint"
    family = "lifting-joint"
    doc = ("the lifting stage with steps trained jointly with ctxrans's context model (weights lifting-joint.pt; "
           "ctxrans then uses ctxrans-lifting-joint.npz)")


@lru_cache(maxsize=64)
def _plan(shape, levels) -> WaveletPlan:
    return WaveletPlan(shape, "cdf97", levels)
