import importlib.util

import numpy as np
import pytest

# atheris is optional (coverage-guided fuzzing, tests/fuzz/atheris_decode.py)
collect_ignore = [] if importlib.util.find_spec("atheris") else ["fuzz/atheris_decode.py"]

# No test may depend on wall-clock time: hypothesis's per-example deadline and its
# "too slow" health check are both wall-clock bounds, off for every test (a busy machine
# stretches them; the tests bound work, never time).
if importlib.util.find_spec("hypothesis"):
    from hypothesis import HealthCheck, settings as _hypothesis_settings

    _hypothesis_settings.register_profile("hybridcodec", deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
    _hypothesis_settings.load_profile("hybridcodec")


def smooth_image(h, w, channels=3, seed=0):
    """A photo-like test image: smooth gradients plus mild texture and an edge."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        base = 128 + 60 * np.sin(x / (5 + 3 * c) + c) * np.cos(y / (7 + c))
        base += 30 * (x > w / 2) - 15
        base += rng.normal(0, 4, size=(h, w))
        planes.append(base)
    img = np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)
    return img[:, :, 0] if channels == 1 else img


@pytest.fixture
def rgb():
    return smooth_image(48, 64, 3)


@pytest.fixture
def grey():
    return smooth_image(40, 56, 1)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """Tiny post-filter weights trained for a few steps on generated photos, for both
    families (needs torch and the plugin)."""
    pytest.importorskip("torch")
    from PIL import Image

    from hybridcodec_learned.training.postfilter import train_postfilter

    root = tmp_path_factory.mktemp("pf")
    data = root / "train"
    data.mkdir()
    for i in range(3):
        Image.fromarray(smooth_image(80, 96, 3, seed=i)).save(data / f"{i}.png")
    for preset, family in (("baseline", "dct"), ("wavelet", "dwt")):
        train_postfilter(str(data), preset, steps=3, out=str(root / f"postfilter-{family}.pt"), batch=2, crop=32,
                         channels=8, layers=3, progress=False, say=lambda *a: None)
    return root


def move_weights(monkeypatch, folder, format="postfilter"):
    """Point every registered artefact of ``format`` at ``folder`` (the files there keep
    the shipped names): the weights layer's registry is data, patched for the test."""
    import dataclasses

    from hybridcodec_learned import weights

    for a in weights.artefacts(format):
        monkeypatch.setitem(weights._REGISTRY, a.name, dataclasses.replace(a, folder=folder))
    weights.clear_cache()


@pytest.fixture
def use_weights(tiny_weights, monkeypatch):
    """The post-filter reads the tiny weights instead of the shipped ones."""
    from hybridcodec_learned import weights

    move_weights(monkeypatch, tiny_weights)
    yield tiny_weights
    weights.clear_cache()
