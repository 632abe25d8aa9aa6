"""Rerun the recorded training command of shipped weights and compare.

    python benchmarks/retrain_check.py [--files postfilter-dct,postfilter-dwt,learned,dcnn] [--minutes M] [--keep DIR]

Each shipped ``NAME.pt`` (post-filters, learned transforms) has a ``.json`` beside it with the command that made
it and a fingerprint of the weights every 500 steps.  This runs that command again from
the repository root (writing to a temporary folder, never over the shipped files; the
files in parallel, as they were trained) and compares the fingerprints step by step
and, for a complete rerun, the sha256 of the weights file.  ``--minutes`` stops the rerun
early (the learning-rate schedule depends on the planned steps only, so the steps it
reaches must match the shipped run exactly).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "plugins" / "hybridcodec_learned" / "weights"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", default="postfilter-dct,postfilter-dwt",
                    help="shipped weight files (names without .pt) to retrain, in parallel")
    ap.add_argument("--minutes", type=float, help="stop each rerun after this much training time")
    ap.add_argument("--keep", type=Path, help="copy the rerun weights and records into this folder")
    args = ap.parse_args(argv)
    exe = Path(sys.executable).with_name("hybridcodec")
    shipped, runs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for fam in args.files.split(","):
            if not (WEIGHTS / f"{fam}.json").exists():
                ap.error(f"no shipped {fam}.json in {WEIGHTS}")
            shipped[fam] = json.loads((WEIGHTS / f"{fam}.json").read_text())
            cmd = shlex.split(shipped[fam]["command"])
            if "--out" in cmd:  # the recorded destination is replaced by the temporary folder
                i = cmd.index("--out")
                del cmd[i : i + 2]
            cmd = [str(exe), *cmd[1:], "--out", f"{tmp}/{fam}.pt", "--quiet"]
            if args.minutes:
                cmd += ["--hours", str(args.minutes / 60)]
            print(" ".join(shlex.quote(c) for c in cmd))
            runs[fam] = subprocess.Popen(cmd, cwd=ROOT)
        start = time.perf_counter()
        failed = any(p.wait() for p in runs.values())
        print(f"reruns took {(time.perf_counter() - start) / 60:.1f} min")
        if failed:
            print("a rerun failed")
            return 1
        ok = True
        for fam in runs:
            rerun = json.loads(Path(f"{tmp}/{fam}.json").read_text())
            common = sorted(set(rerun["fingerprints"]) & set(shipped[fam]["fingerprints"]), key=int)
            same = [s for s in common if rerun["fingerprints"][s] == shipped[fam]["fingerprints"][s]]
            complete = rerun["steps"] == shipped[fam]["steps"]
            identical = complete and rerun["sha256"] == shipped[fam]["sha256"]
            print(f"{fam}: rerun reached step {rerun['steps']} of {shipped[fam]['steps']} in "
                  f"{rerun['training_seconds'] / 60:.1f} min; fingerprints equal at {len(same)} of "
                  f"{len(common)} common steps ({', '.join(common) or 'none'})"
                  + (f"; weights file {'identical' if identical else 'DIFFERENT'}" if complete else ""))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for ext in (".pt", ".json"):
                    shutil.copy2(f"{tmp}/{fam}{ext}", args.keep / f"{fam}-rerun{ext}")
            ok &= bool(common) and len(same) == len(common) and (identical or not complete)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
