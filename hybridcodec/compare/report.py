"""Turning comparison points into curves, BD-rates, results.json/.csv, plots and a report."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from .._errors import CodecError
from .._metrics import bd_psnr, bd_rate
from .codecs import REFERENCE_CODECS, is_learned
from .metrics import msssim_backend

__all__ = ["write_outputs", "curves", "bd_table", "SCHEMA"]

SCHEMA = "hybridcodec-compare/1"
_FIELDS = ["codec", "image", "quality", "bytes", "bpp", "ratio", "psnr", "ssim", "ms-ssim", "encode_s", "decode_s"]
_RESULT_KEYS = {"bpp": "bpp", "psnr": "psnr-rgb", "ssim": "ssim-rgb", "ms-ssim": "ms-ssim-rgb",
                "ratio": "compression_ratio", "encode_s": "encoding_time", "decode_s": "decoding_time"}


_TIMES = ("encode_s", "decode_s")


def _db(ms):
    return [-10 * math.log10(max(1e-10, 1 - m)) if m == m else float("nan") for m in ms]


def curves(points: list[dict], codec: str, qualities) -> dict:
    """Mean of each measure over the images, per quality (CompressAI's ``results``)."""
    res = {"quality": []}
    for key in _RESULT_KEYS.values():
        res[key] = []
    for q in qualities:
        rows = [p for p in points if p["codec"] == codec and float(p["quality"]) == float(q)]
        if not rows:
            continue
        point = {}
        for src, key in _RESULT_KEYS.items():
            vals = [p[src] for p in rows if src in p and p[src] == p[src]]
            # times: the median (one slow image or a late compile must not set the figure)
            avg = np.median if src in _TIMES else np.mean
            point[key] = float(avg(vals)) if vals else float("nan")
        if res["quality"] and all(point[k] == res[k][-1] for k in ("bpp", "psnr-rgb") if k in point):
            continue  # the same file as the previous quality (a codec's knob saturates): one point
        res["quality"].append(q)
        for key, v in point.items():
            res[key].append(v)
    return {k: v for k, v in res.items() if v and not all(x != x for x in v)}


def _bd(ref, test, window):
    out = {}
    for label, fn in (("bd_rate_psnr", lambda: bd_rate(ref["bpp"], ref["psnr-rgb"], test["bpp"], test["psnr-rgb"],
                                                       window=window)),
                      ("bd_psnr", lambda: bd_psnr(ref["bpp"], ref["psnr-rgb"], test["bpp"], test["psnr-rgb"])),
                      ("bd_rate_msssim", lambda: bd_rate(ref["bpp"], _db(ref["ms-ssim-rgb"]), test["bpp"],
                                                         _db(test["ms-ssim-rgb"]), window=None))):
        try:
            out[label] = round(fn(), 4)
        except (CodecError, KeyError, ValueError):
            out[label] = None
    return out


def bd_table(results: dict, window) -> list[dict]:
    ref = results.get("jpeg")
    rows = []
    for name, res in results.items():
        row = {"codec": name, "reference": "jpeg", "window_db": list(window)}
        row.update(_bd(ref, res, window) if ref is not None else {})
        rows.append(row)
    return rows


def write_outputs(out: Path, settings, keys, images, points, say, crops=None) -> dict:
    from .codecs import hybrid_codec, reference_codec
    from .settings import settings_dict

    window = tuple(settings.bd_window)
    qualities = [float(q) for q in settings.qualities]
    codecs = []
    results = {}
    for kind, name in keys:
        codec = hybrid_codec(name) if kind == "hcx" else reference_codec(name)
        res = curves(points, name, qualities)
        if not res.get("quality"):
            continue
        results[name] = res
        entry = {"name": name, "description": codec.description, "results": res}
        cost = _cost(points, name)
        if cost:
            entry["cost"] = cost
        speed = _decode_speed(points, name)
        if speed is not None:
            entry["decode_ms_per_mp"] = speed
        kmacs = cost.get("decode_kmacs_px") if cost else (_stated_kmacs(name) if kind == "hcx" else None)
        if kmacs is not None:
            entry["decode_kmacs_px"] = kmacs
        codecs.append(entry)
    bd = bd_table(results, window)
    per_image_bd = []
    for image in images:
        ipoints = [p for p in points if p["image"] == image]
        ires = {name: curves(ipoints, name, qualities) for name in results}
        for row in bd_table({k: v for k, v in ires.items() if v.get("quality")}, window):
            per_image_bd.append({"image": image, **row})
    doc = {
        "schema": SCHEMA,
        "settings": settings_dict(settings),
        "images": images,
        "msssim_implementation": msssim_backend(),
        "environment": environment(),
        "codecs": codecs,
        "bd": bd,
        "bd_per_image": per_image_bd,
        "crops": crops or {},
        "points": sorted(points, key=lambda p: (p["codec"], p["image"], float(p["quality"]))),
    }
    _atomic_text(out / "results.json", json.dumps(doc, indent=1))
    cdir = out / "compressai"
    cdir.mkdir(exist_ok=True)
    for c in codecs:
        _atomic_text(cdir / f"{_safe(c['name'])}.json", json.dumps(c, indent=1))
    _write_csv(out / "results.csv", doc["points"])
    _plots(out, results, {r["codec"]: r.get("bd_rate_psnr") for r in bd})
    _cost_plot(out, codecs, {r["codec"]: r.get("bd_rate_psnr") for r in bd})
    _atomic_text(out / "report.md", _report(doc))
    say(_summary(doc))
    return doc


def _cost(points, name: str) -> dict:
    """A learned pipeline's counted cost (kMACs a pixel each way) and training budget,
    as the runner measured them on the first image (its points carry them)."""
    for p in points:
        if p["codec"] == name and "decode_kmacs_px" in p:
            return {k: p[k] for k in ("decode_kmacs_px", "encode_kmacs_px", "training") if k in p}
    return {}


def _decode_speed(points, name: str):
    """Median decode time in milliseconds a megapixel over a codec's points (None: none timed)."""
    vals = [1e3 * p["decode_s"] / (8.0 * p["bytes"] / p["bpp"] / 1e6) for p in points
            if p["codec"] == name and p.get("decode_s") == p.get("decode_s") and p.get("bpp")]
    return round(float(np.median(vals)), 2) if vals else None


def _stated_kmacs(name: str):
    """The decode kMACs a pixel a hybridcodec pipeline states (:meth:`Pipeline.macs`)."""
    from .._pipeline import Pipeline

    try:
        return round(Pipeline(name).macs()[0] / 1000, 3)
    except CodecError:
        return None


def anchors() -> list[dict]:
    """The published reference points of ``anchors.json`` (name, BD-rate against JPEG on
    Kodak, kMACs a pixel and decode time where published, a note and the source)."""
    path = Path(__file__).with_name("anchors.json")
    return json.loads(path.read_text(encoding="utf-8"))["anchors"]


def _cost_plot(out: Path, codecs: list, bd: dict) -> None:
    """rd_cost.png: BD-rate against JPEG over decode time (ms a megapixel, this run) and
    over the networks' decode kMACs a pixel, with the published anchors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [c for c in codecs if bd.get(c["name"]) is not None and c["name"] != "jpeg"]
    if not rows:
        return
    marks = anchors()
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6), dpi=100)
    floor = 0.01  # kMACs: where pipelines without a network sit on the log axis
    for c in rows:
        y = bd[c["name"]]
        ours = c["name"] not in REFERENCE_CODECS
        style = dict(marker="o" if ours else "s", color="tab:blue" if ours else "tab:gray", zorder=3)
        if c.get("decode_ms_per_mp"):
            left.scatter([c["decode_ms_per_mp"]], [y], **style)
            left.annotate(c["name"], (c["decode_ms_per_mp"], y), fontsize=7, xytext=(4, 3),
                          textcoords="offset points")
        if ours and c.get("decode_kmacs_px") is not None:
            x = max(c["decode_kmacs_px"], floor)
            right.scatter([x], [y], **style)
            right.annotate(c["name"], (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    for a in marks:
        label = ("~" if a.get("approximate") else "") + f"{a['bd_rate']:+.1f} % {a['name']} (published)"
        for ax, key in ((left, "decode_ms_per_mp"), (right, "kmacs")):
            if a.get(key):
                ax.scatter([a[key]], [a["bd_rate"]], marker="*", s=140, color="tab:red", zorder=4)
                ax.annotate(label, (a[key], a["bd_rate"]), fontsize=7, color="tab:red", xytext=(4, -10),
                            textcoords="offset points")
            elif "kmacs" not in a:  # a classical codec with no published time here: a line
                ax.axhline(a["bd_rate"], color="tab:red", ls="--", lw=0.8)
                ax.annotate(label, (0.01, a["bd_rate"]), xycoords=("axes fraction", "data"), fontsize=7,
                            color="tab:red", xytext=(0, 3), textcoords="offset points")
    left.set_xscale("log")
    left.set_xlabel("decode time, ms a megapixel (median over this run's files; published: theirs)")
    right.set_xscale("log")
    right.set_xlabel(f"decode kMACs a pixel of the networks and filters (none: plotted at {floor})")
    for ax in (left, right):
        ax.set_ylabel("BD-rate against jpeg, PSNR [%] (lower is better)")
        ax.grid(alpha=0.3, which="both")
    left.set_title("rate-distortion against decode time", fontsize=10)
    right.set_title("rate-distortion against multiplies (hybridcodec pipelines and published anchors)",
                    fontsize=10)
    fig.tight_layout()
    tmp = out / ".rd_cost.png.tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out / "rd_cost.png")


def _md(text: str) -> str:
    """Text for a Markdown table cell (a pipeline's '|' would split the cell)."""
    return str(text).replace("|", "\\|")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80]


def _atomic_text(path: Path, text: str) -> None:
    from .._files import write_atomic

    write_atomic(path, text.encode("utf-8"))


def _write_csv(path: Path, points):
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_FIELDS, extrasaction="ignore")
    w.writeheader()
    for p in points:
        w.writerow(p)
    _atomic_text(path, buf.getvalue())


_MARKERS = "osD^vP*Xhp<>"


def _styles(names, bd: dict) -> dict:
    """A style per curve that tells every curve apart: a colour of its own (tab10, then
    Dark2: no two light/dark pairs of one hue, as tab20 has),
    a marker, the line by kind (reference codecs dotted, hybridcodec's classical
    pipelines solid, learned ones dash-dotted); jpeg, the BD reference, black and
    dashed; the four best by BD-rate drawn thick and on top, the rest thin."""
    import matplotlib

    colours = list(matplotlib.colormaps["tab10"].colors) + list(matplotlib.colormaps["Dark2"].colors)
    ranked = sorted((n for n in names if n != "jpeg" and bd.get(n) is not None), key=lambda n: bd[n])
    best = set(ranked[:4])
    out = {}
    for i, name in enumerate(n for n in names if n != "jpeg"):
        learned = name not in REFERENCE_CODECS and _learned(name)
        ls = ":" if name in REFERENCE_CODECS else ("-." if learned else "-")
        tag = f" ({bd[name]:+.1f} %)" if bd.get(name) is not None else ""
        out[name] = {"ls": ls, "color": colours[i % len(colours)], "marker": _MARKERS[i % len(_MARKERS)], "ms": 4,
                     "lw": 2.4 if name in best else 1.2, "alpha": 1.0 if name in best else 0.75,
                     "zorder": 4 if name in best else 2,
                     "label": f"{name}{' (learned)' if learned else ''}{tag}"}
    out["jpeg"] = {"ls": "--", "lw": 2.6, "color": "black", "marker": "o", "ms": 3, "zorder": 5,
                   "label": "jpeg (BD reference)"}
    return out


_learned = is_learned  # the styles' test reads it under this name


def environment() -> dict:
    """Versions of everything that made the numbers, and the machine."""
    import os
    import platform
    import subprocess
    from importlib import metadata

    from .. import __version__

    from .._plugins import plugin_distributions

    versions = {"hybridcodec": __version__}
    versions.update((name, v) for name, v in plugin_distributions() if name != "hybridcodec")
    for dist in ("numpy", "scipy", "numba", "pillow", "opencv-python-headless",
                 "pywavelets", "torch", "pillow-heif", "imagecodecs", "scikit-image", "matplotlib"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        from PIL import features

        for lib in ("jpg", "webp", "jpg_2000", "avif", "zlib"):
            v = features.version(lib)
            if v:
                versions[f"pillow:{lib}"] = v
    except Exception:  # noqa: BLE001 - informational only
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"versions": versions, "hybridcodec_commit": commit, "python": platform.python_version(),
            "machine": platform.machine(), "system": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count()}


def _plots(out: Path, results: dict, bd: dict | None = None) -> None:
    """rd_psnr.png, rd_ssim.png, rd_msssim.png: every curve (legend ordered by BD-rate,
    each label with it) over the whole range, and beside it a zoom on 0-1.5 bpp, where
    the best curves lie close together."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bd = bd or {}
    names = sorted(results, key=lambda n: (n != "jpeg", bd.get(n) if bd.get(n) is not None else 1e9, n))
    styles = _styles(names, bd)
    top = max((max(r["bpp"]) for r in results.values() if r.get("bpp")), default=2.0)
    for fname, key, label, conv in (("rd_psnr.png", "psnr-rgb", "PSNR (RGB) [dB]", lambda v: v),
                                    ("rd_ssim.png", "ssim-rgb", "SSIM (RGB)", lambda v: v),
                                    ("rd_msssim.png", "ms-ssim-rgb", "MS-SSIM (RGB) [dB]", _db)):
        fig, (ax, zoom) = plt.subplots(1, 2, figsize=(14, 6), dpi=100)
        lo, hi = math.inf, -math.inf
        for name in names:
            res = results[name]
            if key not in res:
                continue
            y = conv(res[key])
            for a in (ax, zoom):
                a.plot(res["bpp"], y, **styles[name])
            inside = [v for b, v in zip(res["bpp"], y) if b <= 1.5 and v == v]
            if inside:
                lo, hi = min(lo, min(inside)), max(hi, max(inside))
        ax.set_xlim(0, top * 1.05)
        zoom.set_xlim(0, 1.5)
        if lo < hi:
            zoom.set_ylim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
        for a, title in ((ax, "whole range"), (zoom, "zoom: 0-1.5 bpp")):
            a.set_xlabel("bits per pixel")
            a.set_ylabel(label)
            a.grid(alpha=0.3)
            a.set_title(title, fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.8, 0.5), fontsize=8,
                       title="BD-rate vs jpeg (PSNR)", title_fontsize=8)
        fig.suptitle("rate-distortion, mean over images (thick: the four best by BD-rate)")
        fig.tight_layout(rect=(0, 0, 0.8, 0.96))
        tmp = out / f".{fname}.tmp.png"
        fig.savefig(tmp)
        plt.close(fig)
        tmp.replace(out / fname)


def _fmt(v, unit="%"):
    return "n/a" if v is None else f"{v:+.2f}{unit}"


def _report(doc) -> str:
    s = doc["settings"]
    lines = [
        "# hybridcodec compare",
        "",
        f"Images: {len(doc['images'])} ({s['data'] or 'scikit-image sample photos'}); qualities {s['qualities']}.",
        f"PSNR on RGB per image, then averaged; bpp from whole files; BD against `jpeg` (Pillow, default "
        f"settings), PSNR window {s['bd_window'][0]:g}-{s['bd_window'][1]:g} dB; MS-SSIM ({doc['msssim_implementation']})"
        " in dB, over the overlapping range.",
        "",
        "| codec | BD-rate (PSNR) | BD-PSNR | BD-rate (MS-SSIM) | mean encode s | mean decode s |",
        "|---|---|---|---|---|---|",
    ]
    times = {c["name"]: c["results"] for c in doc["codecs"]}
    for row in doc["bd"]:
        r = times[row["codec"]]
        lines.append(f"| {_md(row['codec'])} | {_fmt(row.get('bd_rate_psnr'))} | {_fmt(row.get('bd_psnr'), ' dB')} | "
                     f"{_fmt(row.get('bd_rate_msssim'))} | {np.mean(r['encoding_time']):.4f} | "
                     f"{np.mean(r['decoding_time']):.4f} |")
    lines += _cost_lines(doc)
    lines += ["", "![PSNR](rd_psnr.png) ![SSIM](rd_ssim.png) ![MS-SSIM](rd_msssim.png)", ""]
    lines += _speed_lines(doc)
    if doc.get("crops"):
        c = doc["crops"]
        span = c.get("bpp_range") or [c["target_bpp"]] * 2
        lines += [f"## The same crop at {c['target_bpp']:.2f} bpp ({c['image']}; the files: "
                  f"{span[0]:.3f}-{span[1]:.3f} bpp)", "", "![crops](crops.png)", ""]
    lines += ["## Per image (BD-rate, PSNR, vs jpeg)", "",
              "| image | " + " | ".join(_md(r["codec"]) for r in doc["bd"]) + " |",
              "|---|" + "---|" * len(doc["bd"])]
    for image in doc["images"]:
        rows = {r["codec"]: r for r in doc["bd_per_image"] if r["image"] == image}
        lines.append(f"| {image} | " + " | ".join(_fmt(rows.get(r["codec"], {}).get("bd_rate_psnr"))
                                                  for r in doc["bd"]) + " |")
    return "\n".join(lines) + "\n"


#: What a larger training budget is known to buy, for the report's reader (a source).
BUDGET_NOTE = (
    "The learned rows were trained on this project's budget, a CPU for the hours shown. The literature's "
    "learned codecs are trained far longer: CompressAI's pretrained models (among them Ballé et al. 2018's "
    "mean-scale hyperprior, the design of the learned transform here) were trained for 4-5 M steps on GPUs, \"one or two "
    "weeks\" each (CompressAI documentation, \"Image compression\" model zoo, "
    "https://interdigitalinc.github.io/CompressAI/zoo.html), and the literature puts that hyperprior near "
    "-55 % BD-rate against JPEG on Kodak: a gap between a learned row here and its design's published figure "
    "is largely budget.")


def _speed_lines(doc) -> list:
    bd = {r["codec"]: r.get("bd_rate_psnr") for r in doc["bd"]}
    rows = [c for c in doc["codecs"] if c.get("decode_ms_per_mp") is not None]
    if not rows:
        return []
    rows.sort(key=lambda c: (bd.get(c["name"]) is None, bd.get(c["name"]) or 0))
    lines = ["## Rate-distortion against cost", "",
             "Decode time a megapixel (median over this run's files, on this machine), the decode kMACs a pixel "
             "each hybridcodec pipeline states (its networks and filters; `hybridcodec stages`), and published "
             "reference points (`hybridcodec/compare/anchors.json`, sources there; ~ marks values read from a "
             "statement of parity).", "",
             "| codec | BD-rate (PSNR) | decode ms/MP | decode kMACs/pixel |", "|---|---|---|---|"]
    for c in rows:
        k = c.get("decode_kmacs_px")
        lines.append(f"| {_md(c['name'])} | {_fmt(bd.get(c['name']))} | {c['decode_ms_per_mp']:.1f} | "
                     f"{'' if k is None else f'{k:.3g}'} |")
    for a in anchors():
        lines.append(f"| {a['name']} (published) | {'~' if a.get('approximate') else ''}{a['bd_rate']:+.1f}% | "
                     f"{a.get('decode_ms_per_mp', '')} | {a.get('kmacs', '')} |")
    return lines + ["", "![RD against cost](rd_cost.png)", ""]


def _cost_lines(doc) -> list:
    rows = [(c["name"], c["cost"]) for c in doc["codecs"] if c.get("cost")]
    if not rows:
        return []
    bd = {r["codec"]: r.get("bd_rate_psnr") for r in doc["bd"]}
    lines = ["", "## Learned pipelines: what they cost", "",
             "Networks' multiply-accumulates (convolutions and matrix products, counted by torch while coding "
             "the first image at the middle quality) and the training of the weights each pipeline read "
             "(from the weights' records; fine-tuned weights count the training they started from).", "",
             "| pipeline | BD-rate (PSNR) | decode kMACs/pixel | encode kMACs/pixel | training steps | "
             "training CPU-hours | device | weights |",
             "|---|---|---|---|---|---|---|---|"]
    for name, cost in rows:
        t = cost.get("training") or {}
        lines.append(f"| {_md(name)} | {_fmt(bd.get(name))} | {cost.get('decode_kmacs_px', float('nan')):.1f} | "
                     f"{cost.get('encode_kmacs_px', float('nan')):.1f} | {t.get('steps', 'n/a')} | "
                     f"{t.get('cpu_hours', 'n/a')} | {t.get('device', 'n/a')} | {', '.join(t.get('artefacts', []))} |")
    return lines + ["", BUDGET_NOTE]


def _summary(doc) -> str:
    out = [f"{'codec':28} {'BD-rate PSNR':>13} {'BD-PSNR':>9} {'BD-rate MS-SSIM':>16}"]
    for row in doc["bd"]:
        out.append(f"{row['codec'][:28]:28} {_fmt(row.get('bd_rate_psnr')):>13} {_fmt(row.get('bd_psnr'), ' dB'):>9} "
                   f"{_fmt(row.get('bd_rate_msssim')):>16}")
    return "\n".join(out)
