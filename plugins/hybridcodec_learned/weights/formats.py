"""The file formats of the weights layer: for each, how a file is read (into what a stage
uses), how a trained network is packed into what the file holds, and how it is written.

torch formats are read with ``torch.load(weights_only=True)`` (tensors, numbers and
strings only: no pickle code runs) and written with ``torch.save`` into a private
folder and renamed into place, so an interrupted run never leaves half a file and the
bytes are those of a direct save (torch names the archive's root after the file).
Every network module is imported when a file is first read, never at import.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Callable

__all__ = ["Format", "FORMATS", "register_format", "save_torch", "read_torch"]


@dataclass(frozen=True)
class Format:
    """How one kind of file is read, packed and written."""

    name: str
    suffix: str  #: ".pt", ".npz"
    read: Callable[[Path], Any]  #: file -> what the stage uses (raise on a foreign file)
    write: Callable[[Path, Any], None]  #: (file, packed contents) -> None, atomically
    pack: Callable[[Any], Any] | None = None  #: trained network -> the contents ``write`` takes
    needs_torch: bool = True


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


def read_torch(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def save_torch(path: Path, obj) -> None:
    """``torch.save``, atomically (see the module's docstring)."""
    import torch

    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".save-") as tmp:
        torch.save(obj, Path(tmp) / path.name)
        os.replace(Path(tmp) / path.name, path)


def _lazy(module: str, name: str) -> Callable:
    """``module.name``, imported when first called (relative to this package's parent)."""
    def call(*args):
        return getattr(import_module(module, "hybridcodec_learned"), name)(*args)

    return call


def _read_postfilter(path: Path):
    import torch

    from ..nets.postfilter import PostFilterNet

    state = read_torch(path)
    net = PostFilterNet(int(state["channels"]), int(state["layers"]))
    net.load_state_dict(state["state_dict"])
    net.eval().to(memory_format=torch.channels_last)
    return net


def _pack_postfilter(net) -> dict:
    return {"channels": net.channels, "layers": net.layers,
            "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()}}


def _read_lifting(path: Path):
    from ..nets.lifting import LiftingNet

    blob = read_torch(path)
    net = LiftingNet(int(blob["channels"]))
    net.load_state_dict(blob["state_dict"])
    return net.eval()


def _pack_lifting(net) -> dict:
    """The width and the tensors of a :class:`LiftingNet`."""
    return {"channels": net.channels, "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()}}


register_format(Format("postfilter", ".pt", _read_postfilter, save_torch, _pack_postfilter))
register_format(Format("lifting", ".pt", _read_lifting, save_torch, _pack_lifting))
register_format(Format("dcnn", ".pt", _lazy(".weights.dcnn_format", "read"), save_torch,
                       _lazy(".weights.dcnn_format", "pack")))
register_format(Format("learned", ".pt", _lazy(".weights.learned_format", "read"), save_torch,
                       _lazy(".weights.learned_format", "pack")))
register_format(Format("ctxrans", ".npz", _lazy(".entropy.ctxrans_model", "read"),
                       _lazy(".entropy.ctxrans_model", "write"), _lazy(".entropy.ctxrans_model", "pack"),
                       needs_torch=False))
