"""Domain errors: each carries a complete one-line message and the exit code it maps to."""

from __future__ import annotations

import errno
import functools
import io
import re

# C0/C1 controls (ESC, CR, NEL ...), zero-width and bidi-override characters: shown escaped, so a
# string from a catalog cannot move the cursor, restyle the terminal or fake another line.
_CONTROL_RANGES = ((0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F), (0x200B, 0x200F), (0x2028, 0x2029),
                   (0x202A, 0x202E), (0x2066, 0x2069), (0xFEFF, 0xFEFF))
CONTROL_CLASS = "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _CONTROL_RANGES) + "]"
_DELETE = dict.fromkeys(c for a, b in _CONTROL_RANGES for c in range(a, b + 1))
"""The same characters, for str.translate (no regex to compile on a table run)."""


@functools.cache
def control_chars() -> re.Pattern[str]:
    return re.compile(CONTROL_CLASS)


def printable(text: str) -> str:
    """`text` with control and invisible formatting characters written as escapes (`\\x1b`)."""
    if text.isascii() and text.isprintable():
        return text
    return control_chars().sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


@functools.cache
def _escape() -> re.Pattern[str]:
    """A whole ANSI escape sequence (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`, or ESC and one
    character), so that stripping leaves no `[2J` behind."""
    return re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)"
                      r"|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x1b\x9c]*[\x07\x9c]?", re.DOTALL)


def strip_controls(text: str) -> str:
    """`text` for display: escape sequences, control characters (but newlines) and invisible
    formatting characters removed; a tab becomes a space."""
    text = text.replace("\t", " ")
    if text.isascii() and text.replace("\n", "").isprintable():
        return text
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _escape().sub("", text)
    return text.translate(_DELETE)


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


# Errors of writing the output stream itself (a closed pipe, a full disk, a closed descriptor):
# the run's result could not be delivered, which is not a bug of the advisor.
_OUTPUT_ERRNOS = {errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF}


def output_failure(exc: BaseException) -> str | None:
    """The `error:` line for a failed write to stdout, or None when `exc` is something else."""
    if isinstance(exc, OSError) and exc.filename is None and exc.errno in _OUTPUT_ERRNOS:
        return f"cannot write to stdout: {exc.strerror or exc}"
    return None


class ClosedStdout(io.TextIOBase):
    """sys.stdout when the process started with descriptor 1 closed (`advisor models >&-`):
    writing fails as a closed descriptor does, so the run ends with exit 1, not 0."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")
