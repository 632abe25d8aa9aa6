"""Entropy stage ``ctxrans``: a learned context model for the quantized coefficients of
any transform that publishes bands, coded by rANS (weights ``ctxrans.npz``).

Every coefficient is coded with one of a family of discretized Laplace tables (64
scales, integer CDFs built once by training and shipped, so no machine derives a table
from floats).  Which table is a learned function of what the decoder already has:

* the coarser bands: the 3x3 sum of |q| around the co-located *parent* coefficient,
  the co-located *sibling* band of the same level and, in a chroma plane, the luma
  band (the band's own references, as ``arith`` reads them);
* within the band, a checkerboard pass (He et al. 2021): the *anchors* ((y + x) even)
  go first with the references alone, then every other coefficient also sees the sum
  of |q| of its four anchor neighbours.

Each of the three (or, for the second pass, three) context values is put into one of
8 logarithmic bins, and a table learned by maximum likelihood on training photos
(``hybridcodec train entropy``) maps class (the band's ``context`` and plane role),
pass and bins to the Laplace scale.  Smooth bands (``predict``: a wavelet LL) are
coded as differences to the left (first column: to the top) with the one Laplace
table the encoder finds cheapest, named in the side data.

Bands go coarse to fine in one rANS stream decoded band by band
(:class:`hybridcodec.entropy.rans.Decoder`), so a reduced decode stops after the bands
it needs.  The file keeps 8 bytes of the model's sha256; a decoder with another model
refuses it.  The model is the transform family's own where one is shipped
(``ctxrans-lifting-joint.npz``, trained with the ``lifting-joint`` steps).

The encoder re-decides a quantizer's indexes where it offers soft values (``deadzone``):
RDOQ with the model's own rates, as ``arith`` does with its adaptive ones.
"""

from __future__ import annotations

import math

import numpy as np

from hybridcodec import CodecError, Stage, TruncatedError, register_stage
from hybridcodec.plugin import bands_needed, check_coded, coding_order, flatten, plane_starts, rans

from .. import weights
from ..entropy.contexts import band_contexts, checker, coded_cells, second_cells
from ..entropy.laplace import costs

__all__ = ["ContextRans", "model_artefact"]

# slack for the size check of a stream against the symbols it must hold (each costs at
# least the model's min_bits; the final state's 32 bits carry 16 of information)
_STATE_BITS = 64
_SHIFTS = tuple(range(-8, 8))  # per plane and level, the encoder may move every table index by one of these
_ERRORS = {rans.ERR_TRUNCATED: "the stream ends early", rans.ERR_RANGE: "a value out of range",
           rans.ERR_CORRUPT: "data that does not end where the coded symbols do"}


def model_artefact(family: str = "") -> weights.Artefact:
    """The model for the coefficients of a transform family: the family's own where its
    file is there (``ctxrans-lifting-joint``, trained jointly with that transform: ``train
    transform --model lifting-joint``), else ``ctxrans`` (fitted on CDF 9/7's).  The
    family comes from the file's spec, so the decoder picks the encoder's model."""
    own = [a for a in weights.artefacts("ctxrans", family) if family and a.path().is_file()]
    return own[-1] if own else weights.get("ctxrans")


def _residual(v: np.ndarray) -> np.ndarray:
    r = v.astype(np.int64)
    r[:, 1:] = v[:, 1:] - v[:, :-1]
    r[1:, 0] = v[1:, 0] - v[:-1, 0]
    return r


def _unresidual(r: np.ndarray) -> np.ndarray:
    r = r.astype(np.int64)
    r[:, 0] = np.cumsum(r[:, 0])
    return np.cumsum(r, axis=1)


# RDOQ's lam = MU * ln 2 / 6, as arith's (hybridcodec.entropy.rdoq).  Measured with
# dwt + ctxrans on 6 training photos (every 30th of ../shared/datasets/train), q5-90,
# BD-rate against the same encoder without RDOQ: MU 0.6 -1.34 %, 0.9 -2.08 %, 1.2 -2.00 %
MU = 0.9

WORK_PER_PIXEL = 4096.0  # the decoder's work rule: multiply-accumulates a pixel this stage counts as


def _rdoq(soft, band, pi, layout, got, model, cost, shift, fine):
    """The indexes of a band whose values are soft (``c / step`` in ``fine``-ths): each
    coefficient takes, of 0, ``m* - 1`` and ``m*`` (``m*`` nearest in reconstruction,
    ``m + shift`` steps), the one of least ``(|c| / step - r(m))^2 + lam * bits``, its bits
    those of its table (unshifted) in its context: the anchors with the references
    decided before, then the others with the anchors decided (the coder's own order).
    Returns the indexes and their cells, as :func:`coded_cells` gives them."""
    t = np.abs(soft) / float(fine)
    neg = soft < 0
    m_star = np.maximum(np.rint(t - shift), 0)
    cand = np.stack([np.zeros_like(m_star), np.maximum(m_star - 1, 0), m_star]).astype(np.int64)
    recon = np.where(cand > 0, cand + shift, 0.0)
    lam = MU * math.log(2) / 6
    top = cost.shape[1] - 1
    cls, first, rest = band_contexts(band, pi, layout, got)
    anchor = checker(band.shape)
    out = np.zeros(band.shape, np.int64)

    def decide(mask, cells, pass_):
        table = model.index[cls, pass_][cells]
        c = cand[:, mask]
        j = (t[mask] - recon[:, mask]) ** 2 + lam * cost[table, np.minimum(c, top)]
        m = np.take_along_axis(c, j.argmin(axis=0)[None], axis=0)[0]
        out[mask] = np.where(neg[mask], -m, m)

    first = first[anchor]
    decide(anchor, first, 0)
    second = second_cells(np.where(anchor, np.abs(out), 0), rest)[~anchor]
    decide(~anchor, second, 1)
    return out, (cls, anchor, first, second)


@register_stage
class ContextRans(Stage):
    """rANS coding of band coefficients with a learned context model (``ctxrans.npz``)."""

    name = "ctxrans"
    kind = "entropy"
    uses_soft = True  # RDOQ: the quantizer's soft values, decided with the model's rates (encoder only)
    doc = "rANS with a learned context model: Laplace scale from parent/sibling/luma bands and checkerboard neighbours"

    def layout(self, planes):
        check_coded(planes, "ctxrans", "put a quantizer (deadzone, jpegq) before it")
        return planes

    def decode_work(self, pixels, ctx):
        """The context model runs no network, but its numpy work a coefficient (contexts,
        bins, table lookups, rANS) takes as long as ~2,200 multiply-accumulates of the
        networks do (a Kodak image: 0.085 s more than ``arith``, against ``lifting``'s
        15.8 kMACs a pixel in 0.6 s); the decoder's work rule counts it as WORK_PER_PIXEL
        (about twice that), so that a small file cannot declare a size whose contexts
        take seconds and gigabytes (a seed mutated to a larger size took 8.9 s and
        2.3 GB before) and the encoder pads the rare file that needs it."""
        return WORK_PER_PIXEL * pixels

    def encode(self, planes, layout, ctx) -> bytes:
        art = model_artefact(ctx.family)
        model, digest, _ = art.load()
        flat, starts = flatten(planes, layout, np.int64), plane_starts(layout)
        cost = costs(model.tables)
        soft = ctx.soft  # (planes with soft values, reconstruction shift, fineness) or None
        got, syms, idxs, picks, groups = {}, [], [], [], {}
        for pi, _, b in coding_order(layout):
            v = flat[starts[pi] + b.offset : starts[pi] + b.offset + b.size].reshape(b.shape)
            if b.predict:
                r = _residual(v).ravel()
                t = int(np.argmin(cost[:, np.minimum(np.abs(r), cost.shape[1] - 1)].sum(axis=1))) if r.size else 0
                picks.append(t)
                syms.append(r)
                idxs.append(np.full(r.size, t, np.int32))
                continue
            if soft is not None and soft[0][pi]:  # decided with the cells they are coded with
                v, (cls, anchor, first, second) = _rdoq(v, b, pi, layout, got, model, cost, soft[1], soft[2])
            else:
                cls, anchor, first, second = coded_cells(b, pi, layout, got, v)
            syms += [v[anchor], v[~anchor]]
            idxs += [model.index[cls, 0][first], model.index[cls, 1][second]]
            groups.setdefault((pi, b.order), []).append(len(idxs) - 2)
            got[(pi, b.key)] = v
        last = len(model.tables.lengths) - 1
        shifts = []
        for members in groups.values():  # the shift of the table index that codes the group cheapest
            i = np.concatenate([idxs[k] for m in members for k in (m, m + 1)])
            a = np.minimum(np.abs(np.concatenate([syms[k] for m in members for k in (m, m + 1)])), cost.shape[1] - 1)
            best = int(np.argmin([cost[np.clip(i + d, 0, last), a].sum() for d in _SHIFTS]))
            shifts.append(best)
            for m in members:
                for k in (m, m + 1):
                    idxs[k] = np.clip(idxs[k] + _SHIFTS[best], 0, last).astype(np.int32)
        packed = bytes((shifts[k] << 4) | (shifts[k + 1] if k + 1 < len(shifts) else 0) for k in range(0, len(shifts), 2))
        ctx.emit(self.index, digest[: art.digest] + bytes(picks) + packed)
        sym = np.concatenate(syms + [np.zeros(0, np.int64)])
        try:
            return rans.encode(sym, np.concatenate(idxs + [np.zeros(0, np.int32)]), model.tables)
        except ValueError as exc:
            raise CodecError(f"ctxrans: {exc}") from None

    def decode(self, payload, layout, ctx):
        art = model_artefact(ctx.family)
        order = coding_order(layout)
        n_pred = sum(b.predict for _, _, b in order)
        groups = list(dict.fromkeys((pi, b.order) for pi, _, b in order if not b.predict))
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) != art.digest + n_pred + (len(groups) + 1) // 2:
            raise CodecError("corrupt .hcx file: bad ctxrans side data")
        model = art.find(side[0][: art.digest]).obj
        picks = list(side[0][art.digest : art.digest + n_pred])
        nibbles = [n for byte in side[0][art.digest + n_pred :] for n in (byte >> 4, byte & 15)]
        shift = {g: _SHIFTS[n] for g, n in zip(groups, nibbles)}
        last = len(model.tables.lengths) - 1
        if any(t >= len(model.tables.lengths) for t in picks):
            raise CodecError("corrupt .hcx file: bad ctxrans table index")
        n_bands = bands_needed(order, ctx.reduce_levels) if ctx.reduce > 1 else len(order)
        starts = plane_starts(layout)
        if not ctx.allow_truncated and len(payload) * 8 + _STATE_BITS < int(starts[-1]) * model.min_bits:
            raise TruncatedError(f"corrupt data: {len(payload)} bytes of ctxrans stream cannot hold "
                                 f"{int(starts[-1])} coefficients (a cut-short file, or a corrupt size)")
        flat = np.zeros(int(starts[-1]), np.int32)
        dec, got = rans.Decoder(payload), {}
        for pi, _, b in order[:n_bands]:
            if b.predict:
                t = picks.pop(0)
                v = _unresidual(dec.take(np.full(b.size, t, np.int32), model.tables).reshape(b.shape))
            else:
                cls, first, rest = band_contexts(b, pi, layout, got)
                anchor = checker(b.shape)
                v = np.zeros(b.shape, np.int64)
                d = shift[(pi, b.order)]
                v[anchor] = dec.take(np.clip(model.index[cls, 0][first[anchor]] + d, 0, last), model.tables)
                second = second_cells(np.where(anchor, np.abs(v), 0), rest)
                v[~anchor] = dec.take(np.clip(model.index[cls, 1][second[~anchor]] + d, 0, last), model.tables)
                got[(pi, b.key)] = v
            if dec.status != rans.OK:
                break
            flat[starts[pi] + b.offset : starts[pi] + b.offset + b.size] = np.clip(v, -rans.MAX_VALUE, rans.MAX_VALUE).ravel()
        status = dec.finish() if n_bands == len(order) else dec.status
        ctx.truncated |= status == rans.ERR_TRUNCATED
        if status != rans.OK and not (ctx.allow_truncated and status == rans.ERR_TRUNCATED):
            raise (TruncatedError if status == rans.ERR_TRUNCATED else CodecError)(
                f"corrupt data: the ctxrans stream has {_ERRORS[status]}")
        return [info.unflat(flat[s:e]) for s, e, info in zip(starts, starts[1:], layout)]
