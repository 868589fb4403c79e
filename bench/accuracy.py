"""Print the estimator's errors against published measurements (README, "Accuracy").

The runtime efficiencies in catalog/runtimes.toml were fitted on these same rows
(bench/calibrate.py), so these are in-sample errors of a model with few parameters per runtime.
Run: python bench/accuracy.py
"""

from __future__ import annotations

import statistics
from pathlib import Path

from advisor.accuracy import (
    load_rows,
    official_prediction,
    published_prediction,
    ratio_errors,
    relative_errors,
    share_within,
)
from advisor.formats import load_tables
from advisor.hardware import load_devices
from advisor.loader import load_catalog

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def line(what: str, errors: list[float], ratio: bool) -> str:
    ordered = sorted(errors)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    if ratio:
        return (f"| {what} | {len(errors)} | {statistics.median(errors):.2f}x | {p90:.2f}x | "
                f"{share_within(errors, 1.5):.0%} within 1.5x |")
    return (f"| {what} | {len(errors)} | {statistics.median(errors):.1%} | {p90:.1%} | "
            f"{share_within([1 + e for e in errors], 1.10):.0%} within 10% |")


def main() -> None:
    catalog, tables, devices = load_catalog(), load_tables(), load_devices()
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
