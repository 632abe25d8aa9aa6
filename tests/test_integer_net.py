"""The integer path that chooses entropy tables (plugins/hybridcodec_learned/integer_net.py):
exact, independent of evaluation order where float is not, and close to the float network."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hybridcodec_learned")

from torch import nn  # noqa: E402

from hybridcodec_learned.entropy.densities import GaussianConditional  # noqa: E402
from hybridcodec_learned.nets.integer import ABITS, IntegerNet, table_index  # noqa: E402


def _net(seed=0, c=16):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 8, 3, padding=1)).eval()


def _latents(c=16, h=6, w=9, seed=1):
    return np.random.default_rng(seed).integers(-6, 7, (c, h, w)).astype(np.int64)  # rounded hyper-latents


def test_integer_net_follows_the_float_net():
    net, z = _net(), _latents()
    with torch.no_grad():
        ref = net(torch.from_numpy(z).double()[None].to(torch.float32))[0].double().numpy()
    out = IntegerNet.from_torch(net)(IntegerNet.quantize(z)) / 2.0 ** ABITS
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 0.05  # fixed-point rounding of three layers


def test_integer_net_is_exact_whatever_the_order_of_the_sums():
    net, z = _net(1), _latents(seed=2)
    inet = IntegerNet.from_torch(net)
    out = inet(IntegerNet.quantize(z))
    perm = np.random.default_rng(3).permutation(z.shape[0])  # same sums, other order
    layers = [list(layer) for layer in inet.layers]
    layers[0][1] = layers[0][1][:, perm]
    assert np.array_equal(IntegerNet([tuple(layer) for layer in layers])(IntegerNet.quantize(z[perm])), out)
    # the float network does not promise that: float32 and float64 disagree in the last bits
    with torch.no_grad():
        f32 = net(torch.from_numpy(z)[None].float())[0].numpy()
        f64 = net.double()(torch.from_numpy(z)[None].double())[0].numpy()
    assert not np.array_equal(f32.astype(np.float64), f64)


def test_same_indexes_with_any_torch_thread_count():
    net, z = _net(2), _latents(seed=4)
    outs = []
    for threads in (1, 2):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            outs.append(IntegerNet.from_torch(net)(IntegerNet.quantize(z)))
        finally:
            torch.set_num_threads(before)
    assert np.array_equal(outs[0], outs[1])


def test_table_index_from_fixed_point_log_scales():
    table = GaussianConditional().scales.numpy()
    logs = np.log(np.array([0.05, 0.11, 0.2, 1.0, 7.5, 256.0, 1e4]))
    idx = table_index(np.floor(logs * 2.0 ** ABITS), table)
    assert list(idx) == sorted(idx) and idx[0] == 0 and idx[-1] == len(table) - 1
    ref = GaussianConditional().indexes(np.exp(logs))
    assert np.abs(idx.astype(int) - ref).max() <= 1
