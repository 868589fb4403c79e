"""The command line declared without Typer, and a reader of plain command lines.

Each command declares its options in its signature, `Annotated[T, Option("--x", help=...)]`, with
this module's `Option` and `Argument` (they take what `typer.Option`/`typer.Argument` take) and
registers in a `Registry`. Importing Typer and Click is most of a short run's start, so
advisor.commandline.cli_typer builds the Typer app from the registry only when it is needed:
help, usage errors, and every command line that `parse` declines. `parse` reads the plain
ones: declared options spelled in full, each once, values that convert as Click converts them,
the arguments in their places. What it returns is what Typer would call the commands with
(tests/test_cli_spec.py compares the two on a corpus of command lines); anything else is None,
and Typer runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

F = Callable[..., Any]


class Param:
    """An option or argument as declared: Typer's own arguments, kept for cli_typer."""

    __slots__ = ("decls", "settings")
    kind = ""

    def __init__(self, *decls: str, **settings: Any) -> None:
        self.decls = decls
        self.settings = settings


class Option(Param):
    kind = "option"


class Argument(Param):
    kind = "argument"


class Command:
    """One registered command (or the root callback): its function and Typer settings;
    `signature` makes the signature Typer reads when the function's own is not it (report)."""

    __slots__ = ("_spec", "fn", "name", "settings", "signature")

    def __init__(self, name: str, fn: F, settings: dict[str, Any],
                 signature: Callable[[], Any] | None = None) -> None:
        self.name, self.fn, self.settings, self.signature = name, fn, settings, signature
        self._spec: list[Spec] | bool | None = False

    def spec(self) -> list[Spec] | None:
        """The parameters as `parse` reads them, or None when one is beyond it."""
        if self._spec is False:
            self._spec = None if self.signature else specs(self.fn)
        return self._spec  # type: ignore[return-value]


class Registry:
    """Commands as Typer would be given them (`command`, `callback`, `add_typer`), kept until
    advisor.commandline.cli_typer builds the app."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.commands: dict[str, Command] = {}
        self.root: Command | None = None
        self.groups: dict[str, Registry] = {}

    def command(self, name: str, *, signature: Callable[[], Any] | None = None,
                **settings: Any) -> Callable[[F], F]:
        def keep(fn: F) -> F:
            self.commands[name] = Command(name, fn, settings, signature)
            return fn

        return keep

    def callback(self, **settings: Any) -> Callable[[F], F]:
        def keep(fn: F) -> F:
            self.root = Command("", fn, settings)
            return fn

        return keep

    def add_typer(self, group: Registry, *, name: str) -> None:
        self.groups[name] = group


def unwrapped(fn: F) -> F:
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


# Typer's settings that change nothing about how a value is read (help and its looks), and
# click.Path's checks (below); any other (callback, min, max, count ...) makes `parse` decline.
_PLAIN_SETTINGS = frozenset({"help", "show_default", "metavar", "hidden", "rich_help_panel",
                             "case_sensitive", "envvar", "file_okay", "dir_okay", "readable",
                             "writable"})
_TYPES = (str, int, float, bool, Path)


class Spec:
    """One parameter: its name, type, default, and the option names that set it (flags: the
    names that set it on and those that set it off)."""

    __slots__ = ("default", "kind", "name", "off", "on", "settings", "type")

    def __init__(self, name: str, kind: str, type_: type, default: Any,
                 settings: dict[str, Any], on: tuple[str, ...] = (),
                 off: tuple[str, ...] = ()) -> None:
        self.name, self.kind, self.type, self.default = name, kind, type_, default
        self.settings, self.on, self.off = settings, on, off


_REQUIRED = object()


def specs(fn: F) -> list[Spec] | None:
    """`fn`'s parameters read from its annotations and defaults (no `inspect`), or None when
    one is not a plain option or argument of a simple type."""
    import types
    import typing

    inner = unwrapped(fn)
    code = inner.__code__
    if code.co_flags & 0x0C:  # *args or **kwargs
        return None
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    positional_defaults = inner.__defaults__ or ()
    defaults = dict(zip(names[code.co_argcount - len(positional_defaults):code.co_argcount],
                        positional_defaults, strict=True))
    defaults.update(inner.__kwdefaults__ or {})
    annotations = inner.__annotations__
    found = []
    for name in names:
        annotation = annotations.get(name)
        declared = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Param)]
        if len(declared) != 1 or not _PLAIN_SETTINGS.issuperset(declared[0].settings):
            return None
        param = declared[0]
        base: Any = annotation.__origin__  # type: ignore[union-attr]
        if isinstance(base, types.UnionType) or typing.get_origin(base) is typing.Union:
            members = [t for t in base.__args__ if t is not type(None)]
            base = members[0] if len(members) == 1 else None
        if not (base in _TYPES or (isinstance(base, type) and issubclass(base, Enum))):
            return None
        default = defaults.get(name, _REQUIRED)
        if base is bool and not isinstance(default, bool):
            return None  # a flag without a default of its own: Click's reading
        if default is not _REQUIRED and default is not None and base in (int, float, str):
            default = base(default)  # as Click casts a default (1 for a float option: 1.0)
        if param.kind == "argument":
            found.append(Spec(name, "argument", base, default, param.settings))
            continue
        decls = param.decls or ((f"--{name.replace('_', '-')}/--no-{name.replace('_', '-')}"
                                 if base is bool else f"--{name.replace('_', '-')}"),)
        on: list[str] = []
        off: list[str] = []
        for decl in decls:
            first, slash, second = decl.partition("/")
            if slash and base is not bool:
                return None
            on.append(first.strip())
            if slash:
                off.append(second.strip())
        if not all(n.startswith("-") and len(n) > 1 for n in on + off):
            return None
        found.append(Spec(name, "option", base, default, param.settings, tuple(on), tuple(off)))
    return found


class Declined(Exception):
    """The command line is not one `parse` reads: Typer will."""


def convert(spec: Spec, raw: str) -> Any:
    """`raw` as Click and Typer convert it for `spec`, or Declined where they would not
    (their error message is theirs to print)."""
    kind = spec.type
    try:
        if kind is str:
            return raw
        if kind is int or kind is float:
            return kind(raw)
        if kind is Path:
            return _path(spec.settings, raw)
        if issubclass(kind, Enum):
            fold = not spec.settings.get("case_sensitive", True)
            for member in kind:
                if (str(member.value).casefold() == raw.casefold()) if fold else (
                        str(member.value) == raw):
                    return member
    except (ValueError, TypeError, OSError):
        pass
    raise Declined(spec.name)


def _path(settings: dict[str, Any], raw: str) -> Path:
    """click.Path's checks with Typer's defaults (it need not exist; if it does: a file or a
    directory as allowed, readable unless `readable=False`, writable if asked)."""
    import stat

    try:
        info = os.stat(raw)
    except OSError:
        return Path(raw)
    if ((not settings.get("file_okay", True) and stat.S_ISREG(info.st_mode))
            or (not settings.get("dir_okay", True) and stat.S_ISDIR(info.st_mode))
            or (settings.get("readable", True) and not os.access(raw, os.R_OK))
            or (settings.get("writable", False) and not os.access(raw, os.W_OK))):
        raise ValueError(raw)
    return Path(raw)


def read(params: list[Spec], words: list[str], *, interspersed: bool) -> tuple[dict[str, Any],
                                                                            list[str]]:
    """Keyword arguments for `params` from `words`; with `interspersed` False (a group's own
    options) reading stops at the first word that is not an option, returned with the rest."""
    by_name = {n: (p, True) for p in params for n in p.on}
    by_name.update({n: (p, False) for p in params for n in p.off})
    values: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or word == "-":
            if not interspersed:
                break
            positional.append(word)
            i += 1
            continue
        found = by_name.get(word)
        name, inline, attached = word.partition("=")
        if found is None and inline and name.startswith("--"):
            found = by_name.get(name)  # --name=value
        else:
            inline = ""
        if found is None:
            raise Declined(word)
        spec, on = found
        if spec.name in values:  # given twice: Click takes the last; Typer says so itself
            raise Declined(word)
        if spec.type is bool:
            if inline:  # --flag=value: Click refuses it
                raise Declined(word)
            values[spec.name] = on
            i += 1
            continue
        if inline:
            raw = attached
            i += 1
        elif i + 1 < len(words) and not words[i + 1].startswith("-"):
            raw = words[i + 1]
            i += 2
        else:  # no value, or one that starts with a dash: Click's reading is its own
            raise Declined(word)
        values[spec.name] = convert(spec, raw)
    arguments = [p for p in params if p.kind == "argument"]
    if len(positional) > len(arguments):
        raise Declined(positional[len(arguments)])
    for spec, raw in zip(arguments, positional, strict=False):
        values[spec.name] = convert(spec, raw)
    for spec in params:
        if spec.name in values:
            continue
        env = spec.settings.get("envvar")
        if isinstance(env, str) and os.environ.get(env):  # Click ignores an empty one
            values[spec.name] = convert(spec, os.environ[env])
        elif spec.default is _REQUIRED:
            raise Declined(spec.name)
        else:
            values[spec.name] = spec.default
    return values, words[i:]


class Call:
    """A parsed command line: the root callback's and the command's keyword arguments."""

    __slots__ = ("command", "kwargs", "root", "root_kwargs")

    def __init__(self, root: Command, root_kwargs: dict[str, Any], command: Command,
                 kwargs: dict[str, Any]) -> None:
        self.root, self.root_kwargs, self.command, self.kwargs = root, root_kwargs, command, kwargs

    def run(self) -> None:
        """Call the root callback and the command as Typer's standalone mode does: Ctrl-C exits
        130, end of input says "Aborted!" (exit 1)."""
        from advisor.i18n import _

        try:
            self.root.fn(**self.root_kwargs)
            self.command.fn(**self.kwargs)
        except KeyboardInterrupt:
            raise SystemExit(130) from None
        except EOFError:
            echo("", err=True)
            echo(_("Aborted!"), err=True)
            raise SystemExit(1) from None


def parse(registry: Registry, words: list[str]) -> Call | None:
    """The call a plain command line (after `--lang` was taken off) makes, or None for Typer:
    help, a group, an unknown or repeated option, a value Click would refuse or read its own way,
    a shell-completion request."""
    if registry.root is None or any(k.startswith("_") and k.endswith("_COMPLETE")
                                    for k in os.environ):
        return None
    root_spec = registry.root.spec()
    try:
        if root_spec is None:
            return None
        root_kwargs, rest = read(root_spec, words, interspersed=False)
        command = registry.commands.get(rest[0]) if rest else None
        spec = command.spec() if command else None
        if command is None or spec is None:
            return None
        kwargs, _ = read(spec, rest[1:], interspersed=True)
    except Declined:
        return None
    return Call(registry.root, root_kwargs, command, kwargs)


def echo(text: str, err: bool = False) -> None:
    """One line to stdout or stderr, flushed (what `typer.echo` does with text)."""
    stream = sys.stderr if err else sys.stdout
    if stream is not None:
        stream.write(f"{text}\n")
        stream.flush()
