"""Running independent tasks in this process, in a process pool or on a Dask cluster:
the one task runner of ``batch`` and ``compare``.  Ctrl-C cancels what has not
started, in every mode, and is raised again once the running tasks are dropped."""

from __future__ import annotations

__all__ = ["run_tasks"]


def run_tasks(fn, tasks: list, on_result, *, jobs: int = 1, scheduler: str | None = None,
              progress: bool = False, desc: str = "", unit: str = "task") -> None:
    """Call ``on_result(fn(task))`` for every task, in completion order.

    ``scheduler``: the address of a Dask distributed scheduler; else ``jobs > 1``
    runs a process pool, else the tasks run here one after another.  ``fn`` must be
    a module-level function (it is pickled to other processes).
    """
    bar = _bar(len(tasks), desc, unit) if progress else None

    def done(result):
        on_result(result)
        if bar is not None:
            bar.update()

    try:
        if scheduler:
            from dask.distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = client.map(fn, tasks, pure=False)
                try:
                    for fut in as_completed(futures):
                        done(fut.result())
                except KeyboardInterrupt:
                    client.cancel(futures)
                    raise
        elif jobs > 1 and len(tasks) > 1:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            pool = ProcessPoolExecutor(jobs, initializer=_share_cores, initargs=(jobs,))
            try:
                futures = [pool.submit(fn, t) for t in tasks]
                for fut in as_completed(futures):
                    done(fut.result())
            except KeyboardInterrupt:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            finally:
                pool.shutdown(wait=True)
        else:
            for t in tasks:
                done(fn(t))
    finally:
        if bar is not None:
            bar.close()


def _share_cores(jobs: int) -> None:
    """In a pool worker: its share of the cores, for the numba kernels and torch alike
    (``HYBRIDCODEC_THREADS``, which the learned stages' thread policy follows), and
    ``OMP_NUM_THREADS`` for a torch imported directly, unless that is set.  Two workers
    each running torch on both cores spin against each other: a Kodak compare of
    `lifting+cnn` with --jobs 2 made 48 points in 10 minutes so (a test run shared the
    machine), and 120 in 3.75 minutes with one thread each (2026-11-27)."""
    import os
    import sys

    from ._threads import threads

    share = max(1, threads() // jobs)
    os.environ["HYBRIDCODEC_THREADS"] = str(share)
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return
    os.environ["OMP_NUM_THREADS"] = str(share)  # read by torch when it is imported
    torch = sys.modules.get("torch")  # imported before the fork
    if torch is not None:
        torch.set_num_threads(share)


class _Counter:
    """A plain progress line every 10 % for when tqdm is not installed."""

    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit, self.n, self.shown = total, desc, unit, 0, -1

    def update(self, k=1):
        import sys

        self.n += k
        tenth = 10 * self.n // max(1, self.total)
        if tenth != self.shown:
            self.shown = tenth
            print(f"{self.desc}: {self.n}/{self.total} {self.unit}s", file=sys.stderr)

    def close(self):
        pass


def _bar(total, desc, unit):
    try:
        from tqdm import tqdm
    except ImportError:
        return _Counter(total, desc, unit)
    return tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True)
