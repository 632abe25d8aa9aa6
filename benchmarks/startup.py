"""Start-up costs: ``import hybridcodec``, a whole ``hybridcodec encode`` / ``decode``
command on one Kodak PNG with the numba cache warm, and the first run after an install
(an empty cache: every kernel the command needs compiles).

    python benchmarks/startup.py [--image PATH] [--presets baseline,wavelet] [--runs 5]

Each figure is the median wall time of ``--runs`` fresh processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _kodak import KODAK


def _wall(cmd, env=None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default=str(KODAK / "kodim01.png"))
    ap.add_argument("--presets", default="baseline,wavelet")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    exe = str(Path(sys.executable).with_name("hybridcodec"))
    med = lambda cmd, env=None: statistics.median(_wall(cmd, env) for _ in range(args.runs))  # noqa: E731
    print(f"python -c 'import hybridcodec': {med([sys.executable, '-c', 'import hybridcodec']):.3f} s")
    print(f"python -c 'import numpy':       {med([sys.executable, '-c', 'import numpy']):.3f} s (the floor)")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            hcx, png = f"{tmp}/{preset}.hcx", f"{tmp}/{preset}.png"
            enc = [exe, "encode", "--preset", preset, "--force", args.image, hcx]
            dec = [exe, "decode", "--force", hcx, png]
            _wall(enc), _wall(dec)  # the cache is warm from here on
            print(f"{preset}: hybridcodec encode {med(enc):.3f} s, decode {med(dec):.3f} s (warm cache)")
            cold = {**os.environ, "NUMBA_CACHE_DIR": f"{tmp}/cold-{preset}"}
            first_enc = _wall(enc, cold)
            first_dec = _wall(dec, cold)
            print(f"{preset}: first run after install: encode {first_enc:.1f} s, then decode {first_dec:.1f} s "
                  f"(kernels compiling into an empty cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
