"""The README's main job and the benchmarks' helpers run as a new user would run them."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_main_job_roundtrip_example():
    pytest.importorskip("skimage")
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "roundtrip.py"), "--quality", "50"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.splitlines()[1:]]
    baseline = [l for l in lines if l[1] == "baseline"]
    assert len(baseline) == 5
    for row in baseline:
        assert 0.1 < float(row[4]) < 4 and 25 < float(row[5]) < 45  # bpp, PSNR


def test_readme_pillow_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Using hybridcodec from Pillow", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "picture.hcx").exists() and (tmp_path / "exact.hcx").exists()
