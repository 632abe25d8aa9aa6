"""The ``dcnn`` stage's network: the design of the paper the project started from.

Fixed 32x32 blocks go through convolutions and max-pooling down to 4x4x64, a fully
connected layer makes the bottleneck (``K`` = 512 numbers per block: with 128 the
curve flattened at 22.4 dB on Kodak after 15 minutes of training, below the BD window), and a mirrored decoder
(fully connected, then upsampling and convolutions) rebuilds the block.  Trained with
Adam on the MSE plus the rate of the quantized bottleneck under a learned per-channel
Gaussian (the same quantizer-step-per-crop scheme as ``learned``, so one set of weights
serves every quality).  No GDN, no hyperprior, no overlap between blocks: measured
beside ``learned`` it shows what those buy.
"""

from __future__ import annotations

import torch
from torch import nn

from ..entropy.densities import GaussianConditional

__all__ = ["DCNNNet", "BLOCK"]

BLOCK = 32
UNIT = 64.0  # the bottleneck's scale: latents of tens to hundreds, like the learned stage's


class DCNNNet(nn.Module):
    def __init__(self, k: int = 512, width: int = 64):
        super().__init__()
        self.k, self.width = k, width
        w2 = width // 2
        self.enc = nn.Sequential(nn.Conv2d(3, w2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(w2, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Flatten(), nn.Linear(width * 16, k))
        self.dec_fc = nn.Sequential(nn.Linear(k, width * 16), nn.ReLU())
        self.dec = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                                 nn.Upsample(scale_factor=2), nn.Conv2d(width, w2, 3, padding=1), nn.ReLU(),
                                 nn.Upsample(scale_factor=2), nn.Conv2d(w2, w2, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(w2, 3, 3, padding=1))
        self.log_scale = nn.Parameter(torch.full((k,), 3.0))  # the per-channel Gaussian's scale (log)
        self.conditional = GaussianConditional()

    def encode_blocks(self, x):
        """N x 3 x 32 x 32 level-shifted pixels -> N x K bottleneck."""
        return self.enc(x / 128.0) * UNIT

    def decode_blocks(self, b):
        return self.dec(self.dec_fc(b / UNIT).view(-1, self.width, 4, 4)) * 128.0

    def forward(self, x, log2_step):
        """Training pass on crops (N x 3 x H x W, multiples of 32), a step per crop."""
        n, _, h, w = x.shape
        blocks = x.unfold(2, BLOCK, BLOCK).unfold(3, BLOCK, BLOCK)  # N x 3 x by x bx x 32 x 32
        by, bx = blocks.shape[2:4]
        blocks = blocks.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, BLOCK, BLOCK)
        s = torch.exp2(log2_step).repeat_interleave(by * bx)[:, None]
        v = self.encode_blocks(blocks) / s
        noisy = v + torch.empty_like(v).uniform_(-0.5, 0.5)
        scale = self.log_scale.exp()[None] / s
        bits = -torch.log2(self.conditional.likelihood(noisy, torch.zeros_like(v), scale)).sum()
        out = self.decode_blocks(s * (v + (torch.round(v) - v).detach()))
        out = out.view(n, by, bx, 3, BLOCK, BLOCK).permute(0, 3, 1, 4, 2, 5).reshape(n, 3, h, w)
        return out, bits, torch.zeros(())
