"""What a comparison runs: its settings, and their JSON form for results files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .codecs import DEFAULT_QUALITIES
from .metrics import METRICS

__all__ = ["CompareSettings", "settings_dict", "default_pipelines", "CLASSICAL"]

CLASSICAL = ["baseline", "dct-arith", "wavelet"]


def default_pipelines() -> list:
    """The core's presets, then the pipelines that installed plugins ask for
    (:func:`hybridcodec.register_compare_default`)."""
    from .._plugins import compare_defaults

    return CLASSICAL + [p for p in compare_defaults() if p not in CLASSICAL]


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
