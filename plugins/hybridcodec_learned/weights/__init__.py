"""The weights layer: every file a learned stage reads, found, loaded, checked and written
in one place.

An :class:`Artefact` is one kind of file a stage needs (a network's weights, an entropy
model): its name (the file's stem), the :mod:`format <.formats>` that reads and writes it,
how many bytes of its sha256 a coded file keeps (and which shorter or longer digests
older files keep), the retired files that are still shipped so that the files made with
them decode, the environment variable that points it elsewhere, and the command that
trains it.  The shipped ones are listed in one table (:mod:`.shipped`); plugins and
tests add theirs with :func:`register`.

Every artefact is read the same way: the file (or ``HYBRIDCODEC_WEIGHTS_NAME``'s), torch
only where the format needs it and then with its weights-only loader (no pickle), the
sha256 of the bytes, errors as :class:`hybridcodec.CodecError` naming the file and the
command that makes it, one cache.  A decoder asks :meth:`Artefact.find` for the file
whose digest a coded file names: today's, else a retired one, else a clear error.

Examples
--------
>>> from hybridcodec_learned import weights
>>> a = weights.get("postfilter-lifting")
>>> a.format, a.family, a.digest, a.env
('postfilter', 'lifting', 4, 'HYBRIDCODEC_WEIGHTS_POSTFILTER_LIFTING')
>>> [p.name for p in a.retired_paths()]
['postfilter-lifting-20261127.pt']
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from hybridcodec import CodecError
from hybridcodec.plugin import write_atomic

from .formats import FORMATS, Format, register_format

__all__ = ["Artefact", "Loaded", "register", "get", "artefacts", "load_file", "clear_cache", "save",
           "write_record", "read_record", "RECORD_SCHEMA", "SHIPPED", "Format", "FORMATS", "register_format",
           "is_shipped", "watch", "unwatch"]

#: The folder of the shipped files (artefacts without a folder of their own live here).
SHIPPED = Path(__file__).resolve().parent
_REAL_SHIPPED = SHIPPED
#: The one schema of the ``.json`` record beside every weight file.
RECORD_SCHEMA = "hybridcodec-learned/record/1"
_RECORD_KEYS = ("schema", "artefact", "format", "file", "sha256", "command", "steps", "seed", "training_seconds",
                "device", "machine", "trained_with", "init", "settings", "fingerprints", "history", "notes")


class Loaded(NamedTuple):
    """A read file: what its format made of it, the sha256 of its bytes, where it lay."""

    obj: Any
    digest: bytes
    path: Path


@dataclass(frozen=True)
class Artefact:
    """One kind of file a stage reads (see the module's docstring)."""

    name: str  #: the file's stem and the registry key (``postfilter-lifting``)
    format: str  #: a key of :data:`FORMATS`
    label: str  #: how messages name it (``cnn weights``, ``ctxrans model``)
    train: str  #: the command that makes it
    family: str = ""  #: the transform family it serves ("" for any)
    digest: int = 32  #: bytes of its sha256 a coded file keeps
    read_digests: tuple = ()  #: other lengths older files keep, still read
    retired: tuple = ()  #: replaced files (``NAME-YYYYMMDD.ext``), read only to decode the files made with them
    folder: Path | None = None  #: None: the shipped folder
    preset: str = ""  #: post-filters: the preset whose output ``train postfilter`` learns on

    @property
    def file(self) -> Path:
        """Where the file lies unless :attr:`env` points elsewhere."""
        return Path(self.folder or SHIPPED) / f"{self.name}{FORMATS[self.format].suffix}"

    @property
    def env(self) -> str:
        """The environment variable that names another file for it (to measure a rerun of
        its training without touching the shipped file: coded files say which they used)."""
        return "HYBRIDCODEC_WEIGHTS_" + self.name.upper().replace("-", "_")

    @property
    def digest_lengths(self) -> tuple:
        return (self.digest,) + tuple(self.read_digests)

    def path(self) -> Path:
        other = os.environ.get(self.env)
        return Path(other) if other else self.file

    def retired_paths(self) -> list[Path]:
        return [Path(self.folder or SHIPPED) / r for r in self.retired]

    def load(self) -> Loaded:
        """Today's file (:meth:`path`), read and cached."""
        p = self.path()
        if not p.exists():
            if os.environ.get(self.env):
                raise CodecError(f"{self.env} names {p}, which is not a file (it stands for the {self.label} that "
                                 f"`{self.train}` makes); unset it to use the shipped file")
            raise CodecError(f"{self.label} file {p} is missing; make it with `{self.train}` or reinstall the plugin "
                             "that ships it (hybridcodec-learned)")
        return load_file(self.format, str(p), self.label)

    def find(self, stored: bytes, also=()) -> Loaded:
        """The file whose sha256 begins with ``stored`` (a coded file's digest): today's,
        else a retired one, else one of ``also`` (other artefacts of the format: a ``cnn``
        file may name another family's weights).  CodecError when none has it."""
        have = self.load()
        if have.digest[: len(stored)] == stored:
            return have
        for p in self.retired_paths() + [q for a in also for q in [a.path()] + a.retired_paths()]:
            if p.exists():
                other = load_file(self.format, str(p), self.label)
                if other.digest[: len(stored)] == stored:
                    return other
        raise CodecError(f"this file was made with {self.label} sha256 {stored.hex()[:16]}..., but the installed "
                         f"{have.path.name} is {have.digest.hex()[:16]}...; install the hybridcodec-learned version "
                         "that made the file")


_REGISTRY: dict[str, Artefact] = {}


def register(artefact: Artefact) -> Artefact:
    """Make ``artefact`` known by its name (the same name again replaces it: a test or a
    rerun may point an artefact at other files)."""
    if not isinstance(artefact, Artefact):
        raise TypeError("weights.register takes an Artefact")
    if artefact.format not in FORMATS:
        raise ValueError(f"artefact {artefact.name!r} has format {artefact.format!r}; known: {', '.join(FORMATS)}")
    _REGISTRY[artefact.name] = artefact
    return artefact


def get(name: str) -> Artefact:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise CodecError(f"no weights named {name!r} are registered; known: {', '.join(sorted(_REGISTRY))}") from None


def artefacts(format: str | None = None, family: str | None = None) -> list[Artefact]:
    """The registered artefacts, of one format and family if given, in registration order."""
    return [a for a in _REGISTRY.values()
            if (format is None or a.format == format) and (family is None or a.family == family)]


#: Sets of the paths read while they are in the list (:func:`watch`).
_WATCHERS: list = []


def load_file(format: str, path: str, label: str = "weights") -> Loaded:
    """Read any file of ``format`` (cached by path: a decoder reads its weights once)."""
    for seen in _WATCHERS:
        seen.add(str(Path(path)))
    return _load_file(format, path, label)


def watch() -> set:
    """Start noting the files :func:`load_file` is asked for into the returned set
    (what a pipeline ran on, for its training budget); :func:`unwatch` stops."""
    seen: set = set()
    _WATCHERS.append(seen)
    return seen


def unwatch(seen: set) -> None:
    _WATCHERS[:] = [w for w in _WATCHERS if w is not seen]  # by identity: empty sets are equal


@lru_cache(maxsize=16)
def _load_file(format: str, path: str, label: str) -> Loaded:
    fmt = FORMATS[format]
    p = Path(path)
    if fmt.needs_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise CodecError(f"{label} need torch, which is not installed; install torch's CPU build: "
                             "pip install torch==2.13.0") from None
    try:
        blob = p.read_bytes()
        obj = fmt.read(p)
    except Exception as exc:  # a damaged or foreign file: say which and why
        raise CodecError(f"cannot read {label} {p}: {exc}") from None
    return Loaded(obj, hashlib.sha256(blob).digest(), p)


def clear_cache() -> None:
    _load_file.cache_clear()


def is_shipped(path: Path) -> bool:
    """True for a path in the shipped weights folder (training refuses to write there
    unless told: every file made with the old weights would fail to decode)."""
    return Path(path).resolve().parent in (_REAL_SHIPPED, Path(SHIPPED).resolve())


def save(format: str, path: Path, obj) -> None:
    """Write ``obj`` as a file of ``format``, atomically (never half a file)."""
    FORMATS[format].write(Path(path), obj)


def write_record(path: Path, artefact: str, format: str, **fields) -> dict:
    """Write the ``.json`` record beside the weight file ``path``: the one schema
    (:data:`RECORD_SCHEMA`), with the file's name and sha256 filled in; fields not given
    are null, and keys outside the schema are refused."""
    path = Path(path)
    unknown = set(fields) - set(_RECORD_KEYS)
    if unknown:
        raise ValueError(f"not in the record schema: {', '.join(sorted(unknown))}")
    record = {k: None for k in _RECORD_KEYS}
    record.update(fields)
    record.update(schema=RECORD_SCHEMA, artefact=artefact, format=format, file=path.name,
                  sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    write_atomic(path.with_suffix(".json"), (json.dumps(record, indent=1) + "\n").encode())
    return record


def read_record(path: Path) -> dict:
    """The record beside the weight file ``path``."""
    return json.loads(Path(path).with_suffix(".json").read_text())


from . import shipped as _shipped  # noqa: E402,F401  registers the shipped artefacts
