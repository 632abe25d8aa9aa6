"""Entropy stage ``ctxrans`` (a learned context model coded by rANS) and its training
command: the same coefficients as ``arith`` after any transform with bands, reduced
decodes, refused models, corrupt and cut-short files."""

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("hybridcodec_learned")

import hybridcodec  # noqa: E402
from hybridcodec import CodecError, TruncatedError  # noqa: E402
from hybridcodec.stages.arith import Arith  # noqa: E402
from hybridcodec._container import read_container, write_container  # noqa: E402
from hybridcodec.plugin import encode_forward  # noqa: E402
from hybridcodec_learned import weights  # noqa: E402
from hybridcodec_learned.stages import ctxrans  # noqa: E402
from hybridcodec_learned.training.entropy import train_entropy  # noqa: E402
from conftest import smooth_image  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A model fitted on two generated photos (the shipped one is fitted on real ones)."""
    d = tmp_path_factory.mktemp("photos")
    for seed in (1, 2):
        Image.fromarray(smooth_image(96, 128, seed=seed)).save(d / f"p{seed}.png")
    out = d / "model" / "ctxrans.npz"
    assert train_entropy(str(d), out=str(out), say=lambda *_: None) == out
    return out


@pytest.fixture
def use(monkeypatch, model):
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_CTXRANS", str(model))
    # both coders re-decide the quantizer's indexes (RDOQ, with their own rates); the tests
    # that compare decodes need both to code the quantizer's indexes as they are
    monkeypatch.setattr(Arith, "uses_soft", False)
    monkeypatch.setattr(ctxrans.ContextRans, "uses_soft", False)
    return model


@pytest.mark.parametrize("spec", ["ycbcr(subsampling=444)|dwt|deadzone|ctxrans", "ycbcr|dct(block=8)|deadzone|ctxrans"])
def test_rdoq_trades_bits_for_error_by_its_lambda(model, monkeypatch, spec):
    """The encoder's RDOQ: the larger its lambda, the fewer bits and the more error;
    lambda 0 keeps the index nearest in reconstruction; every file decodes as coded."""
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_CTXRANS", str(model))
    img = smooth_image(80, 96, seed=8)
    noisy = np.clip(img + np.random.default_rng(1).normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    sizes, errors = [], []
    for mu in (0.0, 0.9, 4.0):
        monkeypatch.setattr(ctxrans, "MU", mu)
        data = hybridcodec.encode(noisy, pipeline=spec, quality=60)
        sizes.append(len(data))
        errors.append(np.mean((hybridcodec.decode(data).astype(float) - noisy) ** 2))
    assert sizes[0] > sizes[1] > sizes[2]
    assert errors[0] < errors[1] < errors[2]
    monkeypatch.setattr(ctxrans.ContextRans, "uses_soft", False)  # the quantizer's own indexes
    plain = hybridcodec.encode(noisy, pipeline=spec, quality=60)
    assert sizes[1] < len(plain)


@pytest.mark.parametrize("spec", ["ycbcr(subsampling=444)|dwt|deadzone|{}",
                                  "ycbcr(subsampling=420)|dwt(levels=3)|deadzone|{}",
                                  "ycbcr|dct(block=8)|jpegq|{}"])
@pytest.mark.parametrize("shape", [(67, 91, 3), (40, 33, 1), (1, 5, 3)])
def test_same_image_as_arith_full_and_reduced(use, spec, shape):
    img = smooth_image(shape[0], shape[1], shape[2], seed=3)
    if "dct" in spec and shape[2] == 1:
        img = img[..., None].repeat(3, axis=2)
    for q in (20, 85):
        ours = hybridcodec.encode(img, pipeline=spec.format("ctxrans"), quality=q)
        theirs = hybridcodec.encode(img, pipeline=spec.format("arith"), quality=q)
        for reduce in (1, 2):
            if reduce > 1 and "dct" in spec:
                continue
            assert np.array_equal(hybridcodec.decode(ours, reduce=reduce), hybridcodec.decode(theirs, reduce=reduce))


def test_sixteen_bit_and_large_values(use):
    img = (smooth_image(48, 40, seed=4).astype(np.uint16) * 257)
    data = hybridcodec.encode(img, pipeline="ycbcr(subsampling=444)|dwt|deadzone|ctxrans", quality=99)
    ref = hybridcodec.encode(img, pipeline="ycbcr(subsampling=444)|dwt|deadzone|arith", quality=99)
    assert np.array_equal(hybridcodec.decode(data), hybridcodec.decode(ref))


def test_other_model_refused_and_side_data_checked(use, tmp_path, monkeypatch):
    img = smooth_image(40, 48, seed=5)
    data = hybridcodec.encode(img, pipeline="ycbcr|dwt|deadzone|ctxrans", quality=50)
    other = tmp_path / "other.npz"
    with np.load(use) as z:
        arrays = dict(z)
    arrays["index"] = np.roll(arrays["index"], 1)
    np.savez(other, **arrays)
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_CTXRANS", str(other))
    with pytest.raises(CodecError, match="ctxrans model"):
        hybridcodec.decode(data)
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_CTXRANS", str(use))
    header, chunks = read_container(data)
    side = next(c for c in chunks if c.type == b"SIDE")
    for bad in (side.payload[:-1], side.payload + b"\x00"):
        side.payload = bad
        with pytest.raises(CodecError, match="ctxrans side data"):
            hybridcodec.decode(write_container(header, chunks))


def test_cut_short_and_corrupt_streams_raise(use):
    img = smooth_image(64, 64, seed=6)
    data = hybridcodec.encode(img, pipeline="ycbcr|dwt|deadzone|ctxrans", quality=60)
    header, chunks = read_container(data)
    main = next(c for c in chunks if c.type == b"DATA")
    good = main.payload
    for bad in (good[: len(good) // 2], good + b"\x00\x01", bytes(len(good))):
        main.payload = bad
        with pytest.raises(CodecError):
            hybridcodec.decode(write_container(header, chunks))


def test_missing_or_broken_model_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "SHIPPED", tmp_path)  # a folder without the model
    with pytest.raises(CodecError, match="train entropy"):
        hybridcodec.encode(smooth_image(16, 16), pipeline="ycbcr|dwt|deadzone|ctxrans", quality=50)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_CTXRANS", str(bad))
    with pytest.raises(CodecError, match="cannot read ctxrans model"):
        hybridcodec.encode(smooth_image(16, 16), pipeline="ycbcr|dwt|deadzone|ctxrans", quality=50)


def test_training_records_and_refuses_to_overwrite(model, tmp_path):
    record = json.loads(model.with_suffix(".json").read_text())
    assert record["settings"]["photos"] == 2 and record["settings"]["training_bits_per_coefficient"] > 0
    assert record["schema"] == weights.RECORD_SCHEMA and record["artefact"] == "ctxrans"
    with pytest.raises(CodecError, match="already exists"):
        train_entropy(str(model.parent.parent), out=str(model))
    with pytest.raises(CodecError, match="shipped weights folder"):
        train_entropy(str(model.parent.parent), out=str(weights.SHIPPED / "new.npz"))
    assert not (weights.SHIPPED / "new.npz").exists()


def test_the_context_model_beats_one_table_per_class(model):
    """What the contexts buy on the training photos: the fitted map against the best
    single table per class and pass (the counts are the training run's own)."""
    from hybridcodec_learned.training import entropy as te

    img = smooth_image(96, 128, seed=1)
    from hybridcodec_learned.entropy.contexts import CELLS, CLASSES
    from hybridcodec_learned.entropy.laplace import laplace_tables

    pipe = hybridcodec.Pipeline("ycbcr(subsampling=444)|dwt|deadzone|arith")
    keys = np.concatenate([te.count_contexts(*encode_forward(pipe, img, q)) for q in (20, 60)])
    counts = np.bincount(keys, minlength=CLASSES * 2 * CELLS * te.VMAX)
    tables = laplace_tables()
    _, bits = te.fit(counts, tables)
    flat = counts.reshape(CLASSES * 2, CELLS, te.VMAX).sum(axis=1, keepdims=True)
    _, bits_one = te.fit(np.pad(flat, ((0, 0), (0, CELLS - 1), (0, 0))).ravel(), tables)
    assert bits < 0.9 * bits_one


def test_training_rejects_bad_input_and_writes_nothing(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    Image.fromarray(smooth_image(32, 32, seed=1)).save(data / "a.png")
    (data / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "m.npz"
    with pytest.raises(CodecError, match="cannot read training photo .*b.png"):
        train_entropy(str(data), out=str(out), say=lambda *_: None)
    for bad in (0, -2):
        with pytest.raises(CodecError, match="--limit"):
            train_entropy(str(data), out=str(out), limit=bad)
    with pytest.raises(CodecError, match="no training images"):
        train_entropy(str(tmp_path / "absent"), out=str(out))
    with pytest.raises(CodecError, match="--transform"):
        train_entropy(str(data), transform="arith", out=str(out))  # not a transform
    assert not out.exists() and not out.with_suffix(".json").exists()


def test_a_size_its_stream_cannot_hold_is_refused_before_decoding(use):
    """A header that declares far more coefficients than the stream's bytes can hold
    (each symbol costs at least the model's most probable symbol) is a clear error at
    once, not seconds of decoding."""
    img = smooth_image(24, 24, seed=3)
    data = hybridcodec.encode(img, pipeline="ycbcr(subsampling=444)|dwt(levels=2)|deadzone|ctxrans",
                              quality=50)  # side data the same at any size
    header, chunks = read_container(data)
    model = weights.get("ctxrans").load().obj
    assert 0 < model.min_bits < 1
    main = next(c for c in chunks if c.type == b"DATA")
    per_plane = (len(main.payload) * 8 + 64) / model.min_bits / 3  # the most the stream could hold
    header.width = header.height = int(per_plane**0.5) + 64
    big = write_container(header, chunks)
    with pytest.raises(TruncatedError, match="cannot hold"):
        hybridcodec.decode(big)
    header.width, header.height = 24, 24
    assert hybridcodec.decode(write_container(header, chunks)).shape == img.shape
