"""16-bit coding on Kodak made 16-bit by scaling (each 8-bit value v becomes 257 v, so
the low byte repeats the high one: a stand-in for a 16-bit photo set, which the
project does not have).

    python benchmarks/sixteen_bit.py [--data DIR] [--images N]

Lossless: total bits per pixel of `lossless` beside 16-bit PNG (OpenCV, compression 9)
and lossless JPEG 2000 (OpenJPEG through imagecodecs).  Lossy: the `wavelet` preset's
RD curve at 16 bits beside OpenJPEG's at the same depth (PSNR with peak 65535), and
the BD-rate between them over the PSNR range both cover.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

import hybridcodec
from _kodak import load_kodak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--images", type=int, default=24)
    args = ap.parse_args()
    try:
        import imagecodecs
    except ImportError:
        raise SystemExit("needs imagecodecs for OpenJPEG at 16 bits: pip install imagecodecs")
    images = [(n, img.astype(np.uint16) * 257) for n, img in load_kodak(args.data)[: args.images]]
    px = sum(img.shape[0] * img.shape[1] for _, img in images)
    sizes = {"hybridcodec lossless": 0, "PNG 16-bit (OpenCV, level 9)": 0, "JPEG 2000 lossless (OpenJPEG)": 0}
    for _, img in images:
        data = hybridcodec.encode(img, preset="lossless")
        assert np.array_equal(hybridcodec.decode(data), img)
        sizes["hybridcodec lossless"] += len(data)
        ok, png = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        sizes["PNG 16-bit (OpenCV, level 9)"] += len(png)
        j2k = imagecodecs.jpeg2k_encode(img, level=0, reversible=True)
        assert np.array_equal(imagecodecs.jpeg2k_decode(j2k), img)
        sizes["JPEG 2000 lossless (OpenJPEG)"] += len(j2k)
    print(f"{len(images)} Kodak images scaled to 16 bits ({px / 1e6:.2f} MP)")
    print("lossless, bits per pixel (all images together):")
    for name, total in sizes.items():
        print(f"  {name:32} {8 * total / px:7.3f} bpp")
    curves = {"wavelet (hybridcodec)": ([], []), "JPEG 2000 (OpenJPEG)": ([], [])}
    for q, db in zip((10, 20, 30, 45, 60, 75, 85, 92), (28, 30, 32, 34, 36, 38, 40, 42)):
        for name, enc, dec in (("wavelet (hybridcodec)", lambda im: hybridcodec.encode(im, preset="wavelet", quality=q),
                                hybridcodec.decode),
                               ("JPEG 2000 (OpenJPEG)", lambda im: imagecodecs.jpeg2k_encode(im, level=db),
                                imagecodecs.jpeg2k_decode)):
            bpp, psnr = [], []
            for _, img in images:
                data = enc(img)
                bpp.append(8 * len(data) / (img.shape[0] * img.shape[1]))
                psnr.append(hybridcodec.psnr(img, dec(data).astype(np.uint16)))
            curves[name][0].append(float(np.mean(bpp)))
            curves[name][1].append(float(np.mean(psnr)))
    print("lossy at 16 bits (mean bpp, mean PSNR with peak 65535):")
    for name, (bpp, psnr) in curves.items():
        print(f"  {name:24} " + "  ".join(f"{b:.3f}/{p:.2f}" for b, p in sorted(zip(bpp, psnr))))
    (rb, rp), (tb, tp) = curves["JPEG 2000 (OpenJPEG)"], curves["wavelet (hybridcodec)"]
    print(f"BD-rate of wavelet vs OpenJPEG at 16 bits: {hybridcodec.bd_rate(rb, rp, tb, tp):+.2f} % "
          f"(over the PSNR range both cover)")


if __name__ == "__main__":
    main()
