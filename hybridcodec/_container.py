"""The .hcx container: header, pipeline spec and CRC-checked chunks.

See docs/FORMAT.md for the byte layout.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from ._errors import CodecError, TruncatedError
from ._specpack import _MAX_SPEC, COMPACT_VERSION, SPEC_DICTIONARY, pack_spec, unpack_spec

__all__ = ["MAGIC", "VERSION", "COMPACT_VERSION", "VARINT_VERSION", "SPEC_DICTIONARY", "pack_spec", "unpack_spec", "Header", "Chunk", "write_container", "read_container", "read_head",
           "scan_chunks", "MAX_DIMENSION", "FILE_STAGE", "EXIF", "ICC", "XMP", "METADATA"]

MAGIC = b"\x89HCX\r\n\x1a\n"
VERSION = 4  # the newest format this module reads and writes (see docs/FORMAT.md)
VARINT_VERSION = 4  # from this version on sizes and lengths are varints and chunk types a byte
MAX_DIMENSION = 1 << 24
FLAG_CHANNEL_AXIS = 0x01  # input was H x W x 1, give that shape back
_KNOWN_FLAGS = FLAG_CHANNEL_AXIS
_FIXED = struct.Struct(">8sBBIIBBHH")  # magic, version, flags, width, height, channels, bits, quality x 100, spec length
_CHUNK = struct.Struct(">4sBI")  # type, stage index, payload length
# Version 4 writes the header's sizes and every length as LEB128 varints and a chunk's
# type as one byte (an index into _TYPE_CODES, or 255 and the 4 letters): 6 bytes less
# in the header and 4-5 in each chunk, ~20 bytes a lifting+cnn file (3 chunks), 0.2 %
# of a Kodak image at 28 dB and 3 % at quality 3.
_TYPE_CODES = (b"DATA", b"SIDE", b"ALPH")
_TYPE_ESCAPE = 255
_VARINT_MAX = 5  # bytes: lengths below 2**35
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
    version: int = 1  # written as given (the codec writes version 4: see docs/FORMAT.md)
    count: int = 0  # chunks the header declares (when read from a file)


@dataclass
class Chunk:
    type: bytes  # 4 ASCII letters; lower-case first letter = ancillary (skippable)
    stage: int
    payload: bytes = field(repr=False)
    complete: bool = True  # False: what is left of a chunk that a cut-short file ends in


def write_container(header: Header, chunks: list[Chunk]) -> bytes:
    if len(header.spec) > _MAX_SPEC:
        raise CodecError("pipeline spec too long for the container")
    spec = pack_spec(header.spec, header.version)
    if len(spec) > 0xFFFF or len(chunks) > 0xFFFF:
        raise CodecError("pipeline spec or chunk list too long for the container")
    if not 1 <= header.version <= VERSION:
        raise CodecError(f"cannot write .hcx format version {header.version}")
    if header.version >= VARINT_VERSION:
        head = (MAGIC + bytes([header.version, header.flags]) + _varint(header.width) + _varint(header.height)
                + bytes([header.channels, header.bits]) + struct.pack(">H", round(header.quality * 100))
                + _varint(len(spec)) + spec + _varint(len(chunks)))
    else:
        head = _FIXED.pack(MAGIC, header.version, header.flags, header.width, header.height, header.channels,
                           header.bits, round(header.quality * 100), len(spec)) + spec + struct.pack(">H", len(chunks))
    parts = [head, struct.pack(">I", zlib.crc32(head))]
    for c in chunks:
        if len(c.payload) > 0xFFFFFFFF:
            raise CodecError("chunk too large for the container (4 GiB)")
        body = _chunk_head(c.type, c.stage, len(c.payload), header.version) + c.payload
        parts += [body, struct.pack(">I", zlib.crc32(body))]
    return b"".join(parts)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it; TruncatedError where the data
    ends inside it, CodecError for one longer than ``_VARINT_MAX`` bytes."""
    n = 0
    for i in range(_VARINT_MAX):
        if pos + i >= len(data):
            raise TruncatedError(f"truncated .hcx file: {what} is cut short")
        b = data[pos + i]
        n |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            return n, pos + i + 1
    raise CodecError(f"corrupt .hcx file: {what} is not a valid length")


def _chunk_head(ctype: bytes, stage: int, length: int, version: int) -> bytes:
    if version < VARINT_VERSION:
        return _CHUNK.pack(ctype, stage, length)
    code = bytes([_TYPE_CODES.index(ctype)]) if ctype in _TYPE_CODES else bytes([_TYPE_ESCAPE]) + ctype
    return code + bytes([stage]) + _varint(length)


def _read_chunk_head(data: bytes, pos: int, version: int, what: str) -> tuple[bytes, int, int, int]:
    """Type, stage, payload length and where the payload starts; TruncatedError where
    the data ends inside the chunk's head."""
    if version < VARINT_VERSION:
        if pos + _CHUNK.size > len(data):
            raise TruncatedError(f"truncated .hcx file: {what} is missing")
        return (*_CHUNK.unpack_from(data, pos), pos + _CHUNK.size)
    if pos + 2 > len(data):
        raise TruncatedError(f"truncated .hcx file: {what} is missing")
    code = data[pos]
    if code == _TYPE_ESCAPE:
        if pos + 6 > len(data):
            raise TruncatedError(f"truncated .hcx file: {what} is missing")
        ctype, pos = data[pos + 1 : pos + 5], pos + 5
    elif code < len(_TYPE_CODES):
        ctype, pos = _TYPE_CODES[code], pos + 1
    else:
        raise CodecError(f"corrupt .hcx file: {what} has an unknown type code {code}")
    stage = data[pos]
    length, start = _read_varint(data, pos + 1, what)
    return ctype, stage, length, start


def read_header(data) -> tuple[Header, int, int]:
    """Parse and check the header; return it, the chunk count and where chunks start."""
    data = _as_bytes(data)
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise CodecError("not an .hcx file (bad magic bytes)")
    if len(data) < len(MAGIC) + 2:
        raise TruncatedError(f"truncated .hcx file: {len(data)} bytes is shorter than the header")
    version = data[len(MAGIC)]
    if not 1 <= version <= VERSION:
        raise CodecError(
            f"unsupported .hcx format version {version}; this hybridcodec reads versions 1 to {VERSION}"
            + (" (upgrade hybridcodec)" if version > VERSION else "")
        )
    if version >= VARINT_VERSION:
        flags = data[len(MAGIC) + 1]
        width, pos = _read_varint(data, len(MAGIC) + 2, "the header")
        height, pos = _read_varint(data, pos, "the header")
        if pos + 4 > len(data):
            raise TruncatedError("truncated .hcx file: the header is incomplete")
        channels, bits = data[pos], data[pos + 1]
        (quality,) = struct.unpack_from(">H", data, pos + 2)
        slen, spec_at = _read_varint(data, pos + 4, "the header")
        count, end = _read_varint(data, spec_at + slen, "the header")
    else:
        if len(data) < _FIXED.size:
            raise TruncatedError(f"truncated .hcx file: {len(data)} bytes is shorter than the header")
        _, _, flags, width, height, channels, bits, quality, slen = _FIXED.unpack_from(data)
        spec_at, count = _FIXED.size, 0
        end = spec_at + slen + 2
        if len(data) >= end:
            (count,) = struct.unpack_from(">H", data, spec_at + slen)
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
    if slen > _MAX_SPEC or count > 0xFFFF:
        raise CodecError("corrupt .hcx file: the header declares too long a spec or too many chunks")
    quality = quality // 100 if quality % 100 == 0 else quality / 100
    spec = unpack_spec(data[spec_at : spec_at + slen], version)
    header = Header(width, height, channels, quality, spec, flags, bits, version, count)
    return header, count, end + 4


# the longest header before its spec: magic, version, flags, two sizes (4-byte varints at
# most), channels, bits, quality, the spec's length (a 3-byte varint at most)
_HEAD_MAX = len(MAGIC) + 2 + 2 * 4 + 4 + 3


def read_head(fp) -> tuple[Header, int]:
    """Read just the header from a file object (positioned at its start); returns it
    and the chunk count, leaving ``fp`` at the first chunk.  Raises CodecError
    (TruncatedError when the header is cut short)."""
    start = fp.tell()
    head = fp.read(_HEAD_MAX)
    if len(head) > len(MAGIC) and head[len(MAGIC)] >= VARINT_VERSION:
        try:
            pos = len(MAGIC) + 2
            for _ in range(2):
                _, pos = _read_varint(head, pos, "the header")
            slen, pos = _read_varint(head, pos + 4, "the header")
        except CodecError:
            slen = pos = 0  # read_header says what is wrong
        head += fp.read(max(0, pos + min(slen, _MAX_SPEC) + 3 + 4 - len(head)))  # spec, count, CRC
    elif len(head) >= _FIXED.size and head[: len(MAGIC)] == MAGIC:
        need = _FIXED.size + struct.unpack_from(">H", head, _FIXED.size - 2)[0] + 6  # spec, count, CRC
        head += fp.read(max(0, need - len(head)))
    header, count, end = read_header(head)
    fp.seek(start + end)
    return header, count


def scan_chunks(fp, count: int, wanted, version: int = VERSION) -> dict:
    """Walk ``count`` chunks from ``fp``'s position, reading the payloads of those for
    which ``wanted(type, stage)`` holds and seeking past the others (CRCs unchecked:
    :func:`read_container` checks them).  Returns ``{(type, stage): payload}``; stops
    quietly where the file is cut short or a chunk's head is damaged."""
    out = {}
    for i in range(count):
        pos = fp.tell()
        head = fp.read(_CHUNK.size if version < VARINT_VERSION else 6 + _VARINT_MAX)
        try:
            ctype, stage, length, start = _read_chunk_head(head, 0, version, f"chunk {i + 1}")
        except CodecError:
            break
        fp.seek(pos + start)
        if wanted(ctype, stage):
            payload = fp.read(length)
            if len(payload) < length:
                break
            out[(ctype, stage)] = payload
            fp.seek(4, 1)
        else:
            fp.seek(length + 4, 1)
    return out


def read_container(data, allow_truncated: bool = False, views: bool = False) -> tuple[Header, list[Chunk]]:
    """Parse a whole file, checking every length and CRC against the data.

    With ``allow_truncated``, a file cut short gives the chunks before the cut and
    what is left of the chunk it cuts (unchecked); the header must be whole.
    ``views``: the payloads are read-only memoryviews of ``data`` instead of copies
    (the decoder's way: a lossless 6000 x 4000 file's payload is 30 MB).
    """
    data = _as_bytes(data)
    header, count, pos = read_header(data)
    whole = memoryview(data)
    cut = (lambda a, b: whole[a:b]) if views else (lambda a, b: data[a:b])
    chunks = []
    for i in range(count):
        try:
            ctype, stage, length, start = _read_chunk_head(data, pos, header.version, f"chunk {i + 1} of {count}")
        except TruncatedError:
            if allow_truncated:
                return header, chunks
            raise
        end = start + length
        if end + 4 > len(data):
            if allow_truncated:
                chunks.append(Chunk(ctype, stage, cut(start, end), complete=False))
                return header, chunks
            raise TruncatedError(
                f"truncated .hcx file: chunk {i + 1} of {count} declares {length} bytes, "
                f"{max(0, len(data) - start - 4)} are present"
            )
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(whole[pos:end]) != crc:
            raise CodecError(f"corrupt .hcx file: CRC mismatch in chunk {i + 1} ({ctype!r})")
        chunks.append(Chunk(ctype, stage, cut(start, end)))
        pos = end + 4
    if pos != len(data):
        raise CodecError(f"corrupt .hcx file: {len(data) - pos} unexpected bytes after the last chunk")
    return header, chunks


def _as_bytes(data) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)  # bytes as they are; a copy of the others, which could change under the decoder
    raise CodecError(f"expected the bytes of an .hcx file; got {type(data).__name__}")
