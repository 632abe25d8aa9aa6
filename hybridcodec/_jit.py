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
