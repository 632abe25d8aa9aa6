"""The ``learned`` stage's networks: a mean-scale hyperprior codec (Minnen et al. 2018,
no autoregressive context) with GDN/IGDN (Ballé et al. 2018), sized and initialised so
that a 2-core CPU can train it.

Why this shape (the learned-transform issue measured that a from-scratch hyperprior
is still worse than JPEG after three CPU-hours): the analysis is one strided 16x16
convolution whose centre starts as an orthonormal colour transform followed by the
orthonormal 8x8 DCT, and the synthesis starts as its transpose, so the untrained
codec is already a block transform with uniform quantization; GDN/IGDN and the 3x3
latent-domain residual convolutions start as the identity; the hyperprior's output
starts as a per-channel Gaussian fitted to the data.  Training then learns what the
DCT misses (overlap between blocks, a colour basis, nonlinear normalisation) and the
hyperprior's spatial adaptation.

Units: pixels enter level-shifted (-128..127); latents are in the same units (the
initial transform is orthonormal), so one quantizer step ``s`` means about the same
distortion at any rate: the latents are coded as ``round((y - mean) / s)`` and
``s`` comes from the quality (variable rate from one set of weights).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..entropy.densities import FactorizedDensity, GaussianConditional

__all__ = ["LearnedCodecNet", "GDN", "dct_colour_basis", "BLOCK", "STRIDE"]

BLOCK = 8  # latent stride in pixels
STRIDE = 32  # the hyper-latents' stride: images are padded to a multiple of it
MEAN_UNIT = 16.0  # the hyper-synthesis outputs mean / MEAN_UNIT (keeps its integer path in range)


def dct_colour_basis(channels: int = 192) -> np.ndarray:
    """``channels x 3 x 8 x 8``: orthonormal colour (luma, two colour differences) times
    the orthonormal 2-D DCT-II, luma's 64 frequencies first, each colour's in zigzag-like
    order of ``u + v``; fewer channels keep the lowest frequencies of each colour."""
    n = BLOCK
    k = np.arange(n)
    c = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    c[0] /= np.sqrt(2.0)
    colour = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], np.float64)
    colour /= np.linalg.norm(colour, axis=1, keepdims=True)
    freqs = sorted(((u, v) for u in range(n) for v in range(n)), key=lambda t: (t[0] + t[1], t[0]))
    basis = [colour[ci][:, None, None] * np.outer(c[u], c[v])[None] for ci in range(3) for u, v in freqs]
    per = channels // 3
    keep = [basis[ci * 64 + f] for ci in range(3) for f in range(per)]
    return np.stack(keep).astype(np.float32)


class GDN(nn.Module):
    """Generalised divisive normalisation (inverse: IGDN) on ``x / unit``, starting as the
    identity: ``y_i = x_i / sqrt(beta_i + sum_j gamma_ij (x_j/unit)^2)``."""

    def __init__(self, channels: int, inverse: bool = False, unit: float = 64.0):
        super().__init__()
        self.inverse, self.unit = inverse, unit
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(torch.full((channels, channels), 1e-6))

    def forward(self, x):
        u = x / self.unit
        gamma = self.gamma.clamp_min(0)[:, :, None, None]
        norm = torch.sqrt(F.conv2d(u * u, gamma, self.beta.clamp_min(1e-4)))
        return x * norm if self.inverse else x / norm


def hyper_synthesis(nz: int, m: int, width: int = 64) -> nn.Sequential:
    """ẑ -> (mean / MEAN_UNIT, log scale) per latent channel; only 3x3/1x1 convolutions,
    ReLUs and nearest upsampling, so that :class:`IntegerNet` can run it exactly."""
    return nn.Sequential(nn.Conv2d(nz, width, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 2 * m, 1))


class LearnedCodecNet(nn.Module):
    """Analysis ``g_a``, synthesis ``g_s``, hyper-analysis ``h_a``, hyper-synthesis ``h_s``,
    the hyper-latents' factorized density and the latents' Gaussian conditional."""

    def __init__(self, m: int = 192, nz: int = 32, width: int = 64):
        super().__init__()
        self.m, self.nz, self.width = m, nz, width
        k = 2 * BLOCK
        self.analysis = nn.Conv2d(3, m, k, stride=BLOCK, padding=BLOCK // 2)
        self.gdn = GDN(m)
        self.a_res = nn.Conv2d(m, m, 3, padding=1)
        self.s_res = nn.Conv2d(m, m, 3, padding=1)
        self.igdn = GDN(m, inverse=True)
        self.synthesis = nn.ConvTranspose2d(m, 3, k, stride=BLOCK, padding=BLOCK // 2)
        self.h_a = nn.Sequential(nn.Conv2d(m, width, 3, padding=1), nn.LeakyReLU(0.1),
                                 nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(0.1),
                                 nn.Conv2d(width, nz, 3, stride=2, padding=1))
        self.h_s = hyper_synthesis(nz, m, width)
        self.z_density = FactorizedDensity(nz)
        self.conditional = GaussianConditional()
        self._init_transform()

    @torch.no_grad()
    def _init_transform(self):
        basis = torch.from_numpy(dct_colour_basis(self.m))
        lo, hi = BLOCK // 2, BLOCK // 2 + BLOCK
        for conv in (self.analysis, self.synthesis):
            conv.weight.zero_()
            conv.bias.zero_()
        self.analysis.weight[:, :, lo:hi, lo:hi] = basis
        self.synthesis.weight[:, :, lo:hi, lo:hi] = basis  # ConvTranspose weight: in x out x k x k
        for conv in (self.a_res, self.s_res):
            conv.weight.zero_()
            conv.bias.zero_()

    @torch.no_grad()
    def init_prior(self, x: torch.Tensor) -> None:
        """Start the hyper-synthesis as a static per-channel Gaussian fitted to the
        latents of ``x`` (mean 0, the channel's RMS as scale)."""
        y = self.encode_latents(x)
        rms = y.pow(2).mean(dim=(0, 2, 3)).sqrt().clamp_min(0.5)
        last = self.h_s[-1]
        last.weight.mul_(0.01)
        last.bias.zero_()
        last.bias[self.m:] = rms.log()

    def encode_latents(self, x):
        y = self.gdn(self.analysis(x))
        return y + self.a_res(y)

    def decode_latents(self, y):
        return self.synthesis(self.igdn(y + self.s_res(y)))

    def hyper(self, y):
        return self.h_a(y / 16.0)

    def prior(self, z_hat):
        """(mean, scale) of every latent, in the latents' units."""
        out = self.h_s(z_hat)
        return out[:, : self.m] * MEAN_UNIT, out[:, self.m:].exp()

    def forward(self, x, log2_step):
        """Training pass on level-shifted pixels ``x`` (N x 3 x H x W, H and W multiples of
        STRIDE) with a quantizer step per image (``log2_step``: N).  Returns
        (reconstruction, bits of y, bits of z) with noise for the rates and
        straight-through rounding for the reconstruction (Minnen's 'mixed' quantization)."""
        s = torch.exp2(log2_step).view(-1, 1, 1, 1)
        y = self.encode_latents(x)
        z = self.hyper(y)
        z_noisy = z + torch.empty_like(z).uniform_(-0.5, 0.5)
        z_hat = z + (torch.round(z) - z).detach()
        mean, scale = self.prior(z_hat)
        v = (y - mean) / s
        v_noisy = v + torch.empty_like(v).uniform_(-0.5, 0.5)
        y_bits = -torch.log2(self.conditional.likelihood(v_noisy, torch.zeros_like(v), scale / s)).sum()
        z_bits = -torch.log2(self.z_density.likelihood(z_noisy)).sum()
        y_hat = mean + s * (v + (torch.round(v) - v).detach())
        return self.decode_latents(y_hat), y_bits, z_bits


def rd_lambda(log2_step: torch.Tensor) -> torch.Tensor:
    """Weight of the MSE (pixels, per channel) against bits per pixel that makes step ``s``
    the right step for its rate: at high rate an orthonormal transform of 3 channels has
    dR/dD = -3 / (2 ln2 D) with D = s^2/12, so lambda = 18 / (ln2 s^2)."""
    return 18.0 / (math.log(2.0) * torch.exp2(2.0 * log2_step))
