"""Where numba keeps its compiled kernels (``cache=True``).

Numba writes its cache beside each source file (``__pycache__``) or, failing that,
in the user's cache folder; with neither writable (a read-only install run by a
user without a writable home, as in many containers) decorating a cached kernel
raises ``RuntimeError: cannot cache function ... no locator available``.  Before any
kernel is defined, this module points numba at a private folder under the
temporary directory in that case, and turns caching off if even that is read-only
(kernels then compile on first use in each process).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

__all__ = ["configure_cache"]

_KERNEL_DIRS = ("stages", "entropy")  # the subpackages that define cached kernels


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "numba"


def configure_cache() -> str:
    """Make cached kernels importable anywhere; returns where the cache goes
    (``"in-tree"``, ``"user"``, ``"env"``, a folder, or ``"off"``)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return "env"
    here = Path(__file__).resolve().parent
    if all(_writable(here / sub / "__pycache__") for sub in _KERNEL_DIRS):
        return "in-tree"
    if _writable(_user_cache()):
        return "user"
    try:
        folder = Path(tempfile.gettempdir()) / f"hybridcodec-numba-{os.getuid() if hasattr(os, 'getuid') else 0}"
    except OSError:  # no usable temporary directory at all
        folder = None
    import numba

    if folder is not None and _writable(folder):
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        numba.config.CACHE_DIR = str(folder)
        return str(folder)
    from numba.core.dispatcher import Dispatcher

    Dispatcher.enable_caching = lambda self: None  # nowhere to write: compile in memory
    return "off"


class _Kernel:
    """A numba kernel compiled on first use.  ``import numba`` takes ~0.15 s, so the
    kernels are only plain functions until one is called (or another kernel that calls
    it is compiled); then every lazy kernel in the same module namespace (and in the
    namespaces of the kernels it refers to) is swapped for its numba dispatcher, which
    is what numba needs to see when it types a caller."""

    __slots__ = ("fn", "opts", "dispatcher")

    def __init__(self, fn, opts):
        self.fn, self.opts, self.dispatcher = fn, opts, None

    def compile(self):
        if self.dispatcher is None:
            with _INIT_LOCK:  # one dispatcher per kernel, whichever thread calls it first
                if self.dispatcher is None:
                    _numba()
                    import numba

                    dispatcher = numba.njit(**self.opts)(self.fn)
                    self.dispatcher = dispatcher
                    _materialize(self.fn.__globals__)
        return self.dispatcher

    def __call__(self, *args):
        return self.compile()(*args)

    def __getattr__(self, name):  # py_func, signatures, ... of the dispatcher
        return getattr(self.compile(), name)


def _materialize(namespace: dict) -> None:
    for key, value in list(namespace.items()):
        if isinstance(value, _Kernel):
            namespace[key] = value.compile()


_CONFIGURED = []


_INIT_LOCK = threading.RLock()


def _numba():
    if not _CONFIGURED:
        with _INIT_LOCK:  # kernels may first be called from two threads at once
            if not _CONFIGURED:
                import gc

                collecting = gc.isenabled()
                # numba's start makes ~10^5 objects, none of them garbage: 0.03-0.05 s of collections saved
                gc.disable()
                try:
                    configure_cache()
                    _init_target()
                finally:
                    if collecting:
                        gc.enable()
                _CONFIGURED.append(True)


def _init_target() -> None:
    """Start numba's CPU target without letting it import ``scipy.linalg``.

    Starting the target imports ``numba.np.arraymath``, which imports
    ``scipy.linalg.cython_blas`` only to learn whether ``np.dot`` and friends can be
    compiled (measured: 0.27 s of a 0.70 s first kernel call, with numpy.f2py and
    numpy.testing).  No kernel here uses them, so the import is made to fail once, and
    only when nothing has imported ``scipy.linalg`` yet; later imports work as usual."""
    import sys

    name = "scipy.linalg.cython_blas"
    block = "scipy.linalg" not in sys.modules and name not in sys.modules
    if block:
        sys.modules[name] = None  # an import of it raises ImportError, without importing scipy.linalg
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target

        with global_compiler_lock:  # what numba holds when it refreshes the target itself
            cpu_target.target_context.refresh()
    finally:
        if block and name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


def kernel(**opts):
    """``numba.njit(**opts)``, deferred until the kernel is first needed.

    Examples
    --------
    >>> @kernel(cache=False)
    ... def twice(x):
    ...     return 2 * x
    >>> twice(21)
    42
    """
    def wrap(fn):
        return _Kernel(fn, opts)

    return wrap
