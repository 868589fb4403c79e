"""Building blocks of the frozen records the advisor passes around.

Records are plain frozen dataclasses, so a run that reads the cached catalog never imports
pydantic (about half the start-up time). Pydantic still checks every catalog file and writes
every JSON document (`advisor.validation`): constraints are written here as `Annotated` metadata
that pydantic applies when it builds a validator, and only then.
"""

from __future__ import annotations

from typing import Annotated, Any

# Version of every JSON document's layout (its `schema_version` key).
SCHEMA_VERSION = 1

# `__pydantic_config__` of a record read from a catalog file: unknown keys are errors.
FORBID_EXTRA: dict[str, Any] = {"extra": "forbid"}


class Check:
    """Constraints on a value (`gt`, `ge`, `le`, `lt`, `min_length`, `pattern`), in the names of
    pydantic-core's schemas: `Annotated[int, Check(gt=0)]`."""

    def __init__(self, **constraints: Any) -> None:
        self.constraints = constraints

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return {**handler(source), **self.constraints}

    def __repr__(self) -> str:
        return f"Check({', '.join(f'{k}={v!r}' for k, v in self.constraints.items())})"


PositiveInt = Annotated[int, Check(gt=0)]
PositiveFloat = Annotated[float, Check(gt=0)]
NonEmpty = Annotated[str, Check(min_length=1)]
Slug = Annotated[str, Check(pattern=r"^[a-z0-9][a-z0-9.\-]*$")]
RepoId = Annotated[str, Check(min_length=3, pattern=r"^[\w.-]+/[\w.-]+$")]
