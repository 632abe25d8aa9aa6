"""Images to compare on: a folder, or photos that scikit-image ships (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["image_sources", "load_image", "check_sources", "SAMPLE_PHOTOS", "MIN_SIDE"]

SAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "motorcycle", "rocket")
_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".webp"}
MIN_SIDE = 16  # smaller images are skipped: too small for the metrics and the codecs' block grids
_WIDE = ("I;16", "I;16B", "I;16L", "I")  # 16-bit grey: scaled to 8 bits (v / 257)


def image_sources(data: str | None) -> list[tuple[str, str]]:
    """``(name, source)`` pairs; a source is a file path or ``skimage:NAME``."""
    if data is None:
        return [(name, f"skimage:{name}") for name in SAMPLE_PHOTOS]
    folder = Path(data)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _EXTENSIONS and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(_EXTENSIONS))}) in {folder}")
    return [(str(p.relative_to(folder)), str(p)) for p in files]


def check_sources(sources: list[tuple[str, str]], say=print) -> list[tuple[str, str]]:
    """The sources that can be compared; says what it skipped (unreadable, too small,
    not 8 or 16 bits) and what it converted (16-bit grey to 8 bits)."""
    kept = []
    for name, source in sources:
        if source.startswith("skimage:"):
            kept.append((name, source))
            continue
        from PIL import Image

        try:
            with Image.open(source) as im:
                im.load()
                mode, size = im.mode, im.size
        except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped, not fatal
            say(f"skipped {name}: cannot read it as an image ({type(exc).__name__}: {exc})")
            continue
        if min(size) < MIN_SIDE:
            say(f"skipped {name}: {size[0]}x{size[1]} is smaller than {MIN_SIDE}x{MIN_SIDE}")
            continue
        if mode == "F":
            say(f"skipped {name}: floating-point pixels (mode F)")
            continue
        if mode in _WIDE:
            say(f"converted {name}: 16-bit grey scaled to 8 bits (value / 257) for the 8-bit codecs")
        kept.append((name, source))
    return kept


def load_image(source: str) -> np.ndarray:
    """RGB uint8 pixels of a source (16-bit grey scaled by 1/257, not clipped)."""
    if source.startswith("skimage:"):
        import skimage.data

        name = source.split(":", 1)[1]
        img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    else:
        from PIL import Image

        with Image.open(source) as im:
            if im.mode in _WIDE:
                img = np.clip(np.rint(np.asarray(im, dtype=np.float64) / 257.0), 0, 255).astype(np.uint8)
            else:
                img = np.asarray(im.convert("RGB"))
    if img.ndim == 2:
        img = np.dstack([img] * 3)
    return np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)
