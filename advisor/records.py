"""The frozen records the advisor passes around, and the constraints on their fields.

Records are dataclasses on the `Record` base, so a run that reads the cached catalog never
imports pydantic (its import and model building were half of the start-up). Pydantic still
checks every catalog file and writes every JSON document (`advisor.validation`): a field's
constraints are `Annotated` metadata (`Check`) that pydantic applies when it builds a validator,
and only then.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError, dataclass, fields
from typing import Annotated, Any, ClassVar, TypeVar, cast

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover
    from typing_extensions import dataclass_transform

R = TypeVar("R", bound="Record")

# Version of every JSON document's layout (its `schema_version` key).
SCHEMA_VERSION = 1

# `__pydantic_config__` of a record read from a catalog file: unknown keys are errors.
FORBID_EXTRA: dict[str, Any] = {"extra": "forbid"}


class Record:
    """Base of every record: keyword-built, immutable, and compared, hashed and shown by value.

    These methods are written once here: `@dataclass(frozen=True)` would compile six of them for
    each class at import, which took a fifth of the CLI's start-up."""

    __record_fields__: ClassVar[tuple[str, ...]] = ()
    __record_defaults__: ClassVar[dict[str, Any]] = {}
    __record_factories__: ClassVar[dict[str, Callable[[], Any]]] = {}

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        for name in cls.__record_fields__:
            if name in values:
                value = values.pop(name)
            elif name in cls.__record_defaults__:
                value = cls.__record_defaults__[name]
            elif name in cls.__record_factories__:
                value = cls.__record_factories__[name]()
            else:
                raise TypeError(f"{cls.__qualname__}() missing keyword argument '{name}'")
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{cls.__qualname__}() got unexpected keyword argument(s) "
                            f"{', '.join(map(repr, values))}")
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:
            post_init()

    def __getstate__(self) -> dict[str, Any]:
        """Fields only, for pickle and copy: values a `cached_property` keeps are derived."""
        return {name: self.__dict__[name] for name in self.__record_fields__}

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field '{name}'")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field '{name}'")

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self.__record_fields__])

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
        return f"{type(self).__qualname__}({shown})"


@dataclass_transform(kw_only_default=True, frozen_default=True)
def record(cls: type[R]) -> type[R]:
    """Make a Record subclass a dataclass (fields, defaults, pydantic support) built by Record."""
    made = dataclass(init=False, repr=False, eq=False, kw_only=True)(cls)
    found = fields(cast(Any, made))
    made.__record_fields__ = tuple(f.name for f in found)
    made.__record_defaults__ = {f.name: f.default for f in found if f.default is not MISSING}
    made.__record_factories__ = {f.name: f.default_factory for f in found
                                 if f.default_factory is not MISSING}
    return made


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
NonNegative = Annotated[float, Check(ge=0)]
Share = Annotated[float, Check(ge=0, le=1)]
Fraction = Annotated[float, Check(gt=0, le=1)]  # a share that cannot be nothing
NonEmpty = Annotated[str, Check(min_length=1)]
Slug = Annotated[str, Check(pattern=r"^[a-z0-9][a-z0-9.\-]*$")]
# org/name in ASCII only (no lookalikes or invisible characters); neither part starts with `.` or
# `-`, so `..` and `--token` cannot become a path component or an option of a printed command.
RepoId = Annotated[str, Check(min_length=3, max_length=200,
                              pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*/[A-Za-z0-9_][A-Za-z0-9._-]*$")]
