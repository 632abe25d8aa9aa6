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
import sys
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

import hybridcodec
from hybridcodec._container import read_header
from hybridcodec import CodecError, Pipeline, available_stages

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutate import File, mutate, parse  # noqa: E402,F401  (File and parse: for atheris_decode.py)

def _stage_choices(kind):
    return [n for n, c in available_stages().items() if c.kind == kind and not n.startswith("test-")]


# The learned stages are fuzzed like the rest since their decode work is bounded by the
# file (docs/FORMAT.md, "Work": a header mutated to a size its bytes cannot pay for is
# refused before any network runs).  The entropy stage ctxrans too, since the rule counts
# its contexts' work (it took 8.9 s and 2.3 GB for a seed whose header was mutated to a
# larger size before): it codes the classical transforms' coefficients here (in every
# combination, as arith does) and lifting-joint's.
_LEARNED: tuple = ()
# the learned transforms in their presets and a few more pipelines each, not in every
# combination (each case that reaches a network costs ~10 ms more than a classical one)
_LEARNED_TRANSFORMS = ("learned", "dcnn", "lifting", "lifting-joint")
_LEARNED_PIPELINES = ("learned|rans", "ycbcr|lifting-joint|deadzone|arith", "ycbcr|lifting-joint|deadzone|ctxrans")


@lru_cache(maxsize=1)
def pipelines() -> tuple[str, ...]:
    """Every preset, every colour|transform|quantizer|entropy combination of the
    registry's stages (default parameters) that validates, and +cnn when installed."""
    out = [p for p in hybridcodec.PRESETS if p not in _LEARNED]
    for c in [None] + _stage_choices("colour"):
        for t in (t for t in _stage_choices("transform") if t not in _LEARNED + _LEARNED_TRANSFORMS):
            for q in [None] + _stage_choices("quantizer"):
                for e in (e for e in _stage_choices("entropy") if e not in _LEARNED):
                    spec = "|".join(x for x in (c, t, q, e) if x)
                    try:
                        Pipeline(spec).layouts(8, 8, 3)
                    except CodecError:
                        continue
                    out.append(spec)
    out += ["wavelet+alf", "baseline+alf", "lossless+alf"]  # the classical post-filter, with its side data
    if "cnn" in available_stages():
        out += list(_LEARNED_PIPELINES) + ["baseline+cnn", "wavelet+cnn"]  # hybrid has lifting+cnn in it
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


# -- running one case ---------------------------------------------------------------------

PILLOW_ALLOWED = (OSError, SyntaxError)


def make_case(seed: int, index: int) -> tuple[bytes, str, str]:
    """The file, the mutations applied and the target of case ``index``."""
    rng = random.Random(seed * 1_000_003 + index)
    pool = seeds()
    f = parse(pool[rng.randrange(len(pool))])
    done = [mutate(f, rng, pipelines()) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
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
        bits = read_header(data)[0].bits  # (decode accepted the header)
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
    slowest: tuple = (0.0, None)  # wall seconds: for reports (a busy machine stretches it)
    heaviest_cpu: tuple = (0.0, None)  # CPU seconds of this process: what the tests bound
    peak_mb: float = 0.0
    peak_case: object = None

    def merge(self, other: "Stats") -> None:
        self.cases += other.cases
        for k, v in other.outcomes.items():
            self.outcomes[k] = self.outcomes.get(k, 0) + v
        self.failures += other.failures
        self.slowest = max(self.slowest, other.slowest, key=lambda t: t[0])
        self.heaviest_cpu = max(self.heaviest_cpu, other.heaviest_cpu, key=lambda t: t[0])
        if other.peak_mb > self.peak_mb:
            self.peak_mb, self.peak_case = other.peak_mb, other.peak_case


_WARM: list = []  # [True] once this process has warmed up


def warm_up() -> None:
    """Decode every seed file whole, reduced and cut short, untimed: the first run after
    an install compiles the numba kernels (seconds), which is no decoder's per-file cost.
    Once a process: a pool worker runs chunk after chunk (it took half of the CI
    session's time when every chunk of 500 cases warmed up again)."""
    if _WARM:
        return
    _WARM.append(True)
    deeper = []  # the seeds are too small for a wavelet level: add one file per pipeline that has some
    for i, spec in enumerate(pipelines()):
        try:
            deeper.append(hybridcodec.encode(_image(40, 48, 3, i), pipeline=spec, quality=75))
        except CodecError:
            pass
    for data in seeds() + tuple(deeper):
        for target in ("decode1", "decode4", "decode1cut", "pillow.load"):
            try:
                run_target(data[: len(data) * 3 // 4] if target.endswith("cut") else data, target)
            except Exception:  # noqa: BLE001 - findings are for the timed cases
                pass


def run_cases(seed: int, start: int, stop: int, progress=None) -> Stats:
    """Run cases ``start..stop-1`` of ``seed`` in this process."""
    stats = Stats()
    seeds()  # build the seed files before timing anything
    warm_up()
    base = peak_rss_mb()
    for i in range(start, stop):
        data, muts, target = make_case(seed, i)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            outcome = run_target(data, target)
        except Exception as exc:  # noqa: BLE001 - every other exception is a finding
            outcome = "DISALLOWED"
            stats.failures.append((seed, i, target, muts, f"{type(exc).__name__}: {exc}"[:300]))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        stats.cases += 1
        stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1
        if dt > stats.slowest[0]:
            stats.slowest = (dt, (seed, i, target, muts))
        if cpu > stats.heaviest_cpu[0]:
            stats.heaviest_cpu = (cpu, (seed, i, target, muts))
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
