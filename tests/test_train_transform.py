"""``hybridcodec train transform``: a few steps on generated photos, the record, resume,
repeatability, and the guards around shipped weights."""

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hybridcodec_learned")

from PIL import Image  # noqa: E402

import hybridcodec  # noqa: E402
from hybridcodec.cli import main  # noqa: E402
from hybridcodec_learned import weights  # noqa: E402
from conftest import smooth_image  # noqa: E402


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    for i in range(3):
        Image.fromarray(smooth_image(160, 192, 3, seed=10 + i)).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize("model", ["learned", "dcnn", "lifting", "lifting-joint"])
def test_train_writes_weights_and_a_record_and_repeats(tmp_path, photos, model):
    out = tmp_path / f"{model}.pt"
    args = ["train", "transform", "--model", model, "--data", str(photos), "--steps", "3", "--threads", "1",
            "--quiet", "--out", str(out)]
    assert main(args) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["settings"]["model"] == model and record["artefact"] == model and record["steps"] == 3 and record["device"] == "cpu"
    assert record["command"] is None or record["command"].startswith("hybridcodec train transform")
    first = out.read_bytes()
    assert main(args) == 1  # an existing file is not replaced without --force
    assert out.read_bytes() == first
    assert main(args + ["--force"]) == 0  # same seed, same thread count: the same bytes
    assert out.read_bytes() == first
    assert main(args[:7] + ["5"] + args[8:] + ["--resume"]) == 0  # two more steps from the checkpoint
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 5


def test_trained_learned_weights_code_images(tmp_path, photos, monkeypatch):
    out = tmp_path / "learned.pt"
    main(["train", "transform", "--model", "learned", "--data", str(photos), "--steps", "2", "--quiet", "--out",
          str(out)])
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_LEARNED", str(out))
    img = smooth_image(40, 56, 3)
    data = hybridcodec.encode(img, pipeline="learned", quality=80)
    assert hybridcodec.decode(data).shape == img.shape
    # a file made with other weights is refused
    monkeypatch.undo()
    with pytest.raises(hybridcodec.CodecError, match="learned weights sha256"):
        hybridcodec.decode(data)


def test_shipped_weights_are_never_replaced_by_accident(tmp_path, photos, capsys):
    shipped = weights.get("learned").path()
    before = shipped.read_bytes()
    assert main(["train", "transform", "--model", "learned", "--data", str(photos), "--steps", "1", "--quiet",
                 "--out", str(shipped), "--force"]) == 1
    assert "shipped weights folder" in capsys.readouterr().err
    assert shipped.read_bytes() == before


def test_bad_arguments_fail_before_any_work(tmp_path, photos, capsys):
    for extra, message in ((["--steps", "0"], "at least 1"), (["--hours", "-1"], "positive"),
                           (["--device", "cuda"], "not available") if not torch.cuda.is_available() else ([], "")):
        if not extra:
            continue
        assert main(["train", "transform", "--model", "learned", "--data", str(photos), "--quiet",
                     "--out", str(tmp_path / "x.pt"), *extra]) == 1
        assert message in capsys.readouterr().err
        assert not (tmp_path / "x.pt").exists()
    assert main(["train", "transform", "--model", "learned", "--data", str(tmp_path), "--quiet"]) == 1
    assert "no training images" in capsys.readouterr().err
