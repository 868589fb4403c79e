"""Predictions for published measurement rows, with the estimator's own formulas: used by the
accuracy tests and by bench/calibrate.py, which fits the runtime efficiencies."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from advisor.estimate import (
    decode_tokens_per_s,
    efficiency,
    estimate,
    tensor_parallel,
)
from advisor.formats import RuntimeSpec, Tables
from advisor.hardware import DeviceCatalog, HardwareQuery, hardware_from
from advisor.schema import Catalog

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
                                 eff.bandwidth, eff.per_token_overhead_ms)
    return tps


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
                       per_token_ms: float) -> tuple[str, float] | None:
    """(device class, bandwidth efficiency the row implies at this per-token cost), bounded to
    (0, 0.95]; None when the device is unknown or the cost alone exceeds the measured step."""
    device = devices.devices.get(row["device_id"])
    if device is None:
        return None
    weight = row["params_b"] * 1e9 * tables.formats[row["quant"]].bits_per_weight / 8
    step_s = 1 / row["decode_tokens_per_s"] - per_token_ms / 1000
    if step_s <= 0:
        return device.device_class, MAX_EFFICIENCY
    return device.device_class, min(MAX_EFFICIENCY, weight / (device.bandwidth_gb_s * 1e9 * step_s))


def fit_class_efficiency(rows: Iterable[dict[str, Any]], tables: Tables, devices: DeviceCatalog,
                         per_token_ms: float) -> dict[str, float]:
    """Bandwidth efficiency per device class: the median over source groups of each group's
    median, so every group weighs once however many rows it has."""
    by: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        got = implied_efficiency(r, tables, devices, per_token_ms)
        if got:
            by.setdefault(got[0], {}).setdefault(source_group(r), []).append(got[1])
    return {cls: round(statistics.median(statistics.median(v) for v in groups.values()), 3)
            for cls, groups in by.items()}


def _with_classes(rt: RuntimeSpec, fitted: dict[str, float]) -> RuntimeSpec:
    from dataclasses import replace

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
                rt = _with_classes(base, fit_class_efficiency(train, tables, devices,
                                                              base.per_token_overhead_ms))
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
