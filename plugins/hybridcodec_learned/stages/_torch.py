"""torch as a learned stage runs it: imported on first use, under the project's thread
policy (:func:`hybridcodec.plugin.torch_threads`), applied before every network runs so
that the API, the CLI, the Pillow plugin and ``compare`` all get the same.

The policy gives torch every core this process may use (``HYBRIDCODEC_THREADS``, else
the usable cores) with OpenMP's passive waits: this module sets
``OMP_WAIT_POLICY=PASSIVE`` before it imports torch, unless the variable is set.  If
torch was imported before (by the application), its OpenMP runtime has already read the
variable and may spin: then a learned stage uses one thread unless
``HYBRIDCODEC_THREADS`` or ``OMP_WAIT_POLICY=PASSIVE`` says otherwise (measured: two
spinning threads ran ``lifting+cnn`` 6-10x slower than quiet on a busy 2-core machine,
one thread 1.7-1.9x, two passive ones 1.0-1.25x; benchmarks/threads.py).
"""

from __future__ import annotations

import os
import sys

from hybridcodec.plugin import torch_threads

__all__ = ["use_torch"]

_PASSIVE: list = []  # [bool]: whether torch's OpenMP waits passively, known at its import


def use_torch():
    """The torch module, its intra-op threads set by the policy (left alone under
    ``HYBRIDCODEC_TORCH_POLICY=off``)."""
    n = torch_threads()
    if not _PASSIVE:
        wait = os.environ.get("OMP_WAIT_POLICY", "").strip().upper()
        if n is not None and not wait and "torch" not in sys.modules:
            os.environ["OMP_WAIT_POLICY"] = wait = "PASSIVE"
        _PASSIVE.append(wait == "PASSIVE")
    import torch

    if n is None:
        return torch
    if not _PASSIVE[0] and not os.environ.get("HYBRIDCODEC_THREADS", "").strip():
        n = 1  # spinning waits on a busy machine collapse: one thread is the safe choice
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return torch
