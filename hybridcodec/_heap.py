"""Giving freed heap memory back to the system between the stages of a large image.

glibc's allocator raises its mmap threshold after the first large free (up to 32 MB),
so the temporaries of a large plane (a 6000 x 4000 image's quarter planes are 24 MB)
come from the heap afterwards, and what they leave behind when freed stays resident:
the learned lifting stage left ~15 bytes a pixel of free heap resident after it on a
6000 x 4000 image, which the stages after it then stood on.  ``malloc_trim`` returns it
(the free pages anywhere in the heap, not only at its top).  Measured: on that image,
the ``hybrid`` decode's peak above the process fell from 45 to ~31 bytes a pixel.  A
fixed low threshold instead (``MALLOC_MMAP_THRESHOLD_``) would do it as well but made
every large temporary a fresh mapping: a Kodak ``lifting`` decode took 1.7x as long.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache

__all__ = ["release_free_memory", "LARGE"]

LARGE = 1 << 22  # pixels: below this the heap's slack is a few MB, not worth a call


@lru_cache(maxsize=1)
def _trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc only (musl has none: nothing to do there)
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory(pixels: int) -> None:
    """Return the heap's free pages to the system, for images of ``LARGE`` pixels or more."""
    if pixels >= LARGE:
        trim = _trim()
        if trim is not None:
            trim(0)
