"""The task runner of batch and compare: pool workers share the cores."""

import os

import pytest

from hybridcodec._tasks import run_tasks
from hybridcodec._threads import threads


def _omp_threads(_):
    import torch  # noqa: F401  (imported after the worker started: it reads OMP_NUM_THREADS)

    return os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads()


def test_pool_workers_get_their_share_of_the_cores(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "2")  # as if on 2 cores
    got = []
    run_tasks(_omp_threads, [0, 1, 2], got.append, jobs=2)
    assert got == [("1", 1)] * 3


def _policy(_):
    from hybridcodec.plugin import threads, torch_threads

    return threads(), torch_threads()


def test_pool_workers_split_the_threads_of_numba_and_torch_alike(monkeypatch):
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "4")
    monkeypatch.delenv("HYBRIDCODEC_TORCH_POLICY", raising=False)
    got = []
    run_tasks(_policy, [0, 1], got.append, jobs=2)
    assert got == [(2, 2)] * 2


def test_an_explicit_omp_setting_is_kept(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    got = []
    run_tasks(_omp_threads, [0, 1], got.append, jobs=2)
    assert [omp for omp, _ in got] == ["3", "3"]


def test_tasks_in_this_process_leave_the_environment_alone(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    got = []
    run_tasks(lambda t: os.environ.get("OMP_NUM_THREADS"), [0], got.append, jobs=1)
    assert got == [None] and threads() >= 1
