"""The learned stages' torch thread policy (hybridcodec_learned.stages._torch): every
core this process may use, with OpenMP's passive waits; one thread when torch was
imported first with spinning waits.  Each case runs in a fresh interpreter, since
OpenMP reads its settings once, when torch is imported."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

_PROBE = """
import os, sys
{before}
from hybridcodec_learned.stages._torch import use_torch
t = use_torch()
print(t.get_num_threads(), os.environ.get("OMP_WAIT_POLICY"))
"""


def _probe(env: dict, before: str = "") -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("HYBRIDCODEC_THREADS", "OMP_WAIT_POLICY", "OMP_NUM_THREADS", "HYBRIDCODEC_TORCH_POLICY")}
    out = subprocess.run([sys.executable, "-c", _PROBE.format(before=before)], env={**base, **env},
                         capture_output=True, text=True, timeout=120, check=True)
    n, wait = out.stdout.split()
    return int(n), wait


def test_torch_gets_the_threads_setting_with_passive_waits():
    assert _probe({"HYBRIDCODEC_THREADS": "3"}) == (3, "PASSIVE")


def test_a_users_wait_policy_is_kept():
    assert _probe({"HYBRIDCODEC_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}) == (2, "ACTIVE")


def test_torch_imported_first_with_spinning_waits_gets_one_thread():
    assert _probe({}, before="import torch; torch.set_num_threads(4)") == (1, "None")


def test_the_policy_can_be_switched_off():
    n, wait = _probe({"HYBRIDCODEC_TORCH_POLICY": "off"}, before="import torch; torch.set_num_threads(3)")
    assert (n, wait) == (3, "None")
