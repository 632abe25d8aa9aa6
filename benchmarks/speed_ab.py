"""Speed of this tree's hybridcodec against another checkout's, side by side in one
process (interleaved rounds, so machine noise hits both alike), with Pillow's JPEG as
the yardstick.

    git worktree add /tmp/before <commit>        # or any copy of an older tree
    python benchmarks/speed_ab.py --other /tmp/before [--presets baseline,wavelet] [--rounds 15]

Prints, per preset, the median and best time of encoding and decoding the first
--images Kodak images with each version, their ratio, and each one's MP/s relative
to Pillow JPEG measured in the same rounds.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import hybridcodec
from _kodak import load_kodak


def load_other(path: str):
    pkg = Path(path) / "hybridcodec"
    spec = importlib.util.spec_from_file_location("hybridcodec_other", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["hybridcodec_other"] = mod
    spec.loader.exec_module(mod)
    return mod


def _jpeg(img):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=75)
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", required=True, help="root of the other checkout (holding hybridcodec/)")
    ap.add_argument("--data")
    ap.add_argument("--presets", default="baseline,wavelet")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    other = load_other(args.other)
    imgs = [im for _, im in load_kodak(args.data)[: args.images]]
    mp = sum(im.shape[0] * im.shape[1] for im in imgs) / 1e6
    libs = {"this": hybridcodec, "other": other}
    for preset in args.presets.split(","):
        data = {k: [lib.encode(im, preset=preset, quality=75) for im in imgs] for k, lib in libs.items()}
        jpgs = [_jpeg(im) for im in imgs]
        t = {f"{k}_{op}": [] for k in (*libs, "jpeg") for op in ("enc", "dec")}
        for r in range(args.rounds):
            order = list(libs.items()) if r % 2 else list(libs.items())[::-1]
            for k, lib in order:
                t0 = time.perf_counter()
                for im in imgs:
                    lib.encode(im, preset=preset, quality=75)
                t1 = time.perf_counter()
                for d in data[k]:
                    lib.decode(d)
                t2 = time.perf_counter()
                t[f"{k}_enc"].append(t1 - t0)
                t[f"{k}_dec"].append(t2 - t1)
            t0 = time.perf_counter()
            for im in imgs:
                _jpeg(im)
            t1 = time.perf_counter()
            for d in jpgs:
                np.asarray(Image.open(io.BytesIO(d)).convert("RGB"))
            t2 = time.perf_counter()
            t["jpeg_enc"].append(t1 - t0)
            t["jpeg_dec"].append(t2 - t1)
        med = {k: float(np.median(v)) for k, v in t.items()}
        for op in ("enc", "dec"):
            print(f"{preset} {op}: this {mp / med[f'this_{op}']:.1f} MP/s, other {mp / med[f'other_{op}']:.1f} MP/s "
                  f"(this/other speed {med[f'other_{op}'] / med[f'this_{op}']:.3f}; best-of {args.rounds} "
                  f"{min(t[f'other_{op}']) / min(t[f'this_{op}']):.3f}); vs Pillow JPEG this "
                  f"{med[f'jpeg_{op}'] / med[f'this_{op}']:.3f}, other {med[f'jpeg_{op}'] / med[f'other_{op}']:.3f}")


if __name__ == "__main__":
    main()
