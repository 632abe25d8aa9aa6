"""The huffman entropy stage on its own, over adversarial coefficient planes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hybridcodec import Context, PlaneInfo, get_stage

Huffman = get_stage("huffman")


def _layout(shapes, roles):
    return tuple(PlaneInfo(s, role=r, form="blocks", integer=True) for s, r in zip(shapes, roles))


def _round_trip(planes, roles):
    layout = _layout([p.shape for p in planes], roles)
    stage = Huffman()
    ctx = Context(1, 1, len(planes), 50)
    payload = stage.encode(planes, layout, ctx)
    back = stage.decode(payload, layout, ctx)
    for a, b in zip(planes, back):
        assert np.array_equal(a, b)
    return payload


values = st.one_of(st.just(0), st.integers(-3, 3), st.integers(-32767, 32767),
                   st.sampled_from([-32767, 32767, 1, -1]))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([4, 8, 16]), st.integers(1, 3), st.integers(1, 3), st.data())
def test_random_planes_round_trip(b, by, bx, data):
    planes = [data.draw(hnp.arrays(np.int32, (by, bx, b, b), elements=values)) for _ in range(3)]
    _round_trip(planes, ["luma", "chroma", "chroma"])


def test_adversarial_streams():
    b = 8
    shape = (3, 5, b, b)
    cases = {
        "zeros": np.zeros(shape, np.int32),
        "all max": np.full(shape, 32767, np.int32),
        "all min": np.full(shape, -32767, np.int32),
        "alternating": np.where(np.indices(shape).sum(0) % 2 == 0, 32767, -32767).astype(np.int32),
        "last only": np.pad(np.ones((3, 5, 1, 1), np.int32), ((0, 0), (0, 0), (b - 1, 0), (b - 1, 0))),
    }
    for name, plane in cases.items():
        payload = _round_trip([plane], ["luma"])
        if name == "zeros":
            assert len(payload) < 12  # two one-symbol tables + 2 bits per block


def _reference_payload(planes, roles):
    """The stage's payload rebuilt from the plain symbol reference (rle_encode) and a
    bit-by-bit packer: one code table pair per role, planes in turn, 1-bit padding."""
    from hybridcodec.entropy import huffman_code as hc
    from hybridcodec.entropy.rle import rle_encode, zigzag_order

    b = planes[0].shape[-1]
    used = [r for r in ("luma", "chroma") if r in roles]
    streams = []
    freqs = np.zeros((2 * len(used), 256), np.int64)
    for p, role in zip(planes, roles):
        sym, val, nb, ac = rle_encode(p.reshape(-1, b * b)[:, zigzag_order(b)])
        tab = 2 * used.index(role) + ac.astype(int)
        np.add.at(freqs, (tab, sym), 1)
        streams.append((sym, val, nb, tab))
    lengths = [hc.code_lengths(f) for f in freqs]
    codes = [hc.canonical_codes(n) for n in lengths]
    bits = []
    for sym, val, nb, tab in streams:
        for s, v, n, t in zip(sym, val, nb, tab):
            bits += [int(c) for c in format(int(codes[t][s]), f"0{int(lengths[t][s])}b")]
            bits += [int(c) for c in format(int(v), f"0{int(n)}b")] if n else []
    bits += [1] * (-len(bits) % 8)
    packed = np.packbits(np.array(bits, np.uint8)).tobytes()
    return b"".join(hc.write_table(n) for n in lengths) + packed


def test_parallel_runs_give_the_reference_stream(monkeypatch):
    # 4 threads: every plane is cut into runs of blocks that are counted and packed apart
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "4")
    rng = np.random.default_rng(7)
    shapes = [(90, 100, 8, 8), (45, 50, 8, 8), (45, 50, 8, 8)]
    planes = []
    for s in shapes:
        p = np.where(rng.random(s) < 0.15, rng.integers(-60, 60, s), 0).astype(np.int32)
        p[..., 0, 0] = rng.integers(-1000, 1000, s[:2])
        p[::7, ::5, 7, 7] = 32767  # long zero runs (ZRL) and full blocks
        planes.append(p)
    roles = ["luma", "chroma", "chroma"]
    payload = _round_trip(planes, roles)
    assert payload == _reference_payload(planes, roles)
