"""The learned post-filter against the stage seam: weights picked by transform family,
cut-short data, and training that never replaces weights by accident (skipped without
torch or the plugin)."""

import pytest

torch = pytest.importorskip("torch")
learned = pytest.importorskip("hybridcodec_learned")

import hybridcodec  # noqa: E402
from hybridcodec_learned import weights  # noqa
from hybridcodec_learned.stages import cnn as pf  # noqa: E402
from conftest import smooth_image  # noqa: E402


class _RenamedDCT(hybridcodec.get_stage("dct")):
    """The DCT under another name and family: a transform cnn has no weights for."""

    name = "test-family-dct"
    family = "test-family"


hybridcodec.register_stage(_RenamedDCT)


@pytest.mark.parametrize("spec, family", [("baseline+cnn", "dct"), ("dct-arith+cnn", "dct"),
                                          ("wavelet+cnn", "dwt"), ("rct|int53|arith+cnn", "dwt"),
                                          ("ycbcr|test-family-dct|jpegq|huffman+cnn(weights=dct)", "dct")])
def test_weights_are_picked_by_transform_family(use_weights, spec, family):
    import hashlib

    data = hybridcodec.encode(smooth_image(24, 32, 3), pipeline=spec, quality=50)
    side = [c for c in hybridcodec.info(data)["chunks"] if c["type"] == "SIDE"]
    assert len(side) == 1
    digest = hashlib.sha256((use_weights / f"postfilter-{family}.pt").read_bytes()).digest()
    _, chunks = hybridcodec._container.read_container(data)
    assert [c.payload[-4:] for c in chunks if c.type == b"SIDE"] == [digest[:4]]


def test_a_family_without_weights_is_refused(use_weights):
    with pytest.raises(hybridcodec.CodecError, match="no weights for transform family 'test-family'"):
        hybridcodec.encode(smooth_image(16, 16, 3), pipeline="ycbcr|test-family-dct|jpegq|huffman+cnn")


def test_training_never_replaces_shipped_or_existing_weights_by_default(tiny_weights, tmp_path, monkeypatch):
    from hybridcodec.cli import main

    shipped = {p: p.read_bytes() for p in weights.SHIPPED.glob("postfilter-*")}
    monkeypatch.chdir(tmp_path)
    data = str(tiny_weights / "train")
    args = ["train", "postfilter", "--data", data, "--preset", "baseline", "--steps", "1", "--channels", "8",
            "--layers", "3", "--quiet"]
    assert main(args) == 0  # no --out: a folder of its own
    assert (tmp_path / "trained-weights" / "postfilter-dct.pt").exists()
    assert main(args) == 1  # exists now: refused without --force
    assert main(args + ["--out", str(weights.SHIPPED / "postfilter-dct.pt")]) == 1
    assert main(args + ["--out", str(weights.SHIPPED / "postfilter-new.pt")]) == 1
    assert {p: p.read_bytes() for p in weights.SHIPPED.glob("postfilter-*")} == shipped


def test_cut_short_files_skip_the_post_filter(use_weights, monkeypatch):
    img = smooth_image(32, 48, 3)
    data = hybridcodec.encode(img, pipeline="baseline+cnn", quality=50)
    calls = []
    monkeypatch.setattr(pf, "apply_filter", lambda *a, **k: calls.append(1) or a[1])
    for cut in (len(data) - 20, len(data) // 2):  # inside the cnn side data; inside the coded data
        out = hybridcodec.decode(data[:cut], allow_truncated=True)
        assert out.shape == img.shape
    assert calls == []
    hybridcodec.decode(data)
    assert calls == [1]


def test_post_filters_train_on_lossy_presets_only(tiny_weights, capsys):
    from hybridcodec.cli import main

    assert main(["train", "postfilter", "--data", str(tiny_weights / "train"), "--preset", "lossless",
                 "--steps", "1", "--quiet", "--out", str(tiny_weights / "never.pt")]) == 1
    assert "not 'lossless'" in capsys.readouterr().err and not (tiny_weights / "never.pt").exists()
