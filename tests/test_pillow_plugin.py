"""The Pillow plugin, tested the way Pillow tests its own formats (Tests/test_file_webp.py)."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

import hybridcodec
import hybridcodec.pillow as hcx_pillow
from conftest import smooth_image


@pytest.fixture
def rgb_image():
    return Image.fromarray(smooth_image(48, 64, 3))


def _roundtrip(im, **params):
    buf = io.BytesIO()
    im.save(buf, "HCX", **params)
    buf.seek(0)
    return Image.open(buf), buf.getvalue()


def test_registration():
    hybridcodec.register_pillow()  # idempotent
    assert Image.registered_extensions()[".hcx"] == "HCX"
    assert Image.MIME["HCX"] == "image/x-hcx"
    assert "HCX" in Image.OPEN and "HCX" in Image.SAVE


def test_accept():
    assert hcx_pillow._accept(b"\x89HCX\r\n\x1a\n" + b"\0" * 10)
    assert not hcx_pillow._accept(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(Image.UnidentifiedImageError):
        Image.open(io.BytesIO(b"\x89HCX\r\n\x1a\n" + b"\xff" * 40))


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_open_save_each_mode(mode, tmp_path):
    arr = smooth_image(33, 47, 3 if mode != "L" else 1)
    if mode == "RGBA":
        alpha = np.tile(np.linspace(0, 255, 47).astype(np.uint8), (33, 1))
        arr = np.dstack([arr, alpha])
    src = Image.fromarray(arr, mode)
    path = tmp_path / "a.hcx"
    src.save(path, quality=95)
    with Image.open(path) as im:
        assert (im.format, im.mode, im.size) == ("HCX", mode, (47, 33))
        im.load()
        got = np.asarray(im)
    assert got.shape == arr.shape
    assert hybridcodec.psnr(arr[..., :3], got[..., :3]) > 35
    if mode == "RGBA":
        assert np.array_equal(got[..., 3], arr[..., 3])  # alpha is lossless


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_lossless_save(mode, rgb_image):
    src = rgb_image.convert(mode)
    im, _ = _roundtrip(src, lossless=True)
    assert np.array_equal(np.asarray(im), np.asarray(src))
    assert im.info["pipeline"].startswith("rct")


def test_file_objects_paths_and_bytesio(rgb_image, tmp_path):
    path = tmp_path / "x.hcx"
    rgb_image.save(str(path))
    with open(path, "rb") as f:
        a = np.asarray(Image.open(f))
    b = np.asarray(Image.open(path))
    c = np.asarray(Image.open(io.BytesIO(path.read_bytes())))
    assert np.array_equal(a, b) and np.array_equal(b, c)


def test_save_options(rgb_image):
    im, data = _roundtrip(rgb_image, quality=30, preset="wavelet")
    assert im.info["quality"] == 30 and "dwt" in im.info["pipeline"]
    im2, _ = _roundtrip(rgb_image, pipeline="ycbcr|dct(block=4)|jpegq|huffman")
    assert "block=4" in im2.info["pipeline"]
    small, _ = _roundtrip(rgb_image, quality=10)
    big, _ = _roundtrip(rgb_image, quality=95)
    assert len(_roundtrip(rgb_image, quality=10)[1]) < len(_roundtrip(rgb_image, quality=95)[1])
    with pytest.raises(ValueError):
        _roundtrip(rgb_image, lossless=True, preset="wavelet")
    with pytest.raises(ValueError):
        _roundtrip(rgb_image, quality=500)


def test_lazy_open_does_not_decode(rgb_image, monkeypatch):
    _, data = _roundtrip(rgb_image, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00")
    calls = []
    real = hcx_pillow.decode
    monkeypatch.setattr(hcx_pillow, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    im = Image.open(io.BytesIO(data))
    assert im.size == (64, 48) and im.mode == "RGB" and "pipeline" in im.info and "exif" in im.info
    assert calls == []
    im.load()
    assert calls == [1]
    im.load()
    assert calls == [1]


def test_decompression_bomb_check_before_decoding(rgb_image, monkeypatch):
    _, data = _roundtrip(rgb_image)
    monkeypatch.setattr(hcx_pillow, "decode", lambda *a, **k: pytest.fail("decoded a bomb"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 48 // 4)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 48 // 2 + 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        Image.open(io.BytesIO(data))
    assert any(issubclass(x.category, Image.DecompressionBombWarning) for x in w)


def test_verify_good_and_corrupted(rgb_image):
    _, data = _roundtrip(rgb_image)
    Image.open(io.BytesIO(data)).verify()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x40
    im = Image.open(io.BytesIO(bytes(bad)))  # the header is intact: opening works
    with pytest.raises(SyntaxError):
        im.verify()
    with pytest.raises(OSError):
        Image.open(io.BytesIO(bytes(bad))).load()


def test_truncated_both_ways(rgb_image, monkeypatch):
    _, data = _roundtrip(rgb_image, preset="wavelet", quality=90)
    cut = data[: len(data) * 3 // 4]  # inside the chroma stream (a cut at 2/3 left ~19-22 dB, byte by byte)
    im = Image.open(io.BytesIO(cut))
    with pytest.raises(OSError, match="truncated"):
        im.load()
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    im = Image.open(io.BytesIO(cut))
    im.load()
    assert im.size == (64, 48)
    # the decoded part still resembles the image (wavelet: the coarse bands came first)
    assert hybridcodec.psnr(np.asarray(rgb_image), np.asarray(im)) > 20


def test_exif_and_icc_round_trip(rgb_image):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    exif[0x010F] = "hybridcodec"
    icc = b"\x00\x00\x02\x0c fake icc profile bytes"
    im, _ = _roundtrip(rgb_image, exif=exif, icc_profile=icc)
    assert im.info["icc_profile"] == icc
    assert im.getexif()[0x0112] == 6 and im.getexif()[0x010F] == "hybridcodec"
    upright = ImageOps.exif_transpose(im)
    assert upright.size == (48, 64)
    # falls back to im.info, as Pillow's WebP plugin does
    again, _ = _roundtrip(im)
    assert again.info["icc_profile"] == icc and again.getexif()[0x0112] == 6


def test_draft_and_thumbnail(tmp_path):
    src = Image.fromarray(smooth_image(256, 384, 3))
    src.save(tmp_path / "big.hcx", preset="wavelet")
    im = Image.open(tmp_path / "big.hcx")
    res = im.draft("RGB", (90, 60))
    assert im.size == (96, 64) and res == ("RGB", (0, 0, 96.0, 64.0))
    im.load()
    assert np.asarray(im).shape == (64, 96, 3)
    im = Image.open(tmp_path / "big.hcx")
    im.thumbnail((100, 100))
    assert im.size == (100, 67)
    im = Image.open(tmp_path / "big.hcx")
    im.reduce = 2
    im.load()
    assert im.size == (96, 64)
    assert Image.open(tmp_path / "big.hcx").reduce(4).size == (96, 64)


@pytest.mark.parametrize("mode, expect", [("1", "L"), ("P", "RGB"), ("LA", "RGBA"), ("PA", "RGBA")])
def test_converted_modes(mode, expect, rgb_image):
    src = (rgb_image.convert("RGBA") if "A" in mode else rgb_image).convert(mode)
    im, _ = _roundtrip(src)
    assert im.mode == expect


def test_palette_with_transparency_keeps_alpha(rgb_image):
    p = rgb_image.convert("P")
    p.info["transparency"] = 0
    im, _ = _roundtrip(p, lossless=True)
    assert im.mode == "RGBA" and np.array_equal(np.asarray(im), np.asarray(p.convert("RGBA")))


@pytest.mark.parametrize("mode", ["F", "I"])
def test_unsupported_modes(mode):
    with pytest.raises(OSError, match=f"cannot write mode {mode} as HCX"):
        Image.new(mode, (8, 8), 70000 if mode == "I" else 0).save(io.BytesIO(), "HCX")


def test_failed_save_leaves_no_file(tmp_path):
    path = tmp_path / "bad.hcx"
    with pytest.raises(OSError):
        Image.new("F", (8, 8)).save(path)
    assert not path.exists()


def test_xmp_frames_and_rate_targets(tmp_path):
    im = Image.new("RGB", (64, 48), (30, 90, 160))
    im.save(tmp_path / "x.hcx", xmp=b"<x:xmpmeta>hello</x:xmpmeta>")
    with Image.open(tmp_path / "x.hcx") as pic:
        assert pic.info["xmp"] == b"<x:xmpmeta>hello</x:xmpmeta>"
        assert pic.n_frames == 1 and pic.is_animated is False
        pic.save(tmp_path / "y.hcx")  # XMP carried over from info
    assert hybridcodec.metadata((tmp_path / "y.hcx").read_bytes())["xmp"] == b"<x:xmpmeta>hello</x:xmpmeta>"
    noisy = Image.effect_noise((96, 64), 60).convert("RGB")
    noisy.save(tmp_path / "m.hcx", preset="wavelet", max_bytes=1500)
    assert (tmp_path / "m.hcx").stat().st_size <= 1500
    noisy.save(tmp_path / "b.hcx", preset="wavelet", target_bpp=1.0)
    assert abs(8 * (tmp_path / "b.hcx").stat().st_size / (96 * 64) - 1.0) < 0.2
