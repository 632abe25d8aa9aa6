"""Long-running decoder fuzz: mutate valid files (with CRCs repaired, so the checks
behind them are reached) and require that decode only ever raises CodecError.

    python benchmarks/fuzz_decode.py [--iterations 100000] [--seed 0] [--learned]

``--learned`` adds the plugin's stages (``lifting``, ``ctxrans``, the ``cnn``
post-filter and its side data), whose files are mutated the same way; any chunk of a
file may be the one mutated.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import hybridcodec
from hybridcodec.container import Chunk, read_container, write_container

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from golden_inputs import pattern  # noqa: E402

SPECS = ["baseline", "ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman", "dct(block=4)|jpegq|huffman",
         "wavelet", "dct-arith", "lossless", "ycbcr|dwt(wavelet=db2,mode=symmetric)|deadzone|arith"]


# the learned stages' decoders (plugin hybridcodec-learned); `cnn` runs torch, so its seeds are few
LEARNED_SPECS = ["lifting", "ycbcr(subsampling=444)|dwt|deadzone|ctxrans", "ycbcr|lifting|deadzone|ctxrans",
                 "ycbcr(subsampling=444)|lifting-joint|deadzone|ctxrans",
                 "lifting+cnn", "wavelet+cnn"]


def seeds(specs=SPECS):
    out = []
    for spec in specs:
        for shape, q in (((16, 24, 3), 80), ((9, 7, 1), 30), ((40, 33, 3), 95)):
            out.append(hybridcodec.encode(pattern(*shape), pipeline=spec, quality=q))
    return out


def mutate(rng, data: bytes) -> bytes:
    header, chunks = read_container(data)
    which = int(rng.integers(len(chunks))) if rng.integers(4) == 0 else 0  # mostly the coded data
    p = bytearray(chunks[which].payload)
    how = rng.integers(5)
    if how == 0:
        for _ in range(rng.integers(1, 6)):
            if p:
                p[rng.integers(len(p))] = rng.integers(256)
    elif how == 1:
        p = p[: rng.integers(max(len(p), 1))]
    elif how == 2:
        p += bytes(rng.integers(0, 256, rng.integers(1, 30), dtype=np.uint8))
    elif how == 3 and p:
        p[rng.integers(len(p))] ^= 1 << rng.integers(8)
    else:
        header.width = int(rng.integers(1, 200))
        header.height = int(rng.integers(1, 200))
    chunks[which] = Chunk(chunks[which].type, chunks[which].stage, bytes(p))
    return write_container(header, chunks)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--learned", action="store_true", help="also the plugin's stages (needs hybridcodec-learned)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    files = seeds(SPECS + LEARNED_SPECS if args.learned else SPECS)
    for data in files:  # load weights and compile before anything is timed
        hybridcodec.decode(data)
    ok = errors = 0
    slowest = (0.0, -1)
    t = time.perf_counter()
    for i in range(args.iterations):
        data = mutate(rng, files[rng.integers(len(files))])
        t1 = time.perf_counter()
        try:
            hybridcodec.decode(data)
            ok += 1
        except hybridcodec.CodecError:
            errors += 1
        slowest = max(slowest, (time.perf_counter() - t1, i))
    print(f"{args.iterations} mutated files in {time.perf_counter() - t:.0f} s: "
          f"{ok} decoded, {errors} CodecError, nothing else; slowest {slowest[0]:.3f} s (iteration {slowest[1]})")


if __name__ == "__main__":
    main()
