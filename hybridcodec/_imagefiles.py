"""Image files on disk: reading any image Pillow opens into the codec's modes, and
writing decoded .hcx pixels to any format Pillow writes (shared by the CLI and batch)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from . import _codec
from ._errors import CodecError
from ._image import codec_mode

__all__ = ["read_image", "hcx_to_image"]


def read_image(path: Path):
    """The image at ``path`` as a PIL image of mode L, RGB or RGBA (CodecError if it
    cannot be read, is a decompression bomb, or has more than 8 bits)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
    except FileNotFoundError:
        raise CodecError(f"{path}: no such file") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise CodecError(f"{path}: cannot read as an image ({exc})") from None
    try:
        return codec_mode(im)
    except CodecError as exc:
        raise CodecError(f"{path}: {exc}") from None


def hcx_to_image(data: bytes, fmt: str, dst: Path | str = "output", **decode_options) -> tuple[bytes, np.ndarray]:
    """Decode .hcx bytes and write the pixels, with the file's EXIF and ICC profile, as
    Pillow format ``fmt``; returns the file's bytes and the pixels."""
    from PIL import Image

    pixels = _codec.decode(data, **decode_options)
    buf = io.BytesIO()
    try:
        Image.fromarray(pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels).save(
            buf, fmt, **_codec.metadata(data))
    except (OSError, KeyError, ValueError, SyntaxError) as exc:
        raise CodecError(f"{dst}: Pillow cannot write this image as {fmt} ({exc})") from None
    return buf.getvalue(), pixels
