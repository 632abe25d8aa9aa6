"""Run any number of fuzz cases (see harness.py) on several processes, with a watchdog.

    python tests/fuzz/run_long.py --cases 1000000 [--seed 1] [--workers 2]
    python tests/fuzz/run_long.py --seed 1 --case 123456     # replay one case

Prints outcome counts, the slowest case, the largest peak memory (the growth of a
worker's peak RSS over its start) and every disallowed outcome; exits 1 if any case
was disallowed, took longer than --max-seconds or grew a worker by more than --max-mb.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

CHUNK = 500
WARM_UP = 600.0  # seconds allowed on top of the stall for a worker's first chunk


def _chunk(args):
    seed, start, stop = args
    return harness.run_cases(seed, start, stop)


def run(seed: int, cases: int, workers: int = 2, start: int = 0, stall: float = 120.0, say=print) -> harness.Stats:
    """Run cases ``start .. start + cases - 1``; a chunk of 500 cases that does not finish
    within ``stall`` seconds is reported as a hang (TimeoutError names the chunk)."""
    total = harness.Stats()
    chunks = [(seed, a, min(a + CHUNK, start + cases)) for a in range(start, start + cases, CHUNK)]
    t0, last = time.perf_counter(), 0.0
    ctx = mp.get_context("spawn")  # torch (cnn) must not be forked
    with ctx.Pool(workers) as pool:
        it = pool.imap_unordered(_chunk, chunks)
        for k, _ in enumerate(chunks):
            try:
                # a worker's first chunk also builds the seed files and warms up (seconds to
                # minutes on a busy machine): not a hang
                total.merge(it.next(timeout=stall + (WARM_UP if k < workers else 0)))
            except mp.TimeoutError:
                pool.terminate()
                raise TimeoutError(f"a chunk of {CHUNK} cases ran over {stall} s: a hang; replay the cases "
                                   f"after {total.cases} done with harness.py") from None
            now = time.perf_counter() - t0
            if now - last > 30:
                last = now
                say(f"  {total.cases} cases, {total.cases / now:.0f}/s, {len(total.failures)} disallowed")
    return total


def report(stats: harness.Stats, seconds: float, say=print) -> None:
    say(f"{stats.cases} cases in {seconds:.0f} s ({stats.cases / max(seconds, 1e-9):.0f}/s)")
    for k, v in sorted(stats.outcomes.items(), key=lambda kv: -kv[1]):
        say(f"  {k:34} {v}")
    say(f"slowest case: {stats.slowest[0]:.3f} s {stats.slowest[1]}")
    say(f"most CPU time in a case: {stats.heaviest_cpu[0]:.3f} s {stats.heaviest_cpu[1]}")
    say(f"largest peak memory growth: {stats.peak_mb:.0f} MB {stats.peak_case}")
    for f in stats.failures[:50]:
        say(f"DISALLOWED seed={f[0]} case={f[1]} target={f[2]} mutations={f[3]}: {f[4]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--case", type=int, help="replay this one case and print its outcome")
    ap.add_argument("--max-seconds", type=float, default=2.0, help="wall seconds a case may take (issue 31: 2 s)")
    ap.add_argument("--start", type=int, default=0, help="first case index (to resume or split a run)")
    ap.add_argument("--max-mb", type=float, default=1024.0, help="peak growth of a worker (issue 31: 1 GB)")
    args = ap.parse_args(argv)
    if args.cases < 1 or args.start < 0 or args.workers < 1:
        ap.error("--cases and --workers must be at least 1, --start at least 0")
    if args.case is not None:
        data, muts, target = harness.make_case(args.seed, args.case)
        print(f"case {args.seed}/{args.case}: {target} after {muts}, {len(data)} bytes")
        print(harness.run_target(data, target))
        return 0
    t0 = time.perf_counter()
    stats = run(args.seed, args.cases, args.workers, start=args.start)
    report(stats, time.perf_counter() - t0)
    bad = stats.failures or stats.slowest[0] > args.max_seconds or stats.peak_mb > args.max_mb
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
