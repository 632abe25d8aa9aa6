"""The .hcx container: header, pipeline spec and CRC-checked chunks.

See docs/FORMAT.md for the byte layout.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from ._errors import CodecError, TruncatedError

__all__ = ["MAGIC", "VERSION", "COMPACT_VERSION", "SPEC_DICTIONARY", "pack_spec", "unpack_spec", "Header", "Chunk", "write_container", "read_container", "read_head",
           "scan_chunks", "MAX_DIMENSION", "FILE_STAGE", "EXIF", "ICC", "XMP", "METADATA"]

MAGIC = b"\x89HCX\r\n\x1a\n"
VERSION = 3  # the newest format this module reads and writes (see docs/FORMAT.md)
COMPACT_VERSION = 3  # from this version on the spec is stored deflated with SPEC_DICTIONARY
MAX_DIMENSION = 1 << 24
FLAG_CHANNEL_AXIS = 0x01  # input was H x W x 1, give that shape back
_KNOWN_FLAGS = FLAG_CHANNEL_AXIS
_FIXED = struct.Struct(">8sBBIIBBHH")  # magic, version, flags, width, height, channels, bits, quality x 100, spec length
_CHUNK = struct.Struct(">4sBI")  # type, stage index, payload length
FILE_STAGE = 255  # stage index of chunks that belong to the file, not to a stage
EXIF, ICC, XMP = b"eXIf", b"iCCP", b"xMPd"  # ancillary file chunks: a reader may skip them
METADATA = {EXIF: "exif", ICC: "icc_profile", XMP: "xmp"}  # chunk type -> metadata key


@dataclass
class Header:
    width: int
    height: int
    channels: int
    quality: float  # 1.00 .. 100.00, stored as hundredths
    spec: str
    flags: int = 0
    bits: int = 8
    version: int = 1  # written as given (the codec writes version 3: see docs/FORMAT.md)
    count: int = 0  # chunks the header declares (when read from a file)


@dataclass
class Chunk:
    type: bytes  # 4 ASCII letters; lower-case first letter = ancillary (skippable)
    stage: int
    payload: bytes = field(repr=False)
    complete: bool = True  # False: what is left of a chunk that a cut-short file ends in


# Version 3 stores the pipeline spec as raw deflate (RFC 1951) with this preset
# dictionary: the canonical specs of the presets and common pipelines of 2026-11, so
# that such a spec takes ~6 bytes instead of ~130 (measured on the preset specs; 130
# bytes were 0.3 % of BD-rate on Kodak for `lifting+cnn`, 9 % of a quality-3 file).
# It is part of the format: these bytes may never change (a test holds their sha256).
SPEC_DICTIONARY = "\n".join((
    "rct()|int53(levels=0)|arith()",
    "dcnn()|rans()", "dcnn()|arith()", "learned()|rans()", "learned()|arith()|cnn(weights=auto)", "learned()|arith()",
    "ycbcr(subsampling=420)|dct(block=8)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,isolated=0.1)|arith()",
    "ycbcr(subsampling=420)|dct(block=8)|jpegq(table=annexk)|arith()|cnn(weights=auto)",
    "ycbcr(subsampling=420)|dct(block=8)|jpegq(table=annexk)|arith()",
    "ycbcr(subsampling=420)|dct(block=8)|jpegq(table=annexk)|huffman()|cnn(weights=auto)",
    "ycbcr(subsampling=420)|dct(block=8)|jpegq(table=annexk)|huffman()",
    "ycbcr(subsampling=444)|dwt(wavelet=bior4.4,levels=0,mode=reflect)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,"
    "isolated=0.1)|ctxrans()",
    "ycbcr(subsampling=444)|lifting(levels=0)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,isolated=0.1)|ctxrans()",
    "ycbcr(subsampling=444)|dwt(wavelet=bior4.4,levels=0,mode=reflect)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,"
    "isolated=0.1)|arith()|cnn(weights=auto)",
    "ycbcr(subsampling=444)|dwt(wavelet=bior4.4,levels=0,mode=reflect)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,"
    "isolated=0.1)|arith()",
    "ycbcr(subsampling=444)|lifting(levels=0)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,isolated=0.1)|arith()"
    "|cnn(weights=auto)",
    "ycbcr(subsampling=444)|lifting(levels=0)|deadzone(rounding=0.33,recon=0.4,chroma=1.0,isolated=0.1)|arith()",
)).encode("ascii")
_MAX_SPEC = 0xFFFF  # a spec longer than this is refused, stored either way


def pack_spec(spec: str, version: int) -> bytes:
    """The header's spec field: the ASCII spec, deflated with :data:`SPEC_DICTIONARY`
    from version 3 on."""
    raw = spec.encode("ascii")
    if version < COMPACT_VERSION:
        return raw
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, SPEC_DICTIONARY)
    return z.compress(raw) + z.flush()


def unpack_spec(field: bytes, version: int) -> str:
    """Inverse of :func:`pack_spec`; raises CodecError for a damaged field (never
    inflates more than ``_MAX_SPEC`` bytes)."""
    raw = field
    if version >= COMPACT_VERSION:
        z = zlib.decompressobj(-15, SPEC_DICTIONARY)
        try:
            raw = z.decompress(field, _MAX_SPEC + 1)
        except zlib.error:
            raise CodecError("corrupt .hcx file: the compressed pipeline spec is damaged") from None
        if not z.eof or z.unused_data or z.unconsumed_tail or len(raw) > _MAX_SPEC:
            raise CodecError("corrupt .hcx file: the compressed pipeline spec is damaged")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise CodecError("corrupt .hcx file: the pipeline spec is not ASCII") from None


def write_container(header: Header, chunks: list[Chunk]) -> bytes:
    if len(header.spec) > _MAX_SPEC:
        raise CodecError("pipeline spec too long for the container")
    spec = pack_spec(header.spec, header.version)
    if len(spec) > 0xFFFF or len(chunks) > 0xFFFF:
        raise CodecError("pipeline spec or chunk list too long for the container")
    if not 1 <= header.version <= VERSION:
        raise CodecError(f"cannot write .hcx format version {header.version}")
    head = _FIXED.pack(MAGIC, header.version, header.flags, header.width, header.height, header.channels,
                       header.bits, round(header.quality * 100), len(spec)) + spec + struct.pack(">H", len(chunks))
    parts = [head, struct.pack(">I", zlib.crc32(head))]
    for c in chunks:
        if len(c.payload) > 0xFFFFFFFF:
            raise CodecError("chunk too large for the container (4 GiB)")
        body = _CHUNK.pack(c.type, c.stage, len(c.payload)) + c.payload
        parts += [body, struct.pack(">I", zlib.crc32(body))]
    return b"".join(parts)


def read_header(data) -> tuple[Header, int, int]:
    """Parse and check the header; return it, the chunk count and where chunks start."""
    data = _as_bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise CodecError("not an .hcx file (bad magic bytes)")
    if len(data) < _FIXED.size:
        raise TruncatedError(f"truncated .hcx file: {len(data)} bytes is shorter than the header")
    _, version, flags, width, height, channels, bits, quality, slen = _FIXED.unpack_from(data)
    if not 1 <= version <= VERSION:
        raise CodecError(
            f"unsupported .hcx format version {version}; this hybridcodec reads versions 1 to {VERSION}"
            + (" (upgrade hybridcodec)" if version > VERSION else "")
        )
    end = _FIXED.size + slen + 2
    if len(data) < end + 4:
        raise TruncatedError("truncated .hcx file: the header is incomplete")
    (crc,) = struct.unpack_from(">I", data, end)
    if zlib.crc32(data[:end]) != crc:
        raise CodecError("corrupt .hcx file: header CRC mismatch")
    if flags & ~_KNOWN_FLAGS:
        raise CodecError(f"corrupt .hcx file: unknown header flags {flags:#04x}")
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION):
        raise CodecError(f"corrupt .hcx file: image size {width}x{height} is out of range")
    if channels not in (1, 3, 4) or bits not in (8, 16):
        raise CodecError(f"corrupt .hcx file: {channels} channels of {bits} bits is not supported")
    if not 100 <= quality <= 10000:
        raise CodecError(f"corrupt .hcx file: quality {quality / 100} is outside 1..100")
    quality = quality // 100 if quality % 100 == 0 else quality / 100
    spec = unpack_spec(data[_FIXED.size : _FIXED.size + slen], version)
    (count,) = struct.unpack_from(">H", data, _FIXED.size + slen)
    header = Header(width, height, channels, quality, spec, flags, bits, version, count)
    return header, count, end + 4


def read_head(fp) -> tuple[Header, int]:
    """Read just the header from a file object (positioned at its start); returns it
    and the chunk count, leaving ``fp`` at the first chunk.  Raises CodecError
    (TruncatedError when the header is cut short)."""
    head = fp.read(_FIXED.size)
    if len(head) >= len(MAGIC) and len(head) == _FIXED.size:
        head += fp.read(struct.unpack_from(">H", head, _FIXED.size - 2)[0] + 6)  # spec, count, CRC
    header, count, _ = read_header(head)
    return header, count


def scan_chunks(fp, count: int, wanted) -> dict:
    """Walk ``count`` chunks from ``fp``'s position, reading the payloads of those for
    which ``wanted(type, stage)`` holds and seeking past the others (CRCs unchecked:
    :func:`read_container` checks them).  Returns ``{(type, stage): payload}``; stops
    quietly where the file is cut short."""
    out = {}
    for _ in range(count):
        head = fp.read(_CHUNK.size)
        if len(head) < _CHUNK.size:
            break
        ctype, stage, length = _CHUNK.unpack(head)
        if wanted(ctype, stage):
            payload = fp.read(length)
            if len(payload) < length:
                break
            out[(ctype, stage)] = payload
            fp.seek(4, 1)
        else:
            fp.seek(length + 4, 1)
    return out


def read_container(data, allow_truncated: bool = False) -> tuple[Header, list[Chunk]]:
    """Parse a whole file, checking every length and CRC against the data.

    With ``allow_truncated``, a file cut short gives the chunks before the cut and
    what is left of the chunk it cuts (unchecked); the header must be whole.
    """
    data = _as_bytes(data)
    header, count, pos = read_header(data)
    chunks = []
    for i in range(count):
        if pos + _CHUNK.size > len(data):
            if allow_truncated:
                return header, chunks
            raise TruncatedError(f"truncated .hcx file: chunk {i + 1} of {count} is missing")
        ctype, stage, length = _CHUNK.unpack_from(data, pos)
        end = pos + _CHUNK.size + length
        if end + 4 > len(data):
            if allow_truncated:
                chunks.append(Chunk(ctype, stage, data[pos + _CHUNK.size : end], complete=False))
                return header, chunks
            raise TruncatedError(
                f"truncated .hcx file: chunk {i + 1} of {count} declares {length} bytes, "
                f"{max(0, len(data) - pos - _CHUNK.size - 4)} are present"
            )
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(data[pos:end]) != crc:
            raise CodecError(f"corrupt .hcx file: CRC mismatch in chunk {i + 1} ({ctype!r})")
        chunks.append(Chunk(ctype, stage, data[pos + _CHUNK.size : end]))
        pos = end + 4
    if pos != len(data):
        raise CodecError(f"corrupt .hcx file: {len(data) - pos} unexpected bytes after the last chunk")
    return header, chunks


def _as_bytes(data) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise CodecError(f"expected the bytes of an .hcx file; got {type(data).__name__}")
