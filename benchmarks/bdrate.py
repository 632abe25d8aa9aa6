"""BD-rate of hybridcodec pipelines against Pillow JPEG (default settings) on Kodak.

    python benchmarks/bdrate.py [--data DIR] [--pipelines baseline,SPEC;...] [--jobs 2]

PSNR on RGB per image, then averaged per quality; bpp from whole-file bytes;
Bjøntegaard delta (PCHIP) over 28-38 dB.
"""

from __future__ import annotations

import argparse
import io
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

import hybridcodec
from _kodak import load_kodak

QUALITIES = [3, 5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 98]


def _jpeg(img, q):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=q)
    return buf.getvalue(), np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _jpeg2000(img, ratio):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[ratio],
                              irreversible=True, mct=1)
    return buf.getvalue(), np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


J2K_RATIOS = [240, 160, 110, 80, 60, 45, 34, 26, 20, 15, 11, 8, 6]


def _point(args):
    codec, img, q = args
    if codec == "jpeg":
        data, out = _jpeg(img, q)
    elif codec == "jpeg2000":
        data, out = _jpeg2000(img, q)
    else:
        data = hybridcodec.encode(img, pipeline=codec, quality=q)
        out = hybridcodec.decode(data)
    return 8 * len(data) / (img.shape[0] * img.shape[1]), hybridcodec.psnr(img, out)


def curve(codec, images, qualities, pool):
    jobs = [(codec, img, q) for q in qualities for img in images]
    res = np.array(list(pool.map(_point, jobs, chunksize=4))).reshape(len(qualities), len(images), 2)
    return res[:, :, 0].mean(1), res[:, :, 1].mean(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--pipelines", default="baseline", help="';'-separated specs or presets")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    ap.add_argument("--jpeg2000", action="store_true", help="also measure OpenJPEG (Pillow)")
    args = ap.parse_args(argv)
    images = [im for _, im in load_kodak(args.data)]
    qs = [int(q) for q in args.qualities.split(",")]
    with ProcessPoolExecutor(args.jobs) as pool:
        ref = curve("jpeg", images, qs, pool)
        print(f"jpeg (Pillow): " + " ".join(f"q{q}:{b:.3f}/{p:.2f}" for q, b, p in zip(qs, *ref)))
        if args.jpeg2000:
            j2k = curve("jpeg2000", images, J2K_RATIOS, pool)
            print(f"jpeg2000 (OpenJPEG): BD-rate vs JPEG (28-38 dB): {hybridcodec.bd_rate(*ref, *j2k):+.2f} %   "
                  f"BD-PSNR: {hybridcodec.bd_psnr(*ref, *j2k):+.3f} dB")
        for spec in args.pipelines.split(";"):
            test = curve(spec, images, qs, pool)
            print(f"{spec}: " + " ".join(f"q{q}:{b:.3f}/{p:.2f}" for q, b, p in zip(qs, *test)))
            print(f"  BD-rate vs JPEG (28-38 dB): {hybridcodec.bd_rate(*ref, *test):+.2f} %   "
                  f"BD-PSNR: {hybridcodec.bd_psnr(*ref, *test):+.3f} dB")


if __name__ == "__main__":
    main()
