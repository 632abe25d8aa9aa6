"""BD-rate of each codec of one compare run against the same codec in another run.

    python benchmarks/compare_runs.py NEW_DIR OLD_DIR [CODEC ...] [--header-bytes] [--format-4-bytes]

Both folders are ``hybridcodec compare`` outputs with their ``points.jsonl`` (kept
beside the report; not committed).  Bytes and PSNR are deterministic, so two runs
over the same images and qualities compare exactly: the figure is the BD-rate
(28–38 dB) of the new curve against the old one.  ``--header-bytes`` also prints it
with the bytes that format version 3 saves per file (the spec deflated, and 24 bytes
of the ``cnn`` digest) added back to the new files: what the encoder's other changes
(RDOQ, new weights) did alone.  ``--format-4-bytes`` does the same with the bytes that
format version 4 saves against version 3 (varint sizes and lengths, one-byte chunk
types): the header's 6 (sizes of 128 to 16383 pixels) and 4 to 6 a chunk, the chunks
being those the pipeline writes for a small image, the ``DATA`` payload taken as the
file less everything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hybridcodec import CodecError  # noqa: E402
from hybridcodec._container import pack_spec  # noqa: E402
from hybridcodec._metrics import bd_rate  # noqa: E402
from hybridcodec._pipeline import Pipeline  # noqa: E402
from hybridcodec.compare.report import curves  # noqa: E402


def _points(folder: str) -> list[dict]:
    path = Path(folder) / "points.jsonl"
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as exc:
        raise SystemExit(f"compare_runs: cannot read {path} ({exc}); give two `hybridcodec compare` output folders")


def _curve(points, codec, qualities, add=0):
    rows = []
    for p in points:
        if p["codec"] == codec:
            pixels = p["bytes"] * 8 / p["bpp"]
            rows.append(dict(p, bytes=p["bytes"] + add, bpp=(p["bytes"] + add) * 8 / pixels))
    return curves(rows, codec, qualities)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("new")
    ap.add_argument("old")
    ap.add_argument("codecs", nargs="*", help="default: every codec in both runs")
    ap.add_argument("--header-bytes", action="store_true")
    ap.add_argument("--format-4-bytes", action="store_true")
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
        if args.header_bytes:
            try:
                spec = Pipeline(codec).spec()
            except CodecError:  # a reference codec (jpeg, avif, ...): no header of ours
                spec = None
            if spec is not None:
                saved = len(spec) - len(pack_spec(spec, 3)) + (24 if "cnn" in spec else 0)
                h = _curve(new, codec, qualities, saved)
                line += (f"; with the {saved} bytes format 3 saves added back: "
                         f"{bd_rate(o['bpp'], o['psnr-rgb'], h['bpp'], h['psnr-rgb'], window=(28.0, 38.0)):+.2f} %")
        if args.format_4_bytes:
            chunks = _chunks(codec)
            if chunks is not None:
                rows = [dict(p, bytes=p["bytes"] + _v4_saved(p["bytes"], chunks), bpp=p["bpp"] * (
                    p["bytes"] + _v4_saved(p["bytes"], chunks)) / p["bytes"]) for p in new if p["codec"] == codec]
                h = curves(rows, codec, qualities)
                line += (f"; with format 4's bytes added back: "
                         f"{bd_rate(o['bpp'], o['psnr-rgb'], h['bpp'], h['psnr-rgb'], window=(28.0, 38.0)):+.2f} %")
        print(line)
    return 0


def _chunks(codec):
    """The (type, payload length) of each chunk the pipeline writes for a 16x16 image
    (None for a reference codec)."""
    import numpy as np

    import hybridcodec
    from hybridcodec._container import read_container

    try:
        Pipeline(codec)
    except CodecError:
        return None
    img = (np.arange(16 * 16 * 3).reshape(16, 16, 3) * 37 % 256).astype(np.uint8)
    return [(c.type, len(c.payload)) for c in read_container(hybridcodec.encode(img, pipeline=codec))[1]]


def _v4_saved(size, chunks):
    """Bytes a file of ``size`` bytes in format 4 would take more in format 3."""
    def varint(n):
        return max(1, (n.bit_length() + 6) // 7)

    side = sum(length for kind, length in chunks if kind != b"DATA")
    data = size - side - 29 - 9 * len(chunks)  # ~ the DATA payload (the header's ~29 bytes)
    saved = 6
    for kind, length in chunks:
        escape = 4 if kind not in (b"DATA", b"SIDE", b"ALPH") else 0  # the 4 letters after code 255
        saved += 9 - (2 + varint(data if kind == b"DATA" else length) + escape)  # (a CRC in both)
    return saved


if __name__ == "__main__":
    sys.exit(main())
