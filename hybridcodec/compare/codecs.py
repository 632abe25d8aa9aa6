"""Codecs under comparison: hybridcodec pipelines and the reference codecs.

Every codec maps a quality 1..100 (higher is better) to its own knob, so one
quality list sweeps all of them across roughly 0.1 to 2.5 bpp on photos.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Codec", "REFERENCE_CODECS", "reference_codec", "hybrid_codec", "DEFAULT_QUALITIES", "ALL_QUALITIES",
           "is_learned", "measure_cost"]

#: The qualities of a default ``compare`` run: every codec's curve across the 28-38 dB
#: window of the BD-rates (on the sample photos JPEG reaches 29 dB at 20 and 37.7 at 95;
#: hybridcodec's pipelines 28.8 at 30 and 40.7 at 90), in 8 points.
DEFAULT_QUALITIES = (10, 20, 30, 45, 60, 75, 90, 95)
#: ``compare --all`` and the benchmark suites: 12 points, down to the lowest rates.
ALL_QUALITIES = (3, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


@dataclass
class Codec:
    name: str
    description: str
    encode: Callable[[np.ndarray, float], bytes]
    decode: Callable[[bytes], np.ndarray]


def _pil_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB" if im.mode not in ("L",) else "L"))


def _pil_encode(fmt: str, knob: Callable[[float], dict]):
    def enc(img: np.ndarray, q: float) -> bytes:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(img).save(buf, fmt, **knob(q))
        return buf.getvalue()

    return enc


def _jpeg():
    return Codec("jpeg", "Pillow JPEG (libjpeg), default settings (4:2:0, standard tables)",
                 _pil_encode("JPEG", lambda q: {"quality": int(round(q))}), _pil_decode)


def _jpeg_opencv():
    import cv2

    def enc(img, q):
        bgr = img[:, :, ::-1] if img.ndim == 3 else img
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, int(round(q))])
        if not ok:
            raise RuntimeError("cv2.imencode failed")
        return buf.tobytes()

    def dec(data):
        out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        return out[:, :, ::-1] if out.ndim == 3 else out

    return Codec("jpeg-opencv", f"OpenCV {cv2.__version__} cv2.imencode JPEG", enc, dec)


def _pil_feature(feature: str):
    from PIL import features

    if not features.check(feature):
        raise ImportError(f"Pillow was built without {feature}")


def _webp():
    _pil_feature("webp")
    return Codec("webp", "Pillow WebP (libwebp), lossy, method 4",
                 _pil_encode("WEBP", lambda q: {"quality": int(round(q))}), _pil_decode)


def _jpeg2000():
    _pil_feature("jpg_2000")
    # quality -> compression ratio, 300:1 at q=0 down to about 9:1 at q=100
    return Codec("jpeg2000", "Pillow JPEG 2000 (OpenJPEG), 9/7 irreversible, colour transform on",
                 _pil_encode("JPEG2000", lambda q: {"quality_mode": "rates",
                                                    "quality_layers": [300.0 * 0.03 ** (q / 100)],
                                                    "irreversible": True, "mct": 1}),
                 _pil_decode)


def _avif():
    _pil_feature("avif")
    return Codec("avif", "Pillow AVIF (libavif)", _pil_encode("AVIF", lambda q: {"quality": int(round(q))}),
                 _pil_decode)


def _heic():
    import pillow_heif

    def enc(img, q):
        heif = pillow_heif.from_bytes(mode="RGB" if img.ndim == 3 else "L", size=(img.shape[1], img.shape[0]),
                                      data=np.ascontiguousarray(img).tobytes())
        buf = io.BytesIO()
        heif.save(buf, quality=int(round(q)))
        return buf.getvalue()

    def dec(data):
        h = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        return np.asarray(h)

    return Codec("heic", f"pillow-heif {pillow_heif.__version__} (libheif, HEVC)", enc, dec)


def _jxl():
    import imagecodecs

    if not imagecodecs.JPEGXL.available:
        raise ImportError("imagecodecs has no JPEG XL")

    def enc(img, q):
        # quality -> Butteraugli distance, 12 at q=0 down to 0.3 at q=100
        return imagecodecs.jpegxl_encode(img, distance=12.0 * (0.3 / 12.0) ** (q / 100))

    return Codec("jxl", f"imagecodecs {imagecodecs.__version__} JPEG XL (libjxl)", enc,
                 lambda data: np.asarray(imagecodecs.jpegxl_decode(data)))


REFERENCE_CODECS = {
    "jpeg": _jpeg, "jpeg-opencv": _jpeg_opencv, "webp": _webp, "jpeg2000": _jpeg2000,
    "avif": _avif, "heic": _heic, "jxl": _jxl,
}


def reference_codec(name: str) -> Codec:
    """The reference codec ``name``; ImportError when its library is missing."""
    if name not in REFERENCE_CODECS:
        raise KeyError(name)
    return REFERENCE_CODECS[name]()


def hybrid_codec(spec: str) -> Codec:
    import hybridcodec

    pipe = hybridcodec.Pipeline(spec)  # validates now, in the parent process
    name = spec if spec in hybridcodec.PRESETS else spec
    return Codec(name, f"hybridcodec {pipe.spec()}",
                 lambda img, q: hybridcodec.encode(img, pipeline=spec, quality=q), hybridcodec.decode)


def is_learned(spec: str) -> bool:
    """True when pipeline ``spec`` has a stage from a plugin (the learned ones)."""
    import hybridcodec
    from .._errors import CodecError

    try:
        return any(not type(s).__module__.startswith("hybridcodec.") for s in hybridcodec.Pipeline(spec).stages)
    except CodecError:
        return False


def measure_cost(codec: Codec, img: np.ndarray, q: float, probes) -> dict:
    """One encode and one decode of ``img`` at ``q`` inside every cost probe a plugin
    registered: kMACs a pixel each way, and the training budget of the weights read."""
    from contextlib import ExitStack

    pixels = img.shape[0] * img.shape[1]
    cost: dict = {}
    for way in ("encode", "decode"):
        with ExitStack() as stack:
            tallies = [stack.enter_context(p()) for p in probes]
            if way == "encode":
                data = codec.encode(img, q)
            else:
                codec.decode(data)
        cost[f"{way}_kmacs_px"] = round(sum(t.get("macs", 0) for t in tallies) / pixels / 1000, 3)
        for t in tallies:
            if t.get("training"):
                cost["training"] = t["training"]
    return cost
