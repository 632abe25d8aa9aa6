"""Inputs of the golden-bitstream tests: integer formulas only, so they never change
with a library's random-number stream."""

import numpy as np


def pattern(h, w, c):
    y, x, ch = np.mgrid[0:h, 0:w, 0:c]
    v = (x * 11 + y * 7 + ch * 40 + ((x * y) % 23) * 3 + ((x // 4 + y // 3) % 2) * 60) % 256
    img = v.astype(np.uint8)
    return img[:, :, 0] if c == 1 else img
