"""The picture of a comparison: the same crop of one image from every codec at the same
bpp (each codec's quality searched until its file is within 2 % of the target, where
its knob allows), side by side, each labelled with its codec, bpp and PSNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_crops", "CROP"]

CROP = 192  # pixels on a side, shown at twice the size
COLUMNS = 4


def _busiest(img: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the crop with the most detail (gradient energy), on a coarse grid."""
    g = img.astype(np.float32).mean(axis=2)
    energy = np.abs(np.diff(g, axis=0))[:, :-1] + np.abs(np.diff(g, axis=1))[:-1]
    h, w = energy.shape
    best, at = -1.0, (0, 0)
    for y in range(0, max(1, h - size + 1), size // 4):
        for x in range(0, max(1, w - size + 1), size // 4):
            e = float(energy[y : y + size, x : x + size].mean())
            if e > best:
                best, at = e, (y, x)
    return at


def _matched(codec, img: np.ndarray, target: float, points: list[dict], tries: int = 8):
    """(quality, file) of ``codec`` whose bpp on ``img`` is nearest ``target``: the
    measured ``points`` bracket it, then bisection on the quality (whole numbers for
    the reference codecs, whose knobs take no fractions) until within 2 %."""
    pixels = img.shape[0] * img.shape[1]
    from .codecs import REFERENCE_CODECS

    hcx = codec.name not in REFERENCE_CODECS  # hybridcodec's qualities take fractions
    tried = {}

    def bpp_at(q):
        if q not in tried:
            tried[q] = codec.encode(img, q)
        return 8.0 * len(tried[q]) / pixels

    known = sorted((float(p["quality"]), float(p["bpp"])) for p in points)
    lo = max((q for q, b in known if b <= target), default=1.0)
    hi = min((q for q, b in known if b >= target and q >= lo), default=100.0)
    for _ in range(tries):
        mid = round((lo + hi) / 2, 2) if hcx else float(round((lo + hi) / 2))
        if mid <= lo or mid >= hi:  # the knob has no setting in between
            break
        b = bpp_at(mid)
        if abs(b - target) <= 0.02 * target:
            break
        if b < target:
            lo = mid
        else:
            hi = mid
    for q in (lo, hi):
        bpp_at(q)
    q = min(tried, key=lambda q: abs(bpp_at(q) - target))
    return q, tried[q]


def write_crops(path: Path, codecs: dict, image_name: str, img: np.ndarray, points: list[dict],
                target_bpp: float | None = None) -> dict:
    """Encode ``img`` with each codec (``name -> Codec``) at the quality whose measured bpp
    on this image is nearest ``target_bpp`` (default: the median over codecs of each
    codec's bpp nearest 0.5), and write the labelled crops to ``path`` (PNG).  Returns
    what each tile shows (codec, quality, bpp, PSNR)."""
    from PIL import Image, ImageDraw, ImageFont

    from .._metrics import psnr

    mine = {}
    for p in points:
        if p["image"] == image_name and p["codec"] in codecs:
            mine.setdefault(p["codec"], []).append(p)
    if not mine:
        return {}
    if target_bpp is None:
        near = [min(ps, key=lambda p: abs(p["bpp"] - 0.5))["bpp"] for ps in mine.values()]
        target_bpp = float(np.median(near))
    size = min(CROP, img.shape[0], img.shape[1])
    y, x = _busiest(img, size)
    tiles, shown = [], []
    original = img[y : y + size, x : x + size]
    tiles.append((original, "original"))
    for name in [n for n in codecs if n in mine]:  # the report's order, not the order results came in
        ps, codec = mine[name], codecs[name]
        q, data = _matched(codec, img, target_bpp, ps)
        dec = np.asarray(codec.decode(data))
        if dec.ndim == 2:
            dec = np.repeat(dec[:, :, None], 3, axis=2)
        bpp = 8.0 * len(data) / (img.shape[0] * img.shape[1])
        db = psnr(img, dec[:, :, :3])
        tiles.append((dec[y : y + size, x : x + size, :3], f"{name}\n{bpp:.3f} bpp  {db:.2f} dB"))
        shown.append({"codec": name, "quality": q, "bpp": bpp, "psnr": db})
    scale, label_h = 2, 44
    tw, th = size * scale, size * scale + label_h
    rows = -(-len(tiles) // COLUMNS)
    sheet = Image.new("RGB", (COLUMNS * tw, rows * th), "white")
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=16)
    except TypeError:  # Pillow before 10.1: the small bitmap font
        font = ImageFont.load_default()
    for i, (tile, label) in enumerate(tiles):
        r, c = divmod(i, COLUMNS)
        im = Image.fromarray(np.ascontiguousarray(tile.astype(np.uint8))).resize((tw, tw), Image.NEAREST)
        sheet.paste(im, (c * tw, r * th))
        draw.multiline_text((c * tw + 4, r * th + tw + 2), label, fill="black", font=font)
    tmp = path.with_name(f".{path.name}.tmp.png")
    sheet.save(tmp)
    tmp.replace(path)
    return {"image": image_name, "target_bpp": target_bpp, "crop": [int(y), int(x), size], "tiles": shown,
            "bpp_range": [min(t["bpp"] for t in shown), max(t["bpp"] for t in shown)]}
