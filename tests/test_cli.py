import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec.cli import main
from conftest import smooth_image


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(smooth_image(30, 41, 3)).save(path)
    return path


def test_encode_info_decode(png, tmp_path, capsys):
    out = tmp_path / "a.hcx"
    assert main(["encode", str(png), str(out), "--quality", "90"]) == 0
    assert "bpp" in capsys.readouterr().out
    meta = hybridcodec.info(out.read_bytes())
    assert (meta["width"], meta["height"], meta["quality"]) == (41, 30, 90)
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pipeline"] == meta["pipeline"]
    back = tmp_path / "b.png"
    assert main(["decode", str(out), str(back)]) == 0
    pixels = np.asarray(Image.open(back))
    assert np.array_equal(pixels, hybridcodec.decode(out.read_bytes()))


def test_pipeline_and_preset_flags(png, tmp_path):
    out = tmp_path / "p.hcx"
    assert main(["encode", str(png), str(out), "--pipeline", "ycbcr(subsampling=444)|dct(block=4)|jpegq|huffman"]) == 0
    assert "block=4" in hybridcodec.info(out.read_bytes())["pipeline"]
    with pytest.raises(SystemExit):
        main(["encode", str(png), str(out), "--preset", "baseline", "--pipeline", "baseline"])


def test_grey_and_palette_inputs(tmp_path):
    for mode in ("L", "P", "1"):
        src = tmp_path / f"{mode}.png"
        Image.fromarray(smooth_image(10, 12, 3)).convert(mode).save(src)
        out = tmp_path / f"{mode}.hcx"
        assert main(["encode", str(src), str(out)]) == 0
        assert hybridcodec.info(out.read_bytes())["mode"] == ("RGB" if mode == "P" else "L")


def test_never_overwrites_without_force(png, tmp_path, capsys):
    out = tmp_path / "a.hcx"
    out.write_bytes(b"keep me")
    assert main(["encode", str(png), str(out)]) == 1
    assert out.read_bytes() == b"keep me"
    assert "--force" in capsys.readouterr().err
    assert main(["encode", str(png), str(out), "--force"]) == 0
    assert out.read_bytes()[:4] == b"\x89HCX"


def test_outputs_get_ordinary_permissions(png, tmp_path):
    import stat

    old = os.umask(0o022)
    try:
        assert main(["encode", str(png), str(tmp_path / "m.hcx")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.hcx").stat().st_mode) == 0o644


def test_input_never_overwritten(png, capsys):
    before = png.read_bytes()
    assert main(["encode", str(png), str(png)]) == 1
    assert "input" in capsys.readouterr().err and png.read_bytes() == before


def test_errors_are_clean_and_leave_nothing(tmp_path, png, capsys):
    garbage = tmp_path / "g.hcx"
    garbage.write_bytes(os.urandom(100))
    cases = [
        (["decode", str(garbage), str(tmp_path / "o1.png")], "not an .hcx"),
        (["decode", str(tmp_path / "missing.hcx"), str(tmp_path / "o2.png")], "no such file"),
        (["encode", str(garbage), str(tmp_path / "o3.hcx")], "cannot read as an image"),
        (["encode", str(png), str(tmp_path / "o4.hcx"), "--quality", "0"], "quality"),
        (["encode", str(png), str(tmp_path / "o5.hcx"), "--pipeline", "dct|nope"], "unknown stage"),
        (["encode", str(png), str(tmp_path / "nodir" / "o6.hcx")], "does not exist"),
        (["info", str(garbage)], "not an .hcx"),
    ]
    for argv, msg in cases:
        assert main(argv) == 1, argv
        assert msg in capsys.readouterr().err
    good = tmp_path / "good.hcx"
    assert main(["encode", str(png), str(good)]) == 0
    assert main(["decode", str(good), str(tmp_path / "o7.xyz")]) == 1
    assert "extension" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.hcx", "good.hcx", "in.png"]


def test_alpha_and_metadata_survive_the_cli(tmp_path):
    arr = np.dstack([smooth_image(12, 9, 3), np.arange(108, dtype=np.uint8).reshape(12, 9) * 2])
    src = tmp_path / "a.png"
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(arr, "RGBA").save(src, exif=exif, icc_profile=b"an icc profile")
    assert main(["encode", str(src), str(tmp_path / "a.hcx"), "--preset", "lossless"]) == 0
    assert main(["decode", str(tmp_path / "a.hcx"), str(tmp_path / "b.png")]) == 0
    back = Image.open(tmp_path / "b.png")
    assert back.mode == "RGBA" and np.array_equal(np.asarray(back), arr)
    assert back.info["icc_profile"] == b"an icc profile" and back.getexif()[0x0112] == 3
    for mode, opts in (("LA", {}), ("P", {"transparency": 0})):
        Image.fromarray(arr, "RGBA").convert(mode).save(tmp_path / f"{mode}.png", **opts)
        assert main(["encode", str(tmp_path / f"{mode}.png"), str(tmp_path / f"{mode}.hcx")]) == 0
        assert hybridcodec.info((tmp_path / f"{mode}.hcx").read_bytes())["mode"] == "RGBA"


def test_stages_lists_params_and_presets(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for text in ("dct", "block=8", "huffman", "jpegq", "ycbcr", "subsampling=420", "baseline"):
        assert text in out


def test_console_script_runs(png, tmp_path):
    out = tmp_path / "c.hcx"
    r = subprocess.run([sys.executable, "-m", "hybridcodec", "encode", str(png), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "hybridcodec", "decode", str(out), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "refusing to overwrite the input" in r.stderr


def test_encode_writes_only_hcx_names_and_never_the_input(tmp_path, png, capsys):
    before = png.read_bytes()
    assert main(["encode", str(png), str(tmp_path / "o.png")]) == 1
    assert "name the output *.hcx" in capsys.readouterr().err and not (tmp_path / "o.png").exists()
    assert main(["encode", str(png), str(png), "--force", "--any-name"]) == 1
    assert "refusing to overwrite the input" in capsys.readouterr().err
    assert png.read_bytes() == before
    assert main(["encode", str(png), str(tmp_path / "o.bin"), "--any-name"]) == 0
    assert (tmp_path / "o.bin").read_bytes()[:4] == b"\x89HCX"


def test_batch_keeps_every_output_when_names_collide(tmp_path):
    from PIL import Image

    from hybridcodec.batch import BatchSettings, run_batch

    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (8, 8), "red").save(src / "a.png")
    Image.new("RGB", (8, 8), "blue").save(src / "a.jpg")
    Image.new("RGB", (8, 8), "green").save(src / "b.png")
    said = []
    failures = run_batch(BatchSettings(str(src), str(tmp_path / "out"), progress=False), say=said.append)
    assert failures == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg.hcx", "a.png.hcx", "b.hcx"]
    assert "3 converted" in said[-1]
    red = hybridcodec.decode((tmp_path / "out" / "a.png.hcx").read_bytes())
    assert red[..., 0].mean() > 200 and red[..., 2].mean() < 60


def test_version_reduce_max_pixels_and_missed_targets(tmp_path, png, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("hybridcodec ")
    hcx = tmp_path / "a.hcx"
    assert main(["encode", str(png), str(hcx), "--preset", "wavelet"]) == 0
    full = hybridcodec.decode(hcx.read_bytes())
    assert main(["decode", str(hcx), str(tmp_path / "q.png"), "--reduce", "4"]) == 0
    assert Image.open(tmp_path / "q.png").size == (-(-full.shape[1] // 4), -(-full.shape[0] // 4))
    capsys.readouterr()
    assert main(["decode", str(hcx), str(tmp_path / "m.png"), "--max-pixels", "10"]) == 1
    assert "max_pixels" in capsys.readouterr().err and not (tmp_path / "m.png").exists()
    assert main(["encode", str(png), str(tmp_path / "t.hcx"), "--preset", "wavelet", "--target-psnr", "99"]) == 0
    assert "out of reach" in capsys.readouterr().err
    assert main(["encode", str(png), str(tmp_path / "u.hcx"), "--target-bpp", "0.0001"]) == 0
    assert "out of reach" in capsys.readouterr().err
    assert main(["encode", str(png), str(tmp_path / "v.hcx"), "--preset", "wavelet", "--target-bpp", "2"]) == 0
    assert "out of reach" not in capsys.readouterr().err


def test_readme_cli_block_runs_in_an_empty_folder(tmp_path):
    import re
    import shutil
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## Command line", 1)[1].split("`encode` writes", 1)[0]
    lines = [ln[4:] for ln in block.splitlines() if ln.startswith("    ")]
    exe = Path(sys.executable).parent / "hybridcodec"
    if not exe.exists() and shutil.which("hybridcodec") is None:
        pytest.skip("the hybridcodec command is not installed")
    env = dict(os.environ, PATH=f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    for line in lines:
        line = re.sub(r"^python ", f"{sys.executable} ", line)
        out = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True)
        assert out.returncode == 0, (line, out.stderr[-1000:])


def test_batch_runs_without_tqdm(tmp_path, monkeypatch, capsys):
    from hybridcodec.batch import BatchSettings, run_batch

    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if only the core were installed
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(8, 8, 3, seed=i)).save(src / f"{i}.png")
    assert run_batch(BatchSettings(str(src), str(tmp_path / "out"), progress=True), say=lambda *a: None) == []
    assert len(list((tmp_path / "out").iterdir())) == 3
    assert "batch: 3/3 files" in capsys.readouterr().err


def test_usage_errors_exit_2_other_errors_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["encode", "--no-such-option"])
    assert info.value.code == 2
    assert main(["info", str(tmp_path / "missing.hcx")]) == 1
