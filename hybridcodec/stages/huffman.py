"""Entropy stage: zigzag, JPEG-style run/size symbols, per-image canonical Huffman codes."""

from __future__ import annotations

import numpy as np

from .._errors import CodecError, TruncatedError
from .._registry import register_stage
from .._stage import Stage
from ..entropy import huffman_code as hc
from ..entropy import huffman_coder as coder
from ..entropy.rle import max_symbols, symbols_kernel, valid_ac_symbols, valid_dc_symbols, zigzag_order

__all__ = ["Huffman"]

_ROLES = ("luma", "chroma")  # one DC and one AC table per role, shared by its planes
_ERRORS = {
    coder.ERR_CODE: "a bit pattern that is no Huffman code",
    coder.ERR_RUN: "a zero run past the end of a block",
    coder.ERR_TRUNCATED: "the bitstream ends early",
    coder.ERR_RANGE: "a DC value out of range",
    coder.ERR_TRAILING: "bytes after the last block",
}


@register_stage
class Huffman(Stage):
    """Run-length + Huffman coding of quantized block coefficients, as JPEG does,
    but with code tables built from each image's own statistics.

    Payload: for each role in use (luma, then chroma) a DC and an AC table
    (see :func:`~hybridcodec.entropy.huffman_code.write_table`), then one
    bitstream holding every plane in turn, blocks in raster order.
    """

    name = "huffman"
    kind = "entropy"
    doc = "zigzag + (run,size) RLE with DC prediction + per-image canonical Huffman"

    def layout(self, planes):
        for p in planes:
            if p.form != "blocks" or not p.integer:
                raise CodecError(
                    "huffman codes quantized block coefficients; use it after dct and a quantizer"
                )
        if len({p.shape[-1] for p in planes}) > 1:
            raise CodecError("huffman needs the same block size in every plane")
        return planes

    @staticmethod
    def _plan(layout):
        roles = [r for r in _ROLES if any(p.role == r for p in layout)]
        tables = np.array([[2 * roles.index(p.role), 2 * roles.index(p.role) + 1] for p in layout])
        counts = [p.shape[0] * p.shape[1] for p in layout]
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return roles, tables, starts

    def encode(self, planes, layout, ctx) -> bytes:
        roles, tables, starts = self._plan(layout)
        b = layout[0].shape[-1]
        zz = np.concatenate([p.reshape(-1, b * b)[:, zigzag_order(b)] for p in planes])
        size = max_symbols(len(zz), b * b)
        sym = np.empty(size, np.uint8)
        tab = np.empty(size, np.uint8)
        val = np.empty(size, np.int32)
        nbits = np.empty(size, np.uint8)
        n = symbols_kernel(zz, starts, tables, sym, tab, val, nbits)
        sym, tab, val, nbits = sym[:n], tab[:n], val[:n], nbits[:n]
        ntab = 2 * len(roles)
        freqs = np.bincount(tab.astype(np.int64) * 256 + sym, minlength=ntab * 256).reshape(ntab, 256)
        lengths = np.stack([hc.code_lengths(f) for f in freqs])
        codes = np.stack([hc.canonical_codes(l) for l in lengths])
        total = int(lengths[tab, sym].sum(dtype=np.int64) + nbits.sum(dtype=np.int64))
        bits = coder.pack_bits(sym, tab, val, nbits, codes, lengths, total)
        return b"".join(hc.write_table(l) for l in lengths) + bits.tobytes()

    def decode(self, payload, layout, ctx):
        roles, tables, starts = self._plan(layout)
        b = layout[0].shape[-1]
        pos, luts = 0, []
        try:
            for _ in roles:
                for valid in (valid_dc_symbols(), valid_ac_symbols()):
                    lengths, pos = hc.read_table(payload, pos, valid)
                    luts.append(hc.decode_lut(lengths))
        except CodecError:
            if not ctx.allow_truncated:
                raise
            ctx.truncated = True
            return [np.zeros(p.shape, np.int32) for p in layout]  # cut inside the tables
        data = np.frombuffer(payload, np.uint8, offset=pos)
        n_blocks = int(starts[-1])
        if 2 * n_blocks > 8 * len(data) and not ctx.allow_truncated:  # a block costs two bits or more
            raise TruncatedError(
                f"corrupt data: {len(data)} bytes cannot hold {n_blocks} blocks; the file is "
                "truncated or its header is wrong"
            )
        zz = np.zeros((n_blocks, b * b), np.int32)
        err = coder.decode_blocks(data, np.stack(luts), starts, tables, zz)
        ctx.truncated |= err in (coder.ERR_TRUNCATED, coder.ERR_CODE)
        if err != coder.OK and not (ctx.allow_truncated and err in (coder.ERR_TRUNCATED, coder.ERR_CODE)):
            raise (TruncatedError if err == coder.ERR_TRUNCATED else CodecError)(
                f"corrupt data: the Huffman bitstream has {_ERRORS[err]}")
        natural = np.empty_like(zz)
        natural[:, zigzag_order(b)] = zz
        return [natural[s:e].reshape(p.shape) for s, e, p in zip(starts, starts[1:], layout)]
