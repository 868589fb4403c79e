"""`advisor plan`: hardware for a load, ranked by cost, with multi-node options when needed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.formats import load_tables
from advisor.data.loader import find_model, load_catalog
from advisor.estimation.plan import break_even, gpu_hour_usd, plan

OPTION_KEYS = {
    "device",
    "gpus",
    "nodes",
    "total_memory_bytes",
    "weights_bytes",
    "sessions_max",
    "aggregate_decode_tokens_per_s",
    "cost_per_hour_usd",
    "cost_per_million_tokens_usd",
    "command",
}


def test_small_model_one_consumer_gpu() -> None:
    m = find_model(load_catalog(None), "qwen3-4b")
    r = plan(m, load_tables(), 4, 8192, min_speed=10)
    assert r.options
    best = r.options[0]
    assert best.gpus == 1 and best.nodes == 1 and best.cost_per_hour_usd is not None
    assert any(o.device_id.startswith("rtx-") and o.gpus == 1 for o in r.options)
    costs = [o.cost_per_hour_usd for o in r.options if o.cost_per_hour_usd is not None]
    assert costs == sorted(costs)


def test_enterprise_32b_fifty_users() -> None:
    m = find_model(load_catalog(None), "qwen3-32b")
    r = plan(m, load_tables(), 50, 16384, min_speed=15)
    assert r.options
    for o in r.options:
        assert o.sessions_max >= 50 and o.nodes == 1
        assert o.per_user_decode_tokens_per_s >= 15
        assert "--max-num-seqs 50" in o.command
    priced = [o for o in r.options if o.cost_per_hour_usd is not None]
    assert priced and all(o.cost_per_million_tokens_usd > 0 for o in priced)
    assert all(o.break_even_tokens_per_day is not None for o in priced)  # qwen-plus is in USD


def test_large_moe_needs_several_nodes_of_h100() -> None:
    m = find_model(load_catalog(None), "qwen3.5-397b-a17b")
    r = plan(m, load_tables(), 200, 131072, devices=["h100"])
    assert r.options and all(o.nodes >= 2 and o.gpus == 8 for o in r.options)
    o = r.options[0]
    assert (
        "--pipeline-parallel-size" in o.command
        and "--distributed-executor-backend ray" in o.command
    )
    assert any("sglang" in n.lower() and "--nnodes" in n for n in r.notes)
    assert o.sessions_max >= 200 and o.total_memory_bytes > 8 * 80 * 2**30


def test_prices_are_sourced_or_null_and_user_price_wins() -> None:
    price, source = gpu_hour_usd("h100")
    assert price == 0.00093 * 3600 and source and "runpod" in source.lower()
    assert gpu_hour_usd("mi300x") == (None, None)
    m = find_model(load_catalog(None), "qwen3-32b")
    r = plan(m, load_tables(), 50, 16384, gpu_hour=2.0, private=True)
    assert r.api_comparison is None
    for o in r.options:
        assert o.cost_per_hour_usd == 2.0 * o.gpus * o.nodes and o.price_source == "--gpu-hour-usd"
        assert o.break_even_tokens_per_day is None


def test_break_even_arithmetic() -> None:
    api = {"currency": "USD", "input_per_million": 0.4, "output_per_million": 1.2}
    # $1/h = $24/day; blended $0.8 per million tokens at half prompt -> 30 M tokens/day
    assert break_even(1.0, api, 0.5) == pytest.approx(30_000_000)
    assert break_even(1.0, {**api, "currency": "CNY"}, 0.5) is None


def test_cli_plan_json_and_schema() -> None:
    runner = CliRunner()
    res = runner.invoke(
        app, ["plan", "qwen3-32b", "--users", "50", "--context", "16384", "--json", "--top", "3"]
    )
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["options"] and all(set(o) >= OPTION_KEYS for o in doc["options"])
    assert runner.invoke(app, ["schema", "plan"]).exit_code == 0
    bad = runner.invoke(app, ["plan", "qwen3-32b", "--gpu-hour-usd", "-3"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")


def test_trillion_scale_model_spans_nodes() -> None:
    # 2.4T parameters: 4.9 TB in BF16, 2.4 TB in FP8; more than one 8-GPU H100/H200 node either way
    cat = load_catalog(None)
    m = find_model(cat, "qwen3.8-2.4t-a95b")
    r = plan(m, load_tables(), 50, 32768, devices=["h100", "h200"])
    assert r.options and all(o.nodes >= 2 for o in r.options)
    assert all(o.total_memory_bytes > o.weights_bytes for o in r.options)


def test_every_price_names_its_source_and_date() -> None:
    from advisor.data.hardware import load_devices
    from advisor.estimation.plan import prices

    devices = load_devices().devices
    data = prices()
    assert data["gpu_hour"] and data["api"]
    for row in data["gpu_hour"]:
        assert row["device"] in devices and row["usd_per_second"] > 0
        assert row["source"].startswith("https://") and row["date"]
    for row in data["api"]:
        assert row["currency"] in ("USD", "CNY") and row["source"].startswith("https://")
        assert row["input_per_million"] > 0 and row["output_per_million"] > 0 and row["date"]


def test_every_serving_table_names_its_sources() -> None:
    from advisor.estimation.serve import serving_defaults

    for name, table in serving_defaults().items():
        if not isinstance(table, dict):
            continue
        assert any(k.endswith("source") for k in table), name
        for sub, value in table.items():
            if isinstance(value, dict):
                assert value.get("source"), f"{name}.{sub}"


def test_official_fp8_artifact_is_the_served_checkpoint() -> None:
    # Qwen/Qwen3.8-2.4T-A95B-FP8 is listed under `artifacts`: serve it rather than quantizing the
    # 4.9 TB BF16 repo on load
    m = find_model(load_catalog(None), "qwen3.8-2.4t-a95b")
    r = plan(m, load_tables(), 50, 32768, devices=["h200"])
    fp8 = [o for o in r.options if o.quant == "fp8"]
    assert fp8 and all("Qwen/Qwen3.8-2.4T-A95B-FP8" in o.command for o in fp8)
    assert all("--quantization fp8" not in o.command for o in fp8)
