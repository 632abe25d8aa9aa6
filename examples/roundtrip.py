"""Encode and decode the sample photos that scikit-image ships, with each preset,
and print size, bpp and PSNR beside Pillow's JPEG at the same quality.

    python examples/roundtrip.py [--quality 75] [--presets baseline]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

import hybridcodec

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "camera")


def sample_photos():
    import skimage.data

    return {name: getattr(skimage.data, name)() for name in SAMPLES}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quality", type=int, default=75)
    ap.add_argument("--presets", default=",".join(hybridcodec.PRESETS))
    args = ap.parse_args(argv)
    print(f"{'image':10} {'codec':10} {'size':>11} {'bytes':>8} {'bpp':>6} {'PSNR dB':>8} {'enc ms':>7} {'dec ms':>7}")
    for name, img in sample_photos().items():
        rows = []
        buf = io.BytesIO()
        t0 = time.perf_counter()
        Image.fromarray(img).save(buf, "JPEG", quality=args.quality)
        t1 = time.perf_counter()
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
        rows.append(("jpeg", buf.getvalue(), out, t1 - t0, time.perf_counter() - t1))
        for preset in args.presets.split(","):
            t0 = time.perf_counter()
            data = hybridcodec.encode(img, preset=preset, quality=args.quality)
            t1 = time.perf_counter()
            out = hybridcodec.decode(data)
            rows.append((preset, data, out, t1 - t0, time.perf_counter() - t1))
        for codec, data, out, te, td in rows:
            assert out.shape == img.shape
            size = f"{img.shape[1]}x{img.shape[0]}"
            bpp = 8 * len(data) / (img.shape[0] * img.shape[1])
            print(f"{name:10} {codec:10} {size:>11} {len(data):8d} {bpp:6.3f} "
                  f"{hybridcodec.psnr(img, out):8.2f} {te * 1e3:7.1f} {td * 1e3:7.1f}")


if __name__ == "__main__":
    main()
