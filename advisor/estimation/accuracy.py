"""Predictions for published measurement rows, with the estimator's own formulas: used by the
accuracy tests and by bench/calibrate.py, which fits the runtime efficiencies."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from advisor.data.formats import RuntimeSpec, Tables
from advisor.data.hardware import DeviceCatalog, HardwareQuery, hardware_from
from advisor.data.records import replace
from advisor.data.schema import Catalog
from advisor.estimation.estimate import (
    Efficiency,
    decode_tokens_per_s,
    efficiency,
    estimate,
    tensor_parallel,
)

OFFICIAL_QUANTS = {"BF16": "bf16", "GPTQ-Int8": "gptq-int8", "GPTQ-Int4": "gptq-int4",
                   "AWQ": "awq"}
OFFICIAL_DEVICE = "a100-80gb"


def load_rows(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(path.read_text())["rows"]
    return rows


def official_prediction(row: dict[str, Any], catalog: Catalog, tables: Tables,
                        devices: DeviceCatalog, runtime: RuntimeSpec | None = None
                        ) -> tuple[float, float | None]:
    """(peak memory in GiB, tokens/s as the Qwen table defines it) for one official row.

    The table's speed is generated tokens over prefill plus decode time, so the prediction is
    output / (time to first token + output x decode step at the mean context)."""
    model = catalog.by_id()[row["model"].lower()]
    fmt = tables.formats[OFFICIAL_QUANTS[row["quant"]]]
    rt = runtime or tables.runtimes["vllm" if row["framework"] == "vLLM" else "transformers"]
    hw = hardware_from(HardwareQuery(gpus=row["gpu_count"]), devices.devices[OFFICIAL_DEVICE])
    out = row["output_length"]
    context = row["input_length"] + out
    full = estimate(model, hw, tables, fmt, rt, context, prompt_tokens=row["input_length"])
    memory_gib = full.memory.total_bytes / 1024**3
    mean = estimate(model, hw, tables, fmt, rt, row["input_length"] + out // 2,
                    prompt_tokens=row["input_length"])
    decode, ttft = mean.speed.decode_tokens_per_s, full.speed.time_to_first_token_s
    if decode is None or ttft is None:
        return memory_gib, None
    return memory_gib, out / (ttft + out / decode)


def published_prediction(row: dict[str, Any], tables: Tables, devices: DeviceCatalog,
                         runtime: RuntimeSpec | None = None) -> float | None:
    """Batch-1 decode tokens/s for a published row (short context, so the KV read is left out).

    Rows name models outside the catalog (Llama, Mistral), so weights come from the row's
    parameter count at the format's bits per weight."""
    device = devices.devices.get(row["device_id"])
    if device is None:
        return None
    fmt = tables.formats[row["quant"]]
    rt = runtime or tables.runtimes[row["runtime"]]
    hw = hardware_from(HardwareQuery(), device)
    eff = efficiency(rt, hw, fmt)
    weight_bytes = row["params_b"] * 1e9 * fmt.bits_per_weight / 8
    tps, _ = decode_tokens_per_s(weight_bytes, 0.0, hw.bandwidth_gb_s * tensor_parallel(hw, eff),
                                 eff.bandwidth, fixed_cost_ms(row, eff))
    return tps


# num_hidden_layers of the published rows' models (their config.json files)
LAYERS = {"Llama-2-7B": 32, "Llama-3-8B": 32, "Llama-3-70B": 80, "Llama-3.2-1B": 16,
          "Llama-3.2-3B": 28, "Mistral-7B": 32, "Phi-2": 32, "TinyLlama-1.1B": 22,
          "Qwen2-0.5B": 24, "Qwen2.5-0.5B": 24, "Qwen2.5-1.5B": 28, "Qwen2.5-3B": 36,
          "Qwen2.5-7B": 28, "Qwen2.5-14B": 48, "Qwen2.5-32B": 64, "Qwen2.5-72B": 80}


def fixed_cost_ms(row: dict[str, Any], eff: Efficiency) -> float:
    """Fixed + per-layer cost of one decode step of the row's model."""
    return eff.per_token_overhead_ms + eff.per_layer_overhead_ms * LAYERS.get(row["model"], 32)


def ratio_errors(pairs: Iterable[tuple[float, float | None]]) -> list[float]:
    """max(pred/meas, meas/pred) for every row with a prediction."""
    return [max(p / m, m / p) for m, p in pairs if p]


def share_within(errors: list[float], factor: float) -> float:
    return sum(e <= factor for e in errors) / len(errors) if errors else 0.0


def relative_errors(pairs: Iterable[tuple[float, float]]) -> list[float]:
    return [abs(p - m) / m for m, p in pairs]


def summary(errors: list[float]) -> str:
    return (f"n={len(errors)} median={statistics.median(errors):.3f} "
            f"p90={sorted(errors)[math.ceil(0.9 * len(errors)) - 1]:.3f}")




# --- out-of-sample (leave-one-source-group-out) errors and the speed ranges they give ---

MAX_EFFICIENCY = 0.95  # physical bound: no runtime reads memory at more than 95% of nominal


def source_group(row: dict[str, Any]) -> str:
    """The publication a row comes from (a thread, README or report): rows of one group share a
    setup and an author, so they count once and are held out together."""
    group: str = row.get("source_group") or row["source"].split(" (")[0]
    return group


def implied_efficiency(row: dict[str, Any], tables: Tables, devices: DeviceCatalog,
                       per_token_ms: float, per_layer_ms: float = 0.0
                       ) -> tuple[str, float] | None:
    """(device class, bandwidth efficiency the row implies at this fixed + per-layer cost),
    bounded to (0, 0.95]; None when the device is unknown."""
    device = devices.devices.get(row["device_id"])
    if device is None:
        return None
    per_token_ms += per_layer_ms * LAYERS.get(row["model"], 32)
    weight = row["params_b"] * 1e9 * tables.formats[row["quant"]].bits_per_weight / 8
    step_s = 1 / row["decode_tokens_per_s"] - per_token_ms / 1000
    if step_s <= 0:
        return device.device_class, MAX_EFFICIENCY
    return device.device_class, min(MAX_EFFICIENCY, weight / (device.bandwidth_gb_s * 1e9 * step_s))


def fit_class_efficiency(rows: Iterable[dict[str, Any]], tables: Tables, devices: DeviceCatalog,
                         per_token_ms: float, per_layer_ms: float = 0.0) -> dict[str, float]:
    """Bandwidth efficiency per device class: the median over source groups of each group's
    median, so every group weighs once however many rows it has."""
    by: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        got = implied_efficiency(r, tables, devices, per_token_ms, per_layer_ms)
        if got:
            by.setdefault(got[0], {}).setdefault(source_group(r), []).append(got[1])
    return {cls: round(statistics.median(statistics.median(v) for v in groups.values()), 3)
            for cls, groups in by.items()}


def _with_classes(rt: RuntimeSpec, fitted: dict[str, float]) -> RuntimeSpec:
    prior = {"default": rt.bandwidth_efficiency["default"]}
    return replace(rt, bandwidth_efficiency={**prior, **fitted})


def log_errors(rows: list[dict[str, Any]], tables: Tables, devices: DeviceCatalog,
               out_of_sample: bool) -> list[tuple[dict[str, Any], float]]:
    """(row, log(measured / predicted)) for published rows. Out of sample: each source group is
    predicted by efficiencies refitted without it (a class it alone covers falls back to the
    runtime's prior); in sample: with the catalog's efficiencies."""
    found = []
    for runtime in sorted({r["runtime"] for r in rows}):
        subset = [r for r in rows if r["runtime"] == runtime and r["device_id"] in devices.devices]
        base = tables.runtimes[runtime]
        for group in sorted({source_group(r) for r in subset}):
            held = [r for r in subset if source_group(r) == group]
            rt = base
            if out_of_sample:
                train = [r for r in subset if source_group(r) != group]
                rt = _with_classes(base, fit_class_efficiency(
                    train, tables, devices, base.per_token_overhead_ms,
                    base.per_layer_overhead_ms.get("default", 0.0)))
            for r in held:
                predicted = published_prediction(r, tables, devices, rt)
                if predicted:
                    found.append((r, math.log(r["decode_tokens_per_s"] / predicted)))
    return found


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile of a non-empty list."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def speed_ranges(errors: list[tuple[dict[str, Any], float]], devices: DeviceCatalog,
                 min_rows: int = 6, min_groups: int = 2
                 ) -> dict[str, dict[str, tuple[float, float]]]:
    """Per runtime and device class, (P10, P90) of measured/predicted from out-of-sample errors;
    classes with fewer than `min_rows` rows or `min_groups` source groups get the runtime's
    overall P5-P95 ("default")."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for runtime in sorted({r["runtime"] for r, _ in errors}):
        mine = [(r, e) for r, e in errors if r["runtime"] == runtime]
        every = [e for _, e in mine]
        ranges = {"default": (round(math.exp(quantile(every, 0.05)), 2),
                              round(math.exp(quantile(every, 0.95)), 2))}
        classes: dict[str, list[tuple[dict[str, Any], float]]] = {}
        for r, e in mine:
            classes.setdefault(devices.devices[r["device_id"]].device_class, []).append((r, e))
        for cls, pairs in classes.items():
            if len(pairs) >= min_rows and len({source_group(r) for r, _ in pairs}) >= min_groups:
                es = [e for _, e in pairs]
                ranges[cls] = (round(math.exp(quantile(es, 0.1)), 2),
                               round(math.exp(quantile(es, 0.9)), 2))
        out[runtime] = ranges
    return out


# --- Qwen3 tables (tests/data/qwen3_speed.json): catalog models, the full estimator ---

QWEN3_RUNTIMES = {"SGLang": "sglang", "Transformers": "transformers", "MLX": "mlx"}


def qwen3_prediction(row: dict[str, Any], catalog: Catalog, tables: Tables,
                     devices: DeviceCatalog, runtime: RuntimeSpec | None = None
                     ) -> dict[str, float | None]:
    """Predicted {"tokens_per_s" in the row's own metric, "decode", "prefill", "memory_gib"}.

    Qwen's H20 table counts (prompt + generated) tokens over the whole time: time to first
    token + generated x the decode step at the mean context. mlx-lm's table gives decode of 128
    tokens after a 2,048-token prompt, and prefill of that prompt."""
    model = catalog.by_id()[row["model"]]
    fmt = tables.formats[row["quant"]]
    rt = runtime or tables.runtimes[QWEN3_RUNTIMES[row["framework"]]]
    query = HardwareQuery(gpus=row["gpus"], memory_gib=row.get("memory_gib"))
    hw = hardware_from(query, devices.devices[row["device_id"]])
    prompt, out = row["input_length"], row["output_length"]
    full = estimate(model, hw, tables, fmt, rt, prompt + out, prompt_tokens=prompt)
    mean = estimate(model, hw, tables, fmt, rt, prompt + out // 2, prompt_tokens=prompt)
    decode = mean.speed.decode_tokens_per_s
    ttft = full.speed.time_to_first_token_s
    got: dict[str, float | None] = {"decode": decode,
                                    "prefill": full.speed.prefill_tokens_per_s,
                                    "memory_gib": full.memory.total_bytes / 1024**3,
                                    "steady_gib": (full.memory.steady_bytes or 0) / 1024**3,
                                    "tokens_per_s": None}
    if decode is None:
        return got
    if row["metric"].startswith("(prompt + generated)"):
        got["tokens_per_s"] = (prompt + out) / ((ttft or 0.0) + out / decode)
    else:
        got["tokens_per_s"] = decode
    return got


# --- prefill (prompt processing) of the published rows: compute efficiency per device class ---

def published_prefill(row: dict[str, Any], tables: Tables, devices: DeviceCatalog,
                      runtime: RuntimeSpec | None = None) -> float | None:
    """Prompt tokens/s for a published row (pp512 and the like): 2 x parameters FLOPs per token
    at the device's dense FP16 compute x the runtime's compute efficiency for its class."""
    device = devices.devices.get(row["device_id"])
    if device is None or not device.fp16_tflops or not row.get("prompt_tokens_per_s"):
        return None
    rt = runtime or tables.runtimes[row["runtime"]]
    hw = hardware_from(HardwareQuery(), device)
    eff = efficiency(rt, hw, tables.formats[row["quant"]])
    return float(device.fp16_tflops * 1e12 * eff.compute / (2 * row["params_b"] * 1e9))


def fit_class_compute(rows: Iterable[dict[str, Any]], devices: DeviceCatalog) -> dict[str, float]:
    """Compute efficiency per device class implied by the rows' prompt speed, the median over
    source groups of each group's median, bounded to (0, 0.95]."""
    by: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        device = devices.devices.get(r["device_id"])
        if device is None or not device.fp16_tflops or not r.get("prompt_tokens_per_s"):
            continue
        implied = r["prompt_tokens_per_s"] * 2 * r["params_b"] * 1e9 / (device.fp16_tflops * 1e12)
        by.setdefault(device.device_class, {}).setdefault(source_group(r), []).append(
            min(MAX_EFFICIENCY, implied))
    return {cls: round(statistics.median(statistics.median(v) for v in groups.values()), 3)
            for cls, groups in by.items()}


def prefill_log_errors(rows: list[dict[str, Any]], tables: Tables, devices: DeviceCatalog,
                       out_of_sample: bool) -> list[tuple[dict[str, Any], float]]:
    """(row, log(measured / predicted prompt speed)); out of sample: each source group predicted
    by compute efficiencies refitted without it (a class only it covers keeps the prior)."""
    found = []
    for runtime in sorted({r["runtime"] for r in rows}):
        subset = [r for r in rows if r["runtime"] == runtime and r.get("prompt_tokens_per_s")]
        base = tables.runtimes[runtime]
        for group in sorted({source_group(r) for r in subset}):
            rt = base
            if out_of_sample:
                train = [r for r in subset if source_group(r) != group]
                rt = replace(base, compute_efficiency={
                    "default": base.compute_efficiency["default"],
                    **fit_class_compute(train, devices)})
            for r in (r for r in subset if source_group(r) == group):
                predicted = published_prefill(r, tables, devices, rt)
                if predicted:
                    found.append((r, math.log(r["prompt_tokens_per_s"] / predicted)))
    return found
