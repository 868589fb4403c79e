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


