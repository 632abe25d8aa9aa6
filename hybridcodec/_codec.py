"""encode / decode / info: running a pipeline and wrapping it in the container."""

from __future__ import annotations

import numbers

import numpy as np

from ._container import (VARINT_VERSION, FILE_STAGE, FLAG_CHANNEL_AXIS, METADATA, Chunk, Header, read_container,
                         write_container)
from ._errors import CodecError, TruncatedError
from ._heap import release_free_memory
from ._image import as_image
from ._pipeline import PRESETS, Pipeline, cached_pipeline, close_names
from ._progress import step
from ._ratecontrol import search_quality
from ._run import decode_alpha, encode_alpha, encode_planes, reconstruct
from ._samples import to_samples

__all__ = ["encode", "decode", "DEFAULT_MAX_PIXELS", "DEFAULT_PRESET", "WORK_FREE", "WORK_PER_BYTE", "work_limit"]

DEFAULT_MAX_PIXELS = 1 << 28
#: What ``encode``, ``hybridcodec encode`` and ``Image.save("x.hcx")`` use when given no
#: preset and no pipeline: the best pipeline that needs no optional dependency and
#: runs at interactive speed (on Kodak -47.4 % BD-rate against JPEG, decoding a photo
#: in about 30 ms; ``baseline``, the default until 2026-12, is -7.7 %).  Files store
#: their pipeline, so files made with any default decode alike.
DEFAULT_PRESET = "wavelet"
_DATA, _SIDE, _ALPHA = b"DATA", b"SIDE", b"ALPH"
_FILE = FILE_STAGE


def _pipeline_for(preset, pipeline) -> Pipeline:
    if preset is not None and pipeline is not None:
        raise CodecError("give either preset= or pipeline=, not both")
    if pipeline is None:
        preset = DEFAULT_PRESET if preset is None else preset
        if not isinstance(preset, str) or preset not in PRESETS:
            raise CodecError(unknown_preset(preset))
        return cached_pipeline(preset)
    if isinstance(pipeline, Pipeline):
        return pipeline
    if not isinstance(pipeline, str):
        raise CodecError(f"pipeline must be a spec string; got {type(pipeline).__name__}")
    return cached_pipeline(pipeline)


def unknown_preset(name) -> str:
    """The message for a preset name that is none: a pipeline spec given as a preset
    points to ``pipeline=`` / ``--pipeline``, a misspelling to the close names."""
    if not isinstance(name, str):
        return f"preset must be a preset name; got {type(name).__name__}"
    if any(ch in name for ch in "|+("):
        return (f"{name!r} is a pipeline spec, not a preset name: give it as pipeline= "
                f"(on the command line: --pipeline '{name}')")
    near = close_names(name, PRESETS)
    if near:
        return f"unknown preset {name!r}; did you mean {' or '.join(repr(n) for n in near)}?"
    try:
        Pipeline(name)
    except CodecError:
        pass
    else:  # the name of a stage that makes a whole pipeline alone
        return f"{name!r} is a stage, not a preset name: give it as pipeline= (--pipeline {name})"
    return f"unknown preset {name!r}; presets: {', '.join(PRESETS)}"


def check_quality(quality) -> float:
    """Quality as stored in the header: 1..100 in steps of 0.01 (ints stay ints)."""
    if isinstance(quality, bool) or not isinstance(quality, numbers.Real) or not 1 <= quality <= 100:
        raise CodecError(f"quality must be a number from 1 to 100; got {quality!r}")
    q = round(float(quality) * 100)
    return q // 100 if q % 100 == 0 else q / 100


def encode(image, preset: str | None = None, pipeline: str | None = None, quality: float | None = None,
           *, target_bpp: float | None = None, target_psnr: float | None = None,
           max_bytes: int | None = None, exif: bytes | None = None, icc_profile: bytes | None = None,
           xmp: bytes | None = None) -> bytes:
    """Compress an image to the bytes of an .hcx file.

    Parameters
    ----------
    image : numpy.ndarray or PIL.Image.Image
        uint8 array ``H x W`` (grey), ``H x W x 1``, ``H x W x 3`` (RGB) or ``H x W x 4``
        (RGBA: the alpha plane is stored losslessly beside the pipeline), or a PIL
        image of mode L, RGB or RGBA (1, P and LA are converted).  uint16 arrays
        (and PIL's I;16) are coded as 16-bit images: exactly by ``lossless``, and
        with a quality that means the same relative precision as for 8 bits.
    preset : str, optional
        Name of a preset; when neither preset nor pipeline is given,
        :data:`DEFAULT_PRESET` (``"wavelet"``: -47 % BD-rate against JPEG on Kodak,
        no optional dependency; ``preset="baseline"`` is the JPEG-class one).
    pipeline : str, optional
        A pipeline spec, e.g. ``"ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman"``.
    quality : int or float, optional
        1..100 (default 75), higher is better; file size grows with it.  Fractions
        count to 0.01.
    target_bpp, target_psnr, max_bytes : optional
        Rate control, instead of ``quality``: search the quality whose file comes
        closest to ``target_bpp`` bits per pixel, the lowest quality whose PSNR
        reaches ``target_psnr`` dB, or the highest quality whose file fits in
        ``max_bytes``.  The pipeline needs a quantizer.
    exif, icc_profile, xmp : bytes, optional
        Metadata stored as-is in ancillary chunks (see :func:`metadata`).

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
    >>> len(hybridcodec.encode(img, preset="wavelet", max_bytes=300)) <= 300
    True
    """
    targets = {k: v for k, v in (("target_bpp", target_bpp), ("target_psnr", target_psnr),
                                 ("max_bytes", max_bytes)) if v is not None}
    if len(targets) > 1 or (targets and quality is not None):
        given = list(targets) + (["quality"] if quality is not None else [])
        raise CodecError(f"give one of quality, target_bpp, target_psnr, max_bytes; got {', '.join(given)}")
    pipe = _pipeline_for(preset, pipeline)
    arr, axis, _ = as_image(image)
    h, w, c = arr.shape
    if h > (1 << 24) or w > (1 << 24):
        raise CodecError(f"image {w}x{h} is too large (at most 16777216 per side)")
    extra = []
    given = {"exif": exif, "icc_profile": icc_profile, "xmp": xmp}
    for ctype, name in METADATA.items():
        blob = given[name]
        if isinstance(blob, str) and name == "xmp":  # Pillow gives XMP as text or bytes
            blob = blob.encode("utf-8")
        if blob is not None:
            if not isinstance(blob, (bytes, bytearray, memoryview)):
                raise CodecError(f"{name} must be bytes; got {type(blob).__name__}")
            if len(blob):
                extra.append(Chunk(ctype, _FILE, bytes(blob)))
    if c == 4:
        extra.append(Chunk(_ALPHA, _FILE, encode_alpha(arr[:, :, 3])))
    if targets:
        return search_quality(lambda q: _encode_array(arr, axis, pipe, q, extra),
                              lambda d: decode(d, max_pixels=None), arr, pipe, **targets)
    return _encode_array(arr, axis, pipe, check_quality(75 if quality is None else quality), extra)


def _encode_array(arr: np.ndarray, axis: bool, pipe: Pipeline, q: float, extra=()) -> bytes:
    h, w, c = arr.shape
    alpha = c == 4
    payload, ctx, layouts = encode_planes(pipe, arr[:, :, :3] if alpha else arr, q)
    if pipe.postfilters:
        if ctx.bits != 8:
            raise CodecError(f"post-filters work on 8-bit images; this one has {ctx.bits} bits: drop "
                             f"{'+'.join(s.name for s in pipe.postfilters)} from the pipeline")
        decoded = reconstruct(pipe, layouts, payload, ctx)
        ctx.coded_bytes = len(payload)
        ctx.work = pipe.decode_work(h * w, ctx, ())
        original = arr[:, :, :3]  # the caller's samples (uint8): the filters take them row by row
        # each post-filter is fitted to what the ones before it leave; the last one's
        # output is not needed here (running cnn's decode was 0.39 s of a 1.9 s lifting+cnn encode)
        for i, stage in enumerate(pipe.postfilters):
            release_free_memory(h * w)
            step(stage.name)
            filtered = stage.encode(original, decoded, ctx)
            if i + 1 < len(pipe.postfilters):
                decoded = stage.decode(decoded, ctx) if filtered is None else filtered
    bits = 16 if arr.dtype == np.uint16 else 8
    # version 4 (varint sizes and lengths, one-byte chunk types; version 3: the spec
    # deflated, ~120 bytes less) holds whatever versions 1 to 3 do
    header = Header(w, h, c, q, pipe.spec(), FLAG_CHANNEL_AXIS if axis else 0, bits,
                    max(ctx.needs_version, VARINT_VERSION))
    chunks = [Chunk(_DATA, pipe.entropy.index, payload)]
    for index in sorted(ctx.side):
        chunks += [Chunk(_SIDE, index, p) for p in ctx.side[index]]
    chunks += list(extra)
    return _pay_for_work(pipe, header, ctx, chunks, write_container(header, chunks))


def _check_work(pipe, header, ctx, filters, nbytes: int, max_work) -> None:
    if max_work == "file":
        limit = work_limit(nbytes)
    elif isinstance(max_work, numbers.Integral) and not isinstance(max_work, bool) and max_work >= 0:
        limit = int(max_work)
    else:
        raise CodecError(f"max_work must be 'file', a whole number of multiply-accumulates or None; got {max_work!r}")
    pixels = header.width * header.height
    work = pipe.decode_work(pixels, ctx, filters)
    if work > limit:
        which = [s.name for s in pipe.stages if (s.kind != "postfilter" or s in filters) and s.decode_work(pixels, ctx)]
        rule = (f"a file of {nbytes} bytes may ask for {limit:.3g} (2**33 + 2**23 a byte, docs/FORMAT.md)"
                if max_work == "file" else f"max_work={limit}")
        raise CodecError(f"this {header.width}x{header.height} file asks its decoder for {work:.3g} multiply-"
                         f"accumulates in its networks and models ({'+'.join(which)}); "
                         f"{rule}; pass max_work=None (or a larger max_work) to decode it if you trust it")


def _pay_for_work(pipe, header, ctx, chunks, data: bytes) -> bytes:
    """The file, with a padding chunk added when its declared work is more than its size
    allows (a flat image under a learned transform), so that the decoder's rule holds."""
    work = pipe.decode_work(header.width * header.height, ctx, pipe.postfilters if header.bits == 8 else ())
    if work <= work_limit(len(data)):
        return data
    need = -(-(work - WORK_FREE) // WORK_PER_BYTE) - len(data)
    for extra in (0, 8, 16):  # the chunk's own header and the chunk count's varint
        out = write_container(header, chunks + [Chunk(_WORK_PAD, _FILE, bytes(int(need) + extra))])
        if work <= work_limit(len(out)):
            return out
    raise AssertionError("work padding did not reach the limit")


def _alpha_plane(payload, header, ctx, shape) -> np.ndarray:
    if payload is None:  # cut off before the alpha chunk
        return np.full(shape, (1 << header.bits) - 1, np.float32)
    plane = decode_alpha(payload, header.height, header.width, ctx)
    if plane.shape != shape:
        plane = _finish_reduce(plane[:, :, None], *shape)[:, :, 0]
    return plane


def _finish_reduce(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """Area-average whatever factor the pipeline could not reduce by itself."""
    if image.shape[:2] == (h, w):
        return image
    if image.shape[0] < h or image.shape[1] < w:
        raise CodecError("corrupt .hcx file: reduced decode came out too small")
    c = image.shape[2]
    import cv2  # only for reduced decodes a pipeline cannot finish itself

    out = cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=cv2.INTER_AREA)
    return out.reshape(h, w, c)


def _open(data, max_pixels: int | None, allow_truncated: bool = False):
    header, chunks = read_container(data, allow_truncated, views=True)
    pipe = cached_pipeline(header.spec)
    if max_pixels is not None and header.width * header.height > max_pixels:
        raise CodecError(
            f"image is {header.width}x{header.height} = {header.width * header.height} pixels, "
            f"more than max_pixels={max_pixels}; pass a larger max_pixels if you trust the file"
        )
    pixels = header.width * header.height
    per_byte = _PIXELS_PER_BYTE_CUT if allow_truncated else _PIXELS_PER_BYTE
    if pixels > len(data) * per_byte:
        err = TruncatedError if allow_truncated else CodecError
        raise err(f"corrupt .hcx file: {len(data)} bytes cannot hold a {header.width}x{header.height} image "
                  f"(at least one byte per {per_byte} pixels{' of a cut-short file' if allow_truncated else ''})")
    return header, chunks, pipe


# The decoder's work must be backed by the file: no coder here spends less than one
# byte on 2**18 pixels (arith: 1/2048 bit per coefficient; huffman: 2 bits per block;
# rans: 2**-16 of a bit per symbol at best), and a cut-short file, which decodes what
# is missing as zeros, must still hold one byte per 2**11 pixels (32 KiB for 8192x8192).
_PIXELS_PER_BYTE, _PIXELS_PER_BYTE_CUT = 1 << 18, 1 << 11


# The decoder's network work must be backed by the file too (docs/FORMAT.md, "Work"):
# a file may ask for WORK_FREE multiply-accumulates, and WORK_PER_BYTE more for each of
# its bytes.  Measured on this project's 2-core VM, one core: the learned lifting runs
# about 1.1e10 MACs a second, the post-filter 4.6e10; so a file gets ~0.8 s of lifting
# for nothing and ~0.8 ms for each byte.  A Kodak photo's transform is inside it at every
# quality (lifting: 6.2e9 MACs); the post-filter's encoder runs as many views as the
# rule leaves room for (at q10, ~2 KB, one or two of its four).  Where a real image is
# still over (a flat 4096 x 4096 image under a learned transform codes to a few kB), the
# encoder pads the file with an ancillary chunk until it is within, so that no file an
# encoder writes is refused.
WORK_FREE = 1 << 33
WORK_PER_BYTE = 1 << 23
_WORK_PAD = b"wPAD"  # ancillary chunk of zeros that pays for a file's declared work


def work_limit(nbytes: int) -> int:
    """The multiply-accumulates a file of ``nbytes`` bytes may ask its decoder for."""
    return WORK_FREE + WORK_PER_BYTE * int(nbytes)


def decode(data, *, reduce: int = 1, max_pixels: int | None = DEFAULT_MAX_PIXELS,
           allow_truncated: bool = False, max_work="file") -> np.ndarray:
    """Decompress .hcx bytes to an array of the shape and dtype (uint8, or uint16 for
    16-bit images) that was encoded.

    Parameters
    ----------
    data : bytes
        The whole file.
    reduce : {1, 2, 4, 8}
        Decode at ``ceil(h / reduce) x ceil(w / reduce)``.  Wavelet pipelines decode
        only the coarse subbands (``arith`` reads only a prefix of the stream); DCT
        pipelines invert only each block's low frequencies.  Whatever a pipeline
        cannot reduce (a wavelet with fewer levels than asked) is finished by area
        averaging.  Post-filters are skipped in a reduced decode.
    max_pixels : int or None
        Refuse images with more pixels (decompression-bomb guard); None disables.
    allow_truncated : bool
        Decode what a file that was cut short holds (what is missing decodes as
        zero coefficients, or opaque alpha) instead of raising.  The header must be
        complete, and the file must still hold a byte per 2**11 pixels (whole files:
        a byte per 2**18), so that a few bytes cannot make the decoder fill a large
        image.  Post-filters are skipped when the data was cut short.
    max_work : "file", int or None
        The most multiply-accumulates the pipeline's networks and filters may run
        (:meth:`Pipeline.decode_work`, from the header and side data, before any of
        them runs).  ``"file"`` (the default): what the file's size allows,
        :func:`work_limit` (``WORK_FREE + WORK_PER_BYTE * len(data)``); an int: that
        many; None: no limit (for files you trust).  Classical pipelines ask for none.

    Raises
    ------
    CodecError
        For anything that is not a valid, complete .hcx file, or that needs a stage
        that is not installed.
    """
    if isinstance(reduce, bool) or not isinstance(reduce, numbers.Integral) or reduce not in (1, 2, 4, 8):
        raise CodecError(f"reduce must be 1, 2, 4 or 8; got {reduce!r}")
    header, chunks, pipe = _open(data, max_pixels, bool(allow_truncated))
    colour = 3 if header.channels == 4 else header.channels
    ctx = pipe.context(header.width, header.height, colour, header.quality, reduce=int(reduce),
                       allow_truncated=bool(allow_truncated), bits=header.bits, version=header.version)
    payload = alpha = None
    ctx.truncated = len(chunks) < header.count or not all(c.complete for c in chunks)
    for c in chunks:
        if c.type == _DATA and c.stage == pipe.entropy.index and payload is None:
            payload = c.payload
        elif c.type == _SIDE and c.stage < len(pipe.stages):
            ctx.side.setdefault(c.stage, []).append(bytes(c.payload))  # small; the payload stays a view
        elif c.type == _ALPHA and c.stage == _FILE and header.channels == 4 and alpha is None:
            alpha = c.payload
        elif not c.type[:1].islower():  # lower-case first letter: ancillary, may be skipped
            raise CodecError(f"corrupt .hcx file: unexpected chunk {c.type!r} for stage {c.stage}")
    if payload is None:
        if not allow_truncated:
            raise TruncatedError("corrupt .hcx file: no coded data chunk")
        payload, ctx.truncated = b"", True
    if alpha is None and header.channels == 4 and not allow_truncated:
        raise TruncatedError("corrupt .hcx file: an RGBA file without its alpha chunk")
    dtype = np.uint16 if header.bits == 16 else np.uint8
    filters = pipe.postfilters if header.bits == 8 else ()  # post-filters work on float images
    if max_work is not None:
        _check_work(pipe, header, ctx, filters if reduce == 1 and not ctx.truncated else (), len(data), max_work)
    try:
        layouts = pipe.layouts(header.height, header.width, colour)
        if reduce == 1 and not filters:  # straight into the output: no float image
            out = np.empty((header.height, header.width, header.channels), dtype)
            reconstruct(pipe, layouts, payload, ctx, out)
            if header.channels == 4:
                to_samples([_alpha_plane(alpha, header, ctx, out.shape[:2]) - (1 << (header.bits - 1))], out, 3)
        else:
            image = reconstruct(pipe, layouts, payload, ctx)
            if reduce > 1:
                image = _finish_reduce(image, -(-header.height // reduce), -(-header.width // reduce))
            elif not ctx.truncated:  # a post-filter's side data describes the whole image
                for stage in filters:  # on the colour planes; alpha is exact already
                    release_free_memory(header.width * header.height)
                    step(stage.name)
                    image = stage.decode(image, ctx)
                # what the last one's temporaries left in the heap, before the uint8 image
                # (alf on 6000 x 4000: 1.7 bytes a pixel resident under it otherwise)
                release_free_memory(header.width * header.height)
            if header.channels == 4:
                image = np.dstack([image, _alpha_plane(alpha, header, ctx, image.shape[:2])])
            # the float image is this function's own: rounded in place, not copied twice more
            np.rint(image, out=image)
            out = np.clip(image, 0, (1 << header.bits) - 1, out=image).astype(dtype)
    except (CodecError, MemoryError):
        raise
    except Exception as exc:  # a decoder must fail cleanly on any input
        raise CodecError(f"corrupt .hcx file: decoding failed ({type(exc).__name__}: {exc})") from exc
    if header.channels == 1 and not header.flags & FLAG_CHANNEL_AXIS:
        out = out[:, :, 0]
    return out
