"""Shared helpers for the benchmarks: locating and loading the Kodak set."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# beside the checkout (../shared/datasets/kodak), or where HYBRIDCODEC_KODAK says (a
# worktree elsewhere would otherwise not find it, and benchmarks that fall back to a
# synthetic image when it is absent would measure that instead)
KODAK = Path(os.environ.get("HYBRIDCODEC_KODAK") or
             Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "kodak")


def load_kodak(folder: Path | str | None = None) -> list[tuple[str, np.ndarray]]:
    folder = Path(folder) if folder else KODAK
    files = sorted(folder.glob("*.png"))
    if not files:
        sys.exit(f"no PNG images in {folder}; pass --data DIR")
    return [(f.name, np.asarray(Image.open(f).convert("RGB"))) for f in files]
