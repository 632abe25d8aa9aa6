"""What a plugin may use of the core: the one module outside the public top level that
plugin packages import (none of them imports ``hybridcodec._*``; a test checks).

A plugin adds stages through the entry-point group ``hybridcodec.stages`` (or
:func:`register_stage`), presets and ``compare`` defaults from a function in the group
``hybridcodec.plugins`` (:func:`register_preset`, :func:`register_compare_default`),
and commands through ``hybridcodec.commands``.  What a stage needs beyond the
:class:`~hybridcodec.Stage` protocol is here: walking a band list in coding order,
the rANS coder with integer tables, atomic file writes, the thread pool
(:func:`run_jobs`, :func:`threads`), giving a large image's
freed heap back to the system between passes (:func:`release_free_memory`), and the
samples-to-planes conversions a first stage uses to read or write the image a strip
at a time (:func:`from_samples`, :func:`to_samples`).

Examples
--------
>>> import numpy as np
>>> from hybridcodec import PlaneInfo, Band
>>> from hybridcodec.plugin import coding_order, flatten, plane_starts
>>> layout = (PlaneInfo((2, 3), bands=(Band("all", (2, 3), 0),)),)
>>> [b.key for _, _, b in coding_order(layout)], plane_starts(layout).tolist()
(['all'], [0, 6])
>>> flatten([np.arange(6).reshape(2, 3)], layout).tolist()
[0, 1, 2, 3, 4, 5]
"""

from __future__ import annotations

from ._bands import bands_needed, check_bands, check_coded, coding_order, flatten, plane_starts, unflatten
from ._errors import CodecError, StageNotInstalledError, TruncatedError
from ._files import check_output, write_atomic
from ._heap import release_free_memory
from ._model import EntropyModel, SymbolTables
from ._pipeline import Pipeline, register_preset
from ._plugins import PLUGINS_GROUP, register_compare_default, register_cost_probe
from ._registry import ENTRY_POINT_GROUP, install_hint, register_stage
from ._samples import from_samples, to_samples
from ._stage import Band, Context, PlaneInfo, Stage
from ._threads import run as run_jobs, threads, torch_threads
from .entropy import rans

__all__ = [
    "Stage", "PlaneInfo", "Band", "Context", "EntropyModel", "SymbolTables", "Pipeline",
    "register_stage", "register_preset", "register_compare_default", "register_cost_probe", "ENTRY_POINT_GROUP", "PLUGINS_GROUP",
    "CodecError", "StageNotInstalledError", "TruncatedError", "install_hint",
    "check_coded", "check_bands", "coding_order", "plane_starts", "bands_needed", "flatten", "unflatten",
    "rans", "write_atomic", "check_output", "encode_forward", "threads", "torch_threads", "run_jobs", "release_free_memory",
    "from_samples", "to_samples",
]


def encode_forward(pipeline: Pipeline, image, quality: float):
    """The planes a pipeline's forward stages (colour, transform, quantizer) make of an
    8-bit H x W x C ``image`` at ``quality``, and their layout: what its entropy stage
    would code (training an entropy model counts these).

    Examples
    --------
    >>> import numpy as np
    >>> planes, layout = encode_forward(Pipeline("wavelet"), np.zeros((16, 16, 3), np.uint8), 50)
    >>> len(planes), layout[0].form, all(p.integer for p in layout)
    (3, 'subbands', True)
    """
    h, w, c = image.shape
    layouts = pipeline.layouts(h, w, c)
    ctx = pipeline.context(w, h, c, quality, bits=8)
    planes = pipeline.forward[0].encode_samples(image, layouts[0], ctx)
    for stage, layout in zip(pipeline.forward[1:], layouts[1:]):
        planes = stage.encode(planes, layout, ctx)
    return planes, layouts[-1]
