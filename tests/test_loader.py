"""Catalog loading: every failure is located; ids resolve; user catalogs extend the packaged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.data.loader import check_catalog, find_model, load_catalog
from advisor.errors import CatalogError, InputError

DATA = Path(__file__).parent / "data"

BAD_FILES = [
    ("syntax_error.toml", "TOML syntax error: Invalid value (at line 27, column 23)"),
    ("wrong_type.toml",
     "model 'qwen3-8b': config.num_hidden_layers: Input should be a valid integer"),
    ("unknown_key.toml", "model 'qwen3-8b': config.hiden_size: unknown key"),
    ("duplicate_id.toml", "model 'qwen3-8b': id: duplicate id"),
    ("missing_source.toml", "model 'qwen3-8b': release_date: no source backs it"),
    ("empty.toml", "the file is empty"),
    ("binary.toml", "not UTF-8 text"),
    ("heads_not_divisible.toml",
     "config: num_attention_heads (32) is not divisible by num_key_value_heads (7)"),
    ("active_exceeds_total.toml",
     "model 'qwen3-30b-a3b': params_active: 40,000,000,000 exceeds params_total"),
    ("api_with_config.toml", "model 'qwen3-max': config: an API-only model (open_weights = false)"),
    ("param_mismatch.toml", "params_total: config gives 8,190,427,136 parameters, -50.1% from"),
    ("unbacked_source_field.toml", "sources: backs unknown field 'colour'"),
]


@pytest.mark.parametrize(("name", "fragment"), BAD_FILES)
def test_each_bad_file_gives_a_located_message(name: str, fragment: str) -> None:
    problems = check_catalog(DATA / name)
    assert problems, f"{name} should fail"
    assert any(p.startswith(f"{DATA / name}: ") and fragment in p for p in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    problems = check_catalog(DATA / "two_problems.toml")
    assert len(problems) == 2
    assert "model 'qwen3-8b'" in problems[0]
    assert "model 'qwen3-30b-a3b': config.head_dim" in problems[1]


# Constraints written as `Check(...)` metadata on the records, each broken in a copy of a valid
# file.
BROKEN_CONSTRAINTS = [
    ("num_hidden_layers = 36", "num_hidden_layers = 0",
     "model 'qwen3-8b': config.num_hidden_layers: Input should be greater than 0"),
    ('family = "qwen3"', 'family = "Qwen 3"',
     "model 'qwen3-8b': family: String should match pattern"),
    ('tasks = ["chat", "reasoning", "code", "math", "tool-use"]', "tasks = []",
     "model 'qwen3-8b': tasks: Tuple should have at least 1 item"),
    ("yarn_factor = 4.0", "yarn_factor = 1.0",
     "model 'qwen3-8b': context.yarn_factor: Input should be greater than 1"),
    ('repo = "Qwen/Qwen3-8B-FP8"', 'repo = "Qwen3-8B-FP8"',
     "model 'qwen3-8b': quantized[0].repo: String should match pattern"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { C-Eval = 83.0 }",
     "model 'qwen3-8b': benchmarks.C-Eval.[key]: String should match pattern"),
]


@pytest.mark.parametrize(("valid", "broken", "fragment"), BROKEN_CONSTRAINTS)
def test_field_constraints_are_checked_and_located(tmp_path: Path, valid: str, broken: str,
                                                   fragment: str) -> None:
    text = (DATA / "small_catalog.toml").read_text()
    assert valid in text
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace(valid, broken, 1))
    problems = check_catalog(mine)
    assert any(p.startswith(f"{mine}: ") and fragment in p for p in problems), problems


def test_directory_and_missing_file(tmp_path: Path) -> None:
    assert check_catalog(tmp_path) == [f"{tmp_path}: is a directory, not a TOML file"]
    assert check_catalog(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: no such file"]


def test_packaged_catalog_is_valid() -> None:
    assert check_catalog(None) == []
    assert len(load_catalog().models) >= 3


def test_packaged_errors_name_the_repository_path(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as err:
        load_catalog(DATA / "duplicate_id.toml")
    assert "duplicate_id.toml: model 'qwen3-8b': id: duplicate id" in str(err.value)


def test_user_catalog_extends_the_packaged_one() -> None:
    packaged = {m.id for m in load_catalog().models}
    extended = {m.id for m in load_catalog(DATA / "user_extends.toml").models}
    assert extended == packaged | {"acme-qwen3-8b-ft"}


@pytest.mark.parametrize("name", ["qwen3-8b", "QWEN3-8B", "Qwen/Qwen3-8B", "qwen/qwen3-8b "])
def test_model_found_by_id_or_repo_case_insensitively(name: str, small_catalog: Path) -> None:
    assert find_model(load_catalog(small_catalog), name).id == "qwen3-8b"


def test_unknown_model_suggests_the_closest(small_catalog: Path) -> None:
    with pytest.raises(InputError) as err:
        find_model(load_catalog(small_catalog), "qwen3-9b")
    assert str(err.value) == "unknown model 'qwen3-9b'; did you mean 'qwen3-8b'?"
    assert err.value.exit_code == 2


def test_validated_catalog_is_cached_on_content_and_damage_means_a_fresh_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advisor.data.loader import _load_cached

    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    mine = tmp_path / "mine.toml"
    mine.write_bytes((DATA / "small_catalog.toml").read_bytes())
    _load_cached.cache_clear()
    first = load_catalog(mine)
    stored = list((tmp_path / "cache").glob("catalog-*.json"))
    assert len(stored) == 1
    _load_cached.cache_clear()
    assert load_catalog(mine) == first  # from the cache
    stored[0].write_bytes(b"not json")
    _load_cached.cache_clear()
    assert load_catalog(mine) == first  # damaged entry: loaded afresh
    mine.write_text(mine.read_text().replace('name = "Qwen3-8B"', 'name = "Qwen3-8B (mine)"'))
    _load_cached.cache_clear()
    assert load_catalog(mine).by_id()["qwen3-8b"].name == "Qwen3-8B (mine)"  # new content, new key
    assert len(list((tmp_path / "cache").glob("catalog-*.json"))) == 2
    _load_cached.cache_clear()


def test_an_unwritable_cache_does_not_fail_the_load(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.data.loader import _load_cached

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(blocker / "cache"))  # parent is a file
    _load_cached.cache_clear()
    assert load_catalog(DATA / "small_catalog.toml").by_id()["qwen3-8b"]
    _load_cached.cache_clear()


def test_unverified_list_names_every_model_with_an_unverified_source() -> None:
    listed = (Path(__file__).parents[1] / "catalog" / "UNVERIFIED.md").read_text()
    for m in load_catalog().models:
        line = next((x for x in listed.splitlines() if x.startswith(f"| `{m.id}` |")), None)
        if m.unverified:
            assert line == f"| `{m.id}` | {', '.join(m.unverified)} |", (
                f"{m.id}: run python bench/list_unverified.py")
        else:
            assert line is None, f"{m.id} is listed but all its sources are verified"


def test_reading_the_cache_leaves_the_garbage_collector_as_it_was(tmp_path: Path) -> None:
    import gc

    from advisor.data import cache

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    tmp_path.chmod(0o700)
    cache.write(good, {"a": 1})
    bad.write_bytes(b"not json")
    for path in (good, bad, tmp_path / "missing.json"):
        cache.read(path, dict)
        assert gc.isenabled()
    assert cache.read(good, dict[str, int]) == {"a": 1}
    gc.disable()
    try:
        cache.read(good, dict)
        assert not gc.isenabled()
    finally:
        gc.enable()
