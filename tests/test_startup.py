"""Start-up path (README, Speed): what a cached run imports, and the fast paths that replace
pydantic's serialiser and `typing.get_type_hints`, checked against them. Nothing here is timed."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import math
import os
import pkgutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
import typer
from test_export import COMMANDS
from typer.testing import CliRunner

import advisor
from advisor.cli import app, document_types
from advisor.data import cache, records
from advisor.data.loader import packaged_path, read_toml
from advisor.data.validation import adapter
from advisor.data.validation import dump_json as pydantic_dump_json

runner = CliRunner()
DOCUMENTS = {  # test_export's commands, and those whose documents it does not check
    **COMMANDS,
    "run": ["run", "qwen3-8b"],
    "serve": ["serve", "qwen3-8b", "--device", "h100"],
    "plan": ["plan", "qwen3-8b", "--users", "20"],
    "draft": ["draft", "qwen3-8b", "--device", "rtx-4090"],
    "finetune": ["finetune", "qwen3-8b", "--device", "rtx-4090"],
    "finetune-list": ["finetune", "--list", "--device", "rtx-4090"],
}


def test_every_document_type_is_exercised() -> None:
    assert set(DOCUMENTS) == set(document_types())


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_json_is_byte_for_byte_what_pydantic_writes(document: str) -> None:
    """`--json` is written without pydantic; its serialiser, given the same record, agrees."""
    result = runner.invoke(app, [*DOCUMENTS[document], "--json"])
    assert result.exit_code == 0, result.stderr
    record = adapter(document_types()[document]()).validate_json(result.stdout)
    assert result.stdout == pydantic_dump_json(record) + "\n"


def _key(name: str) -> str:
    return "class" if name == "kind" else name


@records.record
class Inner(records.Record):
    ratio: float
    label: Literal["a", "b"] = "a"


@records.record
class Edge(records.Record):
    __pydantic_config__: ClassVar[dict[str, Any]] = {"alias_generator": _key}
    kind: str
    speed: float
    optional_speed: float | None = None
    speeds: tuple[float, ...] = ()
    ranges: dict[str, tuple[float, float]] = records.field(default_factory=dict)
    inner: Inner | None = None
    inners: tuple[Inner, ...] = ()
    day: dt.date | None = None
    count: int = 0
    anything: Any = None


def test_json_of_edge_values_matches_pydantic() -> None:
    """Aliases, ints in float fields, NaN and infinities, unicode, nesting, dates, `Any`."""
    values = [
        Edge(kind="设备 ünïcode \"quoted\"", speed=3, optional_speed=math.inf, speeds=(1, 2.5),
             ranges={"x": (1, math.nan)}, inner=Inner(ratio=2), inners=(Inner(ratio=0.5),),
             day=dt.date(2026, 12, 2), count=10**20, anything={"k": [1, (2, 3.5)]}),
        Edge(kind="", speed=-0.0, optional_speed=7),
    ]
    for value in values:
        assert records.dump_json(value) == pydantic_dump_json(value)
        assert records.dump_json(value, indent=None) == pydantic_dump_json(value, indent=None)
    first = json.loads(records.dump_json(values[0]))
    assert first["class"].startswith("设备") and first["speed"] == 3.0
    assert first["optional_speed"] is None and first["ranges"] == {"x": [1.0, None]}


def record_classes() -> list[type]:
    for module in pkgutil.iter_modules(advisor.__path__):
        if module.name != "__main__":
            importlib.import_module(f"advisor.{module.name}")
    found: list[type] = []
    todo = [records.Record]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_field_types_agree_with_get_type_hints() -> None:
    """The cache's decoders read field types without `typing.get_type_hints`; same answers."""
    classes = record_classes()
    assert len(classes) > 30
    for cls in classes:
        mine = records.field_types(cls)
        hints = typing.get_type_hints(cls, include_extras=True)
        theirs = {name: hints[name] for name in cls.__record_fields__}
        # Check() metadata compares by identity, so the evaluated annotations compare as text
        assert {k: repr(v) for k, v in mine.items()} == {k: repr(v) for k, v in theirs.items()}


def fresh_values() -> dict[str, tuple[type, object]]:
    """Every cached kind, validated afresh from the packaged files."""
    from advisor.data.formats import Tables, _validated_tables
    from advisor.data.hardware import DeviceCatalog, _validated_devices
    from advisor.data.loader import _validated
    from advisor.data.schema import Catalog
    from advisor.ranking.rules import QualityTable, Scoring, _validated_quality, _validated_scoring

    return {"catalog": (Catalog, _validated(None)), "tables": (Tables, _validated_tables()),
            "devices": (DeviceCatalog, _validated_devices()),
            "scoring": (Scoring, _validated_scoring()),
            "quality": (QualityTable, _validated_quality())}


def test_every_cached_kind_decodes_back_to_what_was_validated() -> None:
    for name, (kind, value) in fresh_values().items():
        data = json.loads(json.dumps(cache.encode(value)))
        assert cache.decode(kind, data) == value, name


def test_a_mistyped_entry_is_refused() -> None:
    """The decoders check every value's type: a changed entry is loaded afresh, not used."""
    from advisor.data.schema import Catalog, Context, ModelEntry

    value = fresh_values()["catalog"][1]
    good = cache.encode(value)

    def at(kind: type, name: str) -> int:
        """A record's field in its cached form: the list of field values."""
        return kind.__record_fields__.index(name)  # type: ignore[attr-defined]

    model = (at(Catalog, "models"), 0)
    for path, bad in (((*model, at(ModelEntry, "id")), 5),
                      ((*model, at(ModelEntry, "tasks")), "chat"),
                      ((*model, at(ModelEntry, "tasks"), 0), None),
                      ((*model, at(ModelEntry, "open_weights")), 1),
                      ((*model, at(ModelEntry, "context"), at(Context, "native_tokens")),
                       True),
                      ((*model, at(ModelEntry, "release_date")), "yesterday"),
                      ((*model, at(ModelEntry, "thinking")), "sometimes"),
                      ((*model, at(ModelEntry, "id")), None), (model, []), (model, {})):
        data = json.loads(json.dumps(good))
        where = data
        for step in path[:-1]:
            where = where[step]
        where[path[-1]] = bad
        with pytest.raises((TypeError, ValueError, KeyError)):
            cache.decode(Catalog, data)


def test_cached_runtime_flags_equal_the_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.data.loader import cached_toml

    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path))
    path = packaged_path("runtime_flags.toml")
    first = cached_toml("flags", path)
    assert any(p.name.startswith("flags-") for p in tmp_path.iterdir())
    assert cached_toml("flags", path) == first == read_toml(path)


LIGHT = ("pydantic", "pydantic_core", "rich", "tomli", "jsonschema", "typer")
PROBE = ("import sys; from advisor.__main__ import main\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\n"
         "print(sorted({{m.split('.')[0] for m in sys.modules}} & set({among!r})), "
         "file=sys.stderr)")


def imported(tmp_path: Path, *args: str, among: tuple[str, ...] = LIGHT) -> list[str]:
    """The packages of `among` (heavy ones by default) a second (cached) run of `advisor ARGS`
    imported."""
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path)}
    env.pop("ADVISOR_NO_CACHE", None)
    probe = PROBE.format(among=among)
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                             text=True, timeout=60, env=env, check=False)
        assert run.returncode == 0, run.stderr
    return json.loads(run.stderr.splitlines()[-1].replace("'", '"'))


def test_cached_json_run_imports_neither_pydantic_nor_rich(tmp_path: Path) -> None:
    assert imported(tmp_path, "recommend", "--device", "phone", "--private", "--json") == []


def test_cached_json_run_imports_neither_dataclasses_nor_inspect(tmp_path: Path) -> None:
    """Records are not dataclasses until pydantic needs them (records.as_dataclasses)."""
    among = ("dataclasses", "inspect", "ast", "dis", "tokenize", "advisor")
    assert imported(tmp_path, "recommend", "--device", "phone", "--private", "--json",
                    among=among) == ["advisor"]  # the probe itself works


def test_cached_table_run_imports_neither_pydantic_nor_rich(tmp_path: Path) -> None:
    """Tables are drawn by advisor.output.table, not Rich."""
    assert imported(tmp_path, "recommend", "--device", "phone", "--private") == []


def test_help_imports_no_heavy_package(tmp_path: Path) -> None:
    assert imported(tmp_path, "--help") == []


HELP_PROBE = ("import sys; from advisor.__main__ import main\n"
              "sys.argv = ['advisor', '--help']\n"
              "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
              "print('typer' in sys.modules, code, file=sys.stderr)")


def help_run(env: dict[str, str]) -> tuple[str, str]:
    run = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True,
                         timeout=60, env={**os.environ, **env}, check=False)
    return run.stdout, run.stderr.splitlines()[-1]


@pytest.mark.parametrize("env", [{}, {"LANG": "zh_CN.UTF-8"}, {"COLUMNS": "60"},
                                 {"COLUMNS": "200", "LC_ALL": "zh_CN.UTF-8"}])
def test_help_from_the_cache_is_what_typer_prints(tmp_path: Path, env: dict[str, str]) -> None:
    """The first `advisor --help` runs Typer and keeps its text; the next prints it without
    importing Typer. Both equal an uncached run, in each language and width."""
    fresh, probe = help_run({**env, "ADVISOR_NO_CACHE": "1"})
    assert probe == "True 0" and fresh.startswith(("Usage: advisor [OPTIONS] COMMAND",
                                                   "用法：advisor [OPTIONS] COMMAND"))  # noqa: RUF001
    cached = {**env, "ADVISOR_CACHE_DIR": str(tmp_path)}
    assert help_run(cached) == (fresh, "True 0")  # a miss: Typer ran, and its text was kept
    assert help_run(cached) == (fresh, "False 0")  # a hit: no Typer
    assert [p.name.startswith("help-") for p in tmp_path.iterdir()] == [True]


def test_help_texts_differ_by_language_and_width(tmp_path: Path) -> None:
    cached = {"ADVISOR_CACHE_DIR": str(tmp_path)}
    texts = {help_run({**cached, **env})[0] for env in (
        {"LANG": "en_US.UTF-8"}, {"LANG": "zh_CN.UTF-8"}, {"COLUMNS": "60"})}
    assert len(texts) == 3 and len(list(tmp_path.iterdir())) == 3


def test_a_help_entry_renamed_onto_another_key_is_ignored(tmp_path: Path) -> None:
    cached = {"ADVISOR_CACHE_DIR": str(tmp_path)}
    english = help_run({**cached, "LANG": "en_US.UTF-8"})[0]
    (entry,) = tmp_path.iterdir()
    help_run({**cached, "LANG": "zh_CN.UTF-8"})
    chinese = next(p for p in tmp_path.iterdir() if p != entry)
    chinese.replace(entry)  # the Chinese text under the English key
    assert help_run({**cached, "LANG": "en_US.UTF-8"}) == (english, "True 0")


def test_help_key_follows_every_file_of_the_package(tmp_path: Path) -> None:
    from advisor.commandline import helpcache

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.po").write_text("one")
    (tmp_path / "__pycache__").mkdir()

    def tree() -> str:
        digest = helpcache.blake2b()
        helpcache._tree(digest, str(tmp_path))
        return digest.hexdigest()

    first = tree()
    (tmp_path / "__pycache__" / "x.pyc").write_text("bytecode does not count")
    assert tree() == first
    (tmp_path / "sub" / "a.po").write_text("two!")
    assert tree() != first


def test_help_cache_is_off_with_the_catalog_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.commandline import helpcache

    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    assert helpcache.entry(["advisor", "--help"]) is None
    assert helpcache.wanted(["advisor", "--help"])
    assert helpcache.wanted(["advisor", "--lang", "zh", "--help"])  # argv is part of the key
    assert not helpcache.wanted(["advisor", "--lang", "zh", "recommend", "--help"])
    assert not helpcache.wanted(["advisor", "recommend", "--help"])


def test_every_command_is_kept_for_a_one_command_app() -> None:
    from advisor.cli import app as full

    group = typer.main.get_command(full)
    plain = {n for n, c in group.commands.items() if not getattr(c, "commands", None)}
    assert set(full.kept) == plain  # every command can run alone; groups (catalog) run whole


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_one_command_app_reads_as_the_whole_app(lang: str) -> None:
    """`app_for` builds the root options and the one command a run names: its help, usage
    errors and output are the whole app's, in each language."""
    from advisor.cli import app as full
    from advisor.cli import app_for

    for name in sorted(full.kept):
        for args in ([name, "--help"], ["--lang", lang, name, "--bogus-option"],
                     ["--catalog", "/nonexistent.toml", name, "--help"]):
            alone, whole = app_for(args), full
            assert alone is not whole and list(alone.kept) == [name]
            mine = runner.invoke(alone, args, env={"COLUMNS": "80", "LANG": f"{lang}_XX.UTF-8"})
            theirs = runner.invoke(whole, args, env={"COLUMNS": "80", "LANG": f"{lang}_XX.UTF-8"})
            assert (mine.exit_code, mine.stdout, mine.stderr) == (
                theirs.exit_code, theirs.stdout, theirs.stderr), args
    run = ["--lang", lang, "recommend", "--device", "phone", "--private", "--json"]
    assert runner.invoke(app_for(run), run).stdout == runner.invoke(full, run).stdout


@pytest.mark.parametrize("args", [[], ["--help"], ["recomend"], ["catalog", "check"],
                                  ["--catalog"], ["--lang", "zh"], ["--version"]])
def test_anything_else_runs_the_whole_app(args: list[str]) -> None:
    from advisor.cli import app as full
    from advisor.cli import app_for

    assert app_for(args) is full
