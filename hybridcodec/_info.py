"""Facts and metadata of an .hcx file, read from its header and chunk list without
decoding pixels."""

from __future__ import annotations

from ._container import FILE_STAGE, METADATA, read_container
from ._errors import CodecError
from ._image import MODES
from ._pipeline import cached_pipeline

__all__ = ["info", "metadata"]

_FILE = FILE_STAGE


def info(data) -> dict:
    """Facts about an .hcx file, read from its header and chunk list (no pixel decode).

    Returns
    -------
    dict
        ``width``, ``height``, ``mode`` ("L", "RGB" or "RGBA"), ``bits`` (8 or 16), ``channels``,
        ``pipeline`` (canonical spec), ``quality``, ``bytes``, ``bpp``, ``version``,
        ``chunks``, ``exif_bytes``, ``icc_profile_bytes``, ``xmp_bytes``, and
        ``decode_kmacs`` (thousands of multiply-accumulates a pixel that decoding runs at
        most in the pipeline's networks and filters, :meth:`Pipeline.macs`; None when a
        stage it names is not installed).
    """
    header, chunks = read_container(data)
    size = len(data)
    meta = _metadata(chunks)
    try:
        kmacs = cached_pipeline(header.spec).macs()[0] / 1000
    except CodecError:
        kmacs = None
    return {
        "width": header.width,
        "height": header.height,
        "mode": MODES[header.channels],
        "bits": header.bits,
        "channels": header.channels,
        "pipeline": header.spec,
        "quality": header.quality,
        "bytes": size,
        "bpp": 8.0 * size / (header.width * header.height),
        "version": header.version,
        "chunks": [{"type": c.type.decode("ascii", "replace"), "stage": c.stage, "bytes": len(c.payload)}
                   for c in chunks],
        "exif_bytes": len(meta.get("exif", b"")),
        "icc_profile_bytes": len(meta.get("icc_profile", b"")),
        "xmp_bytes": len(meta.get("xmp", b"")),
        "decode_kmacs": kmacs,
    }


def _metadata(chunks) -> dict:
    out = {}
    for c in chunks:
        if c.stage == _FILE and c.type in METADATA:
            out[METADATA[c.type]] = c.payload
    return out


def metadata(data) -> dict:
    """The ``exif``, ``icc_profile`` and ``xmp`` stored in an .hcx file (keys present
    only when stored), read without decoding pixels."""
    return _metadata(read_container(data)[1])



