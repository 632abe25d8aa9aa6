"""What a learned pipeline costs, as ``compare`` reports it (registered with
:func:`hybridcodec.plugin.register_cost_probe` by :mod:`.declare`): the
multiply-accumulates its networks run, counted by torch's own ``FlopCounterMode``
(convolutions and matrix products; a MAC is two of its FLOPs), and the training budget
of the weight files it read, from their records (steps, CPU-hours, device), the
budgets of the files they were fine-tuned from included.

Examples
--------
>>> from hybridcodec_learned.cost import budget
>>> from hybridcodec_learned import weights
>>> b = budget([weights.get("postfilter-lifting").file])
>>> b["artefacts"], b["device"]
(['postfilter-lifting', 'postfilter-dwt'], 'cpu')
>>> b["steps"] > 10000 and b["cpu_hours"] > 1
True
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path

from . import weights

__all__ = ["probe", "budget"]


@contextmanager
def probe():
    """Count the MACs of the torch networks run inside, and note the weight files read;
    the yielded dict gets ``macs`` and ``training`` on leaving."""
    from torch.utils.flop_counter import FlopCounterMode

    from .stages._torch import use_torch

    use_torch()
    seen = weights.watch()
    counter = FlopCounterMode(display=False)
    out: dict = {}
    try:
        with counter:
            yield out
    finally:
        weights.unwatch(seen)
    out["macs"] = int(counter.get_total_flops()) // 2
    if seen:
        out["training"] = budget(sorted(seen))


def _threads(record: dict) -> int:
    m = re.match(r"\s*(\d+) torch threads?", record.get("machine") or "")
    return int(m.group(1)) if m else 1


def budget(paths) -> dict:
    """The training budget of the weight files ``paths`` (their ``.json`` records), and of
    the files each was fine-tuned from (``init``, looked for beside it): total steps,
    CPU-hours (training seconds x torch threads), devices, artefact names."""
    steps, cpu_s, devices, names, done = 0, 0.0, [], [], set()
    todo = [Path(p) for p in paths]
    while todo:
        path = todo.pop(0)
        rec_path = path.with_suffix(".json")
        if rec_path in done or not rec_path.exists():
            continue
        done.add(rec_path)
        try:
            rec = json.loads(rec_path.read_text())
        except (OSError, ValueError):
            continue
        names.append(rec.get("artefact") or path.stem)
        steps += int(rec.get("steps") or 0)
        cpu_s += float(rec.get("training_seconds") or 0.0) * _threads(rec)
        dev = str(rec.get("device") or "unknown").split(" ")[0]
        if dev not in devices:
            devices.append(dev)
        init = rec.get("init")
        if isinstance(init, dict) and init.get("file"):
            todo.append(path.parent / Path(init["file"]).name)
    return {"steps": steps, "cpu_hours": round(cpu_s / 3600, 2), "device": "+".join(devices),
            "artefacts": names}
