"""Messages in the user's language: English (the source) or Simplified Chinese (issue 18).

The language is `--lang en|zh` (taken from the command line before Click parses it, so it may
stand anywhere), else the locale: the first set of LANGUAGE (a `:` list; ignored under the C
locale, as GNU gettext does), LC_ALL, LC_MESSAGES, LANG; `zh*` means Chinese. Translations come
from the gettext catalog advisor/locale/zh_CN/LC_MESSAGES/advisor.mo, compiled from the .po beside
it (tools/i18n.py); a message without a translation prints in English.

Three ways to mark text (all extracted by `python tools/i18n.py extract`):
- `_("...")` translates now: notes, errors, table headings - text that is only ever printed.
- `N_("...")` only marks a constant that is translated where it is shown (help texts, role names).
- `msg("... {x} ...", x=...)` is English text that stays translatable: reasons and why-lines, which
  JSON keeps in English (a contract for scripts) and tables show translated through `tr()`.

English costs nothing: the catalog is read only when Chinese is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")
DOMAIN = "advisor"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_CATALOG_DIRS = {"zh": "zh_CN"}

_state: dict[str, Any] = {"lang": None, "catalog": None, "help_context": None}


def language_from_env(env: Mapping[str, str] | None = None) -> str:
    """`zh` or `en` from the locale variables, in gettext's order of precedence."""
    env = os.environ if env is None else env
    locale_name = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    candidates = [locale_name]
    if env.get("LANGUAGE") and locale_name.split(".")[0] not in ("C", "POSIX"):
        candidates = [*env["LANGUAGE"].split(":"), locale_name]
    for name in candidates:
        code = name.split(".")[0].split("@")[0].split("_")[0].split("-")[0].lower()
        if code == "zh":
            return "zh"
        if code in ("en", "c", "posix"):
            return "en"
    return "en"


def parse_language(value: str) -> str:
    """`--lang`'s value: en or zh (zh-CN, zh_CN.UTF-8 and the like are zh)."""
    code = value.strip().split(".")[0].replace("-", "_").lower()
    if code in ("zh", "zh_cn", "zh_hans", "cn"):
        return "zh"
    if code in ("en", "en_us", "en_gb", "c"):
        return "en"
    from advisor.errors import InputError

    raise InputError(msg("--lang: {value} is not a language of this interface; expected en or zh",
                         value=repr(value)))


def take_lang_option(args: list[str]) -> tuple[list[str], str | None]:
    """`args` without `--lang VALUE`/`--lang=VALUE` (anywhere before `--`), and the last value."""
    rest: list[str] = []
    lang = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg == "--lang":
            if i + 1 >= len(args):
                from advisor.errors import InputError

                raise InputError(msg("--lang needs a value; expected en or zh"))
            lang = parse_language(args[i + 1])
            i += 2
            continue
        if arg.startswith("--lang="):
            lang = parse_language(arg.partition("=")[2])
        else:
            rest.append(arg)
        i += 1
    return rest, lang


def set_language(lang: str | None) -> None:
    """Use `lang` (en or zh) from now on; None: the locale's (read again from the environment)."""
    _state["lang"] = lang or language_from_env()
    _state["catalog"] = None


def language() -> str:
    if _state["lang"] is None:
        set_language(None)
    return str(_state["lang"])


def _catalog() -> dict[str, str]:
    """msgid -> msgstr of the current language (empty for English), read once."""
    found: dict[str, str] | None = _state["catalog"]
    if found is None:
        lang = language()
        found = {}
        if lang in _CATALOG_DIRS:
            path = LOCALE_DIR / _CATALOG_DIRS[lang] / "LC_MESSAGES" / f"{DOMAIN}.mo"
            try:
                found = read_mo(path.read_bytes())
            except (OSError, ValueError):  # a broken install: English rather than a crash
                found = {}
        _state["catalog"] = found
    return found


def read_mo(data: bytes) -> dict[str, str]:
    """The messages of a compiled gettext catalog (GNU .mo, UTF-8, no plurals or contexts):
    what `gettext.GNUTranslations` reads, without importing gettext or compiling the plural
    rule at each start (tests check the two agree on the shipped catalog)."""
    if len(data) < 28:
        raise ValueError("not a .mo file")
    words = memoryview(data)[:len(data) // 4 * 4].cast("I")  # native order: no struct import
    if words[0] != 0x950412DE:
        import array

        swapped = array.array("I", words)
        swapped.byteswap()
        if swapped[0] != 0x950412DE:
            raise ValueError("not a .mo file")
        words = memoryview(swapped)
    count, originals, translations = words[2], words[3], words[4]
    if originals % 4 or translations % 4 or max(originals, translations) // 4 + 2 * count > len(
            words):
        raise ValueError("a truncated or unaligned .mo file")
    originals, translations = originals // 4, translations // 4
    table = [*words[originals:originals + 2 * count], *words[translations:translations + 2 * count]]
    found = {}
    for i in range(count):
        length, start = table[2 * i], table[2 * i + 1]
        t_length, t_start = table[2 * count + 2 * i], table[2 * count + 2 * i + 1]
        msgid = data[start:start + length].decode("utf-8")
        if msgid and "\x00" not in msgid and "\x04" not in msgid:  # header, plurals, contexts
            found[msgid] = data[t_start:t_start + t_length].decode("utf-8")
    return found


def _(message: str) -> str:
    """`message` in the current language (itself when untranslated or English)."""
    if _state["lang"] == "en":
        return message
    return _catalog().get(message, message) if message else message


def N_(message: str) -> str:
    """Marks `message` for extraction only; translate it where it is shown, with `_` or `tr`."""
    return message


class Msg(str):
    """English text (its value, as JSON and logs keep it) that `tr()` shows translated: the
    template's translation formatted with the same arguments (themselves translated)."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, /, **args: Any) -> Msg:
        self = super().__new__(cls, template.format(**args) if args else template)
        self.template = template
        self.args = args
        return self

    def __reduce__(self) -> Any:
        return (_rebuild, (self.template, self.args))


def _rebuild(template: str, args: dict[str, Any]) -> Msg:
    return Msg(template, **args)


class Joined(str):
    """Parts joined with `sep` (English), each translated on display."""

    sep: str
    parts: tuple[str, ...]

    def __new__(cls, sep: str, parts: Iterable[str]) -> Joined:
        kept = tuple(p for p in parts if p)
        self = super().__new__(cls, sep.join(kept))
        self.sep = sep
        self.parts = kept
        return self

    def __reduce__(self) -> Any:
        return (Joined, (self.sep, self.parts))


def msg(template: str, /, **args: Any) -> Msg:
    """Translatable English text: `msg("needs {size} at {quant}", size=..., quant=...)`."""
    return Msg(template, **args)


SEPARATORS = (N_("; "),)
"""Separators of joined text that a translation may change (Chinese uses a full-width semicolon)."""


def join(sep: str, parts: Iterable[str | None]) -> Joined:
    """`sep.join(parts)` that stays translatable part by part (empty parts dropped)."""
    return Joined(sep, (p for p in parts if p))


def tr(text: Any) -> Any:
    """Text for display in the current language: Msg and Joined translated, plain strings
    translated when the catalog has them; anything else as it is."""
    if not isinstance(text, str) or language() == "en":
        return text
    if isinstance(text, Joined):
        return _(text.sep).join(tr(p) for p in text.parts)
    if isinstance(text, Msg):
        template = _(text.template)
        if not text.args:
            return template
        args = {k: tr(v) if isinstance(v, str) else v for k, v in text.args.items()}
        try:
            return template.format(**args)
        except (KeyError, IndexError, ValueError):  # a broken translation: say it in English
            return str.__str__(text)
    return _(text)


_CLICK_ERRORS = (  # Click's usage errors (its own English) -> our catalog's templates
    (r"No such option: (?P<option>\S+) \(Possible options: (?P<choices>.+)\)",
     N_("no such option: {option} (possible options: {choices})")),
    (r"No such option: (?P<option>\S+)", N_("no such option: {option}")),
    (r"No such command '(?P<name>.+)'\. Did you mean (?P<choices>.+)\?",
     N_("no such command '{name}'; did you mean {choices}?")),
    (r"No such command '(?P<name>.+)'\.", N_("no such command '{name}'")),
    (r"Invalid value for (?P<option>.+?): '(?P<value>.*)' is not a valid (?P<kind>[\w ]+)\.",
     N_("invalid value for {option}: '{value}' is not a valid {kind}")),
    (r"Invalid value for (?P<option>.+?): '(?P<value>.*)' is not one of (?P<choices>.+)\.",
     N_("invalid value for {option}: '{value}' is not one of {choices}")),
    (r"Invalid value for (?P<option>.+?): (?P<detail>.+)",
     N_("invalid value for {option}: {detail}")),
    (r"Option '(?P<option>.+)' requires an argument\.",
     N_("option '{option}' requires an argument")),
    (r"Option '(?P<option>.+)' requires (?P<count>\d+) arguments\.",
     N_("option '{option}' requires {count} arguments")),
    (r"Missing (?:option|argument|parameter) (?P<name>.+)\.", N_("missing {name}")),
    (r"Got unexpected extra argument(?:\(s\)|s)? \((?P<args>.+)\)",
     N_("unexpected extra argument(s): {args}")),
    (r"Missing command\.", N_("missing command")),
)


def click_error(message: str, usage: str | None, command: str | None) -> list[str]:
    """A Click usage error in the current language, as the lines Click would print (usage,
    help hint, `error: ...`); a message without a known pattern keeps its English detail."""
    import re

    if usage:
        shown = usage.removeprefix("Usage: ").removeprefix(_("Usage: ")).strip()
        head = [_("Usage: {usage}").format(usage=shown)]
    else:
        head = []
    hint = [_("Try '{command} --help' for help.").format(command=command)] if command else []
    text = message
    for pattern, template in _CLICK_ERRORS:
        found = re.fullmatch(pattern, message.strip())
        if found:
            text = _(template).format(**found.groupdict())
            break
    return [*head, *hint, *([""] if head or hint else []),
            _("error: {message}").format(message=text)]


HELP_WORDS = (N_("Usage: "), N_("Options:"), N_("Commands:"), N_("Arguments:"),
              N_("Show this message and exit."), N_("required"))
"""Click's and Typer's own words in a help page (translated by the help formatter below)."""
_HELP_EXTRAS = {"default": N_("default: {value}"), "env var": N_("env var: {value}")}


def _help_extras(text: str) -> str:
    """An option's help with Typer's `[default: 1; env var: X; required]` tail translated."""
    import re

    def one(item: str) -> str:
        key, sep, value = item.partition(": ")
        if sep and key in _HELP_EXTRAS:
            return _(_HELP_EXTRAS[key]).format(value=value)
        return _(item)

    found = re.search(r"\[([^\[\]]*)\]\s*$", text)
    if found:
        inner = "; ".join(one(x) for x in found.group(1).split("; "))
        text = f"{text[:found.start()]}[{inner}]"
    return _(text)


def help_context_class() -> Any:
    """A Typer context whose help formatter says Click's own words (Usage, Options, default)
    in the current language; set on every command of a tree by `translate_help`."""
    found = _state.get("help_context")
    if found is None:
        import typer

        base: Any = typer.Context.formatter_class

        class Formatter(base):  # type: ignore[misc]
            def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
                super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

            def write_heading(self, heading: str) -> None:
                self.write(f"{'':>{self.current_indent}}{_(heading + ':')}\n")

            def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
                super().write_dl([(a, _help_extras(b) if b else b) for a, b in rows],
                                 col_max, col_spacing)

        class Context(typer.Context):
            formatter_class = Formatter

        found = _state["help_context"] = Context
    return found


def translate_help(command: Any) -> None:
    """Translate the help texts of a Click command tree in place (built fresh for each run)."""
    if language() == "en":
        return
    command.context_class = help_context_class()
    for attr in ("help", "short_help"):
        if getattr(command, attr, None):
            setattr(command, attr, _(getattr(command, attr)))
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = _(param.help)
    for sub in getattr(command, "commands", {}).values():
        translate_help(sub)
