"""RD versus training time: BD-rate against Pillow JPEG (default settings) on Kodak of
each given ``learned`` (or ``dcnn``) weight file -- the snapshots that
``hybridcodec train transform`` writes at 5, 15, 30, 60... minutes -- measured with the
real codec (whole files' bytes, PSNR on RGB per image then averaged, window 28-38 dB).

    python benchmarks/rd_hours.py trained-weights/learned-snapshots/*.pt trained-weights/learned.pt
        [--stage learned] [--images 24] [--qualities 10,20,30,45,60,75] [--out results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import time

import numpy as np
from PIL import Image

import hybridcodec
from hybridcodec._metrics import bd_rate
from _kodak import KODAK, load_kodak


def jpeg_curve(images, qualities=(10, 20, 30, 40, 50, 60, 70, 80, 90, 95)):
    pts = []
    for q in qualities:
        bpp, db = [], []
        for img in images:
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, "JPEG", quality=q)
            dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            bpp.append(8 * buf.tell() / (img.shape[0] * img.shape[1]))
            db.append(hybridcodec.psnr(img, dec))
        pts.append((float(np.mean(bpp)), float(np.mean(db))))
    return pts


def codec_curve(images, pipeline, qualities):
    pts = []
    for q in qualities:
        bpp, db = [], []
        for img in images:
            data = hybridcodec.encode(img, pipeline=pipeline, quality=q)
            bpp.append(8 * len(data) / (img.shape[0] * img.shape[1]))
            db.append(hybridcodec.psnr(img, hybridcodec.decode(data)))
        pts.append((float(np.mean(bpp)), float(np.mean(db))))
    return pts


def _use(stage, path):
    if stage == "learned":
        from hybridcodec_learned import learned

        learned.weights_file = lambda: path
    else:
        from hybridcodec_learned import dcnn

        dcnn.WEIGHTS = path


def main(argv=None):
    from pathlib import Path

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="+")
    ap.add_argument("--stage", default="learned", choices=["learned", "dcnn"])
    ap.add_argument("--pipeline", help="pipeline to measure (default: the stage's preset)")
    ap.add_argument("--data", default=str(KODAK))
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--qualities", default="10,20,30,45,60,75")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    images = [im for _, im in load_kodak(args.data)][: args.images]
    qualities = [float(q) for q in args.qualities.split(",")]
    ref = jpeg_curve(images)
    rows = []
    for w in args.weights:
        _use(args.stage, Path(w).resolve())
        t = time.perf_counter()
        pts = codec_curve(images, args.pipeline or args.stage, qualities)
        try:
            bd = bd_rate([p[0] for p in ref], [p[1] for p in ref], [p[0] for p in pts], [p[1] for p in pts],
                         window=(28.0, 38.0))
        except hybridcodec.CodecError:  # a curve that never reaches 28 dB
            bd = float("nan")
        rows.append({"weights": w, "bd_rate_vs_jpeg": bd, "points": pts, "seconds": time.perf_counter() - t})
        print(f"{w}: BD-rate {bd:+.2f} %  " + "  ".join(f"{b:.3f}bpp/{d:.2f}dB" for b, d in pts), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"images": len(images), "qualities": qualities, "jpeg": ref,
                                              "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
