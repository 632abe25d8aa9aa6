"""Learned entropy models for latents (the first piece of the learned-transform issue):
a factorized density for hyper-latents (``FactorizedDensity``, Ballé et al. 2018) and a
Gaussian conditional with a scale table (``GaussianConditional``, Minnen et al. 2018).

Each has a torch side for training (likelihoods of noisy or rounded values, so that
-log2 of them is the rate term of the loss) and an integer side for coding:
``tables()`` turns the model into :class:`hybridcodec.SymbolTables` once (as
CompressAI's ``update()`` does), to be stored beside the weights, so that the coder
(`hybridcodec.entropy.rans`) only ever sees integers and encoder and decoder agree on
any machine.  Which table a symbol uses (the scale index) must itself come from a
deterministic path: see the learned-transform issue.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hybridcodec import SymbolTables

__all__ = ["FactorizedDensity", "GaussianConditional", "scale_table", "TAIL"]

TAIL = 1e-9  # probability mass left to the escape symbol at each table's two ends together
_MIN_LIKELIHOOD = 1e-9


def scale_table(low: float = 0.11, high: float = 256.0, n: int = 64) -> np.ndarray:
    """Log-spaced scales of the Gaussian tables (float64)."""
    return np.exp(np.linspace(math.log(low), math.log(high), n))


class GaussianConditional(nn.Module):
    """p(y | mean, scale): a Gaussian convolved with a unit box, evaluated at integers.

    Examples
    --------
    >>> gc = GaussianConditional()
    >>> t = gc.tables()
    >>> len(t.lengths), int(t.lengths[0]) < int(t.lengths[-1])
    (64, True)
    """

    def __init__(self, scales=None):
        super().__init__()
        self.register_buffer("scales", torch.as_tensor(scale_table() if scales is None else scales,
                                                       dtype=torch.float64))

    def likelihood(self, y: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Probability of each (noisy or rounded) ``y`` under its Gaussian."""
        s = scale.clamp_min(float(self.scales[0]))
        v = (y - mean).abs()  # the upper tail is the more accurate side of the CDF
        upper = _normal_cdf((0.5 - v) / s)
        lower = _normal_cdf((-0.5 - v) / s)
        return (upper - lower).clamp_min(_MIN_LIKELIHOOD)

    def indexes(self, scale: np.ndarray) -> np.ndarray:
        """Table index of each scale: the first table scale at or above it (clipped)."""
        table = self.scales.numpy()
        return np.clip(np.searchsorted(table, np.asarray(scale, np.float64), side="left"), 0,
                       len(table) - 1).astype(np.int32)

    def tables(self) -> SymbolTables:
        """Integer CDFs of the zero-mean Gaussian at every table scale, symbols
        ``-r .. r`` with ``r`` where the tails hold less than TAIL, plus the escape."""
        from scipy.special import ndtr

        pmfs, offsets, width = [], [], 0
        for s in self.scales.numpy():
            r = int(math.ceil(_tail_bound(TAIL) * s))
            k = np.arange(-r, r + 1, dtype=np.float64)
            pmfs.append(ndtr((k + 0.5) / s) - ndtr((k - 0.5) / s))
            offsets.append(-r)
            width = max(width, len(k))
        return _tables(pmfs, offsets, width)


class FactorizedDensity(nn.Module):
    """A learned univariate density per channel (the 'factorized prior' of Ballé et al.
    2018): a monotone cumulative c(x) = sigmoid(f(x)) made of small per-channel layers
    with positive weights, evaluated as c(x + 1/2) - c(x - 1/2).

    Examples
    --------
    >>> fd = FactorizedDensity(4)
    >>> z = torch.zeros(1, 4, 2, 2)
    >>> bool((fd.likelihood(z) > 0).all())
    True
    """

    def __init__(self, channels: int, filters=(3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(dims) - 1))
        self.matrices, self.biases, self.factors = nn.ParameterList(), nn.ParameterList(), nn.ParameterList()
        for i in range(len(dims) - 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(dims) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.channels = channels

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) for x of shape (channels, 1, n)."""
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Probability of each (noisy or rounded) value of ``z`` (N x C x H x W)."""
        n, c, h, w = z.shape
        x = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower, upper = self._logits(x - 0.5), self._logits(x + 0.5)
        sign = -torch.sign(lower + upper).detach()  # subtract in the tail where sigmoid is accurate
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.clamp_min(_MIN_LIKELIHOOD).reshape(c, n, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def tables(self, search: int = 1 << 12) -> SymbolTables:
        """One integer CDF per channel over the integers where the learned cumulative
        moves from TAIL/2 to 1 - TAIL/2 (searched within +-``search``)."""
        grid = torch.arange(-search, search + 1, dtype=torch.float32)
        c = torch.sigmoid(self._logits(grid.expand(self.channels, 1, -1) + 0.5))[:, 0].double().numpy()
        pmfs, offsets, width = [], [], 0
        for ch in range(self.channels):
            lo = int(np.searchsorted(c[ch], TAIL / 2))  # first integer whose upper edge passes the tail
            hi = max(lo, int(np.searchsorted(c[ch], 1 - TAIL / 2)))
            cdf = np.concatenate([[c[ch, lo - 1] if lo > 0 else 0.0], c[ch, lo : hi + 1]])
            pmfs.append(np.clip(np.diff(cdf), 0, None))
            offsets.append(lo - search)
            width = max(width, hi - lo + 1)
        return _tables(pmfs, offsets, width)


def _tables(pmfs, offsets, width) -> SymbolTables:
    """Rows of different lengths as SymbolTables (each row: its symbols + escape)."""
    cdfs = np.zeros((len(pmfs), width + 2), np.int64)
    lengths = np.zeros(len(pmfs), np.int32)
    for i, p in enumerate(pmfs):
        one = SymbolTables.from_pmfs(np.asarray(p, np.float64)[None], [0])
        n = int(one.lengths[0])
        cdfs[i, :n] = one.cdfs[0, :n]
        cdfs[i, n:] = 1 << 16
        lengths[i] = n
    return SymbolTables(cdfs.astype(np.int32), lengths, np.asarray(offsets, np.int32))


def _normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def _tail_bound(mass: float) -> float:
    """x with P(|N(0,1)| > x) = mass."""
    from scipy.special import ndtri

    return float(-ndtri(mass / 2))
