"""``train transform --model lifting-joint``: the lifting steps and the ctxrans model
trained under one loss.  Its contexts are ctxrans's own, its rates the shipped tables',
the gradient reaches both parts, and what it writes codes images through the
``lifting-joint`` stage with the ``ctxrans-lifting-joint.npz`` beside it."""

import hashlib
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hybridcodec_learned")

from PIL import Image  # noqa: E402

import hybridcodec  # noqa: E402
from hybridcodec import CodecError, PlaneInfo  # noqa: E402
from hybridcodec._bands import coding_order  # noqa: E402
from hybridcodec.cli import main  # noqa: E402
from hybridcodec.stages.dwt import wavelet_bands  # noqa: E402
from hybridcodec.wavelets.subbands import WaveletPlan  # noqa: E402
from hybridcodec_learned.stages import ctxrans as cr  # noqa: E402
from hybridcodec_learned.training import joint as jn  # noqa: E402
from hybridcodec_learned.entropy.contexts import CELLS, coded_cells  # noqa: E402
from hybridcodec_learned import weights  # noqa: E402
from hybridcodec_learned.entropy.laplace import costs, laplace_tables, table_scales  # noqa: E402


def model_bytes(tables, index):
    return weights.FORMATS["ctxrans"].pack((tables, index))
from conftest import smooth_image  # noqa: E402

JOINT = "ycbcr(subsampling=444)|lifting-joint|deadzone|ctxrans"


@pytest.mark.parametrize("h,w,levels", [(96, 96, 4), (37, 50, 3), (20, 9, 2), (5, 6, 1)])
def test_training_contexts_are_the_stage_s(h, w, levels):
    rng = np.random.default_rng(h * w)
    meta = wavelet_bands(WaveletPlan((h, w), "cdf97", levels))
    # sizes from all-zero to beyond the last bin, so that every bin and the clamp are met
    q = {b.key: torch.from_numpy(np.round(rng.laplace(0, rng.choice([0.05, 1, 8, 120]), (2, 3) + b.shape)))
         for b in meta}
    cells = jn.torch_cells(q, meta)
    layout = [PlaneInfo((1,), role=r, form="subbands", integer=True, bands=meta) for r in ("luma", "chroma", "chroma")]
    for i in range(2):
        got = {}
        for pi, _, b in coding_order(layout):
            if b.predict:
                continue
            v = q[b.key][i, pi].numpy().astype(np.int64)
            cls, anchor, first, second = coded_cells(b, pi, layout, got, v)
            got[(pi, b.key)] = v
            want = np.zeros(b.shape, np.int64)
            want[anchor] = cls * 2 * CELLS + first
            want[~anchor] = (cls * 2 + 1) * CELLS + second
            assert np.array_equal(cells[b.key][i, pi].numpy(), want), (b.key, pi)


def test_rates_are_those_of_the_shipped_tables():
    tables, scales = laplace_tables(), table_scales()
    cost = costs(tables, 64)
    for t in (5, 20, 40, 63):
        k = torch.arange(0, 12, dtype=torch.float64)
        ours = jn.rate_bits(k, torch.tensor(np.log(scales[t]))).numpy()
        # the integer tables round to 1/65536, every symbol keeps at least 1/65536 and the mode
        # takes what is left: up to 0.08 bits off at the mode of the widest tables
        close = cost[t, :12] < 10
        assert np.allclose(ours[close], cost[t, :12][close], atol=0.1), t
        assert np.all(np.diff(ours) >= 0) and ours[1] > ours[0]  # larger values cost more (to the floor)


def test_one_loss_trains_both_the_steps_and_the_model():
    torch.manual_seed(0)
    net = jn.JointNet()
    x = torch.from_numpy(smooth_image(96, 96, 3, seed=5).transpose(2, 0, 1)[None].astype(np.float32) - 128)
    loss, bpp, psnr = jn.rd_loss(net, x.repeat(2, 1, 1, 1), torch.tensor([3.0, 5.0]))
    loss.backward()
    assert bpp > 0 and 10 < psnr < 60
    assert net.lifting.ph.c3.weight.grad.abs().sum() > 0  # the transform hears the learned rates
    assert (net.log_scale.grad != 0).sum() > 10  # the scales of the cells met
    assert net.ll_log_scale.grad.abs().sum() > 0
    # untrained: the scales are the shipped model's, so the export is that model's map
    model = weights.get("ctxrans").load().obj
    exported = np.load(__import__("io").BytesIO(jn.companion(net)))
    assert np.array_equal(exported["index"], model.index)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("joint")
    data = root / "photos"
    data.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(128, 160, 3, seed=20 + i)).save(data / f"{i}.png")
    out = root / "w" / "lifting-joint.pt"
    assert main(["train", "transform", "--model", "lifting-joint", "--data", str(data), "--steps", "3", "--threads",
                 "1", "--quiet", "--out", str(out)]) == 0
    return data, out


def test_training_writes_the_weights_and_the_model_trained_with_them(trained, capsys):
    data, out = trained
    npz = out.with_name("ctxrans-lifting-joint.npz")
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["settings"]["model"] == "lifting-joint" and record["artefact"] == "lifting-joint"
    assert record["trained_with"] == {"file": npz.name, "sha256": hashlib.sha256(npz.read_bytes()).hexdigest()}
    own = json.loads(npz.with_suffix(".json").read_text())  # the model's own record names the weights
    assert own["trained_with"] == {"file": out.name, "sha256": record["sha256"]}
    assert own["sha256"] == record["trained_with"]["sha256"] and own["steps"] == 3
    weights.load_file("ctxrans", str(npz))  # a ctxrans model the stage reads
    # an existing model beside other weights is not replaced either
    before = npz.read_bytes()
    other = out.with_name("lifting-joint-2.pt")
    out.with_name("ctxrans-lifting-joint-2.npz").write_bytes(b"keep")
    assert main(["train", "transform", "--model", "lifting-joint", "--data", str(data), "--steps", "1", "--quiet",
                 "--out", str(other)]) == 1
    assert "already exists" in capsys.readouterr().err and not other.exists()
    assert out.with_name("ctxrans-lifting-joint-2.npz").read_bytes() == b"keep" and npz.read_bytes() == before


def test_the_stage_codes_with_its_own_weights_and_model(trained, monkeypatch):
    _, out = trained
    # a weights folder with the family's model beside a generic one (another model: 3 steps
    # leave the trained one equal to the shipped generic one)
    shipped_lifting = weights.get("lifting").path()
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_LIFTING_JOINT", str(out))
    folder = out.parent
    index = np.load(folder / "ctxrans-lifting-joint.npz")["index"].astype(np.int64)
    (folder / "ctxrans.npz").write_bytes(model_bytes(laplace_tables(), np.clip(index + 1, 0, 63)))
    monkeypatch.setattr(weights, "SHIPPED", folder)
    assert cr.model_artefact("lifting-joint").path().name == "ctxrans-lifting-joint.npz"
    assert cr.model_artefact("lifting").path().name == "ctxrans.npz"
    img = smooth_image(70, 90, 3, seed=9)
    data = hybridcodec.encode(img, pipeline=JOINT, quality=60)
    joint_digest = hashlib.sha256((folder / "ctxrans-lifting-joint.npz").read_bytes()).digest()[:8]
    assert joint_digest in data  # ctxrans's side data names the family's model
    full = hybridcodec.decode(data)
    assert full.shape == img.shape and np.mean((full.astype(float) - img) ** 2) < 40
    assert hybridcodec.decode(data, reduce=2).shape == (35, 45, 3)
    # without the family's model the file is refused, with the name of the model it needs
    (folder / "ctxrans-lifting-joint.npz").rename(folder / "away.npz")
    with pytest.raises(CodecError, match="ctxrans model sha256"):
        hybridcodec.decode(data)
    (folder / "away.npz").rename(folder / "ctxrans-lifting-joint.npz")
    # other lifting-joint weights are refused, naming the stage
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_LIFTING_JOINT", str(shipped_lifting))
    with pytest.raises(CodecError, match="lifting-joint weights sha256"):
        hybridcodec.decode(data)
