"""The ``hybridcodec`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import _codec, _info
from ._errors import CodecError
from ._files import check_output, write_atomic
from ._imagefiles import hcx_to_image, read_image
from ._pipeline import PRESETS
from ._commands import plugin_commands, version_line
from ._registry import available_stages

__all__ = ["main"]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CodecError(f"{path}: no such file") from None
    except OSError as exc:
        raise CodecError(f"{path}: cannot read ({exc.strerror})") from None


@contextmanager
def _progress(label: str):
    """Long encodes and decodes say on stderr which stage runs (after a second)."""
    from ._progress import StderrReporter, reporting

    reporter = StderrReporter(label)
    try:
        with reporting(reporter):
            yield
    finally:
        reporter.done()


def cmd_encode(args) -> int:
    src, dst = Path(args.input), Path(args.output)
    if dst.suffix.lower() != ".hcx" and not args.any_name:
        raise CodecError(f"{dst}: encode writes .hcx files; name the output *.hcx (or pass --any-name to "
                         "write .hcx bytes under another name)")
    check_output(dst, [src], args.force)
    im, info = read_image(src)
    with _progress(f"encoding {src.name}"):
        data = _codec.encode(im, preset=args.preset, pipeline=args.pipeline, quality=args.quality,
                             target_bpp=args.target_bpp, target_psnr=args.target_psnr, max_bytes=args.max_bytes,
                             exif=info.get("exif") or None, icc_profile=info.get("icc_profile") or None,
                             xmp=info.get("xmp") or None)
    write_atomic(dst, data)
    meta = _info.info(data)
    print(f"{dst}: {meta['width']}x{meta['height']} {meta['mode']}, {meta['bytes']} bytes, "
          f"{meta['bpp']:.3f} bpp, quality {meta['quality']}")
    _note_missed_target(args, im, data, meta)
    return 0


def _note_missed_target(args, im, data, meta) -> None:
    """Say so when rate control could not reach its target (it then gives the closest file)."""
    from ._metrics import psnr

    if args.target_psnr is not None:
        got = psnr(np.asarray(im), _codec.decode(data, max_pixels=None).reshape(np.asarray(im).shape))
        if got < args.target_psnr:
            print(f"note: {args.target_psnr} dB is out of reach for this pipeline; the best it does is "
                  f"{got:.2f} dB (quality {meta['quality']})", file=sys.stderr)
    elif args.target_bpp is not None and abs(meta["bpp"] - args.target_bpp) > 0.05 * args.target_bpp:
        end = "largest" if meta["bpp"] < args.target_bpp else "smallest"
        print(f"note: {args.target_bpp} bpp is out of reach for this pipeline; this is its {end} file "
              f"({meta['bpp']:.3f} bpp at quality {meta['quality']})", file=sys.stderr)


def cmd_decode(args) -> int:
    from PIL import Image

    src, dst = Path(args.input), Path(args.output)
    check_output(dst, [src], args.force)
    fmt = Image.registered_extensions().get(dst.suffix.lower())
    if fmt is None:
        raise CodecError(f"{dst}: unknown image extension {dst.suffix!r}; use e.g. .png")
    max_pixels = None if args.max_pixels == 0 else args.max_pixels
    data = _read_bytes(src)
    with _progress(f"decoding {src.name}"):
        blob, pixels = hcx_to_image(data, fmt, dst, reduce=args.reduce, max_pixels=max_pixels)
    write_atomic(dst, blob)
    if pixels.dtype == np.uint16 and pixels.ndim == 3 and pixels.shape[2] > 1 and _info.metadata(data):
        print(f"note: {dst} is 16-bit colour, written without the file's EXIF/ICC/XMP (get them with "
              "hybridcodec.metadata)", file=sys.stderr)
    print(f"{dst}: {pixels.shape[1]}x{pixels.shape[0]}")
    return 0


def cmd_info(args) -> int:
    meta = _info.info(_read_bytes(Path(args.input)))
    if args.json:
        print(json.dumps(meta, indent=2))
    else:
        for key in ("width", "height", "mode", "pipeline", "quality", "bytes"):
            print(f"{key:9} {meta[key]}")
        print(f"{'bpp':9} {meta['bpp']:.4f}")
        if meta["decode_kmacs"]:
            print(f"{'kMACs':9} {meta['decode_kmacs']:.3g} a pixel to decode, at most")
    return 0


def cmd_stages(args) -> int:
    for name, cls in available_stages().items():
        print(f"{name}  [{cls.kind}]  {cls.doc}")
        if cls.decode_macs or cls.encode_macs:
            print(f"    cost: decode {_kmacs(cls.decode_macs)} kMACs a pixel at most, encode up to "
                  f"{_kmacs(cls.encode_macs)}")
        for p in cls.params:
            print(f"    {p.describe()}")
    print("\npresets:")
    for name, (spec, doc) in PRESETS.items():
        print(f"  {name:10} {spec}\n  {'':10} {doc}")
    from ._plugins import failed_plugins, plugin_distributions

    plugins = [f"{n} {v}" for n, v in plugin_distributions() if n != "hybridcodec"]
    print(f"\nplugins: {', '.join(plugins) or 'none installed'}")
    for name, why in failed_plugins().items():
        print(f"  {name}: failed to load ({why})")
    return 0


def _kmacs(macs: float) -> str:
    return f"{macs / 1000:.3g}"


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers; got {text!r}") from None


def _names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _need(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise CodecError(f"this command needs {', '.join(missing)}: pip install 'hybridcodec[compare]'")


def cmd_compare(args) -> int:
    _need("skimage", "matplotlib", "tqdm")
    from .compare import CompareSettings, run_compare
    from .compare.codecs import ALL_QUALITIES
    from .compare.settings import default_codecs, default_pipelines

    if args.pipelines:
        pipelines = [x.strip() for x in args.pipelines.split(";") if x.strip()]
    else:
        pipelines = _names(args.presets) if args.presets else default_pipelines(args.all)
    settings = CompareSettings(out=args.out, data=args.data, pipelines=pipelines, jobs=args.jobs,
                               scheduler=args.scheduler, progress=not args.quiet)
    if args.codecs is not None:
        settings.codecs = _names(args.codecs)
    elif args.all:
        settings.codecs = default_codecs(True)
    if args.qualities:
        settings.qualities = args.qualities
    elif args.all:
        settings.qualities = list(ALL_QUALITIES)
    if args.metrics:
        settings.metrics = _names(args.metrics)
        bad = set(settings.metrics) - {"psnr", "ssim", "ms-ssim"}
        if bad or "psnr" not in settings.metrics:
            raise CodecError("--metrics takes psnr,ssim,ms-ssim (psnr is always needed)")
    if args.bd_window:
        if len(args.bd_window) != 2 or args.bd_window[0] >= args.bd_window[1]:
            raise CodecError("--bd-window takes LOW,HIGH in dB, e.g. 28,38")
        settings.bd_window = tuple(args.bd_window)
    if any(not 1 <= q <= 100 for q in settings.qualities):
        raise CodecError("--qualities must lie in 1..100")
    try:
        run_compare(settings)
    except (FileNotFoundError, ValueError) as exc:
        raise CodecError(str(exc)) from None
    print(f"wrote {args.out}/results.json, results.csv, rd_psnr.png, rd_ssim.png, rd_msssim.png, report.md")
    return 0


def cmd_batch(args) -> int:
    from .batch import BatchSettings, run_batch

    failures = run_batch(BatchSettings(args.input, args.output, preset=args.preset, pipeline=args.pipeline,
                                       quality=args.quality, target_bpp=args.target_bpp, jobs=args.jobs,
                                       scheduler=args.scheduler, progress=not args.quiet))
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="hybridcodec", description="Hybrid classical/learned image codec.")
    ap.add_argument("--version", action="version", version=version_line())
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("encode", help="compress an image to .hcx")
    p.add_argument("input", help="any image Pillow reads")
    p.add_argument("output", help="the .hcx file to write")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help="named pipeline (default: wavelet; `hybridcodec stages` lists them)")
    g.add_argument("--pipeline", help="pipeline spec, e.g. 'ycbcr|dct(block=16)|jpegq|huffman'")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--quality", type=float, help="1..100 (default 75)")
    r.add_argument("--target-bpp", type=float, help="search the quality that gives this many bits per pixel")
    r.add_argument("--target-psnr", type=float, help="search the lowest quality that reaches this PSNR (dB)")
    r.add_argument("--max-bytes", type=int, help="search the highest quality whose file fits in this size")
    p.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    p.add_argument("--any-name", action="store_true", help="allow an output name that does not end in .hcx")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decompress .hcx to an image file (format from the extension)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--force", action="store_true", help="overwrite an existing output (never the input)")
    p.add_argument("--reduce", type=int, default=1, choices=(1, 2, 4, 8),
                   help="decode at 1/2, 1/4 or 1/8 of the size, from the coarse data only")
    p.add_argument("--max-pixels", type=int, default=_codec.DEFAULT_MAX_PIXELS,
                   help=f"refuse larger images (default {_codec.DEFAULT_MAX_PIXELS}; 0: no limit)")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="show an .hcx file's header")
    p.add_argument("input")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("stages", help="list installed stages with their parameters, and presets")
    p.set_defaults(func=cmd_stages)

    p = sub.add_parser("compare", help="RD curves, BD-rates, speed and plots against JPEG and other codecs")
    p.add_argument("--data", help="folder of images (default: photos that scikit-image ships)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--presets", help="comma-separated presets or pipelines (default: baseline,dct-arith,wavelet "
                   "and those installed plugins add; `hybridcodec stages` lists them)")
    g.add_argument("--pipelines", help="';'-separated pipeline specs")
    p.add_argument("--codecs", help="reference codecs (default: jpeg,webp,jpeg2000,avif,heic,jxl; "
                                    "missing libraries are skipped; jpeg is always run)")
    p.add_argument("--all", action="store_true",
                   help="also the slow or redundant rows (every learned pipeline plugins offer: post-filters on "
                        "every transform, ...; jpeg-opencv) and 12 qualities from 3 instead of 8 from 10")
    p.add_argument("--qualities", type=_floats, help="comma-separated qualities 1..100")
    p.add_argument("--metrics", help="psnr,ssim,ms-ssim (default: all)")
    p.add_argument("--bd-window", type=_floats, help="PSNR window of the BD-rates, dB (default 28,38)")
    p.add_argument("--out", default="compare-results", help="output folder (a rerun resumes)")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    p.add_argument("--scheduler", help="address of a Dask distributed scheduler to run on")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("batch", help="convert a folder: images to .hcx, .hcx to PNG")
    p.add_argument("input")
    p.add_argument("output")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", help="named pipeline (default: wavelet)")
    g.add_argument("--pipeline")
    r = p.add_mutually_exclusive_group()
    r.add_argument("--quality", type=float)
    r.add_argument("--target-bpp", type=float)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--scheduler", help="address of a Dask distributed scheduler to run on")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_batch)

    plugin_commands(sub)
    return ap


def console() -> int:
    """The ``hybridcodec`` command: :func:`main`, then every live object is moved out of
    the garbage collector's reach, as the process is about to end.  Python's last
    collection at exit walks them all, and once numba has started (about 10^5 objects,
    llvmlite handles among them) that took 0.18 s of a 0.57 s ``hybridcodec encode``
    (python benchmarks/startup.py).  The operating system frees them all the same;
    output files are written and closed before this runs."""
    import gc

    code = main()
    gc.freeze()
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CodecError as exc:
        print(f"hybridcodec: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        print(f"hybridcodec: error: {name}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hybridcodec: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback: a bad file or a bug reads as one line
        print(f"hybridcodec: error: unexpected {type(exc).__name__}: {exc} (a bug: please report it with "
              "the command and the file)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(console())
