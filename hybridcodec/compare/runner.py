"""Running a comparison: tasks (one codec on one image, every quality), in this
process, in a process pool or on a Dask cluster, with results appended to disk as
they complete so that an interrupted run resumes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .._tasks import run_tasks
from .codecs import REFERENCE_CODECS, Codec, hybrid_codec, is_learned, measure_cost, reference_codec
from .._errors import CodecError
from .data import check_sources, image_sources, load_image
from .metrics import compute
from .settings import CompareSettings

__all__ = ["CompareSettings", "run_compare", "run_task", "POINTS_FILE"]

POINTS_FILE = "points.jsonl"


_CODECS: dict = {}
_WARM: set = set()  # codecs this process has run once


def _codec(key) -> Codec:
    if key not in _CODECS:
        kind, name = key
        _CODECS[key] = hybrid_codec(name) if kind == "hcx" else reference_codec(name)
    return _CODECS[key]


def run_task(task) -> list[dict]:
    """One codec on one image at every quality; returns one record per quality (a task
    flagged to, for a learned pipeline, also what its networks cost)."""
    key, image, source, qualities, metrics, *flags = task
    count_cost = flags[0] if flags else True
    codec = _codec(tuple(key))
    img = load_image(source)
    raw = img.size
    if tuple(key) not in _WARM:  # warm-up, once a process (numba compiles, torch and weights load): not timed
        codec.decode(codec.encode(img, qualities[0]))
        _WARM.add(tuple(key))
    out = []
    for q in qualities:
        t0 = time.perf_counter()
        data = codec.encode(img, q)
        t1 = time.perf_counter()
        dec = codec.decode(data)
        t2 = time.perf_counter()
        rec = {"codec": key[1], "image": image, "quality": q, "bytes": len(data),
               "bpp": 8.0 * len(data) / (img.shape[0] * img.shape[1]), "ratio": raw / len(data),
               "encode_s": t1 - t0, "decode_s": t2 - t1}
        rec.update(compute(metrics, img, dec))
        out.append(rec)
    if count_cost and key[0] == "hcx" and is_learned(key[1]):
        from .._plugins import cost_probes

        probes = cost_probes()
        if probes:  # what the networks cost: counted once, at the middle quality, untimed
            cost = measure_cost(codec, img, qualities[len(qualities) // 2], probes)
            for rec in out:
                rec.update(cost)
    return out


def _available(settings: CompareSettings, say) -> list:
    keys = [("hcx", p) for p in settings.pipelines]
    names = list(settings.codecs)
    if "jpeg" not in names:
        names.insert(0, "jpeg")  # the reference of every BD-rate
    for name in names:
        if name not in REFERENCE_CODECS:
            raise ValueError(f"unknown codec {name!r}; known: {', '.join(REFERENCE_CODECS)}")
        try:
            reference_codec(name)
        except ImportError as exc:
            say(f"skipping {name}: {exc} (pip install 'hybridcodec[compare]' installs every reference codec)")
            continue
        keys.append(("ref", name))
    for key in keys:
        if key[0] == "hcx":
            hybrid_codec(key[1])  # raise now on a bad spec
    return keys


def _load_points(path: Path) -> list[dict]:
    points = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                points.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by an interruption
    return points


def run_compare(settings: CompareSettings, say=print) -> dict:
    """Run (or resume) a comparison and write every output into ``settings.out``."""
    from .report import write_outputs

    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = _available(settings, say)
    images = check_sources(image_sources(settings.data), say)
    if not images:
        raise CodecError("no image left to compare (see the notes above)")
    qualities = [float(q) for q in settings.qualities]
    points_path = out / POINTS_FILE
    done = {(p["codec"], p["image"], float(p["quality"])) for p in _load_points(points_path)
            if all(m in p for m in settings.metrics)}
    tasks = []
    # image by image, every codec on each: each stretch of the run holds the same mix of slow
    # (learned) and fast codecs, so the progress bar's estimate holds from the first image on
    # (codec by codec, it jumped from 42 to 7 to 37 minutes)
    for name, source in images:
        for key in keys:
            todo = [q for q in qualities if (key[1], name, q) not in done]
            if todo:  # the cost of a learned pipeline's networks: counted on the first image only
                tasks.append((key, name, source, todo, list(settings.metrics), name == images[0][0]))
    if len(done):
        say(f"resuming: {len(done)} results already in {points_path}")
    interrupted = False
    with open(points_path, "a") as sink:
        def keep(records):
            for r in records:
                sink.write(json.dumps(r) + "\n")
            sink.flush()
            os.fsync(sink.fileno())

        try:
            _execute(tasks, settings, keep)
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        say(f"interrupted: completed results are in {points_path}; run the same command to resume")
        raise KeyboardInterrupt
    wanted = {k[1] for k in keys}
    names = {n for n, _ in images}
    points = [p for p in _load_points(points_path)
              if p["codec"] in wanted and p["image"] in names and float(p["quality"]) in set(qualities)]
    # the newest record wins if a point was computed twice
    latest = {}
    for p in points:
        latest[(p["codec"], p["image"], float(p["quality"]))] = p
    crops = _crops(out, keys, images, list(latest.values()), say)
    return write_outputs(out, settings, keys, [n for n, _ in images], list(latest.values()), say, crops=crops)


def _crops(out: Path, keys, images, points, say) -> dict:
    """crops.png: one image's crop from every codec at about the same bpp."""
    from .crops import write_crops

    name, source = images[0]
    try:
        return write_crops(out / "crops.png", {k[1]: _codec(tuple(k)) for k in keys}, name, load_image(source), points)
    except (CodecError, OSError, ValueError) as exc:  # the picture is a bonus: never lose the results for it
        say(f"no crops picture: {exc}")
        return {}


def _execute(tasks, settings: CompareSettings, keep) -> None:
    run_tasks(run_task, tasks, keep, jobs=settings.jobs, scheduler=settings.scheduler,
              progress=settings.progress, desc="compare")
