"""The package's shape: no import cycles between hybridcodec's modules (imports inside
functions included), and torch stays out of the core import path."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hybridcodec

ROOT = Path(hybridcodec.__file__).resolve().parent


def _graph():
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = ("hybridcodec",) + f.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = f
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        pkg = m if f.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                for c in [target] + [f"{target}.{a.name}" for a in node.names]:
                    if c in mods and c != m:
                        graph[m].add(c)
    return graph


def _reaches(graph, a, b):
    seen, todo = set(), [a]
    while todo:
        for n in graph[todo.pop()]:
            if n == b:
                return True
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return False


def test_no_import_cycles():
    graph = _graph()
    assert "hybridcodec._codec" in graph and graph["hybridcodec._codec"]
    cycles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a]
                     if _reaches(graph, b, a) and "hybridcodec" not in (a, b)
                     and not a.startswith(b + ".") and not b.startswith(a + ".")})
    assert cycles == []


def test_core_import_does_not_import_torch():
    code = "import sys, hybridcodec, hybridcodec.pillow, hybridcodec.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_kernels_start_without_scipy_linalg_which_still_imports_and_serves_numba():
    code = ("import sys, numpy as np, hybridcodec\n"
            "img = (np.arange(16 * 16 * 3) % 251).astype(np.uint8).reshape(16, 16, 3)\n"
            "hybridcodec.decode(hybridcodec.encode(img, preset='wavelet'))\n"
            "print('scipy.linalg' in sys.modules)\n"
            "import scipy.linalg, numba\n"
            "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
            "print(float(dot(np.ones(3), np.arange(3.0))), float(scipy.linalg.norm([3.0, 4.0])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "3.0", "5.0"]


def test_first_kernel_calls_from_several_threads_at_once():
    # numba's target was once started from two threads together: "generator already executing"
    code = ("import threading, numpy as np, hybridcodec\n"
            "img = (np.arange(16 * 16 * 3) % 251).astype(np.uint8).reshape(16, 16, 3)\n"
            "errors = []\n"
            "def go(preset):\n"
            "    try:\n"
            "        hybridcodec.decode(hybridcodec.encode(img, preset=preset))\n"
            "    except Exception as exc:\n"
            "        errors.append(repr(exc))\n"
            "ts = [threading.Thread(target=go, args=(p,)) for p in ('baseline', 'wavelet', 'lossless', 'dct-arith')]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "print(errors)")
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "[]"


def test_kernel_start_leaves_the_garbage_collector_as_it_found_it():
    # numba starts with collections paused; the caller's setting comes back either way
    code = ("import gc, numpy as np, hybridcodec\n"
            "from hybridcodec import _jit\n"
            "{before}\n"
            "_jit._numba()\n"
            "print(gc.isenabled(), _jit._CONFIGURED)")
    for before, enabled in (("pass", "True"), ("gc.disable()", "False")):
        out = subprocess.run([sys.executable, "-c", code.format(before=before)], capture_output=True, text=True,
                             check=True)
        assert out.stdout.split() == [enabled, "[True]"]


def test_the_command_freezes_the_heap_only_as_it_ends(tmp_path):
    # console() (the installed command) = main(), then gc.freeze(); main() itself, which
    # library users and the tests call, leaves the collector alone
    code = ("import gc, sys\n"
            "from hybridcodec.cli import main, console\n"
            "main(['stages']); print('after-main', gc.get_freeze_count() == 0)\n"
            "sys.argv = ['hybridcodec', 'stages']\n"
            "print('after-console', console(), gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    marks = [line.split() for line in out.stdout.splitlines() if line.startswith("after-")]
    assert marks == [["after-main", "True"], ["after-console", "0", "True"]]


_USER_CODE = """
import numpy as np, hybridcodec, os
img = (np.arange(24 * 20 * 3) % 251).astype(np.uint8).reshape(24, 20, 3)
for preset in ("baseline", "wavelet", "lossless", "dct-arith"):
    assert hybridcodec.decode(hybridcodec.encode(img, preset=preset)).shape == img.shape
print("cache:", os.environ.get("NUMBA_CACHE_DIR", "in memory"))
"""


def _as_read_only_user(ro_paths, tmp_path):
    """Run _USER_CODE in a private mount namespace where ``ro_paths`` (the install, the
    home folder, ...) are read-only: what a user without write access sees."""
    import shutil

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount folders read-only")
    home = tmp_path / "home"
    home.mkdir()
    mounts = " && ".join(f"mount --bind {p} {p} && mount -o remount,ro,bind {p}" for p in [*ro_paths, home])
    cmd = f"{mounts} && cd {ROOT} && HOME={home} {sys.executable} -c '{_USER_CODE}'"
    out = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True, timeout=300)
    if "mount" in out.stderr and "permission denied" in out.stderr.lower():
        pytest.skip("mounting is not permitted here")
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_import_with_read_only_install_and_home(tmp_path):
    out = _as_read_only_user([ROOT.parent], tmp_path)
    assert "cache:" in out


def test_import_with_nothing_writable_compiles_in_memory(tmp_path):
    import tempfile

    out = _as_read_only_user([ROOT.parent, tempfile.gettempdir(), "/var/tmp"], tmp_path)
    assert "cache: in memory" in out


def test_cli_start_does_not_import_torch():
    code = ("import sys; from hybridcodec.cli import build_parser; build_parser(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plugin_wheel_carries_the_weights_and_their_records(tmp_path):
    import shutil
    import zipfile

    src = ROOT.parent / "plugins"
    if not (src / "pyproject.toml").exists():
        pytest.skip("no plugins/ folder beside the package")
    shutil.copytree(src, tmp_path / "plugins", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                          str(tmp_path / "plugins"), "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    if out.returncode != 0 and "setuptools" in out.stderr:
        pytest.skip("setuptools is not installed")
    assert out.returncode == 0, out.stderr[-1500:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(p.name for p in (src / "hybridcodec_learned" / "weights").iterdir()
                     if p.suffix in (".pt", ".json"))
    assert shipped and all(f"hybridcodec_learned/weights/{n}" in names for n in shipped)
    meta = next(n for n in names if n.endswith("METADATA"))
    assert "Requires-Dist: torch" not in zipfile.ZipFile(wheel).read(meta).decode()
