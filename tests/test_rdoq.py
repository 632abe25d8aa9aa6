"""Rate-distortion optimised quantization: the encoder's re-decided indexes lower the
rate-distortion cost with the coder's real bits, decode like any others, and are left
alone where no soft values are offered."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridcodec
from hybridcodec.entropy import coefficients as cm
from hybridcodec.entropy import rdoq as rd
from hybridcodec.stages.arith import Arith
from conftest import smooth_image
from test_arith import _table

SHIFT = 0.4 - 0.33  # deadzone's defaults: index m >= 1 stands for m + SHIFT steps


def _deadzone(soft, rounding=0.33):
    return (np.sign(soft) * np.floor(np.abs(soft) + rounding)).astype(np.int32)


def _distortion(soft, q):
    rec = np.where(q == 0, 0.0, np.sign(q) * (np.abs(q) + SHIFT))
    return float(((soft - rec) ** 2).sum())


def _laplace_bands(seed, shapes=((8, 8), (8, 8), (16, 16), (16, 16), (32, 32))):
    table, n = _table(shapes, pred_first=False)
    rng = np.random.default_rng(seed)
    scale = np.concatenate([np.full(h * w, 4.0 / (1 + i)) for i, (h, w) in enumerate(shapes)])
    return table, rng.laplace(0, scale).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rdoq_lowers_the_cost_in_coded_bits(seed):
    table, soft = _laplace_bands(seed)
    lam = rd.MU * math.log(2) / 6
    plain = _deadzone(soft)
    opt = plain.copy()
    changed = rd.rdoq(opt, table, soft, SHIFT)
    assert changed > 0
    cost = [_distortion(soft, q) + lam * 8 * len(cm.encode_bands(q, table)) for q in (plain, opt)]
    assert cost[1] < cost[0]
    back, status = cm.decode_bands(cm.encode_bands(opt, table), table, len(opt))
    assert status == cm.OK and np.array_equal(back, opt)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 50.0))
def test_without_a_rate_weight_every_index_is_the_nearest(seed, scale):
    """mu = 0: distortion alone, so each index is the one nearest in reconstruction."""
    table, soft = _laplace_bands(seed)
    soft = (soft * scale).astype(np.float32)
    q = _deadzone(soft)
    rd.rdoq(q, table, soft, SHIFT, mu=0.0)
    a = np.abs(soft.astype(np.float64))
    near = np.floor(a - SHIFT + 0.5)
    expect = np.where(near >= 1, np.sign(soft) * near, 0)
    assert np.array_equal(q, expect.astype(np.int32))


def test_predicted_bands_huge_and_nan_values_are_kept():
    table, n = _table([(4, 4), (4, 4)], pred_first=True)
    soft = np.linspace(-9, 9, n).astype(np.float32)
    soft[20], soft[21] = np.nan, 1e9
    q = _deadzone(np.nan_to_num(soft, nan=0.0, posinf=0, neginf=0))
    q[21] = 12345
    before = q.copy()
    rd.rdoq(q, table, soft, SHIFT, mu=1e6)  # a huge rate weight would zero all it may
    assert np.array_equal(q[:16], before[:16])  # the predicted band
    assert q[20] == before[20] and q[21] == 12345
    assert np.all(q[16:20] == 0) and np.all(q[22:] == 0)


def _pixel_cost(img, data, lam_per_bit):
    out = hybridcodec.decode(data).astype(np.float64)
    return float(((out - img) ** 2).sum()) + lam_per_bit * 8 * len(data)


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_the_codec_uses_it_and_decodes_it(quality, monkeypatch):
    """The wavelet preset with and without RDOQ: other indexes, a lower cost in pixels
    (squared error over R, G, B plus lam bits at the quality's step), and a decode."""
    from hybridcodec.stages.deadzone import base_step

    rng = np.random.default_rng(quality)  # texture, so that there are coefficients to decide
    img = np.clip(smooth_image(96, 128, 3, seed=quality) + rng.normal(0, 12, (96, 128, 3)), 0, 255).astype(np.uint8)
    with_rdoq = hybridcodec.encode(img, preset="wavelet", quality=quality)
    monkeypatch.setattr(Arith, "uses_soft", False)
    without = hybridcodec.encode(img, preset="wavelet", quality=quality)
    assert with_rdoq != without
    lam = rd.MU * math.log(2) / 6 * base_step(quality) ** 2 * 3  # per bit, in RGB squared error
    assert _pixel_cost(img, with_rdoq, lam) < _pixel_cost(img, without, lam)


def test_no_soft_values_after_another_stage(monkeypatch):
    """Soft values describe the planes the entropy stage gets: a quantizer that offers none
    (jpegq) leaves arith to code its indexes as they are."""
    seen = []
    real = Arith.encode

    def spy(self, planes, layout, ctx):
        seen.append(ctx.soft)
        return real(self, planes, layout, ctx)

    monkeypatch.setattr(Arith, "encode", spy)
    img = smooth_image(32, 40, 3)
    hybridcodec.encode(img, pipeline="ycbcr|dct|jpegq|arith", quality=50)
    hybridcodec.encode(img, preset="wavelet", quality=50)
    assert seen[0] is None and seen[1] is not None
