"""The interface's message catalogs (issue 18): extract, update, compile, check.

    python tools/i18n.py extract   # advisor/locale/advisor.pot: _(), N_(), msg() calls + CLI help
    python tools/i18n.py update    # merge the .pot into each .po (new messages untranslated)
    python tools/i18n.py compile   # each .po -> .mo (committed; a test checks they agree)
    python tools/i18n.py check     # list messages without a translation (exit 1 if any)

Messages in the source are found with Babel (babel.cfg; keywords _, N_ and msg); the help texts
of every command and option are read from the Click tree Typer builds, since docstrings and
help= strings are not calls Babel can see. Needs Babel: pip install -e '.[dev]'.
A translation keeps every {placeholder} of its msgid; model ids, commands and numbers stay as they
are.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "advisor" / "locale"
POT = LOCALE / "advisor.pot"
KEYWORDS: dict[str, Any] = {"_": None, "N_": None, "msg": None}


def po_paths() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/advisor.po"))


def source_messages() -> dict[str, list[tuple[str, int]]]:
    """msgid -> [(file, line)] of every _(), N_() and msg() call in advisor/."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / "advisor", method_map=[("**.py", "python")], keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",)):
        if isinstance(message, str) and message:
            found.setdefault(message, []).append((f"advisor/{filename}", lineno))
    return found


def help_messages() -> dict[str, list[tuple[str, int]]]:
    """msgid -> [(command path, 0)] of every command's and option's help text."""
    sys.path.insert(0, str(ROOT))
    import typer.main

    from advisor.cli import app

    found: dict[str, list[tuple[str, int]]] = {}

    def walk(command: Any, path: str) -> None:
        for text in (command.help, getattr(command, "short_help", None)):
            if text:
                found.setdefault(text, []).append((f"help: {path}", 0))
        for param in command.params:
            if getattr(param, "help", None):
                found.setdefault(param.help, []).append((f"help: {path} {param.name}", 0))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "advisor")
    return found


def template() -> Any:
    """The .pot catalog: every user-facing message with where it comes from."""
    from babel.messages.catalog import Catalog

    cat = Catalog(project="qwen-advisor", version="0.1.0", charset="utf-8")
    for message, places in {**help_messages(), **source_messages()}.items():
        flags = ("python-brace-format",) if "{" in message else ()
        cat.add(message, locations=places, flags=flags)
    return cat


def read(path: Path) -> Any:
    from babel.messages.pofile import read_po

    with path.open("rb") as fp:
        return read_po(fp, locale=path.parts[-3])


def compiled(po: Path) -> bytes:
    """The .mo bytes `compile` writes for `po` (fuzzy entries left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo

    out = io.BytesIO()
    write_mo(out, read(po), use_fuzzy=False)
    return out.getvalue()


def missing(po: Path, wanted: set[str] | None = None) -> list[str]:
    """msgids of the template with no (or only a fuzzy) translation in `po`."""
    cat = read(po)
    ids = wanted if wanted is not None else {*help_messages(), *source_messages()}
    return sorted(m for m in ids if not ((e := cat.get(m)) and e.string and not e.fuzzy))


def main(argv: list[str]) -> int:
    from babel.messages.pofile import write_po

    command = argv[0] if argv else "check"
    if command == "extract":
        with POT.open("wb") as fp:
            write_po(fp, template(), width=100, sort_output=True, include_lineno=False)
        print(f"wrote {POT.relative_to(ROOT)}")
    elif command == "update":
        pot = template()
        for po in po_paths():
            cat = read(po)
            cat.update(pot, no_fuzzy_matching=True)
            with po.open("wb") as fp:
                write_po(fp, cat, width=100, sort_output=True, ignore_obsolete=True,
                         include_lineno=False)
            print(f"updated {po.relative_to(ROOT)}")
    elif command == "compile":
        for po in po_paths():
            mo = po.with_suffix(".mo")
            mo.write_bytes(compiled(po))
            print(f"wrote {mo.relative_to(ROOT)}")
    elif command == "check":
        bad = 0
        for po in po_paths():
            for m in missing(po):
                print(f"{po.relative_to(ROOT)}: no translation: {m!r}")
                bad += 1
        return 1 if bad else 0
    else:
        print(f"error: unknown command {command!r}; expected extract, update, compile or check",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
