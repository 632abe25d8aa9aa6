"""What ``train transform`` needs to know about each learned transform: how to build,
initialise and export it, its loss, and the range of quantizer steps it is trained
over (the stages map quality 1..100 onto the same range: see :func:`log2_step`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["MODELS", "ModelSpec", "log2_step", "LOG2_STEP_RANGE"]

# Quantizer steps (latent units = pixel units) from quality 100 down to quality 0: about 2.5 bpp / 41 dB
# to 0.1 bpp on Kodak; training draws its steps from the same range (the first range, 1.5..7.5, spent
# half of the training on rates above 38 dB, outside the BD window, and q1 was still 0.5 bpp).
LOG2_STEP_RANGE = (3.0, 8.0)


def log2_step(quality: float) -> float:
    """log2 of the quantizer step of a quality (1..100), linear in the quality, in
    1/256ths: only +, * and rounding of floats, which IEEE 754 makes the same on every
    machine (the step's logarithm feeds the integer table path).

    Examples
    --------
    >>> log2_step(100), log2_step(50), log2_step(1)
    (3.0, 5.5, 7.94921875)
    """
    lo, hi = LOG2_STEP_RANGE
    q = min(max(float(quality), 0.0), 100.0)
    return round((hi - (hi - lo) * q / 100.0) * 256.0) / 256.0


@dataclass
class ModelSpec:
    name: str
    file: str
    crop: int
    batch: int
    build: Callable
    init: Callable  # (net, sample batch) -> None
    groups: Callable  # net -> optimizer parameter groups with their peak learning rates
    loss: Callable  # (net, x, log2_step) -> (loss tensor, bpp, psnr)
    export: Callable  # net -> dict of tensors to save
    log2_range: tuple = LOG2_STEP_RANGE  # the log2 quantizer steps training draws from
    # net -> bytes of a second file trained with the weights (an entropy model), written
    # beside them under companion_name.format(stem=the weights' stem)
    companion: Callable | None = None
    companion_name: str = ""

    def steps(self, u: torch.Tensor) -> torch.Tensor:
        lo, hi = self.log2_range
        return lo + (hi - lo) * u


def _learned_groups(net):
    hyper = ("h_a", "h_s", "z_density")
    slow = [p for n, p in net.named_parameters() if not n.startswith(hyper)]
    fast = [p for n, p in net.named_parameters() if n.startswith(hyper)]
    # The transform starts as a good one (DCT): Adam's per-weight steps must stay small
    # beside it (2e-5; 1e-4 raised the MSE 30x within 3 steps); the hyperprior starts cold.
    return [{"params": slow, "lr": 2e-5}, {"params": fast, "lr": 5e-4}]


def _rd_loss(net, x, log2_step):
    from .transform_net import rd_lambda

    x_hat, y_bits, z_bits = net(x, log2_step)
    mse = ((x_hat - x) ** 2).mean(dim=(1, 2, 3))
    bpp = (y_bits + z_bits) / (x.shape[0] * x.shape[2] * x.shape[3])
    loss = bpp + (rd_lambda(log2_step) * mse).mean()
    psnr = (10 * torch.log10(255.0**2 / mse.clamp_min(1e-6))).mean().item()
    return loss, bpp.item(), psnr


def _lazy(module: str, name: str) -> Callable:
    """``module.name`` (a builder, a loss, an export), imported when first called: a
    model's network module loads only when that model trains."""
    def call(*args):
        from importlib import import_module

        return getattr(import_module(f".{module}", __package__), name)(*args)

    return call


_ONE_RATE = {"dcnn": 1e-3, "lifting": 3e-3}  # models trained at one learning rate


def _one_rate(model):
    return lambda net: [{"params": list(net.parameters()), "lr": _ONE_RATE[model]}]


MODELS = {
    "learned": ModelSpec("learned", "learned.pt", crop=128, batch=8, build=_lazy("transform_net", "LearnedCodecNet"),
                         init=lambda net, x: net.init_prior(x), groups=_learned_groups, loss=_rd_loss,
                         export=_lazy("learned_weights", "export")),
    # from scratch, as the seed paper: one learning rate for everything
    "dcnn": ModelSpec("dcnn", "dcnn.pt", crop=64, batch=16, build=_lazy("dcnn_net", "DCNNNet"),
                      init=lambda net, x: None, groups=_one_rate("dcnn"), loss=_rd_loss,
                      export=_lazy("dcnn_net", "export")),
    # CDF 9/7 plus learned steps whose last layers start at zero.  Learning rates measured by
    # 600-step runs (1 thread, ~7 min), BD-rate against `wavelet` on 6 Kodak images at q25-85:
    # 3e-4 -0.16 %, 1e-3 -0.68 %, 3e-3 -2.33 %.  Steps: the deadzone's base steps of the sweep
    "lifting": ModelSpec("lifting", "lifting.pt", crop=96, batch=8, build=_lazy("lifting_net", "LiftingNet"),
                         init=lambda net, x: None, groups=_one_rate("lifting"), loss=_lazy("lifting_net", "rd_loss"),
                         export=_lazy("lifting_net", "export"), log2_range=(1.7, 9.0)),
    # the same steps and the ctxrans model's scales under one loss (the scales start at
    # the shipped ctxrans.npz, fitted on CDF 9/7: where the steps start)
    "lifting-joint": ModelSpec("lifting-joint", "lifting-joint.pt", crop=96, batch=8,
                               build=_lazy("joint_net", "JointNet"), init=lambda net, x: None,
                               groups=_one_rate("lifting"), loss=_lazy("joint_net", "rd_loss"),
                               export=_lazy("joint_net", "export"), log2_range=(1.7, 9.0),
                               companion=_lazy("joint_net", "companion"), companion_name="ctxrans-{stem}.npz"),
}
