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

from .. import weights
from ._torch import use_torch
from ._pixels import check_pixel_planes, from_rgb, to_rgb
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

    def encode(self, planes, layout, ctx):
        torch = use_torch()

        w, digest = _weights()
        h, wd = layout[0].shape
        x = to_rgb(planes, ctx)
        if h % BLOCK or wd % BLOCK:
            x = np.pad(x, ((0, 0), (0, -h % BLOCK), (0, -wd % BLOCK)), mode="edge")
        by, bx = x.shape[1] // BLOCK, x.shape[2] // BLOCK
        blocks = x.reshape(3, by, BLOCK, bx, BLOCK).transpose(1, 3, 0, 2, 4).reshape(-1, 3, BLOCK, BLOCK)
        with torch.no_grad():
            b = np.concatenate([w.net.encode_blocks(torch.from_numpy(np.ascontiguousarray(blocks[i:i + _BATCH])))
                                .numpy() for i in range(0, len(blocks), _BATCH)])
        ctx.emit(self.index, digest)
        q = np.rint(b.astype(np.float64) / 2.0 ** log2_step(ctx.quality)).astype(np.int32)
        return [np.ascontiguousarray(q.T.reshape(_K, by, bx))]

    def decode(self, planes, layout, ctx):
        torch = use_torch()

        w = _checked(ctx, self.index)
        q = np.asarray(planes[0])
        _, by, bx = q.shape
        b = (q.reshape(_K, -1).T * 2.0 ** log2_step(ctx.quality)).astype(np.float32)
        # each batch of blocks goes straight to its place in the image (no list of batches,
        # no reordered copy of all of them: the image and one batch's activations)
        x = np.empty((3, by * BLOCK, bx * BLOCK), np.float32)
        grid = x.reshape(3, by, BLOCK, bx, BLOCK)  # a view: block (r, c) is grid[:, r, :, c, :]
        with torch.no_grad():
            for i in range(0, len(b), _BATCH):
                rows, cols = np.divmod(np.arange(i, min(i + _BATCH, len(b))), bx)
                grid[:, rows, :, cols, :] = w.net.decode_blocks(torch.from_numpy(b[i:i + _BATCH])).numpy()
        h, wd = layout[0].shape
        return from_rgb(x[:, :h, :wd], layout, ctx)


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

