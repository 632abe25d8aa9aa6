"""16-bit images: the API, the format's bit depth, the CLI (PNG/TIFF in and out) and
the Pillow plugin; exact in lossless, the same relative precision in lossy pipelines."""

import hashlib

import cv2
import numpy as np
import pytest
from PIL import Image

import hybridcodec
from hybridcodec.cli import main
from conftest import smooth_image


def wide(h, w, c, seed=0):
    """A 16-bit image with all 16 bits in use (an 8-bit photo times 257 plus fine detail)."""
    base = smooth_image(h, w, 3, seed).astype(np.uint16) * 257
    fine = np.random.default_rng(seed).integers(0, 257, base.shape).astype(np.uint16)
    img = base + fine
    return img[:, :, 0] if c == 1 else (np.dstack([img, img[:, :, :1]]) if c == 4 else img)


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 1), (33, 20, 3), (24, 40, 4), (16, 16, 1)])
def test_lossless_is_exact_for_16_bits(shape):
    img = wide(*shape)
    data = hybridcodec.encode(img, preset="lossless")
    assert hybridcodec.info(data)["bits"] == 16
    out = hybridcodec.decode(data)
    assert out.dtype == np.uint16 and np.array_equal(out, img)
    for k in (2, 4):
        assert hybridcodec.decode(data, reduce=k).dtype == np.uint16


@pytest.mark.parametrize("preset", ["wavelet", "baseline", "dct-arith"])
def test_quality_means_the_same_relative_precision(preset):
    img16 = wide(64, 80, 3)
    img8 = np.rint(img16 / 257.0).astype(np.uint8)
    for q in (30, 80):
        d16 = hybridcodec.encode(img16, preset=preset, quality=q)
        d8 = hybridcodec.encode(img8, preset=preset, quality=q)
        p16 = hybridcodec.psnr(img16, hybridcodec.decode(d16))
        p8 = hybridcodec.psnr(img8, hybridcodec.decode(d8))
        assert abs(p16 - p8) < 1.0 and 0.8 < len(d16) / len(d8) < 1.3


def test_eight_bit_files_are_unchanged_by_bit_depth_support():
    # the golden tests pin every 8-bit byte; here: 8-bit files still say 8 bits
    data = hybridcodec.encode(smooth_image(8, 8, 3))
    assert hybridcodec.info(data)["bits"] == 8 and hybridcodec.decode(data).dtype == np.uint8


def test_rate_control_and_post_filters_on_16_bits():
    img = wide(48, 64, 3)
    data = hybridcodec.encode(img, preset="wavelet", target_psnr=45)
    assert hybridcodec.psnr(img, hybridcodec.decode(data)) >= 45
    if "cnn" in hybridcodec.available_stages():
        with pytest.raises(hybridcodec.CodecError, match="8-bit"):
            hybridcodec.encode(img, pipeline="wavelet+cnn")


def test_api_errors_name_both_depths():
    with pytest.raises(hybridcodec.CodecError, match="uint8 or uint16"):
        hybridcodec.encode(np.zeros((4, 4), np.float32))


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_cli_keeps_16_bits_through_png_and_tiff(tmp_path, ext, channels):
    img = wide(20, 28, channels)
    src = tmp_path / f"in{ext}"
    if channels == 1:
        Image.fromarray(img).save(src)  # I;16
    else:
        cv2.imwrite(str(src), cv2.cvtColor(img, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA))
    assert main(["encode", str(src), str(tmp_path / "a.hcx"), "--preset", "lossless"]) == 0
    data = (tmp_path / "a.hcx").read_bytes()
    assert hybridcodec.info(data)["bits"] == 16
    assert main(["decode", str(tmp_path / "a.hcx"), str(tmp_path / f"out{ext}")]) == 0
    back = cv2.imread(str(tmp_path / f"out{ext}"), cv2.IMREAD_UNCHANGED)
    if channels > 1:
        back = cv2.cvtColor(back, cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_BGRA2RGBA)
    assert back.dtype == np.uint16 and np.array_equal(back, img)


def test_cli_refuses_16_bit_colour_to_an_8_bit_format(tmp_path, capsys):
    (tmp_path / "a.hcx").write_bytes(hybridcodec.encode(wide(8, 8, 3), preset="lossless"))
    assert main(["decode", str(tmp_path / "a.hcx"), str(tmp_path / "o.jpg")]) == 1
    assert ".png or .tif" in capsys.readouterr().err and not (tmp_path / "o.jpg").exists()


def test_pillow_plugin_16_bit_grey_and_colour(tmp_path):
    hybridcodec.register_pillow()
    grey = wide(30, 40, 1)
    Image.fromarray(grey).save(tmp_path / "g.hcx", lossless=True)
    with Image.open(tmp_path / "g.hcx") as im:
        assert im.mode == "I;16" and im.info["bits"] == 16
        assert np.array_equal(np.asarray(im), grey)
    (tmp_path / "c.hcx").write_bytes(hybridcodec.encode(wide(30, 40, 3), preset="lossless"))
    with Image.open(tmp_path / "c.hcx") as im:  # Pillow has no 16-bit RGB: 8 bits, as its PNG plugin
        assert im.mode == "RGB"
        assert np.abs(np.asarray(im).astype(int) - np.rint(wide(30, 40, 3) / 257.0)).max() == 0


GOLDEN_HASH = "0109ecb40caafa25"  # lossless, 9x7x3, 16 bits: bits field 16, level shift 32768; format 4
# (067472aaa84bdca2 in format 3, the same file re-packed; 4625cb409f67a46e in 2)
# the same image as written in format version 1 (one arith stream), by the encoder of commit 773d071
GOLDEN_V1 = bytes.fromhex(
    "894843580d0a1a0a0100000000070000000903101d4c001d72637428297c696e743533286c6576656c733d30297c61726974"
    "6828290001d04ab82344415441020000008fffffffface123fff5436b7d25317a23756f533957d47567fd5a0f12dea1ad49c"
    "5a606af885dd22c9731cf954c5fc2c7517757f149f54c57441813a9c5714b82c46252675deee71642189c21f68a86eb47459"
    "ad8c9d84ff66ffe760e33b22330c530b1ff137b094032bd471f2fa032bcaaa4360545b97e1e98e6a2e6eaf39999bffffac24"
    "e6ea831466453abb3fe000ec31b33c")


def test_golden_16_bit_bytes():
    img = (np.arange(9 * 7 * 3, dtype=np.uint32).reshape(9, 7, 3) * 719 % 65536).astype(np.uint16)
    data = hybridcodec.encode(img, preset="lossless")
    assert np.array_equal(hybridcodec.decode(data), img)
    assert hashlib.sha256(data).hexdigest()[:16] == GOLDEN_HASH
    assert GOLDEN_V1[8] == 1 and np.array_equal(hybridcodec.decode(GOLDEN_V1), img)
