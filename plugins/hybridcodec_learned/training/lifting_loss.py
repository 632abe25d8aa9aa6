"""The rate-distortion loss of ``train transform --model lifting``: the learned lifting
(:mod:`..nets.lifting`) through ``ycbcr(subsampling=444)|lifting|deadzone`` with uniform
noise for the quantizer and a proxy of the adaptive coder's rate."""

from __future__ import annotations

import math

import torch

from ..nets.lifting import LiftingNet, analyze, synthesize

__all__ = ["rd_loss", "rd_terms", "ycc_planes", "rate_proxy", "TRAIN_LEVELS", "LOG2_STEP_RANGE", "KAPPA"]

TRAIN_LEVELS = 4  # on 96-pixel crops: a 6 x 6 low band, as a Kodak image's at 5 levels
LOG2_STEP_RANGE = (1.7, 9.0)  # deadzone base steps of quality 95 down to 3: the compare sweep
_RGB_TO_YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))  # ycbcr's


RATE_SCALE, SIGNIFICANCE_BITS = 1.0, 1.0


def rate_proxy(a: torch.Tensor) -> torch.Tensor:
    """Bits for coefficients of magnitude ``a`` steps: ``log2(1 + a)`` for the
    magnitude, plus about a bit (smoothly) for being significant at all."""
    return RATE_SCALE * torch.log2(1 + a) + SIGNIFICANCE_BITS * (1 - torch.exp(-(a / 0.7) ** 2))


def rd_loss(net: LiftingNet, x: torch.Tensor, log2_step: torch.Tensor):
    """(loss, bpp, psnr) of RGB crops ``x`` (N x 3 x H x W, centred on 0) through
    ``ycbcr(subsampling=444)|lifting|deadzone`` at base steps ``2 ** log2_step``.

    Each band's coefficients get uniform noise of the dead-zone step the codec gives
    them (``step / sqrt(gain)``, with CDF 9/7's gains, as ``deadzone`` uses), and the
    synthesis runs from the noisy bands, so the distortion counts how the learned steps
    carry quantization error into pixels.  The rate is a proxy for the adaptive coder,
    ``log2(1 + |c| / step)`` bits per coefficient (about what ``arith`` spends on a
    coefficient of that size; its zeros are nearly free).  The two are weighed by the
    high-rate slope of a uniform quantizer, ``dD/dR = -ln 2 step^2 / 6``, so that the
    loss at every step asks for the trade-off that step makes in the codec; ``KAPPA``
    turns the error's sum over R, G, B into its sum over Y, Cb, Cr (their mean ratio)."""
    from hybridcodec.wavelets.subbands import band_gains

    n = x.shape[0]
    m, ycc = ycc_planes(x)
    step = (2.0 ** log2_step).to(x.dtype).repeat_interleave(3).view(-1, 1, 1, 1)
    bands = analyze(ycc, net, TRAIN_LEVELS)
    bits, noisy = 0.0, []
    for band, gain in zip(bands, band_gains("cdf97", TRAIN_LEVELS, "reflect")):
        delta = step / math.sqrt(float(gain))
        bits = bits + rate_proxy(band.abs() / delta).sum(dim=(1, 2, 3))
        noisy.append(band + (torch.rand_like(band) - 0.5) * delta)
    return rd_terms(x, m, synthesize(noisy, net, TRAIN_LEVELS), bits.view(n, 3).sum(dim=1), step.view(n, 3)[:, 0])


def ycc_planes(x: torch.Tensor):
    """(the ``ycbcr`` matrix, the Y, Cb, Cr planes of RGB crops ``x`` as N*3 x 1 x H x W)."""
    n, _, h, w = x.shape
    m = torch.tensor(_RGB_TO_YCC, dtype=x.dtype, device=x.device)
    return m, torch.einsum("ij,njhw->nihw", m, x).reshape(n * 3, 1, h, w)


def rd_terms(x, m, planes, bits, step):
    """(loss, bpp, psnr) of crops ``x`` from their reconstructed planes (N*3 x 1 x H x W),
    their bits and their base steps (one per crop): see :func:`rd_loss`."""
    n, _, h, w = x.shape
    rgb = torch.einsum("ij,njhw->nihw", torch.linalg.inv(m), planes.reshape(n, 3, h, w))
    sse = ((rgb - x) ** 2).sum(dim=1).mean(dim=(1, 2))  # per pixel, summed over R, G, B
    bpp = bits / (h * w)
    lam = 6.0 / (math.log(2.0) * step**2) / KAPPA
    loss = (bpp + lam * sse).mean()
    psnr = (10 * torch.log10(3 * 255.0**2 / sse.detach().clamp_min(1e-6))).mean().item()
    return loss, bpp.mean().item(), psnr


# mean of |M^-1 e|^2 / |e|^2 over isotropic YCbCr errors e: |M^-1|_F^2 / 3
KAPPA = float((torch.linalg.inv(torch.tensor(_RGB_TO_YCC, dtype=torch.float64)) ** 2).sum() / 3)
