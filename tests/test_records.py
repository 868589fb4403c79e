"""Records: frozen, keyword-only, equal by value; pydantic validates them at the edges only."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from advisor.loader import load_catalog
from advisor.records import Check, Record, record
from advisor.schema import Context, License
from advisor.validation import ValidationError, dump_json, json_schema, validate


@record
class Point(Record):
    x: int
    label: str = "p"


@record
class Bag(Record):
    items: dict[str, int] = dataclasses.field(default_factory=dict)


def test_fields_cannot_be_rebound_deleted_or_added() -> None:
    p = Point(x=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.label
    with pytest.raises(dataclasses.FrozenInstanceError):
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
    assert dataclasses.replace(c, max_tokens=65536).max_tokens == 65536
    with pytest.raises(ValueError, match="below native_tokens"):
        dataclasses.replace(c, max_tokens=1024)  # __post_init__ checks still run


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
