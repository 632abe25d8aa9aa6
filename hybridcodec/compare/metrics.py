"""Fidelity metrics on RGB at full range 0..255: PSNR, SSIM (scikit-image) and
MS-SSIM (:func:`ms_ssim`, which reproduces pytorch-msssim to 1e-7 without needing
torch; sewar's, the torch-free library, took 1.4 s per Kodak image against 0.15 s
and gives different values)."""

from __future__ import annotations

import numpy as np

from .._metrics import psnr

__all__ = ["METRICS", "compute", "msssim_backend", "ms_ssim"]

_MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

METRICS = ("psnr", "ssim", "ms-ssim")


def _ssim(a, b):
    from skimage.metrics import structural_similarity

    kw = {"channel_axis": 2} if a.ndim == 3 else {}
    if min(a.shape[:2]) < 7:
        return float("nan")
    return float(structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, **kw))


def msssim_backend() -> str:
    return "hybridcodec.compare.metrics.ms_ssim (= pytorch-msssim)"


def _pool(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling as torch's avg_pool2d(padding=size % 2) in pytorch-msssim:
    an odd side gets a zero row (column) on both ends, counted in the averages."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    if ph or pw:
        x = np.pad(x, ((ph, ph), (pw, pw)))
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Multi-scale SSIM (Wang, Simoncelli, Bovik 2003) the way pytorch-msssim computes
    it: 11-tap Gaussian window (sigma 1.5) applied without padding, 2x2 average
    pooling between the five scales, per channel, then the mean over channels.

    Examples
    --------
    >>> x = np.random.default_rng(0).integers(0, 256, (192, 192, 3)).astype(np.uint8)
    >>> ms_ssim(x, x)
    1.0
    """
    from scipy.ndimage import correlate1d

    win = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    win /= win.sum()

    def blur(x):  # separable, "valid" region only
        x = correlate1d(x, win, axis=0, mode="constant")[5:-5]
        return correlate1d(x, win, axis=1, mode="constant")[:, 5:-5]

    x = np.asarray(a, np.float64)
    y = np.asarray(b, np.float64)
    if x.ndim == 2:
        x, y = x[:, :, None], y[:, :, None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    per_channel = []
    for ch in range(x.shape[2]):
        xs, ys = x[:, :, ch], y[:, :, ch]
        vals = []
        for level in range(len(_MS_WEIGHTS)):
            mx, my = blur(xs), blur(ys)
            sxx = blur(xs * xs) - mx * mx
            syy = blur(ys * ys) - my * my
            sxy = blur(xs * ys) - mx * my
            cs = (2 * sxy + c2) / (sxx + syy + c2)
            if level < len(_MS_WEIGHTS) - 1:
                vals.append(max(0.0, float(cs.mean())))
                xs, ys = _pool(xs), _pool(ys)
            else:
                lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
                vals.append(max(0.0, float((lum * cs).mean())))
        per_channel.append(float(np.prod(np.power(vals, _MS_WEIGHTS))))
    return round(float(np.mean(per_channel)), 12)


def _msssim(a, b):
    if min(a.shape[:2]) < 176:  # five scales of an 11-tap window
        return float("nan")
    return ms_ssim(a, b)


_FUNCS = {"psnr": psnr, "ssim": _ssim, "ms-ssim": _msssim}


PSNR_CAP = 100.0  # dB given to an exact (lossless) reconstruction, so that means stay finite


def compute(names, original: np.ndarray, decoded: np.ndarray) -> dict:
    decoded = decoded.reshape(original.shape)
    out = {m: _FUNCS[m](original, decoded) for m in names}
    if "psnr" in out:
        out["psnr"] = min(out["psnr"], PSNR_CAP)
    return out
