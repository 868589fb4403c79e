"""A cache of validated catalog files, so that a run skips TOML parsing and validation.

Entries are keyed on the catalog files' bytes (read once: the same bytes are parsed) and on the
code that validates them; a missing, stale, foreign or damaged entry is ignored and the catalog
loaded afresh. The cache lives in `$ADVISOR_CACHE_DIR`, else `$XDG_CACHE_HOME/qwen-advisor`
(an absolute XDG path only), else `~/.cache/qwen-advisor`; `ADVISOR_NO_CACHE=1` turns it off.

Entries are JSON documents decoded back into the record types, so reading one can never run
code. The directory is created 0700 and used only while it is a real directory (not a symlink)
owned by this user and writable by nobody else; an entry is opened without following links or
blocking, and read only if it is a regular file owned by this user whose stored key matches.
Writes are atomic and best-effort; pruning removes only the entry names this module writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import stat
import sys
import time
import types
import typing
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypeVar

from advisor.data.records import field_types

try:  # hashlib's own BLAKE2, without the OpenSSL load `import hashlib` costs (4 ms a start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons without the private module
    from hashlib import blake2b

T = TypeVar("T")
KEEP_PER_KIND = 8

# Modules whose code decides what a valid catalog is: editing one invalidates the cache.
VALIDATING_MODULES = (
    "data/schema.py", "data/records.py", "data/validation.py", "data/params.py",
    "data/loader.py", "data/hardware.py", "data/formats.py", "ranking/rules.py", "data/cache.py",
)
"""Paths under the package whose source decides what a cache entry holds."""


SUFFIX = ".json"
ENTRY = re.compile(r"^[a-z]+-[0-9a-f]{32}\.json$")  # the only names written (and pruned)
STALE_TEMP_S = 600  # a temporary file older than this was left by a killed run
_READ: dict[str, bytes] = {}  # file bytes read for a key, so the parse sees the same bytes


def flag(name: str) -> bool:
    """An environment switch: set and not 0/false/no/off/empty."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def directory() -> Path | None:
    """The cache directory, or None when the cache is off."""
    if flag("ADVISOR_NO_CACHE"):
        return None
    if os.environ.get("ADVISOR_CACHE_DIR"):
        return Path(os.environ["ADVISOR_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "qwen-advisor"


def trusted(where: Path, create: bool = False) -> bool:
    """Whether `where` is a real directory of this user's that nobody else can write."""
    try:
        if create:
            where.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(where, 0o700)
        info = os.lstat(where)
    except (OSError, ValueError):
        return False
    own = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and own and not info.st_mode & 0o022


@lru_cache(maxsize=1)
def code_fingerprint() -> bytes:
    """Python version and the validating modules' source: read once per process."""
    digest = blake2b(sys.version.encode())
    package = Path(__file__).parents[1]
    for name in VALIDATING_MODULES:
        path = package / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.digest()


def key(raws: list[bytes]) -> str:
    digest = blake2b(code_fingerprint())
    for raw in raws:
        digest.update(len(raw).to_bytes(8, "little") + raw)
    return digest.hexdigest()[:32]


def location(kind: str, raws: list[bytes]) -> Path | None:
    """Where the validated result of these file contents is kept (None: cache off)."""
    where = directory()
    if where is None:
        return None
    return where / f"{kind}-{key(raws)}{SUFFIX}"


def read_file(path: Path) -> bytes:
    """A file's bytes. While `load` builds an entry, the bytes its key was made of: the parse
    sees exactly what was hashed, and a pipe or FIFO is read once."""
    found = _READ.get(str(path))
    if found is not None:
        return found
    with open(path, "rb") as f:
        return f.read()


def read(path: Path | None, kind: type[T]) -> T | None:
    """The cached object, or None when absent, foreign, not a regular file, or damaged."""
    from advisor.commandline.helpcache import read_owned

    if path is None or not trusted(path.parent) or (data := read_owned(str(path))) is None:
        return None
    try:
        document = json.loads(data)
        if document.get("key") != path.name.removesuffix(SUFFIX):
            return None
        found: T = decode(kind, document["data"])
        return found
    except Exception:  # damaged, written by other code, or not a `kind`: load afresh
        return None


def write(path: Path | None, value: object) -> None:
    """Store `value` atomically; failing to cache never fails the command."""
    if path is None or not trusted(path.parent, create=True):
        return
    import tempfile

    document = {"key": path.name.removesuffix(SUFFIX), "data": encode(value)}
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:  # json.dump would encode in Python
                f.write(json.dumps(document, separators=(",", ":"), allow_nan=False))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        prune(path)
    except (OSError, ValueError, TypeError):
        pass


def prune(newest: Path, keep: int = KEEP_PER_KIND) -> None:
    """Drop all but the `keep` most recent entries of `newest`'s kind, and temporary files of
    killed runs; only names this module writes are touched."""
    kind = newest.name.split("-")[0]
    entries = []
    now = time.time()
    for entry in os.scandir(newest.parent):
        if ENTRY.match(entry.name) and entry.name.startswith(f"{kind}-"):
            entries.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
        elif (entry.name.startswith(".tmp-") and entry.name.endswith(SUFFIX)
              and now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_S):
            os.unlink(entry.path)
    for _, stale in sorted(entries, reverse=True)[keep:]:
        os.unlink(stale)


def load(kind: str, paths: Sequence[Path], build: Callable[[], T], result: type[T]) -> T:
    """`build()`'s result for these files, from the cache while their bytes are unchanged.

    Each file is read once (`read_file`): `build` parses the same bytes through
    `loader.read_raw`, so its errors are never cached and the key matches the content."""
    try:
        raws = [read_file(path) for path in paths]
    except OSError:
        return build()  # build names the unreadable file
    store = location(kind, raws)
    found = read(store, result)
    if found is not None:
        return found
    _READ.update({str(path): raw for path, raw in zip(paths, raws, strict=True)})
    try:
        value = build()
    finally:
        for path in paths:
            _READ.pop(str(path), None)
    write(store, value)
    return value


# --- records as JSON data and back -----------------------------------------------------------

def encode(value: Any) -> Any:
    """A record (and what it holds) as JSON data: lists, objects, strings, numbers. A record is
    the list of its field values in field order: its decoder knows the names, and a document
    without them parses in half the time."""
    fields = getattr(type(value), "__record_fields__", None)
    if fields is not None:
        return [encode(getattr(value, name)) for name in fields]
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot cache a {type(value).__name__}")


def decode(kind: Any, data: Any) -> Any:
    """JSON data back into `kind`, checking every type on the way; raises on a mismatch."""
    return _decoder(kind)(data)


def _check(kind: type, data: Any, what: str) -> Any:
    if type(data) is not kind:
        raise TypeError(f"expected {what}")
    return data


def _exact(*kinds: type) -> Callable[[Any], Any]:
    """A decoder of values kept as JSON gives them (str, bool, int, null): only their type is
    checked. It carries those types, so a record or a list checks its items inline."""

    def check(data: Any) -> Any:
        if type(data) not in kinds:
            raise TypeError(f"expected {' or '.join(k.__name__ for k in kinds)}")
        return data

    check.exact = kinds  # type: ignore[attr-defined]
    return check


def _number(nullable: bool) -> Callable[[Any], Any]:
    """A decoder of a float (JSON may give an int), and None where `nullable`: `float | None`
    in one call, not a union trying each member. It carries `number`, so a union finds it."""

    def number(data: Any) -> Any:
        if type(data) is int:
            return float(data)
        if type(data) is float or (nullable and data is None):
            return data
        raise TypeError("expected a number")

    number.number = nullable  # type: ignore[attr-defined]
    return number


NONE = type(None)
SIMPLE: dict[Any, Callable[[Any], Any]] = {
    str: _exact(str),
    bool: _exact(bool),
    int: _exact(int),
    NONE: _exact(NONE),
    float: _number(nullable=False),
    dt.date: lambda d: dt.date.fromisoformat(_check(str, d, "a date")),
    Any: lambda d: d,
}


@cache
def _decoder(kind: Any) -> Callable[[Any], Any]:
    """A function turning JSON data into `kind`, built once per type. A record's decoder checks
    its fields of plain JSON types and its Literal fields inline, and calls the others'."""
    if isinstance(kind, type) and hasattr(kind, "__record_fields__"):
        names = kind.__record_fields__
        hints = field_types(kind)  # what get_type_hints gives, without its cost
        parts = [(i, name, _decoder(hints[name])) for i, name in enumerate(names)]
        plain = tuple((i, name, part.exact) for i, name, part in parts if hasattr(part, "exact"))
        chosen = tuple((i, name, part.allowed) for i, name, part in parts
                       if hasattr(part, "allowed"))
        other = tuple((i, name, part) for i, name, part in parts
                      if not hasattr(part, "exact") and not hasattr(part, "allowed"))
        count = len(names)

        def record(data: Any) -> Any:
            if type(data) is not list or len(data) != count:
                raise TypeError(f"expected the {count} field values of {kind.__name__}")
            values = {}
            for i, name, kinds in plain:
                value = data[i]
                if type(value) not in kinds:
                    raise TypeError(f"{kind.__name__}.{name}: unexpected {type(value).__name__}")
                values[name] = value
            for i, name, allowed in chosen:
                value = data[i]
                if value not in allowed:
                    raise ValueError(f"{kind.__name__}.{name}: {value!r} is not allowed")
                values[name] = value
            for i, name, part in other:
                values[name] = part(data[i])
            made: Any = object.__new__(kind)  # validated before it was cached: no __post_init__
            made.__dict__.update(values)
            return made

        return record
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Annotated:
        return _decoder(args[0])
    if origin in (typing.Union, types.UnionType):
        if sum(_read_as_list(a) for a in args) > 1:  # records are lists too: which one is it?
            raise TypeError(f"cannot decode {kind}: more than one member is a JSON list")
        options = tuple(_decoder(a) for a in args if a is not NONE)
        nullable = NONE in args
        if len(options) == 1 and hasattr(options[0], "number"):
            return _number(nullable)
        if all(hasattr(o, "exact") for o in options):
            found = {k for o in options for k in getattr(o, "exact", ())}
            return _exact(*found, *((NONE,) if nullable else ()))

        def union(data: Any) -> Any:
            if data is None and nullable:
                return None
            for option in options:
                try:
                    return option(data)
                except (TypeError, ValueError, KeyError):  # noqa: PERF203 (the next member)
                    continue
            raise TypeError(f"no member of {kind} fits")

        return union
    if origin is typing.Literal:
        allowed = frozenset(args)

        def literal(data: Any) -> Any:
            if data not in allowed:
                raise ValueError(f"{data!r} is not an allowed value")
            return data

        literal.allowed = allowed  # type: ignore[attr-defined]  # a record checks it inline
        return literal
    if origin in (tuple, list):
        item = _decoder(args[0]) if args else _decoder(Any)
        make = tuple if origin is tuple else list
        kinds = getattr(item, "exact", None)
        if kinds is not None:  # a list of strings: one pass, no call per item
            def items(data: Any) -> Any:
                if type(data) is not list or not all(type(v) in kinds for v in data):
                    raise TypeError(f"expected a list of {kinds}")
                return make(data)

            return items
        return lambda data: make([item(v) for v in _check(list, data, "a list")])
    if origin is dict:
        k, v = _decoder(args[0]), _decoder(args[1])
        return lambda data: {k(a): v(b) for a, b in _check(dict, data, "an object").items()}
    if kind in SIMPLE:
        return SIMPLE[kind]
    raise TypeError(f"cannot decode {kind}")


def _read_as_list(kind: Any) -> bool:
    """Whether values of `kind` are JSON lists in the cache: records, tuples and lists."""
    if typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    is_record = isinstance(kind, type) and hasattr(kind, "__record_fields__")
    return is_record or typing.get_origin(kind) in (tuple, list)
