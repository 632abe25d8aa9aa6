"""Resolution-scalable decoding and rate control."""

import cv2
import numpy as np
import pytest

import hybridcodec
from hybridcodec import CodecError
from conftest import smooth_image


def _landscape(h, w, channels):
    """Broad shapes and one edge: content that survives an 8x reduction."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = [128 + 70 * np.sin(x / (23 + 5 * c)) * np.cos(y / (31 - 4 * c)) + 30 * (x + y > (h + w) / 2)
              for c in range(channels)]
    img = np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)
    return img if channels == 3 else img[:, :, 0]


def _phase0_downscale(full, k):
    """What a wavelet low band holds: low-pass filtered, sampled at pixels 0, k, 2k, ..."""
    blurred = cv2.GaussianBlur(full.astype(np.float32), (0, 0), 0.35 * k)
    return np.clip(np.rint(blurred[::k, ::k]), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("preset", ["wavelet", "lossless", "dct-arith", "baseline"])
@pytest.mark.parametrize("k", [1, 2, 4, 8])
@pytest.mark.parametrize("shape", [(128, 96, 3), (77, 45, 3), (64, 64)])
def test_reduce_shape_and_closeness(preset, k, shape):
    img = _landscape(shape[0], shape[1], 3 if len(shape) == 3 else 1)
    data = hybridcodec.encode(img, preset=preset, quality=90)
    full = hybridcodec.decode(data)
    small = hybridcodec.decode(data, reduce=k)
    expect = (-(-shape[0] // k), -(-shape[1] // k)) + shape[2:]
    assert small.shape == expect and small.dtype == np.uint8
    if k == 1:
        assert np.array_equal(small, full)
        return
    if preset in ("wavelet", "lossless"):
        ref = _phase0_downscale(full, k)
    else:  # DCT: each block's low frequencies = the block's area average, pixel-centred
        ref = cv2.resize(full, (expect[1], expect[0]), interpolation=cv2.INTER_AREA).reshape(expect)
    assert hybridcodec.psnr(ref, small) > 30


def test_reduce_on_pywt_wavelet_is_aligned():
    img = _landscape(96, 128, 3)
    data = hybridcodec.encode(img, pipeline="ycbcr|dwt(wavelet=haar,mode=periodization)|deadzone|arith",
                              quality=95)
    full = hybridcodec.decode(data)
    for k in (2, 4):
        small = hybridcodec.decode(data, reduce=k)
        area = cv2.resize(full, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        assert hybridcodec.psnr(area, small) > 40  # the Haar low band is the area average


def test_reduce_reads_only_a_prefix_of_the_wavelet_stream():
    from hybridcodec.container import Chunk, read_container, write_container

    img = smooth_image(256, 256, 3)
    data = hybridcodec.encode(img, preset="wavelet", quality=90)
    header, chunks = read_container(data)
    payload = chunks[0].payload
    # zero the last third of the coded data (the finest bands): the 1/8 decode must not notice
    keep = 2 * len(payload) // 3
    damaged = write_container(header, [Chunk(chunks[0].type, chunks[0].stage,
                                              payload[:keep] + bytes(len(payload) - keep))])
    assert np.array_equal(hybridcodec.decode(damaged, reduce=8), hybridcodec.decode(data, reduce=8))
    try:
        assert not np.array_equal(hybridcodec.decode(damaged), hybridcodec.decode(data))
    except CodecError:
        pass  # the full decode reads the damage


def test_reduce_beyond_the_levels_of_a_tiny_image():
    img = smooth_image(9, 7, 3)
    for preset in ("wavelet", "lossless"):
        data = hybridcodec.encode(img, preset=preset)
        assert hybridcodec.decode(data, reduce=8).shape == (2, 1, 3)


@pytest.mark.parametrize("k", [0, 3, 16, -2, 2.0, "2", True])
def test_bad_reduce(k):
    data = hybridcodec.encode(np.zeros((8, 8), np.uint8))
    with pytest.raises(CodecError, match="reduce"):
        hybridcodec.decode(data, reduce=k)


def test_postfilters_are_skipped_in_reduced_decode():
    import test_pipeline  # noqa: F401  registers the test-offset post-filter

    img = smooth_image(32, 32, 3)
    data = hybridcodec.encode(img, pipeline="wavelet+test-offset", quality=20)
    assert hybridcodec.decode(data, reduce=2).shape == (16, 16, 3)


# -- rate control ---------------------------------------------------------------

PHOTO = smooth_image(160, 192, 3, seed=11)


@pytest.mark.parametrize("preset", ["wavelet", "baseline", "dct-arith"])
@pytest.mark.parametrize("bpp", [0.3, 1.0, 2.5])
def test_target_bpp_within_3_percent(preset, bpp):
    data = hybridcodec.encode(PHOTO, preset=preset, target_bpp=bpp)
    got = 8 * len(data) / (PHOTO.shape[0] * PHOTO.shape[1])
    assert abs(got / bpp - 1) < 0.03, got
    assert hybridcodec.decode(data).shape == PHOTO.shape


def test_max_bytes_is_the_best_that_fits():
    data = hybridcodec.encode(PHOTO, preset="wavelet", max_bytes=3000)
    assert len(data) <= 3000
    q = hybridcodec.info(data)["quality"]
    assert len(hybridcodec.encode(PHOTO, preset="wavelet", quality=min(100, q + 0.01))) > 3000
    with pytest.raises(CodecError, match="cannot fit"):
        hybridcodec.encode(PHOTO, preset="wavelet", max_bytes=50)


def test_target_psnr_is_the_cheapest_that_reaches_it():
    data = hybridcodec.encode(PHOTO, preset="wavelet", target_psnr=36)
    assert hybridcodec.psnr(PHOTO, hybridcodec.decode(data)) >= 36
    q = hybridcodec.info(data)["quality"]
    lower = hybridcodec.encode(PHOTO, preset="wavelet", quality=q - 0.01)
    assert hybridcodec.psnr(PHOTO, hybridcodec.decode(lower)) < 36


@pytest.mark.parametrize("kwargs, match", [
    ({"quality": 50, "target_bpp": 1.0}, "one of"),
    ({"target_bpp": 1.0, "max_bytes": 10}, "one of"),
    ({"target_bpp": 0}, "target_bpp"),
    ({"target_bpp": float("inf")}, "target_bpp"),
    ({"target_psnr": "30"}, "target_psnr"),
    ({"max_bytes": 0}, "max_bytes"),
    ({"max_bytes": 10.5}, "max_bytes"),
    ({"preset": "lossless", "target_bpp": 1.0}, "quantizer"),
])
def test_rate_control_errors(kwargs, match):
    with pytest.raises(CodecError, match=match):
        hybridcodec.encode(PHOTO[:16, :16], **kwargs)


def test_cli_rate_control(tmp_path):
    from PIL import Image

    from hybridcodec.cli import main

    src = tmp_path / "p.png"
    Image.fromarray(PHOTO).save(src)
    out = tmp_path / "p.hcx"
    assert main(["encode", str(src), str(out), "--preset", "wavelet", "--target-bpp", "0.8"]) == 0
    assert abs(hybridcodec.info(out.read_bytes())["bpp"] / 0.8 - 1) < 0.03
    out2 = tmp_path / "q.hcx"
    assert main(["encode", str(src), str(out2), "--max-bytes", "2000"]) == 0
    assert out2.stat().st_size <= 2000
