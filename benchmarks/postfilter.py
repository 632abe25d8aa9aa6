"""The CNN post-filter on Kodak: BD-rate of `P+cnn` against `P`, the dB gain at
qualities 10/30/50/75, and the decode time of one image with the filter.

    python benchmarks/postfilter.py [--data DIR] [--presets baseline,wavelet] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor


import hybridcodec
from _kodak import load_kodak
from bdrate import curve

QUALITIES = [5, 10, 20, 30, 40, 50, 60, 75, 85, 92]


def _init():
    import torch

    torch.set_num_threads(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--presets", default="baseline,wavelet")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    images = [im for _, im in load_kodak(args.data)]
    with ProcessPoolExecutor(args.jobs, initializer=_init) as pool:
        for preset in args.presets.split(","):
            plain = curve(preset, images, QUALITIES, pool)
            filt = curve(preset + "+cnn", images, QUALITIES, pool)
            gains = {q: filt[1][i] - plain[1][i] for i, q in enumerate(QUALITIES)}
            print(f"{preset}+cnn vs {preset}: BD-rate {hybridcodec.bd_rate(*plain, *filt):+.2f} % "
                  f"(28-38 dB), BD-PSNR {hybridcodec.bd_psnr(*plain, *filt):+.3f} dB")
            print("  PSNR gain at the same quality: " + ", ".join(f"q{q} {gains[q]:+.3f} dB"
                                                               for q in (10, 30, 50, 75)))
    for preset in args.presets.split(","):
        data = hybridcodec.encode(images[0], pipeline=preset + "+cnn", quality=30)
        hybridcodec.decode(data)  # load the weights
        t = time.perf_counter()
        hybridcodec.decode(data)
        print(f"decode of kodim01 with {preset}+cnn: {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
