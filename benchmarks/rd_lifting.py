"""The learned lifting against the classical wavelet, with and without the post-filter,
and against AVIF and HEIC, all in one `hybridcodec compare` run; then the per-quality
comparison the issue asks for (is the best lifting pipeline ahead of `wavelet` and
`wavelet+cnn` at every quality?) and each part's contribution as a BD-rate between
two pipelines.

    python benchmarks/rd_lifting.py [--data DIR|skimage] [--out benchmarks/results/lifting] [--jobs 2]
        [--codecs jpeg,avif,heic,jpeg2000] [--weights lifting.pt] [--postfilter-weights FILE]

``--data skimage``: the scikit-image photos of the main job.  ``--weights`` codes with
another lifting weight file (a rerun of the training, a snapshot) instead of the
shipped one, ``--postfilter-weights`` the ``cnn`` stage of the lifting family with another
post-filter weight file.  ``--timing`` instead times encode and decode of
every image at quality 75, one image at a time in this process (torch's default threads),
and prints the median and the slowest.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hybridcodec import bd_rate
from hybridcodec.compare import CompareSettings, run_compare
from _kodak import KODAK

HERE = Path(__file__).resolve().parent
# the learned entropy model (ctxrans) in place of arith, after each transform
WAVELET_CTX = "ycbcr(subsampling=444)|dwt|deadzone|ctxrans"
LIFTING_CTX = "ycbcr(subsampling=444)|lifting|deadzone|ctxrans"
# the lifting steps and the ctxrans model trained together (train transform --model lifting-joint)
JOINT_CTX = "ycbcr(subsampling=444)|lifting-joint|deadzone|ctxrans"
PIPELINES = ["wavelet", "wavelet+cnn", "lifting", "lifting+cnn", WAVELET_CTX, LIFTING_CTX, JOINT_CTX]
# (what it measures, pipeline, the pipeline it is measured against)
CONTRIBUTIONS = [
    ("learned entropy model (ctxrans) vs arith on plain CDF 9/7 coefficients", WAVELET_CTX, "wavelet"),
    ("learned lifting vs fixed CDF 9/7 under the learned entropy model (ctxrans)", LIFTING_CTX, WAVELET_CTX),
    ("learned entropy model (ctxrans) vs arith on the learned lifting's coefficients", LIFTING_CTX, "lifting"),
    ("lifting and ctxrans trained together vs apart (the lifting for arith's proxy, ctxrans on CDF 9/7)",
     JOINT_CTX, LIFTING_CTX),
    ("lifting and ctxrans trained together vs fixed CDF 9/7 under ctxrans", JOINT_CTX, WAVELET_CTX),
    ("lifting and ctxrans trained together vs the lifting under arith", JOINT_CTX, "lifting"),
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
    ap.add_argument("--postfilter-weights", help="a postfilter-lifting weight file to use instead of the shipped one")
    ap.add_argument("--timing", action="store_true", help="time encode and decode per image instead")
    args = ap.parse_args(argv)
    for flag, path in (("--weights", args.weights), ("--postfilter-weights", args.postfilter_weights)):
        if path and not Path(path).is_file():
            ap.error(f"{flag} {path}: no such file")
    if args.timing:
        return _timing(args.data, args.pipelines.split(","))
    if args.weights:  # the stage reads its weights from this path (worker processes inherit it)
        os.environ["HYBRIDCODEC_LIFTING_WEIGHTS"] = str(Path(args.weights).resolve())
    if args.postfilter_weights:
        os.environ["HYBRIDCODEC_POSTFILTER_LIFTING"] = str(Path(args.postfilter_weights).resolve())
    data = None if args.data == "skimage" else args.data
    settings = CompareSettings(out=args.out, data=data, jobs=args.jobs, pipelines=args.pipelines.split(","),
                               codecs=args.codecs.split(","), progress=False)
    doc = run_compare(settings)
    lines = []
    names = args.pipelines.split(",")
    if {"wavelet", "wavelet+cnn"} <= set(names):
        best = max((n for n in names if "lifting" in n), default=None,
                   key=lambda n: -_bd(doc, n, "jpeg"))
        if best:
            lines.append(f"best lifting pipeline: {best} ({_bd(doc, best, 'jpeg'):+.2f} % vs jpeg)")
            for other in ("wavelet", "wavelet+cnn"):
                gaps = _above(_curve(doc, best), _curve(doc, other))
                ahead = all(g is not None and g[0] > 0 for g in gaps)
                lines.append(f"  {best} above the {other} curve at equal rate, per quality "
                             f"{_curve(doc, best)['quality']}: "
                             f"{[_gap_text(g) for g in gaps]} dB "
                             f"({'ahead at every quality' if ahead else 'NOT ahead at every quality'})")
    for what, a, b in CONTRIBUTIONS:
        if a in names and b in names:
            lines.append(f"{what}: BD-rate {_bd(doc, a, b):+.2f} % ({a} against {b})")
    text = "\n".join(lines)
    print(text)
    (Path(args.out) / "contributions.txt").write_text(text + "\n")


def _timing(data, pipelines):
    import time

    import numpy as np

    import hybridcodec
    from _kodak import load_kodak

    images = [im for _, im in load_kodak(data)]
    for name in pipelines:
        hybridcodec.decode(hybridcodec.encode(images[0], pipeline=name, quality=75))  # load weights, compile
        enc, dec = [], []
        for im in images:
            t = time.perf_counter()
            blob = hybridcodec.encode(im, pipeline=name, quality=75)
            enc.append(time.perf_counter() - t)
            t = time.perf_counter()
            hybridcodec.decode(blob)
            dec.append(time.perf_counter() - t)
        print(f"{name}: encode median {np.median(enc):.3f} s, slowest {max(enc):.3f} s; "
              f"decode median {np.median(dec):.3f} s, slowest {max(dec):.3f} s ({len(images)} images, q75)")


def _above(test, ref):
    """For each point of ``test``: its PSNR minus the ``ref`` curve's at the same bpp
    (piecewise linear in log-rate), as ``(gap, exact)``.  Below the ref's lowest rate
    the ref curve (rising with rate) is at most its lowest point's PSNR there, so the
    gap to that point is a lower bound (``exact`` False); above its highest rate, or
    below it with a lower PSNR, nothing is known: None."""
    import numpy as np

    order = np.argsort(ref["bpp"])
    lr, pr = np.log(np.asarray(ref["bpp"])[order]), np.asarray(ref["psnr-rgb"])[order]
    out = []
    for b, p in zip(test["bpp"], test["psnr-rgb"]):
        if lr[0] <= np.log(b) <= lr[-1]:
            out.append((float(p - np.interp(np.log(b), lr, pr)), True))
        elif np.log(b) < lr[0] and p > pr[0]:
            out.append((float(p - pr[0]), False))
        else:
            out.append(None)
    return out


def _gap_text(g):
    return "n/a" if g is None else ("%+.3f" if g[1] else ">= %+.3f") % g[0]


def _bd(doc, name, ref):
    a, b = _curve(doc, name), _curve(doc, ref)
    return bd_rate(b["bpp"], b["psnr-rgb"], a["bpp"], a["psnr-rgb"], window=(28.0, 38.0))


if __name__ == "__main__":
    main()
