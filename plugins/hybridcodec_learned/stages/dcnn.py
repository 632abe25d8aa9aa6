"""Stage ``dcnn``: the seed paper's block autoencoder (see :mod:`.dcnn_net`).

Each 32x32 block becomes ``K`` bottleneck numbers, rounded inside the stage by the
quality's step and published as bands (channel ``k`` of every block is band ``b{k}``),
so ``arith`` can code them, or ``rans`` with the stage's learned per-channel Gaussian
(integer log-scales and tables from the weight file: no float on the table path).
The weights' sha256 is stored as side data and checked.
"""

from __future__ import annotations

import numpy as np

from hybridcodec import Band, CodecError, EntropyModel, PlaneInfo, Stage, register_stage
from hybridcodec.plugin import to_samples

from .. import weights
from ._torch import use_torch
from ._pixels import check_pixel_planes, from_rgb, plane_rows, sample_rows
from ._steps import log2_step

__all__ = ["DCNNTransform"]

BLOCK, _K = 32, 512  # as in nets.dcnn and weights.dcnn_format (kept here so that layouts need no torch)
_BATCH = 256  # blocks per network call (activations: ~256 KB a block at the widest layer, 64 MB a call)


def _weights():
    """(the loaded DCNNWeights, the file's sha256)."""
    w, digest, _ = weights.get("dcnn").load()
    return w, digest


@register_stage
class DCNNTransform(Stage):
    """Block autoencoder (conv + pooling + fully connected bottleneck), weights dcnn.pt."""

    name = "dcnn"
    decode_macs, encode_macs = 17_500.0, 8_290.0  # counted with FlopCounterMode on Kodak (768 x 512)
    kind = "transform"
    family = "dcnn"
    doc = "the seed paper's block autoencoder: conv+pool+FC bottleneck on 32x32 blocks (rounds its output)"

    def layout(self, planes):
        h, w = check_pixel_planes(planes, "dcnn")
        by, bx = -(-h // BLOCK), -(-w // BLOCK)
        bands = tuple(Band(f"b{k}", (by, bx), k * by * bx, context=32 + k * 16 // _K, tiled=True)
                      for k in range(_K))
        return (PlaneInfo((_K, by, bx), "luma", "bottleneck", True, bands),)

    def decode_work(self, pixels, ctx):
        """The network runs on whole 32 x 32 blocks: a 65535 x 1 image is 2048 blocks."""
        return self.decode_macs * (-(-ctx.height // BLOCK) * -(-ctx.width // BLOCK) * BLOCK * BLOCK)

    def rate_knob(self):
        return True

    def entropy_model(self, layout):
        return _ChannelModel(self.index)

    # Both ways go a batch of blocks at a time (in raster order, _BATCH blocks a call, as
    # ever): the encoder reads the block rows a batch needs from the image, the decoder
    # writes each block row out once its blocks are done; the whole image is never held
    # as floats, so memory stays a few bytes a pixel on any image.

    def encode_samples(self, samples, layout, ctx):
        """Reads the image's samples (H x W x C) a few block rows at a time."""
        return self._encode(sample_rows(samples, ctx), layout, ctx)

    def encode(self, planes, layout, ctx):
        return self._encode(plane_rows(planes, ctx), layout, ctx)

    def _encode(self, pixel_rows, layout, ctx):
        """``pixel_rows(rows)``: 3 x len(rows) x W float32 (8-bit scale) of the image's rows."""
        torch = use_torch()

        w, digest = _weights()
        h, wd = layout[0].shape
        by, bx = -(-h // BLOCK), -(-wd // BLOCK)
        q = np.empty((_K, by, bx), np.int32)
        step = 2.0 ** log2_step(ctx.quality)
        with torch.no_grad():
            for i in range(0, by * bx, _BATCH):
                j = min(i + _BATCH, by * bx)
                r0, r1 = i // bx, -(-j // bx)  # the block rows the batch touches
                x = pixel_rows(np.minimum(np.arange(r0 * BLOCK, r1 * BLOCK), h - 1))  # rows past the end repeat the last
                if bx * BLOCK > wd:
                    x = np.pad(x, ((0, 0), (0, 0), (0, bx * BLOCK - wd)), mode="edge")
                blocks = x.reshape(3, r1 - r0, BLOCK, bx, BLOCK).transpose(1, 3, 0, 2, 4).reshape(-1, 3, BLOCK, BLOCK)
                out = w.net.encode_blocks(torch.from_numpy(np.ascontiguousarray(blocks[i - r0 * bx : j - r0 * bx])))
                rows, cols = np.divmod(np.arange(i, j), bx)
                q[:, rows, cols] = np.rint(out.numpy().astype(np.float64) / step).T
        ctx.emit(self.index, digest)
        return [q]

    def _blocks(self, planes, ctx):
        """(first block, last + 1, their pixels: n x 3 x 32 x 32 float32) in raster order."""
        torch = use_torch()

        w = _checked(ctx, self.index)
        q = np.asarray(planes[0])
        _, by, bx = q.shape
        step = 2.0 ** log2_step(ctx.quality)
        with torch.no_grad():
            for i in range(0, by * bx, _BATCH):
                j = min(i + _BATCH, by * bx)
                rows, cols = np.divmod(np.arange(i, j), bx)
                b = (q[:, rows, cols].T * step).astype(np.float32)
                yield i, j, w.net.decode_blocks(torch.from_numpy(b)).numpy()

    def decode(self, planes, layout, ctx):
        _, by, bx = np.shape(planes[0])
        # each batch of blocks goes straight to its place in the image (no list of batches,
        # no reordered copy of all of them: the image and one batch's activations)
        x = np.empty((3, by * BLOCK, bx * BLOCK), np.float32)
        grid = x.reshape(3, by, BLOCK, bx, BLOCK)  # a view: block (r, c) is grid[:, r, :, c, :]
        for i, j, pixels in self._blocks(planes, ctx):
            rows, cols = np.divmod(np.arange(i, j), bx)
            grid[:, rows, :, cols, :] = pixels
        h, wd = layout[0].shape
        return from_rgb(x[:, :h, :wd], layout, ctx)

    def decode_samples(self, planes, layout, ctx, out):
        """Writes each block row's samples into ``out`` once its blocks are decoded."""
        if ctx.reduce != 1:
            return super().decode_samples(planes, layout, ctx, out)
        _, by, bx = np.shape(planes[0])
        h, wd = layout[0].shape
        pending = {}  # block row -> its pixels (3 x 32 x bx*32), until its last block is in
        for i, j, pixels in self._blocks(planes, ctx):
            for k, (r, c) in enumerate(zip(*np.divmod(np.arange(i, j), bx))):
                row = pending.setdefault(r, np.empty((3, BLOCK, bx * BLOCK), np.float32))
                row[:, :, c * BLOCK : (c + 1) * BLOCK] = pixels[k]
            for r in [r for r in pending if (r + 1) * bx <= j]:
                y0, y1 = r * BLOCK, min(h, (r + 1) * BLOCK)
                to_samples(from_rgb(pending.pop(r)[:, : y1 - y0, :wd], layout, ctx), out[y0:y1])


def _checked(ctx, index):
    """The weights the file names (its side data: their whole sha256)."""
    side = ctx.take(index)
    if len(side) != 1 or len(side[0]) != weights.get("dcnn").digest:
        raise CodecError("corrupt .hcx file: the dcnn stage's side data is missing or damaged")
    return weights.get("dcnn").find(side[0]).obj


class _ChannelModel(EntropyModel):
    """Each bottleneck channel's Gaussian (learned scale over the quality's step)."""

    def __init__(self, index):
        self.index = index

    def tables(self, layout, ctx):
        w = _checked(ctx, self.index)
        fixed_step = round(round(log2_step(ctx.quality) * 256) * 0.6931471805599453)
        idx = np.clip(np.searchsorted(w.thresholds, w.log_scale - fixed_step, side="left"), 0, len(w.thresholds) - 1)
        n = layout[0].size // _K
        return w.tables, [np.repeat(idx.astype(np.int32), n)]

