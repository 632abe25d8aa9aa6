"""numba kernels of the ``ycbcr`` stage: colour conversion fused with the level shift
and the chroma box average (encode), and with the chroma upsampling, rounding and
clipping into the output image (decode).  Each runs over a stripe of rows, stripes on
every core.  Kodak image, one core: cv2.merge + cv2.transform + cv2.resize and the
numpy level shift, stack and clip took ~3 ms each way; these ~1 ms.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel

__all__ = ["rgb_to_ycc_rows", "ycc_to_rgb_rows"]


@kernel(cache=True, nogil=True)
def rgb_to_ycc_rows(samples, m, mid, fy, fx, y, cb, cr, c0, c1):
    """Chroma rows ``c0:c1`` (image rows ``c0 * fy`` on) of a ``fy x fx`` subsampled
    YCbCr image from RGB samples; rows and columns past the edge repeat the last."""
    h, w = y.shape
    cw = cb.shape[1]
    rgb = np.empty((3, w), np.float32)
    full = np.empty((2, w), np.float32)
    scb = np.empty(cw, np.float32)
    scr = np.empty(cw, np.float32)
    inv = np.float32(1.0 / (fy * fx))
    for cy in range(c0, c1):
        scb[:] = 0.0
        scr[:] = 0.0
        for r in range(fy):
            iy = min(cy * fy + r, h - 1)
            for ix in range(w):
                rgb[0, ix] = np.float32(samples[iy, ix, 0]) - mid
                rgb[1, ix] = np.float32(samples[iy, ix, 1]) - mid
                rgb[2, ix] = np.float32(samples[iy, ix, 2]) - mid
            if cy * fy + r < h:
                for ix in range(w):
                    y[iy, ix] = m[0, 0] * rgb[0, ix] + m[0, 1] * rgb[1, ix] + m[0, 2] * rgb[2, ix]
            for c in range(2):
                m0, m1, m2 = m[c + 1, 0], m[c + 1, 1], m[c + 1, 2]
                for ix in range(w):
                    full[c, ix] = m0 * rgb[0, ix] + m1 * rgb[1, ix] + m2 * rgb[2, ix]
            if fx == 1:
                for cx in range(cw):
                    scb[cx] += full[0, cx]
                    scr[cx] += full[1, cx]
            else:
                for cx in range(w // 2):
                    scb[cx] += full[0, 2 * cx] + full[0, 2 * cx + 1]
                    scr[cx] += full[1, 2 * cx] + full[1, 2 * cx + 1]
                if w & 1:  # the last column, repeated
                    scb[cw - 1] += full[0, w - 1] + full[0, w - 1]
                    scr[cw - 1] += full[1, w - 1] + full[1, w - 1]
        for cx in range(cw):
            cb[cy, cx] = scb[cx] * inv
            cr[cy, cx] = scr[cx] * inv


@kernel(cache=True, inline="always")
def _up_row(src, dst, f, a3, a1):
    """``dst`` (n samples) from ``src`` upsampled by ``f`` (1 or 2), bilinear with the
    source samples centred on pairs of output samples; the edges repeat."""
    n, m = len(dst), len(src)
    if f == 1:
        for i in range(n):
            dst[i] = src[i]
        return
    for k in range(1, m - 1):  # interior: no clamping, so the loop vectorizes
        dst[2 * k] = a3 * src[k] + a1 * src[k - 1]
        dst[2 * k + 1] = a3 * src[k] + a1 * src[k + 1]
    for k in (0, m - 1):
        for i in (2 * k, 2 * k + 1):
            if i < n:
                other = max(k - 1, 0) if i == 2 * k else min(k + 1, m - 1)
                dst[i] = a3 * src[k] + a1 * src[other]


@kernel(cache=True, nogil=True)
def ycc_to_rgb_rows(y, cb, cr, m, fy, fx, mid, top, out, r0, r1):
    """Rows ``r0:r1`` of the RGB samples (first three channels of ``out``) of a YCbCr
    image whose chroma is subsampled ``fy x fx``: bilinear upsampling with sample
    centres at the box averages (libjpeg's "fancy" upsampling), then rounding and
    clipping to ``0..top``."""
    h, w = y.shape
    ch, cw = cb.shape
    ub = np.empty(w, np.float32)
    ur = np.empty(w, np.float32)
    rb = np.empty(cw, np.float32)
    rr = np.empty(cw, np.float32)
    rgb = np.empty((3, w), np.float32)
    a3 = np.float32(0.75)
    a1 = np.float32(0.25)
    zero = np.float32(0.0)
    for iy in range(r0, r1):
        k0 = iy if fy == 1 else iy >> 1
        k1 = k0 if fy == 1 else (max(k0 - 1, 0) if iy & 1 == 0 else min(k0 + 1, ch - 1))
        if fy == 1:
            for cx in range(cw):  # a loop, not rb[:] = cb[k0]: that compiles numba's shape-error raising
                rb[cx] = cb[k0, cx]
                rr[cx] = cr[k0, cx]
        else:  # vertical blend of the two nearest chroma rows
            for cx in range(cw):
                rb[cx] = a3 * cb[k0, cx] + a1 * cb[k1, cx]
                rr[cx] = a3 * cr[k0, cx] + a1 * cr[k1, cx]
        _up_row(rb, ub, fx, a3, a1)
        _up_row(rr, ur, fx, a3, a1)
        for c in range(3):
            m0, m1, m2 = m[c, 0], m[c, 1], m[c, 2]
            row = rgb[c]
            for ix in range(w):
                v = np.rint(m0 * y[iy, ix] + m1 * ub[ix] + m2 * ur[ix] + mid)
                row[ix] = min(max(v, zero), top)
        for ix in range(w):
            out[iy, ix, 0] = rgb[0, ix]
            out[iy, ix, 1] = rgb[1, ix]
            out[iy, ix, 2] = rgb[2, ix]
