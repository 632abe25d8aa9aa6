"""Turning user images (numpy arrays, PIL images) into the codec's arrays: uint8, or
uint16 for 16-bit images."""

from __future__ import annotations

import numpy as np

from ._errors import CodecError

__all__ = ["as_image", "codec_mode", "MODES", "WIDE_MODES"]

MODES = {1: "L", 3: "RGB", 4: "RGBA"}


WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N")  # Pillow's 16-bit grey


def as_image(image) -> tuple[np.ndarray, bool, int]:
    """Return ``(array H x W x C, had_channel_axis, bits)`` or raise CodecError: uint8
    pixels give 8 bits, uint16 pixels 16.

    ``had_channel_axis`` is True when a grey image came as ``H x W x 1``.
    """
    if _is_pil(image):
        arr = _from_pil(image)
        return arr, False, 16 if arr.dtype == np.uint16 else 8
    if not isinstance(image, np.ndarray):
        raise CodecError(
            f"expected a numpy uint8 or uint16 array or a PIL Image; got {type(image).__name__}"
        )
    if image.dtype not in (np.uint8, np.uint16):
        raise CodecError(
            f"expected 8- or 16-bit pixels (dtype uint8 or uint16); got {image.dtype}. Convert first, e.g. "
            "np.clip(np.rint(x * 255), 0, 255).astype(np.uint8) for floats in 0..1, or "
            "np.clip(np.rint(x * 65535), 0, 65535).astype(np.uint16) to keep 16 bits"
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
    return np.ascontiguousarray(arr), axis, 16 if arr.dtype == np.uint16 else 8


def _is_pil(obj) -> bool:
    import sys

    pil = sys.modules.get("PIL.Image")  # no PIL imported: cannot be a PIL image
    return pil is not None and isinstance(obj, pil.Image)


_COLOUR_MODES = ("CMYK", "YCbCr", "LAB", "HSV")  # 8-bit colour: converted to RGB


def codec_mode(im):
    """The PIL image in a mode the codec stores: L, RGB or RGBA.  The one rule used by
    ``encode``, the Pillow plugin's save and the CLI, as Pillow's WebP plugin does:
    1 becomes L; P, LA and PA become RGBA when they carry transparency, else RGB;
    CMYK, YCbCr, LAB and HSV become RGB; 16-bit grey (I;16, and I with values that
    fit 16 bits) stays 16-bit.  Other modes (float, wider integers) raise CodecError:
    reducing them is the caller's decision."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA") or mode in WIDE_MODES:
        return im
    if mode == "I":  # 32-bit integers: kept as 16-bit grey when the values fit
        lo, hi = im.getextrema()
        if 0 <= lo and hi <= 65535:
            return im
        raise CodecError(f"cannot encode PIL mode 'I' with values {lo}..{hi}: only 0..65535 (16 bits) fit")
    if mode == "1":
        return im.convert("L")
    if mode in ("P", "LA", "PA"):
        alpha = mode in ("LA", "PA") or "transparency" in im.info
        return im.convert("RGBA" if alpha else "RGB")
    if mode in _COLOUR_MODES:
        return im.convert("RGB")
    raise CodecError(f"cannot encode PIL mode {mode!r}: not 8- or 16-bit; convert it to 'L', 'RGB', 'RGBA' or "
                     "'I;16' first, choosing how to map its values")


def _from_pil(im) -> np.ndarray:
    im = codec_mode(im)
    if im.width < 1 or im.height < 1:
        raise CodecError("image has no pixels")
    if im.mode in WIDE_MODES or im.mode == "I":
        arr = np.asarray(im).astype(np.uint16)
    else:
        arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr
