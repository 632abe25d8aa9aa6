"""Every way a file or an argument can be wrong ends in CodecError, nothing else."""

import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybridcodec
from hybridcodec import CodecError, StageNotInstalledError
from hybridcodec.container import Chunk, Header, read_container, write_container
from conftest import smooth_image

SMALL = hybridcodec.encode(smooth_image(12, 10, 3, seed=3), preset="baseline", quality=80)
SMALL_GREY = hybridcodec.encode(smooth_image(9, 17, 1, seed=4), preset="baseline", quality=30)


def _decodes_or_codec_error(data):
    try:
        out = hybridcodec.decode(data)
    except CodecError:
        return None
    assert out.dtype == np.uint8
    return out


@pytest.mark.parametrize("blob", [SMALL, SMALL_GREY])
def test_every_truncation_is_codec_error(blob):
    for n in range(len(blob)):
        with pytest.raises(CodecError):
            hybridcodec.decode(blob[:n])
        with pytest.raises(CodecError):
            hybridcodec.info(blob[:n])


def test_every_single_bit_flip_is_caught():
    for i in range(len(SMALL)):
        for bit in (0, 3, 7):
            bad = bytearray(SMALL)
            bad[i] ^= 1 << bit
            with pytest.raises(CodecError):
                hybridcodec.decode(bytes(bad))


def test_trailing_bytes_rejected():
    with pytest.raises(CodecError, match="unexpected bytes"):
        hybridcodec.decode(SMALL + b"\0")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_garbage(blob):
    with pytest.raises(CodecError):
        hybridcodec.decode(blob)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_garbage_after_magic(blob):
    with pytest.raises(CodecError):
        hybridcodec.decode(hybridcodec._container.MAGIC + blob)


def _rewrap(data, **changes):
    """Rebuild a file with header fields or payload changed and CRCs made valid again,
    so the checks behind the CRCs are exercised."""
    header, chunks = read_container(data)
    payload = changes.pop("payload", None)
    for k, v in changes.items():
        setattr(header, k, v)
    if payload is not None:
        chunks = [Chunk(chunks[0].type, chunks[0].stage, payload)] + chunks[1:]
    return write_container(header, chunks)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_tampered_payload_with_valid_crc(data):
    _, chunks = read_container(SMALL)
    p = bytearray(chunks[0].payload)
    how = data.draw(st.sampled_from(["flip", "cut", "extend", "random"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(p) - 1))
            p[i] = data.draw(st.integers(0, 255))
    elif how == "cut":
        p = p[: data.draw(st.integers(0, len(p) - 1))]
    elif how == "extend":
        p += data.draw(st.binary(min_size=1, max_size=20))
    else:
        p = bytearray(data.draw(st.binary(max_size=200)))
    _decodes_or_codec_error(_rewrap(SMALL, payload=bytes(p)))


@pytest.mark.parametrize(
    "changes",
    [
        {"width": 50_000, "height": 50_000},  # huge declared size, tiny data
        {"width": 1 << 24, "height": 1 << 24},
        {"width": 40},
        {"channels": 1},
        {"spec": "ycbcr|dct(block=16)|jpegq|huffman"},
        {"spec": "ycbcr|dct|jpegq"},
        {"spec": "nonsense((("},
        {"spec": "ycbcr|dct(block=7)|jpegq|huffman"},
    ],
)
def test_header_lies_are_caught(changes):
    with pytest.raises(CodecError):
        hybridcodec.decode(_rewrap(SMALL, **changes))


def test_header_field_ranges():
    for changes in ({"width": 0}, {"height": 0}, {"channels": 2}, {"quality": 0.5}, {"quality": 101}):
        with pytest.raises(CodecError):
            hybridcodec.decode(_rewrap(SMALL, **changes))


def test_unknown_version_named():
    bad = bytearray(SMALL)
    bad[8] = 9
    head_end = 24 + struct.unpack_from(">H", bad, 22)[0] + 2
    bad[head_end : head_end + 4] = struct.pack(">I", zlib.crc32(bytes(bad[:head_end])))
    with pytest.raises(CodecError, match="version 9"):
        hybridcodec.decode(bytes(bad))


def test_stage_not_installed_names_install(monkeypatch):
    from importlib import metadata

    from hybridcodec import _registry

    # as on a machine without the plugins package
    monkeypatch.delitem(_registry._stages, "cnn", raising=False)
    monkeypatch.setattr(metadata, "entry_points", lambda group: [])
    data = _rewrap(SMALL, spec=hybridcodec.info(SMALL)["pipeline"] + "|cnn")
    with pytest.raises(StageNotInstalledError, match="pip install -e plugins"):
        hybridcodec.decode(data)
    data = _rewrap(SMALL, spec="ycbcr|dct|jpegq|zstd")
    with pytest.raises(StageNotInstalledError, match="installed stages: .*huffman"):
        hybridcodec.decode(data)


def test_max_pixels_guard():
    big = hybridcodec.encode(np.zeros((300, 300), np.uint8))
    with pytest.raises(CodecError, match="max_pixels"):
        hybridcodec.decode(big, max_pixels=300 * 299)
    assert hybridcodec.decode(big, max_pixels=None).shape == (300, 300)


def test_ancillary_chunks_skipped_critical_rejected():
    header, chunks = read_container(SMALL)
    ok = write_container(header, chunks + [Chunk(b"note", 0, b"hello")])
    assert np.array_equal(hybridcodec.decode(ok), hybridcodec.decode(SMALL))
    bad = write_container(header, chunks + [Chunk(b"NOTE", 0, b"hello")])
    with pytest.raises(CodecError, match="unexpected chunk"):
        hybridcodec.decode(bad)
    with pytest.raises(CodecError, match="no coded data"):
        hybridcodec.decode(write_container(header, []))


@pytest.mark.parametrize("data", [None, "abc", 12, [1, 2], np.zeros(4, np.uint8)])
def test_decode_rejects_non_bytes(data):
    with pytest.raises(CodecError):
        hybridcodec.decode(data)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4), np.int16),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4, 4, 5), np.uint8),
        np.zeros((0, 4), np.uint8),
        np.zeros((4,), np.uint8),
        np.zeros((2, 2, 2, 3), np.uint8),
        "image.png",
        None,
        [[1, 2], [3, 4]],
    ],
)
def test_encode_rejects_bad_images(image):
    with pytest.raises(CodecError):
        hybridcodec.encode(image)


def test_encode_rejects_pil_modes():
    from PIL import Image

    for mode, value in (("F", 0), ("I", 70000), ("I", -1)):
        with pytest.raises(CodecError, match="mode"):
            hybridcodec.encode(Image.new(mode, (4, 4), value))


@pytest.mark.parametrize("mode, alpha, expect", [
    ("1", False, "L"), ("P", False, "RGB"), ("P", True, "RGBA"), ("LA", False, "RGBA"), ("PA", False, "RGBA"),
    ("CMYK", False, "RGB"), ("YCbCr", False, "RGB"), ("LAB", False, "RGB"), ("HSV", False, "RGB")])
def test_one_mode_rule_for_encode_pillow_and_cli(tmp_path, mode, alpha, expect):
    from PIL import Image

    from hybridcodec.cli import main
    im = Image.new(mode, (6, 4))
    if alpha:
        im.info["transparency"] = 0
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[expect]
    assert hybridcodec.info(hybridcodec.encode(im))["mode"] == expect
    hybridcodec.register_pillow()
    im.save(tmp_path / "a.hcx")
    assert Image.open(tmp_path / "a.hcx").mode == expect
    if mode not in ("LAB", "HSV", "PA"):  # Pillow writes none of these to a file the CLI could read
        src = tmp_path / ("in.tif" if mode in ("CMYK", "YCbCr") else "in.png")
        im.save(src)
        assert main(["encode", str(src), str(tmp_path / "b.hcx")]) == 0
        assert hybridcodec.info((tmp_path / "b.hcx").read_bytes())["channels"] == channels


@pytest.mark.parametrize("quality", [0, 101, -5, 0.99, 100.01, float("nan"), "75", True, [75]])
def test_bad_quality(quality):
    with pytest.raises(CodecError, match="quality"):
        hybridcodec.encode(np.zeros((4, 4), np.uint8), quality=quality)


def test_quality_numpy_and_fractions():
    img = np.zeros((4, 4), np.uint8)
    assert hybridcodec.info(hybridcodec.encode(img, quality=np.int64(40)))["quality"] == 40
    assert hybridcodec.info(hybridcodec.encode(img, quality=np.float32(52.25)))["quality"] == 52.25
    assert hybridcodec.info(hybridcodec.encode(img, quality=33.333))["quality"] == 33.33


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"preset": "nope"}, "unknown preset"),
        ({"preset": "baseline", "pipeline": "baseline"}, "either"),
        ({"pipeline": "dct|jpegq"}, "entropy"),
        ({"pipeline": "huffman|dct"}, "cannot follow"),
        ({"pipeline": "ycbcr|dct|huffman"}, "quantizer"),
        ({"pipeline": "ycbcr|jpegq|huffman"}, "dct"),
        ({"pipeline": "dct(block=8,block=4)|jpegq|huffman"}, "twice"),
        ({"pipeline": "dct(size=8)|jpegq|huffman"}, "valid parameters: block"),
        ({"pipeline": "dct(block=x)|jpegq|huffman"}, "expects int"),
        ({"pipeline": "dct(block=8|jpegq|huffman"}, "unbalanced"),
        ({"pipeline": "baseline(block=4)"}, "preset"),
        ({"pipeline": ""}, "empty"),
        ({"pipeline": 5}, "spec string"),
        ({"pipeline": "dct|jpegq|jpegq|huffman"}, "at most one quantizer stage"),
        ({"pipeline": "ycbcr|dct|jpegq(table=foo)|huffman"}, "annexk, flat"),
    ],
)
def test_bad_pipelines(kwargs, match):
    with pytest.raises(CodecError, match=match):
        hybridcodec.encode(np.zeros((4, 4, 3), np.uint8), **kwargs)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
@pytest.mark.parametrize("width, height", [(3, 4), (127, 128), (300, 70_000), (1 << 24, 1)])
def test_header_write_read_round_trip(version, width, height):
    import io

    from hybridcodec._container import read_head, scan_chunks

    h = Header(width, height, 1, 50.25, "dct(block=8)|jpegq(table=annexk)|huffman()", version=version)
    chunks = [Chunk(b"DATA", 2, b"xyz" * 50), Chunk(b"SIDE", 0, b""), Chunk(b"eXIf", 255, b"exif" * 40),
              Chunk(b"ALPH", 255, b"\1")]
    blob = write_container(h, chunks)
    h2, got = read_container(blob)
    assert (h2.width, h2.height, h2.channels, h2.quality, h2.spec, h2.version) == (
        width, height, 1, 50.25, h.spec, version)
    assert [(c.type, c.stage, c.payload) for c in got] == [(c.type, c.stage, c.payload) for c in chunks]
    fp = io.BytesIO(blob + b"after")
    h3, count = read_head(fp)
    assert (h3.width, h3.height, h3.spec, count) == (width, height, h.spec, 4)
    found = scan_chunks(fp, count, lambda t, s: s == 255, version)
    assert found == {(b"eXIf", 255): b"exif" * 40, (b"ALPH", 255): b"\1"}


def test_version_4_layout_is_compact():
    h = Header(768, 512, 3, 75, "dct(block=8)|jpegq(table=annexk)|huffman()")
    chunks = [Chunk(b"DATA", 3, bytes(1000)), Chunk(b"SIDE", 4, bytes(19))]
    sizes = {v: len(write_container(Header(**{**h.__dict__, "version": v}), chunks)) for v in (3, 4)}
    assert sizes[3] - sizes[4] == 6 + 5 + 6  # the header; chunks with a 2-byte and a 1-byte length


def _rewrap_raw(head_and_chunks: bytes, head_end: int) -> bytes:
    """Fix the header CRC of a hand-made version-4 file whose header ends at ``head_end``."""
    return head_and_chunks[:head_end] + struct.pack(">I", zlib.crc32(head_and_chunks[:head_end])) + \
        head_and_chunks[head_end:]


def test_version_4_damaged_lengths_and_type_codes_are_clear_errors():
    from hybridcodec._container import MAGIC, pack_spec

    spec = pack_spec("rct()|int53(levels=0)|arith()", 4)
    head = MAGIC + bytes([4, 0]) + b"\x01\x01" + bytes([3, 8]) + struct.pack(">H", 7500) + bytes([len(spec)]) + spec
    body = b"\x00\x00\x03abc"
    ok = _rewrap_raw(head + b"\x01" + body + struct.pack(">I", zlib.crc32(body)), len(head) + 1)
    assert read_container(ok)[1][0].payload == b"abc"
    too_long = MAGIC + bytes([4, 0]) + b"\xff" * 6  # a width varint of more than 5 bytes
    with pytest.raises(CodecError, match="not a valid length"):
        read_container(too_long + bytes(20))
    for code in (3, 7, 254):  # no such type codes
        bad_body = bytes([code]) + body[1:]
        bad = _rewrap_raw(head + b"\x01" + bad_body + struct.pack(">I", zlib.crc32(bad_body)), len(head) + 1)
        with pytest.raises(CodecError, match="unknown type code"):
            read_container(bad)
    huge = b"\x00\x00\xff\xff\xff\xff\x0fabc"  # a length far past the data
    with pytest.raises(hybridcodec.TruncatedError):
        read_container(_rewrap_raw(head + b"\x01" + huge + bytes(4), len(head) + 1))


@pytest.mark.parametrize("preset", ["baseline", "wavelet", "dct-arith", "lossless"])
def test_truncation_is_a_truncated_error(preset):
    from conftest import smooth_image

    data = hybridcodec.encode(smooth_image(40, 48, 3), preset=preset, quality=80)
    for cut in (len(data) - 7, len(data) // 2, 60):
        with pytest.raises(hybridcodec.TruncatedError):
            hybridcodec.decode(data[:cut])
    assert hybridcodec.decode(data[: len(data) - 7], allow_truncated=True).shape == (40, 48, 3)
    with pytest.raises(CodecError) as info:  # a damaged byte is corruption, not truncation
        bad = bytearray(data)
        bad[-8] ^= 1
        hybridcodec.decode(bytes(bad))
    assert not isinstance(info.value, hybridcodec.TruncatedError)
