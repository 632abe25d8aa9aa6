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
from hybridcodec.plugin import release_free_memory, run_jobs, threads
from hybridcodec.stages.dwt import wavelet_bands
from hybridcodec.wavelets.subbands import WaveletPlan, auto_levels

from .. import weights
from ._torch import use_torch

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
        plans = self._plans(layout)

        def plane(i):
            plan = plans[i]
            p = _take(planes, i, ctx)
            x = np.ascontiguousarray(p, np.float32)
            x = x / scale if scale != 1 else x
            own = (ctx.reuse_planes and x.flags.writeable and x.size == plan.size
                   and (x is p or not np.shares_memory(x, p)))
            bands = analyze(torch.from_numpy(x)[None, None], net, plan.levels,
                            between=lambda: release_free_memory(plan.size))
            # the bands go into the plane's own memory when it is ours (the colour stage's
            # buffer): a large image then needs no second copy of its samples
            flat = x.reshape(-1) if own else np.empty(plan.size, np.float32)
            del p, x
            for b, band in zip(plan.bands, bands):
                flat[b.offset : b.offset + b.size] = band.reshape(-1).numpy()
            del bands
            if scale != 1:
                flat *= scale
            return flat

        out = _each_plane(torch, plane, plans)
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
        plans = self._plans(layout)

        def plane(i):
            plan = plans[i]
            given = _take(planes, i, ctx)
            c = np.asarray(given, np.float32)
            own = ctx.reuse_planes and c.flags.writeable and c.flags.c_contiguous
            if scale != 1:
                c = c / scale
            bands = [torch.from_numpy(c[b.offset : b.offset + b.size].reshape(b.shape))[None, None]
                     for b in plan.bands[: plan.n_bands(r)]]
            # in place only in memory that is ours: the runner's planes, or the copy made here
            y = synthesize(bands, net, plan.levels, r, in_place=own or scale != 1,
                           between=lambda: release_free_memory(plan.size))[0, 0].numpy()
            del bands
            if own and y.size <= c.size:
                # the plane goes back into its coefficients' memory (the entropy stage's
                # buffer, which holds every plane at once: a new array per plane would
                # sit beside all of it)
                dest = np.asarray(given, np.float32).reshape(-1)[: y.size].reshape(y.shape)
                np.copyto(dest, y)
                y = dest
            del c, given
            if scale != 1:
                y *= scale
            return y

        return _each_plane(torch, plane, plans)


# Planes of fewer samples than this are transformed at once, one per thread of the
# pool, each with one torch thread and strips of a share of the activations' memory;
# larger ones one after another, each with torch's threads.  The network's operations
# on a Kodak plane last a few milliseconds: split across threads, every one of them
# waits for the slower thread, and on a busy machine (the threads sharing cores with
# other processes) that wait is a time slice: measured on 2 cores with two other
# processes spinning, the lifting analysis of kodim01 took 0.56-1.04 s split by
# operation and 0.53-0.91 s split by plane (0.72 s quiet on one thread; quiet with two
# threads 0.45-0.54 and 0.44-0.49 s).  Each plane in flight holds its levels'
# temporaries: at 2000 x 2000 two at once took the encode's peak from 33 to 68 bytes
# a pixel (benchmarks/memory.py), at 1024 x 1024 from 74-84 to 105-108 (the strips'
# activations dominate there); above 1 M samples the operations are long enough that
# splitting them costs little, and large planes keep the one-at-a-time order that
# bounds memory.
_CONCURRENT = 1 << 20


def _each_plane(torch, fn, plans) -> list:
    """``[fn(i) for i in range(len(plans))]`` without autograd: on the pool's threads
    (one torch thread each) when every plane is under ``_CONCURRENT`` samples, else in
    order with torch's threads, the heap trimmed between planes."""
    from ..nets.lifting import strips

    # read here, before any job: a thread's first read copies torch's process-wide count,
    # which a job on another thread may already have set to 1
    before = torch.get_num_threads()

    def job(i):
        # one OpenMP thread for this job, then the caller's count again (the caller's
        # thread runs a job too, and its torch is the application's)
        torch.set_num_threads(1)
        try:
            # autograd's mode is per thread; the threads' strips share one plane's activation memory
            with torch.no_grad(), strips(threads()):
                return fn(i)
        finally:
            torch.set_num_threads(before)

    # a dispatch mode (torch's FlopCounterMode, as cost.probe counts MACs with) holds for
    # the thread that entered it only: with one active, the work stays on this thread
    if (len(plans) > 1 and max(p.size for p in plans) < _CONCURRENT and threads() > 1
            and not torch._C._len_torch_dispatch_stack()):
        return run_jobs(job, [(i,) for i in range(len(plans))])
    out = []
    with torch.no_grad():
        for i, plan in enumerate(plans):
            if i:  # what the plane before left in the heap (the runner freed it before the stage)
                release_free_memory(plan.size)
            out.append(fn(i))
    return out


def _take(planes, i: int, ctx):
    """Plane ``i``, and the runner's reference to it dropped when the stage may have it
    (``ctx.reuse_planes``): a large image's planes then go one by one, each freed as
    its output is made, instead of all inputs living beside all outputs."""
    p = planes[i]
    if ctx.reuse_planes and isinstance(planes, list):
        planes[i] = None
    return p


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
