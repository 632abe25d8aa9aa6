import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hybridcodec.entropy.rle import EOB, ZRL, rle_decode, rle_encode, zigzag_order

# ITU-T T.81 Figure A.6, natural index of each zigzag position.
JPEG_ZIGZAG_8 = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27,
    20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58,
    59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]


def test_zigzag_matches_jpeg():
    assert zigzag_order(8).tolist() == JPEG_ZIGZAG_8


@pytest.mark.parametrize("b", [4, 8, 16])
def test_zigzag_is_permutation_walking_diagonals(b):
    z = zigzag_order(b)
    assert sorted(z.tolist()) == list(range(b * b))
    r, c = np.divmod(z, b)
    assert np.all(np.diff(r + c) >= 0)


blocks = st.integers(4, 16).flatmap(
    lambda n: hnp.arrays(np.int32, st.tuples(st.integers(1, 6), st.just(n * n if n in (4, 8, 16) else 64)),
                         elements=st.one_of(st.just(0), st.just(0), st.integers(-32767, 32767)))
)


@settings(max_examples=300, deadline=None)
@given(blocks)
def test_rle_round_trip(zz):
    sym, val, nb, is_ac = rle_encode(zz)
    assert np.array_equal(rle_decode(sym, val, *zz.shape), zz)
    assert np.all(val < (1 << nb.astype(np.int64))) and np.all(nb[is_ac] <= 15) and np.all(nb <= 16)


def test_long_runs_use_zrl_and_eob():
    zz = np.zeros((1, 64), np.int32)
    zz[0, 0], zz[0, 40] = 7, -1
    sym, val, nb, is_ac = rle_encode(zz)
    assert sym.tolist() == [3, ZRL, ZRL, (7 << 4) | 1, EOB]
    assert val.tolist() == [7, 0, 0, 0, 0]
    assert is_ac.tolist() == [False, True, True, True, True]


def test_full_block_has_no_eob():
    zz = np.arange(1, 17, dtype=np.int32)[None]
    sym, *_ = rle_encode(zz)
    assert EOB not in sym[1:].tolist() and len(sym) == 16


def test_dc_is_predicted():
    zz = np.zeros((3, 16), np.int32)
    zz[:, 0] = [10, 12, 5]
    sym, val, nb, _ = rle_encode(zz)
    dc = sym[[0, 2, 4]]
    assert dc.tolist() == [4, 2, 3]  # sizes of 10, +2, -7


def test_extreme_dc_swing_needs_16_bits_and_round_trips():
    zz = np.zeros((2, 16), np.int32)
    zz[:, 0] = [-32767, 32767]
    sym, val, nb, _ = rle_encode(zz)
    assert sym[2] == 16 and nb[2] == 16
    assert np.array_equal(rle_decode(sym, val, 2, 16), zz)


def test_rle_decode_rejects_overlong_run():
    with pytest.raises(ValueError):
        rle_decode([0, (15 << 4) | 1], [0, 1], 1, 16)
