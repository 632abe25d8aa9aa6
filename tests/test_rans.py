"""The probability-table coder (rANS) and its integer tables."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridcodec import CodecError, SymbolTables
from hybridcodec.entropy import rans


def _tables(seed, t=4, k=12):
    rng = np.random.default_rng(seed)
    return SymbolTables.from_pmfs(rng.dirichlet(np.ones(k) * 0.5, size=t), offsets=rng.integers(-8, 3, t))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3000), st.integers(1, 6), st.integers(0, 40))
def test_round_trip_any_symbols(seed, n, t, spread):
    tables = _tables(seed, t)
    rng = np.random.default_rng(seed)
    sym = rng.integers(-spread - 10, spread + 10, n).astype(np.int32)
    sym[rng.random(n) < 0.01] = rng.integers(-(2**29), 2**29, 1)  # far escapes
    idx = rng.integers(0, t, n).astype(np.int32)
    data = rans.encode(sym, idx, tables)
    out, status = rans.decode(data, idx, tables)
    assert status == rans.OK and out.tolist() == sym.tolist()
    part, status = rans.decode(data, idx, tables, n // 2)  # a prefix decodes alone
    assert status == rans.OK and part[: n // 2].tolist() == sym[: n // 2].tolist()


def test_rate_is_near_the_entropy():
    rng = np.random.default_rng(1)
    p = np.array([0.05, 0.2, 0.5, 0.2, 0.05])
    sym = rng.choice(5, 100_000, p=p).astype(np.int32) - 2
    data = rans.encode(sym, np.zeros(len(sym), np.int32), SymbolTables.from_pmfs(p[None], [-2]))
    entropy = -np.sum(p * np.log2(p))
    assert entropy < 8 * len(data) / len(sym) < entropy * 1.01


def test_golden_bytes():
    tables = SymbolTables.from_pmfs(np.array([[0.1, 0.2, 0.4, 0.2, 0.1], [0.5, 0.3, 0.2, 0, 0]]), [-2, 0])
    sym = np.array([0, 1, -2, 2, 0, 0, 9, -40, 1, 2, 0, 1, 1000000], np.int32)
    idx = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0], np.int32)
    data = rans.encode(sym, idx, tables)
    # final state 0x00276831, then 16-bit words; 9, -40 and 1000000 are escapes
    assert data.hex() == "00276831fa371fff2794f123947b601e8000"
    assert rans.decode(data, idx, tables)[0].tolist() == sym.tolist()


def test_truncated_and_corrupt_streams_are_reported():
    tables = _tables(3)
    rng = np.random.default_rng(3)
    sym = rng.integers(-10, 10, 5000).astype(np.int32)
    idx = rng.integers(0, 4, 5000).astype(np.int32)
    data = rans.encode(sym, idx, tables)
    assert rans.decode(data[: len(data) // 2], idx, tables)[1] == rans.ERR_TRUNCATED
    assert rans.decode(data + b"\0\0", idx, tables)[1] == rans.ERR_CORRUPT
    assert rans.decode(data[:-1], idx, tables)[1] != rans.OK
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x40
    out, status = rans.decode(bytes(bad), idx, tables)
    assert status != rans.OK or out.tolist() != sym.tolist()
    assert rans.decode(data, np.full(5000, 9, np.int32), tables)[1] == rans.ERR_RANGE


def test_encoder_rejects_what_it_cannot_code():
    tables = _tables(0)
    with pytest.raises(ValueError, match="magnitude"):
        rans.encode(np.array([2**30], np.int32), np.zeros(1, np.int32), tables)
    with pytest.raises(ValueError, match="indexes"):
        rans.encode(np.zeros(3, np.int32), np.array([0, 4, 0], np.int32), tables)


@pytest.mark.parametrize("cdfs, lengths", [
    ([[0, 100, 65536]], [2]),            # fewer than 2 symbols
    ([[1, 100, 65536]], [3]),            # does not start at 0
    ([[0, 100, 65535]], [3]),            # does not end at 2**16
    ([[0, 100, 100, 65536]], [4]),       # a zero frequency
    ([[0, 100, 65536]], [4]),            # longer than the row
])
def test_tables_are_validated(cdfs, lengths):
    with pytest.raises(CodecError):
        SymbolTables(np.array(cdfs), np.array(lengths), np.zeros(1))


def test_from_pmfs_keeps_every_symbol_codable():
    t = SymbolTables.from_pmfs(np.array([[1.0, 0.0, 1e-12, 0.0]]), offsets=[0])
    assert np.all(np.diff(t.cdfs[0]) >= 1) and t.cdfs[0, -1] == 65536


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2000), st.lists(st.integers(0, 2000), max_size=5))
def test_decoder_in_pieces_gives_the_whole_stream(seed, n, cuts):
    tables = _tables(seed, 3)
    rng = np.random.default_rng(seed)
    sym = rng.integers(-20, 20, n).astype(np.int32)
    idx = rng.integers(0, 3, n).astype(np.int32)
    data = rans.encode(sym, idx, tables)
    edges = [0, *sorted(min(c, n) for c in cuts), n]
    dec = rans.Decoder(data)
    got = np.concatenate([dec.take(idx[a:b], tables) for a, b in zip(edges, edges[1:])])
    assert got.tolist() == sym.tolist() and dec.finish() == rans.OK


def test_decoder_reports_leftover_words_short_streams_and_bad_indexes():
    tables = _tables(1, 2)
    sym, idx = np.arange(-5, 5, dtype=np.int32), np.zeros(10, np.int32)
    data = rans.encode(sym, idx, tables)
    dec = rans.Decoder(data + b"\x12\x34")
    assert dec.take(idx, tables).tolist() == sym.tolist() and dec.finish() == rans.ERR_CORRUPT
    dec = rans.Decoder(data[: len(data) // 2])
    dec.take(idx, tables)
    assert dec.finish() == rans.ERR_TRUNCATED
    dec = rans.Decoder(data)
    assert dec.take(np.full(3, 7, np.int32), tables).tolist() == [0, 0, 0] and dec.status == rans.ERR_RANGE
    assert rans.Decoder(b"\x00").status == rans.ERR_TRUNCATED
