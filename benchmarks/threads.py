"""How learned pipelines fare when the machine is busy, under each thread setting: the
measurement behind the thread policy (docs/USAGE.md, "Threads").

For each setting, a fresh process encodes and decodes one photo (a Kodak image, or a
scikit-image photo when ../shared/datasets/kodak is absent) with each pipeline: one
untimed warm-up, then the median of ``--repeat`` timed runs, through the API and
(``--cli``) through ``hybridcodec encode`` / ``decode`` as a user runs them (whole
commands, start-up included).  Each setting runs on a quiet machine and again while
``--busy`` other processes spin on every core (plain Python loops at normal
priority), and the table gives every time as a ratio to the quiet one-thread time.
The load is ``--busy`` single-threaded processes in this benchmark's session
(``--load processes``, the default and the harder case on Linux, whose autogroup
scheduling shares the cores between sessions first and then fairly between the
threads of a session: a single-threaded phase, such as a command's start-up, gets 2/3
of a core beside two spinners, 1.5x its quiet time), or one process spinning
``--busy`` threads in a session of its own (``--load process``: a job started from
another terminal, which autogroup gives half the machine), or that process in this
session (``--load process-here``).

Settings: ``policy`` (nothing set: what a user gets), ``threads=1`` and ``threads=2``
(``HYBRIDCODEC_THREADS``), and ``torch-default`` (``HYBRIDCODEC_TORCH_POLICY=off``:
torch's own choice, every core and OpenMP's spinning waits, as before the policy).

    python benchmarks/threads.py [--pipelines lifting,lifting+cnn] [--repeat 3] [--cli] [--load process]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KODAK = HERE.parent.parent / "shared" / "datasets" / "kodak" / "kodim01.png"

SETTINGS = {
    "policy": {},
    "threads=1": {"HYBRIDCODEC_THREADS": "1"},
    "threads=2": {"HYBRIDCODEC_THREADS": "2"},
    "torch-default": {"HYBRIDCODEC_TORCH_POLICY": "off"},
}

_CHILD = r"""
import json, sys, time
import numpy as np
import hybridcodec
from PIL import Image
img = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
out = {}
for spec in sys.argv[3].split(","):
    data = hybridcodec.encode(img, pipeline=spec, quality=50)
    hybridcodec.decode(data)  # warm-up: weights, numba kernels
    enc, dec = [], []
    for _ in range(int(sys.argv[2])):
        t0 = time.perf_counter(); data = hybridcodec.encode(img, pipeline=spec, quality=50)
        t1 = time.perf_counter(); hybridcodec.decode(data); t2 = time.perf_counter()
        enc.append(t1 - t0); dec.append(t2 - t1)
    out[spec] = (sorted(enc)[len(enc) // 2], sorted(dec)[len(dec) // 2])
print(json.dumps(out))
"""


# a process that keeps N cores busy: threads hashing a megabyte at a time (hashlib
# releases the GIL for the hash), so one process loads every core
_SPIN_THREADS = r"""
import hashlib, sys, threading
buf = bytes(1 << 20)
def spin():
    while True:
        hashlib.sha256(buf).digest()
threads = [threading.Thread(target=spin) for _ in range(int(sys.argv[1]))]
for t in threads:
    t.start()
"""


def _env(setting: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HYBRIDCODEC_THREADS", "OMP_NUM_THREADS",
                                                            "OMP_WAIT_POLICY", "HYBRIDCODEC_TORCH_POLICY")}
    env.update(SETTINGS[setting])
    return env


def api_times(photo: Path, pipelines: list, setting: str, repeat: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(photo), str(repeat), ",".join(pipelines)],
                         env=_env(setting), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_times(photo: Path, pipelines: list, setting: str, repeat: int) -> dict:
    exe = str(Path(sys.executable).with_name("hybridcodec"))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        hcx, png = Path(tmp) / "x.hcx", Path(tmp) / "x.png"
        for spec in pipelines:
            enc, dec = [], []
            for k in range(repeat + 1):
                t0 = time.perf_counter()
                subprocess.run([exe, "encode", str(photo), str(hcx), "--pipeline", spec, "--quality", "50", "--force"],
                               env=_env(setting), check=True, capture_output=True)
                t1 = time.perf_counter()
                subprocess.run([exe, "decode", str(hcx), str(png), "--force"], env=_env(setting), check=True,
                               capture_output=True)
                t2 = time.perf_counter()
                if k:  # the first pair warms the file cache (and numba's on a fresh install)
                    enc.append(t1 - t0)
                    dec.append(t2 - t1)
            out[spec] = (sorted(enc)[len(enc) // 2], sorted(dec)[len(dec) // 2])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipelines", default="lifting,lifting+cnn")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="spinning processes while busy")
    ap.add_argument("--cli", action="store_true", help="time the hybridcodec command too")
    ap.add_argument("--load", choices=("processes", "process", "process-here"), default="processes",
                    help="processes: --busy single-threaded spinning processes in this benchmark's session "
                         "(default); process: one process spinning --busy threads in a session of its own, "
                         "as a job started from another terminal; process-here: that process in this session")
    ap.add_argument("--photo", help="default: kodim01, else a scikit-image photo")
    args = ap.parse_args(argv)
    photo = Path(args.photo) if args.photo else KODAK
    tmp = None
    if not photo.exists():
        from skimage import data as skdata
        from PIL import Image

        tmp = tempfile.NamedTemporaryFile(suffix=".png", delete=False)
        Image.fromarray(skdata.astronaut()).save(tmp.name)
        photo = Path(tmp.name)
    pipelines = args.pipelines.split(",")
    settings = args.settings.split(",")
    ways = [("api", api_times)] + ([("cli", cli_times)] if args.cli else [])
    results = {}
    for load in ("quiet", "busy"):
        spinners = []
        if load == "busy":
            if args.load == "processes":
                spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
            else:
                spinners = [subprocess.Popen([sys.executable, "-c", _SPIN_THREADS, str(args.busy)],
                                             start_new_session=args.load == "process")]
            time.sleep(1.0)
        try:
            for way, fn in ways:
                for s in settings:
                    results[(load, way, s)] = fn(photo, pipelines, s, args.repeat)
                    print(f"{load:5} {way} {s:14} " + "  ".join(
                        f"{p}: enc {e:.2f} s dec {d:.2f} s" for p, (e, d) in results[(load, way, s)].items()),
                        flush=True)
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    load = (f"{args.busy} spinning processes in this session" if args.load == "processes"
            else f"one process spinning {args.busy} threads in a session of its own" if args.load == "process"
            else f"one process spinning {args.busy} threads in this session")
    print(f"\n{photo.name}, quality 50, median of {args.repeat}; busy = {load}; "
          "ratio to the quiet threads=1 time of the same way")
    print("| way | setting | load | " + " | ".join(f"{p} enc | {p} dec" for p in pipelines) + " |")
    print("|---|---|---|" + "---|---|" * len(pipelines))
    for way, _ in ways:
        base = results.get(("quiet", way, "threads=1"))
        for s in settings:
            for load in ("quiet", "busy"):
                r = results[(load, way, s)]
                cells = []
                for p in pipelines:
                    for i in (0, 1):
                        ratio = f" ({r[p][i] / base[p][i]:.2f}x)" if base else ""
                        cells.append(f"{r[p][i]:.2f} s{ratio}")
                print(f"| {way} | {s} | {load} | " + " | ".join(cells) + " |")
    if tmp is not None:
        os.unlink(tmp.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
