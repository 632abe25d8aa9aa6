"""Coverage-guided fuzzing with atheris (libFuzzer), where it installs
(``pip install atheris``), beside the structure-aware harness: atheris mutates bytes
and keeps what reaches new code; the valid seed files of every pipeline start its
corpus.  CRCs are recomputed on each input so that mutations get past them.

    python tests/fuzz/atheris_decode.py -atheris_runs=200000 [libFuzzer options]

A disallowed exception (anything but CodecError, or Pillow's OSError/SyntaxError/
DecompressionBombError) stops the run with the input saved by libFuzzer.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import atheris  # noqa: E402

import harness  # noqa: E402  (not instrumented at import: numba must read the kernels' own bytecode)

_TARGETS = ["decode1", "decode2", "decode8", "decode4cut", "info", "pillow.load", "pillow.verify"]


def _fix_crcs(data: bytes) -> bytes:
    try:
        return harness.parse(data).bytes()
    except Exception:  # not parseable as a container: feed it as it is
        return data


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target = _TARGETS[data[0] % len(_TARGETS)]
    harness.run_target(_fix_crcs(data[1:]), target)


def _instrument_hybridcodec() -> None:
    """Coverage for hybridcodec's plain Python functions and methods (numba kernels keep
    their bytecode; instrumenting every loaded module, torch included, takes minutes)."""
    import inspect
    import types

    for name, mod in list(sys.modules.items()):
        if not name.startswith("hybridcodec") or mod is None:
            continue
        for key, obj in list(vars(mod).items()):
            if isinstance(obj, types.FunctionType) and obj.__module__ == name:
                setattr(mod, key, atheris.instrument_func(obj))
            elif inspect.isclass(obj) and obj.__module__ == name:
                for attr, fn in list(vars(obj).items()):
                    if isinstance(fn, types.FunctionType):
                        setattr(obj, attr, atheris.instrument_func(fn))


def main() -> None:
    corpus = Path(__file__).resolve().parent / "corpus"
    corpus.mkdir(exist_ok=True)
    if not any(corpus.glob("seed*")):
        for i, seed in enumerate(harness.seeds()):
            (corpus / f"seed{i:04d}").write_bytes(bytes([i % len(_TARGETS)]) + seed)
    for i, seed in enumerate(harness.seeds()):  # compile every kernel variant before instrumenting
        for target in _TARGETS:
            harness.run_target(seed, target)
    _instrument_hybridcodec()
    atheris.Setup(sys.argv + [str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
