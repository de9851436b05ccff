"""A per-user cache of validated packs, so that a start of the command line does not re-validate.

Loading a pack parses some hundred kilobytes of YAML and verifies every quote against its shipped
source: most of what ``posology check`` spends before it judges anything. The result is an
immutable :class:`~posology.knowledge.schema.Pack`, so it is stored once validated and read back
on the next start, under a key that covers everything the result depends on:

- the pack file's name and bytes (the name is recorded in every rule, so it is part of the key);
- the bytes of every other file the load read (a base pack it ``extends``, the sources its quotes
  are verified against), kept in the entry as a list of names and hashes and compared with the
  files beside the pack before the entry is served, so editing any of them is a miss;
- the source of the code that builds a pack (this package, ``posology.units`` and the records
  of ``posology.frozen``) and the
  Python version, so a changed loader or interpreter never reads an old entry.

A pack that fails validation is never stored: its error is raised by a full load every time.

The cache can only make a load faster, never make it fail: an entry that is missing, corrupt,
unreadable or from another version is a miss, and a folder that cannot be written is skipped.
``POSOLOGY_PACK_CACHE=off`` turns it off. Entries are pickles read by an unpickler that builds
only the pack's own record types, and only from a regular file owned by the current user that
no one else can write, in a folder created ``0o700``; so a planted file is neither trusted nor
able to run code.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..frozen import fields_of, is_record
from ..units import Unit, unit
from .schema import Pack

if TYPE_CHECKING:
    from os import PathLike

    Folder = str | PathLike[str]

CACHE_VARIABLE = "POSOLOGY_PACK_CACHE"
MAGIC = "posology-pack-cache/1"
KEEP = 32
"""Entries kept in the folder; a store removes the oldest beyond this (edits make new keys)."""

Manifest = tuple[tuple[str, str], ...]
"""The files a load read besides the pack file itself: (name relative to the pack, hash)."""


def enabled() -> bool:
    """False when ``POSOLOGY_PACK_CACHE`` is ``off`` (or ``0``, ``no``, ``false``)."""
    return os.environ.get(CACHE_VARIABLE, "").strip().lower() not in ("off", "0", "no", "false")


def folder() -> str | None:
    """``$XDG_CACHE_HOME/posology/packs`` (``~/.cache`` when unset); None without a home.

    Paths here are ``os.path`` text, not :mod:`pathlib` objects: a start served from the cache
    would otherwise import pathlib (and ``urllib.parse`` with it) for nothing."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not base or not os.path.isabs(base):
        home = os.path.expanduser("~")
        if home == "~" or not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "posology", "packs")


def _hasher() -> Callable[..., Any]:
    """BLAKE2b from the interpreter's built-in module: ``hashlib`` would load OpenSSL first,
    which costs more at start-up than hashing every file of the pack."""
    try:
        from _blake2 import blake2b
    except ImportError:  # an interpreter built without it
        from hashlib import blake2b
    return blake2b


_blake2b = _hasher()


def _hash(data: bytes = b"") -> Any:
    return _blake2b(data, digest_size=32)


def digest(data: bytes) -> str:
    """A 256-bit BLAKE2b hash of some bytes, in hexadecimal."""
    return str(_hash(data).hexdigest())


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """A hash of the code that shapes a validated pack and of the interpreter that runs it."""
    from .. import frozen, units

    h = _hash(f"{MAGIC}\0{sys.version}\0{sys.implementation.cache_tag}".encode())
    here = os.path.dirname(os.path.realpath(__file__))
    for path in [
        *sorted(os.path.join(here, n) for n in os.listdir(here) if n.endswith(".py")),
        units.__file__ or "",
        frozen.__file__ or "",
    ]:
        h.update(os.path.basename(path).encode() + b"\0")
        try:
            with open(path, "rb") as source:
                h.update(source.read())
        except OSError:
            h.update(b"unreadable")
    return str(h.hexdigest())


def key(name: str, data: bytes) -> str:
    """The entry's key for a pack file by its name and bytes."""
    h = _hash(_code_digest().encode())
    h.update(name.encode("utf-8", "surrogateescape") + b"\0")
    h.update(data)
    return str(h.hexdigest())


# -- reading --------------------------------------------------------------------------------


def _proxy(items: dict[str, Any]) -> MappingProxyType[str, Any]:
    """How a stored read-only mapping is rebuilt (``mappingproxy`` cannot be pickled as is)."""
    return MappingProxyType(items)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = fields_of(cls)
    return names


def _record(cls: type, values: tuple[object, ...]) -> object:
    """How a stored frozen record is rebuilt: its fields set as they were, without ``__init__``.

    Several times faster than the dataclass's own ``__setstate__``, which looks its fields up
    again for every one of the pack's hundreds of quantities.
    """
    record: object = object.__new__(cls)
    for name, value in zip(_field_names(cls), values, strict=True):
        object.__setattr__(record, name, value)
    return record


def _unit(values: tuple[object, ...]) -> object:
    """How a stored unit is rebuilt: as the very instance ``units.unit`` gives for its code when
    that is the same unit, so that the quick identity tests of quantity comparisons hold for a
    cached pack as they do for one read from YAML."""
    stored = _record(Unit, values)
    try:
        known = unit(str(getattr(stored, "code", None)))
    except Exception:  # a unit that only arithmetic makes, not a spelling
        return stored
    return known if known == stored else stored


_RECORD_MODULES = frozenset({"posology.knowledge.schema", "posology.units"})
_EXTRA: dict[tuple[str, str], Callable[[], object]] = {
    ("fractions", "Fraction"): lambda: __import__("fractions").Fraction,
    ("decimal", "Decimal"): lambda: __import__("decimal").Decimal,
    (__name__, "_proxy"): lambda: _proxy,
    (__name__, "_record"): lambda: _record,
    (__name__, "_unit"): lambda: _unit,
}


def _unpickler(stream: io.BytesIO) -> Any:
    import _pickle  # the C unpickler itself; the ``pickle`` module adds only start-up time

    class RecordsOnly(_pickle.Unpickler):
        """Builds the pack's record types and exact numbers; refuses every other global."""

        def find_class(self, module: str, name: str, /) -> Any:
            extra = _EXTRA.get((module, name))
            if extra is not None:
                return extra()
            if module in _RECORD_MODULES and name.isidentifier():
                found = super().find_class(module, name)
                if isinstance(found, type) and found.__module__ == module:
                    return found
            raise _pickle.UnpicklingError(f"{module}.{name} is not a pack record")

    return RecordsOnly(stream)


def _trusted_bytes(path: Folder) -> bytes | None:
    """The file's bytes if it is a regular file of this user that nobody else can write."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return None
        chunks = []
        while chunk := os.read(fd, max(info.st_size, 1 << 16)):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _fresh(manifest: object, pack_folder: Folder) -> bool:
    """True when every file the stored load read still has the bytes it had then."""
    if not isinstance(manifest, tuple):
        return False
    for entry in manifest:
        if not (isinstance(entry, tuple) and len(entry) == 2):
            return False
        name, expected = entry
        try:
            with open(os.path.join(pack_folder, name), "rb") as file:
                if digest(file.read()) != expected:
                    return False
        except (OSError, TypeError):
            return False
    return True


def fetch(entry_key: str, pack_folder: Folder) -> Pack | None:
    """The validated pack stored under the key, if its other files are unchanged; else None."""
    where = folder()
    if where is None:
        return None
    data = _trusted_bytes(os.path.join(where, f"{entry_key}.pickle"))
    if data is None:
        return None
    import gc

    # Thousands of new containers would set off collections that walk every object of the
    # process, several times the cost of the load itself; none of them can be garbage yet.
    collecting = gc.isenabled()
    gc.disable()
    try:
        stored = _unpickler(io.BytesIO(data)).load()
    except Exception:  # a corrupt entry, whatever it raises, is a miss
        return None
    finally:
        if collecting:
            gc.enable()
    if not (isinstance(stored, tuple) and len(stored) == 4):
        return None
    magic, stored_key, manifest, pack = stored
    if magic != MAGIC or stored_key != entry_key or not isinstance(pack, Pack):
        return None
    if not _fresh(manifest, pack_folder):
        return None
    return pack


# -- writing --------------------------------------------------------------------------------


def _dumps(payload: object) -> bytes:
    import pickle

    class Records(pickle.Pickler):
        def reducer_override(self, obj: object) -> Any:
            cls = type(obj)
            if cls is MappingProxyType:
                return (_proxy, (dict(obj),))  # type: ignore[call-overload]
            if cls.__module__ in _RECORD_MODULES and is_record(cls):
                values = tuple(getattr(obj, n) for n in _field_names(cls))
                if cls is Unit:
                    return (_unit, (values,))
                return (_record, (cls, values))
            return NotImplemented

    out = io.BytesIO()
    Records(out, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    return out.getvalue()


def _private_folder(where: str) -> bool:
    """Make ``…/posology/packs`` (each level ours, 0o700) and say whether it can be used."""
    from pathlib import Path

    path = Path(where)
    for level in (path.parent, path):
        try:
            level.mkdir(mode=0o700, parents=level == path.parent, exist_ok=True)
        except OSError:
            return False
    try:
        info = path.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not (hasattr(os, "getuid") and info.st_uid != os.getuid())


def store(entry_key: str, pack: Pack, manifest: Manifest) -> None:
    """Store a validated pack under its key (temp file, then an atomic rename); never raises."""
    where = folder()
    if where is None:
        return
    try:
        data = _dumps((MAGIC, entry_key, manifest, pack))
    except Exception:  # a pack that cannot be stored is simply not cached
        return
    if not _private_folder(where):
        return
    import contextlib
    import tempfile

    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, os.path.join(where, f"{entry_key}.pickle"))
        tmp = None
    except OSError:
        return
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _prune(where)


def _prune(where: str) -> None:
    """Keep the newest :data:`KEEP` entries: each edit of a pack leaves an entry behind."""
    import contextlib
    from pathlib import Path

    try:
        entries = [
            (p.stat().st_mtime_ns, p)
            for p in Path(where).glob("*.pickle")
            if not p.name.startswith(".")
        ]
    except OSError:
        return
    entries.sort(reverse=True)
    for _, old in entries[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
