"""What ``train transform`` needs to know about each learned transform: how to build,
initialise and export it, its loss, and the range of quantizer steps it is trained
over (the stages map quality 1..100 onto the same range: see :func:`log2_step`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..stages._steps import LOG2_STEP_RANGE

__all__ = ["MODELS", "ModelSpec", "register_model", "LOG2_STEP_RANGE"]


@dataclass
class ModelSpec:
    """A model ``train transform --model NAME`` trains: its weights file's default name and
    format (the weights layer's), and how to build, start, batch, score and pack it."""

    name: str
    file: str
    format: str
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
    from ..nets.learned import rd_lambda

    x_hat, y_bits, z_bits = net(x, log2_step)
    mse = ((x_hat - x) ** 2).mean(dim=(1, 2, 3))
    bpp = (y_bits + z_bits) / (x.shape[0] * x.shape[2] * x.shape[3])
    loss = bpp + (rd_lambda(log2_step) * mse).mean()
    psnr = (10 * torch.log10(255.0**2 / mse.clamp_min(1e-6))).mean().item()
    return loss, bpp.item(), psnr


def _lazy(module: str, name: str) -> Callable:
    """``module.name`` (a builder, a loss, an export; module relative to the plugin),
    imported when first called: a model's network module loads only when that model trains."""
    def call(*args):
        from importlib import import_module

        return getattr(import_module(module, "hybridcodec_learned"), name)(*args)

    return call


def _pack(format: str) -> Callable:
    """The weights layer's packer of a format (what the stage's weight file holds)."""
    def call(net):
        from ..weights import FORMATS

        return FORMATS[format].pack(net)

    return call


_ONE_RATE = {"dcnn": 1e-3, "lifting": 3e-3}  # models trained at one learning rate


def _one_rate(model):
    return lambda net: [{"params": list(net.parameters()), "lr": _ONE_RATE[model]}]


MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Make ``hybridcodec train transform --model NAME`` train ``spec``."""
    MODELS[spec.name] = spec
    return spec


register_model(ModelSpec("learned", "learned.pt", "learned", crop=128, batch=8, build=_lazy(".nets.learned", "LearnedCodecNet"),
                         init=lambda net, x: net.init_prior(x), groups=_learned_groups, loss=_rd_loss,
                         export=_pack("learned")))
# from scratch, as the seed paper: one learning rate for everything
register_model(ModelSpec("dcnn", "dcnn.pt", "dcnn", crop=64, batch=16, build=_lazy(".nets.dcnn", "DCNNNet"),
                         init=lambda net, x: None, groups=_one_rate("dcnn"), loss=_rd_loss, export=_pack("dcnn")))
# CDF 9/7 plus learned steps whose last layers start at zero.  Learning rates measured by
# 600-step runs (1 thread, ~7 min), BD-rate against `wavelet` on 6 Kodak images at q25-85:
# 3e-4 -0.16 %, 1e-3 -0.68 %, 3e-3 -2.33 %.  Steps: the deadzone's base steps of the sweep
register_model(ModelSpec("lifting", "lifting.pt", "lifting", crop=96, batch=8, build=_lazy(".nets.lifting", "LiftingNet"),
                         init=lambda net, x: None, groups=_one_rate("lifting"),
                         loss=_lazy(".training.lifting_loss", "rd_loss"), export=_pack("lifting"),
                         log2_range=(1.7, 9.0)))
# the same steps and the ctxrans model's scales under one loss (the scales start at
# the shipped ctxrans.npz, fitted on CDF 9/7: where the steps start)
register_model(ModelSpec("lifting-joint", "lifting-joint.pt", "lifting", crop=96, batch=8,
                         build=_lazy(".training.joint", "JointNet"), init=lambda net, x: None,
                         groups=_one_rate("lifting"), loss=_lazy(".training.joint", "rd_loss"),
                         export=_lazy(".training.joint", "export"), log2_range=(1.7, 9.0),
                         companion=_lazy(".training.joint", "companion"), companion_name="ctxrans-{stem}.npz"))
