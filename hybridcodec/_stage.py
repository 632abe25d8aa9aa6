"""The stage protocol shared by classical and learned stages.

Data flows through a pipeline as a list of *planes* (numpy arrays).  Before any
pixel is touched, every stage maps the :class:`PlaneInfo` layout of its input to
that of its output (:meth:`Stage.layout`), so the decoder knows each array's
shape from the file header alone and can check sizes before allocating.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Optional

import numpy as np

from ._errors import CodecError
from ._params import Param, format_value

__all__ = ["KINDS", "Band", "PlaneInfo", "Context", "Stage"]

# Order in which kinds may appear in a pipeline.
KINDS = ("colour", "transform", "quantizer", "entropy", "postfilter")


@dataclass(frozen=True)
class Band:
    """One band of a transform's coefficients, as consumers (quantizers, context
    models, entropy models) see it without knowing the transform.

    A plane with bands is read through its *band-major* flat vector
    (:meth:`PlaneInfo.flat`), in which each band is one contiguous ``h x w`` block.

    Attributes
    ----------
    key : str
        Name, unique within its plane (``"LL"``, ``"3HL"``, ``"2,1"``); references use it.
    shape : (int, int)
        ``(h, w)`` of the band.
    offset : int
        Where the band starts in the plane's band-major flat vector.
    gain : float
        Synthesis energy gain: the squared L2 norm of the pixels made by one unit
        coefficient.  A quantizer step ``s / sqrt(gain)`` gives every band the same
        distortion in pixels.
    order : int
        Coding rank, coarse to fine: coders take the bands of all planes sorted by
        ``(order, plane, position in the plane's list)``.
    reduce : int
        Needed by decodes at ``1 / 2**r`` of the size for ``r < reduce`` (a large
        number: always needed); a reduced decode reads only the bands it needs.
    context : int
        Statistics class, 0..47, for adaptive coders: bands that share it share
        probability estimates.  The built-in transforms use 0 (predicted bands),
        1..16 (wavelet levels) and 17..31 (DCT frequency groups); 32..47 are free.
    predict : bool
        A smooth band (a low-pass or DC band) that coders may code as prediction
        residuals.
    tiled : bool
        The band holds one coefficient per block of a block transform, so its
        neighbours lie a block apart in the image.
    parents : tuple
        Up to two references ``(key, sy, sx)`` or ``None`` to bands of the same plane
        that are coded earlier and predict this band's magnitudes; ``sy``/``sx`` map
        coordinates: -1 halves, 0 keeps, 1 doubles.
    sibling : tuple or None
        One more reference ``(key, sy, sx)`` in the same plane, coded earlier.
    luma : bool
        In a chroma plane, the band of the same ``key`` in the first (luma) plane is
        a reference (coordinates scaled by the bands' sizes).
    """

    key: str
    shape: tuple
    offset: int
    gain: float = 1.0
    order: int = 0
    reduce: int = 1 << 16
    context: int = 0
    predict: bool = False
    tiled: bool = False
    parents: tuple = ()
    sibling: Optional[tuple] = None
    luma: bool = False

    @property
    def size(self) -> int:
        return int(self.shape[0]) * int(self.shape[1])


@dataclass(frozen=True)
class PlaneInfo:
    """Shape and meaning of one plane at some point of a pipeline.

    Attributes
    ----------
    shape : tuple of int
        Array shape.  ``form == "pixels"``: ``(h, w)``; ``"blocks"`` (``dct``):
        ``(blocks_y, blocks_x, B, B)``; ``"subbands"`` (wavelets): ``(n,)``.
    role : str
        ``"luma"`` or ``"chroma"``; quantizers and coders pick tables by it.
    form : str
        A name for the array's layout (``"pixels"``, ``"blocks"``, ``"subbands"``,
        or any new name); stages that work on any transform read ``bands`` instead.
    integer : bool
        True once the values are integers (pixels, after a quantizer or a reversible
        transform); entropy coders need this.
    bands : tuple of Band
        The transform's coefficients, band by band (empty for pixels).
    axes : tuple of int
        Axis permutation that brings the array into band-major order (empty: the
        array is already flat and band-major).
    """

    shape: tuple
    role: str = "luma"
    form: str = "pixels"
    integer: bool = False
    bands: tuple = ()
    axes: tuple = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def flat(self, plane: np.ndarray) -> np.ndarray:
        """The plane as its band-major flat vector (a view when the plane already is one)."""
        return self.shaped(plane).reshape(-1)

    def shaped(self, plane: np.ndarray) -> np.ndarray:
        """The plane's axes in band-major order (a view): its flat vector is this,
        flattened."""
        plane = np.asarray(plane)
        return plane.transpose(self.axes) if self.axes else plane

    def unflat(self, flat: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`flat`: an array of ``shape`` from a band-major vector."""
        if not self.axes:
            return flat.reshape(self.shape)
        shape = tuple(self.shape[a] for a in self.axes)
        return flat.reshape(shape).transpose(np.argsort(self.axes))

    def quantized(self) -> "PlaneInfo":
        """The same plane holding integers (what a quantizer's layout returns)."""
        return replace(self, integer=True)


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
    truncated: bool = False  # set when the file or a stream was found cut short (post-filters then skip)
    bits: int = 8  # sample depth of the image: 8 or 16
    version: int = 1  # .hcx format version of the file being read; writing: the newest the stages may use
    needs_version: int = 1  # writing: the version the stages' data needs (a stage that writes newer data raises it)
    # the runner keeps no other reference to the planes it hands a stage: the stage may
    # overwrite them (and return their buffers) instead of allocating new ones
    reuse_planes: bool = False
    coded_bytes: int = 0  # writing, for post-filters: the size of the entropy stage's payload
    work: float = 0.0  # writing, for post-filters: the decode work (MACs) the stages before them declared

    @property
    def sample_scale(self) -> float:
        """How many times an 8-bit image's range this image's samples span (1 or 256):
        quantizers multiply their steps by it, so that a quality means the same relative
        precision at every bit depth."""
        return float(1 << (self.bits - 8))
    family: str = ""  # artifact family of the pipeline's transform (Stage.family), for post-filters
    model: Any = None  # the EntropyModel offered to the entropy stage (None: none offered)
    scratch: dict = field(default_factory=dict)  # per-image state a stage keeps between its calls
    # writing, for rate-distortion optimised quantization (:mod:`hybridcodec.entropy.rdoq`):
    # ``want_soft``, set by the runner for the last stage before an entropy stage that
    # takes soft values (``Stage.uses_soft``); and what that stage offered, ``(planes, shift,
    # fine)``: per plane, whether its bands (save predicted ones) hold soft values (c / step
    # in fine-ths, an int) in place of indexes, and the reconstruction rule (index m >= 1
    # stands for m + shift steps).  The runner clears ``soft`` before each stage.
    want_soft: bool = False
    soft: Any = None

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
      and ``decode(payload, layout, ctx) -> planes`` (``payload``: bytes-like, a
      read-only view of the file's chunk).  ``ctx.model`` holds the
      entropy model offered by the stage before (see :meth:`entropy_model`); a
      stage with ``needs_model = True`` codes with it, others may ignore it.
    * postfilter stages run on the decoded image (float32, H x W x C, 0..255):
      ``encode(original, decoded, ctx)`` (``original``: the image's uint8 samples)
      may emit side data with
      ``ctx.emit(self.index, payload)`` and may return the filtered image (what its
      decode will give, for a post-filter after it; None: the runner calls decode),
      and ``decode(image, ctx) -> image`` filters it.

    The parameters are validated in ``__init__`` and available as attributes.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    family: ClassVar[str] = ""  # transforms: the family of artifacts it leaves (post-filters pick weights by it)
    needs_model: ClassVar[bool] = False  # entropy stages that code with an offered EntropyModel
    uses_soft: ClassVar[bool] = False  # entropy stages that re-decide a quantizer's indexes from ctx.soft
    format_version: ClassVar[int] = 1  # the .hcx version whose files hold this stage's data as it writes it
    repeatable: ClassVar[bool] = False  # may appear more than once in a pipeline (none built in)
    params: ClassVar[tuple[Param, ...]] = ()
    doc: ClassVar[str] = ""
    # Multiply-accumulates a pixel of the image (all channels) that the stage's networks or
    # filters run: decode_macs at most (what the decoder's work bound uses), encode_macs
    # the most an encode was measured to run; 0 for stages whose work is table look-ups,
    # lifting or coding (a transform's own arithmetic is not counted).  Learned stages
    # state them, counted with torch's FlopCounterMode (tests hold them to it).
    decode_macs: ClassVar[float] = 0.0
    encode_macs: ClassVar[float] = 0.0
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

    def encode_samples(self, samples: np.ndarray, layout: tuple[PlaneInfo, ...], ctx: "Context"):
        """``encode`` for the first stage of a pipeline, given the image itself (H x W x C
        uint8 or uint16, not centred).  The default centres it into float32 planes; a
        stage may override this to read the samples directly, in fewer passes."""
        from ._samples import from_samples

        return self.encode(from_samples(samples), layout, ctx)

    def decode_samples(self, planes, layout: tuple[PlaneInfo, ...], ctx: "Context", out: np.ndarray) -> None:
        """``decode`` for the first stage of a pipeline, writing the image's integer
        samples into ``out`` (H x W x C, uint8 or uint16; alpha, if any, comes after the
        decoded planes) instead of returning planes.  The default decodes, then rounds
        and clips each plane; a stage may override this to do it in one pass."""
        from ._samples import to_samples

        to_samples(self.decode(planes, layout, ctx), out)

    def macs(self) -> tuple[float, float]:
        """``(decode, encode)`` multiply-accumulates a pixel (see :attr:`decode_macs`);
        a stage whose cost depends on its parameters overrides this."""
        return float(self.decode_macs), float(self.encode_macs)

    def decode_work(self, pixels: int, ctx: "Context") -> float:
        """Multiply-accumulates decoding an image of ``pixels`` pixels will run in this
        stage, judged from the header and the side data in ``ctx`` before anything runs
        (the decoder's work rule); by default ``decode_macs`` a pixel.  A stage whose
        side data says it does less (a post-filter the encoder turned off) may say so."""
        return self.macs()[0] * pixels

    def rate_knob(self) -> bool:
        """True when ``ctx.quality`` changes how many bits this stage's output costs
        (quantizers, transforms that round by a quality-dependent step); rate control
        needs one such stage in the pipeline."""
        return self.kind == "quantizer"

    def entropy_model(self, layout: tuple[PlaneInfo, ...]):
        """An :class:`~hybridcodec.EntropyModel` for the planes this stage outputs
        (``layout``), offered to an entropy stage that comes right after it; None
        (the default) offers none."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec()}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stage) and self.spec() == other.spec()

    def __hash__(self) -> int:
        return hash(self.spec())
