"""Pydantic at the edges: checking catalog data into records, and a record's JSON Schema.

Imported only when a catalog file is validated afresh or `advisor schema` runs: documents are
written by `records.dump_json` (tests hold it to `dump_json` here, byte for byte), so a cached
run never needs it. Pydantic reads records as dataclasses, so importing this module makes them
so (`records.as_dataclasses`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from advisor.data.records import as_dataclasses

T = TypeVar("T")

__all__ = ["ValidationError", "adapter", "dump_json", "json_schema", "jsonable", "validate"]


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
as_dataclasses()  # every record class, and any defined from now on


def adapter(kind: Any) -> TypeAdapter[Any]:
    """Pydantic's validator and serialiser for a record type (or any type), built once."""
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(kind)
    return _ADAPTERS[kind]


def validate(kind: type[T], data: Any) -> T:
    """`data` checked and converted into a `kind` record; raises ValidationError."""
    record: T = adapter(kind).validate_python(data)
    return record


def jsonable(record: Any, by_alias: bool = False) -> Any:
    """A record as JSON-ready dicts, lists and scalars."""
    return adapter(type(record)).dump_python(record, mode="json", by_alias=by_alias)


def dump_json(record: Any, indent: int | None = 2) -> str:
    return adapter(type(record)).dump_json(record, indent=indent, by_alias=True).decode()


def json_schema(kind: type[Any]) -> dict[str, Any]:
    return adapter(kind).json_schema(by_alias=True)
