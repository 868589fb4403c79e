"""A cache of validated catalog files, so that a run skips TOML parsing and validation.

Entries are keyed on the catalog files' bytes and on the code that validates them; a missing,
stale or unreadable entry is ignored and the catalog loaded afresh. The cache lives in
`$ADVISOR_CACHE_DIR`, else `$XDG_CACHE_HOME/qwen-advisor`, else `~/.cache/qwen-advisor`;
`ADVISOR_NO_CACHE=1` turns it off. Writes are atomic and best-effort (a read-only home is fine).
Entries are pickles, so only files owned by the current user are read.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

try:  # hashlib's own BLAKE2, without the OpenSSL load `import hashlib` costs (4 ms a start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons without the private module
    from hashlib import blake2b

T = TypeVar("T")
KEEP_PER_KIND = 8

# Modules whose code decides what a valid catalog is: editing one invalidates the cache.
VALIDATING_MODULES = (
    "schema.py", "records.py", "validation.py", "params.py", "loader.py", "hardware.py",
    "formats.py", "rules.py", "cache.py",
)


def directory() -> Path | None:
    if os.environ.get("ADVISOR_NO_CACHE"):
        return None
    if os.environ.get("ADVISOR_CACHE_DIR"):
        return Path(os.environ["ADVISOR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "qwen-advisor"


@lru_cache(maxsize=1)
def code_fingerprint() -> bytes:
    """Python version and the validating modules' source: read once per process."""
    digest = blake2b(sys.version.encode())
    package = Path(__file__).parent
    for name in VALIDATING_MODULES:
        digest.update((package / name).read_bytes())
    return digest.digest()


def location(kind: str, raws: list[bytes]) -> Path | None:
    """Where the validated result of these file contents is kept (None: cache off)."""
    where = directory()
    if where is None:
        return None
    digest = blake2b(code_fingerprint())
    for raw in raws:
        digest.update(len(raw).to_bytes(8, "little") + raw)
    return where / f"{kind}-{digest.hexdigest()[:32]}.pickle"


def read(path: Path | None, kind: type[T]) -> T | None:
    """The cached object, or None when absent, unreadable or not a `kind`."""
    if path is None:
        return None
    collecting = gc.isenabled()
    try:
        with path.open("rb") as f:
            if hasattr(os, "getuid") and os.fstat(f.fileno()).st_uid != os.getuid():
                return None  # someone else's file: never unpickle it
            # Records hold no cycles; the cyclic GC would only rescan the growing heap
            # (a third of the load time on 10,000 models).
            gc.disable()
            found = pickle.load(f)
    except Exception:  # any damage (truncated, written by other code) means: load afresh
        return None
    finally:
        if collecting:
            gc.enable()
    return found if isinstance(found, kind) else None


def write(path: Path | None, value: object) -> None:
    """Store `value` atomically; failing to cache never fails the command."""
    if path is None:
        return
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        prune(path)
    except OSError:
        pass


def prune(newest: Path, keep: int = KEEP_PER_KIND) -> None:
    """Drop all but the `keep` most recent entries of `newest`'s kind."""
    kind = newest.name.split("-")[0]
    entries = sorted(newest.parent.glob(f"{kind}-*.pickle"), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for stale in entries[keep:]:
        stale.unlink(missing_ok=True)


def load(kind: str, paths: Sequence[Path], build: Callable[[], T], result: type[T]) -> T:
    """`build()`'s result for these files, from the cache while their bytes are unchanged.

    `build` reads and validates the files itself, so its errors are never cached."""
    try:
        raws = [path.read_bytes() for path in paths]
    except OSError:
        return build()  # build names the unreadable file
    store = location(kind, raws)
    found = read(store, result)
    if found is not None:
        return found
    value = build()
    write(store, value)
    return value
