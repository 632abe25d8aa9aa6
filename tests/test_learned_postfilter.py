"""The CNN post-filter plugin (plugins/): skipped when torch or the plugin is missing."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
learned = pytest.importorskip("hybridcodec_learned")

import dataclasses  # noqa: E402

import hybridcodec  # noqa: E402
from hybridcodec_learned.nets.postfilter import strength  # noqa: E402
from hybridcodec_learned import weights  # noqa
from hybridcodec_learned.stages import cnn as pf  # noqa: E402
from hybridcodec_learned.training.postfilter import train_postfilter  # noqa: E402
from conftest import move_weights, smooth_image  # noqa: E402


def test_registered_through_the_entry_point():
    assert hybridcodec.get_stage("cnn") is pf.CNNPostFilter
    assert "cnn" in hybridcodec.available_stages()


def test_tiny_training_step_writes_weights_and_record(tiny_weights):
    import json

    rec = json.loads((tiny_weights / "postfilter-dct.json").read_text())
    assert rec["steps"] == 3 and rec["settings"]["preset"] == "baseline" and rec["training_seconds"] > 0
    assert (tiny_weights / "postfilter-dct.ckpt").exists()


def test_training_resumes_from_checkpoint(tiny_weights, tmp_path):
    import shutil

    for ext in (".pt", ".ckpt"):
        shutil.copy(tiny_weights / f"postfilter-dct{ext}", tmp_path / f"w{ext}")
    messages = []
    data = tiny_weights / "train"
    train_postfilter(str(data), "baseline", steps=5, resume=True, out=str(tmp_path / "w.pt"), batch=2, crop=32,
                     channels=8, layers=3, progress=False, say=messages.append)
    assert any("resuming at step 3" in m for m in messages)
    import json

    assert json.loads((tmp_path / "w.json").read_text())["steps"] == 5


def test_weights_load_with_the_weights_only_loader(tiny_weights):
    state = torch.load(tiny_weights / "postfilter-dwt.pt", map_location="cpu", weights_only=True)
    assert set(state) == {"channels", "layers", "state_dict"}
    net, digest = weights.load_file("postfilter", str(tiny_weights / "postfilter-dwt.pt"))[:2]
    assert len(digest) == 32


def test_shipped_weights_load_offline():
    shipped = sorted(weights.SHIPPED.glob("postfilter-*.pt"))
    if not shipped:
        pytest.skip("no trained weights shipped yet")
    for path in shipped:
        torch.load(path, map_location="cpu", weights_only=True)
        assert path.stat().st_size < 4 * 1024 * 1024


@pytest.mark.parametrize("preset", ["baseline+cnn", "wavelet+cnn"])
@pytest.mark.parametrize("shape", [(31, 45, 3), (17, 9, 3), (24, 20), (18, 22, 4), (1, 1, 3)])
def test_filter_keeps_size_and_dtype(use_weights, preset, shape):
    img = smooth_image(shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
    if len(shape) == 3 and shape[2] == 4:
        img = np.dstack([smooth_image(shape[0], shape[1], 3), np.full(shape[:2], 77, np.uint8)])
    data = hybridcodec.encode(img, pipeline=preset, quality=30)
    out = hybridcodec.decode(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    if img.ndim == 3 and img.shape[2] == 4:
        assert np.array_equal(out[..., 3], img[..., 3])
    assert hybridcodec.decode(data, reduce=2).dtype == np.uint8


def test_header_records_weights_and_gains(use_weights):
    img = smooth_image(40, 40, 3)
    data = hybridcodec.encode(img, pipeline="baseline+cnn", quality=20)
    info = hybridcodec.info(data)
    assert info["pipeline"].endswith("|cnn(weights=auto)")
    side = [c for c in info["chunks"] if c["type"] == "SIDE"]
    assert side and side[0]["bytes"] == 14  # colour matrix, strength shift and views in a byte, 4 sha256 bytes


def test_colour_mix_is_the_least_squares_fit():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(20, 30, 3)).astype(np.float32)
    m = np.array([[0.5, 0.25, 0], [0, 1.0, 0], [0, -0.5, 1.5]], np.float32)
    e = r @ m + rng.normal(0, 0.01, size=r.shape).astype(np.float32)
    mix = pf._best_mix(r, e)
    np.testing.assert_array_equal(np.frombuffer(mix, np.int8).reshape(3, 3), m * 64)
    np.testing.assert_allclose(pf._blend(np.zeros_like(r), r, mix), r @ m, atol=1e-5)


def test_filter_never_makes_the_encoders_choice_worse(use_weights):
    img = smooth_image(48, 64, 3, seed=3)
    plain = hybridcodec.decode(hybridcodec.encode(img, preset="baseline", quality=25))
    filt = hybridcodec.decode(hybridcodec.encode(img, pipeline="baseline+cnn", quality=25))
    assert hybridcodec.psnr(img, filt) >= hybridcodec.psnr(img, plain) - 0.01


def test_mismatched_weights_are_refused(use_weights, tmp_path, monkeypatch):
    img = smooth_image(32, 32, 3)
    data = hybridcodec.encode(img, pipeline="baseline+cnn", quality=30)
    other = tmp_path / "postfilter-dct.pt"
    state = torch.load(use_weights / "postfilter-dct.pt", weights_only=True)
    state["state_dict"]["head.bias"] = state["state_dict"]["head.bias"] + 0.5
    torch.save(state, other)
    move_weights(monkeypatch, tmp_path)
    with pytest.raises(hybridcodec.CodecError, match="sha256"):
        hybridcodec.decode(data)


def test_missing_weights_named(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "SHIPPED", tmp_path)
    weights.clear_cache()
    with pytest.raises(hybridcodec.CodecError, match="train postfilter"):
        hybridcodec.encode(smooth_image(16, 16, 3), pipeline="baseline+cnn")
    weights.clear_cache()


def test_training_repeats_bit_for_bit_and_records_fingerprints(tiny_weights, tmp_path, monkeypatch):
    import json

    from hybridcodec_learned.training import loop as tr

    monkeypatch.setattr(tr, "FINGERPRINT_EVERY", 2)
    threads = torch.get_num_threads()
    records = []
    for run in ("a", "b"):
        out = train_postfilter(str(tiny_weights / "train"), "baseline", steps=4, out=str(tmp_path / run / "w.pt"),
                               batch=2, crop=32, channels=8, layers=3, threads=1, progress=False,
                               say=lambda *a: None)
        records.append(json.loads(out.with_suffix(".json").read_text()))
    assert torch.get_num_threads() == threads  # the thread count is put back
    assert set(records[0]["fingerprints"]) == {"2", "4"}
    assert records[0]["fingerprints"] == records[1]["fingerprints"]
    assert records[0]["sha256"] == records[1]["sha256"]
    threads, version, cpu = records[0]["machine"].split(", ", 2)  # the CPU too: floats differ across models
    assert threads == "1 torch threads" and version.startswith("torch 2.") and cpu
    other = train_postfilter(str(tiny_weights / "train"), "baseline", steps=4, out=str(tmp_path / "c" / "w.pt"),
                             batch=2, crop=32, channels=8, layers=3, seed=1, threads=1, progress=False,
                             say=lambda *a: None)
    assert json.loads(other.with_suffix(".json").read_text())["sha256"] != records[0]["sha256"]


def test_strips_match_filtering_the_whole_image(use_weights):
    net, _ = weights.load_file("postfilter", str(use_weights / "postfilter-dct.pt"))[:2]
    with torch.no_grad():  # make the tiny net's correction visible
        net.tail.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(0))
    img = smooth_image(pf._STRIP + 150, 40, 3, seed=5).astype(np.float32)
    strips = pf.apply_filter(net, img, 30)
    with torch.no_grad():
        x = torch.from_numpy(img.transpose(2, 0, 1).copy() / 255.0)[None]
        whole = net(x, torch.tensor([0.7]).new_full((1,), strength(30)))[0].numpy().transpose(1, 2, 0) * 255
    assert np.abs(strips - img).max() > 1  # the filter does something
    np.testing.assert_allclose(strips, whole, atol=1e-3)
    weights.clear_cache()


@pytest.mark.parametrize("shape", [(75, 91), (64, 128), (33, 150)])
def test_tiles_with_mirrored_views_and_the_blend_match_the_whole_image(use_weights, monkeypatch, shape):
    """Tiles (odd sizes: the view's context starts on its own even grid) give what the
    whole image in one piece gives, for every view and with the colour mix blended in."""
    net, _ = weights.load_file("postfilter", str(use_weights / "postfilter-dwt.pt"))[:2]
    with torch.no_grad():
        net.tail.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(3))
    img = smooth_image(*shape, 3, seed=7).astype(np.float32)
    mix = bytes([60, 3, 0, 2, 58, 1, 0, 0, 61])
    whole = {}
    monkeypatch.setattr(pf, "_STRIP", 10_000)
    monkeypatch.setattr(pf, "_TILE", 10_000)
    for views in range(8):
        whole[views] = pf.apply_filter(net, img, 40, 0.125, views, mix)
    monkeypatch.setattr(pf, "_STRIP", 16)
    monkeypatch.setattr(pf, "_TILE", 30)  # margins (32) wider than the tiles: each sees its neighbours
    assert len(list(pf._tiles(*shape))) > 8
    for views in range(8):
        tiled = pf.apply_filter(net, img, 40, 0.125, views, mix)
        np.testing.assert_allclose(tiled, whole[views], atol=1e-3)
        # in place (the decoder's way): strips of 16 rows, the context above them from the
        # unfiltered rows kept aside (32 + 1 rows: more than one strip)
        mine = img.copy()
        assert pf.apply_filter(net, mine, 40, 0.125, views, mix, in_place=True) is mine
        np.testing.assert_allclose(mine, whole[views], atol=1e-3)
    plain = pf.apply_filter(net, img, 40, 0.125, 7)
    expect = pf._blend(img, plain - img, mix)
    np.testing.assert_allclose(whole[7], expect, atol=1e-3)
    assert np.abs(whole[7] - img).max() > 0.5  # the filter does something
    weights.clear_cache()


def test_views_average_the_mirrored_corrections(use_weights):
    net, _ = weights.load_file("postfilter", str(use_weights / "postfilter-dwt.pt"))[:2]
    with torch.no_grad():  # make the tiny net's correction visible, and not mirror-symmetric
        net.tail.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(1))
    img = smooth_image(30, 44, 3, seed=2).astype(np.float32)
    plain = pf.apply_filter(net, img, 40)
    lr = pf.apply_filter(net, img[:, ::-1].copy(), 40)[:, ::-1]
    ud = pf.apply_filter(net, img[::-1].copy(), 40)[::-1]
    both = pf.apply_filter(net, img[::-1, ::-1].copy(), 40)[::-1, ::-1]
    assert np.abs(lr - plain).max() > 0.1  # the network is not mirror-symmetric
    np.testing.assert_allclose(pf.apply_filter(net, img, 40, views=1), (plain + lr) / 2, atol=1e-4)
    np.testing.assert_allclose(pf.apply_filter(net, img, 40, views=6), (plain + ud + both) / 3, atol=1e-4)
    np.testing.assert_allclose(pf.apply_filter(net, img, 40, views=7), (plain + lr + ud + both) / 4, atol=1e-4)
    weights.clear_cache()


@pytest.mark.parametrize("views_that_help, expected", [(4, 7), (3, 3), (2, 1), (1, 0)])
def test_encoder_adds_mirrored_views_in_order_while_each_wins(monkeypatch, views_that_help, expected):
    """Each view's correction is the coding error's negative plus that view's own noise;
    views beyond ``views_that_help`` get a worse one, so averaging them in loses."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    original = rng.uniform(40, 200, (24, 32, 3)).astype(np.float32)
    error = rng.normal(0, 6, original.shape).astype(np.float32)
    decoded = original + error
    flips = (lambda a: a,) + pf.VIEWS
    corrections = [-error + rng.normal(0, 3 if k < views_that_help else 30, original.shape).astype(np.float32)
                   for k in range(4)]

    def fake_filter(net, image, quality, shift, out):  # what the network's correction would be
        (k,) = [k for k, f in enumerate(flips) if np.array_equal(image, f(decoded))]
        out[...] = flips[k](corrections[k])
        return out

    monkeypatch.setattr(pf, "_filter_residual", fake_filter)
    stage = pf.CNNPostFilter()
    mse, mix, shift, views, _ = stage._search(None, decoded, original, SimpleNamespace(quality=50))
    assert any(mix) and shift == 0 and views == expected
    assert mse < pf._mse(decoded, original)


@pytest.mark.parametrize("best_shift", [1, 3, 5, 2])
def test_encoder_tries_the_odd_shifts_beside_the_even_winner(monkeypatch, best_shift):
    """The network's correction is best at ``best_shift`` (sixteenths of strength) and
    worse the further from it; mirrored views only add noise."""
    from types import SimpleNamespace

    rng = np.random.default_rng(1)
    original = rng.uniform(40, 200, (24, 32, 3)).astype(np.float32)
    error = rng.normal(0, 6, original.shape).astype(np.float32)
    decoded = original + error
    noise = rng.normal(0, 1, original.shape).astype(np.float32)
    tried = []

    def fake_filter(net, image, quality, shift, out):
        k = round(shift * pf._SHIFT_ONE)
        if not np.array_equal(image, decoded):  # a mirrored view: useless
            out[...] = rng.normal(0, 50, image.shape)
            return out
        tried.append(k)
        out[...] = noise * (1 + 2 * abs(k - best_shift)) - error
        return out

    monkeypatch.setattr(pf, "_filter_residual", fake_filter)
    stage = pf.CNNPostFilter()
    _, mix, shift, views, _ = stage._search(None, decoded, original, SimpleNamespace(quality=50))
    assert any(mix) and shift == best_shift and views == 0
    assert len(tried) == len(set(tried))  # no shift filtered twice


def test_a_rerun_of_the_training_can_stand_in_for_the_shipped_weights(use_weights, monkeypatch, tmp_path):
    # HYBRIDCODEC_WEIGHTS_POSTFILTER_<FAMILY> (benchmarks/suite.py --weights postfilter-lifting=FILE) codes
    # and decodes with another weight file; files name it, so without it they are refused
    import shutil

    img = smooth_image(24, 40, 3)
    rerun = tmp_path / "postfilter-dwt-rerun.pt"
    shutil.copy(use_weights / "postfilter-dwt.pt", rerun)
    net, _ = weights.load_file("postfilter", str(rerun))[:2]
    with torch.no_grad():
        net.tail.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(3))
    torch.save({"channels": 8, "layers": 3, "state_dict": net.state_dict()}, rerun)
    weights.clear_cache()
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_POSTFILTER_DWT", str(rerun))
    assert weights.get("postfilter-dwt").path() == rerun and weights.get("postfilter-dct").path() == use_weights / "postfilter-dct.pt"
    data = hybridcodec.encode(img, pipeline="wavelet+cnn", quality=40)
    assert hybridcodec.decode(data).shape == img.shape
    monkeypatch.delenv("HYBRIDCODEC_WEIGHTS_POSTFILTER_DWT")
    assert weights.get("postfilter-dwt").path() == use_weights / "postfilter-dwt.pt"
    with pytest.raises(hybridcodec.CodecError, match="weights"):
        hybridcodec.decode(data)
    monkeypatch.setenv("HYBRIDCODEC_WEIGHTS_POSTFILTER_DWT", str(tmp_path / "missing.pt"))
    with pytest.raises(hybridcodec.CodecError, match="HYBRIDCODEC_WEIGHTS_POSTFILTER_DWT names .*not a file"):
        hybridcodec.encode(img, pipeline="wavelet+cnn", quality=40)


def test_grid_phase_is_an_input():
    from hybridcodec_learned.nets.postfilter import PHASE, PostFilterNet

    torch.manual_seed(0)
    net = PostFilterNet(8, 3)
    net.tail.weight.data.normal_(0, 0.05)
    x, s = torch.rand(1, 3, 32, 32), torch.tensor([0.5])
    with torch.no_grad():
        base = net(x, s)
        assert torch.equal(net(x, s, (PHASE, 2 * PHASE)), base)  # periodic in the block grid
        assert not torch.allclose(net(x, s, (8, 0)), base)


def _forge():
    """A wavelet+cnn file: the image, its cnn side data, and a decoder of the file with
    that side data replaced by ``make(side data, sha256 of the weights)``."""
    import hashlib

    from hybridcodec.container import Chunk, read_container, write_container

    img = smooth_image(24, 40, 3)
    header, chunks = read_container(hybridcodec.encode(img, pipeline="wavelet+cnn", quality=40))
    side = [c for c in chunks if c.type == b"SIDE"][0]
    sha = hashlib.sha256(weights.get("postfilter-dwt").path().read_bytes()).digest()

    def decode(make):
        payload = make(side.payload, sha)
        return hybridcodec.decode(write_container(header, [Chunk(c.type, c.stage, payload) if c is side else c
                                                           for c in chunks]))
    return img, side.payload, decode


def test_side_data_layout_packs_shift_and_views(use_weights):
    img, payload, decode = _forge()
    assert len(payload) == 14 and payload[10:] == weights.get("postfilter-dwt").load().digest[:4]
    for packed, shift, views in ((0, 0, 0), (2, 2, 0), (0x24, 4, 1), (0x1E, -2, 0), (0xF0, -16, 7), (0x0F, 15, 0)):
        assert pf._parse_side(payload[:9] + bytes([packed]) + payload[10:])[1:3] == (shift, views)


@pytest.mark.parametrize("gains", [bytes(9), bytes([255, 1, 64, 127, 128, 0, 0, 9, 64]), bytes([64] * 9),
                                   bytes([3, 200, 0, 250, 7, 7, 7, 7, 7])])
def test_any_gain_shift_and_views_bytes_decode(use_weights, gains):
    img, _, decode = _forge()
    for packed in (0, 7, 16, 31, 32, 100, 255):  # every shift and views value is valid in the packed byte
        out = decode(lambda p, sha: gains + bytes([packed]) + p[10:])
        assert out.shape == img.shape and out.dtype == np.uint8
    for shift in (0, 128, 255):  # the 19-byte layout of 2026-11-27: shift, views, 8 sha256 bytes
        for views in range(8):
            assert decode(lambda p, sha: gains + bytes([shift, views]) + sha[:8]).shape == img.shape
    for wrong in (lambda p, sha: p[:13], lambda p, sha: p + bytes(1), lambda p, sha: p + bytes(3),
                  lambda p, sha: p[:10] + sha[:7], lambda p, sha: p + bytes(27),  # 13, 15, 17, 17, 41 bytes
                  lambda p, sha: p[:10] + bytes([8]) + sha[:8]):  # 19 bytes, views outside the mask
        with pytest.raises(hybridcodec.CodecError, match="cnn side data"):
            decode(wrong)


def test_every_older_side_data_layout_decodes_the_same(use_weights):
    """Files of before: 42 bytes (all 32 sha256 bytes, no views), 18 (8 sha256 bytes, no
    views: the plain view) and 19 (shift, views, 8 sha256 bytes) decode as the same side
    data in today's 14-byte layout; a wrong digest byte is refused in each."""
    net = weights.get("postfilter-dwt").load().obj
    with torch.no_grad():  # the tiny net starts as the identity: give it a correction the encoder keeps
        net.tail.weight.normal_(0, 0.05, generator=torch.Generator().manual_seed(1))
    img, payload, decode = _forge()
    assert any(payload[:9])  # the filter is on
    mix = payload[:9]
    for shift, views in ((0, 0), (2, 0), (4, 1), (-2, 3)):
        now = decode(lambda p, sha: mix + bytes([(views << 5) | (shift & 31)]) + sha[:4])
        assert np.array_equal(now, decode(lambda p, sha: mix + bytes([shift & 255, views]) + sha[:8]))
        if views == 0:
            assert np.array_equal(now, decode(lambda p, sha: mix + bytes([shift & 255]) + sha[:8]))
            assert np.array_equal(now, decode(lambda p, sha: mix + bytes([shift & 255]) + sha))
    assert not np.array_equal(decode(lambda p, sha: mix + bytes([0]) + sha[:4]),
                              decode(lambda p, sha: mix + bytes([0x20]) + sha[:4]))  # the views do something
    for layout in (lambda p, sha: mix + bytes([0]) + sha[:3] + bytes([sha[3] ^ 1]),
                   lambda p, sha: mix + bytes([0, 0]) + sha[:7] + bytes([sha[7] ^ 1]),
                   lambda p, sha: mix + bytes([0]) + sha[:31] + bytes([sha[31] ^ 1])):
        with pytest.raises(hybridcodec.CodecError, match="cnn weights sha256"):
            decode(layout)
    weights.clear_cache()


def test_files_made_with_retired_weights_still_decode():
    """Replaced shipped weights stay for decoding: a file that names the retired
    postfilter-lifting weights decodes with them, not with today's."""
    import hashlib

    from hybridcodec.container import Chunk, read_container, write_container

    retired = [weights.SHIPPED / r for r in weights.get("postfilter-lifting").retired]
    if not all(r.exists() for r in retired) or not weights.get("postfilter-lifting").path().exists():
        pytest.skip("shipped weights not installed")
    img = smooth_image(32, 48, 3, seed=2)
    header, chunks = read_container(hybridcodec.encode(img, pipeline="lifting+cnn", quality=40))
    side = [c for c in chunks if c.type == b"SIDE" and len(c.payload) == 14][0]
    old_sha = hashlib.sha256(retired[0].read_bytes()).digest()
    forged = [Chunk(c.type, c.stage, c.payload[:10] + old_sha[:4]) if c is side else c for c in chunks]
    got = hybridcodec.decode(write_container(header, forged))
    net, _ = weights.load_file("postfilter", str(retired[0]))[:2]
    mix, shift, views, _ = pf._parse_side(side.payload)
    assert any(mix)  # the filter is on
    plain = hybridcodec.decode(write_container(header, [Chunk(c.type, c.stage, bytes(9) + c.payload[9:])
                                                        if c is side else c for c in chunks]))
    expected = pf._blend(plain.astype(np.float32), pf.apply_filter(net, plain.astype(np.float32), 40,
                                                                   shift / 16, views) - plain, mix)
    assert np.abs(got.astype(np.float32) - np.clip(np.rint(expected), 0, 255)).max() <= 1


@pytest.mark.parametrize("bad", [["--layers", "1"], ["--lr", "0"], ["--lr", "nan"], ["--threads", "0"],
                                 ["--steps", "0"], ["--channels", "-3"], ["--hours", "-1"]])
def test_train_rejects_bad_settings_and_writes_nothing(tiny_weights, tmp_path, capsys, bad):
    from hybridcodec.cli import main

    out = tmp_path / "w.pt"
    rc = main(["train", "postfilter", "--data", str(tiny_weights / "train"), "--preset", "baseline",
               "--out", str(out), "--quiet", *bad])
    assert rc == 1 and "hybridcodec: error: --" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_train_keeps_existing_weights_when_interrupted(tiny_weights, tmp_path, monkeypatch):
    import shutil

    from hybridcodec_learned.training import loop as tr

    out = tmp_path / "w.pt"
    shutil.copy(tiny_weights / "postfilter-dct.pt", out)
    before = out.read_bytes()

    def fail(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tr.torch, "save", lambda obj, f, *a, **k: (Path(f).write_bytes(b"half"), fail()))
    with pytest.raises(KeyboardInterrupt):
        train_postfilter(str(tiny_weights / "train"), "baseline", steps=1, out=str(out), batch=2, crop=32,
                         channels=8, layers=3, progress=False, say=lambda *a: None, force=True)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pt"]


def test_weights_file_is_what_a_direct_torch_save_writes(tiny_weights, tmp_path):
    state = torch.load(tiny_weights / "postfilter-dct.pt", weights_only=True)
    torch.save(state, tmp_path / "postfilter-dct.pt")  # archive root named after the file
    assert (tmp_path / "postfilter-dct.pt").read_bytes() == (tiny_weights / "postfilter-dct.pt").read_bytes()


def test_encoder_falls_back_to_retired_weights_where_the_familys_leave_the_filter_off(use_weights, monkeypatch):
    """The tiny dwt net is the identity (the filter stays off); a retired dwt weight file
    that corrects is used instead, named in the side data, and the decoder finds it."""
    import hashlib

    from hybridcodec.container import read_container

    state = torch.load(use_weights / "postfilter-dwt.pt", map_location="cpu", weights_only=True)
    tail = [k for k in state["state_dict"] if k.startswith("tail.") and k.endswith("weight")][0]
    state["state_dict"][tail] = torch.randn(state["state_dict"][tail].shape,
                                            generator=torch.Generator().manual_seed(1)) * 0.05
    retired = use_weights / "postfilter-dwt-old.pt"
    torch.save(state, retired)
    img = smooth_image(24, 40, 3)
    off = hybridcodec.encode(img, pipeline="wavelet+cnn", quality=40)
    assert not any([c for c in read_container(off)[1] if c.type == b"SIDE"][0].payload[:9])
    monkeypatch.setitem(weights._REGISTRY, "postfilter-dwt", dataclasses.replace(
        weights.get("postfilter-dwt"), retired=("postfilter-dwt-old.pt", "postfilter-dct-x.pt")))
    data = hybridcodec.encode(img, pipeline="wavelet+cnn", quality=40)
    side = [c for c in read_container(data)[1] if c.type == b"SIDE"][0].payload
    assert any(side[:9]) and side[10:] == hashlib.sha256(retired.read_bytes()).digest()[:4]
    assert hybridcodec.psnr(img, hybridcodec.decode(data)) > hybridcodec.psnr(img, hybridcodec.decode(off))


@pytest.mark.parametrize("spec, quality", [("wavelet+cnn", 30), ("lifting+cnn", 50), ("hybrid", 40)])
def test_the_search_row_by_row_and_in_float16_chooses_as_on_the_whole_image(monkeypatch, spec, quality):
    """The encoder's search gathers its fit and MSEs a few rows at a time (the same
    bytes at any row count) and keeps corrections in float16 on large images (forced
    here): the same choice of the filter's setting, within rounding of the image."""
    from hybridcodec.container import read_container

    def cnn_side(data):
        header, chunks = read_container(data)
        index = hybridcodec.Pipeline(header.spec).stages.index(
            next(s for s in hybridcodec.Pipeline(header.spec).stages if s.name == "cnn"))
        return [c.payload for c in chunks if c.type == b"SIDE" and c.stage == index]

    img = smooth_image(96, 128, 3, seed=7)
    how = {"preset": spec} if spec in hybridcodec.PRESETS else {"pipeline": spec}
    whole = hybridcodec.encode(img, quality=quality, **how)
    monkeypatch.setattr(pf, "_ROW_PIXELS", 50)
    assert hybridcodec.encode(img, quality=quality, **how) == whole
    monkeypatch.setattr(pf, "_LARGE", 1)
    half = hybridcodec.encode(img, quality=quality, **how)
    assert cnn_side(half) == cnn_side(whole) and any(cnn_side(whole)[0][:9])

    def psnr(data):
        return 10 * np.log10(255 ** 2 / np.mean((hybridcodec.decode(data).astype(float) - img) ** 2))

    assert abs(psnr(half) - psnr(whole)) < 0.02
