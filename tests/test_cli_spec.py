"""The command-line reader that runs without Typer (advisor.commandline.cli_spec, issue 18): on
every command line it reads, it calls the commands with exactly what Typer would; everything else it
leaves to Typer. Typer is the reference: both are given the same recorded commands."""

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from advisor import cli
from advisor.commandline import cli_spec, cli_typer
from advisor.commandline.cli_spec import Registry

Calls = list[tuple[str, dict[str, Any]]]


def recording(registry: Registry, calls: Calls) -> Registry:
    """`registry` with each command replaced by one of the same signature that records what it
    was called with."""

    def recorder(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def record(**kwargs: Any) -> None:
            calls.append((name, kwargs))

        return record

    copy = Registry(**registry.settings)
    if registry.root is not None:
        copy.callback(**registry.root.settings)(recorder("", registry.root.fn))
    for name, command in registry.commands.items():
        copy.command(name, signature=command.signature, **command.settings)(
            recorder(name, command.fn))
    for name, group in registry.groups.items():
        copy.add_typer(recording(group, calls), name=name)
    return copy


@pytest.fixture(scope="module")
def recorded() -> tuple[Registry, Calls, Any]:
    calls: Calls = []
    registry = recording(cli.commands, calls)
    return registry, calls, cli_typer.build(registry)


def both(recorded: tuple[Registry, Calls, Any], words: list[str],
         env: dict[str, str] | None = None) -> tuple[Calls, Calls | None]:
    """What Typer called the commands with, and what the reader would (None: declined)."""
    registry, calls, app = recorded
    calls.clear()
    result = CliRunner().invoke(app, words, env=env)
    typer_calls = list(calls) if result.exit_code == 0 else []
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        call = cli_spec.parse(registry, words)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    mine = None if call is None else [("", call.root_kwargs), (call.command.name, call.kwargs)]
    return typer_calls, mine


READ = [
    ["recommend", "--device", "phone", "--private"],
    ["recommend", "--device=phone", "--private", "--json"],
    ["recommend", "-d", "rtx-4090", "-t", "code", "-c", "32768", "--top", "3", "--min-speed",
     "20", "--format", "MARKDOWN", "-r", "vllm", "-q", "fp8", "--explain"],
    ["recommend", "--memory-gb", "16", "--bandwidth-gb-s", "120.5", "--chinese", "--commercial",
     "-o", "out.json", "--tflops", "1e1", "--gpus", "2", "--ram-gb", "64", "--why-not", "x"],
    ["recommend", "--device", "phone", "--top", "1_0", "--context=8192", "-f", "csv"],
    ["recommend", "--device", ""],
    ["--catalog", "some.toml", "models", "--family", "qwen3", "--open-only", "--task", "code"],
    ["--catalog=some.toml", "devices", "--class", "consumer-gpu", "--format=json"],
    ["estimate", "qwen3-8b", "--device", "rtx-4090", "-q", "q4_k_m", "--batch", "4",
     "--kv-dtype", "q8_0", "--prompt", "100", "--context", "4096"],
    ["estimate", "--device", "rtx-4090", "qwen3-8b", "--json"],
    ["estimate", "-", "--device", "phone"],  # a lone dash is an argument, to Click too
    ["show", "qwen3-8b", "-f", "json"],
    ["run", "qwen3-8b", "--runtime", "vllm", "--source", "modelscope", "--task", "tool-use",
     "--chinese", "--kv-dtype", "fp8", "--gpus", "4", "-c", "1000"],
    ["detect"],
    ["schema", "recommend"],
    ["serve", "qwen3-8b", "--device", "h100", "--users", "20", "--max-ttft", "2.5"],
    ["plan", "qwen3-8b", "--users", "20"],
    ["draft", "qwen3-8b", "--device", "rtx-4090"],
    ["finetune", "qwen3-8b", "--device", "rtx-4090"],
    ["finetune", "--list", "--device", "rtx-4090"],
]


@pytest.mark.parametrize("words", READ, ids=" ".join)
def test_a_plain_command_line_is_called_as_typer_calls_it(
        recorded: tuple[Registry, Calls, Any], words: list[str]) -> None:
    theirs, mine = both(recorded, words)
    assert theirs and mine == theirs
    for (_, a), (_, b) in zip(theirs, mine or [], strict=True):  # same types, not just ==
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}


def test_every_plain_command_is_read(recorded: tuple[Registry, Calls, Any]) -> None:
    """Each command with its required arguments only (defaults all through); the report (its
    signature is recommend's) and compare (a list argument) are Typer's."""
    registry = recorded[0]
    for name, command in registry.commands.items():
        spec = command.spec()
        if name in ("report", "compare"):
            assert spec is None
            continue
        assert spec is not None, name
        words = [name] + ["qwen3-8b" for p in spec
                          if p.kind == "argument" and p.default is cli_spec._REQUIRED]
        theirs, mine = both(recorded, words)
        assert theirs and mine == theirs, name


def test_the_catalog_comes_from_the_environment_as_in_typer(
        recorded: tuple[Registry, Calls, Any]) -> None:
    for value in ("from-env.toml", ""):  # Click ignores an empty variable
        theirs, mine = both(recorded, ["models"], env={"ADVISOR_CATALOG": value})
        assert theirs and mine == theirs
        assert theirs[0][1]["catalog"] == (Path(value) if value else None)


DECLINED = [
    [], ["--help"], ["recommend", "--help"], ["recomend"], ["catalog", "check"],
    ["recommend", "--device"], ["recommend", "--top", "many"], ["recommend", "--top", "3",
                                                                 "--top", "4"],
    ["recommend", "--private=yes"], ["recommend", "-dphone"], ["recommend", "-d=phone"],
    ["recommend", "--device", "-x"], ["recommend", "--min-speed", "-5"],
    ["recommend", "--", "--device"], ["recommend", "--format", "yaml"], ["recommend", "--dev",
                                                                         "phone"],
    ["estimate"], ["estimate", "a", "b"],
    ["report", "--device", "phone"], ["compare", "qwen3-8b", "qwen3-14b"],
    ["models", "--catalog", "x.toml"], ["--bogus", "models"], ["models", "stray"],
    ["show", "a\0b", "-o", "a\0b"],
]


@pytest.mark.parametrize("words", DECLINED, ids=repr)
def test_anything_else_is_left_to_typer(recorded: tuple[Registry, Calls, Any],
                                        words: list[str]) -> None:
    assert both(recorded, words)[1] is None


def test_a_completion_request_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_ADVISOR_COMPLETE", "bash_complete")
    assert cli_spec.parse(cli.commands, ["models"]) is None


def test_an_existing_path_is_checked_as_click_checks_it(tmp_path: Path) -> None:
    spec = cli_spec.Spec("output", "option", Path, None, {"dir_okay": False})
    assert cli_spec.convert(spec, str(tmp_path / "new.json")) == tmp_path / "new.json"
    with pytest.raises(cli_spec.Declined):
        cli_spec.convert(spec, str(tmp_path))  # a directory where only files are allowed


@pytest.mark.parametrize("error", [EOFError, KeyboardInterrupt])
def test_end_of_input_and_ctrl_c_end_as_under_typer(error: type[BaseException],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def fail(**kwargs: Any) -> None:
        raise error

    registry = Registry(**cli.commands.settings)
    assert cli.commands.root is not None
    registry.callback(**cli.commands.root.settings)(cli.commands.root.fn)
    registry.command("models")(functools.wraps(cli.commands.commands["models"].fn)(fail))
    theirs = CliRunner().invoke(cli_typer.build(registry), ["models"])
    call = cli_spec.parse(registry, ["models"])
    assert call is not None
    with pytest.raises(SystemExit) as exited:
        call.run()
    assert (exited.value.code, capsys.readouterr().err) == (theirs.exit_code, theirs.stderr)


RUNS = [
    ["recommend", "--device", "phone", "--private", "--json"],
    ["recommend", "--device", "phone", "--private", "--top", "2"],
    ["--lang", "zh", "recommend", "--device", "phone", "--private", "--top", "2"],
    ["estimate", "qwen3-8b", "--device", "no-such-device"],
    ["run", "qwen3-8b", "--runtime", "vllm"],
    ["models", "--family", "qwen3", "--json"],
]


@pytest.mark.parametrize("words", RUNS, ids=" ".join)
def test_a_real_run_prints_what_the_typer_app_prints(words: list[str], tmp_path: Path) -> None:
    """The installed entry point (the reader, no Typer) against the whole Typer app."""
    env = {**os.environ, "COLUMNS": "100", "ADVISOR_CACHE_DIR": str(tmp_path), "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    env.pop("LANGUAGE", None)
    probe = ("import sys; from advisor.__main__ import main\n"
             "try:\n    main()\nfinally:\n"
             "    print('typer' in sys.modules, file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", probe, *words], capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    theirs = CliRunner().invoke(cli.app, words, env={"COLUMNS": "100", "LANG": "C.UTF-8",
                                                     "LC_ALL": "", "LANGUAGE": ""})
    *stderr, typer_loaded = run.stderr.splitlines()
    assert typer_loaded == "False"
    assert (run.returncode, run.stdout, "\n".join(stderr)) == (
        theirs.exit_code, theirs.stdout, theirs.stderr.rstrip("\n"))


def test_declarations_the_commands_do_not_use_yet_read_as_in_typer() -> None:
    """Defaults cast as Click casts them, flags named by Typer (`--x/--no-x`) or by `/`, names
    made from parameters, case-sensitive choices, arguments with defaults."""
    from enum import Enum
    from typing import Annotated

    from advisor.commandline.cli_spec import Argument, Option

    class Colour(str, Enum):
        red = "red"
        blue = "Blue"

    calls: Calls = []
    registry = Registry(name="t")

    @registry.callback()
    def root() -> None:
        calls.append(("", {}))

    @registry.command("go")
    def go(
        where: Annotated[str, Argument()] = "here",
        share: Annotated[float, Option("--share")] = 1,
        dry_run: Annotated[bool, Option()] = False,
        loud: Annotated[bool, Option("--loud/--quiet", "-L")] = True,
        max_items: Annotated[int | None, Option()] = None,
        colour: Annotated[Colour, Option()] = Colour.red,
    ) -> None:
        calls.append(("go", {"where": where, "share": share, "dry_run": dry_run, "loud": loud,
                             "max_items": max_items, "colour": colour}))

    app = cli_typer.build(registry)
    for words in (["go"], ["go", "there", "--dry-run", "--quiet", "--max-items", "3",
                           "--colour", "Blue", "--share", "2"],
                  ["go", "--no-dry-run", "-L", "--share=0.5"]):
        calls.clear()
        assert CliRunner().invoke(app, words).exit_code == 0
        call = cli_spec.parse(registry, words)
        assert call is not None and [("", call.root_kwargs), ("go", call.kwargs)] == calls
        assert type(call.kwargs["share"]) is float
    assert CliRunner().invoke(app, ["go", "--colour", "blue"]).exit_code != 0
    assert cli_spec.parse(registry, ["go", "--colour", "blue"]) is None


FRESH = [  # every command's document, each in a process of its own
    ["recommend", "--device", "phone", "--private", "--json"],
    ["estimate", "qwen3-8b", "--device", "rtx-4090", "--json"],
    ["compare", "qwen3-8b", "qwen3-14b", "--device", "rtx-4090", "--json"],
    ["show", "qwen3-8b", "--json"], ["models", "--json"], ["devices", "--json"],
    ["run", "qwen3-8b", "--json"], ["serve", "qwen3-8b", "--device", "h100", "--json"],
    ["plan", "qwen3-8b", "--users", "20", "--json"],
    ["draft", "qwen3-8b", "--device", "rtx-4090", "--json"],
    ["finetune", "qwen3-8b", "--device", "rtx-4090", "--json"],
    ["schema", "recommend"], ["catalog", "check"],
    ["recommend", "--device", "phone", "--format", "markdown"],
    ["recommend", "--device", "rtx-4090", "--format", "csv", "--explain"],
    ["recommend", "--device", "phone", "--why-not", "qwen3-32b"],
    ["estimate", "qwen3-8b", "--device", "phone"],
]


@pytest.mark.parametrize("words", FRESH, ids=" ".join)
def test_each_command_runs_in_a_fresh_process(words: list[str], tmp_path: Path) -> None:
    """As a user runs them: one process each, nothing imported before (records are not
    dataclasses there until pydantic is loaded), read without Typer or by it."""
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):  # the first fills the cache, the second reads it
        run = subprocess.run([sys.executable, "-m", "advisor", *words], capture_output=True,
                             text=True, timeout=120, env=env, check=False)
        assert run.returncode == 0, run.stderr
        assert "internal error" not in run.stderr


def test_the_report_is_written_in_a_fresh_process(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):  # uncached (pydantic validates the catalog), then cached
        page.unlink(missing_ok=True)
        run = subprocess.run([sys.executable, "-m", "advisor", "report", "--device", "phone",
                              "--private", "-o", str(page)], capture_output=True, text=True,
                             timeout=120, env=env, check=False)
        assert run.returncode == 0, run.stderr
        assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
