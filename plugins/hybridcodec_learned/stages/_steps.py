"""The quantizer step of a quality for the learned transforms that round their own
latents (``learned``, ``dcnn``); training draws its steps from the same range."""

from __future__ import annotations

__all__ = ["log2_step", "LOG2_STEP_RANGE"]

# Quantizer steps (latent units = pixel units) from quality 100 down to quality 0: about 2.5 bpp / 41 dB
# to 0.1 bpp on Kodak; training draws its steps from the same range (the first range, 1.5..7.5, spent
# half of the training on rates above 38 dB, outside the BD window, and q1 was still 0.5 bpp).
LOG2_STEP_RANGE = (3.0, 8.0)


def log2_step(quality: float) -> float:
    """log2 of the quantizer step of a quality (1..100), linear in the quality, in
    1/256ths: only +, * and rounding of floats, which IEEE 754 makes the same on every
    machine (the step's logarithm feeds the integer table path).

    Examples
    --------
    >>> log2_step(100), log2_step(50), log2_step(1)
    (3.0, 5.5, 7.94921875)
    """
    lo, hi = LOG2_STEP_RANGE
    q = min(max(float(quality), 0.0), 100.0)
    return round((hi - (hi - lo) * q / 100.0) * 256.0) / 256.0
