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
                    _guard_cache(dispatcher)
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


# numba's cache is not safe across processes (numba issue #4807): saving a kernel reads
# the index, picks the first free data file number, writes the index, then the data.
# Two processes compiling different signatures of one kernel at once (the first run
# after an install, with compare's workers or a fuzz run) can both pick number 1, and
# the index then sends one signature to the other's machine code, which every later
# process loads and runs on the wrong types (a toy kernel compiled by 8 processes at
# once left such a cache in 3 rounds of 6: benchmarks/numba_cache_race.py; the state
# it leaves is reproduced in tests/test_jit_cache.py).  So: the
# index and data of a kernel are read and written under a lock file beside them, and a
# loaded entry whose signature is not the one asked for is dropped (and recompiled).


def _guard_cache(dispatcher) -> None:
    cache = getattr(dispatcher, "_cache", None)
    if type(cache).__name__ != "FunctionCache" or not hasattr(cache, "_cache_file"):
        return  # caching off (NullCache), or a numba whose cache this does not know
    _classes()  # before the cache is first read
    cache.__class__ = _CLASSES[0]
    cache._cache_file.__class__ = _CLASSES[1]


_CLASSES: list = []


def _classes() -> None:
    if _CLASSES:
        return
    from numba.core.caching import FunctionCache, IndexDataCacheFile

    class CheckedCache(FunctionCache):
        def _load_overload(self, sig, target_context):
            data = super()._load_overload(sig, target_context)
            if data is not None and tuple(data.signature.args) != tuple(sig):
                return None  # another signature's code under this one's key: compile afresh
            return data

    class LockedFile(IndexDataCacheFile):
        def save(self, key, data):
            with _file_lock(self._index_path + ".lock", exclusive=True):
                return super().save(key, data)

        def load(self, key):
            with _file_lock(self._index_path + ".lock", exclusive=False):
                return super().load(key)

    _CLASSES[:] = [CheckedCache, LockedFile]


class _file_lock:
    """An advisory lock on ``path`` (POSIX ``flock``), shared or exclusive; nothing where
    the lock file cannot be made or locks are not available."""

    def __init__(self, path: str, exclusive: bool):
        self.path, self.exclusive, self.fd = path, exclusive, None

    def __enter__(self):
        try:
            import fcntl

            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        except (ImportError, OSError):
            if self.fd is not None:
                os.close(self.fd)
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None
        return False


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
