"""What plugins declare besides their stages: presets and the pipelines ``compare`` runs
by default (entry-point group ``hybridcodec.plugins``).

Each entry point names a function that takes no argument and calls
:func:`hybridcodec.register_preset` and :func:`hybridcodec.register_compare_default`.
They run once, the first time something needs the whole list (a preset the core does
not define, ``hybridcodec stages``, ``compare``'s defaults), and they must stay cheap:
no torch, no weights.  The core itself names no plugin, stage or distribution: what
is listed is what is installed.
"""

from __future__ import annotations

__all__ = ["PLUGINS_GROUP", "load_plugins", "plugin_distributions", "register_compare_default",
           "compare_defaults"]

PLUGINS_GROUP = "hybridcodec.plugins"
_GROUPS = ("hybridcodec.stages", "hybridcodec.commands", PLUGINS_GROUP)

_loaded = False
_failed: dict[str, str] = {}
_compare: list[str] = []


def load_plugins() -> None:
    """Run every installed plugin's declarations, once.  A plugin that fails to load is
    remembered (``hybridcodec stages`` says so) and the core goes on without it."""
    global _loaded
    if _loaded:
        return
    _loaded = True  # first: a declaration may itself ask for the presets
    from importlib import metadata

    for ep in sorted(metadata.entry_points(group=PLUGINS_GROUP), key=lambda e: e.name):
        try:
            ep.load()()
        except Exception as exc:  # a broken plugin must not break the core
            _failed[ep.name] = f"{type(exc).__name__}: {exc}"


def failed_plugins() -> dict[str, str]:
    """Plugins whose declarations failed, with why."""
    load_plugins()
    return dict(_failed)


def plugin_distributions() -> list[tuple[str, str]]:
    """(name, version) of every installed distribution that extends hybridcodec (through
    any of its entry-point groups), sorted."""
    from importlib import metadata

    found = {}
    for group in _GROUPS:
        for ep in metadata.entry_points(group=group):
            d = getattr(ep, "dist", None)
            if d is not None and d.name:
                found[d.name] = d.version
    return sorted(found.items())


def register_compare_default(spec: str) -> str:
    """Add a pipeline to the ones ``hybridcodec compare`` runs when none are named (after
    the core's, in the order registered); returns ``spec``.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("register_compare_default takes a pipeline spec string")
    if spec not in _compare:
        _compare.append(spec)
    return spec


def compare_defaults() -> list[str]:
    """The pipelines plugins asked ``compare`` to run by default."""
    load_plugins()
    return list(_compare)
