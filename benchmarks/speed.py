"""Encode/decode speed of hybridcodec presets beside Pillow's JPEG, in one run.

    python benchmarks/speed.py [--data DIR] [--quality 75] [--repeat 3]

Prints MP/s per codec and hybridcodec's ratio to Pillow JPEG, and seconds per image for
the learned pipelines (when hybridcodec-learned is installed).  Timings are the
best of ``--repeat`` passes over all images, after one warm-up pass (numba JIT).
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

import hybridcodec
from _kodak import load_kodak


def _pillow_jpeg(quality):
    def enc(img):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=quality)
        return buf.getvalue()

    def dec(data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    return enc, dec


def _pillow_jpeg2000(ratio):
    def enc(img):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG2000", quality_mode="rates", quality_layers=[ratio],
                                  irreversible=True, mct=1)
        return buf.getvalue()

    def dec(data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    return enc, dec


def _hcx(spec, quality, reduce=1):
    return ((lambda img: hybridcodec.encode(img, pipeline=spec, quality=quality)),
            (lambda data: hybridcodec.decode(data, reduce=reduce)))


def _time(fn, items, repeat):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = [fn(x) for x in items]
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--quality", type=int, default=75)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--presets", default="baseline,dct-arith,wavelet,lossless",
                    help="pipelines to time (given explicitly: only these; by default the learned rows too)")
    ap.add_argument("--reduce", default="wavelet", help="presets to time with decode(reduce=4) too")
    args = ap.parse_args(argv)
    images = [im for _, im in load_kodak(args.data)]
    mp = sum(im.shape[0] * im.shape[1] for im in images) / 1e6
    codecs = {"jpeg (Pillow)": _pillow_jpeg(args.quality),
              "jpeg2000 (OpenJPEG)": _pillow_jpeg2000(20)}
    for p in args.presets.split(","):
        codecs[p] = _hcx(p, args.quality)
    for p in filter(None, args.reduce.split(",")):
        codecs[f"{p} reduce=4"] = _hcx(p, args.quality, reduce=4)
    if args.presets != ap.get_default("presets"):
        pass  # only what was asked for
    elif "cnn" in hybridcodec.available_stages():  # the learned plugin, if installed
        for p in ("baseline+cnn", "wavelet+cnn", "learned", "learned+cnn", "learned|rans", "dcnn"):
            codecs[p] = _hcx(p, args.quality)
    else:
        print("(hybridcodec-learned is not installed: no +cnn rows)")
    rows = {}
    for name, (enc, dec) in codecs.items():
        dec(enc(images[0]))  # warm-up: JIT compile / load caches
        te, files = _time(enc, images, args.repeat)
        td, _ = _time(dec, files, args.repeat)
        rows[name] = (mp / te, mp / td, 8 * sum(map(len, files)) / (mp * 1e6))
    ref = rows["jpeg (Pillow)"]
    print(f"{len(images)} images, {mp:.2f} MP, quality {args.quality}, best of {args.repeat}")
    print("MP/s count full-size pixels (a reduce=4 decode is credited with the whole image)")
    print(f"{'codec':22} {'enc MP/s':>9} {'dec MP/s':>9} {'bpp':>6} {'enc/JPEG':>9} {'dec/JPEG':>9}")
    for name, (e, d, bpp) in rows.items():
        print(f"{name:22} {e:9.1f} {d:9.1f} {bpp:6.3f} {e / ref[0]:9.3f} {d / ref[1]:9.3f}")
    per_image = mp / len(images)
    for name in (n for n in rows if "cnn" in n or n.startswith("learned")):
        print(f"{name}: {per_image / rows[name][1]:.3f} s to decode one image, {per_image / rows[name][0]:.3f} s "
              "to encode (average)")
    for p in filter(None, args.reduce.split(",")):
        print(f"{p}: decode(reduce=4) is {rows[p + ' reduce=4'][1] / rows[p][1]:.1f}x as fast as a full decode")


if __name__ == "__main__":
    main()
