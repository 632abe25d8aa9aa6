"""Entropy stage: zigzag, JPEG-style run/size symbols, per-image canonical Huffman codes."""

from __future__ import annotations

import numpy as np

from .._errors import CodecError, TruncatedError
from .._registry import register_stage
from .._stage import Stage
from ..entropy import huffman_code as hc
from ..entropy import huffman_coder as coder
from ..entropy.rle import valid_ac_symbols, valid_dc_symbols, zigzag_order
from .._threads import run as run_all, spans

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
        roles, tables, _ = self._plan(layout)
        b = layout[0].shape[-1]
        order = zigzag_order(b)
        blocks = [np.ascontiguousarray(p, dtype=np.int32).reshape(-1, b * b) for p in planes]
        # runs of blocks, counted and then packed in parallel: ~1 ms per run of 4096
        # blocks on one core (a Kodak image has 9216 blocks in 4:2:0)
        runs = [(pi, b0, b1) for pi, blk in enumerate(blocks) for b0, b1 in spans(len(blk), 2048)]
        ntab = 2 * len(roles)
        masks = [np.empty((len(blk), -(-b * b // 64)), np.int64) for blk in blocks]  # each block's non-zero AC coefficients

        def count(pi, b0, b1):
            freq = np.zeros((ntab, 256), np.int64)
            extra = coder.block_stats(blocks[pi], order, b0, b1, tables[pi, 0], tables[pi, 1], freq, masks[pi])
            return freq, extra

        stats = run_all(count, runs)
        freqs = sum(f for f, _ in stats)
        lengths = np.stack([hc.code_lengths(f) for f in freqs])
        codes = np.stack([hc.canonical_codes(l) for l in lengths])
        bits = np.array([int((f * lengths).sum()) + e for f, e in stats], np.int64)
        starts = np.concatenate([[0], np.cumsum(bits)])
        out = np.zeros((int(starts[-1]) + 7) // 8, np.uint8)

        def pack(k, pi, b0, b1):
            lead = int(starts[k]) & 7
            buf = np.zeros((lead + int(bits[k]) + 7) // 8 + 4, np.uint8)  # 4 spare: the coder writes ahead
            coder.pack_blocks(blocks[pi], order, b0, b1, tables[pi, 0], tables[pi, 1], codes, lengths, buf, lead,
                              masks[pi])
            return buf[:-4]

        for k, buf in enumerate(run_all(pack, [(k, *r) for k, r in enumerate(runs)])):
            at = int(starts[k]) >> 3
            out[at : at + len(buf)] |= buf
        if starts[-1] & 7:  # pad the last byte with 1 bits
            out[-1] |= (1 << (8 - int(starts[-1] & 7))) - 1
        return b"".join(hc.write_table(l) for l in lengths) + out.tobytes()

    def decode(self, payload, layout, ctx):
        roles, tables, starts = self._plan(layout)
        b = layout[0].shape[-1]
        pos, luts = 0, np.empty((2 * len(roles), 1 << hc.LUT_BITS), np.int32)
        try:
            for k in range(len(roles)):
                for j, valid in enumerate((valid_dc_symbols(), valid_ac_symbols())):
                    lengths, pos = hc.read_table(payload, pos, valid)
                    hc.decode_lut(lengths, luts[2 * k + j])
        except CodecError:
            if not ctx.allow_truncated:
                raise
            ctx.truncated = True
            return [np.zeros(p.shape, np.int32) for p in layout]  # cut inside the tables
        data = np.frombuffer(payload, np.uint8, offset=pos).copy()  # writable: one numba variant
        n_blocks = int(starts[-1])
        if 2 * n_blocks > 8 * len(data) and not ctx.allow_truncated:  # a block costs two bits or more
            raise TruncatedError(
                f"corrupt data: {len(data)} bytes cannot hold {n_blocks} blocks; the file is "
                "truncated or its header is wrong"
            )
        natural = np.zeros((n_blocks, b * b), np.int32)
        err = coder.decode_blocks(data, luts, starts, tables, natural, zigzag_order(b))
        ctx.truncated |= err in (coder.ERR_TRUNCATED, coder.ERR_CODE)
        if err != coder.OK and not (ctx.allow_truncated and err in (coder.ERR_TRUNCATED, coder.ERR_CODE)):
            raise (TruncatedError if err == coder.ERR_TRUNCATED else CodecError)(
                f"corrupt data: the Huffman bitstream has {_ERRORS[err]}")
        return [natural[s:e].reshape(p.shape) for s, e, p in zip(starts, starts[1:], layout)]
