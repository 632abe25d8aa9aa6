"""Learned stages for hybridcodec.  Importing this package imports torch."""

from .model import PostFilterNet, strength
from .postfilter import CNNPostFilter

__all__ = ["PostFilterNet", "CNNPostFilter", "strength"]
