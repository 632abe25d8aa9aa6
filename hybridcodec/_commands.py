"""What plugins add to the command line (entry-point group ``hybridcodec.commands``),
and the ``--version`` line."""

from __future__ import annotations

import argparse

from ._errors import CodecError

__all__ = ["COMMANDS_GROUP", "plugin_commands", "version_line"]

COMMANDS_GROUP = "hybridcodec.commands"


def version_line() -> str:
    from . import __version__
    from ._plugins import plugin_distributions

    parts = [f"hybridcodec {__version__}"]
    parts += [f"{name} {version}" for name, version in plugin_distributions() if name != "hybridcodec"]
    return ", ".join(parts)


def plugin_commands(sub) -> None:
    """Subcommands that plugins add (entry-point group ``hybridcodec.commands``: the
    name is the command, the object a function ``register(subparsers)``).  A plugin
    that fails to load still gets its command, which then explains the failure."""
    from importlib import metadata

    for ep in sorted(metadata.entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as exc:  # a broken plugin must not break the core CLI
            dist = ep.dist.name if getattr(ep, "dist", None) is not None else ep.value
            p = sub.add_parser(ep.name, help=f"(from {dist}, which failed to load)", add_help=False)
            p.add_argument("rest", nargs=argparse.REMAINDER)
            p.set_defaults(func=_broken(ep.name, dist, exc))


def _broken(name, dist, exc):
    def run(args) -> int:
        raise CodecError(f"command {name!r} comes from {dist}, which failed to load ({type(exc).__name__}: "
                         f"{exc}); {_install_hint()}")

    return run


def _install_hint() -> str:
    from ._registry import install_hint

    return install_hint()
