"""Stage ``cnn``: a learned post-filter run by the decoder after the inverse transform."""

from __future__ import annotations

import numpy as np

from hybridcodec import CodecError, Param, Stage, register_stage

from .. import weights
from ._torch import use_torch

# torch is imported when the network first runs, not with the stage: parsing a spec
# that names cnn (or refusing one that names it 250 times) must not cost torch's import

__all__ = ["CNNPostFilter", "apply_filter", "families", "family_artefact", "register_postfilter_family"]

_STRIP = 512  # rows filtered at a time, so memory stays bounded on large images
_MARGIN = 32  # rows of context above and below a strip (the network sees 34 pixels)


def families() -> tuple:
    """The transform families that have post-filter weights (shipped or registered)."""
    return tuple(a.family for a in weights.artefacts("postfilter"))


def family_artefact(family: str) -> weights.Artefact:
    """The post-filter weights of a transform family; CodecError naming the others."""
    found = weights.artefacts("postfilter", family) if family else []
    if not found:
        names = families()
        raise CodecError(f"cnn has no weights for transform family {family or 'none'!r} (it has weights "
                         f"for {', '.join(names)}); name one, as in cnn(weights={names[-1]}), train "
                         "them with `hybridcodec train postfilter`, or drop +cnn from the pipeline")
    return found[-1]


def register_postfilter_family(family: str, folder=None, preset: str = "") -> weights.Artefact:
    """Give transform family ``family`` post-filter weights: the file
    ``FOLDER/postfilter-FAMILY.pt`` (shipped folder when None), trained by
    ``hybridcodec train postfilter --preset PRESET``.  A stage whose ``family`` is this
    one then works with ``+cnn``."""
    if not family or not family.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"a post-filter family needs a name of letters, digits, '-' and '_'; got {family!r}")
    return weights.register(weights.Artefact(
        f"postfilter-{family}", format="postfilter", label="cnn weights", family=family, digest=_DIGEST,
        read_digests=(8, 32), folder=folder, preset=preset,
        train=f"hybridcodec train postfilter --preset {preset or 'PRESET'}"))


def apply_filter(net, image: np.ndarray, quality: float, shift: float = 0.0, views: int = 0) -> np.ndarray:
    """Filter an RGB float image (0..255), strip by strip; ``shift`` is added to the
    quality's strength.  ``views`` (a mask of :data:`VIEWS`) adds mirrored copies of the
    image, each filtered and mirrored back, to an average with the plain one."""
    out = _filter(net, image, quality, shift)
    n = 1
    for bit, flip in enumerate(VIEWS):
        if views >> bit & 1:
            out += flip(_filter(net, np.ascontiguousarray(flip(image)), quality, shift))
            n += 1
    if n > 1:
        out /= n
    return out


def _filter(net, image: np.ndarray, quality: float, shift: float) -> np.ndarray:
    torch = use_torch()

    from ..nets.postfilter import strength

    with torch.no_grad():
        h = image.shape[0]
        s = torch.tensor([strength(quality) + shift])
        out = np.empty_like(image, dtype=np.float32)
        for top in range(0, h, _STRIP):
            a, b = max(0, top - _MARGIN), min(h, top + _STRIP + _MARGIN)
            a -= a % 2  # keep the 2x2 folding aligned with the image's block grid
            x = torch.from_numpy(np.ascontiguousarray(image[a:b].transpose(2, 0, 1), dtype=np.float32) / 255.0)
            # channels-last: measured on a Kodak image, 2 threads, 0.36 -> 0.26 s a run
            x = x[None].contiguous(memory_format=torch.channels_last)
            y = net(x, s, (a, 0))[0].numpy().transpose(1, 2, 0) * 255.0
            out[top : min(h, top + _STRIP)] = y[top - a : top - a + min(_STRIP, h - top)]
        return out


@register_stage
class CNNPostFilter(Stage):
    """Residual CNN post-filter conditioned on the quantization strength; one set of
    weights per transform family (``dct``, ``dwt``, ``learned``, ``lifting``) serves every quality.  The encoder
    stores how to apply the network's correction to this image (a 3 x 3 colour matrix
    fitted by least squares, all 0 = off), the strength shift it chose, which mirrored
    views of the image to average the correction over, and which weights (the first 4
    bytes of their sha256) it used; the decoder refuses other weights."""

    name = "cnn"
    kind = "postfilter"
    # a view of the network: (29 x 48 + 6 x 48 x 48 + 48 x 12) x 9 MACs a folded cell, 4 pixels each;
    # the decoder runs 1 to 4 views; the encoder's search up to 8 runs (3 + 2 strength shifts, 3
    # views), and as many again with the family's retired weights while today's leave the filter off
    decode_macs = 4 * (29 * 48 + 6 * 48 * 48 + 48 * 12) * 9 / 4
    encode_macs = 4 * decode_macs
    doc = "learned residual CNN post-filter (one weight file per transform family)"
    params = (Param("weights", str, "auto", "weight family: auto = the pipeline's transform family, or a family "
                    "with post-filter weights (shipped: dct, dwt, learned, lifting; plugins may register more)"),)

    def check(self) -> None:
        if self.weights != "auto":
            family_artefact(self.weights)

    def _artefact(self, ctx) -> weights.Artefact:
        return family_artefact(ctx.family if self.weights == "auto" else self.weights)

    def encode(self, original, decoded, ctx):
        art = self._artefact(ctx)
        net, digest, _ = art.load()
        best = (np.inf, bytes(9), 0, 0, None)
        runs = self._runs_allowed(decoded, ctx)
        if decoded.shape[2] == 3 and runs:
            error = original.astype(np.float32) - decoded
            best = self._search(net, decoded, original, error, ctx, runs - 1)
            for older in art.retired_paths():
                if any(best[1]) or not older.exists():
                    break
                # the family's weights leave the filter off: its retired ones (which every decoder
                # has) may not (on scikit-image photos at q3, today's lifting weights helped 2 of 5)
                other, other_digest, _ = weights.load_file(art.format, str(older), art.label)
                tried = self._search(other, decoded, original, error, ctx, runs - 1)
                if any(tried[1]):
                    best, digest = tried, other_digest
        _, mix, shift, views, correction = best
        if not -16 <= shift < 16 or not 0 <= views < 8:
            raise AssertionError(f"cnn: shift {shift} / views {views} do not fit the packed byte")
        ctx.emit(self.index, mix + bytes([(views << 5) | (shift & 31)]) + digest[:_DIGEST])
        # the filtered image (what decode gives, within float rounding), for a post-filter after this one
        return decoded if correction is None or not any(mix) else _blend(decoded, correction, mix)

    def _runs_allowed(self, decoded, ctx) -> int:
        """How many runs of the network (the plain view and up to 3 mirrored ones) the
        file may ask its decoder for under the decoder's work rule (docs/FORMAT.md,
        "Work"), given what the stages before asked for and the bytes coded so far: the
        encoder leaves views out (and at worst the filter) rather than pad the file."""
        from hybridcodec import work_limit

        per_run = self.decode_macs / 4 * decoded.shape[0] * decoded.shape[1]
        room = work_limit(ctx.coded_bytes) - ctx.work
        return int(max(0, min(4, room // per_run))) if per_run else 4

    def _search(self, net, decoded, original, error, ctx, max_views=3):
        """(mse, mix, shift, views, correction) of the best setting of ``net`` found (mix all 0: off)."""
        best = (self._mse(decoded, original), bytes(9), 0, 0, None)
        plain = {}  # shift -> the plain view's correction

        def try_shift(best, shift):
            plain[shift] = apply_filter(net, decoded, ctx.quality, shift / _SHIFT_ONE) - decoded
            return self._try(best, decoded, original, plain[shift], error, shift, 0)

        for shift in _SHIFTS_TRIED:  # in order, while the last one tried is the best
            if plain and best[2] != max(plain):
                break
            best = try_shift(best, shift)
        if any(best[1]):  # the odd shifts next to the chosen one, until one wins
            for shift in (best[2] - 1, best[2] + 1):
                if 0 <= shift < 16 and shift not in plain:
                    won = try_shift(best, shift)
                    if won is not best:
                        best = won
                        break
        if any(best[1]):  # mirrored views, at the shift the plain one chose, while each wins
            shift, corrections = best[2], [plain[best[2]]]
            for mask, flip in ((1, VIEWS[0]), (3, VIEWS[1]), (7, VIEWS[2]))[:max_views]:
                corrections.append(flip(apply_filter(net, np.ascontiguousarray(flip(decoded)), ctx.quality,
                                                     shift / _SHIFT_ONE)) - decoded)
                tried = self._try(best, decoded, original, sum(corrections) / len(corrections), error, shift, mask)
                if tried is best:
                    break
                best = tried
        return best

    @staticmethod
    def _mse(image, original):
        return np.mean((np.clip(np.rint(image), 0, 255) - original) ** 2)

    def _try(self, best, decoded, original, correction, error, shift, views):
        mix = _best_mix(correction, error)
        mse = self._mse(_blend(decoded, correction, mix), original)
        return (mse, mix, shift, views, correction) if mse < best[0] and any(mix) else best

    def decode_work(self, pixels, ctx):
        """A view of the network for each view the side data names, none when it is off."""
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) not in _SIDE_LENGTHS:
            return self.decode_macs * pixels  # decode refuses it; until then, the most
        mix, _, views, _ = _parse_side(side[0])
        if not any(mix) or views >= 1 << len(VIEWS):
            return 0.0
        return self.decode_macs / 4 * (1 + bin(views).count("1")) * pixels

    def decode(self, image, ctx):
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) not in _SIDE_LENGTHS:
            raise CodecError("corrupt .hcx file: bad cnn side data")
        mix, shift, views, digest = _parse_side(side[0])
        if views >= 1 << len(VIEWS):
            raise CodecError(f"corrupt .hcx file: bad cnn side data (views {views})")
        art = self._artefact(ctx)
        # another family's weights (lifting files once used the dwt ones) or retired ones are found too
        net = art.find(digest, also=[a for a in weights.artefacts("postfilter") if a is not art]).obj
        if not any(mix) or image.shape[2] != 3:
            return image
        return _blend(image, apply_filter(net, image, ctx.quality, shift / _SHIFT_ONE, views) - image, mix)


# The encoder also tries telling the network a stronger quantization than the quality's
# (at high qualities that corrects more: +0.02 dB for wavelets at q75-90 on Kodak) and
# stores the shift it chose, in 1/16ths of the strength scale, as a signed byte.
_SHIFT_ONE = 16
# The weights' sha256 is stored cut to its first 4 bytes: enough to tell weight files
# apart (a decoder holds one file per family), 28 bytes less per file than the whole
# digest of the first files (42 bytes of side data), which still decode, as do the
# 8-byte digests of the layouts in between (18 and 19 bytes).  The strength shift and
# the views share a byte: 14 bytes in all, 5 less than before (a cnn file at quality 3
# on Kodak is ~660 bytes: 0.8 % of it).
_DIGEST = 4


def _parse_side(side: bytes):
    """(mix, shift, views, digest) of any layout of the cnn side data."""
    mix = side[:9]
    if len(side) == 10 + _DIGEST:  # today's: views << 5 | shift (5-bit signed), 4 digest bytes
        packed = side[9]
        return mix, (packed & 31) - ((packed & 16) << 1), packed >> 5, side[10:]
    shift = int.from_bytes(side[9:10], "big", signed=True)
    if len(side) == 19:  # the mirrored views' first layout: shift, views, 8 digest bytes
        return mix, shift, side[10], side[11:]
    return mix, shift, 0, side[10:]  # 18 bytes (8 digest bytes) or 42 (all 32): no views


_SIDE_LENGTHS = (10 + _DIGEST, 18, 19, 42)
# Tried in order while the last one tried won (until 2026-11-27 all three: 4 won only at
# q90 on 6 training photos, lifting, by 0.003 dB, and cost a run of the network); then
# the odd shifts beside the winner, until one wins (the same photos, q5-90, lifting+cnn:
# -0.040 % BD-rate, an odd shift chosen 29 times in 60, encoding 14 % slower).
_SHIFTS_TRIED = (0, 2, 4)
# Mirrored views: the network is not equivariant to mirroring, so the average of its
# corrections on the image and on its mirror images is a better one (self-ensemble).
# Side data holds a mask of them.  Measured on 6 training photos (every 30th of
# ../shared/datasets/train), lifting, best of the shifts, colour mix fitted: +dB over the
# plain view, left-right / all three:
# q10 +0.000/+0.000, q30 +0.019/+0.024, q50 +0.021/+0.039, q70 +0.016/+0.027, q90 +0.003/+0.005;
# with postfilter-lifting.pt retrained on RDOQ output, shift 0: left-right / left-right and
# up-down, q30 +0.022/+0.049, q50 +0.021/+0.041, q70 +0.002/+0.013.  The encoder tries
# left-right, then left-right and up-down, then all three, while the last one won (a run
# of the network each); decoding runs the network once per view (plain and two mirrored:
# about 1.1 s for a Kodak image).
VIEWS = (lambda a: a[:, ::-1], lambda a: a[::-1], lambda a: a[::-1, ::-1])
_MIX_ONE = 64  # a stored signed byte m stands for m / 64


def _best_mix(correction: np.ndarray, error: np.ndarray) -> bytes:
    """The 3 x 3 colour matrix that, applied to the network's correction, best matches
    the coding error (least squares), as 9 signed bytes (row k: how much of the
    correction of channel k goes into R, G, B); all 0 turns the filter off."""
    r = correction.reshape(-1, 3).astype(np.float64)
    e = error.reshape(-1, 3).astype(np.float64)
    m, *_ = np.linalg.lstsq(r, e, rcond=None)
    return np.clip(np.rint(m * _MIX_ONE), -128, 127).astype(np.int8).tobytes()


def _blend(image: np.ndarray, correction: np.ndarray, mix: bytes) -> np.ndarray:
    m = np.frombuffer(mix, np.int8).astype(np.float32).reshape(3, 3) / _MIX_ONE
    return image + correction @ m
