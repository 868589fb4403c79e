"""Every format for every command, atomic writes, JSON schemas, and run recipes."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from advisor.cli import OutputFormat, app, document_types
from advisor.data.formats import load_tables
from advisor.data.hardware import HardwareQuery, hardware_from
from advisor.data.loader import load_catalog
from advisor.data.validation import adapter, dump_json, json_schema
from advisor.errors import ExportError
from advisor.output import export
from advisor.ranking.recommend import recommend
from advisor.ranking.rules import Constraints, load_scoring
from advisor.recipes import all_recipes

runner = CliRunner()
COMMANDS = {
    "models": ["models"],
    "show": ["show", "qwen3-8b"],
    "devices": ["devices"],
    "detect": ["detect"],
    "estimate": ["estimate", "qwen3-8b", "--device", "rtx-4090"],
    "recommend": ["recommend", "--device", "phone", "--private"],
    "compare": ["compare", "qwen3-8b", "qwen3-4b", "--device", "rtx-4090"],
}


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_format_for_every_command(command: str, fmt: OutputFormat) -> None:
    result = runner.invoke(app, [*COMMANDS[command], "--format", fmt.value])
    if fmt is OutputFormat.html and command != "recommend":  # the report page is recommend's
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1].startswith("error: --format html")
        return
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.strip()
    if fmt is OutputFormat.json:
        assert json.loads(out)["schema_version"] == 1
    elif fmt is OutputFormat.csv:
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    elif fmt is OutputFormat.html:
        assert out.startswith("<!DOCTYPE html>") and out.endswith("</html>\n")
    elif fmt is OutputFormat.markdown:
        lines = out.splitlines()
        assert lines[0].startswith("| ") and lines[1].startswith("|---")


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "picks.json"
    result = runner.invoke(app, [*COMMANDS["recommend"], "--json", "-o", str(target)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert json.loads(target.read_text())["recommendations"]
    assert os.listdir(tmp_path) == ["picks.json"]


def test_unwritable_path_is_one_line_exit_1(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.json"
    result = runner.invoke(app, ["models", "--json", "-o", str(target)])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"error: cannot write {target}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_failure_mid_write_leaves_the_old_file_and_no_temp(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old contents\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ExportError) as err:
        export.write_atomic(target, "new contents that never land\n" * 1000)
    assert "No space left on device" in str(err.value)
    assert target.read_text() == "old contents\n"
    assert os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("document", sorted(document_types()))
def test_schema_command_prints_json_schema(document: str) -> None:
    result = runner.invoke(app, ["schema", document])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["type"] == "object" and "schema_version" in schema["properties"]


@pytest.mark.parametrize("command", ["models", "show", "estimate", "recommend", "compare",
                                     "devices", "detect"])
def test_json_validates_against_its_schema_and_round_trips_through_its_type(command: str) -> None:
    result = runner.invoke(app, [*COMMANDS[command], "--json"])
    doc_type = document_types()[command]()
    jsonschema.validate(json.loads(result.stdout), json_schema(doc_type))
    parsed = adapter(doc_type).validate_json(result.stdout)
    assert json.loads(dump_json(parsed)) == json.loads(result.stdout)


catalog = load_catalog()
tables = load_tables()


def picks_for(device: str, gpus: int = 1, **kwargs: object):
    hw = hardware_from(HardwareQuery(device=device, gpus=gpus))
    r = recommend(catalog, hw, tables, Constraints(private=True, **kwargs), load_scoring())
    return [p for p in r.recommendations if p.deployment == "local"]


def artifacts() -> set[str]:
    """Every repo and tag the catalog names."""
    names = set()
    for m in catalog.models:
        names |= {x for x in (m.hf_repo, m.modelscope_repo, m.ollama_tag) if x}
        names |= {q.repo for q in m.quantized}
        names |= {a.where for a in m.downloads}
    return names


def assert_built_from_catalog(commands: tuple[str, ...]) -> None:
    """Each command names a catalog artifact, or a local file made from one (self-made weights)."""
    known = artifacts()
    local = {name.split("/")[-1] for name in known}
    for command in commands:
        if command.startswith("pip install") or command.endswith("ollama serve"):
            continue  # installs the runtime / starts Ollama's server with its context length
        words = command.replace("'", " ").replace('"', " ").split()
        named = [w.split(":")[0] if "-GGUF:" in w else w for w in words]
        named = [w.removeprefix("./") for w in named]
        assert any(w in known or any(w.startswith(x) for x in local) for w in named), command


@pytest.mark.parametrize(("device", "gpus", "runtime"), [
    ("phone", 1, "llama.cpp"), ("m4-max", 1, None), ("rtx-4090", 1, None), ("h100", 8, "vllm")])
def test_recipes_for_phone_mac_24gb_gpu_and_8_gpu_node(device: str, gpus: int, runtime: str | None
                                                       ) -> None:
    picks = picks_for(device, gpus)
    assert picks
    top = picks[0]
    assert top.recipes, f"{top.model_id} at {top.quant} has no recipe"
    assert top.recipes[0].runtime == (runtime or top.runtime) or runtime is None
    for recipe in top.recipes:
        assert_built_from_catalog(recipe.commands)
    if gpus > 1:
        vllm = next(r for r in top.recipes if r.runtime == "vllm")
        assert f"--tensor-parallel-size {gpus}" in vllm.commands[-1]


def test_every_recipe_of_every_model_names_only_catalog_artifacts() -> None:
    for m in catalog.models:
        for recipe in all_recipes(m, m.context.native_tokens):
            assert_built_from_catalog(recipe.commands)


def test_run_prints_commands_and_modelscope_first() -> None:
    result = runner.invoke(app, ["run", "qwen3-8b", "--runtime", "vllm", "--source", "modelscope"])
    assert result.exit_code == 0
    lines = [x for x in result.stdout.splitlines() if not x.startswith("#")]
    assert lines[0].startswith("modelscope download --model ")
    assert "VLLM_USE_MODELSCOPE=true vllm serve" in result.stdout


def test_chinese_picks_download_from_modelscope_first_and_others_offer_it() -> None:
    # The catalog names ModelScope repos for the main weights, so those downloads go there first.
    chinese = picks_for("h100", chinese=True)
    with_ms = [p for p in chinese if p.modelscope_repo and p.recipes
               and p.hf_repo in p.recipes[0].commands[0].split()]
    assert with_ms
    for p in with_ms:
        assert p.recipes[0].commands[0].startswith("modelscope download --model "), p.model_id
    result = runner.invoke(app, ["run", "qwen3-8b", "--runtime", "vllm", "--quant", "bf16"])
    assert result.stdout.splitlines()[1] == "hf download Qwen/Qwen3-8B"
    assert "or from ModelScope: modelscope download --model Qwen/Qwen3-8B" in result.stdout


def test_recommend_table_shows_how_to_run_the_top_pick() -> None:
    result = runner.invoke(app, ["recommend", "--device", "h100", "--private", "--top", "2"])
    assert result.exit_code == 0, result.stderr
    top = picks_for("h100", top=2)[0]
    assert f"how to run #1, {top.model_id}" in result.stdout
    assert top.recipes[0].commands[-1].split()[0] in result.stdout
