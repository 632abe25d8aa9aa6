"""hybridcodec compare and batch."""

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("skimage")
pytest.importorskip("matplotlib")

import hybridcodec  # noqa: E402
from hybridcodec.compare import CompareSettings, run_compare  # noqa: E402
from hybridcodec.compare import codecs as codec_mod  # noqa: E402
from hybridcodec.compare import runner  # noqa: E402
from hybridcodec.compare.metrics import ms_ssim  # noqa: E402
from conftest import smooth_image  # noqa: E402


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(180 + 8 * i, 200, 3, seed=i)).save(folder / f"p{i}.png")
    return folder


def _settings(out, data, **kw):
    base = dict(out=str(out), data=str(data), pipelines=["baseline", "wavelet"], codecs=["jpeg", "webp"],
                qualities=[20, 50, 80, 95], progress=False)
    base.update(kw)
    return CompareSettings(**base)


def test_results_schema_and_outputs(tmp_path, photos):
    doc = run_compare(_settings(tmp_path / "out", photos), say=lambda *a: None)
    out = tmp_path / "out"
    for name in ("results.json", "results.csv", "rd_psnr.png", "rd_msssim.png", "report.md", "points.jsonl",
                 "crops.png"):
        assert (out / name).stat().st_size > 0, name
    on_disk = json.loads((out / "results.json").read_text())
    # the crop picture: one tile per codec, each near the common target bpp, and in the report
    crops = on_disk["crops"]
    assert crops["image"] == "p0.png" and [t["codec"] for t in crops["tiles"]] == ["baseline", "wavelet", "jpeg", "webp"]
    for t in crops["tiles"]:  # matched bpp: no farther from the target than the nearest measured point
        p0 = [p for p in on_disk["points"] if p["image"] == "p0.png" and p["codec"] == t["codec"]]
        nearest = min(p0, key=lambda p: abs(p["bpp"] - crops["target_bpp"]))
        assert abs(t["bpp"] - crops["target_bpp"]) <= abs(nearest["bpp"] - crops["target_bpp"]) + 1e-9
    hcx = [t for t in crops["tiles"] if t["codec"] in ("baseline", "wavelet")]
    assert all(abs(t["bpp"] / crops["target_bpp"] - 1) <= 0.02 for t in hcx)  # fractional qualities reach it
    assert crops["bpp_range"] == [min(t["bpp"] for t in crops["tiles"]), max(t["bpp"] for t in crops["tiles"])]
    sheet = Image.open(out / "crops.png")
    assert sheet.size[0] >= 4 * 2 * crops["crop"][2] and "![crops](crops.png)" in (out / "report.md").read_text()
    assert on_disk["schema"] == "hybridcodec-compare/1" and on_disk["images"] == ["p0.png", "p1.png"]
    names = [c["name"] for c in on_disk["codecs"]]
    assert names == ["baseline", "wavelet", "jpeg", "webp"]
    for c in on_disk["codecs"]:
        r = c["results"]
        assert set(r) >= {"psnr-rgb", "ms-ssim-rgb", "bpp", "encoding_time", "decoding_time"}
        assert len(r["bpp"]) == 4 and all(x > 0 for x in r["bpp"]) and r["bpp"] == sorted(r["bpp"])
        # CompressAI's layout, one file per codec, for its plotting utility
        assert json.loads((out / "compressai" / f"{c['name']}.json").read_text())["results"] == r
    bd = {row["codec"]: row for row in on_disk["bd"]}
    assert bd["jpeg"]["bd_rate_psnr"] == pytest.approx(0, abs=1e-9)
    assert bd["wavelet"]["bd_rate_psnr"] < bd["baseline"]["bd_rate_psnr"] < 5
    assert len(on_disk["points"]) == 4 * 2 * 4
    rows = (out / "results.csv").read_text().splitlines()
    assert rows[0].startswith("codec,image,quality,bytes,bpp") and len(rows) == 1 + 32
    assert "| wavelet |" in (out / "report.md").read_text()


def test_jpeg_points_match_an_independent_measurement(tmp_path, photos):
    doc = run_compare(_settings(tmp_path / "out", photos, pipelines=[], codecs=["jpeg"], qualities=[60]),
                      say=lambda *a: None)
    import io

    bpps, psnrs = [], []
    for f in sorted(photos.iterdir()):
        img = np.asarray(Image.open(f).convert("RGB"))
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=60)
        bpps.append(8 * buf.tell() / (img.shape[0] * img.shape[1]))
        psnrs.append(hybridcodec.psnr(img, np.asarray(Image.open(buf))))
    (jpeg,) = [c["results"] for c in doc["codecs"] if c["name"] == "jpeg"]
    assert jpeg["bpp"][0] == pytest.approx(np.mean(bpps), rel=1e-9)
    assert jpeg["psnr-rgb"][0] == pytest.approx(np.mean(psnrs), rel=1e-9)


def test_resume_after_interruption(tmp_path, photos, monkeypatch):
    settings = _settings(tmp_path / "out", photos)
    real = runner.run_task
    calls = []
    armed = [True]

    def flaky(task):  # Ctrl-C arrives during the third task
        calls.append(task)
        if len(calls) == 3 and armed[0]:
            armed[0] = False
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(runner, "run_task", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_compare(settings, say=lambda *a: None)
    kept = (tmp_path / "out" / "points.jsonl").read_text().splitlines()
    assert len(kept) == 2 * 4  # two finished tasks, four qualities each
    calls.clear()
    run_compare(settings, say=lambda *a: None)
    assert len(calls) == 8 - 2  # only what was missing
    calls.clear()
    doc = run_compare(settings, say=lambda *a: None)
    assert calls == [] and len(doc["points"]) == 32


def test_missing_codec_is_skipped_with_a_note(tmp_path, photos, monkeypatch):
    def missing():
        raise ImportError("pillow-heif is not installed")

    monkeypatch.setitem(codec_mod.REFERENCE_CODECS, "heic", missing)
    notes = []
    doc = run_compare(_settings(tmp_path / "out", photos, codecs=["heic"], qualities=[50, 90]), say=notes.append)
    assert any("skipping heic" in n for n in notes)
    assert [c["name"] for c in doc["codecs"]] == ["baseline", "wavelet", "jpeg"]  # jpeg always runs


def test_local_cluster_run(tmp_path, photos):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        doc = run_compare(_settings(tmp_path / "out", photos, scheduler=cluster.scheduler_address,
                                    qualities=[30, 90]), say=lambda *a: None)
    local = run_compare(_settings(tmp_path / "out2", photos, qualities=[30, 90]), say=lambda *a: None)
    key = lambda p: (p["codec"], p["image"], p["quality"], p["bytes"], round(p["psnr"], 9))  # noqa: E731
    assert sorted(map(key, doc["points"])) == sorted(map(key, local["points"]))


def test_parallel_jobs_give_the_same_results(tmp_path, photos):
    a = run_compare(_settings(tmp_path / "a", photos, jobs=2, qualities=[40]), say=lambda *a: None)
    b = run_compare(_settings(tmp_path / "b", photos, jobs=1, qualities=[40]), say=lambda *a: None)
    assert sorted((p["codec"], p["image"], p["bytes"]) for p in a["points"]) == \
        sorted((p["codec"], p["image"], p["bytes"]) for p in b["points"])


def test_anchor_ordering_on_sample_photos(tmp_path):
    """JPEG 2000 better than WebP better than JPEG, from a real run on shipped photos."""
    from PIL import features

    if not (features.check("webp") and features.check("jpg_2000")):
        pytest.skip("Pillow without WebP or JPEG 2000")
    doc = run_compare(CompareSettings(out=str(tmp_path / "o"), pipelines=[], codecs=["jpeg", "webp", "jpeg2000"],
                                      qualities=[10, 25, 45, 65, 85, 95], metrics=["psnr"], progress=False,
                                      jobs=2), say=lambda *a: None)
    bd = {row["codec"]: row["bd_rate_psnr"] for row in doc["bd"]}
    assert bd["jpeg2000"] < bd["webp"] < bd["jpeg"] == 0


def test_ms_ssim_properties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200, 210, 3)).astype(np.uint8)
    assert ms_ssim(x, x) == 1.0
    noisy = np.clip(x + rng.normal(0, 20, x.shape), 0, 255).astype(np.uint8)
    noisier = np.clip(x + rng.normal(0, 60, x.shape), 0, 255).astype(np.uint8)
    assert 0 < ms_ssim(x, noisier) < ms_ssim(x, noisy) < 1


def test_ms_ssim_matches_pytorch_msssim():
    torch = pytest.importorskip("torch")
    pm = pytest.importorskip("pytorch_msssim")
    x = smooth_image(200, 230, 3, seed=1)
    y = np.clip(x.astype(int) + np.random.default_rng(1).integers(-30, 30, x.shape), 0, 255).astype(np.uint8)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))[None].astype(np.float32))  # noqa: E731
    assert ms_ssim(x, y) == pytest.approx(float(pm.ms_ssim(t(x), t(y), data_range=255.0)), abs=1e-5)


def test_cli_compare_errors(tmp_path, capsys):
    from hybridcodec.cli import main

    assert main(["compare", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["compare", "--codecs", "jpeg,bogus", "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "unknown codec" in capsys.readouterr().err
    assert main(["compare", "--presets", "nope", "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert main(["compare", "--qualities", "0,50", "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert main(["compare", "--bd-window", "38,28", "--out", str(tmp_path / "o"), "--quiet"]) == 1


# -- batch ------------------------------------------------------------------------

def test_batch_converts_tree_skips_done_and_isolates_failures(tmp_path):
    from hybridcodec.cli import main

    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(smooth_image(20, 30, 3)).save(src / "a.png")
    Image.fromarray(smooth_image(16, 16, 1)).save(src / "sub" / "b.jpg")
    (src / "broken.png").write_bytes(b"not a png at all")
    (src / "notes.txt").write_text("ignored")
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    dst = tmp_path / "out"
    assert main(["batch", str(src), str(dst), "--preset", "wavelet", "--quality", "80", "--quiet"]) == 1
    assert (dst / "a.hcx").exists() and (dst / "sub" / "b.hcx").exists()
    assert not (dst / "broken.hcx").exists()
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before  # inputs untouched
    assert not [p for p in dst.rglob("*") if p.name.endswith(".tmp")]
    mtime = (dst / "a.hcx").stat().st_mtime_ns
    assert main(["batch", str(src), str(dst), "--quiet"]) == 1  # still the broken file
    assert (dst / "a.hcx").stat().st_mtime_ns == mtime  # done work is skipped
    back = tmp_path / "back"
    assert main(["batch", str(dst), str(back), "--quiet", "--jobs", "2"]) == 0
    assert np.asarray(Image.open(back / "sub" / "b.png")).shape == (16, 16)


def test_batch_refuses_to_write_into_its_input(tmp_path, capsys):
    from hybridcodec.cli import main

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(smooth_image(8, 8, 3)).save(src / "a.png")
    for dst in (src, src / "converted"):
        assert main(["batch", str(src), str(dst), "--quiet"]) == 1
        assert "must not be the input folder" in capsys.readouterr().err
    assert sorted(p.name for p in src.iterdir()) == ["a.png"]


def test_batch_bad_options_fail_before_any_work(tmp_path, capsys):
    from hybridcodec.cli import main

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(smooth_image(8, 8, 3)).save(src / "a.png")
    assert main(["batch", str(src), str(tmp_path / "o"), "--pipeline", "nope", "--quiet"]) == 1
    assert "unknown stage" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_odd_folder_is_compared_with_notes(tmp_path, photos):
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    Image.fromarray(smooth_image(7, 5, 3)).save(photos / "tiny.png")
    deep = (smooth_image(64, 80, 1).astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(deep).save(photos / "deep.png")  # a 16-bit grey PNG (mode I;16)
    said = []
    doc = run_compare(_settings(tmp_path / "out", photos), say=said.append)
    text = "\n".join(map(str, said))
    assert "skipped broken.png" in text and "skipped tiny.png" in text and "converted deep.png" in text
    assert doc["images"] == ["deep.png", "p0.png", "p1.png"]
    deep_points = [p for p in doc["points"] if p["image"] == "deep.png" and p["codec"] == "jpeg"]
    assert all(25 < p["psnr"] < 60 for p in deep_points)  # not a white image
    for row in doc["bd"]:
        assert row["bd_rate_psnr"] is not None and np.isfinite(row["bd_rate_psnr"])
    for name in ("rd_psnr.png", "rd_ssim.png", "rd_msssim.png"):
        assert (tmp_path / "out" / name).stat().st_size > 5000
    env = doc["environment"]
    assert env["versions"]["hybridcodec"] == hybridcodec.__version__ and env["cpus"] >= 1
    assert {"numpy", "pillow"} <= set(env["versions"])


def test_lossless_points_are_finite_and_times_are_medians(tmp_path, photos):
    doc = run_compare(_settings(tmp_path / "out", photos, pipelines=["lossless"], codecs=["jpeg"]),
                      say=lambda *a: None)
    lossless = [p for p in doc["points"] if p["codec"] == "lossless"]
    assert lossless and all(p["psnr"] == 100.0 for p in lossless)
    res = next(c["results"] for c in doc["codecs"] if c["name"] == "lossless")
    assert len(res["quality"]) == 1  # every quality gives the same file: one point
    times = sorted(p["encode_s"] for p in lossless if float(p["quality"]) == res["quality"][0])
    assert res["encoding_time"][0] == pytest.approx(float(np.median(times)))


def test_report_cells_escape_the_pipe_of_a_spec():
    from hybridcodec.compare import report

    assert report._md("learned|rans") == "learned\\|rans"
    row = f"| {report._md('ycbcr|dct|jpegq|huffman')} | x |"
    assert len([c for c in row.replace("\\|", "").split("|") if c.strip()]) == 2  # two cells, as meant


def test_plot_styles_tell_codecs_apart():
    from hybridcodec.compare import report

    names = ["jpeg", "jpeg-opencv", "webp", "jpeg2000", "avif", "heic", "jxl", "baseline", "dct-arith", "wavelet",
             "lossless", "a", "b", "c", "d", "e"]
    bd = {n: -float(i) for i, n in enumerate(names)}
    st = report._styles(names, bd)
    # no two curves share colour, marker and line style; jpeg is the black dashed reference
    assert len({(str(s["color"]), s["marker"], s["ls"]) for s in st.values()}) == len(names)
    assert len({tuple(s["color"]) if not isinstance(s["color"], str) else s["color"] for s in st.values()}) == len(names)
    assert st["jpeg"]["color"] == "black" and st["jpeg"]["zorder"] > max(s["zorder"] for n, s in st.items()
                                                                         if n != "jpeg")
    # the four best by BD-rate (most negative) are thick, the rest thin; labels carry the BD-rate
    thick = {n for n, s in st.items() if n != "jpeg" and s["lw"] > 2}
    assert thick == {"b", "c", "d", "e"}
    assert "(-15.0 %)" in st["e"]["label"]
    assert st["wavelet"]["ls"] == "-" and st["webp"]["ls"] == ":" and not report._learned("wavelet")
    if "cnn" in hybridcodec.available_stages():
        assert report._learned("baseline+cnn") and report._styles(["baseline+cnn"], {})["baseline+cnn"]["ls"] == "-."


def test_ssim_is_scikit_images():
    from skimage.metrics import structural_similarity

    from hybridcodec.compare.metrics import ssim

    rng = np.random.default_rng(5)
    for shape in ((40, 53, 3), (31, 29), (11, 64, 3)):
        a = rng.integers(0, 256, shape).astype(np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-20, 20, shape), 0, 255).astype(np.uint8)
        kw = {"channel_axis": 2} if len(shape) == 3 else {}
        ref = structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                    use_sample_covariance=False, **kw)
        assert ssim(a, b) == pytest.approx(ref, abs=1e-9)


def test_rd_against_cost_plot_and_table_with_the_published_anchors(tmp_path, photos):
    from hybridcodec.compare.report import anchors

    marks = anchors()
    assert {"Cool-chic 4", "C3", "BPG 4:4:4"} <= {a["name"] for a in marks}
    assert all(a["source"] and -100 < a["bd_rate"] < 0 for a in marks)
    doc = run_compare(_settings(tmp_path / "out", photos, pipelines=["wavelet", "wavelet+alf"], codecs=["jpeg"]),
                      say=lambda *a: None)
    entries = {c["name"]: c for c in doc["codecs"]}
    assert entries["wavelet+alf"]["decode_kmacs_px"] == pytest.approx(0.042)
    assert entries["wavelet"]["decode_kmacs_px"] == 0 and "decode_kmacs_px" not in entries["jpeg"]
    assert all(c["decode_ms_per_mp"] > 0 for c in doc["codecs"])
    assert (tmp_path / "out" / "rd_cost.png").stat().st_size > 5000
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Rate-distortion against cost" in report and "| Cool-chic 4 (published) | ~-66.0% | 188.0 | 1.3 |" in report
