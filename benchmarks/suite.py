"""Rate-distortion suites: named runs of ``hybridcodec compare`` (one driver, no RD loop of
its own), each written to ``benchmarks/results/SUITE/`` in one layout: compare's
``results.json``, ``results.csv``, ``report.md`` and plots, plus ``suite.json`` (the
suite, the command, the commit, the date) and, where the suite asks, ``contributions.txt``
(BD-rates between pairs of its pipelines, and whether one curve is above others at
every quality).

    python benchmarks/suite.py --list
    python benchmarks/suite.py SUITE [--data DIR|skimage] [--out DIR] [--jobs 2]
                               [--weights ARTEFACT=FILE ...] [--timing]

``--weights`` codes with another file for a learned stage's artefact (a rerun of its
training, a snapshot) through the weights layer's override
(``HYBRIDCODEC_WEIGHTS_<ARTEFACT>``, which compare's worker processes inherit); the
suite's out folder then defaults to ``results/SUITE-ARTEFACT-STEM``.  Suite ``hours``
takes snapshot files (``hybridcodec train transform`` writes them at 5, 15, 30... min)
and runs its pipeline once per file: RD against training time.  ``--timing`` times
encode and decode of every image at quality 75 instead, one at a time in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _kodak import KODAK  # noqa: E402

WAVELET_CTX = "ycbcr(subsampling=444)|dwt|deadzone|ctxrans"
LIFTING_CTX = "ycbcr(subsampling=444)|lifting|deadzone|ctxrans"
JOINT_CTX = "ycbcr(subsampling=444)|lifting-joint|deadzone|ctxrans"


@dataclass
class Suite:
    doc: str
    pipelines: list | None = None  # None: compare's defaults (the core's and the installed plugins')
    codecs: list | None = None  # None: compare's defaults
    qualities: list | None = None
    data: str = "kodak"  # "kodak" (../shared/datasets/kodak), "skimage" (compare's default photos) or a folder
    contributions: list = field(default_factory=list)  # (what, pipeline, measured against)
    ahead: tuple = ()  # (pipeline, [others]): is it above each other curve at every quality?
    artefact: str = ""  # suite "hours": the artefact each given weight file stands for
    everything: bool = False  # what compare --all runs where pipelines, codecs, qualities are None


LIFTING = dict(
    pipelines=["wavelet", "wavelet+cnn", "lifting", "lifting+cnn", WAVELET_CTX, LIFTING_CTX, JOINT_CTX],
    codecs=["jpeg", "avif", "heic", "jpeg2000"],
    contributions=[
        ("learned entropy model (ctxrans) vs arith on plain CDF 9/7 coefficients", WAVELET_CTX, "wavelet"),
        ("learned lifting vs fixed CDF 9/7 under the learned entropy model (ctxrans)", LIFTING_CTX, WAVELET_CTX),
        ("learned entropy model (ctxrans) vs arith on the learned lifting's coefficients", LIFTING_CTX, "lifting"),
        ("lifting and ctxrans trained together vs apart", JOINT_CTX, LIFTING_CTX),
        ("lifting and ctxrans trained together vs fixed CDF 9/7 under ctxrans", JOINT_CTX, WAVELET_CTX),
        ("learned lifting vs fixed CDF 9/7 (both deadzone + arith)", "lifting", "wavelet"),
        ("post-filter on the learned lifting", "lifting+cnn", "lifting"),
        ("post-filter on CDF 9/7", "wavelet+cnn", "wavelet"),
        ("learned lifting under the post-filter", "lifting+cnn", "wavelet+cnn"),
    ],
    ahead=("lifting+cnn", ["wavelet", "wavelet+cnn"]),
)

SUITES = {
    "kodak": Suite("every pipeline of compare --all (classical and, with the plugin, learned) against every "
                   "reference codec on Kodak, 12 qualities: the README's headline table", everything=True),
    "learned": Suite("the learned transforms with their entropy models and the post-filter, against JPEG",
                     pipelines=["learned", "learned+cnn", "learned|rans", "dcnn", "dcnn|rans"], codecs=["jpeg"],
                     qualities=[5, 15, 25, 35, 50, 70, 90],
                     contributions=[("post-filter on the learned transform", "learned+cnn", "learned"),
                                    ("hyperprior entropy model (rans) vs arith on the latents", "learned|rans",
                                     "learned"),
                                    ("dcnn's learned model (rans) vs arith", "dcnn|rans", "dcnn")]),
    "lifting": Suite("the learned lifting against the classical wavelet, with and without the post-filter and "
                     "ctxrans, and against AVIF, HEIC and JPEG 2000", **LIFTING),
    "lifting-skimage": Suite("the lifting suite on the scikit-image photos of the main job", data="skimage",
                             **LIFTING),
    "postfilter": Suite("the cnn post-filter after each transform family it has weights for",
                        pipelines=["baseline", "baseline+cnn", "dct-arith", "dct-arith+cnn", "wavelet", "wavelet+cnn",
                                   "learned", "learned+cnn", "lifting", "lifting+cnn"], codecs=["jpeg"],
                        contributions=[(f"post-filter on {p}", f"{p}+cnn", p)
                                       for p in ("baseline", "dct-arith", "wavelet", "learned", "lifting")]),
    "hours": Suite("RD against training time: the learned stage with each given weight file (snapshots of its "
                   "training), BD-rate against JPEG", pipelines=["learned"], codecs=["jpeg"],
                   qualities=[10, 20, 30, 45, 60, 75], artefact="learned"),
}


def _curve(doc, name):
    (c,) = [c["results"] for c in doc["codecs"] if c["name"] == name]
    return c


def _bd(doc, name, ref) -> str:
    """BD-rate of ``name`` against ``ref`` (28-38 dB) as text; n/a where the curves do not
    overlap inside the window."""
    from hybridcodec import CodecError, bd_rate

    a, b = _curve(doc, name), _curve(doc, ref)
    try:
        return f"{bd_rate(b['bpp'], b['psnr-rgb'], a['bpp'], a['psnr-rgb'], window=(28.0, 38.0)):+.2f} %"
    except CodecError:
        return "n/a (the curves do not overlap inside 28-38 dB)"


def _above(test, ref):
    """For each point of ``test``: its PSNR minus the ``ref`` curve's at the same bpp
    (piecewise linear in log-rate), as ``(gap, exact)``; below the ref's lowest rate a
    lower bound (``exact`` False); where nothing is known, None."""
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


def contributions(suite: Suite, doc) -> str:
    names = {c["name"] for c in doc["codecs"]}
    lines = []
    if suite.ahead and {suite.ahead[0], *suite.ahead[1]} <= names:
        best = suite.ahead[0]
        lines.append(f"{best}: {_bd(doc, best, 'jpeg')} vs jpeg")
        for other in suite.ahead[1]:
            gaps = _above(_curve(doc, best), _curve(doc, other))
            ahead = all(g is not None and g[0] > 0 for g in gaps)
            text = ["n/a" if g is None else ("%+.3f" if g[1] else ">= %+.3f") % g[0] for g in gaps]
            lines.append(f"  above the {other} curve at equal rate, per quality {_curve(doc, best)['quality']}: "
                         f"{text} dB ({'ahead at every quality' if ahead else 'NOT ahead at every quality'})")
    for what, a, b in suite.contributions:
        if {a, b} <= names:
            lines.append(f"{what}: BD-rate {_bd(doc, a, b)} ({a} against {b})")
    return "\n".join(lines)


def _commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _env_name(artefact: str) -> str:
    from hybridcodec_learned import weights

    return weights.get(artefact).env


def run_suite(name: str, suite: Suite, out: Path, data: str, jobs: int, argv) -> dict:
    from hybridcodec.compare import CompareSettings, run_compare

    folder = None if data == "skimage" else str(KODAK if data == "kodak" else data)
    settings = CompareSettings(out=str(out), data=folder, jobs=jobs, progress=False)
    if suite.everything:
        from hybridcodec.compare.codecs import ALL_QUALITIES
        from hybridcodec.compare.settings import default_codecs, default_pipelines

        settings.pipelines, settings.codecs = default_pipelines(True), default_codecs(True)
        settings.qualities = list(ALL_QUALITIES)
    for key in ("pipelines", "codecs", "qualities"):
        if getattr(suite, key) is not None:
            setattr(settings, key, list(getattr(suite, key)))
    started = time.time()
    doc = run_compare(settings)
    overrides = {k: v for k, v in os.environ.items() if k.startswith("HYBRIDCODEC_WEIGHTS_")}
    record = {"suite": name, "doc": suite.doc, "command": "python benchmarks/suite.py " + shlex.join(argv),
              "commit": _commit(), "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
              "weights_overrides": overrides, "data": data, "minutes": round((time.time() - started) / 60, 1)}
    (out / "suite.json").write_text(json.dumps(record, indent=1) + "\n")
    text = contributions(suite, doc)
    if text:
        (out / "contributions.txt").write_text(text + "\n")
        print(text)
    return doc


def timing(data: str, pipelines) -> None:
    import numpy as np

    import hybridcodec
    from _kodak import load_kodak

    images = [im for _, im in load_kodak(None if data == "kodak" else data)]
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


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", nargs="?", choices=sorted(SUITES))
    ap.add_argument("files", nargs="*", help="suite hours: the weight files to measure")
    ap.add_argument("--list", action="store_true", help="list the suites")
    ap.add_argument("--data", help="kodak (default), skimage, or a folder of images")
    ap.add_argument("--out", help="output folder (default: benchmarks/results/SUITE)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--weights", action="append", default=[], metavar="ARTEFACT=FILE",
                    help="code with FILE for a learned stage's artefact (e.g. lifting=/tmp/lifting.pt)")
    ap.add_argument("--timing", action="store_true", help="time encode and decode per image instead")
    args = ap.parse_args(argv)
    if args.list or not args.suite:
        for name, s in SUITES.items():
            print(f"{name:16} {s.doc}")
        return 0
    suite = SUITES[args.suite]
    data = args.data or suite.data
    out = Path(args.out) if args.out else HERE / "results" / args.suite
    for item in args.weights:
        artefact, _, path = item.partition("=")
        if not path or not Path(path).is_file():
            ap.error(f"--weights {item}: give ARTEFACT=FILE with an existing file")
        os.environ[_env_name(artefact)] = str(Path(path).resolve())
        if not args.out:
            out = out.with_name(f"{out.name}-{artefact}-{Path(path).stem}")
    if args.timing:
        timing(data, suite.pipelines or ["wavelet"])
        return 0
    if suite.artefact:
        if not args.files:
            ap.error(f"suite {args.suite} takes the weight files to measure")
        env = _env_name(suite.artefact)
        rows = []
        for f in args.files:
            os.environ[env] = str(Path(f).resolve())
            doc = run_suite(args.suite, suite, out / Path(f).stem, data, args.jobs, argv)
            rows.append(f"{Path(f).name}: {_bd(doc, suite.pipelines[0], 'jpeg')} vs jpeg")
            print(rows[-1])
        (out / "hours.txt").write_text("\n".join(rows) + "\n")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    run_suite(args.suite, suite, out, data, args.jobs, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
