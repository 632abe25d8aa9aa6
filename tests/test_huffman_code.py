import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcodec import CodecError
from hybridcodec.entropy import huffman_code as hc

freq_lists = st.lists(st.integers(0, 10**6), min_size=1, max_size=256)


def _codewords(lengths):
    codes = hc.canonical_codes(lengths)
    return {s: format(int(codes[s]), f"0{int(lengths[s])}b") for s in np.flatnonzero(lengths)}


def _unlimited_huffman_cost(freqs):
    import heapq

    f = [x for x in freqs if x > 0]
    if len(f) <= 1:
        return sum(f)
    heapq.heapify(f)
    cost = 0
    while len(f) > 1:
        a, b = heapq.heappop(f), heapq.heappop(f)
        cost += a + b
        heapq.heappush(f, a + b)
    return cost


@settings(max_examples=200, deadline=None)
@given(freq_lists)
def test_lengths_kraft_limit_and_prefix_free(freqs):
    lengths = hc.code_lengths(freqs)
    used = np.flatnonzero(freqs)
    assert set(np.flatnonzero(lengths)) == set(used)
    assert lengths.max(initial=0) <= 16
    kraft = sum(2.0 ** -int(lengths[s]) for s in used)
    if len(used) >= 2:
        assert kraft == 1.0  # complete code: no wasted bit patterns
    elif len(used) == 1:
        assert lengths[used[0]] == 1
    words = sorted(_codewords(lengths).values())
    for a, b in zip(words, words[1:]):  # sorted strings: a prefix would sit right before
        assert not b.startswith(a)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 1000), min_size=2, max_size=40))
def test_lengths_optimal_when_limit_does_not_bind(freqs):
    lengths = hc.code_lengths(freqs)
    assert int(np.dot(lengths.astype(np.int64), freqs)) == _unlimited_huffman_cost(freqs)


def test_length_limit_binds_for_exponential_frequencies():
    freqs = [2**i for i in range(30)] + [1]
    lengths = hc.code_lengths(freqs)
    assert lengths.max() == 16
    assert sum(2.0 ** -int(x) for x in lengths) == 1.0


@settings(max_examples=100, deadline=None)
@given(freq_lists)
def test_canonical_order(freqs):
    lengths = hc.code_lengths(freqs)
    codes = hc.canonical_codes(lengths)
    used = [int(s) for s in np.flatnonzero(lengths)]
    order = sorted(used, key=lambda s: (lengths[s], s))
    # codes increase along (length, symbol) order when left-aligned to 16 bits
    aligned = [int(codes[s]) << (16 - int(lengths[s])) for s in order]
    assert aligned == sorted(aligned) and len(set(aligned)) == len(aligned)
    if order:
        assert codes[order[0]] == 0


@settings(max_examples=100, deadline=None)
@given(freq_lists)
def test_table_round_trip_and_lut(freqs):
    lengths = hc.code_lengths(freqs)
    blob = hc.write_table(lengths) + b"tail"
    valid = np.ones(256, bool)
    back, pos = hc.read_table(blob, 0, valid)
    assert np.array_equal(back[: len(lengths)], lengths) and blob[pos:] == b"tail"
    lut = hc.decode_lut(back)
    for s, word in _codewords(lengths).items():
        e = int(lut[int(word.ljust(16, "1"), 2)])
        assert (e & 0xFF, e >> 8) == (s, len(word))


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x11", b"\x02\x01", b"\x01\x03abc", b"\x01\x02\x00\x00", b"\x02\x00\x01\x09"],
)
def test_bad_tables_rejected(blob):
    valid = np.zeros(256, bool)
    valid[:9] = True
    with pytest.raises(CodecError):
        hc.read_table(blob, 0, valid)
