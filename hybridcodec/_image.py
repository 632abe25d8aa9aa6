"""Turning user images (numpy arrays, PIL images) into the codec's uint8 arrays."""

from __future__ import annotations

import numpy as np

from ._errors import CodecError

__all__ = ["as_uint8_image", "codec_mode", "MODES"]

MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def as_uint8_image(image) -> tuple[np.ndarray, bool]:
    """Return ``(array H x W x C uint8, had_channel_axis)`` or raise CodecError.

    ``had_channel_axis`` is True when a grey image came as ``H x W x 1``.
    """
    if _is_pil(image):
        return _from_pil(image), False
    if not isinstance(image, np.ndarray):
        raise CodecError(
            f"expected a numpy uint8 array or a PIL Image; got {type(image).__name__}"
        )
    if image.dtype != np.uint8:
        raise CodecError(
            f"expected 8-bit pixels (dtype uint8); got {image.dtype}. "
            "Scale and convert first, e.g. np.clip(x * 255, 0, 255).astype(np.uint8)"
        )
    if image.ndim == 2:
        arr, axis = image[:, :, None], False
    elif image.ndim == 3 and image.shape[2] in (1, 3, 4):
        arr, axis = image, image.shape[2] == 1
    else:
        raise CodecError(
            f"expected an image of shape H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA); "
            f"got shape {image.shape}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise CodecError(f"image has no pixels (shape {image.shape})")
    return np.ascontiguousarray(arr), axis


def _is_pil(obj) -> bool:
    mod = type(obj).__module__
    return mod.startswith("PIL.") and hasattr(obj, "mode") and hasattr(obj, "getdata")


_COLOUR_MODES = ("CMYK", "YCbCr", "LAB", "HSV")  # 8-bit colour: converted to RGB


def codec_mode(im):
    """The PIL image in a mode the codec stores: L, RGB or RGBA.  The one rule used by
    ``encode``, the Pillow plugin's save and the CLI, as Pillow's WebP plugin does:
    1 becomes L; P, LA and PA become RGBA when they carry transparency, else RGB;
    CMYK, YCbCr, LAB and HSV become RGB.  Other modes (16-bit, 32-bit, float) raise
    CodecError: reducing them to 8 bits is the caller's decision."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "LA", "PA"):
        alpha = mode in ("LA", "PA") or "transparency" in im.info
        return im.convert("RGBA" if alpha else "RGB")
    if mode in _COLOUR_MODES:
        return im.convert("RGB")
    raise CodecError(f"cannot encode PIL mode {mode!r}: it is not 8-bit; convert it to 'L', 'RGB' or 'RGBA' "
                     "first, choosing how to map its values to 0..255")


def _from_pil(im) -> np.ndarray:
    im = codec_mode(im)
    if im.width < 1 or im.height < 1:
        raise CodecError("image has no pixels")
    arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr
