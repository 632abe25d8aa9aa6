"""Long-running decoder fuzz: mutate valid files (with CRCs repaired, so the checks
behind them are reached) and require that decode only ever raises CodecError.

    python benchmarks/fuzz_decode.py [--iterations 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import hybridcodec
from hybridcodec._container import Chunk, read_container, write_container

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from golden_inputs import pattern  # noqa: E402

SPECS = ["baseline", "ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman", "dct(block=4)|jpegq|huffman",
         "wavelet", "dct-arith", "lossless", "ycbcr|dwt(wavelet=db2,mode=symmetric)|deadzone|arith"]


def seeds():
    out = []
    for spec in SPECS:
        for shape, q in (((16, 24, 3), 80), ((9, 7, 1), 30), ((40, 33, 3), 95)):
            out.append(hybridcodec.encode(pattern(*shape), pipeline=spec, quality=q))
    return out


def mutate(rng, data: bytes) -> bytes:
    header, chunks = read_container(data)
    p = bytearray(chunks[0].payload)
    how = rng.integers(5)
    if how == 0:
        for _ in range(rng.integers(1, 6)):
            p[rng.integers(len(p))] = rng.integers(256)
    elif how == 1:
        p = p[: rng.integers(len(p))]
    elif how == 2:
        p += bytes(rng.integers(0, 256, rng.integers(1, 30), dtype=np.uint8))
    elif how == 3:
        i = rng.integers(len(p))
        p[i] ^= 1 << rng.integers(8)
    else:
        header.width = int(rng.integers(1, 200))
        header.height = int(rng.integers(1, 200))
    return write_container(header, [Chunk(chunks[0].type, chunks[0].stage, bytes(p))] + chunks[1:])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    files = seeds()
    ok = errors = 0
    t = time.perf_counter()
    for i in range(args.iterations):
        data = mutate(rng, files[rng.integers(len(files))])
        try:
            hybridcodec.decode(data)
            ok += 1
        except hybridcodec.CodecError:
            errors += 1
    print(f"{args.iterations} mutated files in {time.perf_counter() - t:.0f} s: "
          f"{ok} decoded, {errors} CodecError, nothing else")


if __name__ == "__main__":
    main()
