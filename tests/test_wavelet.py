"""Wavelet transforms, lossless path, dead-zone quantizer and the wavelet/dct-arith presets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hybridcodec
from hybridcodec.wavelets import lifting
from hybridcodec.wavelets.subbands import WaveletPlan, auto_levels, band_gains
from conftest import smooth_image

SIZES = [(1, 1), (1, 2), (2, 1), (1, 17), (17, 1), (2, 2), (3, 5), (7, 13), (16, 16), (33, 17), (64, 48)]


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.int32, st.tuples(st.integers(1, 40), st.integers(1, 40)),
                  elements=st.integers(-512, 512)), st.integers(0, 6))
def test_integer_53_is_exactly_reversible(x, levels):
    plan = WaveletPlan(x.shape, "legall53", levels)
    flat = plan.forward(x)
    assert flat.dtype == np.int32 and flat.size == x.size  # non-expansive
    assert np.array_equal(plan.inverse(flat), x)


@pytest.mark.parametrize("shape", SIZES)
def test_lossless_preset_exact_on_edge_cases(shape):
    rng = np.random.default_rng(shape[0] * 97 + shape[1])
    cases = [
        rng.integers(0, 256, shape + (3,), dtype=np.uint8),
        np.zeros(shape + (3,), np.uint8),
        np.full(shape + (3,), 255, np.uint8),
        np.where(np.indices(shape).sum(0) % 2 == 0, 255, 0).astype(np.uint8),  # checkerboard, grey
        smooth_image(*shape, 3),
        (np.indices(shape)[1] * 37 % 256).astype(np.uint8)[:, :, None].repeat(3, 2),
    ]
    for img in cases:
        data = hybridcodec.encode(img, preset="lossless")
        assert np.array_equal(hybridcodec.decode(data), img)


def test_lossless_beats_raw_on_photo_like_image():
    img = smooth_image(96, 128, 3)
    data = hybridcodec.encode(img, preset="lossless")
    assert np.array_equal(hybridcodec.decode(data), img)
    assert len(data) < 0.6 * img.size


def test_rct_alone_is_exact():
    img = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    data = hybridcodec.encode(img, pipeline="rct|int53(levels=2)|arith")
    assert np.array_equal(hybridcodec.decode(data), img)


@pytest.mark.parametrize("engine, mode", [("cdf97", "reflect"), ("bior4.4", "symmetric"), ("db4", "periodization"),
                                          ("haar", "symmetric"), ("sym5", "reflect"), ("coif2", "zero")])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (17, 33), (64, 48)])
def test_float_transforms_reconstruct(engine, mode, shape):
    x = np.random.default_rng(0).normal(0, 50, shape).astype(np.float32)
    levels = min(3, auto_levels(*shape) + 1)
    plan = WaveletPlan(shape, engine, levels, mode)
    assert np.allclose(plan.inverse(plan.forward(x)), x, atol=1e-3)


def test_cdf97_lowpass_has_unit_dc_gain_and_bands_tile_the_image():
    plan = WaveletPlan((37, 21), "cdf97", 3)
    assert plan.size == 37 * 21
    flat = plan.forward(np.full((37, 21), 10.0, np.float32))
    ll = flat[: plan.bands[0].size]
    assert np.allclose(ll, 10.0, atol=1e-4) and np.allclose(flat[plan.bands[0].size :], 0, atol=1e-4)


def test_gains_match_brute_force_energy():
    gains = band_gains("cdf97", 2, "reflect")
    plan = WaveletPlan((64, 64), "cdf97", 2)
    for i, b in enumerate(plan.bands):
        flat = np.zeros(plan.size)
        flat[b.offset + (b.shape[0] // 2) * b.shape[1] + b.shape[1] // 2] = 1
        assert np.sum(plan.inverse(flat) ** 2) == pytest.approx(gains[i], rel=1e-6)
    assert np.allclose(band_gains("haar", 3, "periodization"), 1.0)  # orthonormal


def test_deadzone_quantizer_properties():
    stage = hybridcodec.get_stage("deadzone")(rounding=0.3, recon=0.4, isolated=0.3)
    (info,) = hybridcodec.get_stage("dct")(block=4).layout((hybridcodec.PlaneInfo((4, 4)),))
    ctx = hybridcodec.Context(1, 1, 1, 50)
    step = 32.0  # quality 50
    c = np.array([0, 0.69, 0.71, -0.71, 1.69, -2.6, 5.0, 0.2] * 2, np.float32).reshape(1, 1, 4, 4) * step
    (q,) = stage.encode([c], (info,), ctx)
    assert q.ravel()[:8].tolist() == [0, 0, 1, -1, 1, -2, 5, 0]  # floor(|c|/step + 0.3)
    (r,) = stage.decode([q], (info,), ctx)
    assert r.ravel()[2] == pytest.approx((1 + 0.1) * step)  # bin [0.7, 1.7) -> 0.4 of the way
    assert np.all(np.sign(r) == np.sign(q))


@pytest.mark.parametrize("preset", ["wavelet", "dct-arith"])
@pytest.mark.parametrize("shape", SIZES + [(40, 56, 1)])
def test_lossy_presets_round_trip(preset, shape):
    channels = shape[2] if len(shape) == 3 else 3
    img = smooth_image(shape[0], shape[1], channels, seed=shape[0] + shape[1])
    data = hybridcodec.encode(img, preset=preset, quality=90)
    out = hybridcodec.decode(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() < 6


@pytest.mark.parametrize("preset", ["wavelet", "dct-arith"])
def test_size_and_psnr_grow_with_quality(preset):
    img = smooth_image(96, 128, 3, seed=5)
    sizes, psnrs = [], []
    for q in range(2, 101, 7):
        data = hybridcodec.encode(img, preset=preset, quality=q)
        sizes.append(len(data))
        psnrs.append(hybridcodec.psnr(img, hybridcodec.decode(data)))
    assert all(b >= a for a, b in zip(sizes, sizes[1:])), sizes
    assert psnrs[-1] > psnrs[0] + 10


def test_wavelet_beats_baseline_on_photo_like_image():
    img = smooth_image(128, 128, 3, seed=9)
    base = hybridcodec.encode(img, preset="baseline", quality=50)
    p_base = hybridcodec.psnr(img, hybridcodec.decode(base))
    wav = hybridcodec.encode(img, preset="wavelet", max_bytes=len(base))
    assert hybridcodec.psnr(img, hybridcodec.decode(wav)) > p_base


@pytest.mark.parametrize("spec", ["ycbcr|dwt(wavelet=db2,mode=symmetric)|deadzone|arith",
                                  "ycbcr(subsampling=420)|dwt(levels=2)|deadzone(chroma=1.5)|arith",
                                  "ycbcr(subsampling=444)|dct(block=16)|deadzone|arith",
                                  "ycbcr|dct(block=4)|jpegq(table=flat)|arith"])
def test_other_arith_pipelines(spec):
    img = smooth_image(45, 70, 3)
    out = hybridcodec.decode(hybridcodec.encode(img, pipeline=spec, quality=85))
    assert out.shape == img.shape and hybridcodec.psnr(img, out) > 28


@pytest.mark.parametrize("spec, match", [
    ("ycbcr|int53|arith", "integer"),
    ("rct|int53|jpegq|arith", "dct"),
    ("ycbcr|dwt|huffman", "quantizer"),
    ("ycbcr|dwt|arith", "integer"),
    ("ycbcr|deadzone|arith", "transform"),
    ("ycbcr|dwt(wavelet=nope)|deadzone|arith", "must be one of"),
    ("ycbcr|dwt(levels=9)|deadzone|arith", "<= 8"),
])
def test_bad_wavelet_pipelines(spec, match):
    with pytest.raises(hybridcodec.CodecError, match=match):
        hybridcodec.encode(np.zeros((8, 8, 3), np.uint8), pipeline=spec)
