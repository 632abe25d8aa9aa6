"""Exact integer evaluation of a small convolutional network (the path that chooses the
entropy coder's tables), so that encoder and decoder pick the same table for every
symbol on any CPU, thread count, BLAS or convolution algorithm (CompressAI's issues
#279 and #309: decoders that differ by one table entry produce garbage).

A float network of 3x3 or 1x1 convolutions (stride 1, zero padding), ReLUs and 2x
nearest upsampling is converted once (``IntegerNet.from_torch``) to fixed point: weights
``round(w * 2**WBITS)``, activations ``round(x * 2**ABITS)``, biases at the scale of
the products; every layer is an exact integer matrix product followed by an arithmetic
shift.  The product runs in float64 (BLAS) when a bound on its terms shows that every
partial sum is an integer below 2**53 -- then float64 is exact whatever the order of
the sums, the FMA or the thread count -- and in int64 otherwise (numpy's integer matmul,
exact but about 20x slower).  The result is an integer
function of integer inputs (Ballé et al. 2019, integer networks, in its simplest
form), so its outputs, and the table indexes taken from them, are the same
everywhere.  The price: the fixed-point rounding of each layer (measured in the tests).
"""

from __future__ import annotations

import numpy as np

__all__ = ["IntegerNet", "WBITS", "ABITS", "table_index"]

WBITS, ABITS = 16, 8  # fractional bits of weights and of activations


class IntegerNet:
    """Layers as ``("conv", w_int (O x C x k x k, k = 1 or 3), b_int (O,))``, ``("relu",)`` or
    ``("up2",)``; inputs and outputs are int64 fixed point with ABITS fractional bits."""

    def __init__(self, layers):
        self.layers = layers

    @classmethod
    def from_torch(cls, module) -> "IntegerNet":
        """Quantize a ``torch.nn.Sequential`` of Conv2d (3x3 with padding 1, or 1x1;
        stride 1), ReLU and Upsample(scale_factor=2, mode="nearest")."""
        from torch import nn

        layers = []
        for m in module:
            if isinstance(m, nn.Conv2d):
                k = m.kernel_size[0]
                if (m.kernel_size not in ((3, 3), (1, 1)) or m.stride != (1, 1) or m.padding != (k // 2, k // 2)
                        or m.groups != 1):
                    raise ValueError("IntegerNet takes 3x3 (padding 1) or 1x1 convolutions with stride 1")
                w = np.rint(m.weight.detach().double().numpy() * 2.0 ** WBITS).astype(np.int64)
                b = np.zeros(w.shape[0]) if m.bias is None else m.bias.detach().double().numpy()
                layers.append(("conv", w, np.rint(b * 2.0 ** (WBITS + ABITS)).astype(np.int64)))
            elif isinstance(m, nn.ReLU):
                layers.append(("relu",))
            elif isinstance(m, nn.Upsample) and m.scale_factor in (2, 2.0) and m.mode == "nearest":
                layers.append(("up2",))
            else:
                raise ValueError(f"IntegerNet cannot take {type(m).__name__}")
        return cls(layers)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run on ``x``: int64, C x H x W, fixed point with ABITS fractional bits."""
        x = np.asarray(x, np.int64)
        for layer in self.layers:
            if layer[0] == "conv":
                x = _conv(x, layer[1], layer[2])
            elif layer[0] == "relu":
                x = np.maximum(x, 0)
            else:
                x = x.repeat(2, axis=1).repeat(2, axis=2)
        return x

    @property
    def scale(self) -> int:
        """How many output rows (and columns) each input row (column) gives."""
        return 2 ** sum(layer[0] == "up2" for layer in self.layers)

    def rows(self, x: np.ndarray, a: int, b: int) -> np.ndarray:
        """The output rows that input rows ``a:b`` of ``x`` give, exactly as the whole
        ``self(x)`` has them: each layer runs on the rows the layers after it need (a
        3x3 convolution one more each side, at its own resolution), so a large input
        goes through the network a strip at a time for little more than its rows' work."""
        sizes, size = [], x.shape[1]
        for layer in self.layers:  # rows of each layer's input
            sizes.append(size)
            size = size * 2 if layer[0] == "up2" else size
        inputs, lo, hi = [], a * self.scale, b * self.scale
        for layer, size in zip(reversed(self.layers), reversed(sizes)):  # the rows each input must hold
            if layer[0] == "up2":
                lo, hi = lo // 2, -(-hi // 2)
            elif layer[0] == "conv":
                reach = layer[1].shape[-1] // 2
                lo, hi = max(0, lo - reach), min(size, hi + reach)
            inputs.append((lo, hi))
        inputs.reverse()
        outputs = inputs[1:] + [(a * self.scale, b * self.scale)]
        lo, hi = inputs[0] if inputs else (a, b)
        y, at = np.asarray(x[:, lo:hi], np.int64), lo
        for layer, (lo, hi) in zip(self.layers, outputs):
            if layer[0] == "conv":
                y = _conv(y, layer[1], layer[2])  # rows at a strip's edge that are not the image's are
            elif layer[0] == "relu":  # wrong (zero padding) and cut off here: not among the rows kept
                y = np.maximum(y, 0)
            else:
                y, at = y.repeat(2, axis=1).repeat(2, axis=2), at * 2
            y, at = y[:, lo - at : hi - at], lo
        return y

    @staticmethod
    def quantize(x: np.ndarray) -> np.ndarray:
        """Float input to fixed point (rounded; exact for the integer latents it is meant for)."""
        return np.rint(np.asarray(x, np.float64) * 2.0 ** ABITS).astype(np.int64)


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    c, h, wd = x.shape
    k = w.shape[-1]
    if w.shape[1] != c:
        raise ValueError(f"layer expects {w.shape[1]} channels, got {c}")
    bound = int(np.abs(x).max(initial=0)) * int(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max())
    bound += int(np.abs(b).max(initial=0))
    if bound >= 1 << 62:
        raise ValueError("IntegerNet: a layer could overflow int64; the activations are out of range")
    exact = bound < 1 << 53  # every partial sum is an integer float64 holds exactly: any order gives the same
    kind = np.float64 if exact else np.int64
    if k == 1:
        acc = w.reshape(w.shape[0], c).astype(kind) @ x.reshape(c, h * wd).astype(kind)
    else:  # the nine taps one at a time: a shifted copy of the input each, not all nine at once
        p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
        acc = None
        for i in range(3):
            for j in range(3):
                part = w[:, :, i, j].astype(kind) @ p[:, i : i + h, j : j + wd].reshape(c, -1).astype(kind)
                acc = part if acc is None else acc.__iadd__(part)
    acc = acc.astype(np.int64) + b[:, None]
    # floor division by 2**WBITS: an arithmetic shift, exact on int64
    return (acc >> WBITS).reshape(w.shape[0], h, wd)


def table_index(log_scale: np.ndarray, table_scales: np.ndarray) -> np.ndarray:
    """Gaussian table index from a fixed-point natural-log scale (integers with ABITS
    fractional bits): the number of table scales strictly below exp(log_scale), found by
    comparing integers with thresholds ``floor(log(s) * 2**ABITS)`` computed once from
    the table (a float step, but on the table alone, the same for encoder and decoder
    that ship the same table)."""
    thresholds = np.floor(np.log(np.asarray(table_scales, np.float64)) * 2.0 ** ABITS).astype(np.int64)
    return np.clip(np.searchsorted(thresholds, np.asarray(log_scale, np.int64), side="left"), 0,
                   len(thresholds) - 1).astype(np.int32)
