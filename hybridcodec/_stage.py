"""The stage protocol shared by classical and learned stages.

Data flows through a pipeline as a list of *planes* (numpy arrays).  Before any
pixel is touched, every stage maps the :class:`PlaneInfo` layout of its input to
that of its output (:meth:`Stage.layout`), so the decoder knows each array's
shape from the file header alone and can check sizes before allocating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ._errors import CodecError
from ._params import Param, format_value

__all__ = ["KINDS", "PlaneInfo", "Context", "Stage"]

# Order in which kinds may appear in a pipeline.
KINDS = ("colour", "transform", "quantizer", "entropy", "postfilter")


@dataclass(frozen=True)
class PlaneInfo:
    """Shape and meaning of one plane at some point of a pipeline.

    Attributes
    ----------
    shape : tuple of int
        Array shape.  ``form == "pixels"``: ``(h, w)``; ``form == "blocks"``:
        ``(blocks_y, blocks_x, B, B)``.
    role : str
        ``"luma"`` or ``"chroma"``; quantizers and coders pick tables by it.
    form : str
        ``"pixels"`` or ``"blocks"`` (a stage may introduce new forms).
    integer : bool
        True once the values are integers (after a quantizer or a reversible
        transform); entropy coders need this.
    extra : tuple
        Stage-specific facts, as ``(key, value)`` pairs.
    """

    shape: tuple
    role: str = "luma"
    form: str = "pixels"
    integer: bool = False
    extra: tuple = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)


@dataclass
class Context:
    """What every stage may read while coding one image, and its side-data chunks."""

    width: int
    height: int
    channels: int
    quality: float
    side: dict = field(default_factory=dict)  # stage index -> list of bytes
    reduce: int = 1  # decode at 1/reduce of the full size (1, 2, 4 or 8)
    allow_truncated: bool = False  # decode what a cut-short stream holds; the rest is zero
    transform: str = ""  # name of the pipeline's transform stage, for stages that adapt to it

    @property
    def reduce_levels(self) -> int:
        """log2 of ``reduce``: how many finest resolution levels decoding skips."""
        return self.reduce.bit_length() - 1

    def emit(self, index: int, payload: bytes) -> None:
        """Store side data of stage ``index`` in the file (one chunk per call)."""
        self.side.setdefault(index, []).append(bytes(payload))

    def take(self, index: int) -> list[bytes]:
        """Side-data chunks written by stage ``index``, in order."""
        return self.side.get(index, [])


class Stage:
    """Base class of every stage.

    A subclass sets ``kind`` (one of :data:`KINDS`), ``params`` and ``doc``,
    implements :meth:`layout`, :meth:`encode` and :meth:`decode`, and is
    registered with :func:`hybridcodec.register_stage`.

    Both directions receive the same ``layout``: that of the planes entering the
    stage on encode, which is what the stage's decode must give back.

    * colour, transform and quantizer stages map planes to planes:
      ``encode(planes, layout, ctx) -> planes`` and
      ``decode(planes, layout, ctx) -> planes``.
    * entropy stages end the forward path: ``encode(planes, layout, ctx) -> bytes``
      and ``decode(payload, layout, ctx) -> planes``.
    * postfilter stages run on the decoded image (float32, H x W x C, 0..255):
      ``encode(original, decoded, ctx) -> None`` may emit side data with
      ``ctx.emit(self.index, payload)``, and ``decode(image, ctx) -> image``
      filters it.

    The parameters are validated in ``__init__`` and available as attributes.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    doc: ClassVar[str] = ""
    index: int = -1  # position in the pipeline, set by the pipeline

    def __init__(self, **values: Any) -> None:
        known = {p.name: p for p in self.params}
        for key in values:
            if key not in known:
                valid = ", ".join(known) or "none"
                raise CodecError(
                    f"stage {self.name!r} has no parameter {key!r} (valid parameters: {valid})"
                )
        self.values = {}
        for p in self.params:
            try:
                v = p.coerce(values[p.name]) if p.name in values else p.default
            except CodecError as exc:
                raise CodecError(f"stage {self.name!r}: {exc}") from None
            self.values[p.name] = v
            setattr(self, p.name, v)
        self.check()

    def check(self) -> None:
        """Validate combinations of parameters; raise CodecError when they clash."""

    def spec(self) -> str:
        """Canonical text form with every parameter, e.g. ``dct(block=8)``."""
        args = ",".join(f"{k}={format_value(v)}" for k, v in self.values.items())
        return f"{self.name}({args})"

    def layout(self, planes: tuple[PlaneInfo, ...]) -> tuple[PlaneInfo, ...]:
        """Layout of this stage's output given its input's; raise CodecError if unusable."""
        return planes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec()}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stage) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(self.spec())
