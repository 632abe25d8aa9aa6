"""Stage ``dcnn``: the seed paper's block autoencoder (see :mod:`.dcnn_net`).

Each 32x32 block becomes ``K`` bottleneck numbers, rounded inside the stage by the
quality's step and published as bands (channel ``k`` of every block is band ``b{k}``),
so ``arith`` can code them, or ``rans`` with the stage's learned per-channel Gaussian
(integer log-scales and tables from the weight file: no float on the table path).
The weights' sha256 is stored as side data and checked.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from hybridcodec import Band, CodecError, EntropyModel, PlaneInfo, Stage, SymbolTables, register_stage

from ._pixels import check_pixel_planes, from_rgb, to_rgb
from .transform_models import log2_step

__all__ = ["DCNNTransform"]

BLOCK, _K = 32, 512
WEIGHTS = Path(__file__).resolve().parent / "weights" / "dcnn.pt"
_BATCH = 1024  # blocks per network call


class _Weights:
    def __init__(self, blob: dict, digest: bytes):
        from .dcnn_net import FORMAT, DCNNNet

        if blob.get("format") != FORMAT or int(blob["k"]) != _K:
            raise CodecError(f"{WEIGHTS.name} is not a {FORMAT} weight file with {_K} channels")
        self.net = DCNNNet(int(blob["k"]), int(blob["width"]))
        missing, unexpected = self.net.load_state_dict(blob["state_dict"], strict=False)
        if unexpected or any(k.startswith(("enc", "dec")) for k in missing):
            raise CodecError(f"{WEIGHTS.name} does not match the dcnn network")
        self.net.eval()
        t = blob["y_tables"]
        self.tables = SymbolTables(t["cdfs"].numpy(), t["lengths"].numpy(), t["offsets"].numpy())
        self.log_scale = blob["log_scale_fixed"].numpy().astype(np.int64)
        self.thresholds = blob["y_thresholds"].numpy().astype(np.int64)
        self.digest = digest


@lru_cache(maxsize=2)
def _load(path: str) -> _Weights:
    p = Path(path)
    if not p.exists():
        raise CodecError(f"dcnn weights {p} are missing; train them with `hybridcodec train transform --model dcnn`")
    try:
        import torch
    except ImportError:
        raise CodecError("the dcnn stage needs torch; install torch's CPU build: pip install torch==2.13.0") from None
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CodecError(f"cannot read dcnn weights {p}: {exc}") from None
    return _Weights(data, hashlib.sha256(p.read_bytes()).digest())


def _weights() -> _Weights:
    return _load(str(WEIGHTS))


@register_stage
class DCNNTransform(Stage):
    """Block autoencoder (conv + pooling + fully connected bottleneck), weights dcnn.pt."""

    name = "dcnn"
    kind = "transform"
    family = "dcnn"
    doc = "the seed paper's block autoencoder: conv+pool+FC bottleneck on 32x32 blocks (rounds its output)"

    def layout(self, planes):
        h, w = check_pixel_planes(planes, "dcnn")
        by, bx = -(-h // BLOCK), -(-w // BLOCK)
        bands = tuple(Band(f"b{k}", (by, bx), k * by * bx, context=32 + k * 16 // _K, tiled=True)
                      for k in range(_K))
        return (PlaneInfo((_K, by, bx), "luma", "bottleneck", True, bands),)

    def rate_knob(self):
        return True

    def entropy_model(self, layout):
        return _ChannelModel(self.index)

    def encode(self, planes, layout, ctx):
        import torch

        w = _weights()
        h, wd = layout[0].shape
        x = np.pad(to_rgb(planes, ctx), ((0, 0), (0, -h % BLOCK), (0, -wd % BLOCK)), mode="edge")
        by, bx = x.shape[1] // BLOCK, x.shape[2] // BLOCK
        blocks = x.reshape(3, by, BLOCK, bx, BLOCK).transpose(1, 3, 0, 2, 4).reshape(-1, 3, BLOCK, BLOCK)
        with torch.no_grad():
            b = np.concatenate([w.net.encode_blocks(torch.from_numpy(np.ascontiguousarray(blocks[i:i + _BATCH])))
                                .numpy() for i in range(0, len(blocks), _BATCH)])
        ctx.emit(self.index, w.digest)
        q = np.rint(b.astype(np.float64) / 2.0 ** log2_step(ctx.quality)).astype(np.int32)
        return [np.ascontiguousarray(q.T.reshape(_K, by, bx))]

    def decode(self, planes, layout, ctx):
        import torch

        w = _weights()
        _check_digest(ctx, self.index, w)
        q = np.asarray(planes[0])
        _, by, bx = q.shape
        b = (q.reshape(_K, -1).T * 2.0 ** log2_step(ctx.quality)).astype(np.float32)
        with torch.no_grad():
            out = np.concatenate([w.net.decode_blocks(torch.from_numpy(b[i:i + _BATCH])).numpy()
                                  for i in range(0, len(b), _BATCH)] + [np.zeros((0, 3, BLOCK, BLOCK), np.float32)])
        x = out.reshape(by, bx, 3, BLOCK, BLOCK).transpose(2, 0, 3, 1, 4).reshape(3, by * BLOCK, bx * BLOCK)
        h, wd = layout[0].shape
        return from_rgb(x[:, :h, :wd], layout, ctx)


def _check_digest(ctx, index, w):
    side = ctx.take(index)
    if len(side) != 1 or len(side[0]) != 32:
        raise CodecError("corrupt .hcx file: the dcnn stage's side data is missing or damaged")
    if side[0] != w.digest:
        raise CodecError(f"this file was made with dcnn weights sha256 {side[0].hex()[:16]}..., but the installed "
                         f"dcnn.pt is {w.digest.hex()[:16]}...; install the hybridcodec-learned version that made it")


class _ChannelModel(EntropyModel):
    """Each bottleneck channel's Gaussian (learned scale over the quality's step)."""

    def __init__(self, index):
        self.index = index

    def tables(self, layout, ctx):
        w = _weights()
        _check_digest(ctx, self.index, w)
        fixed_step = round(round(log2_step(ctx.quality) * 256) * 0.6931471805599453)
        idx = np.clip(np.searchsorted(w.thresholds, w.log_scale - fixed_step, side="left"), 0, len(w.thresholds) - 1)
        n = layout[0].size // _K
        return w.tables, [np.repeat(idx.astype(np.int32), n)]

