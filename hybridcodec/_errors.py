"""Exceptions raised by hybridcodec."""

__all__ = ["CodecError", "StageNotInstalledError", "TruncatedError"]


class CodecError(ValueError):
    """Any failure to encode or decode: bad input, bad parameters, corrupt files.

    Subclasses ``ValueError`` so that code catching ``ValueError`` keeps working.
    """


class StageNotInstalledError(CodecError):
    """A pipeline names a stage that no installed package provides."""


class TruncatedError(CodecError):
    """The file or a coded stream ends before its data does (a cut-short download or
    copy).  ``decode(..., allow_truncated=True)`` decodes what such a file holds."""
