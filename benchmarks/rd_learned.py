"""The learned-transform issue's table: `hybridcodec compare` on Kodak for the learned
and mixed pipelines beside `wavelet` and Pillow's JPEG (the reference), written to
benchmarks/results/learned/ (report.md, rd_psnr.png, crops.png, results.json).

    python benchmarks/rd_learned.py [--data DIR] [--out DIR] [--jobs 2] [--qualities 5,15,...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hybridcodec.compare import CompareSettings, run_compare
from _kodak import KODAK

HERE = Path(__file__).resolve().parent
PIPELINES = ["learned", "learned+cnn", "learned|rans", "dcnn", "dcnn|rans"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(KODAK))
    ap.add_argument("--out", default=str(HERE / "results" / "learned"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--qualities", default="5,15,25,35,50,70,90")
    ap.add_argument("--pipelines", default=",".join(PIPELINES))
    args = ap.parse_args(argv)
    settings = CompareSettings(out=args.out, data=args.data, jobs=args.jobs, codecs=["jpeg"],
                               pipelines=args.pipelines.split(","),
                               qualities=[float(q) for q in args.qualities.split(",")])
    run_compare(settings)


if __name__ == "__main__":
    main()
