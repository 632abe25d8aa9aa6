from importlib import metadata

import numpy as np
import pytest

import hybridcodec
from hybridcodec import CodecError, Param, Pipeline, Stage, register_stage
from hybridcodec import _registry
from conftest import smooth_image


def test_spec_canonical_and_round_trip():
    p = Pipeline("ycbcr( subsampling = 444 ) | dct(block=16)|jpegq|huffman")
    assert p.spec() == "ycbcr(subsampling=444)|dct(block=16)|jpegq(table=annexk)|huffman()"
    assert Pipeline(p.spec()).spec() == p.spec()


def test_preset_expands_and_is_in_header(rgb):
    assert Pipeline("baseline").spec() == Pipeline(hybridcodec.PRESETS["baseline"][0]).spec()
    data = hybridcodec.encode(rgb, preset="baseline")
    assert hybridcodec.info(data)["pipeline"] == Pipeline("baseline").spec()


def test_default_is_wavelet(rgb):
    assert hybridcodec.encode(rgb) == hybridcodec.encode(rgb, pipeline="wavelet")
    assert hybridcodec.DEFAULT_PRESET == "wavelet"


def test_stage_params_validated():
    with pytest.raises(CodecError, match="one of 4, 8, 16"):
        Pipeline("dct(block=32)|jpegq|huffman")
    with pytest.raises(CodecError, match="no parameter"):
        Pipeline("huffman(x=1)")


def test_param_types():
    assert Param("a", float, 1.0).coerce("2.5") == 2.5
    assert Param("a", bool, False).coerce("true") is True
    assert Param("a", int, 1, min=0, max=3).coerce("3") == 3
    for p, v in ((Param("a", int, 1, min=0, max=3), "4"), (Param("a", float, 1.0), "nan"),
                 (Param("a", bool, False), "maybe"), (Param("a", str, "x"), "a b"),
                 (Param("a", int, 1), True)):
        with pytest.raises(CodecError):
            p.coerce(v)


def test_available_stages_lists_builtins():
    names = hybridcodec.available_stages()
    assert {"ycbcr", "dct", "jpegq", "huffman"} <= set(names)
    kinds = [cls.kind for cls in names.values()]
    assert kinds == sorted(kinds, key=hybridcodec.KINDS.index)


class _Offset(Stage):
    """A postfilter that learns, at encode time, the mean error and adds it back;
    it exercises side-data chunks and the postfilter protocol."""

    name = "test-offset"
    kind = "postfilter"
    params = (Param("gain", float, 1.0, min=0.0, max=2.0),)

    def encode(self, original, decoded, ctx):
        bias = float(np.mean(original - decoded)) * self.gain
        ctx.emit(self.index, np.float32(bias).tobytes())

    def decode(self, image, ctx):
        (side,) = ctx.take(self.index)
        if len(side) != 4:
            raise CodecError("bad side data")
        return image + np.frombuffer(side, np.float32)[0]


register_stage(_Offset)


def test_plugin_postfilter_with_side_data():
    img = np.clip(smooth_image(24, 24, 3) + 0, 0, 255).astype(np.uint8)
    plain = hybridcodec.encode(img, quality=5)
    filt = hybridcodec.encode(img, pipeline="baseline+test-offset(gain=1.0)", quality=5)
    info = hybridcodec.info(filt)
    assert info["pipeline"].endswith("|test-offset(gain=1.0)")
    assert [c["type"] for c in info["chunks"]] == ["DATA", "SIDE"]
    a = hybridcodec.decode(plain).astype(float)
    b = hybridcodec.decode(filt).astype(float)
    assert abs(np.mean(img - b)) < 0.5 and abs(np.mean(img - b)) <= abs(np.mean(img - a))
    assert b.shape == img.shape


def test_encoding_does_not_run_the_last_postfilters_decode(monkeypatch):
    """Its output is not needed to write the file (a cnn decode is 0.39 s of a lifting+cnn
    encode); decoding the file runs it."""
    calls = []
    real = _Offset.decode
    monkeypatch.setattr(_Offset, "decode", lambda self, image, ctx: calls.append(1) or real(self, image, ctx))
    data = hybridcodec.encode(smooth_image(16, 16, 3), pipeline="baseline+test-offset", quality=20)
    assert calls == []
    hybridcodec.decode(data)
    assert calls == [1]


def test_postfilter_must_come_last():
    with pytest.raises(CodecError, match="cannot follow"):
        Pipeline("ycbcr|test-offset|dct|jpegq|huffman")


def test_register_rejects_bad_classes():
    with pytest.raises(TypeError):
        register_stage(object)

    class NoKind(Stage):
        name = "nokind"

    with pytest.raises(ValueError):
        register_stage(NoKind)

    class Clash(Stage):
        name, kind = "dct", "transform"

    with pytest.raises(ValueError, match="already registered"):
        register_stage(Clash)


class _FakeEP:
    def __init__(self, name, obj=None, error=None):
        self.name, self.value, self._obj, self._error = name, f"fake:{name}", obj, error

    def load(self):
        if self._error:
            raise self._error
        return self._obj


def test_entry_point_plugins_load_lazily(monkeypatch):
    class Plug(Stage):
        name, kind, doc = "test-plug", "colour", "identity from an entry point"

        def encode(self, planes, layout, ctx):
            return planes

        def decode(self, planes, layout, ctx):
            return planes

    eps = [_FakeEP("test-plug", Plug), _FakeEP("test-broken", error=ImportError("no torch"))]
    monkeypatch.setattr(metadata, "entry_points", lambda group: eps if group == _registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(_registry, "_entry_points_loaded", False)
    monkeypatch.delitem(_registry._stages, "test-plug", raising=False)
    img = smooth_image(16, 16, 3)
    data = hybridcodec.encode(img, pipeline="test-plug|dct|jpegq|huffman", quality=90)
    assert hybridcodec.decode(data).shape == img.shape
    with pytest.raises(hybridcodec.StageNotInstalledError, match=r"failed to load \(ImportError: no torch\).*"
                                                                    r"torch's CPU build first.*torch==2\.13\.0"):
        hybridcodec.get_stage("test-broken")
    assert "test-plug" in hybridcodec.available_stages()  # the broken one is skipped
    _registry._stages.pop("test-plug", None)


def test_real_entry_point_group_is_queried():
    # the installed core declares no plugin of its own; whatever is installed must load
    for ep in metadata.entry_points(group=_registry.ENTRY_POINT_GROUP):
        assert ep.name in hybridcodec.available_stages()


@pytest.mark.parametrize("spec", ["baseline", "dct-arith", "ycbcr(subsampling=444)|dct(block=16)|jpegq|arith"])
def test_flatten_reorders_block_planes_in_one_copy_as_each_plane_flattened(spec):
    from hybridcodec.plugin import flatten, unflatten

    pipe = Pipeline(hybridcodec.PRESETS[spec][0] if spec in hybridcodec.PRESETS else spec)
    img = smooth_image(37, 50, seed=4)
    layouts = pipe.layouts(37, 50, 3)
    ctx = pipe.context(50, 37, 3, 60)
    planes = pipe.forward[0].encode_samples(img, layouts[0], ctx)
    for stage, layout in zip(pipe.forward[1:], layouts[1:]):
        planes = stage.encode(planes, layout, ctx)
    layout = layouts[-1]
    flat = flatten(planes, layout)
    assert any(info.axes for info in layout)  # blocks: not a view
    assert np.array_equal(flat, np.concatenate([info.flat(np.asarray(p, np.int32)) for p, info in zip(planes, layout)]))
    assert all(np.array_equal(a, b) for a, b in zip(unflatten(flat, layout), planes))
    with pytest.raises(CodecError, match="layout does not describe"):
        flatten([planes[0][:-1]] + list(planes[1:]), layout)
