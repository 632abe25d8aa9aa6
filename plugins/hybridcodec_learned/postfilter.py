"""Stage ``cnn``: a learned post-filter run by the decoder after the inverse transform."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from hybridcodec import CodecError, Param, Stage, register_stage

# torch is imported when the network first runs, not with the stage: parsing a spec
# that names cnn (or refusing one that names it 250 times) must not cost torch's import

__all__ = ["CNNPostFilter", "weights_path", "load_weights", "apply_filter"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FAMILIES = ("dct", "dwt", "learned", "lifting")
_STRIP = 512  # rows filtered at a time, so memory stays bounded on large images
_MARGIN = 32  # rows of context above and below a strip (the network sees 34 pixels)


def weights_path(family: str) -> Path:
    return WEIGHTS_DIR / f"postfilter-{family}.pt"


@lru_cache(maxsize=8)
def load_weights(path: str):
    """The network stored at ``path`` (torch's weights-only loader: no pickle code
    runs) and the sha256 of the file."""
    p = Path(path)
    if not p.exists():
        raise CodecError(f"cnn weights {p} are missing; train them with "
                         f"`hybridcodec train postfilter` or reinstall hybridcodec-learned")
    try:
        import torch
    except ImportError:
        raise CodecError("the cnn stage needs torch, which is not installed; install torch's CPU build: "
                         "pip install torch==2.13.0") from None

    from .model import PostFilterNet

    blob = p.read_bytes()
    state = torch.load(p, map_location="cpu", weights_only=True)
    net = PostFilterNet(int(state["channels"]), int(state["layers"]))
    net.load_state_dict(state["state_dict"])
    net.eval()
    return net, hashlib.sha256(blob).digest()


def apply_filter(net, image: np.ndarray, quality: float, shift: float = 0.0) -> np.ndarray:
    """Filter an RGB float image (0..255), strip by strip; ``shift`` is added to the
    quality's strength."""
    import torch

    from .model import strength

    with torch.no_grad():
        h = image.shape[0]
        s = torch.tensor([strength(quality) + shift])
        out = np.empty_like(image, dtype=np.float32)
        for top in range(0, h, _STRIP):
            a, b = max(0, top - _MARGIN), min(h, top + _STRIP + _MARGIN)
            a -= a % 2  # keep the 2x2 folding aligned with the image's block grid
            x = torch.from_numpy(np.ascontiguousarray(image[a:b].transpose(2, 0, 1), dtype=np.float32) / 255.0)
            y = net(x[None], s, (a, 0))[0].numpy().transpose(1, 2, 0) * 255.0
            out[top : min(h, top + _STRIP)] = y[top - a : top - a + min(_STRIP, h - top)]
        return out


@register_stage
class CNNPostFilter(Stage):
    """Residual CNN post-filter conditioned on the quantization strength; one set of
    weights per transform family (``dct``, ``dwt``, ``learned``, ``lifting``) serves every quality.  The encoder
    stores how to apply the network's correction to this image (a 3 x 3 colour matrix
    fitted by least squares, all 0 = off), the strength shift it chose, and which
    weights (the first 8 bytes of their sha256) it used; the decoder refuses other weights."""

    name = "cnn"
    kind = "postfilter"
    doc = "learned residual CNN post-filter (one weight file per transform family)"
    params = (Param("weights", str, "auto", "weight family; auto = the pipeline's transform family",
                    choices=("auto",) + FAMILIES),)

    def _family(self, ctx) -> str:
        family = ctx.family if self.weights == "auto" else self.weights
        if family not in FAMILIES:
            raise CodecError(f"cnn has no weights for transform family {family or 'none'!r} (it has weights "
                             f"for {', '.join(FAMILIES)}); train them with `hybridcodec train postfilter`, "
                             "or drop +cnn from the pipeline")
        return family

    def encode(self, original, decoded, ctx):
        net, digest = load_weights(str(weights_path(self._family(ctx))))
        best = (np.inf, bytes(9), 0)
        if decoded.shape[2] == 3:
            plain = np.clip(np.rint(decoded), 0, 255)
            error = original.astype(np.float32) - decoded
            best = (np.mean((plain - original) ** 2), bytes(9), 0)
            for shift in _SHIFTS_TRIED:
                correction = apply_filter(net, decoded, ctx.quality, shift / _SHIFT_ONE) - decoded
                mix = _best_mix(correction, error)
                out = np.clip(np.rint(_blend(decoded, correction, mix)), 0, 255)
                mse = np.mean((out - original) ** 2)
                if mse < best[0] and any(mix):
                    best = (mse, mix, shift)
        _, mix, shift = best
        ctx.emit(self.index, mix + shift.to_bytes(1, "big", signed=True) + digest[:_DIGEST])

    def decode(self, image, ctx):
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) not in (10 + _DIGEST, 42):
            raise CodecError("corrupt .hcx file: bad cnn side data")
        mix, shift, digest = side[0][:9], int.from_bytes(side[0][9:10], "big", signed=True), side[0][10:]
        path = weights_path(self._family(ctx))
        net, have = load_weights(str(path))
        if have[: len(digest)] != digest:  # made with another family's weights (lifting used the dwt ones before)?
            other = [f for f in FAMILIES if weights_path(f).exists()
                     and load_weights(str(weights_path(f)))[1][: len(digest)] == digest]
            if other:
                path = weights_path(other[0])
                net, have = load_weights(str(path))
        if have[: len(digest)] != digest:
            raise CodecError(f"this file was made with cnn weights sha256 {digest.hex()[:16]}..., but the "
                             f"installed {path.name} is {have.hex()[:16]}...; install the hybridcodec-learned "
                             "version that made the file")
        if not any(mix) or image.shape[2] != 3:
            return image
        return _blend(image, apply_filter(net, image, ctx.quality, shift / _SHIFT_ONE) - image, mix)


# The encoder also tries telling the network a stronger quantization than the quality's
# (at high qualities that corrects more: +0.02 dB for wavelets at q75-90 on Kodak) and
# stores the shift it chose, in 1/16ths of the strength scale, as a signed byte.
_SHIFT_ONE = 16
# The weights' sha256 is stored cut to its first 8 bytes (as ctxrans stores its model's):
# enough to tell weight files apart, 24 bytes less per file; files written before keep
# all 32 (side data of 42 bytes) and still decode.
_DIGEST = 8
_SHIFTS_TRIED = (0, 2, 4)
_MIX_ONE = 64  # a stored signed byte m stands for m / 64


def _best_mix(correction: np.ndarray, error: np.ndarray) -> bytes:
    """The 3 x 3 colour matrix that, applied to the network's correction, best matches
    the coding error (least squares), as 9 signed bytes (row k: how much of the
    correction of channel k goes into R, G, B); all 0 turns the filter off."""
    r = correction.reshape(-1, 3).astype(np.float64)
    e = error.reshape(-1, 3).astype(np.float64)
    m, *_ = np.linalg.lstsq(r, e, rcond=None)
    return np.clip(np.rint(m * _MIX_ONE), -128, 127).astype(np.int8).tobytes()


def _blend(image: np.ndarray, correction: np.ndarray, mix: bytes) -> np.ndarray:
    m = np.frombuffer(mix, np.int8).astype(np.float32).reshape(3, 3) / _MIX_ONE
    return image + correction @ m
