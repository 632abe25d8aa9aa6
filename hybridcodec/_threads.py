"""A small shared thread pool for the numba kernels (which release the GIL).

Work is split into independent pieces (planes, stripes of rows, runs of blocks); the
pool runs them on every core this process may use, or on ``HYBRIDCODEC_THREADS``
threads.  After a fork the child starts a pool of its own.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["threads", "torch_threads", "run", "submit", "in_job", "spans", "SPLIT_SAMPLES"]

#: Work on fewer samples than this stays on one thread: a pass over a Kodak plane
#: (~0.4 M samples) takes ~0.4 ms, about what handing work to another thread costs on
#: a 2-core machine (measured: a 768 x 512 plane's whole CDF 9/7 took 0.86 ms on one
#: thread and 1.6 ms split into runs of 64 columns / 16 rows on two).
SPLIT_SAMPLES = 1 << 20

_POOL: list = []
_LOCK = threading.Lock()


def threads() -> int:
    """How many threads the kernels use: ``HYBRIDCODEC_THREADS``, else the usable cores."""
    env = os.environ.get("HYBRIDCODEC_THREADS", "").strip()
    if env:
        if not (env.isdigit() and int(env) > 0):
            from ._errors import CodecError

            raise CodecError(f"HYBRIDCODEC_THREADS must be a positive whole number of threads; got {env!r}")
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def torch_threads() -> int | None:
    """How many threads a learned stage gives torch: :func:`threads`
    (``HYBRIDCODEC_THREADS``, else the usable cores), or None when
    ``HYBRIDCODEC_TORCH_POLICY=off`` (torch's own choice).

    Every core, but with OpenMP's *passive* waits (``OMP_WAIT_POLICY=PASSIVE``, which
    the learned stages set before they import torch): torch's default spinning waits
    collapse when another process wants the cores.  Measured on this project's 2-core
    machine, kodim01 at quality 50, ``lifting+cnn`` encode: quiet 2.48 s with two
    passive threads, 3.28 s with one, 2.05 s with torch's default; with two other
    processes spinning on both cores 4.10 s, 5.42 s and 19.67 s (``python
    benchmarks/threads.py``; the whole table is in docs/USAGE.md, "Threads").
    """
    if os.environ.get("HYBRIDCODEC_TORCH_POLICY", "").strip().lower() == "off":
        return None
    return threads()


def _pool() -> ThreadPoolExecutor:
    with _LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=max(1, threads() - 1),
                                            thread_name_prefix="hybridcodec"))
        return _POOL[0]


def _forget_pool() -> None:  # the parent's worker threads do not exist in a forked child
    _POOL.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


_LOCAL = threading.local()


def _inside(fn, *job):
    _LOCAL.busy = True
    try:
        return fn(*job)
    finally:
        _LOCAL.busy = False


def run(fn, jobs) -> list:
    """``[fn(*job) for job in jobs]``, the jobs spread over the pool and this thread.
    A job that calls ``run`` again runs its own jobs itself, one after another: the
    cores are already busy (and a pool worker waiting on the pool could deadlock)."""
    jobs = list(jobs)
    if len(jobs) < 2 or threads() < 2 or in_job():
        return [fn(*job) for job in jobs]
    futures = [_pool().submit(_inside, fn, *job) for job in jobs[1:]]
    first = _inside(fn, *jobs[0])
    return [first] + [f.result() for f in futures]


def submit(fn, *args):
    """``fn(*args)`` on a pool thread: a future.  Not from inside a job (see
    :func:`in_job`): a pool worker waiting on the pool could deadlock."""
    return _pool().submit(_inside, fn, *args)


def in_job() -> bool:
    """True inside a job that :func:`run` or :func:`submit` started."""
    return bool(getattr(_LOCAL, "busy", False))


def spans(n: int, min_size: int, pieces: int | None = None) -> list[tuple[int, int]]:
    """Split ``range(n)`` into about ``pieces`` (default: the thread count) runs of at
    least ``min_size`` (the last one takes the rest).

    Examples
    --------
    >>> spans(10, 3, 2)
    [(0, 5), (5, 10)]
    >>> spans(10, 8, 4)
    [(0, 10)]
    """
    k = max(1, min(pieces or threads(), n // max(1, min_size)))
    edges = [n * i // k for i in range(k + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:])]
