"""The learned transforms (stages ``learned`` and ``dcnn``, with the shipped weights):
round trips of every mixed pipeline, rate, deterministic latents whatever the float
path, and tampered files."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hybridcodec_learned")

import hybridcodec  # noqa: E402
from hybridcodec import CodecError  # noqa: E402
from hybridcodec_learned import weights  # noqa: E402
from hybridcodec_learned.stages import dcnn as dcnn_stage  # noqa: E402
from hybridcodec_learned.stages import learned as learned_stage  # noqa: E402
from conftest import smooth_image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
from mutate import parse  # noqa: E402

PIPES = ["learned", "learned|rans", "learned+cnn", "learned|rans+cnn", "dcnn", "dcnn|rans"]


@pytest.mark.parametrize("spec", PIPES)
@pytest.mark.parametrize("shape", [(37, 45, 3), (16, 16, 1), (1, 1, 3), (33, 20, 4)])
def test_mixed_pipelines_round_trip(spec, shape):
    img = smooth_image(*shape)
    data = hybridcodec.encode(img, pipeline=spec, quality=85)
    out = hybridcodec.decode(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    if shape[0] > 8:
        assert hybridcodec.psnr(img, out) > (24 if spec.startswith("dcnn") else 30)
    if img.ndim == 3 and img.shape[2] == 4:
        assert np.array_equal(out[:, :, 3], img[:, :, 3])  # alpha is lossless beside any pipeline
    for k in (2, 4):
        assert hybridcodec.decode(data, reduce=k).shape[:2] == (-(-shape[0] // k), -(-shape[1] // k))


def test_presets_and_stage_names():
    assert hybridcodec.Pipeline("learned").spec() == "learned()|arith()"
    assert hybridcodec.Pipeline("learned+cnn").spec() == "learned()|arith()|cnn(weights=auto)"
    assert hybridcodec.Pipeline("learned|rans").spec() == "learned()|rans()"
    assert hybridcodec.Pipeline("dcnn").spec() == "dcnn()|arith()"
    assert hybridcodec.Pipeline("dcnn|rans").spec() == "dcnn()|rans()"
    assert {"learned", "dcnn"} <= set(hybridcodec.available_stages())
    img = smooth_image(24, 40)
    assert hybridcodec.decode(hybridcodec.encode(img, preset="learned", quality=50)).shape == img.shape
    with pytest.raises(CodecError, match="one size"):
        hybridcodec.Pipeline("ycbcr(subsampling=420)|learned|rans").layouts(32, 32, 3)
    for spec in ("learned", "dcnn"):  # in strips of rows: any height, at most 65535 pixels across
        assert hybridcodec.Pipeline(spec).layouts(6000, 4097, 3)
        assert hybridcodec.Pipeline(spec).layouts(1 << 20, 1, 3)
        with pytest.raises(CodecError, match="65535 pixels across"):  # from the header, before any allocation
            hybridcodec.Pipeline(spec).layouts(1, 65536, 3)


@pytest.mark.parametrize("spec", ["learned", "learned|rans", "dcnn"])
def test_quality_sets_the_rate_and_rate_control_works(spec):
    img = smooth_image(64, 96, 3, seed=3)
    sizes = [len(hybridcodec.encode(img, pipeline=spec, quality=q)) for q in (5, 30, 60, 95)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    cap = (sizes[1] + sizes[2]) // 2
    assert len(hybridcodec.encode(img, pipeline=spec, max_bytes=cap)) <= cap
    target = 8.0 * sizes[2] / img[:, :, 0].size
    got = 8.0 * len(hybridcodec.encode(img, pipeline=spec, target_bpp=target)) / img[:, :, 0].size
    assert abs(got - target) < 0.2 * target


def test_sixteen_bit_input():
    img = smooth_image(40, 48, 3).astype(np.uint16) * 257
    out = hybridcodec.decode(hybridcodec.encode(img, pipeline="learned", quality=90))
    assert out.dtype == np.uint16 and hybridcodec.psnr(img / 257, out / 257) > 30


# -- deterministic latents ----------------------------------------------------------------


def _latents(monkeypatch, data, threads=None, perturb=None):
    """Decode ``data``, returning the latents the entropy decoder produced and the image."""
    seen = []
    original = learned_stage.LearnedTransform._synthesize  # what decode and decode_samples run

    def spy(self, planes, layout, ctx, put):
        seen.append(np.array(planes[0]))
        return original(self, planes, layout, ctx, put)

    monkeypatch.setattr(learned_stage.LearnedTransform, "_synthesize", spy)
    before = torch.get_num_threads()
    w = weights.get("learned").load().obj
    saved = {k: v.clone() for k, v in w.net.state_dict().items()}
    try:
        if threads:
            torch.set_num_threads(threads)
        if perturb:
            perturb(w.net)
        image = hybridcodec.decode(data)
    finally:
        torch.set_num_threads(before)
        w.net.__dict__.pop("decode_latents", None)
        w.net.float()
        w.net.load_state_dict(saved)
    return seen[0], image


def _encode(img, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return hybridcodec.encode(img, pipeline="learned|rans", quality=40)
    finally:
        torch.set_num_threads(before)


def _float64(net):
    net.double()
    orig = net.decode_latents
    net.decode_latents = lambda y: orig(y.double()).float()  # noqa: E731 - an instance attribute, removed after
    return net


@pytest.mark.parametrize("enc_threads, dec_threads", [(1, 2), (2, 1)])
def test_latents_are_the_same_with_any_thread_count(monkeypatch, enc_threads, dec_threads):
    img = smooth_image(96, 128, 3, seed=5)
    data = _encode(img, enc_threads)
    a, ia = _latents(monkeypatch, data, threads=enc_threads)
    b, ib = _latents(monkeypatch, data, threads=dec_threads)
    assert np.array_equal(a, b)
    assert np.abs(ia.astype(int) - ib).max() <= 1  # the float synthesis: rounding at most


def test_latents_survive_a_perturbed_float_path(monkeypatch):
    img = smooth_image(96, 128, 3, seed=6)
    data = _encode(img, 1)
    ref, iref = _latents(monkeypatch, data)

    def noisy(net):  # every float weight off by a relative 1e-5: another BLAS, another conv algorithm
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(1 + 1e-5 * torch.randn_like(p))

    for perturb in (noisy, _float64):
        got, image = _latents(monkeypatch, data, perturb=perturb)
        assert np.array_equal(got, ref)
        assert np.abs(image.astype(int) - iref).max() <= 2


# -- tampered files ---------------------------------------------------------------------


def _side(data, stage):
    f = parse(data)
    return f, next(c for c in f.chunks if c[0] == b"SIDE" and c[1] == stage)


def test_tampered_learned_files_raise_codec_error():
    img = smooth_image(64, 64, 3, seed=7)
    data = hybridcodec.encode(img, pipeline="learned|rans", quality=50)
    f, chunk = _side(data, 0)
    blob = chunk[3]
    for bad, match in ((bytes([blob[0] ^ 1]) + blob[1:], "weights sha256"),
                       (blob[:-3], "hyper-latents"),
                       (blob[:40] + bytes([blob[40] ^ 0x55]) + blob[41:], "table offsets"),
                       (blob[:-5] + bytes([blob[-5] ^ 0x55]) + blob[-4:], "hyper-latents"),
                       (blob[:20], "side data")):
        chunk[3] = bad
        with pytest.raises(CodecError, match=match):
            hybridcodec.decode(f.bytes())
    chunk[3] = blob
    assert np.array_equal(hybridcodec.decode(f.bytes()), hybridcodec.decode(data))


def test_tampered_dcnn_files_raise_codec_error():
    data = hybridcodec.encode(smooth_image(40, 40, 3), pipeline="dcnn", quality=50)
    f, chunk = _side(data, 0)
    chunk[3] = bytes(32)
    with pytest.raises(CodecError, match="dcnn weights sha256"):
        hybridcodec.decode(f.bytes())


def test_compare_shows_learned_pipelines_by_default():
    pytest.importorskip("matplotlib")
    from hybridcodec.compare.settings import CLASSICAL, CompareSettings

    from hybridcodec.compare.settings import default_pipelines

    pipes = CompareSettings().pipelines
    assert pipes[: len(CLASSICAL)] == CLASSICAL
    assert {"learned", "lifting", "hybrid", "hybrid-fast"} <= set(pipes)
    assert not {"lifting+cnn", "learned+cnn", "learned|rans", "dcnn", "wavelet+cnn"} & set(pipes)  # slow: --all
    everything = default_pipelines(True)
    assert {"lifting+cnn", "learned+cnn", "learned|rans", "dcnn", "wavelet+cnn"} <= set(everything)
    for spec in everything:
        hybridcodec.Pipeline(spec)


def test_cli_compare_default_shows_learned_and_classical(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("skimage")
    import hybridcodec.compare as compare
    from hybridcodec.cli import main

    seen = []
    monkeypatch.setattr(compare, "run_compare", lambda settings, **kw: seen.append(settings) or {})
    assert main(["compare", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert {"baseline", "wavelet", "learned", "hybrid"} <= set(seen[0].pipelines)
    assert "jpeg-opencv" not in seen[0].codecs and {"heic", "jxl"} <= set(seen[0].codecs)
    assert main(["compare", "--out", str(tmp_path / "o"), "--quiet", "--all"]) == 0
    assert {"dcnn", "learned+cnn"} <= set(seen[1].pipelines) and "jpeg-opencv" in seen[1].codecs


# -- golden bitstreams (shipped weights; the weights' sha256 is inside each file) ---------
# (updated for format version 3, the spec deflated, and for version 4, varint lengths: the
# payloads are the same, and each file re-packed in the version before gave the bytes of
# before when the hashes were updated)

GOLDEN = [
    ('learned|rans', (16, 24, 3), 50, 672, "85ba6c10a88b5f3cf46b874fe861e8136420758c03b0fdf4fdf68261e12b9c41", "fb30435c69d438b6b8ac02c1bac59a746331293d097d89902032ea5d127b55a5"),
    ('learned|arith', (9, 7, 1), 70, 330, "18673bc4d11da8130138b2a708dca212150caa1f29be85ce3081847f1aaf5a57", "c9c452f55dab13a2aa115ad763c57fe237958587f6be3e04463720b04c9266d7"),
    ('dcnn|arith', (16, 16, 3), 60, 215, "ecb1334e5ce3acce8c1529e8d5d6cb2c0b01a5518343c50e511a970d98ab00ca", "16ab2e6b901e64d3e0fedef4afe8ce606539c1c9fad6f22eb8969e9ed75618c5"),
    ('dcnn|rans', (13, 20, 3), 40, 148, "d8d4ba95bf756b73f0570ca9495bca7b05455dfcd4116a9496666582846d09b7", "ee237a2b5e61b02e5bd7ec0a50dacbcb56d44bee80ff30ad385f309a3a389247"),
]


@pytest.mark.parametrize("spec, shape, quality, size, enc_hash, dec_hash", GOLDEN)
def test_golden_bitstreams(spec, shape, quality, size, enc_hash, dec_hash):
    import hashlib

    from golden_inputs import pattern

    data = hybridcodec.encode(pattern(*shape), pipeline=spec, quality=quality)
    assert len(data) == size
    assert hashlib.sha256(data).hexdigest() == enc_hash
    assert hashlib.sha256(hybridcodec.decode(data).tobytes()).hexdigest() == dec_hash


@pytest.mark.parametrize("spec", ["learned", "learned|rans"])
def test_strips_of_rows_give_the_whole_images_result(monkeypatch, spec):
    """The networks run a strip of latent rows at a time (with context rows each side):
    forced to strips of 4 latent rows, the encoder writes a file like the one-pass one
    and the decoder gives the same pixels within float rounding (both ways out: samples
    and, reduced, planes)."""
    img = smooth_image(150, 100, 3, seed=3)
    how = {"preset": spec} if spec in hybridcodec.PRESETS else {"pipeline": spec}
    whole = hybridcodec.encode(img, quality=50, **how)
    expect, expect_half = hybridcodec.decode(whole), hybridcodec.decode(whole, reduce=2)
    assert len(learned_stage._strips(*learned_stage._grid(150, 100)[:2])) == 1
    monkeypatch.setattr(learned_stage, "_LATENTS", 16)
    assert len(learned_stage._strips(*learned_stage._grid(150, 100)[:2])) == 5
    assert np.abs(hybridcodec.decode(whole).astype(int) - expect).max() <= 1
    assert np.abs(hybridcodec.decode(whole, reduce=2).astype(int) - expect_half).max() <= 1
    strips = hybridcodec.encode(img, quality=50, **how)
    assert abs(len(strips) - len(whole)) <= 0.02 * len(whole)

    def psnr(a):
        return 10 * np.log10(255 ** 2 / np.mean((a.astype(float) - img) ** 2))

    assert abs(psnr(hybridcodec.decode(strips)) - psnr(expect)) < 0.05


@pytest.mark.parametrize("shape", [(70, 40, 3), (150, 33, 1), (20, 300, 3)])
def test_dcnn_writes_samples_block_row_by_block_row_as_the_planes_give_them(monkeypatch, shape):
    img = smooth_image(*shape)
    data = hybridcodec.encode(img, preset="dcnn", quality=60)
    by_rows = hybridcodec.decode(data)
    monkeypatch.setattr(dcnn_stage.DCNNTransform, "decode_samples", hybridcodec.Stage.decode_samples)
    np.testing.assert_array_equal(by_rows, hybridcodec.decode(data))
    assert hybridcodec.decode(data, reduce=2).shape[:2] == (-(-shape[0] // 2), -(-shape[1] // 2))


def test_the_integer_hyper_synthesis_by_rows_is_the_whole_pass():
    """IntegerNet.rows runs each layer on the rows the next ones need: the same integers
    as the whole pass, for runs of rows at the edges, inside and of one row."""
    net = weights.get("learned").load().obj.h_s
    z = np.random.default_rng(0).integers(-6, 7, (net.layers[0][1].shape[1], 13, 11)).astype(np.int64) << 8
    whole, u = net(z), net.scale
    for a, b in [(0, 13), (0, 1), (12, 13), (3, 4), (0, 5), (5, 11), (2, 12)]:
        np.testing.assert_array_equal(net.rows(z, a, b), whole[:, a * u : b * u])
