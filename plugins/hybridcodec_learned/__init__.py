"""Learned stages for hybridcodec: the only part of it that needs torch, and only when a
network runs (``import hybridcodec_learned`` and listing the stages stay torch-free).

The package by concept:

* ``stages/`` -- one file per stage (``cnn``, ``learned``, ``dcnn``, ``lifting``,
  ``ctxrans``): layouts, side data, calling the networks; no torch at import;
* ``nets/`` -- the torch modules (``postfilter``, ``learned``, ``dcnn``, ``lifting``)
  and the exact integer network (``integer``);
* ``entropy/`` -- entropy models apart from the coders (the ``ctxrans`` contexts,
  tables and model file; the learned densities);
* ``weights/`` -- the weights layer (one table of the shipped files, one loader, one
  record schema) and the shipped files themselves;
* ``training/`` -- the trainers behind ``hybridcodec train`` and their one loop;
  nothing outside ``training/`` imports it;
* ``declare.py`` -- what the plugin adds to hybridcodec (presets, compare defaults), run
  from the entry point ``hybridcodec.plugins``; ``commands.py`` -- ``hybridcodec train``.

For authors of learned stages, the public names are here: :class:`Artefact`,
:func:`register_artefact`, :func:`register_format` and :class:`Format` (their weights),
:func:`register_postfilter_family` (``+cnn`` after their transform), and
:func:`register_model` (``train transform --model``).
"""

__all__ = ["Artefact", "Format", "register_artefact", "register_format", "register_postfilter_family",
           "register_model", "load_artefact", "weights"]


_WHERE = {"Artefact": ("weights", "Artefact"), "Format": ("weights", "Format"),
          "register_format": ("weights", "register_format"), "register_artefact": ("weights", "register"),
          "register_postfilter_family": ("stages.cnn", "register_postfilter_family"),
          "register_model": ("training.models", "register_model")}  # the last needs torch


def __getattr__(name):
    from importlib import import_module

    if name == "weights":
        return import_module(".weights", __name__)
    if name == "load_artefact":
        return lambda artefact: import_module(".weights", __name__).get(artefact).load()
    if name in _WHERE:
        module, attr = _WHERE[name]
        return getattr(import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'hybridcodec_learned' has no attribute {name!r}")
