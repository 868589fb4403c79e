"""`advisor --help` from the cache: the text Typer printed last time, without importing Typer.

Importing Typer (with its Click) is most of a `--help` run, and the text it prints changes only
with the code, the installed Typer, the terminal's width, the program name and the language
(--help's environment). So the first `advisor --help` runs Typer as usual and keeps what it
printed; later ones print that, while everything it depends on is unchanged. The key hashes the
size and modification time of every file of this package (its code, message catalogs and
data) and of Typer's, the interpreter's version, the program name, the terminal's width and the
environment variables that Typer, Click or the language choice read.

Only this module and `os`/`sys` load on the fast path (no pathlib, json or re). The entry lives
in the catalog cache's directory and is trusted the same way (`advisor.data.cache`): a directory of
this user's that nobody else can write, a regular file of this user's, opened without following
links, whose first line is its key. ADVISOR_NO_CACHE=1 turns it off; any doubt means Typer runs.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable

try:  # hashlib's own BLAKE2, without the OpenSSL load `import hashlib` costs
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - Pythons without the private module
    from hashlib import blake2b

VERSION = b"helpcache 1"
PREFIX, SUFFIX = "help-", ".txt"
KEEP = 8
ENV_PREFIXES = ("LANG", "LC_", "ADVISOR_", "TYPER", "_TYPER", "COLUMNS", "LINES",
                "TERMINAL_WIDTH", "FORCE_COLOR", "NO_COLOR", "PY_COLORS", "GITHUB_ACTIONS",
                "PYTHON", "XDG_CACHE_HOME")


def wanted(argv: list[str]) -> bool:
    """Whether this command line is a plain top-level `--help`, printed to a UTF-8 stdout (the
    command line adapts its output to others)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    words = argv[1:]
    if len(words) == 3 and words[0] == "--lang":  # `--lang zh --help` (issue 18): argv is keyed
        words = words[2:]
    elif len(words) == 2 and words[0].startswith("--lang="):
        words = words[1:]
    return words == ["--help"] and encoding == "utf8"


def directory() -> str | None:
    """`advisor.data.cache.directory()`, as a string and without pathlib."""
    if os.environ.get("ADVISOR_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no",
                                                                       "off"):
        return None
    if os.environ.get("ADVISOR_CACHE_DIR"):
        return os.environ["ADVISOR_CACHE_DIR"]
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "qwen-advisor")


def _trusted(where: str) -> bool:
    try:
        info = os.lstat(where)
    except (OSError, ValueError):
        return False
    own = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and own and not info.st_mode & 0o022


def _tree(digest: object, top: str) -> None:
    """Every file's name, size and modification time under `top` (bytecode caches aside)."""
    update: Callable[[bytes], None] = digest.update  # type: ignore[attr-defined]
    try:
        entries = sorted(os.scandir(top), key=lambda e: e.name)
    except OSError:
        update(b"?" + top.encode("utf-8", "surrogateescape"))
        return
    for entry in entries:
        if entry.name == "__pycache__":
            continue
        if entry.is_dir(follow_symlinks=False):
            _tree(digest, entry.path)
            continue
        try:
            info = entry.stat()
        except OSError:
            continue
        update(f"{entry.path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode(
            "utf-8", "surrogateescape"))


def _columns() -> str:
    """What `shutil.get_terminal_size()` starts from (Click's help width follows it)."""
    try:
        return str(os.get_terminal_size(sys.__stdout__.fileno()).columns)  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return "-"


def key(argv: list[str]) -> str:
    digest = blake2b(VERSION)
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIXES))
    digest.update(repr((sys.version, sys.executable, argv, _columns(), env)).encode(
        "utf-8", "surrogateescape"))
    _tree(digest, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the package
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("typer")
    for top in (spec.submodule_search_locations or []) if spec else ["?"]:
        _tree(digest, top)
    return digest.hexdigest()[:32]


def entry(argv: list[str]) -> tuple[str, str] | None:
    """The cache directory and the entry's file name for this command line (None: cache off)."""
    where = directory()
    return None if where is None else (where, f"{PREFIX}{key(argv)}{SUFFIX}")


def read_owned(path: str) -> bytes | None:
    """The bytes of `path` when it is a regular file of this user's, opened without following a
    symlink or blocking on a FIFO (shared with advisor.data.cache); None otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (
                hasattr(os, "getuid") and info.st_uid != os.getuid()):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read(where: str, name: str) -> str | None:
    """The kept text, or None when absent, foreign, not a regular file of ours, or damaged."""
    if not _trusted(where) or (data := read_owned(os.path.join(where, name))) is None:
        return None
    head, _, text = data.partition(b"\n")
    if head != name.encode("ascii"):
        return None
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return None


def write(where: str, name: str, text: str) -> None:
    """Keep `text` atomically (best-effort: failing to cache never fails the command), and
    only the newest KEEP entries."""
    import contextlib
    import tempfile

    try:
        os.makedirs(os.path.dirname(where) or ".", exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(where, 0o700)
        if not _trusted(where):
            return
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(name.encode("ascii") + b"\n" + text.encode("utf-8"))
            os.replace(tmp, os.path.join(where, name))
        except BaseException:
            os.unlink(tmp)
            raise
        kept = sorted(((e.stat(follow_symlinks=False).st_mtime_ns, e.path)
                       for e in os.scandir(where)
                       if e.name.startswith(PREFIX) and e.name.endswith(SUFFIX)
                       and len(e.name) == len(name)), reverse=True)
        for _, stale in kept[KEEP:]:
            os.unlink(stale)
    except (OSError, ValueError, UnicodeError):
        pass


class _Tee:
    """sys.stdout as it is, but keeping a copy of the text written to it."""

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.copy: list[str] = []

    def write(self, text: str) -> int:
        written: int = self._stream.write(text)  # type: ignore[attr-defined]
        self.copy.append(text)
        return written

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def run(argv: list[str], typer_main: Callable[[], None]) -> None:
    """Print the kept help for `argv`, or run `typer_main` (the real command line) and keep
    what it printed when it succeeds. Raises SystemExit with the exit code."""
    found = entry(argv)
    text = read(*found) if found else None
    if text is not None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError:  # a closed pipe, a full disk: the command line says it as it does
            typer_main()
        raise SystemExit(0)
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    code: object = 0
    try:
        typer_main()
    except SystemExit as exc:
        code = exc.code
    finally:
        if sys.stdout is tee:
            sys.stdout = tee._stream
    printed = "".join(tee.copy)
    from advisor.i18n import _

    if found and code in (0, None) and printed.startswith(("Usage:", _("Usage: ").strip())):
        write(*found, printed)
    raise SystemExit(code)
