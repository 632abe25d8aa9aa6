"""``hybridcodec compare``: rate-distortion curves, BD-rates, speed and plots of
hybridcodec pipelines against JPEG and the other codecs."""

from .codecs import REFERENCE_CODECS, Codec, hybrid_codec, reference_codec
from .runner import run_compare
from .settings import CompareSettings

__all__ = ["CompareSettings", "run_compare", "Codec", "REFERENCE_CODECS", "reference_codec", "hybrid_codec"]
