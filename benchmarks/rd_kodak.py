"""The README's Kodak table and plots: `hybridcodec compare` on ../shared/datasets/kodak,
written to benchmarks/results/, then a check of its `jpeg` numbers against an
independent Pillow measurement.

    python benchmarks/rd_kodak.py [--data DIR] [--out benchmarks/results] [--jobs 2]
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

import hybridcodec
from hybridcodec.compare import CompareSettings, run_compare
from _kodak import KODAK, load_kodak

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(KODAK))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    settings = CompareSettings(out=args.out, data=args.data, jobs=args.jobs,
                               pipelines=["baseline", "dct-arith", "wavelet"])
    doc = run_compare(settings)
    (jpeg,) = [c["results"] for c in doc["codecs"] if c["name"] == "jpeg"]
    images = [im for _, im in load_kodak(args.data)]
    worst = 0.0
    for q, bpp, psnr in zip(jpeg["quality"], jpeg["bpp"], jpeg["psnr-rgb"]):
        b, p = [], []
        for img in images:
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "JPEG", quality=int(q))
            b.append(8 * buf.tell() / (img.shape[0] * img.shape[1]))
            p.append(hybridcodec.psnr(img, np.asarray(Image.open(io.BytesIO(buf.getvalue())))))
        worst = max(worst, abs(bpp / np.mean(b) - 1), abs(psnr / np.mean(p) - 1))
    print(f"jpeg in results.json vs an independent Pillow measurement: largest difference {100 * worst:.4f} % "
          f"({'within' if worst <= 0.005 else 'OUTSIDE'} 0.5 %)")


if __name__ == "__main__":
    main()
