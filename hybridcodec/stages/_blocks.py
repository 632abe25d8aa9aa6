"""numba kernels of the block stages (``dct``, ``jpegq``), each over a run of block
rows so that runs go to different cores (:mod:`hybridcodec._threads`).

Measured on a Kodak image (768x512, 4:2:0, one core): scipy.fft's dctn on the
blocks plus the reshape copies took 3.6 ms, these kernels ~1 ms.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._jit import kernel
from .._threads import run, spans

__all__ = ["dct_matrix", "forward_dct", "inverse_dct", "quantize", "dequantize"]


@lru_cache(maxsize=8)
def dct_matrix(b: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``C`` (``C @ x`` transforms a column)."""
    k = np.arange(b)
    c = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * b)) * np.sqrt(2.0 / b)
    c[0] /= np.sqrt(2.0)
    c = c.astype(np.float32)
    c.setflags(write=False)
    return c


@kernel(cache=True, nogil=True)
def _fdct_rows(plane, c, out, by0, by1):
    # per block row: the vertical pass over the whole width (a long loop that
    # vectorizes), then the horizontal pass block by block (short sums, kept in order:
    # no fastmath, so every machine rounds alike).  Y plane of a Kodak image: 1.8 ms
    # (scipy.fft.dctn with the block reshape: 3.3 ms)
    h, w = plane.shape
    b = c.shape[0]
    nbx = out.shape[1]
    wp = nbx * b
    x = np.empty((b, wp), np.float32)
    t = np.empty((b, wp), np.float32)
    for by in range(by0, by1):
        for i in range(b):  # the strip, the plane's last row and column repeated past its edge
            yy = min(by * b + i, h - 1)
            for j in range(w):
                x[i, j] = plane[yy, j]
            for j in range(w, wp):
                x[i, j] = plane[yy, w - 1]
        for u in range(b):  # t = C x
            for j in range(wp):
                t[u, j] = 0.0
            for i in range(b):
                cu = c[u, i]
                for j in range(wp):
                    t[u, j] += cu * x[i, j]
        for bx in range(nbx):  # out = t C^T, block by block
            for u in range(b):
                for v in range(b):
                    s = np.float32(0.0)
                    for j in range(b):
                        s += t[u, bx * b + j] * c[v, j]
                    out[by, bx, u, v] = s


@kernel(cache=True, nogil=True)
def _idct_rows(coef, c, plane, by0, by1):
    h, w = plane.shape
    b = c.shape[0]
    nbx = coef.shape[1]
    wp = nbx * b
    t = np.empty((b, wp), np.float32)
    x = np.empty(wp, np.float32)
    for by in range(by0, by1):
        for bx in range(nbx):  # t = X C, block by block
            for u in range(b):
                for j in range(b):
                    s = np.float32(0.0)
                    for v in range(b):
                        s += coef[by, bx, u, v] * c[v, j]
                    t[u, bx * b + j] = s
        for i in range(b):  # pixels = C^T t over the whole width, cropped to the plane
            y = by * b + i
            if y >= h:
                break
            for j in range(wp):
                x[j] = 0.0
            for u in range(b):
                cu = c[u, i]
                for j in range(wp):
                    x[j] += cu * t[u, j]
            for j in range(w):
                plane[y, j] = x[j]


def forward_dct(plane: np.ndarray, b: int) -> np.ndarray:
    """``(ceil(h/b), ceil(w/b), b, b)`` float32 coefficients of a float32 plane."""
    plane = np.ascontiguousarray(plane, dtype=np.float32)
    h, w = plane.shape
    out = np.empty((-(-h // b), -(-w // b), b, b), np.float32)
    run(_fdct_rows, [(plane, dct_matrix(b), out, y0, y1) for y0, y1 in spans(out.shape[0], 8)])
    return out


def inverse_dct(coef: np.ndarray, h: int, w: int) -> np.ndarray:
    """The ``h x w`` float32 plane of ``(nby, nbx, b, b)`` coefficients."""
    coef = np.ascontiguousarray(coef, dtype=np.float32)
    plane = np.empty((h, w), np.float32)
    run(_idct_rows, [(coef, dct_matrix(coef.shape[-1]), plane, y0, y1) for y0, y1 in spans(coef.shape[0], 8)])
    return plane


@kernel(cache=True, nogil=True)
def _quantize_rows(coef, q, limit, out, by0, by1):
    for by in range(by0, by1):
        for bx in range(coef.shape[1]):
            for u in range(coef.shape[2]):
                for v in range(coef.shape[3]):
                    k = np.rint(coef[by, bx, u, v] / q[u, v])
                    out[by, bx, u, v] = np.int32(min(max(k, -limit), limit))


@kernel(cache=True, nogil=True)
def _dequantize_rows(k, q, out, by0, by1):
    for by in range(by0, by1):
        for bx in range(k.shape[1]):
            for u in range(k.shape[2]):
                for v in range(k.shape[3]):
                    out[by, bx, u, v] = np.float32(k[by, bx, u, v]) * q[u, v]


def quantize(coef: np.ndarray, q: np.ndarray, limit: int, out: np.ndarray | None = None) -> np.ndarray:
    """``clip(rint(coef / q), -limit, limit)`` as int32, ``q`` a float32 ``b x b`` table
    (into ``out``, C-contiguous int32 of ``coef``'s shape, when given)."""
    coef = np.ascontiguousarray(coef, dtype=np.float32)
    out = np.empty(coef.shape, np.int32) if out is None else out
    q = np.ascontiguousarray(q, dtype=np.float32)
    run(_quantize_rows, [(coef, q, np.float32(limit), out, y0, y1) for y0, y1 in spans(coef.shape[0], 8)])
    return out


def dequantize(k: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``k * q`` as float32."""
    k = np.ascontiguousarray(k, dtype=np.int32)
    out = np.empty(k.shape, np.float32)
    q = np.ascontiguousarray(q, dtype=np.float32)
    run(_dequantize_rows, [(k, q, out, y0, y1) for y0, y1 in spans(k.shape[0], 8)])
    return out
