"""Tables at 60, 80 and 200 columns: every pick keeps model, quant, runtime, memory, speed,
context and licence, and no number is cut."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.formats import load_tables
from advisor.data.hardware import HardwareQuery, hardware_from
from advisor.data.loader import load_catalog
from advisor.output import render
from advisor.ranking.recommend import recommend
from advisor.ranking.rules import Constraints, load_scoring


def text_at(width: int, tables: list[object], monkeypatch: pytest.MonkeyPatch) -> str:
    from advisor.output.table import render_text

    monkeypatch.setenv("COLUMNS", str(width))
    text = render_text(tables, width)  # type: ignore[arg-type]
    assert max(len(line) for line in text.splitlines()) <= width
    return text


@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("device", ["phone", "rtx-4090", "mi300x"])
def test_recommend_table_keeps_every_fact(width: int, device: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    result = recommend(load_catalog(None), hardware_from(HardwareQuery(device=device)),
                       load_tables(), Constraints(private=True, top=3), load_scoring())
    text = text_at(width, render.recommend_tables(result, False), monkeypatch)
    words = text.split()
    for p in result.recommendations:
        assert p.memory and p.speed
        for fact in (p.model_id, p.quant, p.runtime, f"{p.memory.total_bytes / 1e9:.1f}",
                     f"{p.speed.decode_tokens_per_s:.1f}", render.tokens(p.max_context_tokens),
                     p.license):
            assert fact in words, f"{fact!r} cut or missing at {width} columns"
    assert "8,192 tokens, or the model's maximum if smaller" in " ".join(words)


def test_output_format_follows_the_extension(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "out.json"
    result = runner.invoke(app, ["models", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(target.read_text())["models"]
    md = tmp_path / "out.md"
    assert runner.invoke(app, ["models", "-o", str(md)]).exit_code == 0
    assert md.read_text().lstrip().startswith(("|", "#"))
    csv = tmp_path / "out.csv"
    assert runner.invoke(app, ["models", "-o", str(csv), "--format", "csv"]).exit_code == 0
    conflict = runner.invoke(app, ["models", "-o", str(tmp_path / "x.json"), "--format", "csv"])
    assert conflict.exit_code == 2
    assert conflict.stderr.startswith("error: -o ") and "--format" in conflict.stderr
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("width", [60, 80, 100, 120, 130, 200])
def test_models_table_keeps_numbers_and_licences(width: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.output.results import ModelsResult, ModelView

    monkeypatch.setenv("COLUMNS", str(width))
    result = ModelsResult(models=tuple(ModelView.of(m) for m in load_catalog(None).models))
    words = text_at(width, [render.models_table(result)], monkeypatch).split()
    for m in result.models:
        context = f"{render.tokens(m.context_native)}/{render.tokens(m.context_max)}"
        for fact in (render.billions(m.params_total), context, *m.license.id.split()):
            assert fact in words, f"{m.id}: {fact!r} cut or missing at {width} columns"
        if width >= 80 or len(m.id) <= 18:  # longer ids fold at 60, never cut
            assert m.id in words or f"{m.id}" in " ".join(words)
        if m.release_date:  # in its own column or under the id, never cut ("2025-04-")
            assert any(w.strip(",") == str(m.release_date) for w in words), (m.id, width)


@pytest.mark.parametrize("width", [60, 80, 200])
def test_devices_table_keeps_every_number(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.data.hardware import load_devices
    from advisor.output.results import DevicesResult

    monkeypatch.setenv("COLUMNS", str(width))
    cat = load_devices()
    result = DevicesResult(devices=tuple(cat.devices.values()), aliases=cat.aliases)
    words = text_at(width, [render.devices_table(result)], monkeypatch).split()
    for d in result.devices:
        assert d.id in words, f"{d.id} cut at {width} columns"
        facts = [f"{d.bandwidth_gb_s:g}", f"{d.usable_memory_fraction:.0%}"]
        facts += [f"{d.fp16_tflops:g}"] if d.fp16_tflops else []
        for fact in facts:
            assert fact in words, f"{d.id}: {fact!r} cut or missing at {width} columns"


# --- every table at 60, 80 and 200 columns ---------------------------------------------------

NUMBER = re.compile(r"\d[\d,.]*(?:[%xKMB]|GB|GiB)?")


def numbers_in(cell: str) -> set[str]:
    """The words of a cell that are numbers (1,010,000, 0.96M, 118.5, 90%, 24.2GB)."""
    words = (w.strip("(),;:[]") for w in cell.split())
    return {w for w in words if NUMBER.fullmatch(w)}


def cells_of(table: object) -> list[str]:
    found = []
    for column in table.columns:  # type: ignore[attr-defined]
        found.append(str(column.header.plain if hasattr(column.header, "plain") else column.header))
        found += [c.plain if hasattr(c, "plain") else str(c) for c in column.cells]
    return found


def render_case(name: str) -> list[object]:
    """The tables of one command, built by the render functions (COLUMNS already set)."""
    from advisor.data.detect import map_probe, probe
    from advisor.data.hardware import load_devices
    from advisor.estimation.estimate import choose_setup, estimate
    from advisor.output.results import DevicesResult, ModelsResult, ModelView
    from advisor.ranking.compare import compare
    from advisor.recipes import all_recipes

    catalog, tables = load_catalog(None), load_tables()
    by_id = catalog.by_id()
    if name == "models":
        return [render.models_table(ModelsResult(models=tuple(
            ModelView.of(m) for m in catalog.models)))]
    if name == "devices":
        cat = load_devices()
        return [render.devices_table(DevicesResult(devices=tuple(cat.devices.values()),
                                                   aliases=cat.aliases))]
    if name == "detect":
        return [render.detection_table(map_probe(probe(), load_devices()))]
    if name.startswith("show "):
        m = by_id[name.removeprefix("show ")]
        recipes = tuple(all_recipes(m, min(m.context.native_tokens, 32768))) if m.config else ()
        return render.model_tables(ModelView.of(m), recipes)
    if name.startswith("estimate "):
        model, device, gpus, context = name.split()[1:]
        hw = hardware_from(HardwareQuery(device=device, gpus=int(gpus)))
        fmt, rt, _ = choose_setup(tables, hw, None, None)
        return render.estimate_tables(estimate(by_id[model], hw, tables, fmt, rt, int(context),
                                               None, 1, "fp16"))
    if name.startswith("compare "):
        device, *ids = name.split()[1:]
        hw = hardware_from(HardwareQuery(device=device))
        fmt, rt, _ = choose_setup(tables, hw, None, None)
        return render.compare_tables(compare([by_id[i] for i in ids], tables, fmt, 8192, hw, rt))
    device, private = name.split()[1:]
    result = recommend(catalog, hardware_from(HardwareQuery(device=device)), tables,
                       Constraints(private=private == "private", top=5), load_scoring())
    return [*render.recommend_tables(result, False), render.explain_table(result)]


CASES = ["models", "devices", "detect", "show qwen3-8b", "show qwen3.5-397b-a17b",
         "show qwen3-max", "estimate qwen3-30b-a3b rtx-4090 1 8192",
         "estimate qwen3.5-397b-a17b mi300x 8 1000000",
         "compare rtx-4090 qwen3-8b qwen3-4b qwen3.5-397b-a17b qwen3-30b-a3b qwen3-0.6b",
         "compare h100 qwen3-8b qwen3-max", "recommend phone private", "recommend h100 cloud"]


@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("case", CASES)
def test_every_table_fits_and_cuts_nothing(case: str, width: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each table fits the width, no text ends in an ellipsis (a long word breaks onto the next
    line instead), and every number of every cell is printed whole."""
    monkeypatch.setenv("COLUMNS", str(width))
    tables = render_case(case)
    text = text_at(width, tables, monkeypatch)
    assert "…" not in text, f"{case}: text cut at {width} columns"
    words = {w.strip("(),;:[]") for w in text.split()}
    for table in tables:
        for cell in cells_of(table):
            missing = numbers_in(cell) - words
            assert not missing, f"{case}: {sorted(missing)} broken at {width} columns"


@pytest.mark.parametrize("width", [60, 80, 200])
def test_compare_keeps_ids_and_licences(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Models that do not fit side by side go on in a further table; ids stay whole."""
    monkeypatch.setenv("COLUMNS", str(width))
    ids = CASES[8].split()[2:]
    tables = render_case(CASES[8])
    words = text_at(width, tables, monkeypatch).split()
    catalog = load_catalog(None).by_id()
    for model_id in ids:
        assert model_id in words, f"{model_id} cut at {width} columns"
        assert catalog[model_id].license.id in words
    assert (len(tables) > 1) == (width < 100)  # five models side by side only when wide
    if len(tables) > 1:
        titles = [t.title.plain for t in tables]  # type: ignore[attr-defined]
        assert [x.rsplit(" ", 1)[1] for x in titles] == [
            f"({n}/{len(tables)})" for n in range(1, len(tables) + 1)]


@pytest.mark.parametrize("width", [60, 80, 200])
def test_show_keeps_licence_repos_and_sources(width: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Narrow layouts put hub, provenance and the sources' notes under the row; a repo id or
    URL too long for its column breaks onto the next line, whole."""
    monkeypatch.setenv("COLUMNS", str(width))
    m = load_catalog(None).by_id()["qwen3-8b"]
    text = text_at(width, render_case("show qwen3-8b"), monkeypatch)
    flat = re.sub(r"[\s\u2500-\u257f]", "", text)
    assert m.license.id in {w.strip(";,()") for w in text.split()}
    for ref in [s.ref for s in m.sources] + [q.repo for q in m.quantized]:
        assert re.sub(r"\s", "", ref) in flat, f"{ref} cut at {width} columns"


SERVING = {"serve": ["serve", "qwen3-8b", "--device", "h100"],
           "plan": ["plan", "qwen3-8b", "--users", "20"],
           "draft": ["draft", "qwen3-8b", "--device", "rtx-4090"],
           "finetune": ["finetune", "qwen3-8b", "--device", "rtx-4090"],
           "finetune-list": ["finetune", "--list", "--device", "rtx-4090"]}


@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("command", sorted(SERVING))
def test_serving_and_tuning_tables_cut_nothing(command: str, width: int) -> None:
    """serve, plan, draft and finetune at each width: nothing cut to an ellipsis, no line wider
    than the terminal, and plan's numbers (sessions, break-even) whole."""
    from rich.cells import cell_len

    args = SERVING[command]
    result = CliRunner().invoke(app, args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout, f"{command}: cut at {width} columns"
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= width
    doc = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    if command == "draft":
        licences = [o["license"] for o in doc["options"]]
    elif command == "finetune-list":
        licences = [row["license"] for row in doc["fitting"]]
    else:
        licences = [doc["license"]]
    catalog = load_catalog(None).by_id()
    cells = {w.strip(",;()") for w in re.split(r"[\s│┃]+", result.stdout)}
    assert licences and all(licences)
    for licence in licences:  # each model's licence, as the catalog has it, in the table too
        assert licence in cells, f"{command}: licence {licence!r} missing at {width} columns"
    if command in ("serve", "plan", "finetune"):
        assert licences == [catalog[doc["model_id"]].license.id]
    if command == "plan":  # and its model, licence, runtime, memory, context; commands whole
        doc = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
        words = {w.strip(",():") for w in re.split(r"[\s│┃]+", result.stdout)}
        assert doc["license"] == load_catalog(None).by_id()[doc["model_id"]].license.id
        for fact in (doc["model_id"], doc["license"], doc["runtime"],
                     f"{doc['context_tokens']:,}"):
            assert fact in words, f"plan: {fact!r} cut or missing at {width} columns"
        flat = re.sub(r"[│┃┌┐└┘├┤┬┴┼─━┏┓┗┛┡┩╇┳┻╋]", " ", result.stdout).split()
        for o in doc["options"]:
            for fact in (f"{o['sessions_max']:,}", o["device_id"], o["quant"],
                         f"{o['weights_bytes'] / 2**30:,.1f}",
                         f"{o['total_memory_bytes'] / 2**30:,.1f}"):
                assert fact in words, f"plan {o['device_id']}: {fact!r} at {width} columns"
            if o["break_even_tokens_per_day"] is not None:
                assert f"{o['break_even_tokens_per_day']:,.0f}" in words
            command_words = o["command"].split()  # in order, broken only at its spaces
            assert any(flat[i:i + len(command_words)] == command_words
                       for i in range(len(flat))), f"plan: command broken at {width} columns"


SERVE = {"h100 x50": ["serve", "qwen3-8b", "--device", "h100", "--users", "50"],
         "8xh100 hybrid": ["serve", "qwen3.5-397b-a17b", "--device", "h100", "--gpus", "8",
                           "--users", "20"],
         "4090 gguf": ["serve", "qwen3-30b-a3b", "--device", "rtx-4090", "--users", "4"]}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("case", sorted(SERVE))
def test_serve_keeps_every_fact(case: str, width: int, lang: str) -> None:
    """serve at 60/80/200 columns (and in Chinese): model, quant, runtime, memory, speed,
    context and licence all printed, numbers whole, nothing wider than the terminal; below 100
    columns the command and notes sit in a table of their own, so the facts' numbers keep one
    line each and the command stays whole (only broken at its spaces)."""
    from rich.cells import cell_len

    args = ["--lang", lang, *SERVE[case]]
    env = {"COLUMNS": str(width)}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= width
    doc = json.loads(CliRunner().invoke(app, [*SERVE[case], "--json"]).stdout)
    a = doc["assumptions"]
    license_id = load_catalog(None).by_id()[doc["model_id"]].license.id
    assert doc["license"] == license_id  # in the JSON document too (and so Markdown and CSV)
    # split at spaces, brackets and the full-width punctuation of the Chinese strings
    words = {w.strip(",.;:") for w in re.split(r"[\s()\uff08\uff09\uff0c\uff1a\uff1b│]+", text)}
    facts = [doc["model_id"], a["quant"], a["runtime"], license_id, f"{a['context_tokens']:,}",
             f"{doc['kv_pool_bytes'] / 2**30:,.1f}", f"{doc['weights_bytes'] / 2**30:,.1f}",
             f"{doc['sessions_max']:,}"]
    speeds = (doc["aggregate_decode_tokens_per_s"], doc["per_user_decode_tokens_per_s"])
    facts += [f"{s:,.1f}" for s in speeds if s is not None]
    for fact in facts:
        assert fact in words, f"{case}: {fact!r} cut or missing at {width} columns ({lang})"
    lines = text.splitlines()
    # the command, its words in order, broken only at spaces
    flat = re.sub(r"[│┃┌┐└┘├┤┬┴┼─━]", " ", text).split()
    command = doc["command"].split()
    start = flat.index(command[0])
    assert flat[start:start + len(command)] == command, f"{case}: command broken at {width}"
    two_tables = sum(1 for line in lines if line.lstrip().startswith(("┌", "┏"))) == 2
    assert two_tables == (width < 100)


@pytest.mark.parametrize("width", [60, 80, 200])
def test_estimate_shows_the_licence(width: int) -> None:
    args = ["estimate", "qwen3-8b", "--device", "rtx-4090"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": str(width)})
    doc = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    assert doc["license"] == load_catalog(None).by_id()["qwen3-8b"].license.id
    assert doc["license"] in result.stdout.split()
