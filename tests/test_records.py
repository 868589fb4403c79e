"""Records: frozen, keyword-only, equal by value; pydantic validates them at the edges only."""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from advisor.data import records
from advisor.data.loader import load_catalog
from advisor.data.records import Check, FrozenInstanceError, Record, field, record
from advisor.data.schema import Context, License
from advisor.data.validation import ValidationError, dump_json, json_schema, validate


@record
class Point(Record):
    x: int
    label: str = "p"


@record
class Bag(Record):
    items: dict[str, int] = field(default_factory=dict)


def test_fields_cannot_be_rebound_deleted_or_added() -> None:
    p = Point(x=1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del p.label
    with pytest.raises(FrozenInstanceError):
        p.extra = 3
    assert p.x == 1 and p.label == "p"


def test_keyword_only_construction_with_defaults_and_fresh_factories() -> None:
    with pytest.raises(TypeError):
        Point(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing keyword argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Point(x=1, colour="red")  # type: ignore[call-arg]
    a, b = Bag(), Bag()
    assert a.items == {} and a.items is not b.items  # default_factory: one dict each


def test_equality_hash_and_repr_are_by_value() -> None:
    assert Point(x=1) == Point(x=1, label="p")
    assert Point(x=1) != Point(x=2)
    assert Point(x=1) != (1, "p")
    assert len({Point(x=1), Point(x=1), Point(x=2)}) == 2
    assert repr(Point(x=1)) == "Point(x=1, label='p')"


def test_pickle_and_replace_round_trip() -> None:
    c = Context(native_tokens=32768, max_tokens=131072, extension_method="yarn", yarn_factor=4.0)
    assert pickle.loads(pickle.dumps(c)) == c
    entry = load_catalog().by_id()["qwen3-8b"]
    assert entry.param_count.total > 0  # cached on the entry...
    assert "param_count" not in pickle.loads(pickle.dumps(entry)).__dict__  # ...never pickled
    assert records.replace(c, max_tokens=65536).max_tokens == 65536
    with pytest.raises(ValueError, match="below native_tokens"):
        records.replace(c, max_tokens=1024)  # __post_init__ checks still run


def test_validation_applies_check_metadata_and_builds_records() -> None:
    lic = validate(License, {"id": "apache-2.0", "commercial_use": True})
    assert lic == License(id="apache-2.0", commercial_use=True)
    with pytest.raises(ValidationError) as err:
        validate(License, {"id": "", "commercial_use": True, "colour": "red"})
    kinds = {e["type"] for e in err.value.errors()}
    assert "string_too_short" in kinds  # NonEmpty = Check(min_length=1)
    assert kinds & {"extra_forbidden", "unexpected_keyword_argument"}
    assert json_schema(License)["properties"]["id"]["minLength"] == 1
    assert dump_json(lic, indent=None) == '{"id":"apache-2.0","commercial_use":true,"condition":""}'


def test_check_repr_names_its_constraints() -> None:
    assert repr(Check(gt=0, pattern="^a$")) == "Check(gt=0, pattern='^a$')"


@record
class Base(Record):
    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}
    kind: str
    size: int = 1
    tags: tuple[str, ...] = field(default=())
    notes: list[str] = field(default_factory=list)


@record
class Derived(Base):
    colour: str
    size: int = 2  # redeclared: keeps its place, new default
    count: ClassVar[int] = 0


def test_fields_are_collected_as_dataclass_collects_them() -> None:
    """Base fields first, a redeclared one in its old place, ClassVars left out."""
    assert Base.__record_fields__ == ("kind", "size", "tags", "notes")
    assert Derived.__record_fields__ == ("kind", "size", "tags", "notes", "colour")
    d = Derived(kind="k", colour="red")
    assert (d.size, d.tags, d.notes, Base(kind="k").size) == (2, (), [], 1)
    assert d.notes is not Derived(kind="k", colour="red").notes
    assert not hasattr(Base, "notes") and Base.tags == ()  # as dataclass leaves the class
    with pytest.raises(ValueError, match="mutable default"):
        record(type("Bad", (Record,), {"__annotations__": {"x": "list[int]"}, "x": []}))
    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=0, default_factory=int)


def test_replace_changes_fields_and_refuses_unknown_ones() -> None:
    d = Derived(kind="k", colour="red", notes=["a"])
    e = records.replace(d, colour="blue")
    assert e == Derived(kind="k", colour="blue", notes=["a"]) and e.notes is d.notes
    assert records.replace(d) == d and records.replace(d) is not d
    with pytest.raises(TypeError, match="no field 'shade'"):
        records.replace(d, shade="blue")
    with pytest.raises(TypeError):
        records.replace((1, 2), x=1)  # type: ignore[type-var]


def test_frozen_error_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="cannot assign to field 'x'"):
        Point(x=1).x = 2  # type: ignore[misc]
    assert issubclass(FrozenInstanceError, AttributeError)


def test_as_dataclasses_gives_the_same_fields_and_keeps_record_methods() -> None:
    import dataclasses

    records.as_dataclasses()
    records.as_dataclasses()  # idempotent
    for kind in (Point, Bag, Base, Derived, Context):
        assert dataclasses.is_dataclass(kind)
        assert tuple(f.name for f in dataclasses.fields(kind)) == kind.__record_fields__
        assert "__init__" not in vars(kind) and "__eq__" not in vars(kind)
    by_name = {f.name: f for f in dataclasses.fields(Derived)}
    assert by_name["size"].default == 2 and by_name["tags"].default == ()
    assert by_name["notes"].default_factory is list and all(f.kw_only for f in by_name.values())

    @record
    class Later(Record):  # defined after: a dataclass at once
        n: int = 0
        items: dict[str, int] = field(default_factory=dict)

    assert dataclasses.is_dataclass(Later) and Later().items == {}
    assert validate(Derived, {"kind": "k", "colour": "red"}) == Derived(kind="k", colour="red")
    assert validate(Later, {}) == Later()
    assert dump_json(Derived(kind="k", colour="c"), indent=None) == (
        '{"kind":"k","size":2,"tags":[],"notes":[],"colour":"c"}')


def test_records_are_not_dataclasses_until_validation_is_imported() -> None:
    code = ("import sys; from advisor.data import records, schema\n"
            "print('dataclasses' in sys.modules, hasattr(schema.Context, '__dataclass_fields__'))\n"
            "from advisor.data import validation\n"
            "print('dataclasses' in sys.modules, hasattr(schema.Context, '__dataclass_fields__'))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert run.stdout.split() == ["False", "False", "True", "True"]
