"""Progress of one encode or decode, stage by stage, for whoever asked to hear it (the
command line shows long runs on stderr).  The library is silent unless a reporter is
installed with :func:`reporting`."""

from __future__ import annotations

import contextvars
import sys
import time
from contextlib import contextmanager

__all__ = ["step", "reporting", "StderrReporter"]

_REPORTER: contextvars.ContextVar = contextvars.ContextVar("hybridcodec_progress", default=None)


def step(what: str) -> None:
    """Tell the installed reporter (if any) that stage ``what`` starts."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(what)


@contextmanager
def reporting(reporter):
    """Within the block, :func:`step` calls ``reporter(what)``."""
    token = _REPORTER.set(reporter)
    try:
        yield reporter
    finally:
        _REPORTER.reset(token)


class StderrReporter:
    """Says on ``stream`` which stage runs, once ``after`` seconds have passed (fast runs
    stay quiet): on a terminal one line rewritten in place, elsewhere a line at most
    every ``every`` seconds.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> r = StderrReporter("encoding x.png", stream=out, after=0.0, every=0.0)
    >>> r("dwt"); r("arith"); r.done()
    >>> out.getvalue().splitlines()[0].startswith("encoding x.png: dwt (")
    True
    """

    def __init__(self, label: str, stream=None, after: float = 1.0, every: float = 2.0):
        self.label, self.stream, self.after, self.every = label, stream or sys.stderr, after, every
        self.start = time.perf_counter()
        self.last = -1e9
        self.shown = False
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, what: str) -> None:
        now = time.perf_counter() - self.start
        if now < self.after or (not self.tty and now - self.last < self.every):
            return
        self.last = now
        line = f"{self.label}: {what} ({now:.1f} s)"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(80))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
