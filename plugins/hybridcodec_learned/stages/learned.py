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
from hybridcodec.plugin import rans, release_free_memory, to_samples

from .. import weights
from ._torch import use_torch
from ._pixels import check_pixel_planes, from_rgb, plane_rows, sample_rows
from ._steps import log2_step

__all__ = ["LearnedTransform"]

BLOCK, STRIDE, MEAN_UNIT = 8, 32, 16.0  # as in transform_net (kept here so that layouts need no torch)
_M = 192  # latent channels of the shipped weights (checked against the file)
# The networks run a strip of latent rows at a time (whole hyper-latent rows, 4 latent
# rows each) of about this many latent positions (192 channels each: ~12 MB an
# activation), with _HALO latent rows of context each side, and write into the whole
# image only the rows they own: memory stays a few bytes a pixel on any image.  An
# image of up to ~1 MP is one strip: the same numbers as one pass over the image.
_LATENTS = 1 << 14
_PRIOR_LATENTS = 1 << 12  # and the integer hyper-synthesis (its 384 int64 outputs a latent position) fewer
_HALO = 2  # latent rows each network reaches: a 3x3 residual convolution (1) and the 16-tap, stride-8
# (transposed) convolution between pixels and latents (1 more)
_Z_HALO = 2  # hyper-latent rows of context for the hyper-analysis's strips (it reaches 1)


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

    def _side(self, ctx):
        """(weights, hyper-latents, table offsets) the side data gives, cached for the image."""
        key = ("learned", self.index)
        if key not in ctx.scratch:
            ctx.scratch[key] = self._read_side(ctx, *_grid(ctx.height, ctx.width)[2:])
        return ctx.scratch[key]

    def _index(self, ctx):
        """The table index of every latent (uint8, channels x rows x columns), the
        hyperprior's shifted by the file's offsets: computed strip by strip, cached."""
        key = ("learned-index", self.index)
        if key not in ctx.scratch:
            w, z, offsets = self._side(ctx)
            lh, lw, _, _ = _grid(ctx.height, ctx.width)
            index = np.empty((w.m, lh, lw), np.uint8)
            for a, b in _strips(lh, lw):
                mean, found = _base_prior(w, z, ctx.quality, a, b)
                index[:, a:b] = _shift(found, offsets, len(w.y_thresholds))
                if (a, b) == (0, lh):  # one strip: the synthesis takes the means from here
                    ctx.scratch[("learned-mean", self.index)] = mean
            ctx.scratch[key] = index
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
    # Both go a strip of latent rows at a time (_strips): the encoder reads the image's
    # samples a strip at a time and keeps only the latents (float32) while it finds the
    # hyper-latents, then the rounded latents and their table indexes (uint8); the
    # decoder synthesizes each strip from its latents and means and writes its rows.

    def encode_samples(self, samples, layout, ctx):
        """Reads the image's samples (H x W x C) a strip of rows at a time."""
        return self._encode(sample_rows(samples, ctx), layout, ctx)

    def encode(self, planes, layout, ctx):
        return self._encode(plane_rows(planes, ctx), layout, ctx)

    def _encode(self, pixel_rows, layout, ctx):
        """``pixel_rows(rows)``: 3 x len(rows) x W float32 (8-bit scale) of the image's rows."""
        torch = use_torch()

        loaded = weights.get("learned").load()
        w = _checked(loaded)
        h, wd = layout[0].shape
        lh, lw, zh, zw = _grid(h, wd)
        y = np.empty((w.m, lh, lw), np.float32)
        with torch.no_grad():
            for a, b in _strips(lh, lw):  # the latents; the image's rows past its end repeat its last
                a0, b0 = max(0, a - _HALO), min(lh, b + _HALO)
                x = pixel_rows(np.minimum(np.arange(a0 * BLOCK, b0 * BLOCK), h - 1))
                t = torch.from_numpy(np.ascontiguousarray(x))[None]
                if lw * BLOCK > wd:
                    t = torch.nn.functional.pad(t, (0, lw * BLOCK - wd, 0, 0), mode="replicate")
                y[:, a:b] = w.net.encode_latents(t)[0, :, a - a0 : b - a0].numpy()
                del x, t
                release_free_memory(h * wd)
            z = np.empty((w.nz, zh, zw), np.int32)
            per = STRIDE // BLOCK  # latent rows a hyper-latent row
            for a, b in _strips(lh, lw):  # the hyper-latents: strips of whole hyper-latent rows
                c, d = a // per, -(-b // per)
                c0, d0 = max(0, c - _Z_HALO), min(zh, d + _Z_HALO)
                t = torch.from_numpy(y[:, c0 * per : d0 * per])[None]
                z[:, c:d] = torch.round(w.net.hyper(t))[0, :, c - c0 : d - c0].numpy().astype(np.int32)
                del t
                release_free_memory(h * wd)
        try:
            zbytes = rans.encode(z.ravel(), _z_indexes(w.nz, zh, zw), w.z_tables)
        except ValueError as exc:
            raise CodecError(f"learned: cannot code the hyper-latents ({exc})") from None
        step = 2.0 ** log2_step(ctx.quality)
        q = y.view(np.int32)  # the rounded latents go into the latents' own memory, strip by strip
        index = np.empty((w.m, lh, lw), np.uint8)
        counts = 0
        for a, b in _strips(lh, lw):
            mean, idx = _base_prior(w, z, ctx.quality, a, b)
            if (a, b) == (0, lh):  # one strip: a decode after this one (a post-filter's fit) takes the means
                ctx.scratch[("learned-mean", self.index)] = mean
            q[:, a:b] = np.rint((y[:, a:b].astype(np.float64) - mean) / step)
            index[:, a:b] = idx
            counts = counts + _counts(q[:, a:b], idx, len(w.y_tables.lengths))
            release_free_memory(h * wd)
        del y, mean, idx
        offsets = _calibrate(counts, w.y_tables)
        for a, b in _strips(lh, lw):
            index[:, a:b] = _shift(index[:, a:b], offsets, len(w.y_thresholds))
        ctx.scratch[("learned", self.index)] = (w, z, offsets)
        ctx.scratch[("learned-index", self.index)] = index
        packed = ((offsets[0::2] + 8) << 4 | (offsets[1::2] + 8)).astype(np.uint8).tobytes()
        check = zlib.crc32(z.astype("<i4").tobytes() + packed).to_bytes(4, "big")
        ctx.emit(self.index, loaded.digest + check + packed + zbytes)
        return [q]

    def decode(self, planes, layout, ctx):
        h, wd = layout[0].shape
        x = np.empty((3, h, wd), np.float32)

        def put(r0, r1, part):
            x[:, r0:r1] = part

        self._synthesize(planes, layout, ctx, put)
        return from_rgb(x, layout, ctx)

    def decode_samples(self, planes, layout, ctx, out):
        """Writes each strip's samples into ``out`` as it is synthesized (no float image)."""
        if ctx.reduce != 1:
            return super().decode_samples(planes, layout, ctx, out)
        self._synthesize(planes, layout, ctx, lambda r0, r1, part: to_samples(from_rgb(part, layout, ctx), out[r0:r1]))

    def _synthesize(self, planes, layout, ctx, put):
        """``put(r0, r1, rows)`` for each strip of the image's rows r0:r1 (3 x rows x W
        float32, 8-bit scale), from the latents and the means of the hyperprior."""
        torch = use_torch()

        w, z, _ = self._side(ctx)
        ctx.scratch.pop(("learned-index", self.index), None)  # the coder's tables: done with
        whole = ctx.scratch.pop(("learned-mean", self.index), None)  # a one-strip image's means, if made
        q = np.asarray(planes[0])
        h, wd = layout[0].shape
        lh, lw, _, _ = _grid(h, wd)
        if q.shape != (w.m, lh, lw):
            raise CodecError("corrupt .hcx file: the learned latents do not match the hyper-latents")
        step = 2.0 ** log2_step(ctx.quality)
        with torch.no_grad():
            for a, b in _strips(lh, lw):
                a0, b0 = max(0, a - _HALO), min(lh, b + _HALO)
                mean = whole if whole is not None and (a0, b0) == (0, lh) else _base_prior(w, z, ctx.quality, a0, b0)[0]
                y_hat = torch.from_numpy((mean + step * q[:, a0:b0]).astype(np.float32))[None]
                del mean
                r0, r1 = a * BLOCK, min(h, b * BLOCK)
                if r1 > r0:
                    put(r0, r1, w.net.decode_latents(y_hat)[0, :, r0 - a0 * BLOCK : r1 - a0 * BLOCK, :wd].numpy())
                del y_hat
                release_free_memory(h * wd)


class _HyperpriorModel(EntropyModel):
    """A Gaussian table for every latent: the hyperprior's scale over the quality's step."""

    def __init__(self, stage):
        self.stage = stage

    def tables(self, layout, ctx):
        w = self.stage._side(ctx)[0]
        index = self.stage._index(ctx)
        if index.size != layout[0].size:
            raise CodecError("corrupt .hcx file: the learned latents do not match the hyper-latents")
        return w.y_tables, [index.reshape(-1).astype(np.int32)]


def _strips(lh: int, lw: int) -> list[tuple[int, int]]:
    """Runs of latent rows (whole hyper-latent rows) of about _LATENTS positions."""
    per = STRIDE // BLOCK
    rows = max(per, _LATENTS // max(lw, 1) // per * per)
    return [(a, min(lh, a + rows)) for a in range(0, lh, rows)]


def _base_prior(w, z, quality, a: int = 0, b: int | None = None):
    """The integer path: hyper-latents -> (means, table index) of latent rows ``a:b``
    (all by default), the hyper-synthesis run on the hyper-latent rows they need."""
    per = STRIDE // BLOCK
    b = z.shape[1] * per if b is None else b
    zi = np.asarray(z, np.int64) << 8  # ABITS = 8
    fixed_step = round(round(log2_step(quality) * 256) * 0.6931471805599453)  # ln(step) * 256, exactly
    mean = np.empty((w.m, b - a, z.shape[2] * per))
    index = np.empty(mean.shape, np.uint8)
    rows = max(per, _PRIOR_LATENTS // max(mean.shape[2], 1) // per * per)
    for s in range(a - a % per, b, rows):  # whole hyper-latent rows at a time
        e = min(b, s + rows)
        lo = max(a, s)
        try:
            out = w.h_s.rows(zi, s // per, -(-e // per))[:, lo - s : e - s]
        except ValueError as exc:
            raise CodecError(f"corrupt learned side data: {exc}") from None
        mean[:, lo - a : e - a] = out[: w.m] * (MEAN_UNIT / 256.0)
        found = np.searchsorted(w.y_thresholds, out[w.m:] - fixed_step, side="left")
        index[:, lo - a : e - a] = np.clip(found, 0, len(w.y_thresholds) - 1)
    return mean, index


def _shift(index, offsets, n):
    return np.clip(index.astype(np.int32) + offsets[:, None, None], 0, n - 1).astype(np.uint8)


_R = 40  # latent values beyond +-_R are costed as +-_R by the calibration (rare; an estimate is enough)


def _counts(q, index, n) -> np.ndarray:
    """How often each (table, value) pair occurs in each channel of latents ``q`` (any
    run of rows: the counts of the runs add up)."""
    m = q.shape[0]
    key = (np.arange(m)[:, None] * n + index.reshape(m, -1)) * (2 * _R + 1) + np.clip(q.reshape(m, -1), -_R, _R) + _R
    return np.bincount(key.ravel(), minlength=m * n * (2 * _R + 1)).reshape(m, -1)


def _calibrate(counts, tables) -> np.ndarray:
    """Per latent channel, the table offset (-8..7; neighbouring tables' scales differ by
    13 %) that codes this image's values (``counts``: :func:`_counts`) in the fewest
    bits: it corrects the hyperprior where it is off for this image (measured on Kodak
    with 15-minute weights: 3-7 % fewer bits for the best per-channel scale factor).
    Encoder only: the offsets are stored, so float rounding here cannot desynchronise anything."""
    freq = np.diff(tables.cdfs.astype(np.int64), axis=1)
    bits = -np.log2(np.maximum(freq, 1) / 65536.0)
    n, r = len(tables.lengths), _R
    escape = bits[np.arange(n), tables.lengths - 2] + 20.0  # the escape and its payload, roughly
    col = np.arange(-r, r + 1)[None, :] - tables.offsets[:, None]
    ok = (col >= 0) & (col < tables.lengths[:, None] - 2)
    cost = np.where(ok, bits[np.arange(n)[:, None], np.where(ok, col, 0)], escape[:, None])  # table x value
    # every offset's cost is one product with the counts
    counts = np.asarray(counts).astype(np.float64)
    totals = np.stack([counts @ cost[np.clip(np.arange(n) + k, 0, n - 1)].ravel() for k in range(-8, 8)], axis=1)
    choice = np.argmin(totals, axis=1).astype(np.int32) - 8
    return choice


def _z_indexes(nz, zh, zw):
    return np.repeat(np.arange(nz, dtype=np.int32), zh * zw)
