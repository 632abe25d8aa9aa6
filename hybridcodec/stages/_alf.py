"""numba kernels of the ``alf`` stage: the pixel classes, the statistics the encoder
fits its filters from, and the filter itself.  Each runs over a span of rows, spans on
every core; each reads the image with clamped coordinates (the edges repeat), so no
padded copy is made.

A pixel's class comes from the 5 x 5 window around it of a luma-like plane
``(R + 2 G + B) / 4`` (the only channel of a grey image): ``SV`` and ``SH``, the sums of
the absolute vertical and horizontal second differences in the window, give an
activity ``(SV + SH) / 25`` in 8 steps (:data:`ACTIVITY`, log-spaced) and a direction
(0: neither, 1: ``SV > 2 SH``, 2: ``SH > 2 SV``): class ``3 * activity + direction``.

A channel's features at a pixel (:data:`TAPS`): for each of the 12 point-symmetric pairs
of a 7 x 7 diamond, ``x[p + t] + x[p - t] - 2 x[p]``, and in a colour image, for each of
the two other channels, its value less its 3 x 3 mean.  The filter adds the features'
dot product with its class's coefficients to the pixel.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel

__all__ = ["ACTIVITY", "CLASSES", "TAPS", "classify_rows", "filter_rows", "stats_rows", "n_features"]

# (dy, dx) of one tap of each point-symmetric pair of the 7 x 7 diamond (VVC's luma shape)
TAPS = np.array([(0, 1), (0, 2), (0, 3), (1, 0), (2, 0), (3, 0), (1, 1), (1, -1),
                 (2, 1), (2, -1), (1, 2), (1, -2)], np.int64)
# activity thresholds: 2 ** (k / 1.3) - 1 for k = 1..7 (a mean absolute second difference)
ACTIVITY = np.array([2.0 ** (k / 1.3) - 1.0 for k in range(1, 8)], np.float32)
CLASSES = 24  # 8 activities x 3 directions


def n_features(channels: int) -> int:
    """Coefficients a class's filter has in an image of ``channels`` colour channels."""
    return len(TAPS) + (2 if channels == 3 else 0)


@kernel(cache=True, inline="always")
def _luma(x, i, j, h, w):
    i = min(max(i, 0), h - 1)
    j = min(max(j, 0), w - 1)
    if x.shape[2] == 1:
        return x[i, j, 0]
    return np.float32(0.25) * (x[i, j, 0] + np.float32(2.0) * x[i, j, 1] + x[i, j, 2])


@kernel(cache=True, inline="always")
def _second(x, i, j, h, w):
    """(|vertical|, |horizontal|) second difference of the luma at (i, j), clamped."""
    c = np.float32(2.0) * _luma(x, i, j, h, w)
    v = abs(c - _luma(x, i - 1, j, h, w) - _luma(x, i + 1, j, h, w))
    hh = abs(c - _luma(x, i, j - 1, h, w) - _luma(x, i, j + 1, h, w))
    return v, hh


@kernel(cache=True, nogil=True)
def classify_rows(x, thresholds, cls, r0, r1):
    """Classes (0..23) of rows ``r0:r1`` into ``cls`` (uint8, H x W)."""
    h, w = x.shape[0], x.shape[1]
    sv = np.zeros(w, np.float32)  # column sums of the window's 5 rows
    sh = np.zeros(w, np.float32)
    for k in range(r0 - 2, r0 + 3):
        kk = min(max(k, 0), h - 1)
        for j in range(w):
            a, b = _second(x, kk, j, h, w)
            sv[j] += a
            sh[j] += b
    inv = np.float32(1.0 / 25.0)
    for i in range(r0, r1):
        if i > r0:  # slide the window down a row
            old, new = min(max(i - 3, 0), h - 1), min(max(i + 2, 0), h - 1)
            for j in range(w):
                a, b = _second(x, old, j, h, w)
                c, d = _second(x, new, j, h, w)
                sv[j] += c - a
                sh[j] += d - b
        v = np.float32(0.0)
        hh = np.float32(0.0)
        for k in range(-2, 3):
            kk = min(max(k, 0), w - 1)
            v += sv[kk]
            hh += sh[kk]
        for j in range(w):
            if j > 0:
                old, new = min(max(j - 3, 0), w - 1), min(max(j + 2, 0), w - 1)
                v += sv[new] - sv[old]
                hh += sh[new] - sh[old]
            act = (v + hh) * inv
            a = 0
            while a < len(thresholds) and act > thresholds[a]:
                a += 1
            d = 0
            if v > np.float32(2.0) * hh:
                d = 1
            elif hh > np.float32(2.0) * v:
                d = 2
            cls[i, j] = 3 * a + d


@kernel(cache=True, inline="always")
def _features(x, i, j, c, taps, f):
    """The features of channel ``c`` at (i, j) into ``f``."""
    h, w, nc = x.shape[0], x.shape[1], x.shape[2]
    centre = x[i, j, c]
    two = np.float32(2.0)
    for t in range(taps.shape[0]):
        dy, dx = taps[t, 0], taps[t, 1]
        a = x[min(max(i + dy, 0), h - 1), min(max(j + dx, 0), w - 1), c]
        b = x[min(max(i - dy, 0), h - 1), min(max(j - dx, 0), w - 1), c]
        f[t] = a + b - two * centre
    if nc == 3:
        n = taps.shape[0]
        for other in range(3):
            if other == c:
                continue
            s = np.float32(0.0)
            for dy in range(-1, 2):
                for dx in range(-1, 2):
                    s += x[min(max(i + dy, 0), h - 1), min(max(j + dx, 0), w - 1), other]
            f[n] = x[i, j, other] - s * np.float32(1.0 / 9.0)
            n += 1


@kernel(cache=True, inline="always")
def _highpass_row(x, i, hp):
    """Each channel of row ``i`` less its 3 x 3 mean, clamped at the edges, into ``hp``."""
    h, w, nc = x.shape[0], x.shape[1], x.shape[2]
    i0, i2 = max(i - 1, 0), min(i + 1, h - 1)
    ninth = np.float32(1.0 / 9.0)
    for c in range(nc):
        prev = x[i0, 0, c] + x[i, 0, c] + x[i2, 0, c]
        cur = prev
        for j in range(w):
            nxt = x[i0, j + 1, c] + x[i, j + 1, c] + x[i2, j + 1, c] if j + 1 < w else cur
            hp[c, j] = x[i, j, c] - (prev + cur + nxt) * ninth
            prev, cur = cur, nxt


@kernel(cache=True, inline="always")
def _taps_inner(x, i, j, c, k):
    """The 12 features' dot product with ``k`` at an interior pixel (no clamping)."""
    two = np.float32(2.0) * x[i, j, c]
    return (k[0] * (x[i, j + 1, c] + x[i, j - 1, c] - two) + k[1] * (x[i, j + 2, c] + x[i, j - 2, c] - two)
            + k[2] * (x[i, j + 3, c] + x[i, j - 3, c] - two) + k[3] * (x[i + 1, j, c] + x[i - 1, j, c] - two)
            + k[4] * (x[i + 2, j, c] + x[i - 2, j, c] - two) + k[5] * (x[i + 3, j, c] + x[i - 3, j, c] - two)
            + k[6] * (x[i + 1, j + 1, c] + x[i - 1, j - 1, c] - two)
            + k[7] * (x[i + 1, j - 1, c] + x[i - 1, j + 1, c] - two)
            + k[8] * (x[i + 2, j + 1, c] + x[i - 2, j - 1, c] - two)
            + k[9] * (x[i + 2, j - 1, c] + x[i - 2, j + 1, c] - two)
            + k[10] * (x[i + 1, j + 2, c] + x[i - 1, j - 2, c] - two)
            + k[11] * (x[i + 1, j - 2, c] + x[i - 1, j + 2, c] - two))


@kernel(cache=True, nogil=True)
def filter_rows(x, cls, classmap, coef, taps, out, r0, r1):
    """Rows ``r0:r1`` of the filtered image into ``out``: channel ``c`` of a pixel of
    class ``k`` is filtered with the coefficients ``coef[c, classmap[c, k]]``, or left
    as it is where ``classmap[c, k]`` is -1."""
    h, w, nc = x.shape[0], x.shape[1], x.shape[2]
    nf = coef.shape[2]
    nt = taps.shape[0]
    f = np.empty(nf, np.float32)
    hp = np.zeros((nc, w), np.float32)
    for i in range(r0, r1):
        if nc == 3:
            _highpass_row(x, i, hp)
        inner_row = 3 <= i < h - 3
        for j in range(w):
            k = cls[i, j]
            inner = inner_row and 3 <= j < w - 3
            for c in range(nc):
                m = classmap[c, k]
                if m < 0:
                    out[i, j, c] = x[i, j, c]
                    continue
                kc = coef[c, m]
                if inner:
                    s = _taps_inner(x, i, j, c, kc)
                else:
                    _features(x, i, j, c, taps, f)
                    s = np.float32(0.0)
                    for t in range(nt):
                        s += kc[t] * f[t]
                if nc == 3:
                    n = nt
                    for other in range(3):
                        if other != c:
                            s += kc[n] * hp[other, j]
                            n += 1
                out[i, j, c] = x[i, j, c] + s


@kernel(cache=True, nogil=True)
def stats_rows(x, original, cls, taps, gram, cross, energy, r0, r1):
    """Add rows ``r0:r1``'s least-squares statistics per channel and class: ``gram[c, k]``
    (features' Gram matrix, upper triangle), ``cross[c, k]`` (features times the error
    ``original - x``), ``energy[c, k]`` (the error's squares), all float64."""
    nc = x.shape[2]
    nf = gram.shape[2]
    f = np.empty(nf, np.float32)
    fd = np.empty(nf, np.float64)
    for i in range(r0, r1):
        for j in range(x.shape[1]):
            k = cls[i, j]
            for c in range(nc):
                _features(x, i, j, c, taps, f)
                e = np.float64(original[i, j, c]) - np.float64(x[i, j, c])
                for t in range(nf):
                    fd[t] = f[t]
                for t in range(nf):
                    ft = fd[t]
                    cross[c, k, t] += ft * e
                    for u in range(t, nf):
                        gram[c, k, t, u] += ft * fd[u]
                energy[c, k] += e * e
