"""The ``alf`` post-filter: per-image Wiener filters fitted by the encoder, carried in the file."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridcodec
from hybridcodec import CodecError, Pipeline
from hybridcodec.container import Chunk, read_container, write_container
from hybridcodec.stages import alf as A
from hybridcodec.stages import _alf as K
from hybridcodec._threads import run, spans


def _photo(h=192, w=256, c=3, seed=1):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 70 * np.sin(x / 4.0 + y / 9.0) * np.cos(y / 5.0) + 30 * (x > w // 2)
    img = base[:, :, None] + rng.normal(0, 4, (h, w, c))
    return np.clip(img, 0, 255).astype(np.uint8)


def _alf_side(data):
    """(header, chunks, index of the alf chunk in chunks)."""
    header, chunks = read_container(data)
    stage = [s.name for s in Pipeline(header.spec).stages].index("alf")
    return header, chunks, next(i for i, c in enumerate(chunks) if c.type == b"SIDE" and c.stage == stage)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_filter_lowers_the_error_of_the_file_it_was_fitted_for(channels):
    img = _photo(c=channels)
    for q in (20, 50):
        plain = hybridcodec.encode(img, preset="wavelet", quality=q)
        filtered = hybridcodec.encode(img, pipeline="wavelet+alf", quality=q)
        mse = [np.mean((hybridcodec.decode(d).astype(float) - img) ** 2) for d in (plain, filtered)]
        assert mse[1] < 0.97 * mse[0], (q, mse)
        # the filters cost bytes, but fewer than the error they save is worth
        assert len(filtered) - len(plain) < 0.05 * len(plain) + 64


def test_rgba_keeps_its_alpha_exact_and_reduce_skips_the_filter():
    img = np.dstack([_photo(), np.arange(192 * 256, dtype=np.uint32).reshape(192, 256) % 251]).astype(np.uint8)
    data = hybridcodec.encode(img, pipeline="wavelet+alf", quality=60)
    assert _alf_side(data)  # filters were written
    out = hybridcodec.decode(data)
    assert out.shape == img.shape and np.array_equal(out[:, :, 3], img[:, :, 3])
    small = hybridcodec.decode(data, reduce=2)
    assert small.shape == (96, 128, 4)


def test_a_flat_image_gets_no_filter_and_no_side_data():
    img = np.full((40, 40, 3), 77, np.uint8)
    data = hybridcodec.encode(img, pipeline="wavelet+alf", quality=50)
    header, chunks = read_container(data)
    assert not [c for c in chunks if c.type == b"SIDE"]
    plain = hybridcodec.decode(hybridcodec.encode(img, preset="wavelet", quality=50))
    assert np.array_equal(hybridcodec.decode(data), plain)


def _reference(x, cls, classmap, coef):
    """The filter in plain numpy (edges repeated)."""
    h, w, nc = x.shape
    p = np.pad(x, ((3, 3), (3, 3), (0, 0)), mode="edge")
    out = x.copy()
    for c in range(nc):
        feats = [p[3 + dy:3 + dy + h, 3 + dx:3 + dx + w, c] + p[3 - dy:3 - dy + h, 3 - dx:3 - dx + w, c]
                 - 2 * x[..., c] for dy, dx in K.TAPS]
        for o in range(nc):
            if nc == 3 and o != c:
                q = p[2:-2, 2:-2, o]
                mean = sum(q[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
                feats.append(x[..., o] - mean)
        f = np.stack(feats, -1)
        m = classmap[c][cls]
        k = np.where((m >= 0)[..., None], coef[c][np.maximum(m, 0)], 0)
        out[..., c] += (f * k).sum(-1)
    return out


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 7, 1), (13, 9, 3), (40, 33, 3)])
def test_the_kernel_is_the_filter_written_in_numpy(shape):
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, shape).astype(np.float32)
    cls = np.empty(shape[:2], np.uint8)
    run(K.classify_rows, [(x, K.ACTIVITY, cls, a, b) for a, b in spans(shape[0], 4)])
    assert cls.max() < K.CLASSES
    nc = shape[2]
    coef = rng.normal(0, 0.05, (nc, K.CLASSES, K.n_features(nc))).astype(np.float32)
    classmap = np.where(rng.random((nc, K.CLASSES)) < 0.2, -1, rng.integers(0, K.CLASSES, (nc, K.CLASSES)))
    out = np.empty_like(x)
    run(K.filter_rows, [(x, cls, classmap, coef, K.TAPS, out, a, b) for a, b in spans(shape[0], 4)])
    assert np.allclose(out, _reference(x.astype(np.float64), cls, classmap, coef), atol=2e-3)


def test_classes_follow_activity_and_direction():
    flat = np.full((20, 20, 1), 100, np.float32)
    stripes = np.zeros((20, 20, 1), np.float32)
    stripes[::2] = 200  # rows alternate: strong vertical second differences
    cls = {}
    for name, x in (("flat", flat), ("stripes", stripes), ("columns", stripes.transpose(1, 0, 2).copy())):
        c = np.empty(x.shape[:2], np.uint8)
        K.classify_rows(x, K.ACTIVITY, c, 0, 20)
        cls[name] = c[10, 10]
    assert cls["flat"] == 0
    assert cls["stripes"] == 3 * 7 + 1 and cls["columns"] == 3 * 7 + 2


@settings(max_examples=60)
@given(st.data())
def test_side_data_round_trips(data):
    nc = data.draw(st.sampled_from([1, 3]))
    nf = K.n_features(nc)
    wr = A._BitWriter()
    made = []
    for _ in range(nc):
        if data.draw(st.booleans()):
            made.append(A._Filters())
        else:
            acts = data.draw(st.sampled_from(A._ACTIVITIES))
            dirs = data.draw(st.booleans())
            n = acts * (3 if dirs else 1)
            on = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
            on[0] = True
            coef = np.array(data.draw(st.lists(st.integers(-5000, 5000), min_size=n * nf, max_size=n * nf)),
                            np.int64).reshape(n, nf)
            made.append(A._Filters(acts, dirs, data.draw(st.sampled_from(A._FRACTIONS)),
                                   data.draw(st.integers(0, 3)), on, coef))
        made[-1].write(wr)
    rd = A._BitReader(wr.getvalue())
    for f in made:
        g = A._Filters.read(rd, nf)
        assert g.active == f.active
        if f.active:
            assert (g.activities, g.directions, g.frac, g.order, g.on) == (f.activities, f.directions, f.frac,
                                                                           f.order, [int(v) for v in f.on])
            assert np.array_equal(g.coef[np.array(f.on)], f.coef[np.array(f.on)])
    rd.finish()


def _with_side(data, payload):
    header, chunks, i = _alf_side(data)
    chunks[i] = Chunk(b"SIDE", chunks[i].stage, payload)
    return write_container(header, chunks)


@pytest.mark.parametrize("payload", [b"", b"\x01", b"\x02", b"\x01\x80", b"\x01\x00\x00\x00\x00", b"\x01\xff" * 9,
                                     b"\x01" + b"\x81" + b"\x00" * 40, b"\x01" * 9000])
def test_corrupt_side_data_is_a_codec_error(payload):
    data = hybridcodec.encode(_photo(), pipeline="wavelet+alf", quality=40)
    bad = _with_side(data, payload)
    with pytest.raises(CodecError, match="alf"):
        hybridcodec.decode(bad)


def test_decoding_is_the_same_on_one_thread_and_on_several(monkeypatch):
    img = _photo(160, 96)
    outs = []
    for n in ("1", "3"):
        monkeypatch.setenv("HYBRIDCODEC_THREADS", n)
        data = hybridcodec.encode(img, pipeline="wavelet+alf", quality=35)
        outs.append((data, hybridcodec.decode(data)))
    assert outs[0][0] == outs[1][0]
    assert np.array_equal(outs[0][1], outs[1][1])


def test_post_filters_chain_but_a_name_appears_once():
    assert [s.name for s in Pipeline("wavelet+alf").postfilters] == ["alf"]
    with pytest.raises(CodecError, match="at most one postfilter stage of each name"):
        Pipeline("wavelet+alf+alf")


def test_hybrid_fits_the_loop_filter_to_what_the_post_filter_leaves(monkeypatch):
    pytest.importorskip("torch")
    img = _photo()
    chained = hybridcodec.encode(img, preset="hybrid", quality=40)
    alone = hybridcodec.encode(img, pipeline="lifting+cnn", quality=40)
    assert Pipeline(hybridcodec.info(chained)["pipeline"]).postfilters[-1].name == "alf"
    err = [np.mean((hybridcodec.decode(d).astype(float) - img) ** 2) for d in (alone, chained)]
    assert err[1] < err[0]
    assert hybridcodec.decode(chained, reduce=2).shape == (96, 128, 3)  # reduce skips both filters
    # the same file and (within float rounding) the same pixels on one thread and on several
    outs = []
    for n in ("1", "2"):
        monkeypatch.setenv("HYBRIDCODEC_THREADS", n)
        outs.append(hybridcodec.decode(chained).astype(int))
    assert np.abs(outs[0] - outs[1]).max() <= 1 and (outs[0] != outs[1]).mean() < 0.001


@pytest.mark.parametrize("channels", [1, 3])
def test_the_decoder_filters_in_place_band_by_band_as_in_one_pass(monkeypatch, channels):
    """Bands of 64 rows (each from a copy of its rows and the 3 it reaches each side,
    the rows above kept aside before they were overwritten) give the one-pass image."""
    img = _photo(h=300, w=96, c=channels)
    data = hybridcodec.encode(img, pipeline="wavelet+alf", quality=30)
    assert _alf_side(data)
    one_pass = hybridcodec.decode(data)
    monkeypatch.setattr(A, "_BAND_PIXELS", 1)  # 64 rows a band: 5 bands
    np.testing.assert_array_equal(hybridcodec.decode(data), one_pass)
