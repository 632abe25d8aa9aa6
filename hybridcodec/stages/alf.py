"""Stage ``alf``: an adaptive loop filter, per-image Wiener filters fitted by the encoder.

The decoded image's pixels are sorted into 24 classes by local activity and direction
(:mod:`._alf`); the encoder fits, for each class and colour channel, the 7 x 7 diamond
filter (12 symmetric pairs, plus two cross-channel terms in colour) that brings the
decoded image closest to the original in least squares, and keeps it only where the
squared error it saves is worth the bits it costs (``J = dSSE + lambda bits``, lambda
from the coded image's own error and size).  It picks per channel how finely to
classify (1, 2, 4 or 8 activities, with or without the 3 directions), the coefficients'
precision (5 to 8 fractional bits) and their Exp-Golomb code.  The file carries the
filters (tens to a few hundred bytes); the decoder runs ~14 multiply-adds a channel
and pixel.  This is VVC's ALF in spirit: a filter learned per image, not shipped weights.

Side data (no chunk at all when every channel is off): a layout byte (1), then a bit stream; per channel a header byte (0: off;
else bit 7 set, bits 0-1 log2 of the activities, bit 2 directions on, bits 3-4
fractional bits - 5, bits 5-6 the Exp-Golomb order), a bit per class (filter on), and
each filter's coefficients, signed Exp-Golomb.

Examples
--------
>>> import numpy as np, hybridcodec
>>> y, x = np.mgrid[0:64, 0:96]
>>> img = (128 + 60 * np.sin(x / 3.0) * np.cos(y / 5.0)).astype(np.uint8)
>>> plain = hybridcodec.decode(hybridcodec.encode(img, preset="wavelet", quality=30))
>>> data = hybridcodec.encode(img, pipeline="wavelet+alf", quality=30)
>>> hybridcodec.psnr(img, hybridcodec.decode(data)) >= hybridcodec.psnr(img, plain)
True
"""

from __future__ import annotations

import numpy as np

from .._errors import CodecError
from .._registry import register_stage
from .._stage import Stage
from .._threads import run, spans
from ._alf import ACTIVITY, CLASSES, TAPS, classify_rows, filter_rows, n_features, stats_rows

__all__ = ["AdaptiveLoopFilter"]

_LAYOUT = 1
# lambda = KAPPA * SSE / bits of the coded image (on this project's BD curves 1 dB of
# PSNR, 23 % of the squared error, is worth about 16 % of the rate: 1.44; on 8 training
# photos, wavelet+alf against wavelet, BD-rate -3.08 % with 1.44, -3.11 % with 1.0, -2.70 % with 3.0)
_KAPPA = 1.0
_MAX_PREFIX = 20  # Exp-Golomb prefixes longer than this are corrupt data
# the longest side data a file can need: 3 channels x (8 + 24 + 24 x 14 codes of 2 x 21 + 4 bits)
_MAX_SIDE = 1 + (3 * (8 + 24 + 24 * 14 * (2 * (_MAX_PREFIX + 1) + 4)) + 7) // 8
_ACTIVITIES = (1, 2, 4, 8)
_REACH = 3  # rows the 7 x 7 diamond reaches each side
_BAND_PIXELS = 1 << 20  # pixels the decoder filters at a time
_FRACTIONS = (5, 6, 7, 8)


@register_stage
class AdaptiveLoopFilter(Stage):
    """Per-image classified Wiener filter (adaptive loop filter); the encoder fits it."""

    name = "alf"
    kind = "postfilter"
    doc = "adaptive loop filter: per-image least-squares 7x7 diamond filters for 24 pixel classes, in the file"
    decode_macs = 14.0 * 3  # a pixel: 14 coefficients a colour channel (the classes: additions only)
    encode_macs = 3 * (14 * 15 / 2 + 14) + decode_macs  # the Gram matrices, then nothing else per pixel

    def encode(self, original, decoded, ctx):
        x = decoded if decoded.dtype == np.float32 else decoded.astype(np.float32)  # may be planar (strided)
        nc = x.shape[2]
        if nc not in (1, 3):
            return
        h, w = x.shape[:2]
        cls = _classes(x)
        nf = n_features(nc)
        jobs = spans(h, 64)
        parts = [(np.zeros((nc, CLASSES, nf, nf)), np.zeros((nc, CLASSES, nf)), np.zeros((nc, CLASSES)))
                 for _ in jobs]
        o = np.ascontiguousarray(original)  # uint8 as given (a float copy would be 12 bytes a pixel)
        run(stats_rows, [(x, o, cls, TAPS, g, b, e, a, z) for (a, z), (g, b, e) in zip(jobs, parts)])
        gram = sum(p[0] for p in parts)
        cross = sum(p[1] for p in parts)
        energy = sum(p[2] for p in parts)
        iu = np.triu_indices(nf, 1)
        gram[:, :, iu[1], iu[0]] = gram[:, :, iu[0], iu[1]]
        bits_so_far = 8 * max(getattr(ctx, "coded_bytes", 0), 1)
        lam = _KAPPA * max(float(energy.sum()), 1.0) / bits_so_far
        chosen = [_choose(gram[c], cross[c], lam) for c in range(nc)]
        if not any(f.active for f in chosen):
            return  # no chunk at all: a file without one decodes unfiltered
        writer = _BitWriter()
        for f in chosen:
            f.write(writer)
        ctx.emit(self.index, bytes([_LAYOUT]) + writer.getvalue())

    def decode_work(self, pixels, ctx):
        return self.decode_macs * pixels if ctx.take(self.index) else 0.0

    def decode(self, image, ctx):
        side = ctx.take(self.index)
        if not side:
            return image  # the encoder found no filter worth its bytes
        if len(side) != 1 or not 2 <= len(side[0]) <= _MAX_SIDE or side[0][0] != _LAYOUT:
            raise CodecError("corrupt .hcx file: bad alf side data")
        nc = image.shape[2]
        if nc not in (1, 3):
            raise CodecError("corrupt .hcx file: alf filters for an image it cannot filter")
        nf = n_features(nc)
        reader = _BitReader(side[0][1:])
        coef = np.zeros((nc, CLASSES, nf), np.float32)
        classmap = np.full((nc, CLASSES), -1, np.int64)
        for c in range(nc):
            _Filters.read(reader, nf).place(coef[c], classmap[c])
        reader.finish()
        if (classmap < 0).all():
            return image
        # the image's own memory, as given (planar, strided, is fine), or a float32 copy
        x = image if image.dtype == np.float32 and image.flags.writeable else np.array(image, np.float32)
        cls = _classes(x)
        # in place, a band of rows at a time: each band is filtered from a copy of its
        # unfiltered rows and the 3 it reaches each side (the rows above it kept aside
        # before the band over them was written), so the image is held once, not twice
        h, w = x.shape[:2]
        rows = max(64, _BAND_PIXELS // max(w, 1))
        above = x[:0].copy()
        for y0 in range(0, h, rows):
            y1 = min(h, y0 + rows)
            top, bottom = y0 - len(above), min(h, y1 + _REACH)
            src = np.concatenate([above, x[y0:bottom]])
            out = np.empty_like(src)
            run(filter_rows, [(src, cls[top:bottom], classmap, coef, TAPS, out, a + y0 - top, b + y0 - top)
                              for a, b in spans(y1 - y0, 32)])
            above = src[y1 - top - min(_REACH, y1) : y1 - top].copy()
            x[y0:y1] = out[y0 - top : y1 - top]
        return x


def _classes(x: np.ndarray) -> np.ndarray:
    cls = np.empty(x.shape[:2], np.uint8)
    run(classify_rows, [(x, ACTIVITY, cls, a, b) for a, b in spans(x.shape[0], 32)])
    return cls


def _coarse(activities: int, directions: bool) -> np.ndarray:
    """Index of the coarse class of each of the 24 fine ones."""
    k = np.arange(CLASSES)
    a, d = k // 3, k % 3
    return (a * activities // 8) * (3 if directions else 1) + (d if directions else 0)


class _Filters:
    """One channel's filters: the classification, precision, code and coefficients."""

    def __init__(self, activities=1, directions=False, frac=5, order=0, on=(), coef=None):
        self.activities, self.directions, self.frac, self.order = activities, directions, frac, order
        self.on = list(on)  # per coarse class
        self.coef = coef  # int64 (coarse classes, features)

    @property
    def active(self) -> bool:
        return any(self.on)

    def write(self, wr: "_BitWriter") -> None:
        if not self.active:
            wr.bits(0, 8)
            return
        head = (0x80 | _ACTIVITIES.index(self.activities) | (4 if self.directions else 0)
                | (self.frac - 5) << 3 | self.order << 5)
        wr.bits(head, 8)
        for flag in self.on:
            wr.bits(int(flag), 1)
        for flag, row in zip(self.on, self.coef):
            if flag:
                for v in row:
                    wr.signed(int(v), self.order)

    @classmethod
    def read(cls, rd: "_BitReader", nf: int) -> "_Filters":
        head = rd.bits(8)
        if head == 0:
            return cls()
        if not head & 0x80:
            raise CodecError("corrupt .hcx file: bad alf filter header")
        f = cls(_ACTIVITIES[head & 3], bool(head & 4), 5 + (head >> 3 & 3), head >> 5 & 3)
        n = f.activities * (3 if f.directions else 1)
        f.on = [rd.bits(1) for _ in range(n)]
        f.coef = np.zeros((n, nf), np.int64)
        for k in range(n):
            if f.on[k]:
                f.coef[k] = [rd.signed(f.order) for _ in range(nf)]
        return f

    def place(self, coef: np.ndarray, classmap: np.ndarray) -> None:
        """Fill one channel's rows of the decoder's tables."""
        if not self.active:
            return
        coarse = _coarse(self.activities, self.directions)
        scale = np.float32(2.0 ** -self.frac)
        for k in range(len(self.on)):
            if self.on[k]:
                coef[k] = self.coef[k].astype(np.float32) * scale
        for fine in range(CLASSES):
            classmap[fine] = coarse[fine] if self.on[coarse[fine]] else -1


def _eg_bits(v: np.ndarray, order: int) -> np.ndarray:
    """Lengths of the signed Exp-Golomb codes of order ``order`` of ``v``."""
    u = np.where(v > 0, 2 * v - 1, -2 * v).astype(np.int64)  # zig-zag
    n = (u >> order) + 1
    return 2 * np.floor(np.log2(n)).astype(np.int64) + 1 + order


def _choose(gram: np.ndarray, cross: np.ndarray, lam: float) -> _Filters:
    """The channel's filters with the least ``dSSE + lam * bits`` (off when none pays)."""
    nf = gram.shape[-1]
    best, best_j = _Filters(), 0.0
    for activities in _ACTIVITIES:
        for directions in (False, True):
            coarse = _coarse(activities, directions)
            n = activities * (3 if directions else 1)
            g = np.zeros((n, nf, nf))
            b = np.zeros((n, nf))
            np.add.at(g, coarse, gram)
            np.add.at(b, coarse, cross)
            ridge = 1e-6 * (np.trace(g, axis1=1, axis2=2)[:, None, None] + 1.0) * np.eye(nf)
            w = np.linalg.solve(g + ridge, b[..., None])[..., 0]
            for frac in _FRACTIONS:
                q = np.rint(w * (1 << frac)).astype(np.int64)
                wq = q / float(1 << frac)
                dsse = -2 * np.einsum("kf,kf->k", wq, b) + np.einsum("kf,kfg,kg->k", wq, g, wq)
                for order in range(4):
                    bits = _eg_bits(q, order).sum(1)
                    gain = dsse + lam * bits
                    on = gain < 0
                    j = float(gain[on].sum()) + lam * (8 + n)
                    if j < best_j:
                        best_j = j
                        best = _Filters(activities, directions, frac, order, on.tolist(), q)
    return best


class _BitWriter:
    def __init__(self):
        self.value, self.n = 0, 0

    def bits(self, v: int, n: int) -> None:
        self.value = (self.value << n) | (v & ((1 << n) - 1))
        self.n += n

    def signed(self, v: int, order: int) -> None:
        u = 2 * v - 1 if v > 0 else -2 * v
        m = (u >> order) + 1
        length = m.bit_length()
        self.bits(0, length - 1)
        self.bits(m, length)
        self.bits(u, order)

    def getvalue(self) -> bytes:
        pad = -self.n % 8
        return ((self.value << pad).to_bytes((self.n + pad) // 8, "big")) if self.n else b""


class _BitReader:
    def __init__(self, data: bytes):
        self.value = int.from_bytes(data, "big")
        self.left = 8 * len(data)

    def bits(self, n: int) -> int:
        if n > self.left:
            raise CodecError("corrupt .hcx file: alf side data cut short")
        self.left -= n
        return (self.value >> self.left) & ((1 << n) - 1)

    def signed(self, order: int) -> int:
        zeros = 0
        while self.bits(1) == 0:
            zeros += 1
            if zeros > _MAX_PREFIX:
                raise CodecError("corrupt .hcx file: bad alf coefficient")
        m = (1 << zeros) | self.bits(zeros)
        u = ((m - 1) << order) | self.bits(order)
        return (u + 1) // 2 if u & 1 else -(u // 2)

    def finish(self) -> None:
        if self.left >= 8 or (self.left and self.value & ((1 << self.left) - 1)):
            raise CodecError("corrupt .hcx file: alf side data has bytes left over")
