"""The CLI through CliRunner (stdout and stderr apart) and as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
CONTRACT = {"id", "hf_repo", "open_weights", "license", "params_total", "params_active",
            "context_native", "context_max", "modalities", "tasks", "config"}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_models_json_contract() -> None:
    code, out, _ = run("models", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert doc["models"]
    for model in doc["models"]:
        assert set(model) >= CONTRACT, model["id"]
        if model["open_weights"]:
            assert {"num_hidden_layers", "num_key_value_heads", "head_dim"} <= set(model["config"])
        else:
            assert model["config"] is None and model["hf_repo"] is None


def test_models_format_json_equals_json_flag() -> None:
    assert run("models", "--format", "json")[1] == run("models", "--json")[1]


def test_models_filters(small_catalog: Path) -> None:
    code, out, _ = run("--catalog", str(small_catalog), "models", "--open-only", "--json")
    assert code == 0
    assert [m["id"] for m in json.loads(out)["models"]] == ["qwen3-8b", "qwen3-30b-a3b"]
    code, out, _ = run("--catalog", str(small_catalog), "models", "--family", "qwen-api", "--json")
    assert [m["id"] for m in json.loads(out)["models"]] == ["qwen3-max"]


def test_models_table_lists_every_model(small_catalog: Path) -> None:
    code, out, _ = run("--catalog", str(small_catalog), "models")
    assert code == 0
    for model_id in ("qwen3-8b", "qwen3-30b-a3b", "qwen3-max"):
        assert model_id in out


def test_show_by_repo_name_includes_sources(small_catalog: Path) -> None:
    code, out, _ = run("--catalog", str(small_catalog), "show", "Qwen/Qwen3-8B", "--json")
    assert code == 0
    model = json.loads(out)["model"]
    assert model["id"] == "qwen3-8b"
    assert model["sources"][0]["kind"] == "config"
    code, out, _ = run("--catalog", str(small_catalog), "show", "qwen3-8b")
    assert "huggingface.co/Qwen/Qwen3-8B" in out


def test_unknown_model_is_one_line_exit_2(small_catalog: Path) -> None:
    code, out, err = run("--catalog", str(small_catalog), "show", "qwen3-9b")
    assert code == 2
    assert out == ""
    assert err == "error: unknown model 'qwen3-9b'; did you mean 'qwen3-8b'?\n"


def test_catalog_check_reports_every_problem_exit_1(tmp_path: Path) -> None:
    bad = Path(__file__).parent / "data" / "two_problems.toml"
    code, _, err = run("catalog", "check", str(bad))
    assert code == 1
    assert len(err.strip().splitlines()) == 2
    assert all(line.startswith("error: ") for line in err.splitlines())


def test_catalog_check_passes_on_the_real_catalog() -> None:
    code, out, _ = run("catalog", "check")
    assert code == 0
    assert out.startswith("ok: ")


def test_env_catalog_is_used(monkeypatch: pytest.MonkeyPatch, small_catalog: Path) -> None:
    monkeypatch.setenv("ADVISOR_CATALOG", str(small_catalog))
    _code, out, _ = run("models", "--json")
    assert len(json.loads(out)["models"]) == 3


def test_broken_catalog_option_exit_1() -> None:
    bad = Path(__file__).parent / "data" / "syntax_error.toml"
    code, _, err = run("--catalog", str(bad), "models")
    assert code == 1
    assert err.startswith(f"error: {bad}: TOML syntax error")


def installed(command: str) -> str:
    found = shutil.which(command, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{command} is not installed in this environment")
    return found


def test_installed_console_script_runs_quick_start() -> None:
    result = subprocess.run([installed("advisor"), "recommend", "--device", "phone", "--private"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Recommended for" in result.stdout


def test_cached_table_run_imports_no_pydantic(tmp_path: Path) -> None:
    """Start-up budget (README, Speed): with the catalog cached, a table run never imports
    pydantic, whose import and schema building cost more than the whole budget."""
    script = ("import sys; from advisor.__main__ import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'), "
              "file=sys.stderr)")
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path)}
    env.pop("ADVISOR_NO_CACHE", None)
    argv = [sys.executable, "-c", script, "recommend", "--device", "phone", "--private"]
    runs = [subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env,
                           check=False) for _ in range(2)]
    assert all(r.returncode == 0 and "Recommended for" in r.stdout for r in runs)
    assert "'pydantic'" in runs[0].stderr  # a fresh cache: the catalog was validated
    assert runs[1].stderr.splitlines()[-1] == "[]"  # cached: no pydantic at all


def test_python_dash_m_advisor() -> None:
    result = subprocess.run([sys.executable, "-m", "advisor", "models", "--json"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["models"]


def test_every_command_is_documented_in_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    group = typer.main.get_command(app)
    names = [n for n, c in group.commands.items() if not getattr(c, "commands", None)]
    names += [f"{n} {sub}" for n, c in group.commands.items()
              for sub in getattr(c, "commands", {}) or {}]
    missing = [n for n in names if f"`advisor {n}" not in readme]
    assert not missing, f"commands missing from README's table: {missing}"
