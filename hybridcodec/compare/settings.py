"""What a comparison runs: its settings, and their JSON form for results files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .codecs import DEFAULT_QUALITIES
from .metrics import METRICS

__all__ = ["CompareSettings", "settings_dict", "default_pipelines", "default_codecs", "CLASSICAL", "CODECS",
           "MORE_CODECS"]

CLASSICAL = ["baseline", "dct-arith", "wavelet", "hybrid-fast"]
#: The reference codecs of a default run; ``--all`` adds :data:`MORE_CODECS` (OpenCV's JPEG
#: is libjpeg again: the same points as Pillow's at every quality on the sample photos).
CODECS = ["jpeg", "webp", "jpeg2000", "avif", "heic", "jxl"]
MORE_CODECS = ["jpeg-opencv"]


def default_pipelines(everything: bool = False) -> list:
    """The core's presets, then the pipelines that installed plugins ask for
    (:func:`hybridcodec.register_compare_default`; with ``everything``, their slow or
    redundant ones too)."""
    from .._plugins import compare_defaults

    return CLASSICAL + [p for p in compare_defaults(everything) if p not in CLASSICAL]


def default_codecs(everything: bool = False) -> list:
    return CODECS + (MORE_CODECS if everything else [])


@dataclass
class CompareSettings:
    out: str = "compare-results"
    data: str | None = None
    pipelines: list = field(default_factory=default_pipelines)
    codecs: list = field(default_factory=default_codecs)
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
