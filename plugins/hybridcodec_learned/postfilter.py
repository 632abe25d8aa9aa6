"""Stage ``cnn``: a learned post-filter run by the decoder after the inverse transform."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from hybridcodec import CodecError, Param, Stage, register_stage

from .model import PostFilterNet, strength

__all__ = ["CNNPostFilter", "weights_path", "load_weights", "apply_filter"]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FAMILIES = ("dct", "dwt")
_STRIP = 512  # rows filtered at a time, so memory stays bounded on large images
_MARGIN = 32  # rows of context above and below a strip (the network sees 34 pixels)


def weights_path(family: str) -> Path:
    return WEIGHTS_DIR / f"postfilter-{family}.pt"


@lru_cache(maxsize=8)
def load_weights(path: str) -> tuple[PostFilterNet, bytes]:
    """The network stored at ``path`` (torch's weights-only loader: no pickle code
    runs) and the sha256 of the file."""
    p = Path(path)
    if not p.exists():
        raise CodecError(f"cnn weights {p} are missing; train them with "
                         f"`hybridcodec train postfilter` or reinstall hybridcodec-learned")
    blob = p.read_bytes()
    state = torch.load(p, map_location="cpu", weights_only=True)
    net = PostFilterNet(int(state["channels"]), int(state["layers"]))
    net.load_state_dict(state["state_dict"])
    net.eval()
    return net, hashlib.sha256(blob).digest()


@torch.no_grad()
def apply_filter(net: PostFilterNet, image: np.ndarray, quality: float) -> np.ndarray:
    """Filter an RGB float image (0..255), strip by strip."""
    h = image.shape[0]
    s = torch.tensor([strength(quality)])
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
    weights per transform family (``dct``, ``dwt``) serves every quality.  The encoder
    stores, per colour channel, how much of the network's correction to apply to this
    image (the least-squares scale, 0 = off) and which weights (sha256) it used; the
    decoder refuses other weights."""

    name = "cnn"
    kind = "postfilter"
    doc = "learned residual CNN post-filter (one weight file per transform family)"
    params = (Param("weights", str, "auto", "weight family; auto = from the pipeline's transform",
                    choices=("auto",) + FAMILIES),)

    def _family(self, ctx) -> str:
        if self.weights != "auto":
            return self.weights
        return "dwt" if ctx.transform in ("dwt", "int53") else "dct"

    def encode(self, original, decoded, ctx):
        net, digest = load_weights(str(weights_path(self._family(ctx))))
        gains = bytes(3)
        if decoded.shape[2] == 3:
            correction = apply_filter(net, decoded, ctx.quality) - decoded
            gains = _best_gains(correction, original.astype(np.float32) - decoded)
            out = np.clip(np.rint(_blend(decoded, correction, gains)), 0, 255)
            plain = np.clip(np.rint(decoded), 0, 255)
            if np.mean((out - original) ** 2) >= np.mean((plain - original) ** 2):
                gains = bytes(3)
        ctx.emit(self.index, gains + digest)

    def decode(self, image, ctx):
        side = ctx.take(self.index)
        if len(side) != 1 or len(side[0]) != 35:
            raise CodecError("corrupt .hcx file: bad cnn side data")
        gains, digest = side[0][:3], side[0][3:]
        path = weights_path(self._family(ctx))
        net, have = load_weights(str(path))
        if have != digest:
            raise CodecError(f"this file was made with cnn weights sha256 {digest.hex()[:16]}..., but the "
                             f"installed {path.name} is {have.hex()[:16]}...; install the hybridcodec-learned "
                             "version that made the file")
        if not any(gains) or image.shape[2] != 3:
            return image
        return _blend(image, apply_filter(net, image, ctx.quality) - image, gains)


_GAIN_ONE = 64  # a stored gain byte g scales the network's correction by g / 64


def _best_gains(correction: np.ndarray, error: np.ndarray) -> bytes:
    """Per channel, the scale of the correction that best matches the coding error
    (least squares), as bytes; 0 turns the filter off for that channel."""
    r = correction.reshape(-1, 3).astype(np.float64)
    e = error.reshape(-1, 3).astype(np.float64)
    scale = (r * e).sum(0) / np.maximum((r * r).sum(0), 1e-12)
    return bytes(int(v) for v in np.clip(np.rint(scale * _GAIN_ONE), 0, 255))


def _blend(image: np.ndarray, correction: np.ndarray, gains: bytes) -> np.ndarray:
    g = np.frombuffer(gains, np.uint8).astype(np.float32) / _GAIN_ONE
    return image + correction * g
