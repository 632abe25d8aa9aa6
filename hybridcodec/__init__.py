"""hybridcodec: classical and learned image-compression stages in one pipeline.

>>> import numpy as np, hybridcodec
>>> img = np.zeros((8, 8, 3), np.uint8)
>>> hybridcodec.decode(hybridcodec.encode(img)).shape
(8, 8, 3)
"""

from . import stages as _stages  # noqa: F401  registers the built-in stages
from ._codec import DEFAULT_MAX_PIXELS, DEFAULT_PRESET, WORK_FREE, WORK_PER_BYTE, decode, encode, work_limit
from ._info import info, metadata
from ._errors import CodecError, StageNotInstalledError, TruncatedError
from ._metrics import bd_psnr, bd_rate, psnr
from ._params import Param
from ._quality import ijg_scale
from ._pipeline import PRESETS, Pipeline, parse_spec, register_preset
from ._plugins import register_compare_default
from ._registry import ENTRY_POINT_GROUP, available_stages, get_stage, register_stage
from ._model import EntropyModel, SymbolTables
from ._stage import KINDS, Band, Context, PlaneInfo, Stage

__version__ = "0.1.0"


def register_pillow() -> None:
    """Teach Pillow to open and save .hcx (format ``HCX``); the same as
    ``import hybridcodec.pillow``, for code where linters strip unused imports."""
    from . import pillow

    pillow.register()

__all__ = [
    "encode",
    "decode",
    "info",
    "metadata",
    "CodecError",
    "StageNotInstalledError",
    "TruncatedError",
    "Pipeline",
    "PRESETS",
    "register_preset",
    "register_compare_default",
    "parse_spec",
    "Stage",
    "Param",
    "PlaneInfo",
    "Band",
    "EntropyModel",
    "SymbolTables",
    "Context",
    "KINDS",
    "register_stage",
    "get_stage",
    "available_stages",
    "ENTRY_POINT_GROUP",
    "DEFAULT_MAX_PIXELS",
    "WORK_FREE",
    "WORK_PER_BYTE",
    "work_limit",
    "DEFAULT_PRESET",
    "psnr",
    "ijg_scale",
    "bd_rate",
    "bd_psnr",
    "register_pillow",
    "__version__",
]
