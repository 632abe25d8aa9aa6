"""Stage ``cnn``: a learned post-filter run by the decoder after the inverse transform."""

from __future__ import annotations

import numpy as np

from hybridcodec import CodecError, Param, Stage, register_stage
from hybridcodec.plugin import release_free_memory

from .. import weights
from ._torch import use_torch

# torch is imported when the network first runs, not with the stage: parsing a spec
# that names cnn (or refusing one that names it 250 times) must not cost torch's import

__all__ = ["CNNPostFilter", "apply_filter", "families", "family_artefact", "register_postfilter_family"]

_STRIP = 512  # rows filtered at a time, so memory stays bounded on large images
_TILE = 1536  # and at most this many columns (a tile's activations: ~130 MB)
_MARGIN = 32  # pixels of context around a tile (the network sees 34 pixels)


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


def apply_filter(net, image: np.ndarray, quality: float, shift: float = 0.0, views: int = 0,
                 mix: bytes | None = None, in_place: bool = False) -> np.ndarray:
    """Filter an RGB float image (0..255) tile by tile; ``shift`` is added to the
    quality's strength.  ``views`` (a mask of :data:`VIEWS`) adds mirrored copies of the
    image, each filtered and mirrored back, to an average with the plain one.  Given
    ``mix``, the image with the correction blended in (:func:`_blend`), tile by tile.
    ``in_place``: the result overwrites ``image`` (float32) strip by strip, keeping only
    the unfiltered rows the next strip needs as context; so a decoder holds the image
    and one strip, not two images."""
    flips = [(False, False)] + [f for bit, f in enumerate(_VIEW_FLIPS) if views >> bit & 1]
    return _apply(net, image, quality, shift, flips, mix, in_place)


def _apply(net, image, quality, shift, flips, mix=None, in_place=False, residual=None) -> np.ndarray:
    """:func:`apply_filter` over the views ``flips`` ((rows, columns) mirrored).  Given
    ``residual`` (an array shaped like ``image``, of any float type), the filtered image
    less ``image`` is written into it, tile by tile, and it is returned."""
    torch = use_torch()

    from ..nets.postfilter import strength

    h, w = image.shape[:2]
    in_place = in_place and image.dtype == np.float32 and image.flags.writeable and residual is None
    out = image if in_place else residual if residual is not None else np.empty_like(image, dtype=np.float32)
    s = torch.tensor([strength(quality) + shift])
    above = image[:0]  # in place: the unfiltered rows just above the strip (its context there)
    with torch.no_grad():
        for y0, y1, tiles in _strips(h, w):
            # the unfiltered rows a strip's tiles may read: _MARGIN (+1 for the even grid) each side
            top, bottom = max(0, y0 - _MARGIN - 1), min(h, y1 + _MARGIN + 1)
            src = np.concatenate([above[len(above) - (y0 - top):], image[y0:bottom]]) if in_place else image[top:bottom]
            done = np.empty((y1 - y0, w, image.shape[2]), np.float32) if in_place else out[y0:y1]
            for x0, x1 in tiles:
                acc = _filter_region(net, torch, src, top, h, w, s, y0, y1, x0, x1, *flips[0])
                for f in flips[1:]:
                    acc += _filter_region(net, torch, src, top, h, w, s, y0, y1, x0, x1, *f)
                if len(flips) > 1:
                    acc /= len(flips)
                if mix is not None:
                    plain = src[y0 - top : y1 - top, x0:x1]
                    acc = _blend(plain, acc - plain, mix)
                elif residual is not None:
                    acc -= src[y0 - top : y1 - top, x0:x1]
                done[:, x0:x1] = acc
            if in_place:
                above = src[max(0, y1 - _MARGIN - 1) - top : y1 - top].copy()
                del src
                out[y0:y1] = done
            del done
            release_free_memory(h * w)  # the strip's temporaries, before the next one's
    return out


def _strips(h: int, w: int):
    """(y0, y1, [(x0, x1), ...]): strips of _STRIP rows, each cut into the same columns of
    at most _TILE columns (even widths, so that the 2x2 folding keeps its grid)."""
    large = h * w >= _LARGE  # a large image: tiles a quarter the size (~100 MB -> ~50), 15 % more work
    n = -(-w // (_TILE // 2 if large else _TILE))
    step = -(-w // n)
    step += step % 2
    columns = [(left, min(w, left + step)) for left in range(0, w, step)]
    rows = _STRIP // 2 if large else _STRIP
    for top in range(0, h, rows):
        yield top, min(h, top + rows), columns


def _tiles(h: int, w: int):
    """The output regions (y0, y1, x0, x1) of :func:`_strips`, one by one."""
    for y0, y1, columns in _strips(h, w):
        for x0, x1 in columns:
            yield y0, y1, x0, x1


def _span(lo: int, hi: int, n: int, flip: bool) -> tuple[int, int, int, int]:
    """For output positions [lo, hi) of an axis of length n: the view's positions
    [vlo, vhi) (the axis mirrored when ``flip``) and the context [a, b) fed to the
    network, ``a`` even in the view's coordinates (the folding's grid and the phase)."""
    vlo, vhi = (n - hi, n - lo) if flip else (lo, hi)
    a, b = max(0, vlo - _MARGIN), min(n, vhi + _MARGIN)
    return vlo, vhi, a - a % 2, b


def _filter_region(net, torch, src, top, h, w, s, y0, y1, x0, x1, flip_rows, flip_cols) -> np.ndarray:
    """The filtered pixels [y0:y1, x0:x1] of the h x w image's view mirrored as asked, in
    the image's orientation, from ``src`` (the image's unfiltered rows from ``top`` on):
    the network sees the region with _MARGIN pixels of context, in the view's
    coordinates, so the result is the whole view's within float rounding."""
    vy0, vy1, a, b = _span(y0, y1, h, flip_rows)
    vx0, vx1, c, d = _span(x0, x1, w, flip_cols)
    rows = slice(h - b - top, h - a - top) if flip_rows else slice(a - top, b - top)
    cols = slice(w - d, w - c) if flip_cols else slice(c, d)
    if rows.start < 0 or rows.stop > len(src):
        raise AssertionError(f"cnn: the context rows {rows} are not in the {len(src)} rows held")
    region = src[rows, cols]
    region = region[::-1] if flip_rows else region
    region = region[:, ::-1] if flip_cols else region
    x = torch.from_numpy(np.ascontiguousarray(region.transpose(2, 0, 1), dtype=np.float32) / 255.0)
    # channels-last: measured on a Kodak image, 2 threads, 0.36 -> 0.26 s a run
    x = x[None].contiguous(memory_format=torch.channels_last)
    y = net(x, s, (a, c))[0].numpy().transpose(1, 2, 0)[vy0 - a : vy1 - a, vx0 - c : vx1 - c] * 255.0
    y = y[::-1] if flip_rows else y
    return y[:, ::-1] if flip_cols else y


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
            best = self._search(net, decoded, original, ctx, runs - 1)
            for older in art.retired_paths():
                if any(best[1]) or not older.exists():
                    break
                # the family's weights leave the filter off: its retired ones (which every decoder
                # has) may not (on scikit-image photos at q3, today's lifting weights helped 2 of 5)
                other, other_digest, _ = weights.load_file(art.format, str(older), art.label)
                tried = self._search(other, decoded, original, ctx, runs - 1)
                if any(tried[1]):
                    best, digest = tried, other_digest
        _, mix, shift, views, correction = best
        if not -16 <= shift < 16 or not 0 <= views < 8:
            raise AssertionError(f"cnn: shift {shift} / views {views} do not fit the packed byte")
        ctx.emit(self.index, mix + bytes([(views << 5) | (shift & 31)]) + digest[:_DIGEST])
        # the filtered image (what decode gives, within float rounding), for a post-filter after
        # this one: blended into the decoded image's own memory
        if correction is None or not any(mix):
            return decoded
        out = decoded if decoded.flags.writeable and decoded.dtype == np.float32 else decoded.astype(np.float32)
        return _blend_rows(out, correction, mix)

    def _runs_allowed(self, decoded, ctx) -> int:
        """How many runs of the network (the plain view and up to 3 mirrored ones) the
        file may ask its decoder for under the decoder's work rule (docs/FORMAT.md,
        "Work"), given what the stages before asked for and the bytes coded so far: the
        encoder leaves views out (and at worst the filter) rather than pad the file."""
        from hybridcodec import work_limit

        per_run = self.decode_macs / 4 * decoded.shape[0] * decoded.shape[1]
        room = work_limit(ctx.coded_bytes) - ctx.work
        return int(max(0, min(4, room // per_run))) if per_run else 4

    def _search(self, net, decoded, original, ctx, max_views=3):
        """(mse, mix, shift, views, correction) of the best setting of ``net`` found (mix
        all 0: off); ``correction`` as :func:`_candidate` takes it.

        Memory: besides the images, two corrections (the best one and the candidate),
        float16 on images of ``_LARGE`` pixels or more (float32 below: the same files
        as the search that held every correction); the coding error, the colour fit and
        the MSEs go row by row (:func:`_rows`).  On 6000x4000, 12 bytes a pixel in all."""
        h, w = decoded.shape[:2]
        store = np.float16 if h * w >= _LARGE else np.float32
        best = (_mse(decoded, original), bytes(9), 0, 0, None)
        tried = []  # the shifts whose plain view was filtered
        spare = [np.empty(decoded.shape, store)]  # the candidate's buffer

        def try_shift(best, shift):
            tried.append(shift)
            buf = _filter_residual(net, decoded, ctx.quality, shift / _SHIFT_ONE, spare[0])
            won = _try(best, decoded, original, (buf, None, 1), shift, 0)
            if won is not best:  # the buffer is the best's now; the old best's is free
                spare[0] = best[4][0] if best[4] is not None else np.empty(decoded.shape, store)
            return won

        for shift in _SHIFTS_TRIED:  # in order, while the last one tried is the best
            if tried and best[2] != max(tried):
                break
            best = try_shift(best, shift)
        if any(best[1]):  # the odd shifts next to the chosen one, until one wins
            for shift in (best[2] - 1, best[2] + 1):
                if 0 <= shift < 16 and shift not in tried:
                    won = try_shift(best, shift)
                    if won is not best:
                        best = won
                        break
        if any(best[1]):  # mirrored views, at the shift the plain one chose, while each wins
            shift, (total, _, n) = best[2], best[4]  # the sum of the views' corrections so far
            view = spare[0]
            for mask, (rows, cols) in tuple(zip((1, 3, 7), _VIEW_FLIPS))[:max_views]:
                flip = (slice(None, None, -1 if rows else 1), slice(None, None, -1 if cols else 1))
                # the mirrored view as a view of the array (no copy): the tiles copy what they take
                _filter_residual(net, decoded[flip], ctx.quality, shift / _SHIFT_ONE, view[flip])
                tried_views = _try(best, decoded, original, (total, view, n + 1), shift, mask)
                if tried_views is best:
                    break
                for r in _rows(h, w):
                    total[r] += view[r]
                n += 1
                best = tried_views[:4] + ((total, None, n),)
        return best

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
        return apply_filter(net, image, ctx.quality, shift / _SHIFT_ONE, views, mix, in_place=True)


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
_VIEW_FLIPS = ((False, True), (True, False), (True, True))  # (rows, columns) mirrored: left-right, up-down, both
VIEWS = tuple(lambda a, r=r, c=c: a[::-1 if r else 1, ::-1 if c else 1] for r, c in _VIEW_FLIPS)
_MIX_ONE = 64  # a stored signed byte m stands for m / 64


def _best_mix(correction: np.ndarray, error: np.ndarray) -> bytes:
    """The 3 x 3 colour matrix that, applied to the network's correction, best matches
    the coding error (least squares), as 9 signed bytes (row k: how much of the
    correction of channel k goes into R, G, B); all 0 turns the filter off."""
    r = correction.reshape(-1, 3).astype(np.float64)
    e = error.reshape(-1, 3).astype(np.float64)
    return _mix_from(r.T @ r, r.T @ e)


def _mix_from(gram: np.ndarray, cross: np.ndarray) -> bytes:
    """:func:`_best_mix` from the normal equations' sums (correction'correction and
    correction'error), which the search gathers row by row."""
    m, *_ = np.linalg.lstsq(gram, cross, rcond=None)
    return np.clip(np.rint(m * _MIX_ONE), -128, 127).astype(np.int8).tobytes()


_LARGE = 1 << 22  # pixels from which the encoder's search keeps its corrections in float16
_ROW_PIXELS = 1 << 18  # the fit and the MSEs of the search take about this many pixels at a time


def _filter_residual(net, image, quality, shift, out):
    """The network's correction of ``image`` (filtered less plain), written into ``out``."""
    return _apply(net, image, quality, shift, [(False, False)], residual=out)


def _rows(h: int, w: int):
    """Slices of whole rows, about _ROW_PIXELS pixels each."""
    step = max(1, _ROW_PIXELS // max(w, 1))
    return [slice(y, min(h, y + step)) for y in range(0, h, step)]


def _candidate(correction, rows) -> np.ndarray:
    """Rows of a correction ``(total, extra, n)``: ``(total + extra) / n`` in float32
    (``extra`` may be None), the same arithmetic as on whole images."""
    total, extra, n = correction
    c = total[rows].astype(np.float32, copy=False)
    if extra is not None:
        c = c + extra[rows]
    return c / n if n != 1 else c


def _try(best, decoded, original, correction, shift, views):
    h, w = decoded.shape[:2]
    gram, cross = np.zeros((3, 3)), np.zeros((3, 3))
    for r in _rows(h, w):
        c = _candidate(correction, r).reshape(-1, 3).astype(np.float64)
        e = (original[r].astype(np.float32) - decoded[r]).reshape(-1, 3).astype(np.float64)
        gram += c.T @ c
        cross += c.T @ e
    mix = _mix_from(gram, cross)
    if not any(mix):
        return best
    mse = _mse(decoded, original, correction, mix)
    return (mse, mix, shift, views, correction) if mse < best[0] else best


def _mse(decoded, original, correction=None, mix=None) -> float:
    """The MSE against ``original`` of ``decoded`` (with ``correction`` blended in by
    ``mix``) rounded and clipped to 8 bits, row by row."""
    h, w = decoded.shape[:2]
    total = 0.0
    for r in _rows(h, w):
        t = np.array(decoded[r]) if correction is None else _blend(decoded[r], _candidate(correction, r), mix)
        np.rint(t, out=t)
        np.clip(t, 0, 255, out=t)
        t -= original[r]
        t *= t
        total += float(t.sum(dtype=np.float64))
    return total / max(decoded.size, 1)


def _blend_rows(image, correction, mix):
    """``image`` with ``correction`` blended in by ``mix``, in place, row by row."""
    h, w = image.shape[:2]
    for r in _rows(h, w):
        image[r] = _blend(image[r], _candidate(correction, r), mix)
    return image


def _blend(image: np.ndarray, correction: np.ndarray, mix: bytes) -> np.ndarray:
    m = np.frombuffer(mix, np.int8).astype(np.float32).reshape(3, 3) / _MIX_ONE
    out = correction @ m
    out += image  # image + correction @ m, without a second temporary
    return out
