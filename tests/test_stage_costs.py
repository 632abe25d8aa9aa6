"""Every stage's stated cost (multiply-accumulates a pixel, :meth:`Stage.macs`) is what its
networks run, counted by torch's FlopCounterMode; ``stages`` and ``info`` show it."""

import json
import subprocess
import sys

import numpy as np
import pytest

import hybridcodec
from hybridcodec import Pipeline
from hybridcodec._registry import available_stages


def _image(h=256, w=384):
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(3)
    img = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    return np.clip(img[:, :, None] + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("spec", ["lifting", "learned", "dcnn", "wavelet+cnn", "lifting+cnn"])
def test_stated_costs_match_what_the_networks_run(spec):
    pytest.importorskip("torch")
    from hybridcodec_learned.cost import probe

    img = _image()
    n = img.shape[0] * img.shape[1]
    pipe = Pipeline(spec)
    declared_dec, declared_enc = pipe.macs()
    with probe() as enc:
        data = hybridcodec.encode(img, pipeline=spec, quality=50)
    with probe() as dec:
        hybridcodec.decode(data)
    assert dec["macs"] / n <= declared_dec * 1.02, (dec["macs"] / n, declared_dec)
    assert enc["macs"] / n <= declared_enc * 1.02, (enc["macs"] / n, declared_enc)
    if "+cnn" not in spec:  # no choices made per image: the count is the statement
        assert dec["macs"] / n == pytest.approx(declared_dec, rel=0.05)
        assert enc["macs"] / n == pytest.approx(declared_enc, rel=0.05)
    else:  # one view at least: the statement's quarter of cnn, plus the transform
        cnn = type(pipe.postfilters[0]).decode_macs
        assert dec["macs"] / n >= declared_dec - cnn * 3 / 4 - 1


def test_classical_stages_state_no_network_and_alf_a_few_dozen_macs():
    stages = available_stages()
    for name in ("ycbcr", "dct", "dwt", "deadzone", "arith", "huffman"):
        assert stages[name].decode_macs == 0
    assert 0 < stages["alf"].decode_macs < 100
    assert Pipeline("wavelet+alf").macs()[0] == stages["alf"].decode_macs


def test_info_and_the_stages_command_show_the_cost():
    data = hybridcodec.encode(_image(32, 48), pipeline="wavelet+alf", quality=50)
    assert hybridcodec.info(data)["decode_kmacs"] == pytest.approx(0.042)
    assert hybridcodec.info(hybridcodec.encode(_image(32, 48), preset="wavelet"))["decode_kmacs"] == 0
    out = subprocess.run([sys.executable, "-m", "hybridcodec", "stages"], capture_output=True, text=True,
                         check=True).stdout
    block = out[out.index("\nalf  [postfilter]"):]
    assert "cost: decode 0.042 kMACs a pixel at most" in block.splitlines()[2]
