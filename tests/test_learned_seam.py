"""The learned counterpart of test-haar4 (tests/test_seam.py): a learned stage defined in
this file alone -- a tiny torch transform whose weights the test writes, its weight
format and artefact, its preset and its post-filter family, all registered through the
public API -- encodes, decodes, shows in ``hybridcodec stages`` and runs through
``compare``, with no edit outside this file."""

import json

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
learned = pytest.importorskip("hybridcodec_learned")

import hybridcodec  # noqa: E402
from hybridcodec import Band, CodecError, Param, PlaneInfo, Stage, register_stage  # noqa: E402
from hybridcodec_learned import (Artefact, Format, register_artefact, register_format,  # noqa: E402
                                 register_postfilter_family, weights)
from conftest import smooth_image  # noqa: E402

NAME = "test-tiles"  # the stage, its weights, its preset and its post-filter family

# -- the weights: a 4x4 matrix that maps each 2x2 tile to four coefficients ------------------


def _read(path):
    blob = torch.load(path, map_location="cpu", weights_only=True)
    w = blob["w"].double()
    if w.shape != (4, 4) or abs(float(torch.linalg.det(w))) < 1e-6:
        raise ValueError("not an invertible 4x4 tile transform")
    return w


def _save(path, w):
    weights.formats.save_torch(path, {"w": w})


register_format(Format(NAME, ".pt", _read, _save, pack=lambda w: w))


class TileNet(torch.nn.Module):
    """The analysis: a 2x2 convolution with stride 2, four output channels (one per band)."""

    def __init__(self, w):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 2, stride=2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(w.reshape(4, 1, 2, 2).float())


def _gains(w):
    """Energy of the pixels one unit coefficient of each band makes: the columns of W^-1."""
    return (torch.linalg.inv(w) ** 2).sum(dim=0).tolist()


@register_stage
class Tiles(Stage):
    """Learned 2x2 tile transform: four bands of half size per plane, from weights the
    test writes; the file keeps 4 bytes of the weights' sha256."""

    name = NAME
    kind = "transform"
    family = NAME
    doc = "test: a learned 2x2 tile transform (a torch convolution with weights from the weights layer)"
    params = (Param("scale", float, 1.0, "multiplies the weights' output", min=0.5, max=2.0),)

    def layout(self, planes):
        if any(p.form != "pixels" for p in planes):
            raise CodecError(f"{NAME} needs pixel planes")
        out = []
        gains = self.extra_gains()
        for p in planes:
            h2, w2 = -(-p.shape[0] // 2), -(-p.shape[1] // 2)
            n = h2 * w2
            bands = tuple(Band(k, (h2, w2), i * n, gain=g, order=min(i, 1), context=32 + i, predict=i == 0)
                          for i, (k, g) in enumerate(zip(("LL", "HL", "LH", "HH"), gains)))
            out.append(PlaneInfo((4 * n,), p.role, "test-tiles", False, bands))
        return tuple(out)

    @staticmethod
    def extra_gains():
        return _gains(weights.get(NAME).load().obj)

    def encode(self, planes, layout, ctx):
        w, digest, _ = weights.get(NAME).load()
        net = TileNet(w * self.scale)
        out = []
        with torch.no_grad():
            for p in planes:
                h, wd = p.shape
                x = np.pad(np.asarray(p, np.float32), ((0, h % 2), (0, wd % 2)), mode="edge")
                out.append(net.conv(torch.from_numpy(x)[None, None])[0].reshape(-1).numpy())
        ctx.emit(self.index, digest[:4])
        return out

    def decode(self, planes, layout, ctx):
        (side,) = ctx.take(self.index)
        w = weights.get(NAME).find(side).obj * self.scale
        inv = torch.linalg.inv(w).float()  # pixels of a tile = W^-1 @ coefficients
        out = []
        for c, p in zip(planes, layout):
            h, wd = p.shape
            h2, w2 = -(-h // 2), -(-wd // 2)
            coef = torch.from_numpy(np.asarray(c, np.float32).reshape(4, h2 * w2))
            tiles = (inv @ coef).reshape(2, 2, h2, w2).permute(2, 0, 3, 1).reshape(2 * h2, 2 * w2)
            x = tiles.numpy()[:h, :wd]
            r = ctx.reduce
            if r > 1:  # a reduced decode: the box average (every band is always needed)
                x = np.pad(x, ((0, -h % r), (0, -wd % r)), mode="edge")
                x = x.reshape(x.shape[0] // r, r, x.shape[1] // r, r).mean(axis=(1, 3))
            out.append(x)
        return out


@pytest.fixture
def registered(tiny_weights, tmp_path, monkeypatch):
    """The stage's weights (an orthonormal Haar tile, slightly rotated: a 'trained' one),
    its artefact, its preset and its post-filter family (tiny weights), registered."""
    import shutil

    haar = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float64) / 2
    angle = torch.tensor(0.1, dtype=torch.float64)
    rot = torch.eye(4, dtype=torch.float64)
    rot[1:3, 1:3] = torch.stack([torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])])
    _save(tmp_path / f"{NAME}.pt", rot @ haar)
    shutil.copy(tiny_weights / "postfilter-dwt.pt", tmp_path / f"postfilter-{NAME}.pt")
    monkeypatch.setitem(weights._REGISTRY, NAME, None)  # undone after the test, with what follows
    register_artefact(Artefact(NAME, format=NAME, label=f"{NAME} weights", train="(written by this test)",
                               family=NAME, digest=4, folder=tmp_path))
    monkeypatch.setitem(weights._REGISTRY, f"postfilter-{NAME}", None)
    register_postfilter_family(NAME, folder=tmp_path, preset=NAME)
    if NAME not in hybridcodec.PRESETS:
        hybridcodec.register_preset(NAME, f"ycbcr(subsampling=444)|{NAME}|deadzone|arith", "test: learned tiles")
    weights.clear_cache()
    yield tmp_path
    weights.clear_cache()


def test_the_learned_stage_codes_through_its_preset_and_with_the_post_filter(registered):
    img = smooth_image(40, 52, 3, seed=4)
    sizes, errors = [], []
    for q in (30, 60, 90):
        data = hybridcodec.encode(img, preset=NAME, quality=q)
        out = hybridcodec.decode(data)
        assert out.shape == img.shape
        sizes.append(len(data))
        errors.append(float(np.mean((out.astype(float) - img) ** 2)))
    assert sizes[0] < sizes[1] < sizes[2] and errors[0] > errors[1] > errors[2]
    assert hybridcodec.info(data)["pipeline"].startswith(f"ycbcr(subsampling=444)|{NAME}(scale=1.0)|deadzone")
    # +cnn picks the family's post-filter weights, registered beside the stage's
    filt = hybridcodec.encode(img, pipeline=f"{NAME}+cnn", quality=40)
    assert hybridcodec.Pipeline(f"{NAME}+cnn").family == NAME
    assert hybridcodec.decode(filt).shape == img.shape
    assert hybridcodec.decode(data, reduce=2).shape == (20, 26, 3)


def test_the_learned_stage_refuses_other_weights(registered):
    img = smooth_image(24, 24, 3, seed=5)
    data = hybridcodec.encode(img, preset=NAME, quality=50)
    _save(registered / f"{NAME}.pt", torch.eye(4, dtype=torch.float64))
    weights.clear_cache()
    with pytest.raises(CodecError, match=f"made with {NAME} weights sha256"):
        hybridcodec.decode(data)


def test_the_learned_stage_shows_in_the_stage_list(registered, capsys):
    from hybridcodec.cli import main

    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    assert f"{NAME}  [transform]" in out and f"ycbcr(subsampling=444)|{NAME}|deadzone|arith" in out
    assert NAME in learned.stages.cnn.families()


def test_the_learned_stage_runs_through_compare(registered, tmp_path):
    from hybridcodec.compare import CompareSettings, run_compare

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(64, 80, 3, seed=10 + i)).save(photos / f"p{i}.png")
    # a record beside the weights, as the weights layer writes one: the report reads the budget from it
    (tmp_path / f"{NAME}.json").write_text(json.dumps({"artefact": NAME, "steps": 123, "training_seconds": 7200.0,
                                                       "device": "cpu", "machine": "2 torch threads"}))
    doc = run_compare(CompareSettings(out=str(tmp_path / "out"), data=str(photos), pipelines=[NAME, f"{NAME}+cnn"],
                                      codecs=["jpeg"], qualities=[30, 60, 90], progress=False), say=lambda *a: None)
    names = [c["name"] for c in doc["codecs"]]
    assert names[:2] == [NAME, f"{NAME}+cnn"]
    curve = next(c for c in doc["codecs"] if c["name"] == NAME)["results"]
    assert len(curve["bpp"]) == 3 and curve["bpp"] == sorted(curve["bpp"]) and curve["psnr-rgb"] == sorted(curve["psnr-rgb"]) and min(curve["psnr-rgb"]) > 20

    # what it cost: the 2x2 convolution (1 -> 4 channels) and the 4x4 inverse, 4 MACs a pixel a plane,
    # 3 planes (64 x 80: no padding), counted by the plugin's probe; the budget from the record
    cost = next(c for c in doc["codecs"] if c["name"] == NAME)["cost"]
    assert cost["encode_kmacs_px"] == pytest.approx(0.012) and cost["decode_kmacs_px"] == pytest.approx(0.012)
    assert cost["training"] == {"steps": 123, "cpu_hours": 4.0, "device": "cpu", "artefacts": [NAME]}
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"| {NAME} | " in report and "| 0.0 | 0.0 | 123 | 4.0 | cpu | " in report and "4-5 M steps" in report