"""Turning user images (numpy arrays, PIL images) into the codec's uint8 arrays."""

from __future__ import annotations

import numpy as np

from ._errors import CodecError

__all__ = ["as_uint8_image", "MODES"]

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


def _from_pil(im) -> np.ndarray:
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "LA":
        im = im.convert("RGBA")
    if im.mode not in ("L", "RGB", "RGBA"):
        raise CodecError(
            f"cannot encode PIL mode {im.mode!r}; convert to 'L', 'RGB' or 'RGBA' first (im.convert('RGB'))"
        )
    if im.width < 1 or im.height < 1:
        raise CodecError("image has no pixels")
    arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr
