"""Colour stages: YCbCr (BT.601 full range, as JFIF) with chroma subsampling."""

from __future__ import annotations

import numpy as np

from .._errors import CodecError
from .._params import Param
from .._registry import register_stage
from .._stage import PlaneInfo, Stage
from .._threads import run, spans
from ._ycc import rgb_to_ycc_rows, ycc_to_rgb_rows

__all__ = ["YCbCr"]

# Rows give Y, Cb, Cr from R, G, B (ITU-T T.871 / JFIF).  Planes are centred on 0,
# so the +128 chroma offset of JFIF cancels against the pipeline's level shift.
_RGB_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)
_M_ENC, _M_DEC = _RGB_TO_YCC.astype(np.float32), _YCC_TO_RGB.astype(np.float32)
_FACTORS = {"444": (1, 1), "422": (1, 2), "420": (2, 2)}  # (vertical, horizontal)
_BAND_PIXELS = 1 << 16  # pixels transformed at a time in place


@register_stage
class YCbCr(Stage):
    """RGB to YCbCr, then chroma downsampled by 2x2 box averaging.

    Upsampling on decode is bilinear with sample centres aligned to the box
    averages (as libjpeg's "fancy" upsampling).  Grey images pass through.
    """

    name = "ycbcr"
    kind = "colour"
    doc = "RGB -> YCbCr (BT.601 full range) with chroma subsampling"
    params = (Param("subsampling", str, "420", "chroma subsampling", choices=("444", "422", "420")),)

    def layout(self, planes):
        if len(planes) == 1:
            return planes
        if len(planes) != 3 or any(p.form != "pixels" for p in planes):
            raise CodecError("ycbcr needs three pixel planes (an RGB image) or one (grey)")
        h, w = planes[0].shape
        fy, fx = _FACTORS[self.subsampling]
        chroma = PlaneInfo((-(-h // fy), -(-w // fx)), role="chroma")
        return (PlaneInfo((h, w), role="luma"), chroma, chroma)

    def encode(self, planes, layout, ctx):
        if len(planes) == 1:
            return planes
        import cv2  # 47 ms to import; the fused sample paths (the usual ones) never need it

        rgb = cv2.merge([np.ascontiguousarray(p, dtype=np.float32) for p in planes])
        ycc = cv2.transform(rgb, _RGB_TO_YCC.astype(np.float32))
        fy, fx = _FACTORS[self.subsampling]
        return [ycc[..., 0]] + [_down(ycc[..., c], fy, fx) for c in (1, 2)]

    def encode_samples(self, samples, layout, ctx):
        if samples.shape[2] == 1:
            return super().encode_samples(samples, layout, ctx)
        samples = np.ascontiguousarray(samples)
        h, w = layout[0].shape
        fy, fx = _FACTORS[self.subsampling]
        ch, cw = -(-h // fy), -(-w // fx)
        buf = np.empty(h * w + 2 * ch * cw, np.float32)  # one buffer: later stages can work in it in place
        y = buf[: h * w].reshape(h, w)
        cb, cr = buf[h * w : h * w + ch * cw].reshape(ch, cw), buf[h * w + ch * cw :].reshape(ch, cw)
        mid = np.float32(1 << (ctx.bits - 1))
        run(rgb_to_ycc_rows, [(samples, _M_ENC, mid, fy, fx, y, cb, cr, a, b)
                              for a, b in spans(cb.shape[0], 32)])
        return [y, cb, cr]

    def decode_samples(self, planes, layout, ctx, out):
        h, w = out.shape[:2]
        if len(planes) == 1 or planes[0].shape != (h, w):
            return super().decode_samples(planes, layout, ctx, out)
        fy, fx = _FACTORS[self.subsampling]
        y, cb, cr = (np.ascontiguousarray(p, dtype=np.float32) for p in planes)
        if cb.shape != cr.shape or cb.shape != (-(-h // fy), -(-w // fx)):
            raise CodecError("corrupt .hcx file: the chroma planes do not match the image size")
        mid, top = np.float32(1 << (ctx.bits - 1)), np.float32((1 << ctx.bits) - 1)
        run(ycc_to_rgb_rows, [(y, cb, cr, _M_DEC, fy, fx, mid, top, out, a, b) for a, b in spans(h, 64)])

    def decode(self, planes, layout, ctx):
        if len(planes) == 1:
            return planes
        h, w = planes[0].shape  # smaller than the layout's in a reduced-size decode
        fy, fx = _FACTORS[self.subsampling]
        import cv2

        if fy == fx == 1 and ctx.reuse_planes and all(
                p.dtype == np.float32 and p.flags.writeable and p.shape == (h, w) for p in planes):
            # in the planes' own memory, a band of rows at a time (the same transform as on the
            # whole image, pixel by pixel): the runner hands planes lying in one buffer to the
            # post-filters as an image without copying them
            rows = max(1, _BAND_PIXELS // max(w, 1))
            for y0 in range(0, h, rows):
                band = cv2.merge([p[y0 : y0 + rows] for p in planes])
                cv2.transform(band, _M_DEC, dst=band)
                for c, p in enumerate(planes):
                    p[y0 : y0 + rows] = band[..., c]
            return list(planes)
        ycc = cv2.merge([np.ascontiguousarray(p, dtype=np.float32)
                         for p in [planes[0]] + [_up(p, fy, fx, h, w) for p in planes[1:]]])
        if ctx.reuse_planes and isinstance(planes, list):
            planes.clear()  # the runner's planes are ours: gone before the transform, not beside it
        rgb = cv2.transform(ycc, _YCC_TO_RGB.astype(np.float32), dst=ycc)  # pixel by pixel: in place
        return [rgb[..., c] for c in range(3)]


def _down(plane: np.ndarray, fy: int, fx: int) -> np.ndarray:
    if fy == fx == 1:
        return plane
    h, w = plane.shape
    ph, pw = -(-h // fy) * fy, -(-w // fx) * fx
    if (ph, pw) != (h, w):
        plane = np.pad(plane, ((0, ph - h), (0, pw - w)), mode="edge")
    # INTER_AREA at an integer factor is exactly the box average (and 100x faster than numpy)
    import cv2

    return cv2.resize(np.ascontiguousarray(plane), (pw // fx, ph // fy), interpolation=cv2.INTER_AREA)


def _up(plane: np.ndarray, fy: int, fx: int, h: int, w: int) -> np.ndarray:
    if fy == fx == 1:
        return plane
    ch, cw = plane.shape
    import cv2

    up = cv2.resize(
        np.ascontiguousarray(plane, dtype=np.float32), (cw * fx, ch * fy), interpolation=cv2.INTER_LINEAR
    )
    return up[:h, :w]
