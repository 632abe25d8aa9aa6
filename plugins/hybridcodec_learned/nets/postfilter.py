"""The post-filter network: a residual CNN at half resolution, conditioned on the
quantization strength."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hybridcodec import ijg_scale

__all__ = ["PostFilterNet", "strength"]


def strength(quality: float) -> float:
    """Quantization strength of a quality, from the IJG scale both hybridcodec quantizers
    use (:func:`hybridcodec.ijg_scale`): log2(S) / 8."""
    return math.log2(max(ijg_scale(quality), 1.0)) / 8.0


PHASE = 16  # pixels: the grid of 8x8 blocks and of 16x16 4:2:0 macroblocks


def _phase_maps(h2: int, w2: int, y0: int, x0: int, dtype) -> torch.Tensor:
    """One-hot maps of where each folded cell sits in the 16-pixel grid (8 rows + 8 columns).

    Convolutions cannot tell where block edges are; these maps let the network learn
    grid-dependent corrections such as deblocking."""
    n = PHASE // 2
    ry = (torch.arange(h2) + y0 // 2) % n
    rx = (torch.arange(w2) + x0 // 2) % n
    my = F.one_hot(ry, n).T.to(dtype)[:, :, None].expand(n, h2, w2)
    mx = F.one_hot(rx, n).T.to(dtype)[:, None, :].expand(n, h2, w2)
    return torch.cat([my, mx])


class PostFilterNet(nn.Module):
    """``x + f(x, strength, grid phase)``: the image is folded 2x2 into 12 channels (so
    3x3 kernels see 6x6 pixels and the work is a quarter), the strength is a constant
    extra channel, the position in the 16-pixel block grid is 16 one-hot channels, and
    the output is a correction unfolded back to full size."""

    def __init__(self, channels: int = 48, layers: int = 8):
        super().__init__()
        self.channels, self.layers = channels, layers
        self.head = nn.Conv2d(12 + 1 + PHASE, channels, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(layers - 2))
        self.tail = nn.Conv2d(channels, 12, 3, padding=1)
        for conv in [self.head, *self.body]:  # keep the signal alive through the ReLU stack
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.tail.weight)  # start as the identity
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor, s: torch.Tensor, origin: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """``x``: N x 3 x H x W in [0, 1]; ``s``: N strengths; ``origin``: where ``x``'s
        top-left pixel sits in the image (even numbers), for the grid phase."""
        h, w = x.shape[-2:]
        xp = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) else x
        u = F.pixel_unshuffle(xp, 2)
        smap = s.view(-1, 1, 1, 1).expand(-1, 1, *u.shape[-2:]).to(u.dtype)
        grid = _phase_maps(*u.shape[-2:], *origin, u.dtype).expand(u.shape[0], -1, -1, -1)
        # ReLUs in place: a tile's activations one copy fewer (the same numbers; autograd allows it)
        y = F.relu(self.head(torch.cat([u - 0.5, smap, grid], 1)), inplace=True)
        for conv in self.body:
            y = F.relu(conv(y), inplace=True)
        out = xp + F.pixel_shuffle(self.tail(y), 2)
        return out[..., :h, :w]
