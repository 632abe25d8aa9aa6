"""The ``dcnn`` stage's weight file: the float block encoder and decoder, and as integers
each bottleneck channel's log-scale, the Gaussian tables and their thresholds (the
table path never touches a float)."""

from __future__ import annotations

import numpy as np

from hybridcodec import CodecError, SymbolTables

__all__ = ["DCNNWeights", "read", "pack", "FORMAT", "K"]

FORMAT = "hybridcodec-dcnn/1"
K = 512  # bottleneck channels of the shipped network (the stage's bands)


class DCNNWeights:
    """``net`` (eval mode), ``tables``, ``log_scale`` and ``thresholds`` (int64)."""

    def __init__(self, blob: dict):
        from ..nets.dcnn import DCNNNet

        if blob.get("format") != FORMAT or int(blob["k"]) != K:
            raise CodecError(f"not a {FORMAT} weight file with {K} channels")
        self.net = DCNNNet(int(blob["k"]), int(blob["width"]))
        missing, unexpected = self.net.load_state_dict(blob["state_dict"], strict=False)
        if unexpected or any(k.startswith(("enc", "dec")) for k in missing):
            raise CodecError("the weight file does not match the dcnn network")
        self.net.eval()
        t = blob["y_tables"]
        self.tables = SymbolTables(t["cdfs"].numpy(), t["lengths"].numpy(), t["offsets"].numpy())
        self.log_scale = blob["log_scale_fixed"].numpy().astype(np.int64)
        self.thresholds = blob["y_thresholds"].numpy().astype(np.int64)


def read(path) -> DCNNWeights:
    from .formats import read_torch

    return DCNNWeights(read_torch(path))


def pack(net) -> dict:
    """The weight file's contents for a trained :class:`DCNNNet`."""
    import torch

    net = net.eval()
    t = net.conditional.tables()
    scales = net.conditional.scales.double().numpy()
    return {"format": FORMAT, "k": net.k, "width": net.width,
            "state_dict": {k: v.detach().clone().float() for k, v in net.state_dict().items()
                           if not k.startswith(("conditional", "log_scale"))},
            "log_scale_fixed": torch.from_numpy(np.rint(net.log_scale.detach().double().numpy() * 256).astype(np.int64)),
            "y_tables": {"cdfs": torch.from_numpy(np.array(t.cdfs)), "lengths": torch.from_numpy(np.array(t.lengths)),
                         "offsets": torch.from_numpy(np.array(t.offsets))},
            "y_thresholds": torch.from_numpy(np.floor(np.log(scales) * 256.0).astype(np.int64))}
