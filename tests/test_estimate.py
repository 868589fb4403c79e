"""Estimator: properties of the pure formulas, the JSON contract, and accuracy against
published measurements (the error bounds README's "Accuracy" section reports)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.formats import load_tables
from advisor.data.hardware import HardwareQuery, hardware_from, load_devices
from advisor.data.loader import load_catalog
from advisor.estimation.accuracy import (
    load_rows,
    official_prediction,
    published_prediction,
    ratio_errors,
    relative_errors,
    share_within,
)
from advisor.estimation.estimate import decode_tokens_per_s, estimate, kv_cache_bytes, weights_bytes

DATA = Path(__file__).parent / "data"
tables = load_tables()
catalog = load_catalog()
open_models = [m for m in catalog.models if m.open_weights]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(open_models), st.integers(0, 2_000_000), st.integers(0, 2_000_000),
       st.integers(1, 64), st.sampled_from(sorted(tables.kv_dtypes)))
def test_more_context_never_lowers_kv_memory(model, a, b, batch, kv_dtype):
    assert model.config
    elem = tables.kv_dtypes[kv_dtype]
    lo, hi = sorted((a, b))
    assert kv_cache_bytes(model.config, lo, batch, elem) <= kv_cache_bytes(
        model.config, hi, batch, elem)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(open_models), st.sampled_from(sorted(tables.formats)),
       st.sampled_from(sorted(tables.formats)))
def test_fewer_bits_never_raise_weight_memory(model, a, b):
    fa, fb = tables.formats[a], tables.formats[b]
    bits = ("bits_per_weight", "embedding_bits", "output_head_bits")
    if all(getattr(fa, k) <= getattr(fb, k) for k in bits):
        assert weights_bytes(model, fa) <= weights_bytes(model, fb)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e6, 1e12), st.floats(0, 1e11), st.floats(1, 10_000), st.floats(1, 10_000),
       st.floats(0.05, 1.0), st.floats(0, 50))
def test_more_bandwidth_never_lowers_decode_speed(weights, kv, bw1, bw2, eff, overhead_ms):
    lo, hi = sorted((bw1, bw2))
    assert decode_tokens_per_s(weights, kv, lo, eff, overhead_ms)[0] <= decode_tokens_per_s(
        weights, kv, hi, eff, overhead_ms)[0]


def test_awq_keeps_embeddings_in_16_bit() -> None:
    model = catalog.by_id()["qwen3-8b"]
    assert model.config
    embed = model.config.vocab_size * model.config.hidden_size
    naive = weights_bytes(model, tables.formats["awq"]) - 2 * embed * (16 - 4.16) / 8
    assert weights_bytes(model, tables.formats["awq"]) > naive * 1.1


def test_moe_reads_active_parameters_only() -> None:
    hw = hardware_from(HardwareQuery(device="h100"))
    dense = estimate(catalog.by_id()["qwen3-32b"], hw, tables, tables.formats["bf16"],
                     tables.runtimes["vllm"], 4096)
    moe = estimate(catalog.by_id()["qwen3-30b-a3b"], hw, tables, tables.formats["bf16"],
                   tables.runtimes["vllm"], 4096)
    assert moe.memory.weights_bytes > 0.9 * dense.memory.weights_bytes
    assert moe.speed.decode_tokens_per_s > 3 * dense.speed.decode_tokens_per_s


def test_longest_context_fits_and_one_more_token_would_not() -> None:
    hw = hardware_from(HardwareQuery(device="rtx-4090"))
    model = catalog.by_id()["qwen3-14b"]
    fmt, rt = tables.formats["q4_k_m"], tables.runtimes["llama.cpp"]
    e = estimate(model, hw, tables, fmt, rt, 4096)
    assert 0 < e.max_context_tokens <= model.context.max_tokens
    at = estimate(model, hw, tables, fmt, rt, e.max_context_tokens)
    assert at.fits
    if e.max_context_tokens < model.context.max_tokens:
        assert not estimate(model, hw, tables, fmt, rt, e.max_context_tokens + 1).fits


def test_estimate_json_contract() -> None:
    result = CliRunner().invoke(app, ["estimate", "qwen3-8b", "--device", "rtx-4090", "--quant",
                                      "q4_k_m", "--context", "8192", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    for key in ("weights_bytes", "kv_cache_bytes", "overhead_bytes", "total_bytes"):
        assert doc["memory"][key] > 0
    assert doc["memory"]["total_bytes"] == sum(
        doc["memory"][k] for k in ("weights_bytes", "kv_cache_bytes", "overhead_bytes"))
    assert doc["fits"] is True
    assert doc["max_context_tokens"] >= 8192
    for key in ("decode_tokens_per_s", "prefill_tokens_per_s", "time_to_first_token_s"):
        assert doc["speed"][key] > 0
    for key in ("quant", "runtime", "context_tokens", "efficiency", "overheads"):
        assert key in doc["assumptions"]
    assert doc["assumptions"]["quant"] == "q4_k_m"


def test_estimate_without_quant_says_what_the_device_decided() -> None:
    result = CliRunner().invoke(app, ["estimate", "qwen3-4b", "--device", "phone"])
    assert result.exit_code == 0, result.stderr
    assert "runtime llama.cpp chosen" in result.stderr
    assert "quantization q4_k_m chosen" in result.stderr


def test_vllm_reports_what_it_reserves() -> None:
    hw = hardware_from(HardwareQuery(device="h100"))
    e = estimate(catalog.by_id()["qwen3-8b"], hw, tables, tables.formats["bf16"],
                 tables.runtimes["vllm"], 8192)
    assert e.memory.runtime_reserved_bytes == int(hw.memory_bytes * 0.9)


# --- accuracy against published measurements -------------------------------------------------

official = load_rows(DATA / "qwen25_speed_benchmark.json")
devices = load_devices()


def test_memory_within_10_percent_on_qwen25_transformers_rows() -> None:
    rows = [r for r in official if r["framework"] == "Transformers"]
    pairs = [(r["memory_gb"], official_prediction(r, catalog, tables, devices)[0]) for r in rows]
    errors = relative_errors(pairs)
    assert len(errors) == len(rows) >= 100
    assert share_within([1 + e for e in errors], 1.10) >= 0.95
    assert statistics.median(errors) <= 0.025


@pytest.mark.parametrize(("framework", "share"), [("vLLM", 0.80), ("Transformers", 0.75)])
def test_speed_within_1_5x_on_most_qwen25_rows(framework: str, share: float) -> None:
    rows = [r for r in official if r["framework"] == framework]
    errors = ratio_errors((r["tokens_per_s"], official_prediction(r, catalog, tables, devices)[1])
                          for r in rows)
    assert len(errors) >= 0.9 * len(rows)
    assert share_within(errors, 1.5) >= share


def test_decode_speed_within_1_5x_on_other_published_rows() -> None:
    rows = load_rows(DATA / "published_decode.json")
    errors = ratio_errors((r["decode_tokens_per_s"], published_prediction(r, tables, devices))
                          for r in rows)
    assert len(errors) >= 0.8 * len(rows)
    assert share_within(errors, 1.5) >= 0.80


@pytest.mark.parametrize("bad", [["--quant", "q9_k"], ["--runtime", "tensorflow"],
                                 ["--kv-dtype", "fp4"], ["--context", "0"], ["--batch", "-1"]])
def test_bad_estimate_options_exit_2(bad: list[str]) -> None:
    result = CliRunner().invoke(app, ["estimate", "qwen3-8b", "--device", "rtx-4090", *bad])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


# --- memory v2: steady and peak per runtime, KV pool (runtimes.toml [runtimes.memory]) ---

from advisor.data.records import replace as _replace  # noqa: E402
from advisor.estimation.estimate import (  # noqa: E402
    kv_pool_bytes,
    kv_sequence_bytes,
    max_context_tokens,
    runtime_bytes,
    sequences_fit,
)
from advisor.ranking.recommend import options, quick_setups  # noqa: E402
from advisor.ranking.rules import Constraints  # noqa: E402

devices = load_devices()
MEMORY_RUNTIMES = sorted(r for r, spec in tables.runtimes.items() if spec.memory)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(open_models), st.sampled_from(MEMORY_RUNTIMES), st.integers(0, 300_000),
       st.integers(0, 300_000), st.booleans())
def test_more_context_never_lowers_steady_or_peak_memory(model, runtime, a, b, accel):
    rt, c = tables.runtimes[runtime], model.config
    lo, hi = sorted((a, b))
    small = runtime_bytes(rt, c, lo, lo, 1, 2.0, 1, accel, 80 * 2**30)
    large = runtime_bytes(rt, c, hi, hi, 1, 2.0, 1, accel, 80 * 2**30)
    assert small.kv + small.peak_overhead <= large.kv + large.peak_overhead
    assert small.kv + small.steady_overhead <= large.kv + large.steady_overhead
    assert large.steady_overhead <= large.peak_overhead


def test_llama_cpp_pads_kv_to_256_cells_and_keeps_state_in_f32():
    rt = tables.runtimes["llama.cpp"]
    dense = catalog.by_id()["qwen3-8b"].config
    assert kv_sequence_bytes(dense, 1000, 2.0, rt) == kv_cache_bytes(dense, 1024, 1, 2.0)
    hybrid = next(m.config for m in open_models
                  if m.config.kv_cache_layers < m.config.num_hidden_layers
                  and m.config.linear_num_value_heads)
    state16 = kv_cache_bytes(hybrid, 0, 1, 2.0)
    assert state16 > 0 and kv_sequence_bytes(hybrid, 0, 2.0, rt) == 2 * state16


def test_llama_cpp_without_flash_attention_adds_the_f32_kq_matrix():
    rt = tables.runtimes["llama.cpp"]
    c = catalog.by_id()["qwen3-8b"].config
    no_fa = _replace(rt, memory=_replace(rt.memory, flash_attention=False))
    on = runtime_bytes(rt, c, 32768, 32768, 1, 2.0).peak_overhead
    off = runtime_bytes(no_fa, c, 32768, 32768, 1, 2.0).peak_overhead
    assert off - on == 32768 * 512 * c.num_attention_heads * 4


def test_transformers_before_4_45_adds_f32_logits_of_the_whole_prompt():
    rt = tables.runtimes["transformers"]
    c = catalog.by_id()["qwen3-8b"].config
    old = _replace(rt, memory=_replace(rt.memory, full_prompt_logits=True))
    new_peak = runtime_bytes(rt, c, 8192, 8192, 1, 2.0).peak_overhead
    old_peak = runtime_bytes(old, c, 8192, 8192, 1, 2.0).peak_overhead
    assert old_peak - new_peak == 8192 * c.vocab_size * 6


def test_vllm_and_sglang_report_the_kv_pool_and_sequences_that_fit():
    model = catalog.by_id()["qwen3-8b"]
    hw = hardware_from(HardwareQuery(), devices.devices["h100"])
    fmt = tables.formats["bf16"]
    for runtime in ("vllm", "sglang"):
        rt = tables.runtimes[runtime]
        pool = kv_pool_bytes(model, hw, fmt, rt)
        assert pool is not None and 0 < pool < hw.memory_bytes - weights_bytes(model, fmt)
        per_seq = kv_sequence_bytes(model.config, 32768, 2.0, rt)
        assert sequences_fit(model, hw, fmt, rt, 32768, 2.0) == pool // per_seq
        e = estimate(model, hw, tables, fmt, rt, 32768)
        assert e.memory.kv_pool_bytes == pool and e.memory.sequences_fit == pool // per_seq
    assert kv_pool_bytes(model, hw, fmt, tables.runtimes["llama.cpp"]) is None
    # SGLang's reserve at 80 GiB (class < 90 GiB): 512 + 8192 x 1.5 + 256 x 2 + 1/8 x 1024 MB
    sg = tables.runtimes["sglang"]
    expected = hw.memory_bytes - 13440 * 2**20 - weights_bytes(model, fmt)
    assert kv_pool_bytes(model, hw, fmt, sg) == expected


def test_estimate_reports_steady_below_peak_and_total_is_peak():
    model = catalog.by_id()["qwen3-8b"]
    hw = hardware_from(HardwareQuery(), devices.devices["h100"])
    e = estimate(model, hw, tables, tables.formats["bf16"], tables.runtimes["transformers"],
                 32768)
    assert e.memory.total_bytes == e.memory.peak_bytes
    assert e.memory.steady_bytes is not None and e.memory.steady_bytes < e.memory.peak_bytes


def test_quick_setups_total_matches_estimate_for_every_option():
    model = catalog.by_id()["qwen3-8b"]
    for device in ("h100", "rtx-4090"):
        hw = hardware_from(HardwareQuery(), devices.devices[device])
        grid = options(hw, tables, Constraints())
        for setup, opt in zip(quick_setups(model, hw, grid, 32768, 2.0), grid, strict=True):
            e = estimate(model, hw, tables, opt.fmt, opt.runtime, 32768)
            assert setup.total_bytes == e.memory.total_bytes, (device, opt.runtime.id)


# --- out-of-sample errors (leave one source group out) and speed ranges ---

from advisor.estimation.accuracy import (  # noqa: E402
    MAX_EFFICIENCY,
    fit_class_efficiency,
    log_errors,
    source_group,
    speed_ranges,
)

published = load_rows(DATA / "published_decode.json")


def test_every_published_row_keeps_its_source():
    assert published and all(r["source"].startswith("github.com/") for r in published)


def test_llama_cpp_out_of_sample_error_bounds():
    """README "Accuracy": llama.cpp leave-one-source-group-out median 1.09x, 94% within 1.5x."""
    errors = [abs(e) for r, e in log_errors(published, tables, devices, out_of_sample=True)
              if r["runtime"] == "llama.cpp"]
    assert len(errors) == 72
    factors = sorted(2.718281828459045 ** e for e in errors)
    assert statistics.median(factors) <= 1.15
    assert share_within(factors, 1.5) >= 0.9


def test_out_of_sample_differs_from_in_sample_where_groups_are_held_out():
    inside = log_errors(published, tables, devices, out_of_sample=False)
    outside = log_errors(published, tables, devices, out_of_sample=True)
    assert [r["device_id"] for r, _ in inside] == [r["device_id"] for r, _ in outside]
    assert any(abs(a - b) > 1e-6 for (_, a), (_, b) in zip(inside, outside, strict=True))


def test_each_source_group_weighs_once_and_efficiency_is_bounded():
    rows = [r for r in published if r["runtime"] == "llama.cpp"]
    one = next(g for g in sorted({source_group(r) for r in rows}))
    repeated = rows + [r for r in rows if source_group(r) == one] * 10
    base = fit_class_efficiency(rows, tables, devices, 2.0)
    assert fit_class_efficiency(repeated, tables, devices, 2.0) == base
    assert all(0 < e <= MAX_EFFICIENCY for e in base.values())


def test_catalog_decode_ranges_are_the_calibrated_ones():
    ranges = speed_ranges(log_errors(published, tables, devices, out_of_sample=True), devices)
    assert tables.runtimes["llama.cpp"].decode_range == ranges["llama.cpp"]
    for spec in tables.runtimes.values():
        assert spec.range_source and all(lo < 1 < hi for lo, hi in spec.decode_range.values())


def test_speed_range_brackets_the_estimate_and_widens_for_moe_and_hybrid():
    hw = hardware_from(HardwareQuery(), devices.devices["rtx-4090"])
    rt, fmt = tables.runtimes["llama.cpp"], tables.formats["q4_k_m"]

    def width(model_id: str) -> float:
        s = estimate(catalog.by_id()[model_id], hw, tables, fmt, rt, 4096).speed
        assert s.decode_tokens_per_s and s.decode_tokens_per_s_p10 and s.decode_tokens_per_s_p90
        assert s.decode_tokens_per_s_p10 < s.decode_tokens_per_s < s.decode_tokens_per_s_p90
        return s.decode_tokens_per_s_p90 / s.decode_tokens_per_s_p10

    assert width("qwen3-30b-a3b") > width("qwen3-8b")


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(open_models), st.sampled_from(MEMORY_RUNTIMES),
       st.sampled_from(["rtx-4090", "h100", "m4-max", "rtx-3060"]))
def test_max_context_is_the_last_context_that_fits(model, runtime, device):
    hw = hardware_from(HardwareQuery(), devices.devices[device])
    rt, fmt = tables.runtimes[runtime], tables.formats["q4_k_m" if runtime in (
        "llama.cpp", "ollama") else "bf16"]
    n = max_context_tokens(model, hw, fmt, rt, 1, 2.0)
    if 0 < n < model.context.max_tokens:
        assert estimate(model, hw, tables, fmt, rt, n).memory.total_bytes <= hw.usable_memory_bytes
        assert estimate(model, hw, tables, fmt, rt, n + 1).memory.total_bytes > \
            hw.usable_memory_bytes


# --- the additive speed model (issue 14) --------------------------------------------------------

from advisor.estimation.estimate import (  # noqa: E402
    decode_step,
    default_context_tokens,
    moe_split_bytes,
    recurrent_state_bytes,
    routed_expert_bytes,
    step_overhead_ms,
    usable_bytes,
    weight_counts,
)
from advisor.estimation.estimate import efficiency as _efficiency  # noqa: E402

qwen3_rows = load_rows(DATA / "qwen3_speed.json")


def _hybrid():
    return next(m for m in open_models if m.config.kv_cache_layers < m.config.num_hidden_layers
                and m.config.linear_num_value_heads)


def test_one_hybrid_state_formula_for_estimate_and_serve():
    from advisor.estimation.serve import recurrent_state_bytes as serve_state

    c = _hybrid().config
    assert serve_state(c) == recurrent_state_bytes(c, 4) > 0
    assert kv_cache_bytes(c, 0, 1, 2.0) == recurrent_state_bytes(c, 2.0)
    assert kv_cache_bytes(c, 0, 3, 2.0, 4.0) == 3 * serve_state(c)
    assert recurrent_state_bytes(catalog.by_id()["qwen3-8b"].config) == 0


def _step(model_id, runtime="llama.cpp", device="rtx-4090", quant="q4_k_m", **kw):
    model = catalog.by_id()[model_id]
    hw = hardware_from(HardwareQuery(), devices.devices[device])
    rt, fmt = tables.runtimes[runtime], tables.formats[quant]
    eff = _efficiency(rt, hw, fmt)
    args = {"context": 4096, "batch": 1, "kv_elem": 2.0} | kw
    return decode_step(model, weight_counts(model), fmt, rt, eff, hw.bandwidth_gb_s,
                       hw.fp16_tflops, args["context"], args["batch"], args["kv_elem"],
                       args.get("host_bytes", 0.0), args.get("host_gb_s"))


def test_decode_step_is_the_sum_of_its_terms_and_estimate_uses_it():
    s = _step("qwen3-8b")
    assert s.seconds == pytest.approx(max(s.memory_s, s.compute_s) + s.overhead_s)
    model = catalog.by_id()["qwen3-8b"]
    hw = hardware_from(HardwareQuery(), devices.devices["rtx-4090"])
    e = estimate(model, hw, tables, tables.formats["q4_k_m"], tables.runtimes["llama.cpp"], 4096)
    assert e.speed.decode_tokens_per_s == pytest.approx(1 / s.seconds)


def test_per_layer_cost_grows_with_layers():
    rt = tables.runtimes["sglang"]
    hw = hardware_from(HardwareQuery(), devices.devices["h20"])
    eff = _efficiency(rt, hw, tables.formats["bf16"])
    assert eff.per_layer_overhead_ms > 0
    small, big = catalog.by_id()["qwen3-0.6b"].config, catalog.by_id()["qwen3-32b"].config
    assert big.num_hidden_layers > small.num_hidden_layers
    assert step_overhead_ms(big, eff, rt) - step_overhead_ms(small, eff, rt) == pytest.approx(
        eff.per_layer_overhead_ms * (big.num_hidden_layers - small.num_hidden_layers))


def test_moe_reads_routed_experts_at_its_own_efficiency_and_spreads_with_batch():
    model = catalog.by_id()["qwen3-30b-a3b"]
    w, c, fmt = weight_counts(model), model.config, tables.formats["bf16"]
    dense1, expert1 = moe_split_bytes(w, c, fmt, 1)
    dense8, expert8 = moe_split_bytes(w, c, fmt, 8)
    assert dense1 == dense8 and expert1 < expert8 < routed_expert_bytes(w, c, fmt)
    assert moe_split_bytes(weight_counts(catalog.by_id()["qwen3-8b"]),
                           catalog.by_id()["qwen3-8b"].config, fmt, 8)[1] == 0
    rt = tables.runtimes["sglang"]
    assert rt.moe_bandwidth_factor < 1
    plain = _replace(rt, moe_bandwidth_factor=1.0)
    hw = hardware_from(HardwareQuery(), devices.devices["h20"])
    eff = _efficiency(rt, hw, fmt)
    slow = decode_step(model, w, fmt, rt, eff, hw.bandwidth_gb_s, hw.fp16_tflops, 2048, 1, 2.0)
    fast = decode_step(model, w, fmt, plain, _efficiency(plain, hw, fmt), hw.bandwidth_gb_s,
                       hw.fp16_tflops, 2048, 1, 2.0)
    assert slow.memory_s > fast.memory_s


def test_transformers_visits_every_expert():
    rt = tables.runtimes["transformers"]
    assert rt.moe_loops_all_experts and rt.moe_expert_ms > 0
    c = catalog.by_id()["qwen3-30b-a3b"].config
    hw = hardware_from(HardwareQuery(), devices.devices["h20"])
    eff = _efficiency(rt, hw, tables.formats["bf16"])
    assert step_overhead_ms(c, eff, rt) - eff.per_token_overhead_ms - \
        eff.per_layer_overhead_ms * c.num_hidden_layers == pytest.approx(
            rt.moe_expert_ms * c.num_hidden_layers * c.num_experts)


def test_hybrid_state_is_read_and_written_each_step():
    model = _hybrid()
    s = _step(model.id)
    no_state = _replace(model, config=_replace(model.config, linear_num_value_heads=None))
    hw = hardware_from(HardwareQuery(), devices.devices["rtx-4090"])
    rt, fmt = tables.runtimes["llama.cpp"], tables.formats["q4_k_m"]
    t = decode_step(no_state, weight_counts(model), fmt, rt, _efficiency(rt, hw, fmt),
                    hw.bandwidth_gb_s, hw.fp16_tflops, 4096, 1, 2.0)
    bw = hw.bandwidth_gb_s * 1e9 * _efficiency(rt, hw, fmt).bandwidth
    assert s.memory_s - t.memory_s == pytest.approx(
        2 * recurrent_state_bytes(model.config, 4.0) / bw, rel=1e-6)  # read + written


def test_offloaded_experts_are_read_at_host_bandwidth():
    base = _step("qwen3-30b-a3b")
    spill = _step("qwen3-30b-a3b", host_bytes=1e9, host_gb_s=40.0)
    assert spill.host_s == pytest.approx(1e9 / 40e9)
    assert spill.seconds > base.seconds and spill.bound == "host memory bandwidth (offload)"


def test_padded_gemm_rows_raise_the_compute_floor():
    rt = tables.runtimes["sglang"]
    padded = _replace(rt, pad_batch_rows={"awq": 64})
    plain = _replace(rt, pad_batch_rows={})
    model = catalog.by_id()["qwen3-32b"]
    hw = hardware_from(HardwareQuery(), devices.devices["h20"])
    fmt = tables.formats["awq"]
    a = decode_step(model, weight_counts(model), fmt, padded, _efficiency(padded, hw, fmt),
                    hw.bandwidth_gb_s, hw.fp16_tflops, 1024, 1, 2.0)
    b = decode_step(model, weight_counts(model), fmt, plain, _efficiency(plain, hw, fmt),
                    hw.bandwidth_gb_s, hw.fp16_tflops, 1024, 1, 2.0)
    assert 32 * b.compute_s < a.compute_s <= 64 * b.compute_s  # attention FLOPs are not padded


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(open_models), st.sampled_from(["llama.cpp", "sglang", "transformers",
                                                       "mlx"]),
       st.floats(50, 5000), st.floats(50, 5000), st.integers(1, 64), st.integers(0, 200_000))
def test_more_bandwidth_never_lowers_the_additive_decode_speed(model, runtime, bw1, bw2, batch,
                                                               context):
    lo, hi = sorted((bw1, bw2))
    rt = tables.runtimes[runtime]
    fmt = tables.formats["bf16"]
    hw = hardware_from(HardwareQuery(), devices.devices["h20"])
    eff = _efficiency(rt, hw, fmt)
    w = weight_counts(model)
    slow = decode_step(model, w, fmt, rt, eff, lo, 148.0, context, batch, 2.0)
    fast = decode_step(model, w, fmt, rt, eff, hi, 148.0, context, batch, 2.0)
    assert fast.seconds <= slow.seconds


def test_ollama_default_context_by_gpu_memory_and_mlx_wired_limit():
    ollama, mlx = tables.runtimes["ollama"], tables.runtimes["mlx"]
    model = catalog.by_id()["qwen3-8b"]
    small = hardware_from(HardwareQuery(), devices.devices["rtx-3060"])
    big = hardware_from(HardwareQuery(), devices.devices["h100"])
    assert default_context_tokens(ollama, small, model) == 4096
    assert default_context_tokens(ollama, big, model) == model.context.max_tokens  # capped
    assert default_context_tokens(tables.runtimes["llama.cpp"], small, model) is None
    e = estimate(model, small, tables, tables.formats["q4_k_m"], ollama, 8192)
    assert any("4,096 tokens of context" in n for n in e.assumptions.notes)
    # the profile's 64 GiB M1 Max may be bought with 32 GiB: the wired limit is then 2/3 of RAM
    m1 = hardware_from(HardwareQuery(memory_gib=32), devices.devices["m1-max"])
    assert usable_bytes(mlx, m1) == int(32 * 2**30 * 0.67) < m1.usable_memory_bytes
    m4 = hardware_from(HardwareQuery(), devices.devices["m4-max"])
    assert usable_bytes(mlx, m4) == m4.usable_memory_bytes
    e = estimate(model, m1, tables, tables.formats["mlx-4bit"], mlx, 8192)
    assert e.memory.usable_bytes == usable_bytes(mlx, m1)


def test_qwen3_tables_keep_their_sources():
    assert len(qwen3_rows) > 200
    assert all("@" in r["source"] and r["source_group"] for r in qwen3_rows)
    assert {r["framework"] for r in qwen3_rows} == {"SGLang", "Transformers", "MLX"}


@pytest.mark.parametrize(("framework", "median", "share"), [
    ("SGLang", 1.10, 0.9), ("MLX", 1.10, 1.0), ("Transformers", 1.40, 0.6)])
def test_qwen3_tables_within_the_readme_bounds(framework, median, share):
    """README "Accuracy", in sample: Qwen's Qwen3 H20 table and mlx-lm's M4 Max table."""
    from advisor.estimation.accuracy import qwen3_prediction

    rows = [r for r in qwen3_rows if r["framework"] == framework]
    errors = ratio_errors((r["tokens_per_s"], qwen3_prediction(r, catalog, tables, devices)[
        "tokens_per_s"]) for r in rows)
    assert len(errors) == len(rows)
    assert statistics.median(errors) <= median and share_within(errors, 1.5) >= share


def test_qwen3_h20_table_measured_steady_memory_not_the_peak():
    """Qwen's Qwen3 table (Transformers 4.51.3, H20) gives GPU memory in MB: it matches
    `steady_bytes` (weights + KV cache), not the prefill peak the Qwen2.5 table measured (not
    fitted to it). FP8 rows allocate their own buffers on small models: within 20%."""
    from advisor.estimation.accuracy import qwen3_prediction

    rows = [r for r in qwen3_rows if r.get("memory_mb")]
    got = {id(r): qwen3_prediction(r, catalog, tables, devices) for r in rows}
    steady = relative_errors((r["memory_mb"] / 1024, got[id(r)]["steady_gib"]) for r in rows
                             if r["quant"] != "fp8")
    peak = relative_errors((r["memory_mb"] / 1024, got[id(r)]["memory_gib"]) for r in rows
                           if r["quant"] != "fp8")
    assert len(steady) >= 50 and max(steady) <= 0.10 and statistics.median(steady) <= 0.02
    assert statistics.median(peak) > 2 * statistics.median(steady)
    fp8 = relative_errors((r["memory_mb"] / 1024, got[id(r)]["steady_gib"]) for r in rows
                          if r["quant"] == "fp8")
    assert max(fp8) <= 0.20


# --- vision/audio towers count where the printed commands load them ------------------------------

from advisor.estimation.estimate import TOWER_BITS, loads_towers, resident_counts  # noqa: E402
from advisor.recipes import recipes as recipes_for  # noqa: E402

MULTIMODAL = [m for m in open_models if m.towers_params and "text" in m.modalities_in
              and set(m.modalities_in) != {"text"}]


def test_a_text_job_leaves_out_the_tower_the_commands_do_not_load():
    m = catalog.by_id()["qwen3.5-4b"]
    hw = hardware_from(HardwareQuery(device="phone"))
    fmt = tables.formats["q4_k_m"]
    text = estimate(m, hw, tables, fmt, tables.runtimes["llama.cpp"], 8192)
    vision = estimate(m, hw, tables, fmt, tables.runtimes["llama.cpp"], 8192, task="vision")
    tower = int(m.towers_params * TOWER_BITS / 8)
    assert abs(vision.memory.weights_bytes - text.memory.weights_bytes - tower) <= 1
    assert vision.memory.total_bytes - text.memory.total_bytes == pytest.approx(tower, abs=1)
    assert any("tower is not loaded" in str(n) for n in text.assumptions.notes)
    assert not any("tower is not loaded" in str(n) for n in vision.assumptions.notes)
    assert text.max_context_tokens >= vision.max_context_tokens
    # Transformers loads the whole checkpoint whatever the job
    bf16, hf = tables.formats["bf16"], tables.runtimes["transformers"]
    gpu = hardware_from(HardwareQuery(device="h100"))
    assert estimate(m, gpu, tables, bf16, hf, 8192).memory.weights_bytes == \
        estimate(m, gpu, tables, bf16, hf, 8192, task="vision").memory.weights_bytes


@pytest.mark.parametrize("task", [None, "chat", "vision", "video", "audio"])
def test_loads_towers_says_what_the_printed_command_does(task):
    """Every multimodal model's llama.cpp and vLLM commands: --no-mmproj or no --mmproj (the
    self-made GGUF) means no tower, --language-model-only means no vision encoder; the estimate
    counts the towers exactly when the command loads them."""
    checked = 0
    for m in MULTIMODAL:
        for fmt_id, runtime in (("q4_k_m", "llama.cpp"), ("bf16", "vllm")):
            for r in recipes_for(m, fmt_id, 8192, task=task, runtime=runtime):
                words = " ".join(r.commands).split()
                if runtime == "llama.cpp":
                    server = [w for w in words if w in ("-hf", "-m")]
                    if not server:
                        continue
                    loaded = "--mmproj" in words or ("-hf" in words and "--no-mmproj" not in words)
                else:
                    loaded = "--language-model-only" not in words
                assert loads_towers(m, runtime, task) == loaded, (m.id, runtime, task, words)
                counts = resident_counts(m, runtime, task)
                assert (counts.towers > 0) == loaded
                checked += 1
    assert checked > 20


def test_compare_weights_are_what_the_runtime_loads():
    """On a device, compare's weights row is the estimate's weights (a text job); without one,
    the whole checkpoint at the quant."""
    from advisor.ranking.compare import compare

    m, fmt = catalog.by_id()["qwen3.5-4b"], tables.formats["q4_k_m"]
    hw = hardware_from(HardwareQuery(device="phone"))
    on_device = compare([m], tables, fmt, 8192, hw, tables.runtimes["llama.cpp"])
    row = next(r for r in on_device.rows if str(r.attribute).startswith("weights at"))
    assert row.values[0] == f"{on_device.estimates[0].memory.weights_bytes / 1e9:.1f} GB"
    alone = compare([m], tables, fmt, 8192)
    row = next(r for r in alone.rows if str(r.attribute).startswith("weights at"))
    assert row.values[0] == f"{weights_bytes(m, fmt) / 1e9:.1f} GB"
    assert on_device.estimates[0].memory.weights_bytes < weights_bytes(m, fmt)
