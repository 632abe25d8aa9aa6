"""Image files on disk: reading any image Pillow opens into the codec's modes (16-bit
colour PNG and TIFF through OpenCV), and writing decoded .hcx pixels to any format
Pillow writes (16-bit colour to PNG or TIFF through OpenCV); shared by the CLI and batch."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from . import _codec, _info
from ._errors import CodecError
from ._image import codec_mode

__all__ = ["read_image", "hcx_to_image"]


def read_image(path: Path) -> tuple:
    """``(image, info)``: the image at ``path`` as a PIL image of mode L, RGB, RGBA or
    I;16, or as a uint16 array for 16-bit colour PNG and TIFF files (which Pillow
    reduces to 8 bits), and its ``info`` (EXIF, ICC profile, XMP).  Raises CodecError
    if it cannot be read, is a decompression bomb, or has neither 8 nor 16 bits."""
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
    if im.mode in ("RGB", "RGBA") and _sixteen_bit_colour(path, im):
        import cv2

        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.dtype == np.uint16 and arr.ndim == 3 and arr.shape[2] in (3, 4):
            code = cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
            return np.ascontiguousarray(cv2.cvtColor(arr, code)), dict(im.info)
    try:
        return codec_mode(im), dict(im.info)
    except CodecError as exc:
        raise CodecError(f"{path}: {exc}") from None


def _sixteen_bit_colour(path: Path, im) -> bool:
    """Whether a file Pillow opened as 8-bit RGB(A) really holds 16-bit samples."""
    if im.format == "PNG":
        with open(path, "rb") as f:
            head = f.read(26)
        return len(head) == 26 and head[24] == 16  # IHDR bit depth
    if im.format == "TIFF":
        return set(getattr(im, "tag_v2", {}).get(258, ()) or ()) == {16}  # BitsPerSample
    return False


def hcx_to_image(data: bytes, fmt: str, dst: Path | str = "output", **decode_options) -> tuple[bytes, np.ndarray]:
    """Decode .hcx bytes and write the pixels, with the file's EXIF and ICC profile, as
    Pillow format ``fmt``; returns the file's bytes and the pixels."""
    from PIL import Image

    pixels = _codec.decode(data, **decode_options)
    if pixels.dtype == np.uint16 and pixels.ndim == 3 and pixels.shape[2] > 1:
        return _wide_colour(pixels, fmt, dst), pixels
    buf = io.BytesIO()
    try:
        Image.fromarray(pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels).save(
            buf, fmt, **_info.metadata(data))
    except (OSError, KeyError, ValueError, SyntaxError) as exc:
        raise CodecError(f"{dst}: Pillow cannot write this image as {fmt} ({exc})") from None
    return buf.getvalue(), pixels


def _wide_colour(pixels: np.ndarray, fmt: str, dst) -> bytes:
    """16-bit RGB(A) as PNG or TIFF bytes (through OpenCV: Pillow has no such mode)."""
    import cv2

    ext = {"PNG": ".png", "TIFF": ".tif"}.get(fmt)
    if ext is None:
        raise CodecError(f"{dst}: a 16-bit colour image can be written as .png or .tif, not as {fmt}")
    code = cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
    ok, buf = cv2.imencode(ext, cv2.cvtColor(pixels, code))
    if not ok:
        raise CodecError(f"{dst}: OpenCV cannot write this 16-bit image as {fmt}")
    return buf.tobytes()
