"""Structure-aware fuzzing of the .hcx decoder, as an attacker would: valid files of
every pipeline the registry offers are parsed into header fields and chunks, mutated
(header integers, spec strings with extreme parameters, chunk lengths / types /
stages / order / duplicates / drops, payload bits), written back with every CRC
recomputed so that the mutation reaches the stages, and fed to ``decode`` (every
``reduce``, with and without ``allow_truncated``), ``info``, ``metadata`` and
Pillow's ``open`` + ``load`` / ``verify`` / ``thumbnail``.

Allowed outcomes: a correct image, ``CodecError``, or the exceptions Pillow's
conventions call for (``OSError``, ``SyntaxError``, ``DecompressionBombError``).
Every case is timed and the process's peak memory watched.  Case ``i`` of seed ``s``
is the same on every run (``python tests/fuzz/run_long.py --seed s --case i``).
"""

from __future__ import annotations

import io
import random
import resource
import struct
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

import hybridcodec
from hybridcodec import CodecError, Pipeline, available_stages

MAGIC = b"\x89HCX\r\n\x1a\n"
_FIXED = struct.Struct(">8sBBIIBBHH")
_CHUNK = struct.Struct(">4sBI")
_TYPES = [b"DATA", b"SIDE", b"ALPH", b"eXIf", b"iCCP", b"XXXX", b"data", b"\0\0\0\0"]
_ODD_SPECS = [
    "dwt(levels=8)|deadzone|arith", "int53(levels=8)|arith", "ycbcr|dwt(levels=8,wavelet=haar)|deadzone|arith",
    "dct(block=16)|jpegq|huffman", "dct(block=4)|deadzone|arith", "ycbcr|dct|jpegq|huffman|cnn|cnn",
    "ycbcr|ycbcr|dct|jpegq|huffman", "rct|int53|rans", "dwt(wavelet=dmey)|deadzone|arith", "nope|arith",
    "dwt(levels=99)|deadzone|arith", "dct(block=7)|jpegq|huffman", "", "|", "((", "a" * 300,
    "ycbcr(subsampling=420)|dwt(wavelet=bior6.8,mode=periodization)|deadzone(chroma=10)|arith",
    "baseline+cnn", "wavelet+cnn", "lossless", "dct-arith", "rct|dwt|deadzone(rounding=0,recon=1)|arith",
]


def _stage_choices(kind):
    return [n for n, c in available_stages().items() if c.kind == kind and not n.startswith("test-")]


@lru_cache(maxsize=1)
def pipelines() -> tuple[str, ...]:
    """Every preset, every colour|transform|quantizer|entropy combination of the
    registry's stages (default parameters) that validates, and +cnn when installed."""
    out = list(hybridcodec.PRESETS)
    for c in [None] + _stage_choices("colour"):
        for t in _stage_choices("transform"):
            for q in [None] + _stage_choices("quantizer"):
                for e in _stage_choices("entropy"):
                    spec = "|".join(x for x in (c, t, q, e) if x)
                    try:
                        Pipeline(spec).layouts(8, 8, 3)
                    except CodecError:
                        continue
                    out.append(spec)
    if "cnn" in available_stages():
        out += ["baseline+cnn", "wavelet+cnn"]
    return tuple(dict.fromkeys(out))


def _image(h, w, c, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 80 * np.sin(x / 3.0 + seed) * np.cos(y / 4.0)
    img = np.clip(base[:, :, None] + rng.normal(0, 12, (h, w, c)), 0, 255).astype(np.uint8)
    return img[:, :, 0] if c == 1 else img


@lru_cache(maxsize=1)
def seeds() -> tuple[bytes, ...]:
    """Valid files: every pipeline at a few sizes and modes, some with EXIF/ICC."""
    out = []
    for i, spec in enumerate(pipelines()):
        for j, (h, w, c) in enumerate([(1, 1, 3), (7, 5, 1), (16, 16, 3), (24, 33, 4), (9, 40, 3)]):
            kw = {"exif": b"Exif\0\0II*\0" + bytes(8), "icc_profile": b"icc" * 5} if (i + j) % 3 == 0 else {}
            try:
                out.append(hybridcodec.encode(_image(h, w, c, i + j), pipeline=spec, quality=(10, 75, 95)[j % 3],
                                              **kw))
            except CodecError:
                pass  # a pipeline that cannot code this mode (e.g. lossless stages and grey)
    for i, spec in enumerate(("lossless", "wavelet", "baseline", "dct-arith")):  # 16-bit files
        for h, w, c in [(9, 7, 3), (16, 12, 1), (10, 14, 4)]:
            img = _image(h, w, c, i).astype(np.uint16) * 257 + np.uint16(i * 31)
            out.append(hybridcodec.encode(img, pipeline=spec, quality=60))
    return tuple(out)


# -- parsing and writing files, attacker style (CRCs always recomputed) -------------------

@dataclass
class File:
    fields: list  # magic, version, flags, width, height, channels, bits, quality, (spec length)
    spec: bytes
    chunks: list = field(default_factory=list)  # [type, stage, declared length or None, payload]
    tail: bytes = b""
    cut: int | None = None

    def bytes(self) -> bytes:
        f = list(self.fields)
        head = _FIXED.pack(*f[:8], len(self.spec) & 0xFFFF) + self.spec + struct.pack(">H", len(self.chunks) & 0xFFFF)
        parts = [head, struct.pack(">I", zlib.crc32(head))]
        for ctype, stage, length, payload in self.chunks:
            body = _CHUNK.pack(ctype, stage, len(payload) if length is None else length) + payload
            parts += [body, struct.pack(">I", zlib.crc32(body))]
        data = b"".join(parts) + self.tail
        return data if self.cut is None else data[: self.cut]


def parse(data: bytes) -> File:
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


def mutate(f: File, rng: random.Random) -> str:
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
            f.spec = rng.choice(pipelines()).encode()
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


# -- running one case ---------------------------------------------------------------------

PILLOW_ALLOWED = (OSError, SyntaxError)


def make_case(seed: int, index: int) -> tuple[bytes, str, str]:
    """The file, the mutations applied and the target of case ``index``."""
    rng = random.Random(seed * 1_000_003 + index)
    pool = seeds()
    f = parse(pool[rng.randrange(len(pool))])
    done = [mutate(f, rng) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    target = rng.choice(["decode1", "decode2", "decode4", "decode8", "decode1cut", "decode4cut", "info",
                         "pillow.load", "pillow.verify", "pillow.thumbnail", "pillow.loadcut"])
    return f.bytes(), "+".join(done), target


def run_target(data: bytes, target: str) -> str:
    """Run one target; returns the outcome class or raises a disallowed exception."""
    if target.startswith("decode"):
        k = int(target[6])
        try:
            out = hybridcodec.decode(data, reduce=k, allow_truncated=target.endswith("cut"))
        except CodecError:
            return "CodecError"
        bits = data[19]  # the header's bits field (decode accepted the header)
        assert out.dtype == (np.uint16 if bits == 16 else np.uint8) and out.ndim in (2, 3), "decode returned a bad array"
        return "image"
    if target == "info":
        try:
            hybridcodec.info(data)
            hybridcodec.metadata(data)
        except CodecError:
            return "CodecError"
        return "info"
    from PIL import Image, ImageFile

    hybridcodec.register_pillow()
    ImageFile.LOAD_TRUNCATED_IMAGES = target.endswith("cut")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=["HCX"]) as im:
                if target == "pillow.verify":
                    im.verify()
                elif target == "pillow.thumbnail":
                    try:
                        im.thumbnail((4, 4))
                    except ValueError as exc:
                        # Pillow cannot resample 16-bit grey (its own PNG plugin's I;16 images
                        # raise the same); anything else is a finding
                        if im.mode != "I;16":
                            raise
                        return f"pillow:ValueError({im.mode} resample: {exc})"
                else:
                    im.load()
    except PILLOW_ALLOWED + (Image.DecompressionBombError,) as exc:
        return f"pillow:{type(exc).__name__}"
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    return "image"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class Stats:
    cases: int = 0
    outcomes: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # (seed, index, target, mutations, error)
    slowest: tuple = (0.0, None)
    peak_mb: float = 0.0
    peak_case: object = None

    def merge(self, other: "Stats") -> None:
        self.cases += other.cases
        for k, v in other.outcomes.items():
            self.outcomes[k] = self.outcomes.get(k, 0) + v
        self.failures += other.failures
        self.slowest = max(self.slowest, other.slowest, key=lambda t: t[0])
        if other.peak_mb > self.peak_mb:
            self.peak_mb, self.peak_case = other.peak_mb, other.peak_case


def run_cases(seed: int, start: int, stop: int, progress=None) -> Stats:
    """Run cases ``start..stop-1`` of ``seed`` in this process."""
    stats = Stats()
    seeds()  # build the seed files before timing anything
    base = peak_rss_mb()
    for i in range(start, stop):
        data, muts, target = make_case(seed, i)
        t0 = time.perf_counter()
        try:
            outcome = run_target(data, target)
        except Exception as exc:  # noqa: BLE001 - every other exception is a finding
            outcome = "DISALLOWED"
            stats.failures.append((seed, i, target, muts, f"{type(exc).__name__}: {exc}"[:300]))
        dt = time.perf_counter() - t0
        stats.cases += 1
        stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1
        if dt > stats.slowest[0]:
            stats.slowest = (dt, (seed, i, target, muts))
        peak = peak_rss_mb() - base
        if peak > stats.peak_mb:
            stats.peak_mb, stats.peak_case = peak, (seed, i, target, muts)
        if progress is not None:
            progress(i)
    return stats


if __name__ == "__main__":  # python tests/fuzz/harness.py SEED INDEX: replay one case
    s, i = int(sys.argv[1]), int(sys.argv[2])
    data, muts, target = make_case(s, i)
    print(f"case {s}/{i}: {target} after {muts}, {len(data)} bytes")
    print(run_target(data, target))
