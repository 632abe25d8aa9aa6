"""Dead-zone uniform scalar quantizer with per-subband steps."""

from __future__ import annotations

from functools import lru_cache

from .._jit import kernel
import numpy as np

from .._params import Param
from .._quality import ijg_scale
from .._registry import register_stage
from .._bands import check_bands
from .._stage import PlaneInfo, Stage
from .._threads import run, spans

__all__ = ["DeadZone", "base_step", "FINE"]


def base_step(quality: float) -> float:
    """Step size for a quality, on the IJG curve so that a quality means about the
    distortion it means for JPEG: 32 * S(q) / 100 with S = 5000/q below 50 and
    200 - 2q above, and at least 0.5.

    Examples
    --------
    >>> base_step(50), base_step(75), base_step(100)
    (32.0, 16.0, 0.5)
    """
    return max(0.5, 32.0 * ijg_scale(quality) / 100.0)


@register_stage
class DeadZone(Stage):
    """Quantize ``c`` to ``q = sign(c) * floor(|c| / step + rounding)``.  Index ``q != 0``
    stands for ``|c| / step`` in ``[|q| - rounding, |q| + 1 - rounding)`` and is
    reconstructed ``recon`` of the way into that bin (0.5 = its middle; less suits
    the peaked distributions of transform coefficients).

    Works after any transform that publishes bands: each band's step is
    ``step / sqrt(gain)`` with ``gain`` the energy of its synthesis basis, so equal
    steps mean equal distortion in pixels (after ``dct``, orthonormal, every step is
    the same); chroma planes take ``chroma`` times the luma step.
    """

    name = "deadzone"
    kind = "quantizer"
    doc = "dead-zone scalar quantizer, per-subband steps weighted by synthesis gains"
    params = (
        Param("rounding", float, 0.33, "rounding offset; 0.5 = plain rounding, smaller widens the dead zone",
              min=0.0, max=0.5),
        Param("recon", float, 0.4, "reconstruction point within a bin, 0..1 (0.5 = middle)",
              min=0.0, max=1.0),
        Param("chroma", float, 1.0, "chroma step relative to luma", min=0.1, max=10.0),
        Param("isolated", float, 0.1, "rounding offset for a coefficient with no non-zero "
              "neighbour (coding it costs the most)", min=0.0, max=0.5),
    )

    def layout(self, planes):
        check_bands(planes, "deadzone")
        return tuple(p.quantized() for p in planes)

    def _table(self, info: PlaneInfo, ctx):
        """The plane's band table and per-band steps (:func:`_band_table`): the quality's
        step, times ``chroma`` for chroma planes, on the image's sample scale."""
        step = base_step(ctx.quality) * (self.chroma if info.role == "chroma" else 1.0) * ctx.sample_scale
        return _band_table(info.bands, step)

    def encode(self, planes, layout, ctx):
        out, softs = [], []
        for c, info in zip(planes, layout):
            table, steps = self._table(info, ctx)
            flat = np.ascontiguousarray(info.flat(np.asarray(c, np.float32)))  # a view for flat planes
            own = ctx.reuse_planes or not np.may_share_memory(flat, c)  # a copy made here is ours too
            q = flat.view(np.int32) if own and flat.flags.writeable else np.empty(flat.shape, np.int32)
            drop = self.isolated < self.rounding
            # for the entropy stage's RDOQ: each coefficient over its step in FINE-ths, in
            # place of its index (no memory beyond the indexes'), save in predicted bands
            # (indexes as always) and in a plane whose largest value would not fit
            fine = ctx.want_soft and (not flat.size or max(float(flat.max()), -float(flat.min()))
                                      < SOFT_LIMIT * float(steps.min()))
            softs.append(fine)
            rows = np.flatnonzero(table[:, 4] == 0) if fine else np.zeros(0, np.int64)
            quantize = np.flatnonzero(table[:, 4] != 0) if fine else np.arange(len(table))
            jobs = [(_quantize_bands, (flat, table[quantize[b0:b1]], steps[quantize[b0:b1]], np.float32(self.rounding),
                                       np.float32(self.isolated), drop, q, 0, b1 - b0))
                    for b0, b1 in spans(len(quantize), 1)]
            jobs += [(_fine_bands, (flat, table[rows[b0:b1]], steps[rows[b0:b1]], q)) for b0, b1 in spans(len(rows), 1)]
            run(lambda f, a: f(*a), jobs)
            out.append(info.unflat(q))
        if any(softs):
            ctx.soft = (tuple(softs), float(self.recon - self.rounding), FINE)
        return out

    def decode(self, planes, layout, ctx):
        out = []
        shift = np.float32(self.recon - self.rounding)
        for k, info in zip(planes, layout):
            # bin [|q| - rounding, |q| + 1 - rounding) * step; reconstruct `recon` into it
            table, steps = self._table(info, ctx)
            flat = np.ascontiguousarray(info.flat(np.asarray(k, np.int32)))
            own = ctx.reuse_planes or not np.may_share_memory(flat, k)
            res = flat.view(np.float32) if own and flat.flags.writeable else np.empty(flat.shape, np.float32)
            single = bool(np.all(steps == steps[0]))
            run(_dequantize_bands, [(flat, table, steps, shift, single, res, b0, b1)
                                    for b0, b1 in spans(len(table), 1)])
            out.append(info.unflat(res))
        return out


@lru_cache(maxsize=64)
def _band_table(bands, step):
    """Rows (offset, height, width, tiled) of the bands, largest first (so that runs of
    them balance across threads), and each band's step: ``step / sqrt(gain)``, in float32."""
    steps = (step / np.sqrt(np.array([b.gain for b in bands], np.float64))).astype(np.float32)
    order = sorted(range(len(bands)), key=lambda i: -bands[i].size)
    table = np.array([(bands[i].offset, *bands[i].shape, int(bands[i].tiled), int(bands[i].predict)) for i in order],
                     np.int64)
    return table.reshape(-1, 5), steps[order]


FINE = 256  # soft values for RDOQ: c / step in 1/256ths of a step (see DeadZone.encode)
SOFT_LIMIT = float(1 << 22)  # |c| / step below this: FINE times it fits an int32 with room


@kernel(cache=True, nogil=True)
def _fine_bands(c, table, steps, q):
    """``q = sign(c) * round(|c| / step * FINE)`` over the bands of ``table`` (``q`` may be
    ``c``'s own buffer: each value is read before it is written); NaN gives 0."""
    for bi in range(len(table)):
        off, n = table[bi, 0], table[bi, 1] * table[bi, 2]
        scale = np.float64(FINE) / np.float64(steps[bi])
        for i in range(off, off + n):
            v = np.float64(c[i])
            m = np.floor(abs(v) * scale + 0.5)
            q[i] = np.int32(m) if v > 0 else (-np.int32(m) if v < 0 else 0)


_WEAK = 1 << 29  # an index of magnitude 1 that the isolated rounding would make 0
_LONE = 1 << 28  # ... and that has no non-zero neighbour: it becomes 0


@kernel(cache=True, nogil=True)
def _quantize_bands(c, table, steps, rounding, isolated, drop, q, b0, b1):
    """Bands ``b0:b1`` of ``table``: ``q = sign(c) * floor(|c| / step + rounding)``, in
    float32 as numpy computed it; then (``drop``), in a band that is not tiled, an index
    of magnitude 1 whose 8 neighbours are all 0 is quantized again with ``isolated``.
    ``q`` may be ``c``'s own buffer (viewed as int32): each coefficient is read once,
    before its index is written, and what the second rounding needs is kept as a flag
    (numpy and cv2.boxFilter took ~6 ms and 5 arrays the size of a plane for a Kodak
    image)."""
    buf = np.empty(1024, np.int32)
    for bi in range(b0, b1):
        off, h, w, tiled = table[bi, 0], table[bi, 1], table[bi, 2], table[bi, 3]
        step = steps[bi]
        mark = drop and not tiled
        for s0 in range(off, off + h * w, 1024):  # through a small buffer: q may be c (see _dequantize_bands)
            n = min(1024, off + h * w - s0)
            src = c[s0 : s0 + n]
            for i in range(n):  # no branches: a coefficient's sign is a coin toss, even where its index is 0
                v = src[i]
                a = abs(v) / step
                m = np.int32(np.floor(a + rounding))
                weak = mark & (m == 1) & (np.floor(a + isolated) == 0)  # &, not and: no branches
                sgn = np.int32(v > 0) - np.int32(v < 0)  # 0 for zero and NaN, as numpy's sign gives
                buf[i] = (m + np.int32(weak) * _WEAK) * sgn
            dst = q[s0 : s0 + n]
            for i in range(n):
                dst[i] = buf[i]
        if not mark:
            continue
        for y in range(h):  # a weak one with no non-zero neighbour (weak ones count as non-zero)
            for x in range(w):
                i = off + y * w + x
                if not abs(q[i]) & _WEAK:
                    continue
                if 0 < y < h - 1 and 0 < x < w - 1:  # inside: the 8 neighbours OR-ed, no branches
                    alone = (q[i - w - 1] | q[i - w] | q[i - w + 1] | q[i - 1] | q[i + 1] | q[i + w - 1] | q[i + w]
                             | q[i + w + 1]) == 0
                else:
                    alone = True
                    for yy in range(max(y - 1, 0), min(y + 2, h)):
                        for xx in range(max(x - 1, 0), min(x + 2, w)):
                            if (yy != y or xx != x) and q[off + yy * w + xx] != 0:
                                alone = False
                if alone:
                    q[i] = _LONE if q[i] > 0 else -_LONE
        for i in range(off, off + h * w):
            m = abs(q[i])
            if m & _LONE:
                q[i] = 0
            elif m & _WEAK:
                q[i] = 1 if q[i] > 0 else -1


@kernel(cache=True, nogil=True)
def _dequantize_bands(k, table, steps, shift, single, out, b0, b1):
    """Bands ``b0:b1``: ``out = (k + sign(k) * shift) * step`` (0 for 0), in float64 or,
    ``single``, in float32 (as the two paths of format 1's decoder did: one step for
    every band in numpy float32, a step per band in float64); ``out`` may be ``k``'s own
    buffer viewed as float32.  Runs of 1024 go through a small buffer, so that neither
    loop reads and writes one array (the compiler then vectorizes both: 2.7 -> 0.5 ms for
    a Kodak image's 1.2 M coefficients, measured in place)."""
    buf = np.empty(1024, np.float32)
    for bi in range(b0, b1):
        off, n = table[bi, 0], table[bi, 1] * table[bi, 2]
        step = steps[bi]
        for s0 in range(off, off + n, 1024):
            m = min(1024, off + n - s0)
            src = k[s0 : s0 + m]
            if single:
                for i in range(m):
                    v = src[i]
                    f = np.float32(v)
                    buf[i] = 0.0 if v == 0 else (f + shift if v > 0 else f - shift) * step
            else:
                for i in range(m):
                    v = src[i]
                    buf[i] = 0.0 if v == 0 else (v + shift if v > 0 else v - shift) * step
            dst = out[s0 : s0 + m]
            for i in range(m):
                dst[i] = buf[i]
