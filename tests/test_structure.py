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


# -- the learned wing and the seam between plugins and the core -------------------------

REPO = ROOT.parent
PLUGIN = REPO / "plugins" / "hybridcodec_learned"


def _imports(path: Path, package: str = "") -> set:
    """Absolute names of the modules a file imports (relative imports resolved against
    ``package``; imports inside functions included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


def _outside_files():
    for folder in ("plugins", "benchmarks", "examples"):
        yield from (REPO / folder).rglob("*.py") if (REPO / folder).is_dir() else ()


def test_nothing_outside_the_core_imports_its_private_modules():
    offenders = sorted(f"{f.relative_to(REPO)}: {m}" for f in _outside_files() for m in _imports(f)
                       if m.startswith("hybridcodec._") or "._" in m and m.startswith("hybridcodec.")
                       and not m.startswith("hybridcodec_learned"))
    assert offenders == []


def _plugin_modules():
    if not PLUGIN.is_dir():
        pytest.skip("no plugins/ folder beside the package")
    mods = {}
    for f in PLUGIN.rglob("*.py"):
        parts = ("hybridcodec_learned",) + f.relative_to(PLUGIN).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return mods


def test_no_inference_module_imports_a_training_module_and_the_plugin_has_no_cycles():
    mods = _plugin_modules()
    graph = {}
    for m, f in mods.items():
        pkg = m if f.name == "__init__.py" else m.rsplit(".", 1)[0]
        graph[m] = {t for t in _imports(f, pkg) if t in mods and t != m}
    training = {m for m in mods if m.startswith("hybridcodec_learned.training")}
    inference = {m for m in mods if m.split(".")[1:2] in (["stages"], ["nets"], ["entropy"], ["weights"])}
    assert inference and training
    reached = {m: {t for t in mods if _reaches(graph, m, t)} for m in inference}
    assert {m: sorted(r & training) for m, r in reached.items() if r & training} == {}
    cycles = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if _reaches(graph, b, a)
                     and not a.startswith(b + ".") and not b.startswith(a + ".")})
    assert cycles == []


def _plugin_names():
    """What the installed plugins register: stage names, presets, post-filter families."""
    pytest.importorskip("hybridcodec_learned")
    from hybridcodec._pipeline import _CORE_PRESETS
    from hybridcodec._registry import _stages
    from hybridcodec_learned.stages.cnn import families

    stages = hybridcodec.available_stages()
    plugin_stages = {n for n, c in stages.items() if not c.__module__.startswith("hybridcodec.")}
    core_stages = set(stages) - plugin_stages
    presets = set(hybridcodec.PRESETS) - set(_CORE_PRESETS)
    names = (plugin_stages | presets | set(families())) - core_stages - set(_CORE_PRESETS)
    assert {"cnn", "learned", "lifting", "ctxrans"} <= names and "dwt" not in names and _stages
    return names


def _named(text: str) -> set:
    """The names a string of code gives: every token of a string without whitespace (a
    stage, a preset, a spec), and in prose the words it quotes ('x', "x", `x`)."""
    import re

    if not re.search(r"\s", text):
        return set(re.split(r"[|+(),=;:]+", text))
    return {w for q in re.findall(r"['\"`]([^'\"`\s]+)['\"`]", text) for w in re.split(r"[|+(),=;:]+", q)}


def test_the_core_names_no_stage_preset_or_family_a_plugin_registers():
    """Every string of the core's code (docstrings aside; the format's frozen spec
    dictionary aside: its bytes are part of every version-3 file) is checked against
    what the installed plugins register; and no plugin distribution is named."""
    names = _plugin_names()
    dists = {"hybridcodec-learned", "hybridcodec_learned"}
    hits = []
    for f in ROOT.rglob("*.py"):
        tree = ast.parse(f.read_text())
        skip = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "SPEC_DICTIONARY" for t in n.targets):
                skip |= {id(c) for c in ast.walk(n.value)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                bad = (_named(node.value) & names) | {d for d in dists if d in node.value}
                if bad:
                    hits.append(f"{f.relative_to(REPO)}:{node.lineno}: {sorted(bad)}")
    assert hits == []


def test_the_name_check_catches_what_it_is_for():
    assert _named("learned|rans") == {"learned", "rans"} and "cnn" in _named("lifting+cnn")
    assert _named("stage 'cnn' has no weights") == {"cnn"}
    assert _named("for the learned stages") == set()


def test_listing_stages_presets_and_compare_defaults_does_not_import_torch():
    pytest.importorskip("hybridcodec_learned")
    code = ("import sys, hybridcodec\n"
            "from hybridcodec.compare.settings import default_pipelines\n"
            "stages = hybridcodec.available_stages(); presets = dict(hybridcodec.PRESETS)\n"
            "pipes = default_pipelines()\n"
            "from hybridcodec.cli import main; main(['stages'])\n"
            "print('lifting' in stages, 'lifting' in presets, 'hybrid' in pipes, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-4:] == ["True", "True", "True", "False"]


def test_every_shipped_weight_file_has_an_artefact_and_a_record_in_the_one_schema():
    import hashlib
    import json

    pytest.importorskip("hybridcodec_learned")
    from hybridcodec_learned import weights

    folder = PLUGIN / "weights"
    files = sorted(p for p in folder.iterdir() if p.suffix in (".pt", ".npz"))
    shipped = [a for a in weights.artefacts() if a.folder is None]
    named = {a.file.name for a in shipped} | {p.name for a in shipped for p in a.retired_paths()}
    assert files and {p.name for p in files} == named
    for p in files:
        record = json.loads(p.with_suffix(".json").read_text())
        assert record["schema"] == weights.RECORD_SCHEMA, p.name
        assert list(record) == list(weights._RECORD_KEYS), p.name
        assert record["file"] == p.name and record["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        artefact = weights.get(record["artefact"])
        assert record["format"] == artefact.format and record["command"] and record["training_seconds"] > 0
        assert p.name == artefact.file.name or p.name in artefact.retired
