"""Typed stage parameters: declaration, validation and text form."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ._errors import CodecError

__all__ = ["Param", "format_value"]

_WORD = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Param:
    """One parameter of a stage.

    Parameters
    ----------
    name : str
        Parameter name as written in pipeline specs.
    type : type
        One of ``int``, ``float``, ``str`` or ``bool``.
    default : object
        Value used when the spec does not give one.
    doc : str
        One-line description shown by ``hybridcodec stages``.
    choices : tuple, optional
        The only values allowed.
    min, max : number, optional
        Inclusive bounds for numbers.

    Examples
    --------
    >>> p = Param("block", int, 8, "block size", choices=(4, 8, 16))
    >>> p.coerce("16")
    16
    >>> p.coerce(5)
    Traceback (most recent call last):
    ...
    hybridcodec._errors.CodecError: parameter 'block' must be one of 4, 8, 16; got 5
    """

    name: str
    type: type
    default: Any
    doc: str = ""
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None

    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise CodecError."""
        v = self._convert(value)
        if self.choices is not None and v not in self.choices:
            raise CodecError(
                f"parameter {self.name!r} must be one of "
                f"{', '.join(format_value(c) for c in self.choices)}; got {format_value(v)}"
            )
        if self.min is not None and v < self.min:
            raise CodecError(f"parameter {self.name!r} must be >= {self.min}; got {v}")
        if self.max is not None and v > self.max:
            raise CodecError(f"parameter {self.name!r} must be <= {self.max}; got {v}")
        return v

    def describe(self) -> str:
        """Short text such as ``block=8 (int: 4, 8, 16) block size``."""
        rng = ""
        if self.choices is not None:
            rng = ": " + ", ".join(format_value(c) for c in self.choices)
        elif self.min is not None or self.max is not None:
            rng = f": {format_value(self.min) if self.min is not None else ''}.."
            rng += format_value(self.max) if self.max is not None else ""
        return f"{self.name}={format_value(self.default)} ({self.type.__name__}{rng}) {self.doc}".rstrip()

    def _convert(self, value: Any) -> Any:
        t = self.type
        bad = CodecError(f"parameter {self.name!r} expects {t.__name__}; got {value!r}")
        if t is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise bad
        if t is int:
            if isinstance(value, bool):
                raise bad
            if isinstance(value, int):
                return int(value)
            if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
                return int(value)
            raise bad
        if t is float:
            if isinstance(value, bool):
                raise bad
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise bad from None
            if not math.isfinite(v):
                raise bad
            return v
        if t is str:
            if not isinstance(value, str) or not _WORD.match(value):
                raise CodecError(
                    f"parameter {self.name!r} expects a word of letters, digits, '_', '.', '-'; "
                    f"got {value!r}"
                )
            return value
        raise TypeError(f"unsupported parameter type {t!r}")  # programming error in a stage


def format_value(v: Any) -> str:
    """Text form of a parameter value as written in canonical specs."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)
