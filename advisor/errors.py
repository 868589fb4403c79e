"""Domain errors: each carries a complete one-line message and the exit code it maps to."""

from __future__ import annotations


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
