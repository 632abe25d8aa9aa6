"""Stage ``learned``: an end-to-end learned transform (GDN analysis/synthesis) with a
mean-scale hyperprior (Minnen et al. 2018, no autoregressive context).

The stage rounds its latents itself, ``q = round((y - mean) / s)`` with the step ``s``
of the quality (one set of weights serves every rate), and publishes them as bands
(one per latent channel), so any coder takes them: ``rans`` with the entropy model
the stage offers (a Gaussian table per latent, chosen by the hyperprior), or the
adaptive ``arith``.  The hyper-latents ``z`` are the stage's side data (rANS with the
factorized density's tables), with a table offset per latent channel that the encoder
picks for the image; a check sum of both and the weights' sha256 travel with them.

Decoding on another machine picks the same tables: the path ``z -> (mean, scale index)``
is an integer network (:mod:`.integer_net`) and every table ships as integers in the
weight file.  Only the synthesis is float (pixels may differ by rounding between
machines, never the decoded latents).
"""

from __future__ import annotations

import zlib
import numpy as np

from hybridcodec import Band, CodecError, EntropyModel, PlaneInfo, Stage, register_stage
from hybridcodec.plugin import rans

from .. import weights
from ._torch import use_torch
from ._pixels import check_pixel_planes, from_rgb, to_rgb
from ._steps import log2_step

__all__ = ["LearnedTransform"]

BLOCK, STRIDE, MEAN_UNIT = 8, 32, 16.0  # as in transform_net (kept here so that layouts need no torch)
_M = 192  # latent channels of the shipped weights (checked against the file)


def _checked(loaded):
    w, _, path = loaded
    if w.m != _M:
        raise CodecError(f"{path.name} has {w.m} latent channels; this stage expects {_M}")
    return w


def _grid(h: int, w: int) -> tuple[int, int, int, int]:
    """(latent rows, cols, hyper-latent rows, cols) of an h x w image."""
    hp, wp = -(-h // STRIDE) * STRIDE, -(-w // STRIDE) * STRIDE
    return hp // BLOCK, wp // BLOCK, hp // STRIDE, wp // STRIDE


def _context(k: int) -> int:
    """Statistics class (32..47) of latent channel ``k`` for adaptive coders: the initial
    transform's colour (luma / colour differences) and frequency group."""
    colour, f = divmod(k, _M // 3)
    group = int(np.searchsorted([1, 3, 6, 10, 21, 36, 48], f, side="right"))
    return 32 + (0 if colour == 0 else 8) + min(group, 7)


@register_stage
class LearnedTransform(Stage):
    """Learned analysis/synthesis with a hyperprior entropy model (weights: learned.pt)."""

    name = "learned"
    # counted with FlopCounterMode on Kodak (768 x 512): synthesis and hyper-synthesis to
    # decode; analysis, hyper-analysis and hyper-synthesis to encode
    decode_macs, encode_macs = 8_060.0, 9_950.0
    kind = "transform"
    family = "learned"
    doc = "learned GDN transform + mean-scale hyperprior (rounds its latents; offers its entropy model)"

    def layout(self, planes):
        h, w = check_pixel_planes(planes, "learned")
        lh, lw, _, _ = _grid(h, w)
        n = lh * lw
        bands = tuple(Band(f"y{k}", (lh, lw), k * n, gain=1.0, context=_context(k), predict=k % (_M // 3) == 0,
                           tiled=True) for k in range(_M))
        return (PlaneInfo((_M, lh, lw), "luma", "latents", True, bands),)

    def decode_work(self, pixels, ctx):
        """The networks run on the image padded to a multiple of 32 each way."""
        lh, lw, _, _ = _grid(ctx.height, ctx.width)
        return self.decode_macs * lh * lw * BLOCK * BLOCK

    def rate_knob(self):
        return True

    def entropy_model(self, layout):
        return _HyperpriorModel(self)

    # -- the side data: hyper-latents and per-channel table offsets ----------------------

    def _prior(self, ctx):
        """(mean, table index of every latent, the weights the file names), from the side
        data, cached for the image."""
        key = ("learned", self.index)
        if key not in ctx.scratch:
            w, z, offsets = self._read_side(ctx, *_grid(ctx.height, ctx.width)[2:])
            mean, index = _base_prior(w, z, ctx.quality)
            ctx.scratch[key] = (mean, _shift(index, offsets, len(w.y_thresholds)), w)
        return ctx.scratch[key]

    def _read_side(self, ctx, zh, zw):
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) < 36 + _M // 2:
            raise CodecError("corrupt .hcx file: the learned stage's side data is missing or cut short")
        blob = side[0]
        w = _checked(weights.get("learned").find(blob[:32]))  # the first 32 bytes: the weights' sha256
        packed = np.frombuffer(blob[36 : 36 + _M // 2], np.uint8)
        offsets = np.stack([packed >> 4, packed & 15], axis=1).reshape(-1).astype(np.int32) - 8
        z, status = rans.decode(blob[36 + _M // 2 :], _z_indexes(w.nz, zh, zw), w.z_tables, w.nz * zh * zw)
        check = zlib.crc32(z.astype("<i4").tobytes() + blob[36 : 36 + _M // 2])
        if status != rans.OK or check != int.from_bytes(blob[32:36], "big"):
            raise CodecError("corrupt .hcx file: the learned stage's hyper-latents or table offsets do not decode")
        return w, z.reshape(w.nz, zh, zw), offsets

    # -- encode / decode --------------------------------------------------------------

    def encode(self, planes, layout, ctx):
        torch = use_torch()

        loaded = weights.get("learned").load()
        w = _checked(loaded)
        h, wd = layout[0].shape
        x = to_rgb(planes, ctx)
        pad_h, pad_w = -h % STRIDE, -wd % STRIDE
        with torch.no_grad():
            t = torch.from_numpy(x)[None]
            if pad_h or pad_w:
                t = torch.nn.functional.pad(t, (0, pad_w, 0, pad_h), mode="replicate")
            y = w.net.encode_latents(t)
            z = torch.round(w.net.hyper(y))[0].numpy().astype(np.int32)
        y = y[0].double().numpy()
        try:
            zbytes = rans.encode(z.ravel(), _z_indexes(w.nz, *z.shape[1:]), w.z_tables)
        except ValueError as exc:
            raise CodecError(f"learned: cannot code the hyper-latents ({exc})") from None
        mean, index = _base_prior(w, z, ctx.quality)
        q = np.rint((y - mean) / (2.0 ** log2_step(ctx.quality))).astype(np.int32)
        offsets = _calibrate(q, index, w.y_tables)
        ctx.scratch[("learned", self.index)] = (mean, _shift(index, offsets, len(w.y_thresholds)), w)
        packed = ((offsets[0::2] + 8) << 4 | (offsets[1::2] + 8)).astype(np.uint8).tobytes()
        check = zlib.crc32(z.astype("<i4").tobytes() + packed).to_bytes(4, "big")
        ctx.emit(self.index, loaded.digest + check + packed + zbytes)
        return [q]

    def decode(self, planes, layout, ctx):
        torch = use_torch()

        mean, _, w = self._prior(ctx)
        q = np.asarray(planes[0])
        if q.shape != mean.shape:
            raise CodecError("corrupt .hcx file: the learned latents do not match the hyper-latents")
        y_hat = mean + (2.0 ** log2_step(ctx.quality)) * q
        h, wd = layout[0].shape
        with torch.no_grad():
            x = w.net.decode_latents(torch.from_numpy(y_hat.astype(np.float32))[None])[0, :, :h, :wd].numpy()
        return from_rgb(x, layout, ctx)


class _HyperpriorModel(EntropyModel):
    """A Gaussian table for every latent: the hyperprior's scale over the quality's step."""

    def __init__(self, stage):
        self.stage = stage

    def tables(self, layout, ctx):
        _, index, w = self.stage._prior(ctx)
        if index.size != layout[0].size:
            raise CodecError("corrupt .hcx file: the learned latents do not match the hyper-latents")
        return w.y_tables, [index.reshape(-1)]


def _base_prior(w, z, quality):
    """The integer path: hyper-latents -> (means, table index of every latent)."""
    try:
        out = w.h_s(np.asarray(z, np.int64) << 8)  # ABITS = 8 fractional bits
    except ValueError as exc:
        raise CodecError(f"corrupt learned side data: {exc}") from None
    mean = out[: w.m].astype(np.float64) * (MEAN_UNIT / 256.0)
    fixed_step = round(round(log2_step(quality) * 256) * 0.6931471805599453)  # ln(step) * 256, exactly
    index = np.searchsorted(w.y_thresholds, out[w.m:] - fixed_step, side="left")
    return mean, np.clip(index, 0, len(w.y_thresholds) - 1).astype(np.int32)


def _shift(index, offsets, n):
    return np.clip(index + offsets[:, None, None], 0, n - 1).astype(np.int32)


def _calibrate(q, index, tables) -> np.ndarray:
    """Per latent channel, the table offset (-8..7; neighbouring tables' scales differ by
    13 %) that codes this image's values in the fewest bits: it corrects the hyperprior
    where it is off for this image (measured on Kodak with 15-minute weights: 3-7 %
    fewer bits for the best per-channel scale factor).  Encoder only: the offsets are
    stored, so float rounding here cannot desynchronise anything."""
    freq = np.diff(tables.cdfs.astype(np.int64), axis=1)
    bits = -np.log2(np.maximum(freq, 1) / 65536.0)
    n, r = len(tables.lengths), 40  # values beyond +-r are costed as +-r (rare; an estimate is enough)
    escape = bits[np.arange(n), tables.lengths - 2] + 20.0  # the escape and its payload, roughly
    col = np.arange(-r, r + 1)[None, :] - tables.offsets[:, None]
    ok = (col >= 0) & (col < tables.lengths[:, None] - 2)
    cost = np.where(ok, bits[np.arange(n)[:, None], np.where(ok, col, 0)], escape[:, None])  # table x value
    m = q.shape[0]
    # how often each (table, value) pair occurs in each channel; then every offset's cost is one product
    key = (np.arange(m)[:, None] * n + index.reshape(m, -1)) * (2 * r + 1) + np.clip(q.reshape(m, -1), -r, r) + r
    counts = np.bincount(key.ravel(), minlength=m * n * (2 * r + 1)).reshape(m, -1).astype(np.float64)
    totals = np.stack([counts @ cost[np.clip(np.arange(n) + k, 0, n - 1)].ravel() for k in range(-8, 8)], axis=1)
    choice = np.argmin(totals, axis=1).astype(np.int32) - 8
    return choice


def _z_indexes(nz, zh, zw):
    return np.repeat(np.arange(nz, dtype=np.int32), zh * zw)
