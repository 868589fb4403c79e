"""Print the estimator's errors against published measurements (README, "Accuracy").

First the headline: leave-one-source-group-out (each publication predicted by efficiencies
refitted without it) beside the in-sample error, per runtime and device class; then the
in-sample errors on Qwen's official table (one source group, so it has no out-of-sample figure).
Run: python bench/accuracy.py
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

from advisor.data.formats import load_tables
from advisor.data.hardware import load_devices
from advisor.data.loader import load_catalog
from advisor.estimation.accuracy import (
    load_rows,
    log_errors,
    official_prediction,
    prefill_log_errors,
    published_prediction,
    quantile,
    ratio_errors,
    relative_errors,
    share_within,
    source_group,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def line(what: str, errors: list[float], ratio: bool) -> str:
    ordered = sorted(errors)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    if ratio:
        return (f"| {what} | {len(errors)} | {statistics.median(errors):.2f}x | {p90:.2f}x | "
                f"{share_within(errors, 1.5):.0%} within 1.5x |")
    return (f"| {what} | {len(errors)} | {statistics.median(errors):.1%} | {p90:.1%} | "
            f"{share_within([1 + e for e in errors], 1.10):.0%} within 10% |")


def ratio(errors: list[float]) -> str:
    factors = sorted(math.exp(abs(e)) for e in errors)
    return (f"{statistics.median(factors):.2f}x / {quantile(factors, 0.9):.2f}x / "
            f"{share_within(factors, 1.5):.0%}")


def out_of_sample_table(tables, devices) -> None:
    rows = load_rows(DATA / "published_decode.json")
    inside = {id(r): e for r, e in log_errors(rows, tables, devices, out_of_sample=False)}
    outside = log_errors(rows, tables, devices, out_of_sample=True)
    cells: dict[tuple[str, str], list[tuple[dict, float]]] = {}
    for r, e in outside:
        cls = devices.devices[r["device_id"]].device_class
        cells.setdefault((r["runtime"], cls), []).append((r, e))
        cells.setdefault((r["runtime"], "all"), []).append((r, e))
    print("| decode, runtime / device class | rows | source groups | out of sample: median / "
          "P90 / within 1.5x | in sample: median / P90 / within 1.5x |")
    print("| --- | --- | --- | --- | --- |")
    groups_of = {rt: {source_group(r) for r, _ in outside if r["runtime"] == rt}
                 for rt, _ in cells}
    for (runtime, cls), pairs in sorted(cells.items()):
        groups = len({source_group(r) for r, _ in pairs})
        oos = (ratio([e for _, e in pairs]) if len(groups_of[runtime]) > 1
               else "- (one source group)")
        print(f"| {runtime} / {cls} | {len(pairs)} | {groups} | {oos} | "
              f"{ratio([inside[id(r)] for r, _ in pairs])} |")
    print()


def factors_cell(factors: list[float]) -> str:
    ordered = sorted(factors)
    return (f"{statistics.median(ordered):.2f}x / {quantile(ordered, 0.9):.2f}x / "
            f"{share_within(ordered, 1.5):.0%}")


def additive_table(catalog, tables, devices, refit: bool = True) -> None:
    """SGLang, Transformers and MLX: the additive speed model on every source group (Qwen's
    Qwen2.5 A100 and Qwen3 H20 tables, mlx-lm's and LM Studio's M4 Max tables); out of sample:
    refitted without the group (bench/calibrate.py's coordinate fit), in sample: the catalog's."""
    from calibrate import SPEED_GRIDS, coordinate_fit, prior, speed_samples

    print("| speed, runtime / source group | rows | out of sample: median / P90 / within 1.5x | "
          "in sample: median / P90 / within 1.5x |")
    print("| --- | --- | --- | --- |")
    for runtime in sorted(SPEED_GRIDS):
        samples = speed_samples(runtime, catalog, tables, devices)
        groups = sorted({g for g, _, _ in samples})
        spec = tables.runtimes[runtime]
        for group in groups:
            held = [x for x in samples if x[0] == group]
            inside = ratio_errors((m, p(spec)) for _, m, p in held)
            oos = "- (one source group)"
            if len(groups) > 1 and refit:
                train = [x for x in samples if x[0] != group]
                fitted, _ = coordinate_fit(prior(spec), train, SPEED_GRIDS[runtime])
                oos = factors_cell(ratio_errors((m, p(fitted)) for _, m, p in held))
            print(f"| {runtime} / {group} | {len(held)} | {oos} | {factors_cell(inside)} |")
    print()


def prefill_table(tables, devices) -> None:
    rows = load_rows(DATA / "published_decode.json")
    inside = {id(r): e for r, e in prefill_log_errors(rows, tables, devices, False)}
    cells: dict[tuple[str, str], list[tuple[dict, float]]] = {}
    for r, e in prefill_log_errors(rows, tables, devices, True):
        cells.setdefault((r["runtime"], devices.devices[r["device_id"]].device_class),
                         []).append((r, e))
    print("| prefill (pp512), runtime / device class | rows | source groups | out of sample: "
          "median / P90 / within 1.5x | in sample: median / P90 / within 1.5x |")
    print("| --- | --- | --- | --- | --- |")
    for (runtime, cls), pairs in sorted(cells.items()):
        groups = len({source_group(r) for r, _ in pairs})
        print(f"| {runtime} / {cls} | {len(pairs)} | {groups} | {ratio([e for _, e in pairs])} | "
              f"{ratio([inside[id(r)] for r, _ in pairs])} |")
    print()


def main() -> None:
    catalog, tables, devices = load_catalog(), load_tables(), load_devices()
    out_of_sample_table(tables, devices)
    prefill_table(tables, devices)
    additive_table(catalog, tables, devices, refit="--in-sample-only" not in sys.argv)
    official = load_rows(DATA / "qwen25_speed_benchmark.json")
    print("| what | rows | median error | 90th percentile | share |")
    print("| --- | --- | --- | --- | --- |")
    hf = [r for r in official if r["framework"] == "Transformers"]
    print(line("peak memory, Transformers, Qwen2.5 0.5B-72B, A100 (Qwen's table)", relative_errors(
        (r["memory_gb"], official_prediction(r, catalog, tables, devices)[0]) for r in hf), False))
    for framework in ("vLLM", "Transformers"):
        rows = [r for r in official if r["framework"] == framework]
        print(line(f"tokens/s, {framework}, Qwen2.5 0.5B-72B, A100 (Qwen's table)", ratio_errors(
            (r["tokens_per_s"], official_prediction(r, catalog, tables, devices)[1])
            for r in rows), True))
    published = load_rows(DATA / "published_decode.json")
    for runtime in sorted({r["runtime"] for r in published}):
        rows = [r for r in published if r["runtime"] == runtime]
        errors = ratio_errors((r["decode_tokens_per_s"], published_prediction(r, tables, devices))
                              for r in rows)
        print(line(f"decode tokens/s, {runtime}, published batch-1 rows", errors, True))


if __name__ == "__main__":
    main()
