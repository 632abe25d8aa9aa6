"""The decoder's work rule: a file may ask its networks for at most
``WORK_FREE + WORK_PER_BYTE * len(file)`` multiply-accumulates (docs/FORMAT.md, "Work");
a file that asks for more is refused before any network runs, and the encoder pads a
file that would ask for more (a flat image under a learned transform) until it does not."""

import io
import time

import numpy as np
import pytest

import hybridcodec
from hybridcodec import CodecError, Pipeline
from hybridcodec._codec import WORK_FREE, WORK_PER_BYTE, work_limit
from hybridcodec.container import read_container, write_container


def _resize(data, width, height):
    header, chunks = read_container(data)
    header.width, header.height = width, height
    return write_container(header, chunks)


def test_the_limit_is_the_documented_rule():
    assert work_limit(0) == WORK_FREE == 2 ** 33
    assert work_limit(1000) - work_limit(0) == 1000 * WORK_PER_BYTE == 1000 * 2 ** 23


def test_classical_files_declare_no_work_and_are_never_refused_by_it():
    img = np.full((64, 64, 3), 100, np.uint8)
    data = hybridcodec.encode(img, pipeline="wavelet+alf", quality=1)
    assert hybridcodec.decode(data, max_work=0).shape == (64, 64, 3)  # alf off on a flat image: no work
    big = _resize(hybridcodec.encode(img, preset="wavelet", quality=1), 8192, 8192)
    with pytest.raises(CodecError) as err:  # refused for its pixels, not its work
        hybridcodec.decode(big)
    assert "multiply" not in str(err.value)


def test_max_work_is_checked():
    data = hybridcodec.encode(np.zeros((8, 8, 3), np.uint8), preset="wavelet")
    for bad in (-1, 1.5, "all", True):
        with pytest.raises(CodecError, match="max_work"):
            hybridcodec.decode(data, max_work=bad)


@pytest.mark.parametrize("spec", ["lifting", "lifting+cnn", "learned", "learned|rans", "dcnn", "wavelet+cnn",
                                  "ycbcr(subsampling=444)|dwt|deadzone|ctxrans"])
def test_a_learned_file_declaring_more_work_than_its_bytes_is_refused_at_once(spec, monkeypatch):
    pytest.importorskip("torch")
    img = np.full((64, 96, 3), 90, np.uint8)
    data = hybridcodec.encode(img, pipeline=spec, quality=1)
    assert hybridcodec.decode(data).shape == img.shape
    per_pixel = Pipeline(spec).decode_work(64 * 96, _ctx(spec, data)) / (64 * 96)  # cnn is off on a flat image
    if not per_pixel:  # wavelet+cnn: a flat file asks for no work at all; a textured one does
        y, x = np.mgrid[0:64, 0:96]
        img = np.clip(128 + 90 * np.sin(x / 2.0) * np.cos(y / 3.0), 0, 255).astype(np.uint8)[:, :, None].repeat(3, 2)
        data = hybridcodec.encode(img, pipeline=spec, quality=50)
        per_pixel = Pipeline(spec).decode_work(64 * 96, _ctx(spec, data)) / (64 * 96)
        assert per_pixel > 0
    side = int(np.sqrt(work_limit(len(data)) / per_pixel)) + 64  # a size the bytes cannot pay for
    side -= side % 64
    bad = _resize(data, side, side)
    ran = []
    from hybridcodec_learned.stages import cnn, dcnn, learned, lifting

    for module in (cnn, dcnn, learned, lifting):  # a network that starts fails the test
        monkeypatch.setattr(module, "use_torch", lambda: ran.append(1))
    t0 = time.process_time()
    with pytest.raises(CodecError, match="multiply-accumulates") as err:
        hybridcodec.decode(bad)
    assert time.process_time() - t0 < 1.0 and not ran
    assert "max_work=None" in str(err.value)
    from PIL import Image

    hybridcodec.register_pillow()
    with Image.open(io.BytesIO(bad)) as im:
        with pytest.raises((CodecError, OSError)):
            im.load()
    assert not ran


@pytest.mark.parametrize("spec", ["lifting", "lifting+cnn", "learned", "dcnn"])
def test_flat_images_at_every_size_decode_under_the_default_limit(spec):
    pytest.importorskip("torch")
    sizes = [(16, 16), (300, 200), (1024, 1024)]
    for h, w in sizes:
        img = np.full((h, w, 3), 128, np.uint8)
        data = hybridcodec.encode(img, pipeline=spec, quality=1)
        header, chunks = read_container(data)
        declared = Pipeline(spec).decode_work(h * w, _ctx(spec, data))
        assert declared <= work_limit(len(data))


def _ctx(spec, data):
    header, chunks = read_container(data)
    pipe = Pipeline(header.spec)
    ctx = pipe.context(header.width, header.height, 3, header.quality)
    for c in chunks:
        if c.type == b"SIDE":
            ctx.side.setdefault(c.stage, []).append(c.payload)
    return ctx


def test_the_encoder_pads_a_file_whose_work_its_bytes_do_not_pay_for(monkeypatch):
    pytest.importorskip("torch")
    import hybridcodec._codec as codec

    monkeypatch.setattr(codec, "WORK_FREE", 0)  # a small image then needs padding
    img = np.full((256, 256, 3), 128, np.uint8)
    data = hybridcodec.encode(img, preset="lifting", quality=1)
    header, chunks = read_container(data)
    pads = [c for c in chunks if c.type == b"wPAD"]
    assert pads and not any(pads[0].payload)
    work = 256 * 256 * Pipeline("lifting").macs()[0]
    assert work <= codec.work_limit(len(data)) < work + 64 * WORK_PER_BYTE
    assert hybridcodec.decode(data).shape == img.shape
