"""Registry of stages: filled by the core, extended by plugins through entry points."""

from __future__ import annotations


from ._errors import StageNotInstalledError
from ._stage import KINDS, Stage

__all__ = ["register_stage", "get_stage", "available_stages", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "hybridcodec.stages"


def install_hint() -> str:
    """How to install plugin packages (the learned stages need torch's CPU build first)."""
    return ("plugins are separate packages; for the learned stages install torch's CPU build first, "
            "then the plugin: pip install torch==2.13.0 && pip install -e plugins")


_stages: dict[str, type[Stage]] = {}
_entry_points_loaded = False


def register_stage(cls: type[Stage]) -> type[Stage]:
    """Class decorator that makes a :class:`Stage` subclass available by its ``name``.

    Examples
    --------
    >>> from hybridcodec import Stage, register_stage
    >>> @register_stage
    ... class Invert(Stage):
    ...     name, kind, doc = "doc-invert", "colour", "negate every plane"
    ...     def encode(self, planes, ctx):
    ...         return [-p for p in planes]
    ...     decode = encode
    >>> from hybridcodec import get_stage
    >>> get_stage("doc-invert") is Invert
    True
    """
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        raise TypeError("register_stage expects a Stage subclass")
    if not cls.name or not cls.name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"stage class {cls.__name__} needs a name of letters, digits, '-', '_'")
    if cls.kind not in KINDS:
        raise ValueError(f"stage {cls.name!r} has kind {cls.kind!r}; expected one of {KINDS}")
    existing = _stages.get(cls.name)
    if existing is not None and existing is not cls and (
        existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"stage name {cls.name!r} is already registered by {existing.__module__}")
    _stages[cls.name] = cls
    return cls


def _load_entry_points(name: str | None = None) -> None:
    """Import plugin stages: one named stage, or all of them when ``name`` is None."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    from importlib import metadata  # 36 ms (email, zipfile, ...): only once a plugin is looked for

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if name is not None and ep.name != name:
            continue
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break the core
            if name is not None:
                d = getattr(ep, "dist", None)
                dist = f"{d.name} {d.version}" if d is not None else ep.value
                raise StageNotInstalledError(
                    f"stage {name!r} comes from {dist}, which is installed but failed to load "
                    f"({type(exc).__name__}: {exc}); {install_hint()}"
                ) from exc
            continue
        if isinstance(obj, type) and issubclass(obj, Stage) and obj.name not in _stages:
            register_stage(obj)
    if name is None:
        _entry_points_loaded = True


def get_stage(name: str) -> type[Stage]:
    """The stage class registered as ``name``; raise CodecError naming the valid ones."""
    if name not in _stages:
        _load_entry_points(name)
    if name not in _stages:
        raise StageNotInstalledError(
            f"unknown stage {name!r}: no installed stage has that name; installed stages: "
            f"{', '.join(sorted(available_stages()))}. If it comes from a plugin that is not installed, "
            f"install it: {install_hint()}"
        )
    return _stages[name]


def available_stages() -> dict[str, type[Stage]]:
    """Every installed stage, plugins included, by name."""
    _load_entry_points()
    return dict(sorted(_stages.items(), key=lambda kv: (KINDS.index(kv[1].kind), kv[0])))
