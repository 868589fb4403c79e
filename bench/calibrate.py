"""Fit the runtime factors in catalog/runtimes.toml on published measurements and print them
with the errors they give. Run: python bench/calibrate.py [--catalog PATH]

1. Transformers memory: peak GiB = weights + KV + fixed + a x (hidden + ffn) x 2 B x prompt tokens,
   least squares over the single-GPU rows of Qwen's official Qwen2.5 table (A100 80GB).
2. vLLM and Transformers speed: bandwidth efficiency, per-token cost, compute efficiency, format
   factors and multi-GPU scaling, by grid search on the same table's rows of each framework
   (median |log error|).
3. llama.cpp / Ollama / MLX: per device class, the median efficiency implied by the published
   batch-1 decode rows, for the per-token cost that puts most rows within 1.5x.
4. decode_range per runtime and device class: P10-P90 of the leave-one-source-group-out errors
   (each publication predicted by efficiencies refitted without it, every source group weighted
   once, efficiencies bounded to (0, 0.95]); runtimes with one source group keep a prior.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from advisor.accuracy import (
    fit_class_efficiency,
    load_rows,
    log_errors,
    official_prediction,
    published_prediction,
    ratio_errors,
    share_within,
    source_group,
    speed_ranges,
)
from advisor.estimate import activation_unit_bytes, kv_cache_bytes, weights_bytes
from advisor.formats import RuntimeSpec, load_tables
from advisor.hardware import load_devices
from advisor.loader import load_catalog

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
GIB = 1024**3


def fit_transformers_memory(rows, catalog, tables) -> tuple[float, float]:
    xs, ys = [], []
    for r in rows:
        if r["framework"] != "Transformers" or r["gpu_count"] != 1:
            continue
        m = catalog.by_id()[r["model"].lower()]
        fmt = tables.formats[{"BF16": "bf16", "GPTQ-Int8": "gptq-int8", "GPTQ-Int4": "gptq-int4",
                              "AWQ": "awq"}[r["quant"]]]
        assert m.config
        rest = (r["memory_gb"] * GIB - weights_bytes(m, fmt)
                - kv_cache_bytes(m.config, r["input_length"] + r["output_length"], 1, 2.0))
        xs.append(activation_unit_bytes(m.config) * r["input_length"])
        ys.append(rest)
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope, max(0.0, (my - slope * mx) / GIB)


def log_error(pairs) -> float:
    return statistics.median(abs(math.log(p / m)) for m, p in pairs if p)


def fit_official(rows, framework: str, catalog, tables, devices, base: RuntimeSpec
                 ) -> RuntimeSpec:
    vllm = [r for r in rows if r["framework"] == framework]

    def score(rt: RuntimeSpec, subset) -> float:
        return log_error(
            (r["tokens_per_s"], official_prediction(r, catalog, tables, devices, rt)[1])
            for r in subset)

    single_bf16 = [r for r in vllm if r["gpu_count"] == 1 and r["quant"] == "BF16"]
    best = min(
        (replace(base, **{"bandwidth_efficiency": {"default": e},
                                 "per_token_overhead_ms": t0,
                                 "compute_efficiency": {"default": ec}})
         for e, t0, ec in itertools.product([x / 100 for x in range(10, 92, 2)],
                                            [x / 2 for x in range(0, 81)],
                                            [x / 20 for x in range(6, 19)])),
        key=lambda rt: score(rt, single_bf16),
    )
    factors = {}
    for fmt_id, quant in (("gptq-int8", "GPTQ-Int8"), ("gptq-int4", "GPTQ-Int4"), ("awq", "AWQ")):
        subset = [r for r in vllm if r["gpu_count"] == 1 and r["quant"] == quant]
        factors[fmt_id] = min(
            (x / 100 for x in range(50, 132, 2)),
            key=lambda f, subset=subset, fmt_id=fmt_id: score(
                replace(best, **{"format_efficiency": {**factors, fmt_id: f}}), subset),
        )
    best = replace(best, **{"format_efficiency": factors})
    multi = [r for r in vllm if r["gpu_count"] > 1]
    m = min((x / 100 for x in range(40, 102, 2)),
            key=lambda f: score(replace(best, **{"multi_gpu_efficiency": f}), multi))
    return replace(best, **{"multi_gpu_efficiency": m})


def fit_published(rows, tables, devices) -> None:
    by_runtime = defaultdict(list)
    for r in rows:
        if r["device_id"] in devices.devices:
            by_runtime[r["runtime"]].append(r)
    for runtime, subset in sorted(by_runtime.items()):
        base = tables.runtimes[runtime]
        best = None
        for t0 in [x / 4 for x in range(0, 13)]:
            classes = defaultdict(list)
            for r in subset:
                device = devices.devices[r["device_id"]]
                weight = r["params_b"] * 1e9 * tables.formats[r["quant"]].bits_per_weight / 8
                step = 1 / r["decode_tokens_per_s"] - t0 / 1000
                if step > 0:
                    classes[device.device_class].append(weight / (device.bandwidth_gb_s * 1e9 * step))
            eff = {c: round(min(0.95, statistics.median(v)), 2) for c, v in classes.items()}
            rt = replace(base, **{"per_token_overhead_ms": t0,
                                         "bandwidth_efficiency": {**eff, "default": base.bandwidth_efficiency["default"]}})
            errors = ratio_errors((r["decode_tokens_per_s"], published_prediction(r, tables, devices, rt))
                                  for r in subset)
            key = (share_within(errors, 1.5), -statistics.median(errors))
            if best is None or key > best[0]:
                best = (key, t0, eff, len(errors))
        assert best
        print(f"{runtime}: per_token_overhead_ms={best[1]} bandwidth_efficiency={best[2]} "
              f"within 1.5x: {best[0][0]:.0%} of {best[3]} rows")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog", type=Path)
    parser.add_argument("--published-only", action="store_true",
                        help="skip the slow grid search on Qwen's official table")
    args = parser.parse_args()
    catalog, tables, devices = load_catalog(args.catalog), load_tables(), load_devices()
    official = load_rows(DATA / "qwen25_speed_benchmark.json")
    slope, fixed = fit_transformers_memory(official, catalog, tables)
    print(f"transformers: activation_bytes_per_token={slope:.2f} fixed_overhead_gib={fixed:.2f}")
    for framework, runtime in () if args.published_only else (("vLLM", "vllm"),
                                                               ("Transformers", "transformers")):
        rt = fit_official(official, framework, catalog, tables, devices, tables.runtimes[runtime])
        print(f"{runtime}: bandwidth_efficiency={rt.bandwidth_efficiency} per_token_overhead_ms="
              f"{rt.per_token_overhead_ms} compute_efficiency={rt.compute_efficiency} "
              f"format_efficiency={rt.format_efficiency} "
              f"multi_gpu_efficiency={rt.multi_gpu_efficiency}")
    published = load_rows(DATA / "published_decode.json")
    fit_published(published, tables, devices)
    for runtime in sorted({r["runtime"] for r in published}):
        mine = [r for r in published if r["runtime"] == runtime]
        fitted = fit_class_efficiency(mine, tables, devices,
                                      tables.runtimes[runtime].per_token_overhead_ms)
        print(f"{runtime}: group-weighted bandwidth_efficiency={fitted}")
    ranges = speed_ranges(log_errors(published, tables, devices, out_of_sample=True), devices)
    for runtime, table in ranges.items():
        groups = {source_group(r) for r in published if r["runtime"] == runtime}
        if len(groups) < 2:
            print(f"{runtime}: one source group, no out-of-sample range (keep a prior)")
            continue
        cells = ", ".join(f"{k} = [{lo}, {hi}]" for k, (lo, hi) in table.items())
        print(f"{runtime}: decode_range = {{ {cells} }}")


if __name__ == "__main__":
    main()
