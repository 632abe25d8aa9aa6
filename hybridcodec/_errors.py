"""Exceptions raised by hybridcodec."""

__all__ = ["CodecError", "StageNotInstalledError"]


class CodecError(ValueError):
    """Any failure to encode or decode: bad input, bad parameters, corrupt files.

    Subclasses ``ValueError`` so that code catching ``ValueError`` keeps working.
    """


class StageNotInstalledError(CodecError):
    """A pipeline names a stage that no installed package provides."""
