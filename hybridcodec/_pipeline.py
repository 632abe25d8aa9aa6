"""Pipelines as data: spec strings, presets, and the ordered list of stages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ._errors import CodecError, StageNotInstalledError
from ._plugins import load_plugins
from ._registry import available_stages, get_stage, install_hint
from ._stage import KINDS, Context, PlaneInfo, Stage

__all__ = ["Pipeline", "PRESETS", "parse_spec", "register_preset"]

#: The core's named pipelines.  Values are (spec, description); see the README for the
#: grammar.  Plugins add theirs with :func:`register_preset`.
_CORE_PRESETS: dict[str, tuple[str, str]] = {
    "baseline": (
        "ycbcr(subsampling=420)|dct(block=8)|jpegq|huffman",
        "JPEG-class: YCbCr 4:2:0, 8x8 DCT, IJG-scaled Annex K tables, per-image Huffman",
    ),
    "wavelet": (
        "ycbcr(subsampling=444)|dwt|deadzone|arith",
        "YCbCr 4:4:4, CDF 9/7 wavelet, dead-zone subband quantizer, context-adaptive arithmetic coding",
    ),
    "dct-arith": (
        "ycbcr(subsampling=420)|dct(block=8)|jpegq|arith",
        "the baseline's transform and quantizer with context-adaptive arithmetic coding",
    ),
    "hybrid-fast": (
        "ycbcr(subsampling=444)|dwt|deadzone|arith|alf",
        "the wavelet preset with an adaptive loop filter: per-image Wiener filters the encoder fits and the file "
        "carries (0.04 kMACs a pixel; about 3 % smaller than wavelet at equal PSNR, decoding in 2-3x its time)",
    ),
    "lossless": (
        "rct|int53|arith",
        "exact: reversible colour transform, integer 5/3 wavelet, context-adaptive arithmetic coding",
    ),
}


class _Presets(Mapping):
    """Every preset: the core's, then the plugins' (their declarations run the first time
    a name outside the core's is looked up, or the whole list is read)."""

    def __init__(self, core):
        self._core = dict(core)
        self._all = dict(core)

    def _everything(self) -> dict:
        load_plugins()
        return self._all

    def __getitem__(self, name):
        if name in self._core:
            return self._core[name]
        return self._everything()[name]

    def __contains__(self, name):
        return name in self._core or name in self._everything()

    def __iter__(self):
        return iter(self._everything())

    def __len__(self):
        return len(self._everything())

    def __repr__(self):
        return f"PRESETS({self._everything()!r})"

    def add(self, name: str, spec: str, doc: str) -> None:
        if name in self._core or (name in self._all and self._all[name] != (spec, doc)):
            raise ValueError(f"preset name {name!r} is already taken")
        self._all[name] = (spec, doc)


#: Named pipelines, the plugins' included: name -> (spec, description).
PRESETS = _Presets(_CORE_PRESETS)


def register_preset(name: str, spec: str, doc: str) -> str:
    """Name a pipeline: ``encode(preset=name)``, ``--preset NAME`` and specs such as
    ``NAME+cnn`` then mean ``spec``.  For plugins (from their ``hybridcodec.plugins``
    entry point) and for users; a core preset cannot be replaced.  Returns ``name``.

    Examples
    --------
    >>> from hybridcodec import register_preset, Pipeline
    >>> register_preset("doc-tiles", "ycbcr(subsampling=444)|dct(block=16)|jpegq|arith", "16x16 DCT tiles")
    'doc-tiles'
    >>> Pipeline("doc-tiles").spec()
    'ycbcr(subsampling=444)|dct(block=16)|jpegq(table=annexk)|arith()'
    """
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise ValueError(f"a preset needs a name of letters, digits, '-' and '_'; got {name!r}")
    if not isinstance(spec, str) or not spec.strip() or not isinstance(doc, str):
        raise ValueError("register_preset takes a name, a spec string and a description")
    PRESETS.add(name, spec, doc)
    cached_pipeline.cache_clear()
    return name


_NAME = r"[A-Za-z][A-Za-z0-9_\-]*"
_STAGE_RE = re.compile(rf"^\s*({_NAME})\s*(?:\((.*)\))?\s*$", re.S)
_ARG_RE = re.compile(rf"^\s*({_NAME})\s*=\s*([A-Za-z0-9_.+\-]+)\s*$")


def _split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses; raise CodecError on unbalanced ones."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > 1:
                raise CodecError(f"nested parentheses in pipeline spec {text!r}")
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise CodecError(f"unbalanced ')' in pipeline spec {text!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise CodecError(f"unbalanced '(' in pipeline spec {text!r}")
    parts.append(text[start:])
    return parts


def parse_spec(spec: str) -> list[Stage]:
    """Turn a spec string into stage instances (presets expanded).

    Examples
    --------
    >>> [s.spec() for s in parse_spec("ycbcr(subsampling=444)|dct(block=16)|jpegq|huffman")]
    ['ycbcr(subsampling=444)', 'dct(block=16)', 'jpegq(table=annexk)', 'huffman()']
    >>> len(parse_spec("baseline"))
    4
    """
    if not isinstance(spec, str) or not spec.strip():
        raise CodecError("empty pipeline spec; give a preset name or stages like 'dct|jpegq|huffman'")
    if len(spec) > 4096:
        raise CodecError("pipeline spec is too long (more than 4096 characters)")
    stages: list[Stage] = []
    for part in _split_top(spec, "+"):
        items = _split_top(part, "|")
        if len(items) == 1 and items[0].strip() in PRESETS:
            stages.extend(parse_spec(PRESETS[items[0].strip()][0]))
            continue
        for item in items:
            stages.append(_parse_stage(item))
    return stages


def _parse_stage(item: str) -> Stage:
    m = _STAGE_RE.match(item)
    if not m:
        raise CodecError(
            f"cannot read pipeline item {item.strip()!r}; expected NAME or NAME(key=value,...)"
        )
    name, argtext = m.group(1), m.group(2)
    kwargs = {}
    if argtext is not None and argtext.strip():
        for arg in argtext.split(","):
            am = _ARG_RE.match(arg)
            if not am:
                raise CodecError(f"cannot read parameter {arg.strip()!r} of stage {name!r}; expected key=value")
            if am.group(1) in kwargs:
                raise CodecError(f"parameter {am.group(1)!r} given twice to stage {name!r}")
            kwargs[am.group(1)] = am.group(2)
    if name in PRESETS and not _is_stage(name) and not PRESETS[name][0].startswith(name + "|"):
        raise CodecError(f"preset {name!r} cannot take parameters or be mixed with '|'; use {name}+STAGE")
    try:
        cls = get_stage(name)
    except StageNotInstalledError:
        near = [n for n in close_names(name, list(available_stages()) + list(PRESETS)) if n != name]
        if near:  # most likely a misspelling
            raise StageNotInstalledError(
                f"unknown stage {name!r}; did you mean {' or '.join(repr(n) for n in near)}? (If {name!r} comes "
                f"from a plugin that is not installed: {install_hint()})") from None
        raise
    return cls(**kwargs)


def close_names(name: str, names) -> list:
    """Up to three of ``names`` that ``name`` may be a misspelling of (case aside).

    Examples
    --------
    >>> close_names("lifiting", ["lifting", "learned", "wavelet"])
    ['lifting']
    >>> close_names("Wavelet", ["wavelet", "baseline"])
    ['wavelet']
    """
    import difflib

    names = list(dict.fromkeys(names))
    exact = [n for n in names if n.lower() == name.lower()]
    if exact:
        return exact[:3]
    lower = {n.lower(): n for n in names}
    return [lower[n] for n in difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.75)]


def _is_stage(name: str) -> bool:
    """True when a stage of that name is installed (a preset may share its stage's name:
    ``learned`` alone is the preset, ``learned|arith`` names the stage)."""
    try:
        get_stage(name)
    except CodecError:
        return False
    return True


class Pipeline:
    """An ordered list of stages, validated as a whole.

    Parameters
    ----------
    spec : str or list of Stage
        A spec string (``"baseline"``, ``"ycbcr|dct(block=4)|jpegq|huffman"``,
        ``"baseline+cnn"``) or stage instances.

    Examples
    --------
    >>> Pipeline("baseline").spec()
    'ycbcr(subsampling=420)|dct(block=8)|jpegq(table=annexk)|huffman()'
    """

    def __init__(self, spec: str | list[Stage]):
        stages = parse_spec(spec) if isinstance(spec, str) else list(spec)
        if not stages:
            raise CodecError("a pipeline needs at least an entropy stage")
        ranks = [KINDS.index(s.kind) for s in stages]
        for a, b, sa, sb in zip(ranks, ranks[1:], stages, stages[1:]):
            if b < a:
                raise CodecError(
                    f"stage {sb.name!r} ({sb.kind}) cannot follow {sa.name!r} ({sa.kind}); "
                    f"stages go in the order {' -> '.join(KINDS)}"
                )
        n_entropy = sum(s.kind == "entropy" for s in stages)
        if n_entropy != 1:
            raise CodecError(
                f"a pipeline needs exactly one entropy stage; {self._text(stages)!r} has {n_entropy}"
            )
        for kind in KINDS:
            same = [s for s in stages if s.kind == kind]
            if kind == "postfilter":  # post-filters chain, each name once (unless it is repeatable)
                same = [s for s in same if not s.repeatable]
                if len({s.name for s in same}) == len(same):
                    continue
                raise CodecError(f"a pipeline takes at most one postfilter stage of each name; "
                                 f"{self._text(stages)[:200]!r} has {len(same)} "
                                 f"({', '.join(sorted({s.name for s in same}))})")
            if len(same) > 1 and not all(s.repeatable for s in same):
                raise CodecError(f"a pipeline takes at most one {kind} stage; {self._text(stages)!r} has "
                                 f"{len(same)} ({', '.join(s.name for s in same)})")
        self.stages = [self._placed(s, i) for i, s in enumerate(stages)]

    @staticmethod
    def _placed(stage: Stage, index: int) -> Stage:
        stage.index = index
        return stage

    @staticmethod
    def _text(stages) -> str:
        return "|".join(s.spec() for s in stages)

    def macs(self) -> tuple[float, float]:
        """``(decode, encode)`` multiply-accumulates a pixel of the pipeline's networks and
        filters, summed over its stages (:meth:`Stage.macs`; decode: at most)."""
        costs = [s.macs() for s in self.stages]
        return float(sum(c[0] for c in costs)), float(sum(c[1] for c in costs))

    def decode_work(self, pixels: int, ctx, filters=None) -> float:
        """Multiply-accumulates decoding will run in the stages' networks and filters
        (:meth:`Stage.decode_work`), the post-filters among them only if in ``filters``
        (default: all; a reduced or 16-bit decode skips them)."""
        run = self.postfilters if filters is None else list(filters)
        return float(sum(s.decode_work(pixels, ctx) for s in self.stages if s.kind != "postfilter" or s in run))

    def spec(self) -> str:
        """Canonical spec with every parameter written out."""
        return self._text(self.stages)

    @property
    def forward(self) -> list[Stage]:
        """Stages before the entropy coder (colour, transform, quantizer)."""
        return [s for s in self.stages if KINDS.index(s.kind) < KINDS.index("entropy")]

    @property
    def entropy(self) -> Stage:
        return next(s for s in self.stages if s.kind == "entropy")

    @property
    def family(self) -> str:
        """Artifact family of the last transform stage ("" if none): what post-filters
        pick their weights by."""
        return next((s.family or s.name for s in reversed(self.stages) if s.kind == "transform"), "")

    @property
    def postfilters(self) -> list[Stage]:
        return [s for s in self.stages if s.kind == "postfilter"]

    def rate_knob(self) -> bool:
        """True when the quality changes the rate (some stage's :meth:`Stage.rate_knob`)."""
        return any(s.rate_knob() for s in self.stages)

    def layouts(self, height: int, width: int, channels: int) -> list[tuple[PlaneInfo, ...]]:
        """Plane layouts entering each forward stage and, last, the entropy stage.

        Pixels enter as integer planes (samples minus the level shift).  Computed once
        per image size (rate control encodes the same size a dozen times)."""
        key = (height, width, channels)
        cache = self.__dict__.setdefault("_layouts", {})
        if key not in cache:
            if len(cache) > 16:
                cache.clear()
            cache[key] = self._layouts_for(height, width, channels)
        return list(cache[key])

    def _layouts_for(self, height: int, width: int, channels: int) -> list[tuple[PlaneInfo, ...]]:
        planes = tuple(PlaneInfo((height, width), integer=True) for _ in range(channels))
        out = [planes]
        for stage in self.forward:
            planes = stage.layout(planes)
            out.append(planes)
        out[-1] = self.entropy.layout(out[-1])
        if self.entropy.needs_model and self.model(out) is None:
            before = self.forward[-1].name if self.forward else "nothing"
            raise CodecError(f"{self.entropy.name!r} codes with the entropy model of the stage before it, "
                             f"and {before!r} offers none; use an adaptive coder such as arith")
        return out

    def model(self, layouts):
        """The entropy model the last forward stage offers for its output (None: none)."""
        return self.forward[-1].entropy_model(layouts[-1]) if self.forward else None

    def context(self, width: int, height: int, channels: int, quality: float, **options) -> Context:
        """A fresh :class:`Context` for coding one image with this pipeline (encoding:
        in the format version it writes)."""
        options.setdefault("version", self.format_version)
        return Context(width, height, channels, quality, family=self.family, **options)

    @property
    def format_version(self) -> int:
        """The newest .hcx version this pipeline's stages write (a file is written in the
        version its data needs: older when the stage wrote nothing newer)."""
        return max(s.format_version for s in self.stages)

    def __repr__(self) -> str:
        return f"Pipeline({self.spec()!r})"


@lru_cache(maxsize=32)
def cached_pipeline(spec: str) -> Pipeline:
    """``Pipeline(spec)``, built once per spec string: a decoder meets the same few specs
    again and again, and a pipeline keeps its layouts (and a learned stage its weights)
    (measured: building one and its layouts cost ~1 ms of a 25 ms Kodak decode)."""
    return Pipeline(spec)
