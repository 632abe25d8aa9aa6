"""Peak memory and time per pixel of encode and decode at large sizes.

    python benchmarks/memory.py [--presets baseline,wavelet,lifting+cnn] [--size 6000x4000] [--scaling 1024,4096]
                                [--repeat 3]

By default every preset and every ``+cnn`` pipeline (about an hour on 2 cores).

Each measurement runs in a fresh process: it builds a photo-like test image (a Kodak
image tiled with mirroring, so that the statistics stay those of photos; a synthetic
image when the Kodak folder is absent), warms the kernels up on a small image, resets
the peak resident size (Linux ``/proc/self/clear_refs``), encodes (or decodes) once,
and reports how far the peak rose above the resident size before, per pixel.  ``--scaling`` times encode and decode at two
square sizes (median of 3) and prints the time per pixel of the larger relative to the
smaller.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _image(h: int, w: int):
    import numpy as np

    from _kodak import KODAK

    files = sorted(KODAK.glob("*.png"))
    if files:
        from PIL import Image

        tile = np.asarray(Image.open(files[0]).convert("RGB"))
        tile = np.concatenate([tile, tile[::-1]], 0)
        tile = np.concatenate([tile, tile[:, ::-1]], 1)
        reps = (-(-h // tile.shape[0]), -(-w // tile.shape[1]), 1)
        return np.ascontiguousarray(np.tile(tile, reps)[:h, :w])
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)), ((x + y) // 7) % 256], -1)
    return img.astype(np.uint8)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def _reset_peak() -> float:
    """Reset the peak resident size (Linux: VmHWM) to the current one; returns that."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def child(preset: str, op: str, h: int, w: int, repeat: int, path: str) -> dict:
    """Encode the test image (and write the file to ``path``) or decode the file at
    ``path``, in this fresh process: a decode measured after an encode in one process
    reuses what the encoder freed (the C heap keeps it) and reads low."""
    import numpy as np

    import hybridcodec

    how = {"preset": preset} if preset in hybridcodec.PRESETS else {"pipeline": preset}  # or a spec: lifting+cnn
    warm = _image(64, 64)
    hybridcodec.decode(hybridcodec.encode(warm, **how))  # compile / load the kernels and weights
    img = _image(h, w) if op == "encode" else None
    data = Path(path).read_bytes() if op == "decode" else None
    import gc

    gc.collect()
    times = []
    base = _reset_peak()  # the image, or the file to decode, is the process's own
    for _ in range(repeat):
        t = time.perf_counter()
        out = hybridcodec.encode(img, **how) if op == "encode" else hybridcodec.decode(data)
        times.append(time.perf_counter() - t)
        if op == "encode":
            Path(path).write_bytes(out)
        del out
    return {"peak_bytes_per_pixel": (_status_mb("VmHWM") - base) * 2**20 / (h * w), "seconds": float(np.median(times))}


def measure(preset: str, h: int, w: int, repeat: int = 1) -> dict:
    """{"encode": ..., "decode": ...}, each in a fresh process (the decode of the encoder's file)."""
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "image.hcx")
        for op in ("encode", "decode"):
            cmd = [sys.executable, __file__, "--child", json.dumps([preset, op, h, w, repeat, path])]
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE)
            if res.returncode:
                raise RuntimeError(f"{preset} {op} {w}x{h} failed:\n{res.stderr[-2000:]}")
            out[op] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def _everything() -> list[str]:
    """Every preset, and ``+cnn`` after every lossy preset without a post-filter whose
    transform family has post-filter weights (when the learned plugin is installed)."""
    import hybridcodec

    out = list(hybridcodec.PRESETS)
    try:
        from hybridcodec_learned.stages.cnn import families
    except ImportError:
        return out
    for name in hybridcodec.PRESETS:
        pipe = hybridcodec.Pipeline(name)
        transforms = [s for s in pipe.stages if s.kind == "transform"]
        if (not pipe.postfilters and transforms and not getattr(transforms[0], "integer", False)
                and transforms[0].family in families()):
            out.append(f"{name}+cnn")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="", help="presets or pipeline specs, comma-separated; default: every "
                    "preset and every +cnn pipeline the installed stages allow")
    ap.add_argument("--size", default="6000x4000", help="WxH of the memory measurement ('': none)")
    ap.add_argument("--scaling", default="1024,4096", help="two square sizes for time per pixel ('' : none)")
    ap.add_argument("--repeat", type=int, default=3, help="runs timed for the scaling (median)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return 0
    w, h = (int(v) for v in args.size.split("x")) if args.size else (0, 0)
    small, large = (int(v) for v in args.scaling.split(",")) if args.scaling else (0, 0)
    presets = args.presets.split(",") if args.presets else _everything()
    from _kodak import KODAK

    kodak = sorted(KODAK.glob("*.png"))
    print(f"test image: {kodak[0].name} tiled with mirroring" if kodak else
          f"test image: SYNTHETIC (no Kodak images in {KODAK}; set HYBRIDCODEC_KODAK)", flush=True)
    if args.size:
        print(f"peak memory above the process (after loading the image, or the file), {w}x{h}:", flush=True)
    for preset in presets if args.size else ():
        r = measure(preset, h, w)
        for op in ("encode", "decode"):
            print(f"  {preset:12} {op}: {r[op]['peak_bytes_per_pixel']:5.1f} bytes per pixel, "
                  f"{r[op]['seconds']:.2f} s", flush=True)
    if not args.scaling:
        return 0
    print(f"time per pixel at {large}x{large} relative to {small}x{small} (median of {args.repeat}):", flush=True)
    for preset in presets:
        a, b = (measure(preset, n, n, args.repeat) for n in (small, large))
        for op in ("encode", "decode"):
            ta, tb = a[op]["seconds"] / small**2, b[op]["seconds"] / large**2
            print(f"  {preset:12} {op}: {tb / ta:.2f}x  ({ta * 1e9:.1f} ns and {tb * 1e9:.1f} ns per pixel)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
