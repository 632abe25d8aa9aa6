"""Safe file output: atomic writes that never clobber what the user did not ask to."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ._errors import CodecError

__all__ = ["write_atomic", "check_output"]


def check_output(out: Path, inputs: list[Path], force: bool) -> None:
    """Refuse to overwrite an existing file (above all an input) unless ``force``."""
    if out.is_dir():
        raise CodecError(f"{out} is a directory; give a file name")
    if not out.exists():
        return
    for inp in inputs:
        try:
            same = out.samefile(inp)
        except OSError:
            same = False
        if same:  # not even with --force: the output is written from the input
            raise CodecError(f"refusing to overwrite the input {inp} with the output; give another output name")
    if not force:
        raise CodecError(f"{out} already exists; use --force to overwrite it")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place,
    so readers see either the old file or the complete new one."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CodecError(f"folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
