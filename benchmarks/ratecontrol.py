"""Rate control accuracy on Kodak: encode every image at target bpps and report how far
the whole-file bpp lands from each target.

    python benchmarks/ratecontrol.py [--data DIR] [--presets wavelet,baseline] [--targets 0.25,0.5,1,2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import hybridcodec
from _kodak import load_kodak


def _one(args):
    preset, img, target = args
    t = time.perf_counter()
    data = hybridcodec.encode(img, preset=preset, target_bpp=target)
    bpp = 8 * len(data) / (img.shape[0] * img.shape[1])
    return 100 * (bpp / target - 1), time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--presets", default="wavelet,dct-arith,baseline")
    ap.add_argument("--targets", default="0.25,0.5,1,2")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    images = load_kodak(args.data)
    targets = [float(t) for t in args.targets.split(",")]
    print(f"{'preset':10} {'target':>7} {'worst error':>12} {'mean |error|':>13} {'s/image':>8}")
    with ProcessPoolExecutor(args.jobs) as pool:
        for preset in args.presets.split(","):
            for target in targets:
                res = np.array(list(pool.map(_one, [(preset, img, target) for _, img in images])))
                worst = res[np.argmax(np.abs(res[:, 0])), 0]
                print(f"{preset:10} {target:7.2f} {worst:+11.2f}% {np.abs(res[:, 0]).mean():12.2f}% "
                      f"{res[:, 1].mean():8.2f}")


if __name__ == "__main__":
    main()
