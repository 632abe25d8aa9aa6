"""The learned lifting against the classical wavelet, with and without the post-filter,
and against AVIF and HEIC, all in one `hybridcodec compare` run; then the per-quality
comparison the issue asks for (is the best lifting pipeline ahead of `wavelet` and
`wavelet+cnn` at every quality?) and each part's contribution as a BD-rate between
two pipelines.

    python benchmarks/rd_lifting.py [--data DIR] [--out benchmarks/results/lifting] [--jobs 2]
        [--codecs jpeg,avif,heic,jpeg2000] [--weights lifting.pt]

``--weights`` codes with another lifting weight file (a rerun of the training, a
snapshot) instead of the shipped one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hybridcodec import bd_rate
from hybridcodec.compare import CompareSettings, run_compare
from _kodak import KODAK

HERE = Path(__file__).resolve().parent
PIPELINES = ["wavelet", "wavelet+cnn", "lifting", "lifting+cnn"]
# (what it measures, pipeline, the pipeline it is measured against)
CONTRIBUTIONS = [
    ("learned lifting vs fixed CDF 9/7 (both deadzone + arith)", "lifting", "wavelet"),
    ("post-filter on the learned lifting", "lifting+cnn", "lifting"),
    ("post-filter on CDF 9/7", "wavelet+cnn", "wavelet"),
    ("learned lifting under the post-filter", "lifting+cnn", "wavelet+cnn"),
]


def _curve(doc, name):
    (c,) = [c["results"] for c in doc["codecs"] if c["name"] == name]
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(KODAK))
    ap.add_argument("--out", default=str(HERE / "results" / "lifting"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--codecs", default="jpeg,avif,heic,jpeg2000")
    ap.add_argument("--pipelines", default=",".join(PIPELINES))
    ap.add_argument("--weights", help="a lifting weight file to code with instead of the shipped one")
    args = ap.parse_args(argv)
    if args.weights:  # the stage reads its weights from this path (worker processes inherit it)
        import os

        os.environ["HYBRIDCODEC_LIFTING_WEIGHTS"] = str(Path(args.weights).resolve())
    settings = CompareSettings(out=args.out, data=args.data, jobs=args.jobs, pipelines=args.pipelines.split(","),
                               codecs=args.codecs.split(","), progress=False)
    doc = run_compare(settings)
    lines = []
    names = args.pipelines.split(",")
    if {"wavelet", "wavelet+cnn"} <= set(names):
        best = max((n for n in names if n.startswith("lifting")), default=None,
                   key=lambda n: -_bd(doc, n, "jpeg"))
        if best:
            lines.append(f"best lifting pipeline: {best} ({_bd(doc, best, 'jpeg'):+.2f} % vs jpeg)")
            for other in ("wavelet", "wavelet+cnn"):
                a, b = _curve(doc, best), _curve(doc, other)
                gaps = [pa - pb for pa, pb in zip(a["psnr-rgb"], b["psnr-rgb"])]
                rates = [ra / rb - 1 for ra, rb in zip(a["bpp"], b["bpp"])]
                lines.append(f"  vs {other} per quality {a['quality']}: PSNR {['%+.3f' % g for g in gaps]} dB, "
                             f"bpp {['%+.2f%%' % (100 * r) for r in rates]}")
    for what, a, b in CONTRIBUTIONS:
        if a in names and b in names:
            lines.append(f"{what}: BD-rate {_bd(doc, a, b):+.2f} % ({a} against {b})")
    text = "\n".join(lines)
    print(text)
    (Path(args.out) / "contributions.txt").write_text(text + "\n")


def _bd(doc, name, ref):
    a, b = _curve(doc, name), _curve(doc, ref)
    return bd_rate(b["bpp"], b["psnr-rgb"], a["bpp"], a["psnr-rgb"], window=(28.0, 38.0))


if __name__ == "__main__":
    main()
