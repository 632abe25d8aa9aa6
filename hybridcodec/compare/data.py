"""Images to compare on: a folder, or photos that scikit-image ships (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["image_sources", "load_image", "SAMPLE_PHOTOS"]

SAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "motorcycle", "rocket")
_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".webp"}


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


def load_image(source: str) -> np.ndarray:
    """RGB uint8 pixels of a source."""
    if source.startswith("skimage:"):
        import skimage.data

        name = source.split(":", 1)[1]
        img = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    else:
        from PIL import Image

        with Image.open(source) as im:
            img = np.asarray(im.convert("RGB"))
    if img.ndim == 2:
        img = np.dstack([img] * 3)
    return np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)
