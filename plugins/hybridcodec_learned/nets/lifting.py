"""The learned lifting wavelet (torch): JPEG 2000's CDF 9/7 lifting, as the ``dwt``
stage runs it, followed in each 1-D pass of the low-pass branch by a learned predict
step and a learned update step (small CNNs, as in iWave, Ma et al. 2019):

    d <- d - P(s),  s <- s + U(d)      (analysis, after the 9/7 steps and scaling)
    s <- s - U(d),  d <- d + P(s)      (synthesis, before them)

P sees the low-pass samples around a high-pass sample in two dimensions (the 9/7
predicts along one), U the high-pass samples around a low-pass one.  Whatever P and U
compute, synthesis undoes analysis exactly (up to float rounding) from the same
coefficients.  Their last layers start at zero, so an untrained network *is* CDF 9/7:
the same bands, the same sizes and, within float rounding, the same coefficients.

Band order and shapes are those of :class:`hybridcodec.wavelets.subbands.WaveletPlan`
(engine ``cdf97``): LL, then per level from the coarsest HL, LH, HH.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from hybridcodec.wavelets.lifting import CDF97

__all__ = ["LiftingNet", "analyze", "synthesize", "strips"]

_A, _B, _G, _D, _K = CDF97
IN_SCALE, OUT_SCALE = 1 / 64.0, 16.0  # the low band keeps the pixel scale (+-128); corrections are smaller
_STRIP = 1 << 18  # samples per network call when coding (activations: 16 MB)
# on large planes a quarter of that: 4 MB activations leave fewer and smaller holes in the
# heap (a 6000 x 4000 lifting decode peaked at 26.8 instead of ~33 bytes a pixel above the
# process), while on a Kodak plane the larger calls are ~10 % faster
_LARGE = 1 << 19


class Step(nn.Module):
    """A learned lifting step: three 3x3 convolutions (ReLU between), last one zero."""

    def __init__(self, channels: int):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, channels, 3), nn.Conv2d(channels, channels, 3)
        self.c3 = nn.Conv2d(channels, 1, 3)
        nn.init.zeros_(self.c3.weight)
        nn.init.zeros_(self.c3.bias)

    def forward(self, x: torch.Tensor, n_out: int) -> torch.Tensor:
        """The correction for ``n_out`` samples along the last axis from ``x`` (N x 1 x H x L)."""
        if x.shape[-1] < n_out:  # an update of the last low-pass sample: its right neighbour mirrors
            x = torch.cat([x, x[..., -1:]], dim=-1)
        rows, cols = x.shape[-2], x.shape[-1]
        strip = getattr(_LOCAL, "strip", _STRIP)
        if torch.is_grad_enabled() or rows * (cols + 6) <= strip:
            h = F.pad(x * IN_SCALE, (3, 3, 3, 3), mode="replicate")
            return self._net(h)[..., :n_out] * OUT_SCALE
        # coding: a strip of rows at a time (3 rows of context each side, replicated at the
        # plane's edges as the whole-plane padding does), each written into the output, so
        # that the 16-channel activations stay ~_STRIP * 64 bytes however large the plane
        # and nothing the size of the plane is made but the output
        step = max(1, (strip if rows * cols < _LARGE else strip // 4) // (cols + 6))
        out = x.new_empty(*x.shape[:-2], rows, n_out)
        for r in range(0, rows, step):
            a, b = max(0, r - 3), min(rows, r + step + 3)
            h = F.pad(x[..., a:b, :] * IN_SCALE, (3, 3, 3 - (r - a), 3 - (b - min(rows, r + step))),
                      mode="replicate")
            out[..., r : min(rows, r + step), :] = self._net(h)[..., :n_out]
        return out.mul_(OUT_SCALE)

    def _net(self, h):
        return self.c3(F.relu(self.c2(F.relu(self.c1(h)))))


_LOCAL = threading.local()


@contextmanager
def strips(share: int):
    """Network calls made by this thread inside take strips of ``1 / share`` of the
    usual samples (``_STRIP``): planes transformed at once on ``share`` threads then
    hold the activation memory one plane had (the same numbers within float rounding)."""
    if not isinstance(share, int) or share < 1:
        raise ValueError(f"strips: share must be a whole number of threads, 1 or more; got {share!r}")
    before = getattr(_LOCAL, "strip", _STRIP)
    _LOCAL.strip = max(1, _STRIP // share)
    try:
        yield
    finally:
        _LOCAL.strip = before


class LiftingNet(nn.Module):
    """Learned predict and update steps for the horizontal and the vertical passes,
    shared by every level and plane."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.channels = channels
        self.ph, self.uh, self.pv, self.uv = (Step(channels) for _ in range(4))


def _pred(s, nd):
    """s[i] + s[i + 1] for the nd odd samples (the last one mirrored)."""
    right = s[..., 1 : nd + 1] if nd <= s.shape[-1] - 1 else torch.cat([s[..., 1:], s[..., -1:]], dim=-1)
    return s[..., :nd] + right


def _upd(d, ns):
    """d[i - 1] + d[i] for the ns even samples (both ends mirrored)."""
    left = torch.cat([d[..., :1], d[..., : ns - 1]], dim=-1)
    cur = d[..., :ns] if ns <= d.shape[-1] else torch.cat([d, d[..., -1:]], dim=-1)
    return left + cur


def _analyze(x, p=None, u=None):
    """One level along the last axis: (low, high)."""
    if x.shape[-1] < 2:
        return x, x[..., :0]
    s, d = x[..., 0::2], x[..., 1::2]
    ns, nd = s.shape[-1], d.shape[-1]
    d = d + _A * _pred(s, nd)
    s = s + _B * _upd(d, ns)
    d = d + _G * _pred(s, nd)
    s = s + _D * _upd(d, ns)
    s, d = s * (1 / _K), d * (_K / 2)
    if p is not None:
        d = d - p(s, nd)
        s = s + u(d, ns)
    return s, d


def _synthesize(s, d, p=None, u=None, in_place=False):
    """Inverse of :func:`_analyze`."""
    ns, nd = s.shape[-1], d.shape[-1]
    if nd == 0:
        return s
    if in_place and not torch.is_grad_enabled():
        # decoding: the same arithmetic in place (s and d are the caller's to overwrite),
        # so that a large plane's level makes no copies of its bands but the output
        if p is not None:
            s.sub_(u(d, ns))
            d.add_(p(s, nd))
        s.mul_(_K)
        d.mul_(2 / _K)
        s.sub_(_upd(d, ns).mul_(_D))
        d.sub_(_pred(s, nd).mul_(_G))
        s.sub_(_upd(d, ns).mul_(_B))
        d.sub_(_pred(s, nd).mul_(_A))
    else:
        if p is not None:
            s = s - u(d, ns)
            d = d + p(s, nd)
        s, d = s * _K, d * (2 / _K)
        s = s - _D * _upd(d, ns)
        d = d - _G * _pred(s, nd)
        s = s - _B * _upd(d, ns)
        d = d - _A * _pred(s, nd)
    out = s.new_empty(*s.shape[:-1], ns + nd)
    out[..., 0::2], out[..., 1::2] = s, d
    return out


def _t(x):
    return x.transpose(-1, -2)


def analyze(x: torch.Tensor, net: LiftingNet | None, levels: int, between=None) -> list:
    """Bands of planes ``x`` (N x 1 x H x W), in WaveletPlan order; ``between`` is called
    after each level (the stage gives free heap back there)."""
    p = (net.ph, net.uh, net.pv, net.uv) if net is not None else (None,) * 4
    ll, details = x, []
    for _ in range(levels):
        lo, hi = _analyze(ll, p[0], p[1])
        ll, lh = (_t(b) for b in _analyze(_t(lo), p[2], p[3]))
        del lo
        hl, hh = (_t(b) for b in _analyze(_t(hi)))
        del hi  # a level's halves go before the next level's
        details.append((hl, lh, hh))
        if between is not None:
            between()
    return [ll] + [b for level in reversed(details) for b in level]


def synthesize(bands: list, net: LiftingNet | None, levels: int, reduce_levels: int = 0,
               in_place: bool = False, between=None) -> torch.Tensor:
    """Planes from bands (WaveletPlan order), skipping the ``reduce_levels`` finest levels.
    ``in_place`` (without autograd): the bands are overwritten, and a level makes no
    copies of them, only its output (the decoder's memory on large planes); ``between``
    is called after each level (the stage gives free heap back there)."""
    p = (net.ph, net.uh, net.pv, net.uv) if net is not None else (None,) * 4
    ll = bands[0]
    for j in range(levels, min(reduce_levels, levels), -1):
        k = 1 + 3 * (levels - j)
        hl, lh, hh = bands[k : k + 3]
        lo = _t(_synthesize(_t(ll), _t(lh), p[2], p[3], in_place))
        hi = _t(_synthesize(_t(hl), _t(hh), in_place=in_place))
        ll = _synthesize(lo, hi, p[0], p[1], in_place)
        del lo, hi
        if between is not None:
            between()
    return ll

