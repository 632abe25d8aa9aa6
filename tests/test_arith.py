"""The context-adaptive range coder: round trips on adversarial streams, and corruption."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hybridcodec
from hybridcodec import CodecError
from hybridcodec.container import Chunk, read_container, write_container
from hybridcodec.entropy import coefficients as cm
from conftest import smooth_image


def _table(shapes, pred_first=True, parent=True):
    """Bands of the given shapes back to back; each refers to the previous as parent."""
    rows, off = [], 0
    for i, (h, w) in enumerate(shapes):
        row = [off, h, w, i % cm.N_CLASSES, int(pred_first and i == 0)] + [-1, 0, 0] * 4
        if parent and i > 1:
            row[5:8] = [i - 1, -1 if shapes[i - 1][0] < h else 0, -1 if shapes[i - 1][1] < w else 0]
        if i > 2:
            row[11:14] = [i - 2, 0, 0]
        rows.append(row)
        off += h * w
    return np.array(rows, np.int64), off


def _round_trip(coef, table):
    data = cm.encode_bands(coef, table)
    back, status = cm.decode_bands(data, table, len(coef))
    assert status == cm.OK
    assert np.array_equal(back, coef)
    return data


BIG = cm.LIMIT // 2 - 1


@pytest.mark.parametrize("name, values", [
    ("all zeros", lambda n: np.zeros(n)),
    ("all max", lambda n: np.full(n, BIG)),
    ("all min", lambda n: np.full(n, -BIG)),
    ("alternating extremes", lambda n: np.where(np.arange(n) % 2, BIG, -BIG)),
    ("alternating ones", lambda n: np.where(np.arange(n) % 2, 1, -1)),
    ("ramp", lambda n: np.arange(n) - n // 2),
    ("sparse spikes", lambda n: np.where(np.arange(n) % 97 == 0, 4000, 0)),
])
def test_adversarial_streams(name, values):
    table, n = _table([(8, 8), (8, 8), (16, 16), (32, 32)])
    coef = values(n).astype(np.int32)
    data = _round_trip(coef, table)
    if name == "all zeros":
        assert len(data) < 40


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_band_layouts(data):
    shapes = data.draw(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=6))
    table, n = _table(shapes, pred_first=data.draw(st.booleans()))
    elements = st.one_of(st.just(0), st.integers(-3, 3), st.integers(-BIG, BIG))
    coef = data.draw(hnp.arrays(np.int32, n, elements=elements))
    _round_trip(coef, table)


def test_out_of_range_values_refused():
    table, n = _table([(2, 2)])
    with pytest.raises(ValueError, match="out of range"):
        cm.encode_bands(np.full(n, cm.LIMIT, np.int32), table)


def test_prefix_decode_matches_full():
    table, n = _table([(4, 4), (4, 4), (8, 8), (16, 16)])
    coef = np.random.default_rng(0).integers(-20, 20, n).astype(np.int32)
    data = cm.encode_bands(coef, table)
    part, status = cm.decode_bands(data, table, n, n_bands=2)
    assert status == cm.OK and np.array_equal(part[:32], coef[:32]) and not part[32:].any()


def test_truncated_and_garbage_streams_fail_cleanly():
    table, n = _table([(16, 16), (16, 16), (32, 32)])
    coef = np.random.default_rng(1).laplace(0, 3, n).round().astype(np.int32)
    data = cm.encode_bands(coef, table)
    statuses = set()
    for cut in range(0, len(data), 7):
        back, status = cm.decode_bands(data[:cut], table, n)
        statuses.add(status)
    assert cm.ERR_TRUNCATED in statuses
    rng = np.random.default_rng(2)
    for _ in range(50):
        back, status = cm.decode_bands(rng.bytes(rng.integers(0, 64)), table, n)
        assert status in (cm.OK, cm.ERR_TRUNCATED, cm.ERR_RANGE)


@pytest.mark.parametrize("preset", ["wavelet", "dct-arith", "lossless"])
def test_every_truncation_of_arith_files(preset):
    blob = hybridcodec.encode(smooth_image(12, 10, 3, seed=3), preset=preset, quality=60)
    for n in range(len(blob)):
        with pytest.raises(CodecError):
            hybridcodec.decode(blob[:n])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["wavelet", "dct-arith", "lossless"]), st.data())
def test_tampered_arith_payload_with_valid_crc(preset, data):
    blob = hybridcodec.encode(smooth_image(16, 12, 3, seed=4), preset=preset, quality=70)
    header, chunks = read_container(blob)
    p = bytearray(chunks[0].payload)
    for _ in range(data.draw(st.integers(1, 4))):
        p[data.draw(st.integers(0, len(p) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        p = p[: data.draw(st.integers(0, len(p)))]
    bad = write_container(header, [Chunk(chunks[0].type, chunks[0].stage, bytes(p))])
    try:
        out = hybridcodec.decode(bad)
        assert out.shape == (16, 12, 3)
    except CodecError:
        pass


def test_declared_size_checked_before_allocating():
    blob = hybridcodec.encode(np.zeros((8, 8, 3), np.uint8), preset="wavelet")
    header, chunks = read_container(blob)
    header.width = header.height = 1 << 14
    with pytest.raises(CodecError, match="cannot hold"):
        hybridcodec.decode(write_container(header, chunks))


def _luma_chroma_table():
    """A luma plane's bands (classes < 48) and a chroma plane's (classes >= 48), each
    chroma band referring to the luma band of the same position, as ``arith`` plans them."""
    shapes = [(4, 4), (4, 4), (8, 8), (16, 16), (16, 16)]
    luma, n = _table(shapes)
    chroma = luma.copy()
    chroma[:, 0] += n
    chroma[:, 3] += cm.N_CLASSES // 2
    chroma[:, 5:17:3] = np.where(chroma[:, 5:17:3] >= 0, chroma[:, 5:17:3] + len(shapes), -1)
    chroma[:, 14:17] = np.stack([np.arange(len(shapes)), np.zeros(len(shapes)), np.zeros(len(shapes))], 1)
    table = np.empty((2 * len(shapes), cm.ROW), np.int64)  # coding order interleaves the planes
    table[0::2], table[1::2] = luma, chroma
    for col in (5, 8, 11, 14):  # references are rows of the interleaved table
        for r in range(len(table)):
            ref = table[r, col]
            if ref >= 0:
                table[r, col] = 2 * ref if ref < len(shapes) else 2 * (ref - len(shapes)) + 1
    return table, 2 * n


@pytest.mark.parametrize("threads", ["1", "2", "4"])
def test_luma_and_chroma_streams_decode_in_parallel(threads, monkeypatch):
    monkeypatch.setenv("HYBRIDCODEC_THREADS", threads)
    table, n = _luma_chroma_table()
    groups = cm.streams(table)
    assert [g.tolist() for g in groups] == [list(range(0, 10, 2)), list(range(1, 10, 2))]
    rng = np.random.default_rng(4)
    coef = (rng.laplace(0, 2, n) * (rng.random(n) < 0.4)).round().astype(np.int32)
    streams = cm.encode_streams(coef, table)
    assert len(streams) == 2
    back, status = cm.decode_streams(streams, table, n)
    assert status == cm.OK and np.array_equal(back, coef)
    # the same contexts as one stream: the split costs only the second stream's flush
    assert abs(sum(map(len, streams)) - len(cm.encode_bands(coef, table))) <= 8
    part, status = cm.decode_streams(streams, table, n, n_bands=5)  # a prefix: coarse bands only
    assert status == cm.OK
    for r in range(5):
        off, h, w = table[r, :3]
        assert np.array_equal(part[off : off + h * w], coef[off : off + h * w])
    cut, status = cm.decode_streams([streams[0][: len(streams[0]) // 2], streams[1]], table, n)
    assert status in (cm.OK, cm.ERR_TRUNCATED, cm.ERR_RANGE)


def test_luma_referring_to_chroma_keeps_one_stream():
    table, n = _luma_chroma_table()
    table[2, 5:8] = [1, 0, 0]  # a luma band with a chroma parent: cannot be split
    assert len(cm.streams(table)) == 1
    coef = np.arange(n, dtype=np.int32) % 5 - 2
    assert len(cm.encode_streams(coef, table)) == 1


def test_a_stream_that_outgrows_its_buffer_is_coded_again_to_the_same_bytes(monkeypatch):
    from hybridcodec.entropy import coefficients as cmod

    rng = np.random.default_rng(5)
    coef = rng.integers(-300, 300, 40 * 30).astype(np.int32)
    rows = np.full((1, cmod.ROW), -1, np.int64)
    rows[0, :5] = (0, 40, 30, 1, 0)
    expected = cmod.encode_bands(coef, rows)
    monkeypatch.setattr(cmod, "_size_guess", lambda *a: 16)
    assert cmod.encode_bands(coef, rows) == expected
    back, status = cmod.decode_bands(expected, rows, coef.size)
    assert status == cmod.OK and np.array_equal(back, coef)


def test_two_stream_decodes_inside_pool_jobs_do_not_wait_on_the_pool():
    # a decode run as a job of the shared pool must not hand its chroma stream to that
    # pool (its only worker may be the one waiting): run in a child, with a timeout
    import subprocess
    import sys

    code = ("import os; os.environ['HYBRIDCODEC_THREADS'] = '2'\n"
            "import numpy as np, hybridcodec\n"
            "from hybridcodec._threads import run\n"
            "img = (np.arange(48 * 40 * 3) * 7 % 251).astype(np.uint8).reshape(48, 40, 3)\n"
            "data = hybridcodec.encode(img, preset='wavelet')\n"
            "want = hybridcodec.decode(data)\n"
            "outs = run(hybridcodec.decode, [(data,)] * 4)\n"
            "print(all(np.array_equal(o, want) for o in outs))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"
