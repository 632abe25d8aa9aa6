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
