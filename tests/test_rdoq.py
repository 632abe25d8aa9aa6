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


def _fine(soft):
    return np.rint(soft.astype(np.float64) * 256).astype(np.int32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rdoq_lowers_the_cost_in_coded_bits(seed):
    table, soft = _laplace_bands(seed)
    lam = rd.MU * math.log(2) / 6
    plain = _deadzone(soft)
    opt = _fine(soft)
    rd.rdoq(opt, table, np.ones(len(table), bool), SHIFT)
    assert not np.array_equal(opt, plain)
    cost = [_distortion(soft, q) + lam * 8 * len(cm.encode_bands(q, table)) for q in (plain, opt)]
    assert cost[1] < cost[0]
    back, status = cm.decode_bands(cm.encode_bands(opt, table), table, len(opt))
    assert status == cm.OK and np.array_equal(back, opt)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 50.0))
def test_without_a_rate_weight_every_index_is_the_nearest(seed, scale):
    """mu = 0: distortion alone, so each index is the one nearest in reconstruction."""
    table, soft = _laplace_bands(seed)
    q = _fine((soft * scale).astype(np.float32))
    a = np.abs(q.astype(np.float64)) / 256
    rd.rdoq(q, table, np.ones(len(table), bool), SHIFT, mu=0.0)
    near = np.floor(a - SHIFT + 0.5)
    assert np.array_equal(np.abs(q), np.where(near >= 1, near, 0).astype(np.int32))


def test_only_the_rows_with_soft_values_change():
    """Predicted bands and rows not flagged hold indexes: a huge rate weight, which zeroes
    every soft value it may, leaves them alone."""
    table, n = _table([(4, 4), (4, 4), (8, 8)], pred_first=True)
    q = np.arange(n, dtype=np.int32) - n // 2
    before = q.copy()
    rd.rdoq(q, table, [True, False, True], SHIFT, mu=1e6)
    assert np.array_equal(q[:32], before[:32]) and not q[32:].any()


def test_a_plane_too_large_for_soft_values_keeps_its_indexes():
    """deadzone offers soft values in place of indexes only where c / step * 256 fits an
    int32 (and never in predicted bands); elsewhere it writes its indexes."""
    from hybridcodec._pipeline import Pipeline
    from hybridcodec.stages.deadzone import FINE, SOFT_LIMIT, base_step

    pipe = Pipeline("ycbcr(subsampling=444)|dwt(levels=2)|deadzone|arith")
    layouts = pipe.layouts(16, 16, 3)
    ctx = pipe.context(16, 16, 3, 50)
    ctx.want_soft = True
    rng = np.random.default_rng(0)
    planes = [rng.normal(0, 40, info.shape).astype(np.float32) for info in layouts[2]]
    planes[1][5] = SOFT_LIMIT * base_step(50) * 40
    out = pipe.forward[2].encode([p.copy() for p in planes], layouts[2], ctx)
    assert ctx.soft[0] == (True, False, True) and ctx.soft[2] == FINE
    info = layouts[2][0]
    ll = info.bands[0]
    assert ll.predict and np.abs(out[0][ll.offset : ll.offset + ll.size]).max() < 200  # indexes, not 256ths
    ctx2 = pipe.context(16, 16, 3, 50)
    plain = pipe.forward[2].encode([p.copy() for p in planes], layouts[2], ctx2)
    assert ctx2.soft is None and np.array_equal(out[1], plain[1])


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


def test_soft_values_only_from_the_stage_before_arith(monkeypatch):
    """A quantizer that offers none (jpegq) leaves arith to code its indexes as they are."""
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
