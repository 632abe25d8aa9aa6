"""Decode speed of the probability-table coder on a Kodak-sized latent tensor, beside
constriction's vectorised ANS (when installed) on the same symbols and tables.

    python benchmarks/rans.py [--symbols 400000] [--repeat 5]

The symbols: 400 k values drawn from discretised Gaussians whose scales vary per
symbol (as a hyperprior's would), coded with a table of 64 scales (CompressAI's
scale-table layout: one integer CDF per scale, the symbol's table chosen by index).
Prints bits per symbol and best-of-``--repeat`` times for encode and decode.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import norm

from hybridcodec import SymbolTables
from hybridcodec.entropy import rans


def gaussian_tables(n_scales=64, lo=0.11, hi=64.0):
    scales = np.exp(np.linspace(np.log(lo), np.log(hi), n_scales))
    half = np.ceil(scales.max() * 6).astype(int)
    ks = np.arange(-half, half + 1)
    pmf = norm.cdf((ks + 0.5) / scales[:, None]) - norm.cdf((ks - 0.5) / scales[:, None])
    return scales, ks, pmf, SymbolTables.from_pmfs(pmf, offsets=np.full(n_scales, -half))


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    scales, ks, pmf, tables = gaussian_tables()
    idx = rng.choice(len(scales) // 2, args.symbols, p=np.linspace(2, 0.1, len(scales) // 2) /
                     np.linspace(2, 0.1, len(scales) // 2).sum()).astype(np.int32)
    sym = np.rint(rng.normal(0, scales[idx])).astype(np.int32)
    rans.decode(rans.encode(sym[:100], idx[:100], tables), idx[:100], tables)  # JIT warm-up
    t_enc, data = best(lambda: rans.encode(sym, idx, tables), args.repeat)
    t_dec, (out, status) = best(lambda: rans.decode(data, idx, tables), args.repeat)
    assert status == rans.OK and np.array_equal(out, sym)
    n = args.symbols
    print(f"{n} symbols, {len(scales)} tables of {tables.cdfs.shape[1] - 2} symbols + escape")
    print(f"hybridcodec rans (numba): {8 * len(data) / n:.4f} bits/symbol, encode {1e3 * t_enc:.1f} ms "
          f"({1e9 * t_enc / n:.1f} ns/symbol), decode {1e3 * t_dec:.1f} ms ({1e9 * t_dec / n:.1f} ns/symbol)")
    try:
        import constriction
    except ImportError:
        print("constriction: not installed (pip install constriction) - skipped")
        return
    # constriction's categorical family takes one float probability row per symbol
    family = constriction.stream.model.Categorical(perfect=False)
    probs = (np.diff(tables.cdfs, axis=1) / 65536.0)[idx]
    shifted = np.clip(sym - int(tables.offsets[0]), 0, probs.shape[1] - 1).astype(np.int32)

    def c_enc():
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(shifted, family, probs)
        return coder.get_compressed()

    t_cenc, comp = best(c_enc, args.repeat)
    t_cdec, cout = best(lambda: constriction.stream.stack.AnsCoder(comp).decode(family, probs), args.repeat)
    assert np.array_equal(cout, shifted)
    print(f"constriction {constriction.__version__ if hasattr(constriction, '__version__') else ''} Categorical "
          f"(rows gathered per symbol, {probs.nbytes / 1e6:.0f} MB): {32 * len(comp) / n:.4f} bits/symbol, "
          f"encode {1e3 * t_cenc:.1f} ms, decode {1e3 * t_cdec:.1f} ms")
    gauss = constriction.stream.model.QuantizedGaussian(int(ks[0]), int(ks[-1]))
    means, stds = np.zeros(n), scales[idx].astype(np.float64)

    def g_enc():
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(sym, gauss, means, stds)
        return coder.get_compressed()

    t_genc, gcomp = best(g_enc, args.repeat)
    t_gdec, gout = best(lambda: constriction.stream.stack.AnsCoder(gcomp).decode(gauss, means, stds), args.repeat)
    assert np.array_equal(gout, sym)
    print(f"constriction QuantizedGaussian (float model, no integer tables): {32 * len(gcomp) / n:.4f} "
          f"bits/symbol, encode {1e3 * t_genc:.1f} ms, decode {1e3 * t_gdec:.1f} ms")


if __name__ == "__main__":
    main()
