"""The stage seam: a transform with a form the library has never seen, and an entropy
model of its own, both defined in this file alone, work with the library's quantizer,
coders, reduced decodes and rate control (no edit under hybridcodec/)."""

import numpy as np
import pytest

import hybridcodec
from hybridcodec import (Band, CodecError, EntropyModel, Param, PlaneInfo, Pipeline, Stage, SymbolTables,
                         register_stage)
from hybridcodec.stages.deadzone import base_step
from conftest import smooth_image

# -- a new transform: two-level averaging Haar on 4x4 tiles ------------------------------


def _split(x):
    """One averaging-Haar level of an even-sized array: (LL, HL, LH, HH)."""
    lo, hi = (x[:, 0::2] + x[:, 1::2]) / 2, x[:, 1::2] - x[:, 0::2]
    return ((lo[0::2] + lo[1::2]) / 2, (hi[0::2] + hi[1::2]) / 2, lo[1::2] - lo[0::2], hi[1::2] - hi[0::2])


def _merge(ll, hl, lh, hh):
    lo, hi = np.empty((2 * ll.shape[0], ll.shape[1])), np.empty((2 * ll.shape[0], ll.shape[1]))
    lo[0::2], lo[1::2] = ll - lh / 2, ll + lh / 2
    hi[0::2], hi[1::2] = hl - hh / 2, hl + hh / 2
    x = np.empty((lo.shape[0], 2 * lo.shape[1]))
    x[:, 0::2], x[:, 1::2] = lo - hi / 2, lo + hi / 2
    return x


def _tile_bands(ty, tx):
    """(key, shape) in storage order: LL, level-2 details (one per tile), level-1 details."""
    return ([("LL", (ty, tx))] + [(f"2{o}", (ty, tx)) for o in ("HL", "LH", "HH")]
            + [(f"1{o}", (2 * ty, 2 * tx)) for o in ("HL", "LH", "HH")])


def _unit_gain(ty, tx, key):
    """Energy of the pixels made by one unit coefficient of band ``key`` (on one tile)."""
    coefs = {k: np.zeros(s) for k, s in _tile_bands(1, 1)}
    coefs[key].flat[0] = 1.0
    ll = _merge(coefs["LL"], coefs["2HL"], coefs["2LH"], coefs["2HH"])
    return float(np.sum(_merge(ll, coefs["1HL"], coefs["1LH"], coefs["1HH"]) ** 2))


def _step(quality):
    return base_step(quality)  # the dead-zone quantizer's step: the same quality means the same distortion


@register_stage
class Haar4(Stage):
    """Averaging Haar, two levels, on 4x4 tiles; output form "haar-tiles": one flat
    band-major vector.  ``rounded=1`` quantizes inside the stage (a rate knob) and
    offers an entropy model of its own."""

    name = "test-haar4"
    kind = "transform"
    family = "haar"
    params = (Param("rounded", int, 0, "quantize inside the stage", min=0, max=1),)

    def layout(self, planes):
        out = []
        for p in planes:
            ty, tx = -(-p.shape[0] // 4), -(-p.shape[1] // 4)
            bands, off = [], 0
            for i, (key, shape) in enumerate(_tile_bands(ty, tx)):
                level = int(key[0]) if key != "LL" else 3
                bands.append(Band(key, shape, off, _unit_gain(ty, tx, key), order=i and 3 - level,
                                  reduce=level, context=32 + i, predict=key == "LL",
                                  parents=((f"2{key[1:]}", -1, -1),) if level == 1 else (),
                                  luma=key != "LL"))
                off += shape[0] * shape[1]
            out.append(PlaneInfo((off,), p.role, "haar-tiles", bool(self.rounded), tuple(bands)))
        return tuple(out)

    def rate_knob(self):
        return bool(self.rounded)

    def _scale(self, info, ctx):
        if not self.rounded:
            return np.ones(info.size)
        return np.repeat([_step(ctx.quality) / np.sqrt(b.gain) for b in info.bands], [b.size for b in info.bands])

    def encode(self, planes, layout, ctx):  # layout: the pixels entering the stage
        out, layout = [], self.layout(layout)
        for p, info in zip(planes, layout):
            h, w = p.shape
            x = np.pad(np.asarray(p, np.float64), ((0, -h % 4), (0, -w % 4)), mode="edge")
            ll1, *d1 = _split(x)
            flat = np.concatenate([a.ravel() for a in _split(ll1) + tuple(d1)]) / self._scale(info, ctx)
            out.append(np.rint(flat).astype(np.int32) if self.rounded else flat.astype(np.float32))
        if self.rounded:  # side information for the entropy model: a scale class per band
            ctx.emit(self.index, bytes(_scale_class(band) for q, info in zip(out, layout)
                                       for band in _per_band(q, info)))
        return out

    def decode(self, planes, layout, ctx):
        out = []
        r = ctx.reduce_levels
        for flat, pixels, info in zip(planes, layout, self.layout(layout)):
            flat = np.asarray(flat, np.float64) * self._scale(info, ctx)
            a = {b.key: flat[b.offset: b.offset + b.size].reshape(b.shape) for b in info.bands}
            x = a["LL"]
            if r < 2:
                x = _merge(x, a["2HL"], a["2LH"], a["2HH"])
            if r < 1:
                x = _merge(x, a["1HL"], a["1LH"], a["1HH"])
            f = 2 ** min(r, 2)
            h, w = pixels.shape
            out.append(x[: -(-h // f), : -(-w // f)].astype(np.float32))
        return out

    def entropy_model(self, layout):
        return _LaplaceModel(self.index) if self.rounded else None


def _per_band(q, info):
    return [q[b.offset: b.offset + b.size] for b in info.bands]


def _scale_class(q):
    """Class 0..31 of a band by its mean magnitude (Laplace scale on a quarter-octave grid)."""
    m = float(np.mean(np.abs(q))) if q.size else 0.0
    return int(np.clip(np.round(4 * np.log2(max(m, 1 / 16) * 16)), 0, 31))


_KS = np.arange(-40, 41)


def _laplace_tables():
    scales = 2.0 ** (np.arange(32) / 4) / 16
    cdf = lambda x, b: np.where(x < 0, 0.5 * np.exp(x / b[:, None]), 1 - 0.5 * np.exp(-x / b[:, None]))  # noqa
    pmf = cdf(_KS + 0.5, scales) - cdf(_KS - 0.5, scales)
    return SymbolTables.from_pmfs(pmf, offsets=np.full(32, _KS[0]))


class _LaplaceModel(EntropyModel):
    """One Laplace table per band, chosen by the class the encoder wrote as side data."""

    tables_ = _laplace_tables()

    def __init__(self, index):
        self.index = index

    def tables(self, layout, ctx):
        side = ctx.take(self.index)
        n_bands = sum(len(p.bands) for p in layout)
        if len(side) != 1 or len(side[0]) != n_bands or max(side[0], default=0) > 31:
            raise CodecError("corrupt test-haar4 side data")
        classes, k, out = side[0], 0, []
        for p in layout:
            out.append(np.repeat(np.frombuffer(classes[k: k + len(p.bands)], np.uint8).astype(np.int32),
                                 [b.size for b in p.bands]))
            k += len(p.bands)
        return self.tables_, out


# -- tests -------------------------------------------------------------------------------

PIPES = ["test-haar4|deadzone|arith", "test-haar4(rounded=1)|rans", "ycbcr(subsampling=444)|test-haar4|deadzone|arith",
         "ycbcr(subsampling=444)|test-haar4(rounded=1)|rans", "test-haar4(rounded=1)|arith"]


@pytest.mark.parametrize("spec", PIPES)
@pytest.mark.parametrize("shape", [(37, 45, 3), (16, 16, 1), (1, 1, 3), (5, 9, 1)])
def test_new_transform_round_trips(spec, shape):
    img = smooth_image(shape[0], shape[1], shape[2])
    data = hybridcodec.encode(img, pipeline=spec, quality=90)
    out = hybridcodec.decode(data)
    assert out.shape == img.shape
    if shape[0] > 8:
        assert hybridcodec.psnr(img, out) > 32
    for k in (2, 4, 8):
        assert hybridcodec.decode(data, reduce=k).shape[:2] == (-(-shape[0] // k), -(-shape[1] // k))


@pytest.mark.parametrize("spec", PIPES[:2])
def test_new_transform_quality_sets_the_rate(spec):
    img = smooth_image(48, 64, 3)
    sizes = [len(hybridcodec.encode(img, pipeline=spec, quality=q)) for q in (10, 40, 70, 95)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    fit = hybridcodec.encode(img, pipeline=spec, max_bytes=(sizes[1] + sizes[2]) // 2)
    assert sizes[1] <= len(fit) <= (sizes[1] + sizes[2]) // 2
    target = 8.0 * sizes[2] / (48 * 64)
    hit = hybridcodec.encode(img, pipeline=spec, target_bpp=target)
    assert abs(8.0 * len(hit) / (48 * 64) - target) < 0.15 * target


def test_reduced_decode_reads_only_coarse_bands():
    img = smooth_image(64, 64, 1)
    data = hybridcodec.encode(img, pipeline="test-haar4(rounded=1)|rans", quality=80)
    full = hybridcodec.decode(data)
    quarter = hybridcodec.decode(data, reduce=4)
    assert np.abs(quarter.astype(int) - full.reshape(16, 4, 16, 4).mean(axis=(1, 3))).mean() < 3


def test_model_side_data_is_in_the_file_and_checked():
    img = smooth_image(32, 32, 1)
    data = hybridcodec.encode(img, pipeline="test-haar4(rounded=1)|rans", quality=60)
    chunks = hybridcodec.info(data)["chunks"]
    assert {"type": "SIDE", "stage": 0, "bytes": 7} in chunks


def test_model_coder_needs_an_offered_model():
    with pytest.raises(CodecError, match="offers none"):
        hybridcodec.encode(smooth_image(8, 8, 1), pipeline="test-haar4|deadzone|rans")
    with pytest.raises(CodecError, match="integer"):
        hybridcodec.encode(smooth_image(8, 8, 1), pipeline="test-haar4|rans")


def test_lossless_pipeline_has_no_rate_knob():
    with pytest.raises(CodecError, match="rate control"):
        hybridcodec.encode(smooth_image(8, 8, 3), preset="lossless", max_bytes=100)
    assert Pipeline("test-haar4(rounded=1)|rans").rate_knob()
    assert not Pipeline("test-haar4|deadzone|arith").stages[0].rate_knob()


def test_family_of_the_new_transform():
    assert Pipeline("test-haar4|deadzone|arith").family == "haar"
    assert Pipeline("wavelet").family == "dwt" and Pipeline("lossless").family == "dwt"
    assert Pipeline("baseline").family == "dct"


def test_bands_are_validated():
    class Bad(Stage):
        name, kind = "test-bad-bands", "transform"

        def layout(self, planes):
            return tuple(PlaneInfo((4,), p.role, "x", True, (Band("a", (1, 2), 0), Band("b", (1, 1), 3,
                         parents=(("c", 0, 0),)))) for p in planes)

    register_stage(Bad)
    with pytest.raises(CodecError, match="tile"):
        Pipeline("test-bad-bands|arith").layouts(4, 4, 1)
