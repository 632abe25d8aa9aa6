"""numba's kernel cache under several processes (numba issue #4807): entries read and
written under a lock, and an entry holding another signature's code never run."""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

fcntl = pytest.importorskip("fcntl")

ROOT = Path(__file__).resolve().parents[1]

_MODULE = textwrap.dedent('''
    from hybridcodec._jit import kernel

    @kernel(cache=True)
    def twice_sum(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * 2
        return s
''')

_CALL = textwrap.dedent('''
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import kmod
    for kind in sys.argv[2:]:
        a = np.arange(7, dtype=kind)
        print(kind, kmod.twice_sum(a), float(a.astype(np.float64).sum() * 2))
''')


def _run(folder, *kinds):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("NUMBA_CACHE_DIR", None)  # the cache beside the module, in the test's folder
    res = subprocess.run([sys.executable, "-c", _CALL, str(folder), *kinds], capture_output=True, text=True,
                         env=env, timeout=300)
    return res


def test_an_index_that_sends_a_signature_to_another_ones_code_is_not_trusted(tmp_path):
    (tmp_path / "kmod.py").write_text(_MODULE)
    first = _run(tmp_path, "float64", "int16")
    assert first.returncode == 0, first.stderr
    [index] = (tmp_path / "__pycache__").glob("kmod.twice_sum-*.nbi")
    # what two processes saving at once can leave: each signature pointing at the other's data file
    with open(index, "rb") as f:
        version = pickle.load(f)
        stamp, overloads = pickle.loads(f.read())
    assert len(overloads) == 2
    keys = list(overloads)
    overloads = {keys[0]: overloads[keys[1]], keys[1]: overloads[keys[0]]}
    with open(index, "wb") as f:
        pickle.dump(version, f, protocol=-1)
        f.write(pickle.dumps((stamp, overloads), protocol=-1))
    again = _run(tmp_path, "float64", "int16")
    assert again.returncode == 0, again.stderr
    for line in again.stdout.splitlines():
        kind, got, want = line.split()
        assert float(got) == float(want), line


def test_a_kernel_is_saved_to_the_cache_under_an_exclusive_lock(tmp_path, monkeypatch):
    import importlib

    from numba.core.caching import IndexDataCacheFile

    (tmp_path / "kmod_lock.py").write_text(_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    kmod = importlib.import_module("kmod_lock")
    seen = []
    save_data = IndexDataCacheFile._save_data

    def probe(self, name, data):
        fd = os.open(self._index_path + ".lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
        except BlockingIOError:
            seen.append("held")
        finally:
            os.close(fd)
        return save_data(self, name, data)

    monkeypatch.setattr(IndexDataCacheFile, "_save_data", probe)
    assert kmod.twice_sum(np.arange(5, dtype=np.uint8)) == 20.0
    assert seen == ["held"]
