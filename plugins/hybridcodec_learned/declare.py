"""What hybridcodec-learned adds to hybridcodec besides its stages and commands: presets
and the pipelines ``compare`` runs by default.  Run once, from the entry point
``hybridcodec.plugins``, when the core first needs the whole list; cheap (no torch, no
weights).  Each preset names the best complete pipeline of its transform as measured on
Kodak (benchmarks/results/)."""

from __future__ import annotations

import importlib.util

from hybridcodec import register_compare_default, register_preset
from hybridcodec.plugin import register_cost_probe

__all__ = ["register"]

PRESETS = (
    ("learned", "learned|arith",
     "learned GDN transform with a mean-scale hyperprior, latents coded by arith (on Kodak about 5 % smaller "
     "than with the learned entropy model, learned|rans; plugin hybridcodec-learned)"),
    ("lifting", "ycbcr(subsampling=444)|lifting|deadzone|arith",
     "the wavelet preset with learned predict/update steps added to CDF 9/7's lifting (plugin hybridcodec-learned)"),
    ("hybrid", "ycbcr(subsampling=444)|lifting|deadzone|arith|cnn|alf",
     "the best rate-distortion this project decodes: learned lifting, the learned post-filter, then the adaptive "
     "loop filter fitted to what the post-filter leaves (about 160 kMACs a pixel at most; plugin hybridcodec-learned)"),
    ("dcnn", "dcnn|arith",
     "the seed paper's design: conv + pooling + fully connected bottleneck on 32x32 blocks, its bottleneck "
     "coded by arith (on Kodak 25-53 % smaller than with its learned per-channel model; plugin hybridcodec-learned)"),
)
# deep and mixed pipelines beside the core's in `compare`: the learned transform (its preset
# codes the latents with the classical arith), the wavelet with learned lifting steps, and
# hybrid (lifting, post-filter and adaptive loop filter: the best this project decodes)
COMPARE = ("learned", "lifting", "hybrid")
# with `compare --all` too: hybrid without its loop filter, the learned post-filter on the learned transform and on the
# classical wavelet (the slowest encodes), the learned transform's latents coded by its own
# entropy model (about 5 % larger than with arith), and the seed paper's block autoencoder
# (never above 24 dB)
COMPARE_SLOW = ("lifting+cnn", "learned+cnn", "wavelet+cnn", "learned|rans", "dcnn")


def register() -> None:
    for name, spec, doc in PRESETS:
        register_preset(name, spec, doc)
    if importlib.util.find_spec("torch") is not None:
        from .cost import probe  # no torch until a probe runs

        register_cost_probe(probe)
    if importlib.util.find_spec("torch") is not None:  # without torch they could not run
        for spec in COMPARE:
            register_compare_default(spec)
        for spec in COMPARE_SLOW:
            register_compare_default(spec, slow=True)
