"""Regression tests for what a structure-aware fuzzer found (decoding cost bounded by
the file, every spec validated), and a property test over random specs."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybridcodec
from hybridcodec import CodecError, Pipeline, TruncatedError, available_stages
from hybridcodec.container import Header, read_container, write_container
from hybridcodec.cli import main
from conftest import smooth_image


def _rewrite(data: bytes, **changes) -> bytes:
    """The same file with header fields changed and every CRC recomputed."""
    header, chunks = read_container(data)
    fields = {k: getattr(header, k) for k in ("width", "height", "channels", "quality", "spec", "flags")}
    fields.update(changes)
    return write_container(Header(**fields), chunks)


@pytest.mark.parametrize("spec", ["dwt(levels=8)|deadzone|arith", "int53(levels=8)|arith",
                                  "ycbcr|dwt(levels=8)|deadzone(chroma=2)|arith"])
def test_deep_levels_on_a_one_pixel_image(spec):
    img = np.full((1, 1, 3), 77, np.uint8)
    data = hybridcodec.encode(img, pipeline=spec, quality=90)
    assert np.abs(hybridcodec.decode(data).astype(int) - 77).max() <= 2
    for k in (2, 8):
        assert hybridcodec.decode(data, reduce=k).shape == (1, 1, 3)


def test_post_filters_cannot_repeat():
    spec = "ycbcr|dct|jpegq|huffman" + "|cnn" * 250
    with pytest.raises(CodecError, match="at most one postfilter stage"):
        Pipeline(spec)
    data = hybridcodec.encode(smooth_image(8, 8, 3), preset="baseline")
    with pytest.raises(CodecError, match="at most one postfilter stage"):
        hybridcodec.decode(_rewrite(data, spec=spec))


def test_cut_short_mode_still_needs_data_for_the_declared_size():
    data = hybridcodec.encode(np.zeros((1, 1, 3), np.uint8), preset="wavelet")
    big = _rewrite(data, width=8192, height=8192)
    assert len(big) < 400
    for cut in (False, True):
        with pytest.raises(CodecError, match="cannot hold a 8192x8192 image"):
            hybridcodec.decode(big, allow_truncated=cut, max_pixels=None)
    with pytest.raises(TruncatedError):
        hybridcodec.decode(big, allow_truncated=True, max_pixels=None)


def test_pillow_load_truncated_images_still_bounded(tmp_path):
    from PIL import Image, ImageFile

    hybridcodec.register_pillow()
    data = hybridcodec.encode(np.zeros((1, 1, 3), np.uint8), preset="wavelet")
    (tmp_path / "big.hcx").write_bytes(_rewrite(data, width=4096, height=4096))
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with Image.open(tmp_path / "big.hcx") as im, pytest.raises(OSError, match="truncated"):
            im.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


@pytest.mark.parametrize("spec", ["ycbcr|rct|dct|jpegq|huffman", "ycbcr(subsampling=420)|rct|int53|arith",
                                  "ycbcr|ycbcr|dct|jpegq|huffman"])
def test_specs_that_crashed_the_encoder_are_refused(spec, tmp_path, capsys):
    with pytest.raises(CodecError, match="at most one colour stage"):
        Pipeline(spec)
    png = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(smooth_image(16, 16, 3)).save(png)
    assert main(["encode", str(png), str(tmp_path / "o.hcx"), "--pipeline", spec]) == 1
    err = capsys.readouterr().err
    assert "at most one colour stage" in err and "Traceback" not in err
    assert not (tmp_path / "o.hcx").exists()


def test_decode_to_tiff_with_malformed_exif_is_an_error_line(tmp_path, capsys):
    data = hybridcodec.encode(smooth_image(8, 8, 3), exif=b"Exif\0\0not a tiff header at all")
    (tmp_path / "x.hcx").write_bytes(data)
    assert main(["decode", str(tmp_path / "x.hcx"), str(tmp_path / "out.tif")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hybridcodec: error:") and "Traceback" not in err
    assert not (tmp_path / "out.tif").exists()
    assert main(["decode", str(tmp_path / "x.hcx"), str(tmp_path / "out.png")]) == 0  # PNG keeps it raw


# -- every spec the validator lets through encodes and decodes --------------------------

def _param_values(p):
    if p.choices:
        return st.sampled_from(p.choices)
    if p.type is bool:
        return st.booleans()
    if p.type is int:
        return st.integers(p.min if p.min is not None else -3, p.max if p.max is not None else 20)
    if p.type is float:
        lo = p.min if p.min is not None else -2.0
        return st.floats(lo, p.max if p.max is not None else lo + 10, allow_nan=False).map(lambda v: round(v, 3))
    return st.text("abc", min_size=1, max_size=3)


def _stages(kind=None):
    stages = [cls for cls in available_stages().values() if not cls.name.startswith("test-")
              and cls.name != "cnn" and kind in (None, cls.kind)]  # cnn: tested with its weights elsewhere
    return st.sampled_from(stages).flatmap(
        lambda cls: st.fixed_dictionaries({p.name: _param_values(p) for p in cls.params}).map(
            lambda kw, cls=cls: f"{cls.name}({','.join(f'{k}={v}' for k, v in kw.items())})"))


# Mostly well-formed pipelines (a stage of each kind, in order) so that most examples get
# past validation and reach the stages; some lists of any stages in any order.
_SPECS = st.one_of(
    st.tuples(st.one_of(st.none(), _stages("colour")), _stages("transform"),
              st.one_of(_stages("quantizer"), st.none()), _stages("entropy")).map(lambda t: [x for x in t if x]),
    st.lists(_stages(), min_size=1, max_size=5))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SPECS, st.sampled_from([(1, 1, 1), (7, 5, 3), (20, 33, 4), (16, 16, 1)]),
       st.integers(1, 100))
def test_random_specs_round_trip_or_are_refused_up_front(items, shape, quality):
    spec = "|".join(items)
    img = smooth_image(shape[0], shape[1], 3)
    img = img[:, :, :1] if shape[2] == 1 else (np.dstack([img, img[:, :, :1]]) if shape[2] == 4 else img)
    try:
        pipe = Pipeline(spec)
        pipe.layouts(shape[0], shape[1], min(shape[2], 3))
    except CodecError:
        return  # refused at construction or layout time, as it should be
    data = hybridcodec.encode(img, pipeline=spec, quality=quality)
    for k in (1, 2, 8):
        out = hybridcodec.decode(data, reduce=k)
        assert out.shape[:2] == (-(-shape[0] // k), -(-shape[1] // k))
