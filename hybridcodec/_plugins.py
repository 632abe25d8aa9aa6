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
           "compare_defaults", "register_cost_probe", "cost_probes"]

PLUGINS_GROUP = "hybridcodec.plugins"
_GROUPS = ("hybridcodec.stages", "hybridcodec.commands", PLUGINS_GROUP)

_loaded = False
_failed: dict[str, str] = {}
_compare: list[str] = []
_compare_more: list[str] = []
_probes: list = []


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


def register_compare_default(spec: str, *, slow: bool = False) -> str:
    """Add a pipeline to the ones ``hybridcodec compare`` runs when none are named (after
    the core's, in the order registered); returns ``spec``.  ``slow=True``: only with
    ``compare --all`` (a slow or redundant row that would stretch the default run).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("register_compare_default takes a pipeline spec string")
    target = _compare_more if slow else _compare
    if spec not in _compare and spec not in _compare_more:
        target.append(spec)
    return spec


def compare_defaults(everything: bool = False) -> list[str]:
    """The pipelines plugins asked ``compare`` to run by default (with
    ``everything``, the ``slow=True`` ones too, after them)."""
    load_plugins()
    return list(_compare) + (list(_compare_more) if everything else [])


def register_cost_probe(probe) -> None:
    """Let ``compare`` count what a pipeline's plugin stages cost.  ``probe()`` returns a
    context manager that yields a dict and, on leaving, fills it with ``"macs"`` (the
    multiply-accumulates its stages' networks ran inside) and, if it knows them,
    ``"training"`` (what trained the weights they read: ``steps``, ``cpu_hours``,
    ``device``, ``artefacts``).  ``compare`` runs one encode and one decode of each
    pipeline that has a plugin stage inside every probe (untimed)."""
    if not callable(probe):
        raise TypeError("register_cost_probe takes a function that returns a context manager")
    if probe not in _probes:
        _probes.append(probe)


def cost_probes() -> list:
    """The probes plugins registered (:func:`register_cost_probe`)."""
    load_plugins()
    return list(_probes)
