"""Fine-tuning memory: component properties, agreement with published tables (LLaMA-Factory,
ms-swift) within a stated error, the start commands, and the `advisor finetune` CLI."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.hardware import HardwareQuery, hardware_from
from advisor.data.loader import find_model, load_catalog
from advisor.estimation.finetune import adapter_params, finetune, fit_list, train_memory

DATA = Path(__file__).parent / "data"
catalog = load_catalog()
trainable_models = [m for m in catalog.models if m.open_weights and m.config]
runner = CliRunner()
ROWS = json.loads((DATA / "finetune_published.json").read_text())["rows"]

# Stated errors (README "Fine-tuning"): |estimate / published - 1| per row, all out of sample.
MAX_ERROR = {"full": 0.25, "lora": 0.20, "qlora": 0.50}
MEDIAN_ERROR = 0.10


def flat_yaml(text: str) -> dict[str, object]:
    """The flat `key: value` YAML the command writes (no PyYAML in the test environment)."""
    out: dict[str, object] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        value = value.split("#")[0].strip()
        out[key.strip()] = {"true": True, "false": False}.get(value, int(value)
                                                              if value.isdigit() else value)
    return out


def relative_error(row: dict) -> float:
    m = find_model(catalog, row["model"])
    mem, *_ = train_memory(m, row["method"], row["rank"], row["seq_len"], row["batch"], 1,
                           row["framework"])
    estimate_gb = mem.total_bytes / 1e9
    if row["nominal_b"]:  # the table is by nominal size: scale to it
        estimate_gb *= row["nominal_b"] * 1e9 / m.param_count.total
    return estimate_gb / row["published_gb"] - 1


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['framework']}-{r['method']}-{r['model']}")
def test_memory_within_stated_error_of_published_tables(row):
    assert row["source"].strip()
    assert abs(relative_error(row)) <= MAX_ERROR[row["method"]]


def test_median_error_over_published_rows():
    errors = [abs(relative_error(r)) for r in ROWS]
    assert statistics.median(errors) <= MEDIAN_ERROR


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(trainable_models), st.sampled_from(["full", "lora", "qlora"]),
       st.integers(128, 32768), st.integers(1, 8))
def test_checkpointing_never_stores_more(model, method, seq, batch):
    mem, *_ = train_memory(model, method, 8, seq, batch, 1, "llama-factory")
    assert mem.activations_with_checkpointing_bytes <= mem.activations_without_checkpointing_bytes
    parts = (mem.weights_bytes + mem.adapters_bytes + mem.gradients_bytes + mem.optimizer_bytes
             + mem.activations_bytes + mem.overhead_bytes)
    assert parts == mem.total_bytes


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(trainable_models), st.integers(128, 16384))
def test_methods_order_full_lora_qlora(model, seq):
    full, lora, qlora = (train_memory(model, m, 8, seq, 1, 1, "llama-factory")[0].total_bytes
                         for m in ("full", "lora", "qlora"))
    assert qlora < lora < full


def test_rank_scales_adapters_linearly():
    c = find_model(catalog, "qwen3-8b").config
    assert c
    assert adapter_params(c, 16) == 2 * adapter_params(c, 8)


def test_eight_bit_adam_shrinks_optimizer_states():
    m = find_model(catalog, "qwen3-8b")
    lf, *_ = train_memory(m, "lora", 16, 2048, 1, 1, "llama-factory")
    us, _, optimizer, _ = train_memory(m, "lora", 16, 2048, 1, 1, "unsloth")
    assert us.optimizer_bytes * 4 == lf.optimizer_bytes and "8-bit" in optimizer


def test_full_finetuning_shards_over_gpus_lora_does_not():
    m = find_model(catalog, "qwen3-8b")
    one, *_ = train_memory(m, "full", 8, 2048, 1, 1, "llama-factory")
    four, *_ = train_memory(m, "full", 8, 2048, 1, 4, "llama-factory")
    assert four.optimizer_bytes * 4 == one.optimizer_bytes
    lora1, *_ = train_memory(m, "lora", 8, 2048, 1, 1, "llama-factory")
    lora4, *_ = train_memory(m, "lora", 8, 2048, 1, 4, "llama-factory")
    assert lora1 == lora4


def test_qlora_yaml_has_the_llama_factory_keys():
    m = find_model(catalog, "qwen3-8b")
    r = finetune(m, "qlora", "llama-factory", 16, 4096, 2, 1, None, chinese=True)
    cfg = flat_yaml(r.config_text)
    assert cfg["model_name_or_path"] == (m.modelscope_repo or m.hf_repo)
    assert cfg["stage"] == "sft" and cfg["finetuning_type"] == "lora"
    assert cfg["lora_rank"] == 16 and cfg["quantization_bit"] == 4
    assert cfg["template"] == "qwen3" and cfg["cutoff_len"] == 4096
    assert cfg["use_modelscope_hub"] is True
    assert r.command.startswith("USE_MODELSCOPE_HUB=1 llamafactory-cli train ")


def test_qwen25_uses_the_qwen_template_and_full_has_no_rank():
    r = finetune(find_model(catalog, "qwen2.5-7b-instruct"), "full", "llama-factory", 8, 2048, 1,
                 4, None)
    cfg = flat_yaml(r.config_text)
    assert cfg["template"] == "qwen" and cfg["finetuning_type"] == "full"
    assert "lora_rank" not in cfg and "deepspeed" in cfg


def test_fits_and_speed_on_a_device():
    hw = hardware_from(HardwareQuery(device="rtx-4090"))
    m = find_model(catalog, "qwen3-8b")
    assert finetune(m, "qlora", "llama-factory", 8, 2048, 1, 1, hw).fits is True
    full = finetune(m, "full", "llama-factory", 8, 2048, 1, 1, hw)
    assert full.fits is False
    assert full.training_tokens_per_s and full.training_tokens_per_s > 0


def test_list_splits_every_open_model():
    hw = hardware_from(HardwareQuery(device="rtx-4090"))
    listing = fit_list(list(catalog.models), "qlora", "llama-factory", 8, 2048, 1, hw)
    ids = [r.model_id for r in (*listing.fitting, *listing.not_fitting)]
    assert len(ids) == len(set(ids)) == len(trainable_models)
    assert "qwen3-8b" in {r.model_id for r in listing.fitting}
    assert "qwen3-235b-a22b" in {r.model_id for r in listing.not_fitting}


def test_cli_finetune_json_and_schema():
    out = runner.invoke(app, ["finetune", "qwen3-8b", "--method", "qlora", "--device",
                              "rtx-4090", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["fits"] is True
    assert set(doc["memory"]) >= {"weights_bytes", "adapters_bytes", "gradients_bytes",
                                  "optimizer_bytes", "activations_bytes", "overhead_bytes"}
    assert runner.invoke(app, ["schema", "finetune"]).exit_code == 0


@pytest.mark.parametrize("args", [
    ["finetune", "qwen3-8b", "--method", "dora"],
    ["finetune", "qwen3-8b", "--framework", "axolotl"],
    ["finetune", "qwen3-8b", "--seq-len", "0"],
    ["finetune", "--list", "--method", "lora"],
    ["finetune"],
])
def test_cli_bad_input_is_one_error_line(args):
    out = runner.invoke(app, args)
    assert out.exit_code == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.output


def test_cli_list_and_frameworks():
    out = runner.invoke(app, ["finetune", "--list", "--device", "a100-80gb", "--method", "lora"])
    assert out.exit_code == 0 and "qwen3-8b" in out.stdout
    swift = runner.invoke(app, ["finetune", "qwen3-8b", "--framework", "ms-swift", "--json"])
    assert json.loads(swift.stdout)["command"].startswith("USE_HF=1 swift sft ")
    uns = runner.invoke(app, ["finetune", "qwen3-8b", "--framework", "unsloth", "--json"])
    assert "FastLanguageModel" in json.loads(uns.stdout)["config_text"]
