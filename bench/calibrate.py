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
from pathlib import Path

from advisor.data.formats import RuntimeSpec, load_tables
from advisor.data.hardware import load_devices
from advisor.data.loader import load_catalog
from advisor.data.records import replace
from advisor.estimation.accuracy import (
    QWEN3_RUNTIMES,
    fit_class_compute,
    fit_class_efficiency,
    load_rows,
    log_errors,
    official_prediction,
    published_prediction,
    qwen3_prediction,
    ratio_errors,
    share_within,
    source_group,
    speed_ranges,
)
from advisor.estimation.estimate import activation_unit_bytes, kv_cache_bytes, weights_bytes

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
    slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
             / sum((x - mx) ** 2 for x in xs))
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
    """Per runtime: the fixed and per-layer decode costs (grid), with the group-weighted
    bandwidth efficiency per class they imply, scored by the group-weighted mean |log error|;
    and the compute efficiency per class the rows' prompt speeds imply."""
    by_runtime = defaultdict(list)
    for r in rows:
        if r["device_id"] in devices.devices:
            by_runtime[r["runtime"]].append(r)
    for runtime, subset in sorted(by_runtime.items()):
        base = tables.runtimes[runtime]
        best = None
        for t0, layer in itertools.product([x / 4 for x in range(0, 13)],
                                           [x / 100 for x in range(0, 11)]):
            eff = fit_class_efficiency(subset, tables, devices, t0, layer)
            rt = replace(base, **{"per_token_overhead_ms": t0,
                                  "per_layer_overhead_ms": {"default": layer},
                                  "bandwidth_efficiency": {
                                      **eff, "default": base.bandwidth_efficiency["default"]}})
            samples = [(source_group(r), r["decode_tokens_per_s"],
                        lambda spec, r=r: published_prediction(r, tables, devices, spec))
                       for r in subset]
            score = group_score(rt, samples)
            if best is None or score < best[0]:
                best = (score, t0, layer, eff)
        assert best
        print(f"{runtime}: per_token_overhead_ms={best[1]} per_layer_overhead_ms={best[2]} "
              f"bandwidth_efficiency={best[3]} group-weighted mean |log error| {best[0]:.3f}")
        print(f"{runtime}: compute_efficiency={fit_class_compute(subset, devices)} (prompt speed)")


# --- the additive speed model, fitted per runtime on every source group it has -----------------

def speed_samples(runtime: str, catalog, tables, devices) -> list[tuple[str, float, object]]:
    """(source group, measured, prediction(rt)) for every speed row of `runtime`: Qwen's Qwen2.5
    A100 table, Qwen's Qwen3 H20 table, mlx-lm's table and the published batch-1 rows."""
    out: list[tuple[str, float, object]] = []
    for r in load_rows(DATA / "qwen25_speed_benchmark.json"):
        if {"vLLM": "vllm", "Transformers": "transformers"}[r["framework"]] == runtime:
            out.append(("Qwen2.5 speed benchmark, A100, " + r["framework"], r["tokens_per_s"],  # noqa: PERF401
                        lambda rt, r=r: official_prediction(r, catalog, tables, devices, rt)[1]))
    for r in load_rows(DATA / "qwen3_speed.json"):
        if QWEN3_RUNTIMES[r["framework"]] == runtime:
            out.append((r["source_group"], r["tokens_per_s"],  # noqa: PERF401
                        lambda rt, r=r: qwen3_prediction(r, catalog, tables, devices, rt)[
                            "tokens_per_s"]))
    for r in load_rows(DATA / "published_decode.json"):
        if r["runtime"] == runtime and r["device_id"] in devices.devices:
            out.append((source_group(r), r["decode_tokens_per_s"],  # noqa: PERF401
                        lambda rt, r=r: published_prediction(r, tables, devices, rt)))
    return out


def group_score(rt: RuntimeSpec, samples) -> float:
    """Mean over source groups of the group's mean |log(measured / predicted)|: each group weighs
    once, however many rows it has."""
    by: dict[str, list[float]] = defaultdict(list)
    for group, measured, predict in samples:
        p = predict(rt)
        by[group].append(abs(math.log(measured / p)) if p else 3.0)
    return statistics.mean(statistics.mean(v) for v in by.values())


def with_param(rt: RuntimeSpec, name: str, key: str | None, value) -> RuntimeSpec:
    if key is None:
        return replace(rt, **{name: value})
    return replace(rt, **{name: {**getattr(rt, name), key: value}})


def coordinate_fit(rt: RuntimeSpec, samples, grids, sweeps: int = 2) -> tuple[RuntimeSpec, float]:
    """Coordinate descent over bounded grids (efficiencies in (0, 0.95], costs >= 0)."""
    best = group_score(rt, samples)
    for _ in range(sweeps):
        for name, key, grid in grids:
            for value in grid:
                cand = with_param(rt, name, key, value)
                score = group_score(cand, samples)
                if score < best - 1e-9:
                    best, rt = score, cand
    return rt, best


ETA = [x / 100 for x in range(10, 96, 3)]
FACTOR = [x / 100 for x in range(10, 201, 5)]
MS = [x / 4 for x in range(0, 81)]
LAYER_MS = [x / 200 for x in range(0, 61)]
SPEED_GRIDS = {
    "sglang": [("bandwidth_efficiency", "default", ETA), ("per_token_overhead_ms", None, MS),
               ("per_layer_overhead_ms", "default", LAYER_MS),
               ("moe_bandwidth_factor", None, [x / 100 for x in range(10, 101, 5)]),
               ("format_efficiency", "fp8", FACTOR), ("format_efficiency", "gptq-int8", FACTOR),
               ("format_efficiency", "gptq-int4", FACTOR), ("format_efficiency", "awq", FACTOR),
               ("pad_batch_rows", "gptq-int4", [1, 4, 8, 16, 32, 64]),
               ("pad_batch_rows", "awq", [1, 4, 8, 16, 32, 64]),
               ("compute_efficiency", "default", [x / 20 for x in range(4, 19)]),
               ("multi_gpu_efficiency", None, [x / 20 for x in range(0, 21)])],
    "transformers": [("bandwidth_efficiency", "default", ETA),
                     ("per_token_overhead_ms", None, MS),
                     ("per_layer_overhead_ms", "default", LAYER_MS),
                     ("moe_expert_ms", None, [x / 200 for x in range(0, 81)]),
                     ("format_efficiency", "fp8", FACTOR),
                     ("format_efficiency", "gptq-int8", FACTOR),
                     ("format_efficiency", "gptq-int4", FACTOR),
                     ("format_efficiency", "awq", FACTOR),
                     ("multi_gpu_efficiency", None, [x / 20 for x in range(0, 21)]),
                     ("compute_efficiency", "default", [x / 20 for x in range(4, 19)])],
    "mlx": [("bandwidth_efficiency", "default", ETA), ("per_token_overhead_ms", None, MS),
            ("per_layer_overhead_ms", "default", LAYER_MS),
            ("moe_bandwidth_factor", None, [x / 100 for x in range(10, 101, 5)])],
}


def prior(rt: RuntimeSpec) -> RuntimeSpec:
    """The runtime with its fitted speed parameters back at neutral priors, so that a refit
    without a source group does not start from values that group helped fit."""
    return replace(rt, **{"bandwidth_efficiency": {"default": 0.5}, "per_token_overhead_ms": 0.0,
                          "per_layer_overhead_ms": {}, "moe_bandwidth_factor": 1.0,
                          "moe_expert_ms": 0.0, "format_efficiency": {},
                          "compute_efficiency": {"default": 0.5}, "pad_batch_rows": {},
                          "multi_gpu_efficiency": 0.75})


def fit_speed(runtime: str, catalog, tables, devices) -> None:
    """Fit the additive speed model of `runtime`, then refit without each source group and
    predict it (leave one source group out): both errors per group."""
    base = tables.runtimes[runtime]
    samples = speed_samples(runtime, catalog, tables, devices)
    fitted, score = coordinate_fit(prior(base), samples, SPEED_GRIDS[runtime])
    print(f"{runtime}: group-weighted mean |log error| {group_score(base, samples):.3f} -> "
          f"{score:.3f}")
    for name, key, _ in SPEED_GRIDS[runtime]:
        value = getattr(fitted, name)
        print(f"  {name}{'.' + key if key else ''} = {value.get(key) if key else value}")
    groups = sorted({g for g, _, _ in samples})
    ratios: list[float] = []  # measured / predicted, out of sample
    for group in groups:
        held = [x for x in samples if x[0] == group]
        inside = ratio_errors((m, p(fitted)) for _, m, p in held)
        line = f"  {group}: {len(held)} rows, in sample median {statistics.median(inside):.2f}x"
        if len(groups) > 1:
            train = [x for x in samples if x[0] != group]
            refit, _ = coordinate_fit(prior(base), train, SPEED_GRIDS[runtime])
            outside = ratio_errors((m, p(refit)) for _, m, p in held)
            ratios += [m / p(refit) for _, m, p in held if p(refit)]
            line += (f", out of sample median {statistics.median(outside):.2f}x, "
                     f"{share_within(outside, 1.5):.0%} within 1.5x")
        print(line)
    if ratios:
        ordered = sorted(ratios)
        lo, hi = (ordered[int(q * (len(ordered) - 1))] for q in (0.1, 0.9))
        print(f"  decode_range = {{ default = [{lo:.2f}, {hi:.2f}] }} (out-of-sample P10-P90)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog", type=Path)
    parser.add_argument("--speed", nargs="*", metavar="RUNTIME",
                        help="fit the additive speed model of these runtimes (sglang, "
                             "transformers, mlx) and print their out-of-sample errors")
    parser.add_argument("--published-only", action="store_true",
                        help="skip the slow grid search on Qwen's official table")
    args = parser.parse_args()
    catalog, tables, devices = load_catalog(args.catalog), load_tables(), load_devices()
    if args.speed is not None:
        for runtime in args.speed or sorted(SPEED_GRIDS):
            fit_speed(runtime, catalog, tables, devices)
        return
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
