"""The learned lifting trained together with its entropy model (``train transform
--model lifting-joint``): the lifting steps of :mod:`..nets.lifting` and the ``ctxrans``
context model's Laplace scales, one rate-distortion loss for both.

The rate is what ``ctxrans`` would spend: every detail coefficient gets the scale of its
(class, pass, context cell), the cells computed exactly as the stage computes them
(:func:`torch_cells` is tested against :func:`..entropy.contexts.coded_cells`) from the
dead-zone indices of the coefficients it may see.  Each coefficient is charged
``-log2`` of its dead-zone index's discretized Laplace likelihood (``P(|q| +- 1/2)``):
the value the codec would spend, whose gradient fits the scales (the entropy model)
by maximum likelihood.  The transform's gradient comes from the same bits of a soft
index (the coefficient in quantizer steps, less the dead zone's offset, plus uniform
noise) under the same scales, so it learns what the model charges.  The low band
(coded as differences by ``ctxrans``) is charged its differences under one learned
scale per plane role.  The distortion and the weighing of the two are
:func:`.lifting_loss.rd_loss`'s.

Exporting keeps what the codec reads: the lifting steps (a ``lifting.pt``-format file
for the ``lifting-joint`` stage) and, as CompressAI's ``update()`` does, integer tables
built once: each cell's learned scale rounded to the nearest of ``ctxrans``'s 64 shipped
Laplace tables (``ctxrans-FAMILY.npz`` beside the weights).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hybridcodec.stages.dwt import wavelet_bands
from hybridcodec.wavelets.subbands import WaveletPlan, band_gains

from .. import weights
from ..entropy.contexts import CELLS, EDGES, map_axis
from ..entropy.laplace import laplace_tables, table_scales
from ..nets import lifting as ln
from . import lifting_loss as ll

__all__ = ["JointNet", "torch_cells", "rate_bits", "rd_loss", "export", "companion", "ROUNDING"]

ROUNDING = 0.33  # deadzone's default rounding: the contexts are those of the codec's indices
_CAP = int(EDGES[-1])  # |q| above this falls in the last bin however it is summed


class JointNet(nn.Module):
    """Lifting steps plus a log-scale per ctxrans (class, pass, cell) and per plane role
    for the low band's differences; the scales start at the shipped ``ctxrans.npz``
    (fitted on CDF 9/7, where the untrained lifting starts)."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.lifting = ln.LiftingNet(channels)
        model = weights.get("ctxrans").load().obj
        scales = np.log(table_scales())[np.asarray(model.index, np.int64)]
        self.log_scale = nn.Parameter(torch.tensor(scales, dtype=torch.float32))
        self.ll_log_scale = nn.Parameter(torch.full((2,), math.log(4.0)))


def _box(a: torch.Tensor) -> torch.Tensor:
    """3x3 sums (zero outside) of (N x C x H x W) ``a``."""
    p = F.pad(a, (1, 1, 1, 1))
    rows = p[..., :-2, :] + p[..., 1:-1, :] + p[..., 2:, :]
    return rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]


def _map(a: torch.Tensor, h: int, w: int, sy: int, sx: int) -> torch.Tensor:
    iy = torch.from_numpy(map_axis(h, sy, a.shape[-2])).to(a.device)
    ix = torch.from_numpy(map_axis(w, sx, a.shape[-1])).to(a.device)
    return a.index_select(-2, iy).index_select(-1, ix)


def _bin(v: torch.Tensor) -> torch.Tensor:
    return torch.bucketize(v, torch.tensor(EDGES, dtype=v.dtype, device=v.device), right=True)


def torch_cells(q: dict, bands) -> dict:
    """For each detail band: the flat index ``(class * 2 + pass) * CELLS + cell`` of each
    coefficient, as ``ctxrans`` computes it.  ``q``: band key -> dead-zone indices
    (N x 3 x h x w, planes Y, Cb, Cr); ``bands``: the plane's :class:`Band` list."""
    qa = {k: v.abs().clamp(max=_CAP).to(torch.int32) for k, v in q.items()}
    boxes = {k: _box(v) for k, v in qa.items()}
    out = {}
    for b in bands:
        if b.predict:
            continue
        h, w = b.shape
        a = qa[b.key]
        par = torch.zeros_like(a)
        for r in b.parents:
            par = par + _map(boxes[r[0]], h, w, r[1], r[2])
        sib = _map(boxes[b.sibling[0]], h, w, *b.sibling[1:]) if b.sibling is not None else torch.zeros_like(a)
        lum = torch.zeros_like(a)
        if b.luma:
            lum[:, 1:] = _map(boxes[b.key][:, :1], h, w, 2, 2)
        first = _bin(par) * 64 + _bin(sib) * 8 + _bin(lum)
        rest = _bin(par) * 8 + _bin(sib + lum)
        yy, xx = torch.meshgrid(torch.arange(h, device=a.device), torch.arange(w, device=a.device), indexing="ij")
        anchor = (yy + xx) % 2 == 0
        p = F.pad(torch.where(anchor, a, 0), (1, 1, 1, 1))
        nb = p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]
        second = _bin(nb) * 64 + rest
        cls = b.context + 48 * (torch.arange(3, device=a.device) > 0).view(1, 3, 1, 1)
        out[b.key] = (cls * 2 + (~anchor).long()) * CELLS + torch.where(anchor, first, second)
    return out


def rate_bits(y: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """``-log2 P`` of ``y`` (in quantizer steps) under a zero-mean Laplace of scale
    ``exp(log_scale)`` discretized to integers: ``P = F(|y| + 1/2) - F(|y| - 1/2)``."""
    s = log_scale.exp()
    a = y.abs()
    hi = a.clamp(min=0.5)  # |y| >= 1/2: both ends on one side
    log_far = math.log(0.5) - (hi - 0.5) / s + torch.log(-torch.expm1(-1 / s))
    lo = a.clamp(max=0.5)  # |y| < 1/2: the bin holds the mode
    near = 1 - 0.5 * torch.exp(-(lo + 0.5) / s) - 0.5 * torch.exp(-(0.5 - lo) / s)
    log_p = torch.where(a >= 0.5, log_far, torch.log(near.clamp_min(1e-12)))
    return -log_p.clamp(min=math.log(1e-9)) / math.log(2.0)


def _differences(v: torch.Tensor) -> torch.Tensor:
    """The low band as ``ctxrans`` codes it: left differences, the first column's upward."""
    r = v.clone()
    r[..., :, 1:] = v[..., :, 1:] - v[..., :, :-1]
    r[..., 1:, 0] = v[..., 1:, 0] - v[..., :-1, 0]
    return r


def rd_loss(net: JointNet, x: torch.Tensor, log2_step: torch.Tensor):
    """(loss, bpp, psnr) of RGB crops ``x`` through ``ycbcr(subsampling=444)|lifting-joint|
    deadzone|ctxrans`` at base steps ``2 ** log2_step`` (see the module's docstring)."""
    n, _, h, w = x.shape
    m, ycc = ll.ycc_planes(x)
    step = (2.0 ** log2_step).to(x.dtype).view(n, 1, 1, 1)
    levels = ll.TRAIN_LEVELS
    meta = wavelet_bands(WaveletPlan((h, w), "cdf97", levels))
    bands = [b.reshape(n, 3, *b.shape[-2:]) for b in ln.analyze(ycc, net.lifting, levels)]
    gains = band_gains("cdf97", levels, "reflect")
    soft, noisy, q = {}, [], {}
    for b, band, gain in zip(meta, bands, gains):
        delta = step / math.sqrt(float(gain))
        u = torch.rand_like(band) - 0.5
        noisy.append((band + u * delta).reshape(n * 3, 1, *band.shape[-2:]))
        y = band / delta
        q[b.key] = torch.sign(y.detach()) * torch.floor(y.detach().abs() + ROUNDING)
        # the dead zone rounds |y| - (1/2 - ROUNDING): that, plus the noise, is what the
        # transform's gradient sees
        soft[b.key] = torch.sign(y) * F.relu(y.abs() - (0.5 - ROUNDING)) + u
    cells = torch_cells(q, meta)
    bits = 0.0
    role = (torch.arange(3, device=x.device) > 0).long().view(1, 3, 1, 1)
    for b in meta:
        if b.predict:
            scale, v, z = net.ll_log_scale[role], _differences(q[b.key]), _differences(soft[b.key])
        else:
            scale, v, z = net.log_scale.reshape(-1)[cells[b.key]], q[b.key], soft[b.key]
        # the value (and the scales' gradient): the bits of the indices the codec codes;
        # the transform's gradient: those of the soft indices under the same scales
        fuzzy = rate_bits(z, scale.detach())
        bits = bits + (rate_bits(v, scale) + fuzzy - fuzzy.detach()).sum(dim=(2, 3))
    return ll.rd_terms(x, m, ln.synthesize(noisy, net.lifting, levels), bits.sum(dim=1), step.view(n))


def export(net: JointNet) -> dict:
    """The lifting steps, in the format of ``lifting.pt`` (the ``lifting-joint`` stage's)."""
    return weights.FORMATS["lifting"].pack(net.lifting)


def companion(net: JointNet) -> bytes:
    """The entropy model trained with the steps, as a ``ctxrans.npz``: each cell's scale
    rounded, in log scale, to the nearest shipped Laplace table."""
    grid = np.log(table_scales())
    learned = net.log_scale.detach().cpu().double().numpy()
    index = np.abs(learned[..., None] - grid).argmin(axis=-1)
    return weights.FORMATS["ctxrans"].pack((laplace_tables(), index))
