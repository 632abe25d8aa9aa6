import numpy as np
import pytest

from hybridcodec import CodecError, bd_psnr, bd_rate, psnr

RATES = np.array([0.2, 0.45, 0.8, 1.3, 2.4])
PSNRS = np.array([27.0, 30.5, 33.0, 35.8, 39.2])


@pytest.mark.parametrize("r", [0.5, 0.8, 1.0, 1.25, 3.0])
def test_bd_rate_of_scaled_curve_is_exact(r):
    assert bd_rate(RATES, PSNRS, RATES * r, PSNRS) == pytest.approx((r - 1) * 100, abs=1e-9)


@pytest.mark.parametrize("d", [-1.0, 0.0, 0.25, 2.0])
def test_bd_psnr_of_shifted_curve_is_exact(d):
    assert bd_psnr(RATES, PSNRS, RATES, PSNRS + d) == pytest.approx(d, abs=1e-9)


def test_bd_rate_window_and_sign():
    better = bd_rate(RATES, PSNRS, RATES, PSNRS + 1)
    assert better < 0
    with pytest.raises(CodecError):
        bd_rate(RATES, PSNRS, RATES, PSNRS, window=(40, 45))
    with pytest.raises(CodecError):
        bd_rate([1.0], [30.0], [1.0], [30.0])


def test_psnr():
    a = np.zeros((2, 2), np.uint8)
    assert psnr(a, a) == float("inf")
    assert psnr(a, a + 255) == pytest.approx(0.0)
    with pytest.raises(CodecError):
        psnr(a, np.zeros((3, 2), np.uint8))
