"""BD-rate of each codec of one compare run against the same codec in another run.

    python benchmarks/compare_runs.py NEW_DIR OLD_DIR [CODEC ...]

Both folders are ``hybridcodec compare`` outputs with their ``points.jsonl`` (kept
beside the report; not committed).  Bytes and PSNR are deterministic, so two runs
over the same images and qualities compare exactly: the figure is the BD-rate
(28–38 dB) of the new curve against the old one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hybridcodec import bd_rate  # noqa: E402
from hybridcodec.compare.report import curves  # noqa: E402


def _points(folder: str) -> list[dict]:
    path = Path(folder) / "points.jsonl"
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as exc:
        raise SystemExit(f"compare_runs: cannot read {path} ({exc}); give two `hybridcodec compare` output folders")


def _curve(points, codec, qualities):
    return curves([p for p in points if p["codec"] == codec], codec, qualities)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("new")
    ap.add_argument("old")
    ap.add_argument("codecs", nargs="*", help="default: every codec in both runs")
    args = ap.parse_args(argv)
    new, old = _points(args.new), _points(args.old)
    qualities = sorted({float(p["quality"]) for p in new})
    both = sorted({p["codec"] for p in new} & {p["codec"] for p in old})
    for codec in args.codecs or both:
        keys = {(p["image"], p["quality"]) for p in new if p["codec"] == codec}
        if not keys or keys != {(p["image"], p["quality"]) for p in old if p["codec"] == codec}:
            print(f"{codec}: not the same images and qualities in both runs; skipped")
            continue
        o, n = _curve(old, codec, qualities), _curve(new, codec, qualities)
        line = f"{codec}: {bd_rate(o['bpp'], o['psnr-rgb'], n['bpp'], n['psnr-rgb'], window=(28.0, 38.0)):+.2f} %"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
