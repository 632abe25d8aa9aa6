"""The shipped weights: one table.  Each row is an :class:`~.Artefact`; its file and
its ``.json`` record lie in this folder.  A weight file that replaces another keeps the
old one here as ``NAME-YYYYMMDD.ext`` and names it in ``retired``, so that the files made
with it still decode."""

from __future__ import annotations

from . import Artefact, register

_PF = dict(format="postfilter", label="cnn weights", digest=4, read_digests=(8, 32))
_LIFT = dict(format="lifting", digest=4, read_digests=(8,))

SHIPPED_ARTEFACTS = (
    # the cnn post-filter, one per transform family (the preset whose output it learns)
    Artefact("postfilter-dct", family="dct", preset="baseline",
             train="hybridcodec train postfilter --preset baseline", **_PF),
    Artefact("postfilter-dwt", family="dwt", preset="wavelet",
             train="hybridcodec train postfilter --preset wavelet", **_PF),
    Artefact("postfilter-learned", family="learned", preset="learned",
             train="hybridcodec train postfilter --preset learned", **_PF),
    Artefact("postfilter-lifting", family="lifting", preset="lifting", retired=("postfilter-lifting-20261127.pt",),
             train="hybridcodec train postfilter --preset lifting", **_PF),
    # the learned transforms
    Artefact("learned", format="learned", label="learned weights", family="learned",
             train="hybridcodec train transform --model learned"),
    Artefact("dcnn", format="dcnn", label="dcnn weights", family="dcnn",
             train="hybridcodec train transform --model dcnn"),
    Artefact("lifting", label="lifting weights", family="lifting", retired=("lifting-20261127.pt",),
             train="hybridcodec train transform --model lifting", **_LIFT),
    Artefact("lifting-joint", label="lifting-joint weights", family="lifting-joint",
             train="hybridcodec train transform --model lifting-joint", **_LIFT),
    # the ctxrans entropy model: fitted on CDF 9/7 (any family), and trained with lifting-joint
    Artefact("ctxrans", format="ctxrans", label="ctxrans model", digest=8,
             train="hybridcodec train entropy"),
    Artefact("ctxrans-lifting-joint", format="ctxrans", label="ctxrans model", family="lifting-joint", digest=8,
             train="hybridcodec train transform --model lifting-joint"),
)

for _a in SHIPPED_ARTEFACTS:
    register(_a)
