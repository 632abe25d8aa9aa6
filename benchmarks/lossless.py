"""Lossless compression on Kodak: hybridcodec's `lossless` preset beside PNG,
WebP lossless and JPEG 2000 lossless (all through Pillow), in one run.

    python benchmarks/lossless.py [--data DIR]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image, features

import hybridcodec
from _kodak import load_kodak


def _pillow(fmt, **opts):
    def run(img):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, fmt, **opts)
        data = buf.getvalue()
        return data, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    return run


def _hcx(img):
    data = hybridcodec.encode(img, preset="lossless")
    return data, hybridcodec.decode(data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    args = ap.parse_args(argv)
    images = load_kodak(args.data)
    pixels = sum(im.shape[0] * im.shape[1] for _, im in images)
    codecs = {"hybridcodec lossless": _hcx, "PNG (optimize=True)": _pillow("PNG", optimize=True)}
    if features.check("webp"):
        codecs["WebP lossless (method 6)"] = _pillow("WEBP", lossless=True, quality=100, method=6)
    if features.check("jpg_2000"):
        codecs["JPEG 2000 lossless"] = _pillow("JPEG2000", irreversible=False, mct=1)
    _hcx(images[0][1])  # warm-up (JIT)
    totals = {}
    for name, run in codecs.items():
        size, t = 0, time.perf_counter()
        for fname, img in images:
            data, out = run(img)
            if not np.array_equal(out, img):
                raise SystemExit(f"{name} is not lossless on {fname}")
            size += len(data)
        totals[name] = (size, time.perf_counter() - t)
    png = totals["PNG (optimize=True)"][0]
    print(f"{len(images)} images, {pixels / 1e6:.2f} MP, every decode checked bit-exact")
    print(f"{'codec':26} {'bytes':>10} {'bpp':>7} {'vs PNG':>8} {'enc+dec s':>10}")
    for name, (size, secs) in totals.items():
        print(f"{name:26} {size:10d} {8 * size / pixels:7.3f} {100 * (size / png - 1):+7.1f}% {secs:10.1f}")


if __name__ == "__main__":
    main()
