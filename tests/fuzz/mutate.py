"""Parsing and writing .hcx files attacker-style, and structure-aware mutations: every
CRC is recomputed after a mutation so that it reaches the layers behind the CRCs."""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass, field

MAGIC = b"\x89HCX\r\n\x1a\n"
_FIXED = struct.Struct(">8sBBIIBBHH")
_CHUNK = struct.Struct(">4sBI")
_TYPES = [b"DATA", b"SIDE", b"ALPH", b"eXIf", b"iCCP", b"xMPd", b"XXXX", b"data", b"\0\0\0\0",
          b"\x07", b"\xfe"]  # one byte: a raw type code in version 4's layout (unknown ones)
_CODES = (b"DATA", b"SIDE", b"ALPH")  # version 4's chunk type codes 0, 1, 2; 255 = the 4 letters follow
_VARINT_VERSION = 4
_ODD_SPECS = [
    "dwt(levels=8)|deadzone|arith", "int53(levels=8)|arith", "ycbcr|dwt(levels=8,wavelet=haar)|deadzone|arith",
    "dct(block=16)|jpegq|huffman", "dct(block=4)|deadzone|arith", "ycbcr|dct|jpegq|huffman|cnn|cnn",
    "ycbcr|ycbcr|dct|jpegq|huffman", "rct|int53|rans", "dwt(wavelet=dmey)|deadzone|arith", "nope|arith",
    "dwt(levels=99)|deadzone|arith", "dct(block=7)|jpegq|huffman", "", "|", "((", "a" * 300,
    "ycbcr(subsampling=420)|dwt(wavelet=bior6.8,mode=periodization)|deadzone(chroma=10)|arith",
    "baseline+cnn", "wavelet+cnn", "lossless", "dct-arith", "rct|dwt|deadzone(rounding=0,recon=1)|arith",
]


@dataclass
class File:
    fields: list  # magic, version, flags, width, height, channels, bits, quality, (spec length)
    spec: bytes
    chunks: list = field(default_factory=list)  # [type, stage, declared length or None, payload]
    tail: bytes = b""
    cut: int | None = None

    def bytes(self) -> bytes:
        """The file in the layout its (possibly mutated) version field names."""
        f = list(self.fields)
        if f[1] >= _VARINT_VERSION:
            head = (f[0] + bytes([f[1], f[2]]) + _varint(f[3]) + _varint(f[4]) + bytes([f[5], f[6]])
                    + struct.pack(">H", f[7]) + _varint(len(self.spec)) + self.spec + _varint(len(self.chunks)))
        else:
            head = _FIXED.pack(*f[:8], len(self.spec) & 0xFFFF) + self.spec + struct.pack(">H", len(self.chunks) & 0xFFFF)
        parts = [head, struct.pack(">I", zlib.crc32(head))]
        for ctype, stage, length, payload in self.chunks:
            length = len(payload) if length is None else length
            if f[1] >= _VARINT_VERSION:
                code = ctype if len(ctype) == 1 else (bytes([_CODES.index(ctype)]) if ctype in _CODES else b"\xff" + ctype)
                body = code + bytes([stage]) + _varint(length) + payload
            else:
                body = _CHUNK.pack(ctype, stage, length) + payload
            parts += [body, struct.pack(">I", zlib.crc32(body))]
        data = b"".join(parts) + self.tail
        return data if self.cut is None else data[: self.cut]


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out) + bytes([n])


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = data[pos]
        n |= (b & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not b & 0x80:
            return n, pos


def parse(data: bytes) -> File:
    """A well-formed file (as the codec writes it, any version), taken apart."""
    if data[8] >= _VARINT_VERSION:
        width, pos = _read_varint(data, 10)
        height, pos = _read_varint(data, pos)
        f = [data[:8], data[8], data[9], width, height, data[pos], data[pos + 1], struct.unpack_from(">H", data, pos + 2)[0]]
        slen, pos = _read_varint(data, pos + 4)
        spec = data[pos : pos + slen]
        count, pos = _read_varint(data, pos + slen)
        pos, chunks = pos + 4, []
        for _ in range(count):
            code = data[pos]
            ctype, pos = (data[pos + 1 : pos + 5], pos + 5) if code == 255 else (_CODES[code], pos + 1)
            stage = data[pos]
            length, pos = _read_varint(data, pos + 1)
            chunks.append([ctype, stage, None, data[pos : pos + length]])
            pos += length + 4
        return File(f, spec, chunks)
    f = list(_FIXED.unpack_from(data))
    slen = f[8]
    spec = data[_FIXED.size : _FIXED.size + slen]
    (count,) = struct.unpack_from(">H", data, _FIXED.size + slen)
    pos, chunks = _FIXED.size + slen + 6, []
    for _ in range(count):
        ctype, stage, length = _CHUNK.unpack_from(data, pos)
        chunks.append([ctype, stage, None, data[pos + _CHUNK.size : pos + _CHUNK.size + length]])
        pos += _CHUNK.size + length + 4
    return File(f[:8], spec, chunks)


def _int_for(rng, bits):
    top = (1 << bits) - 1
    return rng.choice([0, 1, 2, 3, 7, 8, 255, 256, 4096, 8192, 65535, top, top - 1, rng.randrange(top + 1)]) & top


def mutate(f: File, rng: random.Random, specs=()) -> str:
    """Apply one structure-aware mutation; returns its name."""
    what = rng.choice(["header", "header", "spec", "spec", "chunk", "chunk", "payload", "payload", "payload", "cut"])
    if what == "header":
        i = rng.choice([1, 2, 3, 4, 5, 6, 7])
        f.fields[i] = _int_for(rng, {1: 8, 2: 8, 3: 32, 4: 32, 5: 8, 6: 8, 7: 16}[i])
        if i in (3, 4) and rng.random() < 0.5:
            f.fields[i] = rng.choice([1, 2, 3, 5, 17, 63, 64, 65, 1000, 1 << 24, (1 << 24) + 1])
        return f"header[{i}]"
    if what == "spec":
        choice = rng.random()
        if choice < 0.4:
            f.spec = rng.choice(_ODD_SPECS).encode()
        elif choice < 0.7:
            f.spec = rng.choice(list(specs) or _ODD_SPECS).encode()
        else:  # edit a parameter value or a character
            s = bytearray(f.spec or b"x")
            s[rng.randrange(len(s))] = rng.choice(b"0123456789(),|=+xz \xff")
            f.spec = bytes(s)
        return "spec"
    if what == "chunk" and f.chunks:
        op = rng.choice(["length", "type", "stage", "swap", "dup", "drop", "insert"])
        i = rng.randrange(len(f.chunks))
        c = f.chunks[i]
        if op == "length":
            c[2] = _int_for(rng, 32) if rng.random() < 0.5 else max(0, len(c[3]) + rng.randint(-9, 9))
        elif op == "type":
            c[0] = rng.choice(_TYPES)
        elif op == "stage":
            c[1] = rng.choice([0, 1, 2, 3, 4, 5, 254, 255, rng.randrange(256)])
        elif op == "swap":
            j = rng.randrange(len(f.chunks))
            f.chunks[i], f.chunks[j] = f.chunks[j], f.chunks[i]
        elif op == "dup":
            f.chunks.insert(i, list(c))
        elif op == "drop":
            f.chunks.pop(i)
        else:
            f.chunks.insert(i, [rng.choice(_TYPES), rng.randrange(256), None, rng.randbytes(rng.randrange(40))])
        return f"chunk.{op}"
    if what == "payload" and f.chunks:
        c = f.chunks[rng.randrange(len(f.chunks))]
        p = bytearray(c[3])
        op = rng.choice(["flip", "flip", "set", "cut", "extend", "zero"])
        if op == "flip" and p:
            for _ in range(rng.choice([1, 1, 2, 8])):
                k = rng.randrange(len(p) * 8)
                p[k // 8] ^= 1 << (k % 8)
        elif op == "set" and p:
            p[rng.randrange(len(p))] = rng.choice([0, 255, rng.randrange(256)])
        elif op == "cut":
            p = p[: rng.randrange(len(p) + 1)]
        elif op == "extend":
            p += rng.randbytes(rng.choice([1, 7, 100]))
        elif op == "zero" and p:
            a, n = rng.randrange(len(p)), rng.randrange(1, 64)
            p[a : a + n] = bytes(len(p[a : a + n]))
        c[3] = bytes(p)
        return f"payload.{op}"
    f.cut = rng.randrange(len(f.bytes()) + 1)
    return "cut"


