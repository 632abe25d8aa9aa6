"""encode / decode / info: running a pipeline and wrapping it in the container."""

from __future__ import annotations

import numbers

import numpy as np

from ._container import FLAG_CHANNEL_AXIS, Chunk, Header, read_container, read_header, write_container
from ._errors import CodecError
from ._image import MODES, as_uint8_image
from ._pipeline import PRESETS, Pipeline
from ._stage import Context

__all__ = ["encode", "decode", "info", "DEFAULT_MAX_PIXELS"]

DEFAULT_MAX_PIXELS = 1 << 28
_DATA, _SIDE = b"DATA", b"SIDE"


def _pipeline_for(preset, pipeline) -> Pipeline:
    if preset is not None and pipeline is not None:
        raise CodecError("give either preset= or pipeline=, not both")
    if pipeline is None:
        preset = "baseline" if preset is None else preset
        if preset not in PRESETS:
            raise CodecError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
        return Pipeline(preset)
    if isinstance(pipeline, Pipeline):
        return pipeline
    if not isinstance(pipeline, str):
        raise CodecError(f"pipeline must be a spec string; got {type(pipeline).__name__}")
    return Pipeline(pipeline)


def check_quality(quality) -> float:
    """Quality as stored in the header: 1..100 in steps of 0.01 (ints stay ints)."""
    if isinstance(quality, bool) or not isinstance(quality, numbers.Real) or not 1 <= quality <= 100:
        raise CodecError(f"quality must be a number from 1 to 100; got {quality!r}")
    q = round(float(quality) * 100)
    return q // 100 if q % 100 == 0 else q / 100


def encode(image, preset: str | None = None, pipeline: str | None = None, quality: float = 75) -> bytes:
    """Compress an image to the bytes of an .hcx file.

    Parameters
    ----------
    image : numpy.ndarray or PIL.Image.Image
        uint8 array ``H x W`` (grey), ``H x W x 1`` or ``H x W x 3`` (RGB), or a PIL
        image of mode L or RGB.
    preset : str, optional
        Name of a preset (``"baseline"`` when neither preset nor pipeline is given).
    pipeline : str, optional
        A pipeline spec, e.g. ``"ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman"``.
    quality : int or float
        1..100, higher is better; file size grows with it.  Fractions count to
        0.01 (rate control uses them).

    Returns
    -------
    bytes

    Examples
    --------
    >>> import numpy as np, hybridcodec
    >>> img = np.tile(np.arange(64, dtype=np.uint8), (48, 1))
    >>> data = hybridcodec.encode(img, quality=90)
    >>> data[:4]
    b'\\x89HCX'
    >>> hybridcodec.decode(data).shape
    (48, 64)
    """
    q = check_quality(quality)
    pipe = _pipeline_for(preset, pipeline)
    arr, axis = as_uint8_image(image)
    h, w, c = arr.shape
    if h > (1 << 24) or w > (1 << 24):
        raise CodecError(f"image {w}x{h} is too large (at most 16777216 per side)")
    layouts = pipe.layouts(h, w, c)
    ctx = Context(w, h, c, q)
    planes = [arr[:, :, i].astype(np.float32) - 128.0 for i in range(c)]
    for stage, layout in zip(pipe.forward, layouts):
        planes = stage.encode(planes, layout, ctx)
    payload = pipe.entropy.encode(planes, layouts[-1], ctx)
    if pipe.postfilters:
        decoded = _reconstruct(pipe, layouts, payload, ctx)
        for stage in pipe.postfilters:
            stage.encode(arr.astype(np.float32), decoded, ctx)
            decoded = stage.decode(decoded, ctx)
    header = Header(w, h, c, q, pipe.spec(), FLAG_CHANNEL_AXIS if axis else 0)
    chunks = [Chunk(_DATA, pipe.entropy.index, payload)]
    for index in sorted(ctx.side):
        chunks += [Chunk(_SIDE, index, p) for p in ctx.side[index]]
    return write_container(header, chunks)


def _reconstruct(pipe: Pipeline, layouts, payload: bytes, ctx: Context) -> np.ndarray:
    """Entropy decode and inverse stages: float32 H x W x C image, 0..255 scale."""
    planes = pipe.entropy.decode(payload, layouts[-1], ctx)
    for stage, layout in zip(reversed(pipe.forward), reversed(layouts[:-1])):
        planes = stage.decode(planes, layout, ctx)
    return np.dstack(planes).astype(np.float32, copy=False) + np.float32(128.0)


def _open(data, max_pixels: int | None):
    header, chunks = read_container(data)
    pipe = Pipeline(header.spec)
    if max_pixels is not None and header.width * header.height > max_pixels:
        raise CodecError(
            f"image is {header.width}x{header.height} = {header.width * header.height} pixels, "
            f"more than max_pixels={max_pixels}; pass a larger max_pixels if you trust the file"
        )
    return header, chunks, pipe


def decode(data, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decompress .hcx bytes to a uint8 array of the shape that was encoded.

    Parameters
    ----------
    data : bytes
        The whole file.
    max_pixels : int or None
        Refuse images with more pixels (decompression-bomb guard); None disables.

    Raises
    ------
    CodecError
        For anything that is not a valid, complete .hcx file, or that needs a stage
        that is not installed.
    """
    header, chunks, pipe = _open(data, max_pixels)
    ctx = Context(header.width, header.height, header.channels, header.quality)
    payload = None
    for c in chunks:
        if c.type == _DATA and c.stage == pipe.entropy.index and payload is None:
            payload = c.payload
        elif c.type == _SIDE and c.stage < len(pipe.stages):
            ctx.side.setdefault(c.stage, []).append(c.payload)
        elif not c.type[:1].islower():  # lower-case first letter: ancillary, may be skipped
            raise CodecError(f"corrupt .hcx file: unexpected chunk {c.type!r} for stage {c.stage}")
    if payload is None:
        raise CodecError("corrupt .hcx file: no coded data chunk")
    try:
        layouts = pipe.layouts(header.height, header.width, header.channels)
        image = _reconstruct(pipe, layouts, payload, ctx)
        for stage in pipe.postfilters:
            image = stage.decode(image, ctx)
    except (CodecError, MemoryError):
        raise
    except Exception as exc:  # a decoder must fail cleanly on any input
        raise CodecError(f"corrupt .hcx file: decoding failed ({type(exc).__name__}: {exc})") from exc
    out = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if header.channels == 1 and not header.flags & FLAG_CHANNEL_AXIS:
        out = out[:, :, 0]
    return out


def info(data) -> dict:
    """Facts about an .hcx file, read from its header and chunk list (no pixel decode).

    Returns
    -------
    dict
        ``width``, ``height``, ``mode`` ("L" or "RGB"), ``channels``, ``pipeline``
        (canonical spec), ``quality``, ``bytes``, ``bpp``, ``version``, ``chunks``.
    """
    header, chunks = read_container(data)
    size = len(data)
    return {
        "width": header.width,
        "height": header.height,
        "mode": MODES[header.channels],
        "channels": header.channels,
        "pipeline": header.spec,
        "quality": header.quality,
        "bytes": size,
        "bpp": 8.0 * size / (header.width * header.height),
        "version": header.version,
        "chunks": [{"type": c.type.decode("ascii", "replace"), "stage": c.stage, "bytes": len(c.payload)}
                   for c in chunks],
    }



