"""Every preset (hybrid-fast and hybrid among them) and ``+cnn`` pipeline (and each learned entropy model's pipeline) writes
the same bytes and decodes the same pixels as the code recorded below: a hash per
pipeline over three images at three qualities.

A failure means a refactor changed the output.  If the change was meant (new weights,
a new format), update the hash in the same commit and say why.

The classical lines are exact integer code and must match on any machine.  The learned
lines run float networks, whose results are bit-for-bit repeatable on one CPU model
and torch version, not across them (the files' entropy-coded indices come from float
analyses): they are checked where the recorded CPU and torch are those of this run,
and skipped elsewhere with the reason.
"""

import hashlib
import importlib.util

import numpy as np
import pytest

import hybridcodec
from golden_inputs import pattern

from conftest import smooth_image

QUALITIES = (10, 50, 90)

CLASSICAL = {
    "baseline": "e98ade845d573c5d617b699984de183a2eb5059bff93f8d2b4a8213cfbb1cf23",
    "wavelet": "a6c59e6e6ed1aaa02a6a0e8f790a54a0cc75924f3722adbe49152b7334b8c427",
    "dct-arith": "558c0f3be9bcec812f2cf08eb1d2d18dbb70fddecafa1ed27c62fd1474b973a6",
    "lossless": "55da5f48bc400bca8a85cd86229b8a2c05993687dcb6bf6bfc282e5181492792",
}
# Exact code but for a least-squares fit in the encoder (alf's filters: LAPACK, whose last
# bits may differ between CPUs, and a coefficient that lands on a rounding edge with
# them): checked where recorded, like the learned lines; its decoder is IEEE float32
# arithmetic in a fixed order, the same everywhere.
FITTED = {
    "hybrid-fast": "e1f36a23ceddf32917cd25a8270a3183bbcd0a82346aa45c5cf9a56b2728ae74",
}
LEARNED = {
    "hybrid": "2780542c46c0fafc49ef26e6c1906b7e790965b888888a003850800ab0007669",
    "learned": "e2165eb2ac5099b69e5566b99a77ccfe7d423ead4bc2a4bbc56860cb26c5adec",
    "lifting": "7434b8e0f5cebe5ca78b554b39076d7ffb5eabe64c35967a2585957a98c96245",
    "dcnn": "c0207bdb3be93c0242bba590e1679b435edc89a90cea9d0fcaf5cdaf01304374",
    "baseline+cnn": "3fa950bd28957d71aaee4d8780effef85eca42fabaec1fddb7d4b598d02d7397",
    "wavelet+cnn": "a938c8e50953a301d3d015c88b90dc227bcbbb8d4678d9da5a695d5dfa19e475",
    "dct-arith+cnn": "ece68d601049bd9b3bbfb0a190550a1b9224785ca11a8a5a574e8af959267ca9",
    "learned+cnn": "918db232fab2dc42e33c8508d5e96f058c853ef2fe13cd71d62d4e5d485a45ee",
    "lifting+cnn": "b315312f5821327435dacc181e36e2ff3754c7d5b4e70c02c56a12cc1e397de8",
    "learned|rans": "1dd5332c70bb930e07e90e9d09c47bd257c0c91d29407ff3ac21daab9d6735e2",
    "dcnn|rans": "82525f0bff1b20402c8b24d15429eddfc782c5f363a4d3fb3e663c8f77c65717",
    "ycbcr(subsampling=444)|dwt|deadzone|ctxrans": "f62f9b14bf57cc24531bfb3027b3b1ad35be728e1d6febee56adc9afb48ff079",
    "ycbcr(subsampling=444)|lifting|deadzone|ctxrans": "e9f3933b13cfa680d3d1fe19f52db2577b1f0430f0d2564f5c219b11208a5213",
    "ycbcr(subsampling=444)|lifting-joint|deadzone|ctxrans": "9f16d42197de79db8a03bd78adae81439eb389681928191d32db9abcf1884f72",
}
# where the learned lines were recorded (see the module's docstring)
RECORDED_ON = ("AMD EPYC", "2.13.0+cpu")


def _images():
    return [smooth_image(48, 64, 3, seed=1), pattern(40, 56, 3), smooth_image(33, 47, 1, seed=2)]


def pipeline_hash(spec: str) -> str:
    """sha256 over the files of ``spec`` for the three images at the three qualities and
    over their decoded pixels."""
    h = hashlib.sha256()
    for img in _images():
        for q in QUALITIES:
            kw = {"preset": spec} if spec in hybridcodec.PRESETS else {"pipeline": spec}
            data = hybridcodec.encode(img, quality=q, **kw)
            out = hybridcodec.decode(data)
            h.update(len(data).to_bytes(4, "big") + data)
            h.update(np.ascontiguousarray(out).tobytes())
    return h.hexdigest()


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return ""


@pytest.mark.parametrize("spec", sorted(CLASSICAL))
def test_classical_pipelines_write_the_recorded_bytes(spec):
    assert pipeline_hash(spec) == CLASSICAL[spec]


@pytest.mark.parametrize("spec", sorted(FITTED))
def test_fitted_pipelines_write_the_recorded_bytes(spec):
    if _cpu() != RECORDED_ON[0]:
        pytest.skip(f"the fitted lines were recorded on {RECORDED_ON[0]}; this is {_cpu()}")
    assert pipeline_hash(spec) == FITTED[spec]


@pytest.mark.parametrize("spec", sorted(LEARNED))
def test_learned_pipelines_write_the_recorded_bytes(spec):
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("hybridcodec_learned") is None:
        pytest.skip("needs torch and the hybridcodec-learned plugin")
    import torch

    if (_cpu(), torch.__version__) != RECORDED_ON:
        pytest.skip(f"learned hashes were recorded on {RECORDED_ON}; this is {(_cpu(), torch.__version__)}")
    assert pipeline_hash(spec) == LEARNED[spec]
