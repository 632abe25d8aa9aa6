"""The numba kernels of the hot paths against the plain numpy / scipy / OpenCV code
they replaced, and their results independent of the thread count."""

import hashlib

import cv2
import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridcodec
from hybridcodec._samples import from_samples, to_samples
from hybridcodec.stages import _blocks
from hybridcodec.stages.color import _RGB_TO_YCC, _YCC_TO_RGB, YCbCr
from hybridcodec.wavelets.subbands import WaveletPlan
from conftest import smooth_image
from golden_inputs import pattern


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["cdf97", "legall53"]), st.integers(1, 70), st.integers(1, 70), st.integers(0, 6),
       st.integers(0, 2**32 - 1))
def test_lifting_kernels_equal_numpy_lifting_bit_for_bit(engine, h, w, levels, seed):
    # the bitstreams of existing files depend on it: same float32 operations, same order
    x = np.random.default_rng(seed).random((h, w)) * 255 - 128
    plane = x.astype(np.float32) if engine == "cdf97" else np.rint(x * 256).astype(np.int32)
    plan = WaveletPlan((h, w), engine, levels)
    flat = plan.forward(plane)
    assert np.array_equal(flat, plan.forward(plane, use_kernels=False))
    for skip in range(levels + 1):
        assert np.array_equal(plan.inverse(flat, skip), plan.inverse(flat, skip, use_kernels=False))
    # in place: the same coefficients in the plane's own buffer, the same plane in theirs
    own = plane.copy()
    inplace = plan.forward(own, in_place=True)
    assert np.array_equal(inplace, flat) and np.shares_memory(inplace, own)
    for skip in range(levels + 1):
        coefs = flat.copy()
        out = plan.inverse(coefs, skip, in_place=True)
        assert np.array_equal(out, plan.inverse(flat, skip))
        assert levels <= skip or np.shares_memory(out, coefs)


@pytest.mark.parametrize("engine", ["cdf97", "legall53"])
@pytest.mark.parametrize("shape", [(64, 256), (67, 301), (38, 263), (131, 67), (200, 33)])
def test_the_inverse_in_place_split_over_threads_equals_the_copying_one(monkeypatch, engine, shape):
    # a large plane's passes run on several threads at once over one buffer: no thread may
    # write where another has still to read (columns that do not line up: one run)
    from hybridcodec.wavelets import _cdf97

    monkeypatch.setenv("HYBRIDCODEC_THREADS", "4")
    monkeypatch.setattr(_cdf97, "SPLIT_SAMPLES", 1)
    x = np.random.default_rng(sum(shape)).random(shape) * 255 - 128
    plane = x.astype(np.float32) if engine == "cdf97" else np.rint(x * 256).astype(np.int32)
    plan = WaveletPlan(shape, engine, 4)
    flat = plan.forward(plane)
    for _ in range(3):
        coefs = flat.copy()
        out = plan.inverse(coefs, 0, in_place=True)
        assert np.shares_memory(out, coefs) and np.array_equal(out, plan.inverse(flat, 0, use_kernels=False))


def _first_planes(spec, h, w, quality, seed):
    """A pipeline, a test image, its layouts, a fresh context and the first stage's planes."""
    pipe = hybridcodec.Pipeline(spec)
    img = smooth_image(h, w, seed=seed)
    layouts = pipe.layouts(h, w, 3)
    ctx = pipe.context(w, h, 3, quality)
    return pipe, img, layouts, ctx, pipe.forward[0].encode_samples(img, layouts[0], ctx)


@pytest.mark.parametrize("spec", ["wavelet", "lossless", "ycbcr(subsampling=444)|dwt|deadzone|arith", "baseline"])
def test_stages_leave_their_inputs_alone_unless_the_runner_allows(spec):
    pipe, img, layouts, ctx, planes = _first_planes(spec, 37, 50, 70, seed=3)
    stack = []
    for stage, layout in zip(pipe.forward[1:], layouts[1:]):
        before = [np.array(p, copy=True) for p in planes]
        out = stage.encode(planes, layout, ctx)
        assert all(np.array_equal(a, b) for a, b in zip(before, planes)), stage.name
        stack.append((stage, layout, planes))
        planes = out
    for stage, layout, _ in reversed(stack):
        before = [np.array(p, copy=True) for p in planes]
        out = stage.decode(planes, layout, ctx)
        assert all(np.array_equal(a, b) for a, b in zip(before, planes)), stage.name
        planes = out
    # and the runner, which allows it, decodes what it always did
    data = hybridcodec.encode(img, pipeline=spec, quality=70)
    assert np.array_equal(hybridcodec.decode(data), hybridcodec.decode(data))


@pytest.mark.parametrize("b", [4, 8, 16])
@pytest.mark.parametrize("shape", [(1, 1), (5, 9), (37, 50)])
def test_block_dct_kernels_match_scipy(b, shape):
    rng = np.random.default_rng(b)
    plane = (rng.random(shape) * 255 - 128).astype(np.float32)
    coef = _blocks.forward_dct(plane, b)
    h, w = shape
    padded = np.pad(plane, ((0, -h % b), (0, -w % b)), mode="edge")
    blocks = padded.reshape(coef.shape[0], b, coef.shape[1], b).transpose(0, 2, 1, 3)
    assert np.allclose(coef, scipy.fft.dctn(blocks, axes=(2, 3), norm="ortho"), atol=2e-3)
    assert np.allclose(_blocks.inverse_dct(coef, h, w), plane, atol=2e-3)


def test_quantizer_kernels_match_numpy():
    rng = np.random.default_rng(3)
    coef = (rng.standard_normal((7, 9, 8, 8)) * 300).astype(np.float32)
    coef[0, 0, 0, :3] = [1e9, -1e9, 8.5 * 3]  # clipped both ways; an exact tie rounds to even
    q = rng.integers(1, 40, (8, 8)).astype(np.float32)
    q[0, 2] = 3
    k = _blocks.quantize(coef, q, 32767)
    assert np.array_equal(k, np.clip(np.rint(coef / q), -32767, 32767).astype(np.int32))
    assert np.array_equal(_blocks.dequantize(k, q), k.astype(np.float32) * q)


@pytest.mark.parametrize("sub", ["444", "422", "420"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (32, 48), (33, 47)])
def test_fused_colour_kernels_match_the_opencv_path(sub, shape):
    img = smooth_image(*shape, seed=len(sub) + shape[0]) if min(shape) > 1 else np.full(shape + (3,), 77, np.uint8)
    stage = YCbCr(subsampling=sub)
    layout = (hybridcodec.PlaneInfo(shape),) * 3
    ctx = hybridcodec.Context(shape[1], shape[0], 3, 75)
    fused = stage.encode_samples(img, layout, ctx)
    plain = stage.encode(from_samples(img), layout, ctx)  # cv2.transform and cv2.resize
    for a, b in zip(fused, plain):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-3)
    out = np.empty(shape + (3,), np.uint8)
    stage.decode_samples(plain, layout, ctx, out)
    ref = np.clip(np.rint(np.dstack(stage.decode(plain, layout, ctx)) + 128), 0, 255)
    assert np.abs(out.astype(int) - ref).max() <= 1  # float rounding of a tie at most
    assert np.mean(out == ref) > 0.999
    assert np.allclose(_YCC_TO_RGB @ _RGB_TO_YCC, np.eye(3))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_sample_writer_rounds_and_clips_like_numpy(dtype):
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(5)
    planes = [(rng.standard_normal((19, 23)) * top).astype(np.float32) for _ in range(2)]
    planes[0][0, :4] = [0.5 - (top + 1) / 2, 1.5 - (top + 1) / 2, np.inf, -np.inf]
    out = np.zeros((19, 23, 3), dtype)
    to_samples(planes, out, first=1)
    mid = np.float32((top + 1) // 2)
    for c, p in enumerate(planes):
        assert np.array_equal(out[:, :, c + 1], np.clip(np.rint(p + mid), 0, top).astype(dtype))
    assert not out[:, :, 0].any()
    back = from_samples(out)
    assert np.array_equal(back[1], out[:, :, 1].astype(np.float32) - mid)


SPECS = ["baseline", "wavelet", "dct-arith", "lossless", "ycbcr(subsampling=422)|dct(block=16)|jpegq|huffman",
         "ycbcr(subsampling=444)|dct(block=4)|deadzone|arith"]


@pytest.mark.parametrize("spec", SPECS)
def test_results_do_not_depend_on_the_thread_count(spec, monkeypatch):
    # large enough that every kernel splits its work (runs of blocks, stripes, columns)
    img = smooth_image(300, 420, seed=11)
    digests = set()
    for n in ("1", "3"):
        monkeypatch.setenv("HYBRIDCODEC_THREADS", n)
        data = hybridcodec.encode(img, pipeline=spec, quality=70)
        out = hybridcodec.decode(data)
        digests.add((hashlib.sha256(data).hexdigest(), hashlib.sha256(out.tobytes()).hexdigest()))
    assert len(digests) == 1


@pytest.mark.parametrize("pieces", [1, 7, 48, 100000])
@pytest.mark.parametrize("spec", ["wavelet", "lossless", "dct-arith", "ycbcr(subsampling=420)|dwt|deadzone|arith",
                                  "ycbcr(subsampling=422)|dwt|deadzone|arith"])
def test_two_streams_decoded_row_by_row_give_the_one_thread_result(spec, pieces, monkeypatch):
    """The chroma stream follows the luma stream a few rows behind (pieces of 1/pieces
    of its coefficients; 100000: a row at a time).  Each chroma piece runs at once, as
    soon as it is handed over (before luma goes on), on a noisy image: a piece that read
    a luma row not yet decoded (zeros) would decode other values."""
    from concurrent.futures import Future

    from hybridcodec.entropy import coefficients as cm

    rng = np.random.default_rng(4)
    img = np.clip(smooth_image(67, 93, seed=4).astype(np.int16) + rng.integers(-40, 41, (67, 93, 3)), 0, 255)
    data = hybridcodec.encode(img.astype(np.uint8), pipeline=spec, quality=90)
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "1")
    expected = [hybridcodec.decode(data, reduce=r).tobytes() for r in (1, 2)]
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "2")
    monkeypatch.setattr(cm, "_PIECES", pieces)

    def at_once(fn, *args):
        done = Future()
        done.set_result(fn(*args))
        return done

    calls = []
    real = cm._decode_run
    monkeypatch.setattr(cm, "submit", at_once)
    monkeypatch.setattr(cm, "_decode_run", lambda *a: calls.append(a[2:6]) or real(*a))
    assert [hybridcodec.decode(data, reduce=r).tobytes() for r in (1, 2)] == expected
    assert calls and all((t0, y0) <= (t1, y1) for t0, y0, t1, y1 in calls)
    if pieces == 100000:  # pieces start and end inside bands
        assert any(y0 > 0 for _, y0, _, _ in calls) and any(y1 > 0 for _, _, _, y1 in calls)


def test_golden_pattern_through_every_thread_count(monkeypatch):
    img = pattern(64, 80, 3)
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "1")
    one = hybridcodec.encode(img, pipeline="baseline", quality=75)
    monkeypatch.setenv("HYBRIDCODEC_THREADS", "4")
    assert hybridcodec.encode(img, pipeline="baseline", quality=75) == one


def _numpy_deadzone(stage, c, info, ctx):
    """The dead-zone quantizer as numpy and OpenCV computed it before its kernel."""
    from hybridcodec.stages.deadzone import base_step

    step = base_step(ctx.quality) * (stage.chroma if info.role == "chroma" else 1.0) * ctx.sample_scale
    per_band = (step / np.sqrt(np.array([b.gain for b in info.bands], np.float64))).astype(np.float32)
    if np.all(per_band == per_band[0]):
        steps = per_band[0]
    else:  # step / sqrt(gain) repeated over each band, in band-major order
        ordered = sorted(zip((b.offset for b in info.bands), per_band, (b.size for b in info.bands)))
        steps = info.unflat(np.repeat(np.array([v for _, v, _ in ordered], np.float32), [n for _, _, n in ordered]))
    mag = np.abs(c) / steps
    q = np.floor(mag + np.float32(stage.rounding))
    if stage.isolated < stage.rounding and not all(b.tiled for b in info.bands):
        flat, m = np.ascontiguousarray(info.flat(q)), info.flat(mag)
        for b in info.bands:
            h, w = b.shape
            if b.size and not b.tiled:
                band = flat[b.offset : b.offset + b.size].reshape(h, w)
                nz = (band != 0).astype(np.float32)
                around = cv2.boxFilter(nz, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT) - nz
                lone = (around == 0) & (band == 1)
                band[lone] = np.floor(m[b.offset : b.offset + b.size].reshape(h, w)[lone] + np.float32(stage.isolated))
        q = info.unflat(flat)
    return (np.sign(c) * q).astype(np.int32)


@pytest.mark.parametrize("spec", ["ycbcr(subsampling=444)|dwt|deadzone|arith",
                                  "ycbcr(subsampling=420)|dct(block=8)|deadzone(isolated=0.2)|arith",
                                  "dwt(levels=3)|deadzone(rounding=0.5,chroma=2)|arith"])
def test_deadzone_kernel_matches_numpy(spec):
    pipe, _, layouts, ctx, planes = _first_planes(spec, 45, 70, 60, seed=9)
    for stage, layout in zip(pipe.forward[1:], layouts[1:]):
        if stage.name == "deadzone":
            for c, info in zip(planes, layout):
                noisy = (c + np.random.default_rng(1).standard_normal(c.shape).astype(np.float32) * 3)
                assert np.array_equal(stage.encode([noisy], (info,), ctx)[0], _numpy_deadzone(stage, noisy, info, ctx))
        planes = stage.encode(planes, layout, ctx)


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_bad_thread_count_is_a_clear_error(value, monkeypatch):
    monkeypatch.setenv("HYBRIDCODEC_THREADS", value)
    with pytest.raises(hybridcodec.CodecError, match="HYBRIDCODEC_THREADS"):
        hybridcodec.encode(pattern(40, 40, 3), preset="baseline")
