"""Stage ``lifting``: CDF 9/7 with learned predict/update steps.  Untrained it is the
``dwt`` stage; trained (here: random) weights still invert exactly; the coefficients
go through deadzone and arith unchanged; reduce works; other weights are refused."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("hybridcodec_learned")

import hybridcodec  # noqa: E402
from hybridcodec import CodecError  # noqa: E402
from hybridcodec._stage import Context, PlaneInfo  # noqa: E402
from hybridcodec.stages.dwt import DWT  # noqa: E402
from hybridcodec.wavelets.subbands import WaveletPlan  # noqa: E402
from hybridcodec_learned.stages import lifting as lifting_stage  # noqa: E402
from hybridcodec_learned.nets import lifting as lifting_net  # noqa
from hybridcodec_learned.training import lifting_loss  # noqa: E402
from hybridcodec_learned.nets.lifting import LiftingNet, analyze, synthesize  # noqa
from hybridcodec_learned import weights  # noqa: E402
from hybridcodec_learned.weights import FORMATS  # noqa: E402
from conftest import move_weights, smooth_image  # noqa: E402

SPEC = "ycbcr(subsampling=444)|lifting|deadzone|arith"


def _random_net(seed=0, scale=0.2):
    torch.manual_seed(seed)
    net = LiftingNet().double()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, scale)
    return net


def _weights(tmp_path, net, name="lifting.pt"):
    path = tmp_path / name
    torch.save(FORMATS["lifting"].pack(net.float()), path)
    return path


@pytest.fixture
def use(monkeypatch):
    def go(path):
        monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_LIFTING", str(path))
    return go


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), levels=st.integers(1, 4), seed=st.integers(0, 3))
def test_learned_steps_invert_exactly_and_keep_the_band_layout(h, w, levels, seed):
    x = torch.from_numpy(np.random.default_rng(seed).uniform(-128, 128, (2, 1, h, w)))
    net = _random_net(seed)
    plan = WaveletPlan((h, w), "cdf97", levels)
    with torch.no_grad():
        bands = analyze(x, net, levels)
        assert [tuple(b.shape[-2:]) for b in bands] == [b.shape for b in plan.bands]
        assert torch.allclose(synthesize(bands, net, levels), x, atol=1e-9)
        plain = analyze(x, None, levels)
    if h > 2 and w > 2:  # the learned steps do change the coefficients
        assert max((a - b).abs().max().item() for a, b in zip(bands, plain) if a.numel()) > 1e-3


def test_untrained_steps_are_cdf97():
    """Zero last layers: the coefficients of the dwt stage's numba lifting."""
    plane = smooth_image(45, 70, 1, seed=3).astype(np.float32) - 128
    plan = WaveletPlan(plane.shape, "cdf97", 3)
    with torch.no_grad():
        bands = analyze(torch.from_numpy(plane)[None, None], LiftingNet(), 3)
    ours = np.concatenate([b.reshape(-1).numpy() for b in bands])
    assert np.allclose(ours, plan.forward(plane.copy()), atol=2e-3)


def test_untrained_stage_codes_as_the_wavelet_preset(tmp_path, use):
    use(_weights(tmp_path, LiftingNet()))
    img = smooth_image(48, 64, 3, seed=5)
    for q in (20, 75):
        ours = hybridcodec.encode(img, pipeline=SPEC, quality=q)
        wavelet = hybridcodec.encode(img, preset="wavelet", quality=q)
        assert abs(len(ours) - len(wavelet)) <= 24  # the stage's name and its 4 bytes of side data
        assert np.abs(hybridcodec.decode(ours).astype(int) - hybridcodec.decode(wavelet)).max() <= 1


def test_stage_publishes_the_dwt_bands():
    layout = (PlaneInfo((37, 50), "luma"), PlaneInfo((37, 50), "chroma"))
    assert lifting_stage.LearnedLifting().layout(layout) == DWT().layout(layout)


def test_trained_weights_round_trip_reduce_and_sixteen_bits(tmp_path, use):
    use(_weights(tmp_path, _random_net(1, 0.1)))
    img = smooth_image(50, 67, 3, seed=7)
    data = hybridcodec.encode(img, pipeline=SPEC, quality=100)
    out = hybridcodec.decode(data)
    assert out.shape == img.shape and np.abs(out.astype(int) - img).max() <= 3
    low = hybridcodec.decode(data, reduce=4)
    assert low.shape == (13, 17, 3)
    deep = img.astype(np.uint16) * 257
    back = hybridcodec.decode(hybridcodec.encode(deep, pipeline=SPEC, quality=100))
    assert back.dtype == np.uint16 and np.abs(back.astype(int) - deep).max() <= 3 * 257


def test_strips_give_the_whole_plane_result(monkeypatch):
    net = _random_net(2, 0.1).float()
    x = torch.from_numpy(smooth_image(70, 90, 1, seed=2).astype(np.float32) - 128)[None, None]
    with torch.no_grad():
        whole = analyze(x, net, 3)
        monkeypatch.setattr(lifting_net, "_STRIP", 200)  # a few rows at a time
        strips = analyze(x, net, 3)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(whole, strips))


def test_other_weights_and_bad_side_data_are_refused(tmp_path, use):
    a, b = _weights(tmp_path, _random_net(3, 0.05), "a.pt"), _weights(tmp_path, _random_net(4, 0.05), "b.pt")
    img = smooth_image(32, 40, 3, seed=1)
    use(a)
    data = hybridcodec.encode(img, pipeline=SPEC, quality=60)
    use(b)
    with pytest.raises(CodecError, match="lifting weights sha256"):
        hybridcodec.decode(data)
    use(tmp_path / "missing.pt")
    with pytest.raises(CodecError, match="train transform --model lifting"):
        hybridcodec.encode(img, pipeline=SPEC)
    (tmp_path / "junk.pt").write_bytes(b"not a weight file")
    use(tmp_path / "junk.pt")
    with pytest.raises(CodecError, match="cannot read lifting weights"):
        hybridcodec.encode(img, pipeline=SPEC)


def test_files_of_retired_weights_decode_with_them(tmp_path, use, monkeypatch):
    old = _weights(tmp_path, _random_net(6, 0.05), "lifting-20990101.pt")
    img = smooth_image(32, 40, 3, seed=2)
    use(old)
    data = hybridcodec.encode(img, pipeline=SPEC, quality=60)
    before = hybridcodec.decode(data)
    use(_weights(tmp_path, _random_net(7, 0.05), "new.pt"))
    with pytest.raises(CodecError, match="lifting weights sha256"):  # not shipped as retired: refused
        hybridcodec.decode(data)
    monkeypatch.setitem(weights._REGISTRY, "lifting", dataclasses.replace(
        weights.get("lifting"), folder=tmp_path, retired=("lifting-joint-20990101.pt", "lifting-20990101.pt")))
    assert np.array_equal(hybridcodec.decode(data), before)
    assert not np.array_equal(hybridcodec.decode(hybridcodec.encode(img, pipeline=SPEC, quality=60)), before)


def test_side_data_keeps_4_digest_bytes_and_older_files_with_8_still_decode(tmp_path, use):
    import hashlib

    from hybridcodec.container import Chunk, read_container, write_container

    path = _weights(tmp_path, _random_net(5, 0.05))
    use(path)
    img = smooth_image(32, 40, 3, seed=3)
    data = hybridcodec.encode(img, pipeline=SPEC, quality=60)
    header, chunks = read_container(data)
    (side,) = [c for c in chunks if c.type == b"SIDE"]
    sha = hashlib.sha256(path.read_bytes()).digest()
    assert side.payload == sha[:4]

    def with_side(payload):
        return write_container(header, [Chunk(c.type, c.stage, payload) if c is side else c for c in chunks])

    expected = hybridcodec.decode(data)
    assert np.array_equal(hybridcodec.decode(with_side(sha[:8])), expected)  # the older layout
    for bad in (bytes([sha[0] ^ 1]) + sha[1:8], sha[:7] + bytes([sha[7] ^ 1]), bytes([sha[0] ^ 1]) + sha[1:4]):
        with pytest.raises(CodecError, match="lifting weights sha256"):
            hybridcodec.decode(with_side(bad))
    for bad in (sha[:3], sha[:5], sha[:32]):
        with pytest.raises(CodecError, match="bad lifting side data"):
            hybridcodec.decode(with_side(bad))


def test_side_data_checked(tmp_path, use):
    use(_weights(tmp_path, LiftingNet()))
    stage = lifting_stage.LearnedLifting()
    stage.index = 0
    layout = (PlaneInfo((8, 8), "luma"),)
    ctx = Context(8, 8, 1, 50.0, side={0: [b"short"]})
    with pytest.raises(CodecError, match="bad lifting side data"):
        stage.decode([np.zeros(64, np.float32)], layout, ctx)


def test_loss_trains_the_zero_initialised_steps():
    """At the CDF 9/7 start only the last layers get a gradient; one optimizer step
    moves the transform off 9/7."""
    torch.manual_seed(0)
    net = LiftingNet()
    x = torch.from_numpy(smooth_image(64, 64, 3, seed=9).astype(np.float32) - 128).permute(2, 0, 1)[None]
    loss, bpp, psnr = lifting_loss.rd_loss(net, x.repeat(2, 1, 1, 1), torch.tensor([3.0, 6.0]))
    loss.backward()
    assert net.ph.c3.weight.grad.abs().sum() > 0 and bpp > 0 and 10 < psnr < 80


def test_large_images_have_layouts_and_their_work_is_bounded_by_the_file():
    """No size cap of its own past 16 megapixels (memory goes plane by plane, the steps'
    activations strip by strip); what bounds a file is the decoder's work rule."""
    pipe = hybridcodec.Pipeline("lifting")
    assert pipe.layouts(4000, 6000, 3)[-1][0].shape[0] == 4000 * 6000
    ctx = pipe.context(6000, 4000, 3, 50)
    assert pipe.decode_work(6000 * 4000, ctx, ()) > hybridcodec.work_limit(10_000)


def test_cnn_after_lifting_uses_its_family_and_still_reads_files_made_with_the_dwt_weights(
        tiny_weights, tmp_path, monkeypatch):
    import shutil

    for f in ("postfilter-dwt.pt", "postfilter-dct.pt"):
        shutil.copy(tiny_weights / f, tmp_path / f)
    shutil.copy(tiny_weights / "postfilter-dwt.pt", tmp_path / "postfilter-lifting.pt")
    move_weights(monkeypatch, tmp_path)
    assert hybridcodec.Pipeline(SPEC + "|cnn").family == "lifting"
    img = smooth_image(48, 64, seed=9)
    data = hybridcodec.encode(img, pipeline=SPEC + "|cnn", quality=30)  # made with the dwt weights' bytes
    before = hybridcodec.decode(data)
    shutil.copy(tmp_path / "postfilter-dct.pt", tmp_path / "postfilter-lifting.pt")  # lifting gets its own
    weights.clear_cache()
    assert np.array_equal(hybridcodec.decode(data), before)  # found among the families' weights
    (tmp_path / "postfilter-dwt.pt").unlink()
    weights.clear_cache()
    with pytest.raises(CodecError, match="made with cnn weights"):
        hybridcodec.decode(data)
    weights.clear_cache()


def _record_calls(monkeypatch):
    """Wrap the network's analysis and synthesis: (thread, torch threads, strip size) of each call."""
    import threading

    calls = []
    for name in ("analyze", "synthesize"):
        fn = getattr(lifting_net, name)

        def wrapped(*a, _fn=fn, **k):
            calls.append((threading.get_ident(), torch.get_num_threads(),
                          getattr(lifting_net._LOCAL, "strip", lifting_net._STRIP)))
            return _fn(*a, **k)

        monkeypatch.setattr(lifting_net, name, wrapped)
    return calls


def test_small_planes_go_on_two_threads_with_one_torch_thread_each(monkeypatch):
    """Planes below the size limit are transformed at once, one per pool thread, each
    with a single torch thread and half the strip; the file and the pixels are those of
    one thread."""
    img = smooth_image(48, 64, 3, seed=5)
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "1")
    one = hybridcodec.encode(img, pipeline=SPEC, quality=50)
    one_px = hybridcodec.decode(one)
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "2")
    calls = _record_calls(monkeypatch)
    two = hybridcodec.encode(img, pipeline=SPEC, quality=50)
    enc_calls = list(calls)
    two_px = hybridcodec.decode(two)
    dec_calls = calls[len(enc_calls):]
    for made in (enc_calls, dec_calls):
        assert len(made) == 3
        assert len({thread for thread, _, _ in made}) == 2
        assert {(n, strip) for _, n, strip in made} == {(1, lifting_net._STRIP // 2)}
    assert two == one and np.array_equal(two_px, one_px)


def test_large_planes_go_one_after_another_with_torchs_threads(monkeypatch):
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "2")
    monkeypatch.setattr(lifting_stage, "_CONCURRENT", 48 * 64)  # these planes count as large
    calls = _record_calls(monkeypatch)
    hybridcodec.decode(hybridcodec.encode(smooth_image(48, 64, 3, seed=5), pipeline=SPEC, quality=50))
    assert len(calls) == 6 and len({thread for thread, _, _ in calls}) == 1
    assert {(n, strip) for _, n, strip in calls} == {(2, lifting_net._STRIP)}


def test_planes_on_threads_give_the_application_its_torch_threads_back(monkeypatch):
    """The caller's thread runs a plane with one torch thread; afterwards torch has the
    count the application set (under HYBRIDCODEC_TORCH_POLICY=off the stages leave it alone)."""
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "2")
    monkeypatch.setenv("HYBRIDCODEC_TORCH_POLICY", "off")
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        calls = _record_calls(monkeypatch)
        data = hybridcodec.encode(smooth_image(48, 64, 3, seed=5), pipeline=SPEC, quality=50)
        assert torch.get_num_threads() == 3
        hybridcodec.decode(data)
        assert torch.get_num_threads() == 3
        assert {n for _, n, _ in calls} == {1}  # the planes did run on threads, one torch thread each
    finally:
        torch.set_num_threads(before)
