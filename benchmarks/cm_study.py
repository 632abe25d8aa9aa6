"""What mixing buys over ``arith``'s probability estimates, measured before building a
coder (the entropy issue: "logistic mixing and secondary estimation ... measure and
choose").  Ideal code lengths (-log2 p of every binary decision), no coder.

The walk is ``arith``'s own (hybridcodec.entropy.coefficients): the same bands in the
same order, the same binarization (significance, unary magnitude bins, Exp-Golomb
escape, sign) and the same primary contexts, each coded by

* ``arith``: its estimate, the mean of a fast and a slow adaptive counter;
* ``+apm``: that estimate refined by an adaptive secondary estimation table (APM, as in
  PAQ/lpaq) indexed by the quantized estimate and the kind of decision;
* ``mix``: logistic mixing (weights per class, decision kind and reference activity,
  trained online) of the fast and the slow counter of the primary context and of
  counters of three secondary contexts that see what the primary one quantizes away
  (the exact activity up to 31 and the reference activity up to 7; |W|, |N| and the
  reference activity apart, with the parent's significance; |NW|, |NE|, NN, WW and the
  run of zeros to the left), then the APM;
* ``mix+prior``: the same, its counters, mixer weights and APM started from a pass over
  ``--prior`` *other* training photos, and that pass's probabilities of the primary and
  the second context as two more (frozen) inputs: an offline-trained prior, mixed with
  what adapts to the image.

Both mixes also take a logistic model over the causal neighbourhood and the references
(log2(1 + |v|) of W, N, NW, NE, WW, NN and of the reference activity, the parent's
significance, the zero run; weights per class and decision kind, learned online, and
in ``mix+prior`` started from the prior pass): the "small network" of the issue in its
smallest form; with the 3x3 sum of |v| around the parent's position as one more feature.
(Each reference's activity apart -- parents, sibling, luma -- instead of their sum
alone bought 0.01-0.03 points more: left out.)

Measured (6 training photos, q10/30/50/75, prior on 20 others; 2026-12-03):

| forward stages | +apm | mix | mix+prior |
|---|---|---|---|
| ``ycbcr(subsampling=444)|dwt|deadzone`` | -0.27 % | -3.44 % | -4.18 % |
| ``ycbcr(subsampling=444)|lifting|deadzone`` | -0.25 % | -2.96 % | -3.70 % |
| ``ycbcr(subsampling=420)|dct|jpegq`` | -0.49 % | -1.62 % | -2.17 % |

(without the logistic model; with it, ``dwt``: mix -4.14 %, mix+prior -5.01 %; with the
parent's 3x3 neighbourhood too: -4.28 % and -5.34 %).

On 6 Kodak images (every 4th; the same qualities and prior, nothing tuned on them) the
gain is far smaller: ``dwt`` +apm -0.19 %, mix -1.18 %, mix+prior -1.83 % (with the logistic
model: -1.38 % and -1.98 %; with the parent's 3x3 neighbourhood: -1.44 % and -2.23 %).  The secondary
contexts buy most on the structured training photos (Urban100); Kodak's smoother
photos leave arith's quantized activity less to miss.

The walk reproduces ``arith``'s real files within 0.23 % (2 photos, q30 and q75, RDOQ
off).

Each photo of ``--data`` (default: the training photos) is quantized by
``ycbcr(subsampling=444)|TRANSFORM|deadzone`` at the qualities; the figure is the
change in total bits against ``arith``'s estimates (negative: fewer).

    python benchmarks/cm_study.py [--data DIR] [--limit 6] [--transform dwt | --pipeline SPEC]
        [--qualities 10,30,50,75] [--prior 20]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit
from PIL import Image

HERE = Path(__file__).resolve().parent
TRAIN = HERE.parent.parent / "shared" / "datasets" / "train"

import hybridcodec  # noqa: E402
from hybridcodec.entropy import coefficients as cm  # noqa: E402
from hybridcodec.plugin import encode_forward, flatten  # noqa: E402
from hybridcodec.stages.arith import Arith  # noqa: E402

NK, NEG = cm.NK, cm.NEG
SIG0, MAG0, EG0, SGN0, PER = cm._SIG0, cm._MAG0, cm._EG0, cm._SGN0, cm.PER_CLASS
# decision kinds: 0 significance, 1..NK unary bins, NK+1 escape prefix, NK+2 sign
KINDS = NK + 3
N_IN = 9  # mixer inputs: fast, slow, secondary 1, 2, 3, frozen prior of the primary and of secondary 2, features, bias
N_F = 11  # features of the logistic model over the causal neighbourhood and the references
SEC1 = 32 * 8  # exact activity (0..31) x reference activity (0..7)
SEC3 = 3 * 3 * 2 * 2 * 8 * 4  # |NW|, |NE| (0..2), |NN| > 0, |WW| > 0, zero run (0..7), bin (0..3)
SEC2 = 4 * 4 * 4 * 2 * 4  # |W| (0..3) x |N| (0..3) x reference activity (0..3) x parent significant x bin (0..3)


@njit(cache=True)
def _stretch(p):  # p: probability of 1, in (0, 1)
    return math.log(p / (1.0 - p))


@njit(cache=True)
def _squash(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True)
def _count_update(pr, c, bit):
    """arith's counter (hybridcodec.entropy.range_coder._update), as floats of p(0)."""
    n = pr[c, 2]
    if n < 31:
        pr[c, 2] = n + 1
        r = 1 if n < 1 else (2 if n < 3 else (3 if n < 7 else (4 if n < 15 else 5)))
        rf, rs = min(r, 4), min(r, 6)
    else:
        rf, rs = 4, 6
    target = 0.0 if bit else 1.0
    pr[c, 0] += (target - pr[c, 0]) / (1 << rf)
    pr[c, 1] += (target - pr[c, 1]) / (1 << rs)


@njit(cache=True)
def _clip(p):
    return min(max(p, 1.0 / 4096), 1.0 - 1.0 / 4096)


@njit(cache=True)
def _code(mode, bit, kind, cls, c, s1, s2, st, s3, sel, f):
    """-log2 p(bit) of one decision, then every model learns it.  ``st``: the models'
    state (a tuple of arrays)."""
    prim, sec1, sec2, wts, apm, lr, sec3, fprim, fsec2, wf = st
    p_arith = _clip(1.0 - 0.5 * (prim[c, 0] + prim[c, 1]))  # p(1)
    if mode == 0:
        p = p_arith
        inputs = np.zeros(N_IN)
        a_idx, a_w = 0, 0.0
    else:
        inputs = np.empty(N_IN)
        inputs[0] = _stretch(_clip(1.0 - prim[c, 0]))
        inputs[1] = _stretch(_clip(1.0 - prim[c, 1]))
        inputs[2] = _stretch(_clip(1.0 - 0.5 * (sec1[s1, 0] + sec1[s1, 1])))
        inputs[3] = _stretch(_clip(1.0 - 0.5 * (sec2[s2, 0] + sec2[s2, 1])))
        inputs[4] = _stretch(_clip(1.0 - 0.5 * (sec3[s3, 0] + sec3[s3, 1])))
        inputs[5] = _stretch(_clip(1.0 - 0.5 * (fprim[c, 0] + fprim[c, 1])))
        inputs[6] = _stretch(_clip(1.0 - 0.5 * (fsec2[s2, 0] + fsec2[s2, 1])))
        v = wf[cls * KINDS + kind]
        xf = 0.0
        for i in range(N_F):
            xf += v[i] * f[i]
        xf = min(max(xf, -8.0), 8.0)
        inputs[7] = xf
        inputs[8] = 0.3
        if mode == 1:  # arith's estimate through the APM only
            x = _stretch(p_arith)
        else:
            w = wts[(cls * KINDS + kind) * 4 + sel]
            x = 0.0
            for i in range(N_IN):
                x += w[i] * inputs[i]
        pm = _clip(_squash(x))
        # APM: 33 buckets over stretch in [-8, 8], interpolated, per decision kind
        t = (min(max(x, -7.999), 7.999) + 8.0) * 2.0
        a_idx = int(t)
        a_w = t - a_idx
        row = apm[kind]
        pa = _clip(row[a_idx] * (1.0 - a_w) + row[a_idx + 1] * a_w)
        p = _clip(0.25 * pm + 0.75 * pa)
        if mode >= 2:  # the mixer learns from its own output's error
            err = bit - pm
            w = wts[(cls * KINDS + kind) * 4 + sel]
            for i in range(N_IN):
                w[i] += lr * err * inputs[i]
        ef = bit - _squash(xf)
        for i in range(N_F):
            v[i] += 0.002 * ef * f[i]
        row[a_idx] += (bit - row[a_idx]) * 0.02 * (1.0 - a_w)
        row[a_idx + 1] += (bit - row[a_idx + 1]) * 0.02 * a_w
    bits = -math.log2(p if bit else 1.0 - p)
    _count_update(prim, c, bit)
    if mode > 0:
        _count_update(sec1, s1, bit)
        _count_update(sec2, s2, bit)
        _count_update(sec3, s3, bit)
    return bits


@njit(cache=True)
def _walk(mode, coef, bands, qsig, qpar, qmag, st):
    """arith's encoding walk (hybridcodec.entropy.coefficients._run) over every band,
    charging each decision ``_code``'s bits."""
    total = 0.0
    nb_cls = PER
    for bi in range(bands.shape[0]):
        off, h, w, cls, pred = bands[bi, 0], bands[bi, 1], bands[bi, 2], bands[bi, 3], bands[bi, 4]
        if h <= 0 or w <= 0:
            continue
        base = cls * nb_cls
        refs = np.zeros(h * w, np.int64)
        psig = np.zeros(h * w, np.int64)
        pbox = np.zeros(h * w, np.int64)  # |v| summed over the 3x3 around the parent's position
        for k in range(4):
            r = bands[bi, 5 + 3 * k]
            if r < 0 or bands[r, 1] <= 0 or bands[r, 2] <= 0:
                continue
            ro, rh, rw = bands[r, 0], bands[r, 1], bands[r, 2]
            sy, sx = bands[bi, 6 + 3 * k], bands[bi, 7 + 3 * k]
            for y in range(h):
                ry = min(y >> 1 if sy < 0 else (y << 1 if sy > 0 else y), rh - 1)
                for x in range(w):
                    rx = min(x >> 1 if sx < 0 else (x << 1 if sx > 0 else x), rw - 1)
                    v = abs(coef[ro + ry * rw + rx])
                    refs[y * w + x] += v
                    if k == 0:
                        if v != 0:
                            psig[y * w + x] = 1
                        for dy in range(-1, 2):
                            for dx in range(-1, 2):
                                yy, xx = ry + dy, rx + dx
                                if 0 <= yy < rh and 0 <= xx < rw:
                                    pbox[y * w + x] += abs(coef[ro + yy * rw + xx])
        nb = np.zeros(h * w, np.int64)  # what the neighbourhood reads (residuals in a predicted band)
        for y in range(h):
            for x in range(w):
                i = off + y * w + x
                p = 0
                if pred:
                    if y == 0:
                        p = coef[i - 1] if x > 0 else 0
                    elif x == 0:
                        p = coef[i - w]
                    else:
                        a_, b_, c_ = coef[i - 1], coef[i - w], coef[i - w - 1]
                        if c_ >= max(a_, b_):
                            p = min(a_, b_)
                        elif c_ <= min(a_, b_):
                            p = max(a_, b_)
                        else:
                            p = a_ + b_ - c_
                r = np.int64(coef[i]) - p
                j = y * w + x
                vw = nb[j - 1] if x > 0 else 0
                vww = nb[j - 2] if x > 1 else 0
                n1 = nb[j - w] if y > 0 else 0
                nw = nb[j - w - 1] if y > 0 and x > 0 else 0
                ne = nb[j - w + 1] if y > 0 and x < w - 1 else 0
                nn = nb[j - 2 * w] if y > 1 else 0
                a = 2 * abs(n1) + abs(nw) + abs(ne) + abs(nn) + 2 * abs(vw) + abs(vww)
                pc = refs[j]
                c = base + SIG0 + qpar[min(pc, 15)] * 3 + qsig[min(a, 63)] * 9
                s1 = (cls * SEC1 + min(a, 31) * 8 + min(pc, 7)) % st[1].shape[0]
                qw, qn = min(abs(vw), 3), min(abs(n1), 3)
                qp = 0 if pc == 0 else (1 if pc < 3 else (2 if pc < 8 else 3))
                s2b = cls * SEC2 + (((qw * 4 + qn) * 4 + qp) * 2 + psig[j]) * 4
                run = 0
                while run < 7 and x - run - 1 >= 0 and nb[j - run - 1] == 0:
                    run += 1
                s3b = cls * SEC3 + ((((min(abs(nw), 2) * 3 + min(abs(ne), 2)) * 2 + (nn != 0)) * 2 + (vww != 0)) * 8
                                    + run) * 4
                f = np.empty(N_F)
                f[0] = math.log2(1.0 + abs(vw))
                f[1] = math.log2(1.0 + abs(n1))
                f[2] = math.log2(1.0 + abs(nw))
                f[3] = math.log2(1.0 + abs(ne))
                f[4] = math.log2(1.0 + abs(vww))
                f[5] = math.log2(1.0 + abs(nn))
                f[6] = math.log2(1.0 + pc)
                f[7] = psig[j]
                f[8] = run / 4.0
                f[9] = math.log2(1.0 + pbox[j])
                f[10] = 1.0
                nz = 1 if r != 0 else 0
                total += _code(mode, nz, 0, cls, c, s1, s2b, st, s3b, qp, f)
                nb[j] = r if pred else coef[i]
                if nz == 0:
                    continue
                t = min(a + pc, 63)
                m = abs(r)
                mctx = base + MAG0 + qmag[t] * NK
                k = 1
                while k <= NK:
                    more = 1 if m > k else 0
                    s1m = (cls * SEC1 + min(t, 31) * 8 + min(k - 1, 7)) % st[1].shape[0]
                    total += _code(mode, more, k, cls, mctx + k - 1, s1m, s2b + min(k - 1, 3), st, s3b + min(k - 1, 3),
                                   qp, f)
                    if more == 0:
                        break
                    k += 1
                if k > NK:  # Exp-Golomb of m - NK - 1: adaptive prefix, raw suffix
                    v = m - NK - 1 + 1
                    nbits = 0
                    while (v >> (nbits + 1)) > 0:
                        nbits += 1
                    for jj in range(nbits + 1):
                        bit = 1 if jj < nbits else 0
                        total += _code(mode, bit, NK + 1, cls, base + EG0 + min(jj, NEG - 1), 0, 0, st, 0, 0, f)
                    total += nbits
                sw = (vw > 0) - (vw < 0)
                sn = (n1 > 0) - (n1 < 0)
                total += _code(mode, 1 if r < 0 else 0, NK + 2, cls, base + SGN0 + 3 * (sw + 1) + (sn + 1),
                               (cls * SEC1 + (sw + 1) * 3 + sn + 1) % st[1].shape[0], s2b, st, s3b, qp, f)
    return total


def fresh_state(lr=0.005):
    n_cls = cm.N_CLASSES
    prim = np.zeros((n_cls * PER, 3))
    prim[:, :2] = 0.5
    sec1 = np.zeros((n_cls * SEC1, 3))
    sec1[:, :2] = 0.5
    sec2 = np.zeros((n_cls * SEC2, 3))
    sec2[:, :2] = 0.5
    sec3 = np.zeros((n_cls * SEC3, 3))
    sec3[:, :2] = 0.5
    wts = np.zeros((n_cls * KINDS * 4, N_IN))
    wts[:, 0] = wts[:, 1] = 0.5  # start as arith's mean of the two counters (in the stretch domain)
    apm = np.tile(_squash_row(), (KINDS, 1))
    wf = np.zeros((n_cls * KINDS, N_F))
    return (prim, sec1, sec2, wts, apm, lr, sec3, prim.copy(), sec2.copy(), wf)


def _squash_row():
    return 1.0 / (1.0 + np.exp(-(np.arange(33) / 2.0 - 8.0)))


def prior_of(states):
    """A prior from a pass over other photos: mixer weights and APM as they ended, and
    every counter reset to its learned probability with a count that lets it adapt."""
    prim, sec1, sec2, wts, apm, lr, sec3, _, _, wf = states
    out = []
    for a in (prim, sec1, sec2, sec3):
        b = a.copy()
        b[:, 2] = np.minimum(b[:, 2], 7)  # young again: adapts to the new image fast
        out.append(b)
    return (out[0], out[1], out[2], wts.copy(), apm.copy(), lr, out[3], prim.copy(), sec2.copy(), wf.copy())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(TRAIN))
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--transform", default="dwt")
    ap.add_argument("--pipeline", help="the forward stages instead (e.g. 'ycbcr(subsampling=420)|dct|jpegq')")
    ap.add_argument("--qualities", default="10,30,50,75")
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--prior", type=int, default=10, help="training photos the prior is learned on (not measured)")
    args = ap.parse_args(argv)
    files = sorted(p for p in Path(args.data).rglob("*") if p.suffix.lower() in (".png", ".jpg"))
    if not files:
        sys.exit(f"no photos in {args.data}")
    files = files[:: max(1, len(files) // args.limit)][: args.limit]
    prior_files = [p for p in sorted(Path(TRAIN).rglob("*")) if p.suffix.lower() in (".png", ".jpg")
                   and p not in files][1::17][: args.prior]
    qualities = [float(q) for q in args.qualities.split(",")]
    pipe = hybridcodec.Pipeline((args.pipeline or f"ycbcr(subsampling=444)|{args.transform}|deadzone") + "|arith")
    qs = (cm._QSIG, cm._QPAR, cm._QMAG)

    def coefs(path, q):
        with Image.open(path) as im:
            img = np.asarray(im.convert("RGB"))
        planes, layout = encode_forward(pipe, img, q)
        bands, _ = Arith._plan(layout)
        return flatten(planes, layout).astype(np.int64), bands

    # the prior: one pass over photos outside the measured ones, every quality, models carried along
    trained = fresh_state(args.lr)
    for f in prior_files:
        for q in qualities:
            c, b = coefs(f, q)
            _walk(3, c, b, *qs, trained)
    prior = prior_of(trained)
    names = ["arith", "+apm", "mix", "mix+prior"]
    totals = np.zeros(4)
    start = time.perf_counter()
    for f in files:
        for q in qualities:
            c, b = coefs(f, q)
            for mode in range(4):
                st = prior_of(prior) if mode == 3 else fresh_state(args.lr)
                totals[mode] += _walk(min(mode, 2) if mode < 3 else 2, c, b, *qs, st)
        print(f"{f.name}: " + ", ".join(f"{n} {100 * (t / totals[0] - 1):+.2f} %" for n, t in zip(names[1:], totals[1:])),
              flush=True)
    print(f"{len(files)} photos x {len(qualities)} qualities, {args.pipeline or args.transform}: arith {totals[0] / 8 / 1024:.0f} KiB; "
          + ", ".join(f"{n} {100 * (t / totals[0] - 1):+.2f} %" for n, t in zip(names[1:], totals[1:]))
          + f" ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
