"""``hybridcodec batch``: convert a folder tree (images to .hcx, .hcx to PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._tasks import run_tasks

__all__ = ["BatchSettings", "plan_batch", "convert_one", "run_batch"]

_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".webp", ".gif"}


@dataclass
class BatchSettings:
    src: str
    dst: str
    preset: str | None = None
    pipeline: str | None = None
    quality: float | None = None
    target_bpp: float | None = None
    jobs: int = 1
    scheduler: str | None = None
    progress: bool = True


def plan_batch(settings: BatchSettings) -> tuple[list[tuple[str, str]], int]:
    """``(input, output)`` pairs still to do, and how many are already done."""
    from ._errors import CodecError

    src, dst = Path(settings.src).resolve(), Path(settings.dst).resolve()
    if not src.is_dir():
        raise CodecError(f"{settings.src} is not a folder")
    if dst == src or src in dst.parents:
        raise CodecError("the output folder must not be the input folder or inside it "
                         "(its files would be read back as inputs)")
    pairs = []
    for path in sorted(src.rglob("*")):
        if not path.is_file():
            continue
        ext = path.suffix.lower()
        if ext == ".hcx":
            pairs.append((path, dst / path.relative_to(src).with_suffix(".png")))
        elif ext in _IMAGE_EXT:
            pairs.append((path, dst / path.relative_to(src).with_suffix(".hcx")))
    # inputs that would share an output (a.png and a.jpg -> a.hcx) keep their extension
    # in the name (a.png.hcx, a.jpg.hcx), so that no output overwrites another
    count: dict = {}
    for _, out in pairs:
        count[out] = count.get(out, 0) + 1
    pairs = [(p, o if count[o] == 1 else o.with_name(p.name + o.suffix)) for p, o in pairs]
    names = [o for _, o in pairs]
    if len(set(names)) != len(names):
        clash = sorted({str(o) for o in names if names.count(o) > 1})
        raise CodecError(f"inputs would share output names: {', '.join(clash[:10])}; rename them first")
    todo, done = [], 0
    for path, out in pairs:
        if out.exists():
            done += 1
        else:
            todo.append((str(path), str(out)))
    return todo, done


def convert_one(job) -> tuple[str, str | None]:
    """Convert one file; returns ``(input, error message or None)``.  Never raises."""
    src, dst, options = job
    try:
        from . import _codec
        from ._files import write_atomic
        from ._imagefiles import hcx_to_image, read_image

        out = Path(dst)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            return src, None  # done meanwhile (another worker, an earlier run)
        if src.lower().endswith(".hcx"):
            write_atomic(out, hcx_to_image(Path(src).read_bytes(), "PNG", out)[0])
        else:
            im, info = read_image(Path(src))
            data = _codec.encode(im, exif=info.get("exif") or None, icc_profile=info.get("icc_profile") or None,
                                 xmp=info.get("xmp") or None, **options)
            write_atomic(out, data)
        return src, None
    except Exception as exc:  # reported per file; the batch goes on
        return src, f"{type(exc).__name__}: {exc}"


def run_batch(settings: BatchSettings, say=print) -> list[tuple[str, str]]:
    """Convert everything not yet converted; returns the failures ``(input, error)``."""
    todo, done = plan_batch(settings)
    options = {k: v for k, v in (("preset", settings.preset), ("pipeline", settings.pipeline),
                                 ("quality", settings.quality), ("target_bpp", settings.target_bpp))
               if v is not None}
    if options:
        from . import _codec

        _codec._pipeline_for(options.get("preset"), options.get("pipeline"))  # bad options: fail before starting
    if done:
        say(f"{done} files already converted; skipping them")
    jobs = [(s, d, options) for s, d in todo]
    failures = []

    def record(result):
        if result[1] is not None:
            failures.append(result)

    run_tasks(convert_one, jobs, record, jobs=settings.jobs, scheduler=settings.scheduler,
              progress=settings.progress, desc="batch", unit="file")
    for src, err in failures:
        say(f"failed: {src}: {err}")
    say(f"{len(jobs) - len(failures)} converted, {len(failures)} failed, {done} skipped")
    return failures
