"""What plugins declare to the core (entry-point group ``hybridcodec.plugins``): presets
and compare defaults, registered through the public API; a broken declaration leaves
the core working and is reported."""

from importlib import metadata

import pytest

import hybridcodec
from hybridcodec import _plugins
from hybridcodec.compare.settings import default_pipelines


def test_a_registered_preset_is_a_pipeline_everywhere():
    name = hybridcodec.register_preset("test-dct16", "ycbcr(subsampling=444)|dct(block=16)|jpegq|arith",
                                       "test: 16x16 DCT")
    assert hybridcodec.PRESETS[name][0].startswith("ycbcr") and name in list(hybridcodec.PRESETS)
    img = (hybridcodec.decode(hybridcodec.encode(__import__("numpy").zeros((16, 16, 3), "uint8"), preset=name)))
    assert img.shape == (16, 16, 3)
    assert hybridcodec.Pipeline(f"{name}+cnn" if "cnn" in hybridcodec.available_stages() else name).stages


@pytest.mark.parametrize("name, spec, message", [
    ("wavelet", "rct|int53|arith", "already taken"),  # a core preset is never replaced
    ("bad name", "rct|int53|arith", "letters"),
    ("ok-name", "", "spec"),
])
def test_bad_presets_are_refused(name, spec, message):
    with pytest.raises(ValueError, match=message):
        hybridcodec.register_preset(name, spec, "doc")
    assert hybridcodec.PRESETS["wavelet"][0] == "ycbcr(subsampling=444)|dwt|deadzone|arith"


def test_compare_defaults_come_from_the_plugins(monkeypatch):
    _plugins.load_plugins()  # the installed plugins' defaults first
    monkeypatch.setattr(_plugins, "_compare", list(_plugins._compare))
    monkeypatch.setattr(_plugins, "_compare_more", list(_plugins._compare_more))
    hybridcodec.register_compare_default("wavelet+test-nothing")
    hybridcodec.register_compare_default("wavelet+test-slow", slow=True)
    assert default_pipelines()[:4] == ["baseline", "dct-arith", "wavelet", "hybrid-fast"]
    assert default_pipelines()[-1] == "wavelet+test-nothing" and "wavelet+test-slow" not in default_pipelines()
    assert default_pipelines(True)[-1] == "wavelet+test-slow"  # compare --all
    with pytest.raises(ValueError):
        hybridcodec.register_compare_default("")


class _EP:
    def __init__(self, name, func):
        self.name, self.func, self.value, self.dist = name, func, f"fake:{name}", None

    def load(self):
        return self.func


def test_a_broken_plugin_declaration_is_reported_and_the_core_goes_on(monkeypatch, capsys):
    def broken():
        raise RuntimeError("no luck")

    def good():
        hybridcodec.register_preset("test-from-plugin", "rct|int53|arith", "test: declared by a fake plugin")

    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda group=None, **kw: [_EP("broken", broken), _EP("good", good)]
                        if group == _plugins.PLUGINS_GROUP else real(group=group, **kw))
    monkeypatch.setattr(_plugins, "_loaded", False)
    monkeypatch.setattr(_plugins, "_failed", {})
    assert "test-from-plugin" in hybridcodec.PRESETS  # a name outside the core's runs the declarations
    assert _plugins.failed_plugins() == {"broken": "RuntimeError: no luck"}
    from hybridcodec.cli import main

    assert main(["stages"]) == 0
    assert "broken: failed to load (RuntimeError: no luck)" in capsys.readouterr().out
