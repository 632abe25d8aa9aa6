"""Encode/decode speed of hybridcodec presets beside the reference codecs, in one run.

    python benchmarks/speed.py [--data DIR] [--quality 75] [--rounds 5] [--presets P,...] [--refs R,...]

Every round times each codec in turn (the order rotating from round to round, so that
machine noise hits all alike) encoding and then decoding every image; the table gives
the median over the rounds, after one warm-up pass (numba kernels, caches).  MP/s count
full-size pixels; ``cores`` is CPU time over wall time (how many cores the codec kept
busy); ratios are to Pillow's JPEG (libjpeg-turbo) and OpenJPEG measured in the same
rounds.  The load average before and after is printed: quote ratios from one run, and
say what else was running.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import hybridcodec
from _kodak import load_kodak
from hybridcodec.compare.codecs import reference_codec

REFS = "jpeg,jpeg2000,webp,avif"


def _hcx(spec, reduce=1):
    return (lambda img, q: hybridcodec.encode(img, pipeline=spec, quality=q),
            lambda data: hybridcodec.decode(data, reduce=reduce))


def _timed(fn, items):
    w, c = time.perf_counter(), time.process_time()
    out = [fn(x) for x in items]
    return time.perf_counter() - w, time.process_time() - c, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--quality", type=float, default=75)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--presets", help="pipelines to time (default: baseline,dct-arith,wavelet,lossless and, "
                    "when hybridcodec-learned is installed, the learned and mixed ones)")
    ap.add_argument("--refs", default=REFS, help="reference codecs (those whose library is missing are skipped)")
    ap.add_argument("--reduce", default="wavelet", help="presets to time with decode(reduce=4) too")
    args = ap.parse_args(argv)
    images = [im for _, im in load_kodak(args.data)]
    mp = sum(im.shape[0] * im.shape[1] for im in images) / 1e6
    codecs = {}
    for name in filter(None, args.refs.split(",")):
        try:
            c = reference_codec(name)
            codecs[name] = (c.encode, c.decode)
        except ImportError as exc:
            print(f"({name} skipped: {exc})")
    presets = (args.presets or "baseline,dct-arith,wavelet,lossless").split(",")
    if args.presets is None and "cnn" in hybridcodec.available_stages():
        presets += ["baseline+cnn", "wavelet+cnn", "learned", "learned+cnn", "learned|rans", "dcnn"]
    for p in presets:
        codecs[p] = _hcx(p)
    for p in filter(None, args.reduce.split(",")):
        codecs[f"{p} reduce=4"] = _hcx(p, 4)
    q = args.quality
    files = {}
    for name, (enc, dec) in codecs.items():  # warm-up: JIT compile, caches
        dec(enc(images[0], q))
        files[name] = [enc(im, q) for im in images]
    load0 = os.getloadavg()
    t = {name: {"enc": [], "dec": [], "enc_cpu": [], "dec_cpu": []} for name in codecs}
    names = list(codecs)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            enc, dec = codecs[name]
            wall, cpu, _ = _timed(lambda im: enc(im, q), images)
            t[name]["enc"].append(wall)
            t[name]["enc_cpu"].append(cpu)
            wall, cpu, _ = _timed(dec, files[name])
            t[name]["dec"].append(wall)
            t[name]["dec_cpu"].append(cpu)
    load1 = os.getloadavg()
    med = {n: {k: float(np.median(v)) for k, v in d.items()} for n, d in t.items()}
    print(f"{len(images)} images, {mp:.2f} MP, quality {q:g}, median of {args.rounds} interleaved rounds; "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after, {os.cpu_count()} cores")
    print("MP/s count full-size pixels (a reduce=4 decode is credited with the whole image)")
    head = f"{'codec':22} {'enc MP/s':>9} {'dec MP/s':>9} {'bpp':>6} {'cores':>11} {'vs JPEG':>13}"
    ref2k = "jpeg2000" in med
    print(head + (f" {'vs OpenJPEG':>13}" if ref2k else ""))
    for name in codecs:
        m = med[name]
        bpp = 8 * sum(map(len, files[name])) / (mp * 1e6)
        line = (f"{name:22} {mp / m['enc']:9.1f} {mp / m['dec']:9.1f} {bpp:6.3f} "
                f"{m['enc_cpu'] / m['enc']:5.2f}/{m['dec_cpu'] / m['dec']:<5.2f}")
        if "jpeg" in med:
            line += f" {med['jpeg']['enc'] / m['enc']:6.3f}/{med['jpeg']['dec'] / m['dec']:<6.3f}"
        if ref2k:
            line += f" {med['jpeg2000']['enc'] / m['enc']:6.3f}/{med['jpeg2000']['dec'] / m['dec']:<6.3f}"
        print(line)
    per_image = mp / len(images)
    for name in (n for n in codecs if "cnn" in n or n.startswith(("learned", "dcnn"))):
        print(f"{name}: {med[name]['dec'] / len(images):.3f} s to decode one image, "
              f"{med[name]['enc'] / len(images):.3f} s to encode (average, {per_image:.2f} MP)")
    for p in filter(None, args.reduce.split(",")):
        print(f"{p}: decode(reduce=4) is {med[p]['dec'] / med[p + ' reduce=4']['dec']:.1f}x as fast as a full decode")


if __name__ == "__main__":
    main()
