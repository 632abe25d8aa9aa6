"""Peak memory and time per pixel of encode and decode at large sizes.

    python benchmarks/memory.py [--presets baseline,wavelet] [--size 6000x4000] [--scaling 1024,4096]

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


def child(preset: str, op: str, h: int, w: int, repeat: int) -> dict:
    import numpy as np

    import hybridcodec

    img = _image(h, w)
    small = hybridcodec.encode(img[:64, :64], preset=preset)
    hybridcodec.decode(small)  # compile / load the kernels
    data = hybridcodec.encode(img, preset=preset) if op == "decode" else None
    import gc

    gc.collect()
    times = []
    base = _reset_peak()  # the image, and the file to decode, are the process's own
    for _ in range(repeat):
        t = time.perf_counter()
        out = hybridcodec.encode(img, preset=preset) if op == "encode" else hybridcodec.decode(data)
        times.append(time.perf_counter() - t)
        del out
    return {"peak_bytes_per_pixel": (_status_mb("VmHWM") - base) * 2**20 / (h * w), "seconds": float(np.median(times))}


def measure(preset: str, op: str, h: int, w: int, repeat: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--child", json.dumps([preset, op, h, w, repeat])]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="baseline,wavelet")
    ap.add_argument("--size", default="6000x4000", help="WxH of the memory measurement")
    ap.add_argument("--scaling", default="1024,4096", help="two square sizes for time per pixel")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return 0
    w, h = (int(v) for v in args.size.split("x"))
    small, large = (int(v) for v in args.scaling.split(","))
    print(f"peak memory above the process (after loading the image), {w}x{h}:")
    for preset in args.presets.split(","):
        for op in ("encode", "decode"):
            r = measure(preset, op, h, w)
            print(f"  {preset:10} {op}: {r['peak_bytes_per_pixel']:5.1f} bytes per pixel, {r['seconds']:.2f} s")
    print(f"time per pixel at {large}x{large} relative to {small}x{small} (median of 3):")
    for preset in args.presets.split(","):
        for op in ("encode", "decode"):
            a, b = (measure(preset, op, n, n, 3)["seconds"] / n**2 for n in (small, large))
            print(f"  {preset:10} {op}: {b / a:.2f}x  ({a * 1e9:.1f} ns and {b * 1e9:.1f} ns per pixel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
