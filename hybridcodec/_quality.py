"""The quality scale: one definition of the IJG (libjpeg) curve that maps a quality
1..100 to a quantizer scale, shared by every stage that quantizes by quality."""

from __future__ import annotations

__all__ = ["ijg_scale"]


def ijg_scale(quality: float) -> float:
    """libjpeg's quality scaling, in percent of the base table: ``5000 / q`` below 50,
    ``200 - 2 q`` from 50 (100 % at quality 50, 0 at quality 100).

    Examples
    --------
    >>> ijg_scale(25), ijg_scale(50), ijg_scale(75), ijg_scale(100)
    (200.0, 100.0, 50.0, 0.0)
    """
    q = float(quality)
    return 5000.0 / q if q < 50 else 200.0 - 2.0 * q
