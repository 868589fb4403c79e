"""Print the speed figures README reports, as medians of repeated runs.

- engine: `recommend` over the packaged catalog, in process (catalog already loaded);
- cold start: `advisor --help` and `advisor recommend --device phone --private` as subprocesses.
Run: python bench/bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from advisor.formats import load_tables
    from advisor.hardware import HardwareQuery, hardware_from
    from advisor.loader import load_catalog
    from advisor.recommend import recommend
    from advisor.rules import Constraints, load_scoring

    catalog, tables, scoring = load_catalog(), load_tables(), load_scoring()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    for device in ("phone", "rtx-4090", "h100"):
        hw = hardware_from(HardwareQuery(device=device))
        ms = median_ms(lambda hw=hw: recommend(catalog, hw, tables, Constraints(private=True),
                                               scoring), args.runs)
        print(f"engine, recommend on {device} ({len(catalog.models)} models): {ms:.1f} ms median")
    exe = shutil.which("advisor", path=str(Path(sys.executable).parent)) or "advisor"
    for argv in ([exe, "--help"], [exe, "recommend", "--device", "phone", "--private"]):
        ms = median_ms(lambda argv=argv: subprocess.run(argv, capture_output=True, check=True),
                       args.runs)
        print(f"cold start, {' '.join(['advisor', *argv[1:]])}: {ms:.0f} ms median")


if __name__ == "__main__":
    main()
