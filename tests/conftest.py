import importlib.util

import numpy as np
import pytest

# atheris is optional (coverage-guided fuzzing, tests/fuzz/atheris_decode.py)
collect_ignore = [] if importlib.util.find_spec("atheris") else ["fuzz/atheris_decode.py"]


def smooth_image(h, w, channels=3, seed=0):
    """A photo-like test image: smooth gradients plus mild texture and an edge."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        base = 128 + 60 * np.sin(x / (5 + 3 * c) + c) * np.cos(y / (7 + c))
        base += 30 * (x > w / 2) - 15
        base += rng.normal(0, 4, size=(h, w))
        planes.append(base)
    img = np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)
    return img[:, :, 0] if channels == 1 else img


@pytest.fixture
def rgb():
    return smooth_image(48, 64, 3)


@pytest.fixture
def grey():
    return smooth_image(40, 56, 1)
