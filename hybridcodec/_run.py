"""Running a pipeline over an image's planes: one code path for the colour planes and
for the alpha plane (coded by an ordinary pipeline, ``ALPHA_PIPELINE``)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._errors import CodecError
from ._heap import release_free_memory
from ._pipeline import Pipeline
from ._progress import step
from ._stage import Context

__all__ = ["ALPHA_PIPELINE", "encode_planes", "reconstruct", "encode_alpha", "decode_alpha"]

#: Alpha planes are stored losslessly, beside the colour pipeline, by this pipeline.
ALPHA_PIPELINE = "int53|arith"


def encode_planes(pipe: Pipeline, arr: np.ndarray, quality: float) -> tuple[bytes, Context, list]:
    """Run the forward stages and the entropy stage on ``arr`` (uint8 or uint16, H x W x C).
    Returns the coded payload, the context (holding the stages' side data) and the layouts."""
    h, w, c = arr.shape
    bits = 16 if arr.dtype == np.uint16 else 8
    layouts = pipe.layouts(h, w, c)
    ctx = pipe.context(w, h, c, quality, bits=bits)
    ctx.model = pipe.model(layouts)
    ctx.reuse_planes = True
    if pipe.forward:  # the first stage reads the samples (centred on 0: 128, or 32768 for 16 bits)
        step(pipe.forward[0].name)
        planes = pipe.forward[0].encode_samples(arr, layouts[0], ctx)
    else:
        from ._samples import from_samples

        planes = from_samples(arr)
    for stage, layout in zip(pipe.forward[1:], layouts[1:]):
        # soft values in place of indexes: only from the stage right before an entropy stage that takes them
        ctx.soft = None
        ctx.want_soft = pipe.entropy.uses_soft and stage is pipe.forward[-1]
        step(stage.name)
        planes = stage.encode(planes, layout, ctx)
        release_free_memory(h * w)
    ctx.want_soft = False
    step(pipe.entropy.name)
    return pipe.entropy.encode(planes, layouts[-1], ctx), ctx, layouts


def reconstruct(pipe: Pipeline, layouts, payload: bytes, ctx: Context, out: np.ndarray | None = None):
    """Entropy decode and inverse stages: float32 H x W x C image on the sample scale
    (0..255, or 0..65535 for 16-bit images); or, given ``out`` (H x W x C, uint8 or
    uint16), the rounded samples written into its first channels, and None."""
    ctx.model = pipe.model(layouts)
    ctx.reuse_planes = True
    step(pipe.entropy.name)
    planes = pipe.entropy.decode(payload, layouts[-1], ctx)
    pixels = ctx.width * ctx.height
    for stage, layout in zip(reversed(pipe.forward[1:]), reversed(layouts[1:-1])):
        release_free_memory(pixels)
        step(stage.name)
        planes = stage.decode(planes, layout, ctx)
    release_free_memory(pixels)
    if out is not None:
        if pipe.forward:
            pipe.forward[0].decode_samples(planes, layouts[0], ctx, out)
        else:
            from ._samples import to_samples

            to_samples(planes, out)
        return None
    if pipe.forward:
        planes = pipe.forward[0].decode(planes, layouts[0], ctx)
    image = _channels_of_one_array(planes)
    if image is None:
        image = _planes_of_one_buffer(planes)
    if image is None:
        image = np.dstack(planes).astype(np.float32, copy=False)
    del planes
    image += np.float32(1 << (ctx.bits - 1))
    return image


def _channels_of_one_array(planes):
    """The float32 H x W x C array whose channels ``planes`` are (views, as the colour
    stages return them), or None: then the image is stacked anew (one image, not two)."""
    base = getattr(planes[0], "base", None) if len(planes) else None
    if not isinstance(base, np.ndarray) or base.dtype != np.float32 or base.ndim != 3:
        return None
    if base.shape[2] != len(planes) or not base.flags.c_contiguous or not base.flags.writeable:
        return None
    for c, p in enumerate(planes):
        if p.base is not base or p.shape != base.shape[:2] or p.strides != base[..., c].strides:
            return None
        if p.__array_interface__["data"][0] != base[..., c].__array_interface__["data"][0]:
            return None
    return base


def _planes_of_one_buffer(planes):
    """An H x W x C float32 view of planes that lie one after another in one buffer (as
    the entropy stage and the in-place stages after it leave them), or None."""
    if not planes:
        return None
    p0 = planes[0]
    for c, p in enumerate(planes):
        if not isinstance(p, np.ndarray) or p.dtype != np.float32 or p.shape != p0.shape or p.ndim != 2:
            return None
        if not p.flags.c_contiguous or not p.flags.writeable or p.base is None or p.base is not p0.base:
            return None
        if p.__array_interface__["data"][0] != p0.__array_interface__["data"][0] + c * p0.nbytes:
            return None
    view = np.lib.stride_tricks.as_strided(p0, shape=(*p0.shape, len(planes)),
                                           strides=(*p0.strides, p0.nbytes), writeable=True)
    # a 1-pixel-tall or -wide image's view is Fortran-contiguous: a kernel type of its own
    # for the post-filters to compile (seconds, once); such an image is copied instead
    return view if view.flags.c_contiguous or not view.flags.f_contiguous else None


@lru_cache(maxsize=1)
def _alpha_pipeline() -> Pipeline:
    return Pipeline(ALPHA_PIPELINE)


def encode_alpha(alpha: np.ndarray) -> bytes:
    """The payload of an ``ALPH`` chunk for a uint8 or uint16 H x W alpha plane."""
    return encode_planes(_alpha_pipeline(), alpha[:, :, None], 100)[0]


def decode_alpha(payload: bytes, h: int, w: int, ctx: Context) -> np.ndarray:
    """The alpha plane (float32, on the image's sample scale), reduced like the colour planes."""
    pipe = _alpha_pipeline()
    actx = pipe.context(w, h, 1, 100, reduce=ctx.reduce, allow_truncated=ctx.allow_truncated, bits=ctx.bits,
                        version=ctx.version)
    try:
        return reconstruct(pipe, pipe.layouts(h, w, 1), payload, actx)[:, :, 0]
    except CodecError as exc:
        raise CodecError(f"alpha plane: {exc}") from None
