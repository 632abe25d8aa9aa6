"""Pillow plugin for .hcx: ``import hybridcodec.pillow`` (or call
``hybridcodec.register_pillow()``) and Pillow opens and saves .hcx like any format.

    >>> import hybridcodec.pillow
    >>> from PIL import Image
    >>> import io
    >>> buf = io.BytesIO()
    >>> Image.new("RGB", (40, 30), "teal").save(buf, "HCX", quality=90)
    >>> im = Image.open(buf)
    >>> im.format, im.size, im.mode
    ('HCX', (40, 30), 'RGB')
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFile

from ._codec import decode, encode
from ._container import FILE_STAGE, MAGIC, METADATA, read_container, read_head, scan_chunks
from ._errors import CodecError, TruncatedError
from ._image import MODES, codec_mode

__all__ = ["HcxImageFile", "register"]

FORMAT, MIME, EXTENSION = "HCX", "image/x-hcx", ".hcx"


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class HcxImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "hybridcodec image"

    def _open(self) -> None:
        if not _accept(self.fp.read(len(MAGIC))):
            raise SyntaxError("not an HCX file")
        self.fp.seek(-len(MAGIC), io.SEEK_CUR)
        try:
            header, count = read_head(self.fp)
        except CodecError as exc:
            raise SyntaxError(f"broken HCX header: {exc}") from None
        self._size = (header.width, header.height)
        # 16-bit grey is Pillow's I;16; Pillow has no 16-bit RGB mode, so 16-bit colour
        # opens as 8-bit RGB(A) (value / 257), as Pillow's PNG plugin does with 48-bit PNGs
        self._mode = "I;16" if header.bits == 16 and header.channels == 1 else MODES[header.channels]
        self.info["bits"] = header.bits
        self.info["pipeline"] = header.spec
        self.info["quality"] = header.quality
        found = scan_chunks(self.fp, count, lambda ctype, stage: stage == FILE_STAGE and ctype in METADATA,
                             header.version)
        for (ctype, _), payload in found.items():
            self.info[METADATA[ctype]] = payload
        self._reduce_factor = 1
        self._full = self.size
        # a tile so that Pillow sees pixels waiting; load() replaces it by the decoded image
        self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), 0, self.mode)]

    n_frames = 1  # a still image, as Pillow's single-frame plugins report
    is_animated = False

    # -- scalable decoding -------------------------------------------------------
    def draft(self, mode, size):
        """Pick the largest reduction (8, 4, 2) that keeps the image at least ``size``;
        decoding then reads only the coarse data."""
        if not self.tile or self._reduce_factor != 1 or size is None:
            return None
        full = self._full
        scale = 1
        for s in (8, 4, 2):
            if -(-full[0] // s) >= size[0] and -(-full[1] // s) >= size[1]:
                scale = s
                break
        if scale == 1:
            return None
        self._reduce_factor = scale
        self._size = (-(-full[0] // scale), -(-full[1] // scale))
        self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), 0, self.mode)]
        return self.mode, (0, 0, full[0] / scale, full[1] / scale)

    def load(self):
        if self.tile and self.tile[0][0] == "raw" and not isinstance(self.fp, _Decoded):
            self.fp.seek(0)
            data = self.fp.read()
            try:
                pixels = decode(data, reduce=self._reduce_factor, max_pixels=None,
                                allow_truncated=ImageFile.LOAD_TRUNCATED_IMAGES)
            except TruncatedError as exc:
                raise OSError(f"image file is truncated ({exc})") from None
            except CodecError as exc:
                raise OSError(f"cannot decode HCX file: {exc}") from None
            if pixels.ndim == 3 and pixels.shape[2] == 1:
                pixels = pixels[:, :, 0]
            if pixels.dtype == np.uint16:
                pixels = (pixels.astype("<u2") if self.mode == "I;16"
                          else np.rint(pixels / 257.0).astype(np.uint8))
            if self._exclusive_fp:
                self.fp.close()
            self.fp = _Decoded(np.ascontiguousarray(pixels).tobytes())
            self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), 0, self.mode)]
        return super().load()

    def load_seek(self, pos: int) -> None:
        # defined so that Pillow never memory-maps the .hcx file as if it held raw pixels
        self.fp.seek(pos)

    @property  # type: ignore[override]
    def reduce(self):
        """As in Pillow's JPEG 2000 plugin: set ``im.reduce = n`` (0..3) before loading
        to decode at 1/2**n size; otherwise this is Pillow's ``Image.reduce`` method."""
        level = self._reduce_factor.bit_length() - 1
        return level or super().reduce

    @reduce.setter
    def reduce(self, value: int) -> None:
        if not self.tile or isinstance(self.fp, _Decoded):
            raise ValueError("set reduce before the image is loaded")
        if value not in (0, 1, 2, 3):
            raise ValueError(f"reduce must be 0..3 (a factor of 1, 2, 4 or 8); got {value!r}")
        full = self._full_size()
        self._reduce_factor = 1 << value
        self._size = (-(-full[0] // self._reduce_factor), -(-full[1] // self._reduce_factor))
        self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), 0, self.mode)]

    def _full_size(self):
        f = self._reduce_factor
        return self._full if f > 1 else self.size

    def verify(self) -> None:
        """Check every chunk's length and CRC, without decoding pixels."""
        self.fp.seek(0)
        try:
            read_container(self.fp.read())
        except CodecError as exc:
            raise SyntaxError(f"broken HCX file: {exc}") from None


class _Decoded(io.BytesIO):
    """The decoded pixels, as the file object Pillow's raw decoder reads."""


def _save(im: Image.Image, fp, filename) -> None:
    info = im.encoderinfo
    try:
        im = codec_mode(im)
    except CodecError:
        raise OSError(f"cannot write mode {im.mode} as HCX") from None
    exif = info.get("exif", im.info.get("exif"))
    if isinstance(exif, Image.Exif):
        exif = exif.tobytes()
    icc = info.get("icc_profile", im.info.get("icc_profile"))
    xmp = info.get("xmp", im.info.get("xmp"))
    preset, pipeline = info.get("preset"), info.get("pipeline")
    if info.get("lossless"):
        if pipeline is not None or preset not in (None, "lossless"):
            raise ValueError("lossless=True chooses the pipeline; leave out preset= and pipeline=")
        preset = "lossless"
    try:
        targets = {k: info[k] for k in ("target_bpp", "target_psnr", "max_bytes") if info.get(k) is not None}
        data = encode(im, preset=preset, pipeline=pipeline, quality=info.get("quality"),
                      exif=exif or None, icc_profile=icc or None, xmp=xmp or None, **targets)
    except CodecError as exc:
        raise ValueError(f"cannot write HCX: {exc}") from None
    fp.write(data)


def register() -> None:
    """Register the HCX format with Pillow (open, save, extension, MIME type)."""
    Image.register_open(FORMAT, HcxImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)


register()
