"""Domain errors: each carries a complete one-line message and the exit code it maps to."""

from __future__ import annotations

import re

# C0/C1 controls (ESC, CR, NEL ...), zero-width and bidi-override characters: shown escaped, so a
# string from a catalog cannot move the cursor, restyle the terminal or fake another line.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """`text` with control and invisible formatting characters written as escapes (`\\x1b`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def error_lines(message: str) -> list[str]:
    """A message as the `error: ...` lines it prints: split on newlines only, each printable."""
    return [printable(line) for line in message.split("\n")]


class AdvisorError(Exception):
    """Base class; `exit_code` follows README's exit-code table."""

    exit_code = 1


class CatalogError(AdvisorError):
    """A catalog file is missing, unreadable or invalid (exit 1)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class InputError(AdvisorError):
    """The user asked for something that does not exist or makes no sense (exit 2)."""

    exit_code = 2


class ExportError(AdvisorError):
    """An output file could not be written (exit 1)."""
