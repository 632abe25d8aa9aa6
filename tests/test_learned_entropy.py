"""Learned entropy models (plugins/hybridcodec_learned/entropy_models.py): integer
tables built once, coded exactly by rANS, and the rate the models estimate for
training matches the bytes the coder writes (skipped without torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hybridcodec_learned")

from hybridcodec.entropy import rans  # noqa: E402
from hybridcodec_learned.entropy.densities import FactorizedDensity, GaussianConditional  # noqa: E402


def test_gaussian_conditional_codes_exactly_at_the_estimated_rate():
    gc = GaussianConditional()
    tables = gc.tables()
    rng = np.random.default_rng(0)
    scales = np.exp(rng.uniform(np.log(0.2), np.log(40), 50_000))
    idx = gc.indexes(scales)
    table_scales = gc.scales.numpy()[idx]
    y = np.rint(rng.normal(0, table_scales)).astype(np.int32)
    y[:5] = [10_000, -10_000, 0, 1, -1]  # far outside their tables: escapes
    data = rans.encode(y, idx, tables)
    out, status = rans.decode(data, idx, tables)
    assert status == rans.OK and np.array_equal(out, y)
    p = gc.likelihood(torch.from_numpy(y[5:]).double(), torch.zeros(1, dtype=torch.float64),
                      torch.from_numpy(table_scales[5:]))
    estimated = float(-torch.log2(p).sum())
    assert abs(8 * len(data) - estimated) / estimated < 0.02  # estimated vs actual bits


def test_scale_indexes_are_monotone_and_clipped():
    gc = GaussianConditional()
    s = np.array([0.0, 0.05, 0.11, 0.5, 3.0, 255.0, 1e6])
    idx = gc.indexes(s)
    assert list(idx) == sorted(idx) and idx[0] == 0 and idx[-1] == len(gc.scales) - 1


def test_factorized_density_tables_code_what_it_estimates():
    torch.manual_seed(0)
    fd = FactorizedDensity(6)
    opt = torch.optim.Adam(fd.parameters(), lr=0.05)
    rng = np.random.default_rng(1)
    train = torch.from_numpy(rng.laplace(0, [1, 2, 4, 8, 0.5, 3], (2000, 6)).T.reshape(1, 6, 40, 50)).float()
    for _ in range(150):  # fit the densities to noisy samples, as training does
        opt.zero_grad()
        loss = -torch.log2(fd.likelihood(train + torch.rand_like(train) - 0.5)).mean()
        loss.backward()
        opt.step()
    tables = fd.tables()
    z = torch.round(train)
    sym = z[0].reshape(6, -1).numpy().astype(np.int32)
    idx = np.repeat(np.arange(6, dtype=np.int32), sym.shape[1])
    data = rans.encode(sym.ravel(), idx, tables)
    out, status = rans.decode(data, idx, tables)
    assert status == rans.OK and np.array_equal(out, sym.ravel())
    with torch.no_grad():
        estimated = float(-torch.log2(fd.likelihood(z)).sum())
    assert abs(8 * len(data) - estimated) / estimated < 0.03
    wider = [int(tables.lengths[c]) for c in (4, 0, 1, 2, 3)]  # scales 0.5 < 1 < 2 < 4 < 8
    assert wider == sorted(wider)
