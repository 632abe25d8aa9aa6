"""The ``learned`` stage's weight file: what training exports and what the stage loads.

A file holds the float transforms (analysis, synthesis, hyper-analysis), and, built
once at export as CompressAI's ``update()`` does, everything the table path needs as
integers: the hyper-synthesis as an :class:`IntegerNet`, the hyper-latents' CDFs and
the latents' Gaussian CDFs.  The decoder therefore never derives a table from floats
(scipy's ``ndtr`` or torch's ``sigmoid`` may differ by an ulp between versions or
machines).  Loaded with torch's weights-only loader: no pickle code runs.
"""

from __future__ import annotations

import numpy as np

from hybridcodec import CodecError, SymbolTables

__all__ = ["pack", "read", "LearnedWeights", "FORMAT"]

FORMAT = "hybridcodec-learned/1"
_FLOAT_PARTS = ("analysis", "gdn", "a_res", "s_res", "igdn", "synthesis", "h_a")


def pack(net) -> dict:
    """The weight file's contents for a trained :class:`LearnedCodecNet`."""
    import torch

    from ..nets.integer import IntegerNet

    net = net.eval()
    state = {k: v.detach().clone().float() for k, v in net.state_dict().items() if k.split(".")[0] in _FLOAT_PARTS}
    hs = IntegerNet.from_torch(net.h_s)
    layers = []
    for layer in hs.layers:
        layers.append({"op": layer[0]} if layer[0] != "conv" else
                      {"op": "conv", "w": torch.from_numpy(layer[1]), "b": torch.from_numpy(layer[2])})
    out = {"format": FORMAT, "m": net.m, "nz": net.nz, "width": net.width, "state_dict": state, "h_s": layers}
    for name, t in (("z_tables", net.z_density.tables()), ("y_tables", net.conditional.tables())):
        out[name] = {"cdfs": torch.from_numpy(np.array(t.cdfs)), "lengths": torch.from_numpy(np.array(t.lengths)),
                     "offsets": torch.from_numpy(np.array(t.offsets))}
    out["y_scales"] = net.conditional.scales.clone()
    # the integer thresholds on the fixed-point log-scale that pick each table (a float log, taken once here)
    out["y_thresholds"] = torch.from_numpy(np.floor(np.log(net.conditional.scales.double().numpy()) * 256.0)
                                           .astype(np.int64))
    return out


class LearnedWeights:
    """A loaded weight file: ``net`` (float parts, eval mode), ``h_s`` (IntegerNet),
    ``z_tables`` / ``y_tables`` (SymbolTables), ``y_scales`` (float64)."""

    def __init__(self, blob: dict):
        from ..nets.integer import IntegerNet
        from ..nets.learned import LearnedCodecNet

        if blob.get("format") != FORMAT:
            raise CodecError(f"not a {FORMAT} weight file (format {blob.get('format')!r})")
        self.net = LearnedCodecNet(int(blob["m"]), int(blob["nz"]), int(blob["width"]))
        missing, unexpected = self.net.load_state_dict(blob["state_dict"], strict=False)
        if unexpected or any(k.split(".")[0] in _FLOAT_PARTS for k in missing):
            raise CodecError("the learned weight file does not match the network it names")
        self.net.eval()
        self.h_s = IntegerNet([(d["op"],) if d["op"] != "conv" else ("conv", d["w"].numpy(), d["b"].numpy())
                               for d in blob["h_s"]])
        self.z_tables, self.y_tables = (SymbolTables(t["cdfs"].numpy(), t["lengths"].numpy(), t["offsets"].numpy())
                                        for t in (blob["z_tables"], blob["y_tables"]))
        self.y_scales = blob["y_scales"].double().numpy()
        self.y_thresholds = blob["y_thresholds"].numpy().astype(np.int64)
        self.m, self.nz = int(blob["m"]), int(blob["nz"])


def read(path) -> LearnedWeights:
    from .formats import read_torch

    return LearnedWeights(read_torch(path))
