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

from functools import lru_cache

import numpy as np

from hybridcodec import CodecError, Param, PlaneInfo, Stage, register_stage
from hybridcodec.stages.dwt import wavelet_bands
from hybridcodec.wavelets.subbands import WaveletPlan, auto_levels

from .. import weights
from ._torch import use_torch
from ._pixels import MAX_PIXELS

__all__ = ["LearnedLifting", "JointLifting"]

# bytes of the weights' sha256 a file keeps: 32 were 1 % of a 0.06 bpp Kodak file; older
# files hold 8 (still read); 4 now, as cnn keeps (wrong weights pass 1 time in 2^32).
# The artefacts (weights.shipped) say so, and name the retired weights (NAME-YYYYMMDD.pt)
# shipped on so that the files made with them decode.


@register_stage
class LearnedLifting(Stage):
    """CDF 9/7 lifting plus learned predict/update steps (iWave-style); weights lifting.pt."""

    name = "lifting"
    kind = "transform"
    # the learned steps' convolutions, counted with FlopCounterMode on Kodak (768 x 512), 3 planes
    decode_macs = encode_macs = 15_770.0
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
        torch = use_torch()

        from ..nets.lifting import analyze

        art = weights.get(self.name)
        net, digest, _ = art.load()
        scale = np.float32(ctx.sample_scale)  # the network sees the 8-bit scale
        out = []
        with torch.no_grad():
            for p, plan in zip(planes, self._plans(layout)):
                x = torch.from_numpy(np.ascontiguousarray(p, np.float32) / scale)[None, None]
                bands = analyze(x, net, plan.levels)
                out.append(np.concatenate([b.reshape(-1).numpy() for b in bands]) * scale)
        ctx.emit(self.index, digest[: art.digest])
        return out

    def decode(self, planes, layout, ctx):
        torch = use_torch()

        from ..nets.lifting import synthesize

        art = weights.get(self.name)
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) not in art.digest_lengths:
            raise CodecError(f"corrupt .hcx file: bad {self.name} side data")
        net = art.find(side[0]).obj  # today's weights, or retired ones the file names
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
