"""What a comparison runs: its settings, and their JSON form for results files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .codecs import DEFAULT_QUALITIES
from .metrics import METRICS

__all__ = ["CompareSettings", "settings_dict", "default_pipelines", "CLASSICAL", "LEARNED"]

CLASSICAL = ["baseline", "dct-arith", "wavelet"]
# deep and mixed pipelines (plugin hybridcodec-learned, with torch): the learned transform
# (its preset codes the latents with the classical arith), the learned post-filter on it, the
# same latents coded by the learned hyperprior entropy model, the learned post-filter on the
# classical wavelet, the seed paper's block autoencoder, and the wavelet with learned lifting
# steps (without and with the post-filter)
LEARNED = ["learned", "learned+cnn", "learned|rans", "wavelet+cnn", "dcnn", "lifting", "lifting+cnn"]


def default_pipelines() -> list:
    """The classical presets, and the learned and mixed pipelines when the learned
    plugin and torch are installed."""
    import importlib.util

    from .._registry import available_stages

    stages = set(available_stages())
    if importlib.util.find_spec("torch") is None or not {"learned", "dcnn", "cnn"} <= stages:
        return list(CLASSICAL)
    return CLASSICAL + [p for p in LEARNED if "lifting" in stages or not p.startswith("lifting")]


@dataclass
class CompareSettings:
    out: str = "compare-results"
    data: str | None = None
    pipelines: list = field(default_factory=default_pipelines)
    codecs: list = field(default_factory=lambda: ["jpeg", "jpeg-opencv", "webp", "jpeg2000", "avif", "heic", "jxl"])
    qualities: list = field(default_factory=lambda: list(DEFAULT_QUALITIES))
    metrics: list = field(default_factory=lambda: list(METRICS))
    jobs: int = 1
    scheduler: str | None = None
    bd_window: tuple = (28.0, 38.0)
    progress: bool = True


def settings_dict(settings: CompareSettings) -> dict:
    d = asdict(settings)
    d["bd_window"] = list(settings.bd_window)
    return d
