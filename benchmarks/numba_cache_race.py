"""Several processes compiling one cached kernel at once, as on the first run after an
install (``compare``'s workers, a fuzz run, a server's workers): how often numba's
cache is left sending a signature to another signature's machine code (numba issue
#4807), with plain ``numba.njit(cache=True)`` and with ``hybridcodec._jit.kernel``
(the index and data read and written under a lock, a loaded entry's signature
checked).

Each round: ``--procs`` processes, each with its own array type, start compiling at
the same moment into a fresh cache folder; then a fresh process per type loads the
kernel from the cache and checks its result.

    python benchmarks/numba_cache_race.py [--rounds 6] [--procs 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["float64", "int32", "int64", "float32", "uint8", "int16", "uint16", "int8"]

MODULES = {
    "numba.njit": "from numba import njit as _njit\nkernel = lambda **o: _njit(**o)\n",
    "hybridcodec kernel": "from hybridcodec._jit import kernel\n",
}
BODY = textwrap.dedent('''
    @kernel(cache=True)
    def twice_sum(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * 2
        return s
''')
CALL = textwrap.dedent('''
    import sys, time
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import kmod
    kind, start = sys.argv[2], float(sys.argv[3])
    a = np.arange(7, dtype=kind)
    while time.time() < start:
        pass
    try:
        ok = kmod.twice_sum(a) == float(a.astype(np.float64).sum() * 2)
    except Exception:
        ok = False
    print("ok" if ok else "WRONG")
''')


def _round(variant: str, procs: int) -> tuple[int, int]:
    """(processes whose cached kernel was wrong, data files left) for one round."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "kmod.py").write_text(MODULES[variant] + BODY)
        env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(folder / "cache"))
        start = time.time() + 4.0
        kinds = KINDS[:procs]
        running = [subprocess.Popen([sys.executable, "-c", CALL, str(folder), k, str(start)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in kinds]
        for p in running:
            p.wait()
        wrong = 0
        for k in kinds:
            out = subprocess.run([sys.executable, "-c", CALL, str(folder), k, "0"], env=env, capture_output=True,
                                 text=True).stdout
            wrong += out.strip() != "ok"
        files = len(list((folder / "cache").rglob("*.nbc")))
    return wrong, files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--procs", type=int, default=8, choices=range(2, len(KINDS) + 1))
    args = ap.parse_args(argv)
    for variant in MODULES:
        poisoned = 0
        for r in range(args.rounds):
            wrong, files = _round(variant, args.procs)
            poisoned += wrong > 0
            print(f"{variant:18} round {r + 1}: {wrong} of {args.procs} later loads wrong, {files} data files cached",
                  flush=True)
        print(f"{variant:18} cache poisoned in {poisoned} of {args.rounds} rounds\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
