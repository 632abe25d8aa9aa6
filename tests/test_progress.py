"""Stage-by-stage progress: silent by default, every stage reported once installed, and
the command line's reporter quiet for fast runs."""

import io

import numpy as np

import hybridcodec
from hybridcodec._progress import StderrReporter, reporting, step


def test_every_stage_is_reported_in_order_each_way(rgb):
    seen = []
    with reporting(seen.append):
        data = hybridcodec.encode(rgb, preset="wavelet", quality=50)
    assert seen == ["ycbcr", "dwt", "deadzone", "arith"]
    seen.clear()
    with reporting(seen.append):
        hybridcodec.decode(data)
    assert seen == ["arith", "deadzone", "dwt"]  # ycbcr writes the output samples itself


def test_nothing_is_reported_without_a_reporter(capsys, rgb):
    hybridcodec.decode(hybridcodec.encode(rgb, quality=50))
    step("dwt")
    assert capsys.readouterr() == ("", "")


def test_the_stderr_reporter_waits_before_it_speaks():
    out = io.StringIO()
    r = StderrReporter("encoding a.png", stream=out, after=3600.0)
    for name in ("ycbcr", "dwt", "arith"):
        r(name)
    r.done()
    assert out.getvalue() == ""
    r = StderrReporter("encoding a.png", stream=out, after=0.0, every=0.0)
    r("dwt")
    assert out.getvalue().startswith("encoding a.png: dwt (") and out.getvalue().endswith(" s)\n")


def test_the_cli_reports_on_stderr_only_when_slow(tmp_path, capsys, rgb):
    from PIL import Image

    from hybridcodec.cli import main

    Image.fromarray(np.ascontiguousarray(rgb)).save(tmp_path / "a.png")
    assert main(["encode", str(tmp_path / "a.png"), str(tmp_path / "a.hcx")]) == 0
    out, err = capsys.readouterr()
    assert "a.hcx" in out and err == ""  # a small image: well under the second
