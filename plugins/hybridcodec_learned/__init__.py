"""Learned stages for hybridcodec.  torch is imported only when a stage or the
training code is used (``import hybridcodec_learned`` alone stays cheap, so that the
CLI can list the plugin's commands without loading torch)."""

__all__ = ["PostFilterNet", "CNNPostFilter", "strength"]


def __getattr__(name):
    if name in ("PostFilterNet", "strength"):
        from . import model

        return getattr(model, name)
    if name == "CNNPostFilter":
        from .postfilter import CNNPostFilter

        return CNNPostFilter
    raise AttributeError(f"module 'hybridcodec_learned' has no attribute {name!r}")
