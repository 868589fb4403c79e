"""The frozen records the advisor passes around, and the constraints on their fields.

Records are classes on the `Record` base, so a run that reads the cached catalog never imports
pydantic (its import and model building were half of the start-up). `@record` collects a class's
fields itself and `Record` builds, compares and shows them; neither imports `dataclasses`, whose
import (`inspect`, `ast`, `dis`...) and per-class processing were a sixth of a cached run.

Pydantic still checks every catalog file and writes every JSON document (`advisor.data.validation`):
it needs real dataclasses, so `as_dataclasses()` makes every record class one (the same fields)
when it is imported, and only then. A field's constraints are `Annotated` metadata (`Check`)
that pydantic applies when it builds a validator.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable
from functools import cache
from types import UnionType as _UnionType
from typing import Annotated, Any, ClassVar, TypeVar, overload

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover
    from typing_extensions import dataclass_transform

R = TypeVar("R", bound="Record")
T = TypeVar("T")

# Version of every JSON document's layout (its `schema_version` key).
SCHEMA_VERSION = 1

# `__pydantic_config__` of a record read from a catalog file: unknown keys are errors.
FORBID_EXTRA: dict[str, Any] = {"extra": "forbid"}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # no default (dataclasses.MISSING, without importing dataclasses)


class FrozenInstanceError(AttributeError):
    """A record's attribute assigned or deleted. Not `dataclasses.FrozenInstanceError` (that
    cannot be subclassed without importing dataclasses); both are AttributeErrors."""


class Field:
    """A field's default or default factory, as `field()` declares it."""

    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Any) -> None:
        self.default = default
        self.default_factory = default_factory

    def __repr__(self) -> str:
        return f"Field(default={self.default!r}, default_factory={self.default_factory!r})"


@overload
def field(*, default: T) -> T: ...
@overload
def field(*, default_factory: Callable[[], T]) -> T: ...
def field(*, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A record field's default, or a factory called for each record: `dataclasses.field`'s
    `default` and `default_factory`."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory)


class Record:
    """Base of every record: keyword-built, immutable, and compared, hashed and shown by value.

    These methods are written once here: `@dataclass(frozen=True)` would compile six of them for
    each class at import, which took a fifth of the CLI's start-up."""

    __record_fields__: ClassVar[tuple[str, ...]] = ()
    __record_defaults__: ClassVar[dict[str, Any]] = {}
    __record_factories__: ClassVar[dict[str, Callable[[], Any]]] = {}
    __record_specs__: ClassVar[dict[str, Any]] = {}  # own field() values, for as_dataclasses()

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


_RECORDS: list[type[Record]] = []  # every @record class, in the order defined: bases first
_AS_DATACLASSES = False  # as_dataclasses() has run: a new record class is made one at once


def _is_classvar(cls: type, annotation: Any) -> bool:
    """Whether an annotation (its text, under `from __future__ import annotations`) is
    `ClassVar[...]`, looked up by name in the class's module as dataclasses does."""
    if isinstance(annotation, str):
        names = annotation.split("[", 1)[0].strip().split(".")
        module = sys.modules.get(cls.__module__)
        annotation = vars(module).get(names[0]) if module else None
        for name in names[1:]:
            annotation = getattr(annotation, name, None)
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _spec(value: Any) -> Field | None:
    """A `field()` (ours, or dataclasses' own where that module is loaded), else None."""
    if isinstance(value, Field):
        return value
    dataclasses = sys.modules.get("dataclasses")
    if dataclasses is not None and isinstance(value, dataclasses.Field):
        missing = dataclasses.MISSING
        return Field(MISSING if value.default is missing else value.default,
                     MISSING if value.default_factory is missing else value.default_factory)
    return None


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
def record(cls: type[R]) -> type[R]:
    """Make a Record subclass a record: its fields are the base records' then its own annotated
    names (not ClassVars) in order, with defaults and default factories, as `dataclass` finds
    them; `Record` builds them."""
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    order: dict[str, None] = {}
    for base in reversed(cls.__mro__[1:]):
        for name in getattr(base, "__record_fields__", ()):
            order[name] = None
            defaults.pop(name, None)
            factories.pop(name, None)
            if name in base.__record_defaults__:
                defaults[name] = base.__record_defaults__[name]
            elif name in base.__record_factories__:
                factories[name] = base.__record_factories__[name]
    specs: dict[str, Any] = {}
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(cls, annotation):
            continue
        order[name] = None
        defaults.pop(name, None)
        factories.pop(name, None)
        default = getattr(cls, name, MISSING)
        spec = _spec(default)
        if spec is not None:
            specs[name] = default
            default = spec.default
            if spec.default_factory is not MISSING:
                factories[name] = spec.default_factory
            if default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, default)
        if default is not MISSING:
            if type(default).__hash__ is None:
                raise ValueError(f"mutable default {type(default)} for field {name} is not "
                                 "allowed: use default_factory")
            defaults[name] = default
    cls.__record_fields__ = tuple(order)
    cls.__record_defaults__ = defaults
    cls.__record_factories__ = factories
    cls.__record_specs__ = specs
    _RECORDS.append(cls)
    if _AS_DATACLASSES:
        _dataclass(cls)
    return cls


def as_dataclasses() -> None:
    """Make every record class a dataclass too, bases first, and any defined later as it is
    (for pydantic, `dataclasses.fields`...). Idempotent; Record's methods stay."""
    global _AS_DATACLASSES
    _AS_DATACLASSES = True
    for cls in _RECORDS:
        _dataclass(cls)


def _dataclass(cls: type[Record]) -> None:
    if "__dataclass_fields__" in cls.__dict__:
        return
    import dataclasses

    for name, spec in cls.__dict__["__record_specs__"].items():
        if isinstance(spec, Field):
            spec = dataclasses.field(
                default=dataclasses.MISSING if spec.default is MISSING else spec.default,
                default_factory=(dataclasses.MISSING if spec.default_factory is MISSING
                                 else spec.default_factory))
        setattr(cls, name, spec)
    dataclasses.dataclass(init=False, repr=False, eq=False, kw_only=True)(cls)
    found = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    if found != cls.__record_fields__:
        raise TypeError(f"{cls.__qualname__}: dataclass fields {found} are not the record's "
                        f"{cls.__record_fields__}")


def replace(value: R, /, **changes: Any) -> R:
    """A copy of a record with some fields changed, built anew so `__post_init__` checks run,
    as `dataclasses.replace`: a name that is not a field is a TypeError."""
    if not isinstance(value, Record):
        raise TypeError("replace() should be called on record instances")
    kind = type(value)
    for name in changes:
        if name not in kind.__record_fields__:
            raise TypeError(f"{kind.__qualname__} has no field '{name}'")
    return kind(**{name: changes[name] if name in changes else getattr(value, name)
                   for name in kind.__record_fields__})


@cache
def _annotation(module: str, text: str) -> Any:
    """An annotation of our own source, evaluated where it was written (memoised: the same
    text recurs across records)."""
    return eval(text, vars(sys.modules[module]))  # record source text, not data


def field_types(kind: Any) -> dict[str, Any]:
    """The types of a record's fields, as `typing.get_type_hints(include_extras=True)` gives
    them but about five times faster: that compiles every annotation string of every class
    again, the base classes' own included, which was a sixth of a cached run's start-up."""
    found: dict[str, Any] = {}
    for cls in reversed(kind.__mro__):
        for name, text in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
            if name in kind.__record_fields__:
                found[name] = (_annotation(cls.__module__, text) if isinstance(text, str)
                               else text)
    return found


def jsonable(value: Any, by_alias: bool = True) -> Any:
    """A record as JSON data, as pydantic's serialiser makes it from the record's type: fields in
    order (under their aliases), a float field's int as a float, tuples as lists, dates in ISO
    form, NaN and infinities as null.

    Every JSON document is written this way, so that writing one needs neither pydantic's
    import nor a serialiser built for the type; tests check the two agree on every command's
    document, byte for byte."""
    kind: Any = type(value)
    return _encoder(kind, by_alias)(value)


def dump_json(value: Any, indent: int | None = 2) -> str:
    """A record as a JSON document (UTF-8 text, not ASCII escapes)."""
    import json

    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(jsonable(value), indent=indent, ensure_ascii=False,
                      separators=separators, allow_nan=False)


def _untyped(value: Any) -> Any:
    """JSON data of a value whose declared type says nothing (`Any`)."""
    if isinstance(value, Record):
        return jsonable(value, by_alias=True)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (tuple, list)):
        return [_untyped(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _untyped(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int)):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _float(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def _same(value: Any) -> Any:
    return value


@cache
def _encoder(kind: Any, by_alias: bool) -> Callable[[Any], Any]:
    """A function turning a value declared as `kind` into JSON data, built once per type."""
    import typing

    if isinstance(kind, type) and issubclass(kind, Record):
        alias = getattr(kind, "__pydantic_config__", {}).get("alias_generator")
        types = field_types(kind)
        parts = tuple((name, alias(name) if alias and by_alias else name,
                       _encoder(types[name], by_alias)) for name in kind.__record_fields__)

        def record(value: Any) -> Any:
            if type(value) is not kind:  # a subclass, or not a record: by what it is
                return jsonable(value, by_alias) if isinstance(value, Record) else (
                    _untyped(value))
            return {key: part(getattr(value, name)) for name, key, part in parts}

        return record
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Annotated:
        return _encoder(args[0], by_alias)
    if origin in (typing.Union, _UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            inner = _encoder(members[0], by_alias)
            return lambda value: None if value is None else inner(value)
        numeric = float in members
        return lambda value: (_float(value) if numeric and type(value) is int and int not in
                              members else _untyped(value))
    if origin in (tuple, list):
        if not args:
            return _untyped
        item = _encoder(args[0], by_alias)
        if item is _same:
            return list
        return lambda value: [item(v) for v in value]
    if origin is dict:
        k, v = _encoder(args[0], by_alias), _encoder(args[1], by_alias)
        return lambda value: {str(k(a)): v(b) for a, b in value.items()}
    if origin is typing.Literal or kind in (str, int, bool, type(None)):
        return _same
    if kind is float:
        return _float
    if kind is dt.date:
        return lambda value: None if value is None else value.isoformat()
    return _untyped


class Check:
    """Constraints on a value (`gt`, `ge`, `le`, `lt`, `min_length`, `pattern`), in the names of
    pydantic-core's schemas: `Annotated[int, Check(gt=0)]`."""

    def __init__(self, **constraints: Any) -> None:
        self.constraints = constraints

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return {**handler(source), **self.constraints}

    def __repr__(self) -> str:
        return f"Check({', '.join(f'{k}={v!r}' for k, v in self.constraints.items())})"


# Numbers from catalog files are numbers: `true` is not 1 and `"36"` is not 36 (strict), and no
# float is nan or infinite.
PositiveInt = Annotated[int, Check(gt=0, strict=True)]
PositiveFloat = Annotated[float, Check(gt=0, strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Check(ge=0, strict=True, allow_inf_nan=False)]
Share = Annotated[float, Check(ge=0, le=1, strict=True, allow_inf_nan=False)]
Fraction = Annotated[float, Check(gt=0, le=1, strict=True, allow_inf_nan=False)]  # not nothing
StrictBool = Annotated[bool, Check(strict=True)]  # `"no"` and `0` are not false
NonEmpty = Annotated[str, Check(min_length=1)]
Slug = Annotated[str, Check(pattern=r"^[a-z0-9][a-z0-9.\-]*$")]
# org/name in ASCII only (no lookalikes or invisible characters); neither part starts with `.` or
# `-`, so `..` and `--token` cannot become a path component or an option of a printed command.
RepoId = Annotated[str, Check(min_length=3, max_length=200,
                              pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*/[A-Za-z0-9_][A-Za-z0-9._-]*$")]
