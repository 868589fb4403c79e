"""Print the speed figures README reports, as medians of repeated runs.

- engine: `recommend` over the packaged catalog, in process (catalog already loaded);
- cold start, as subprocesses: `advisor --help` (from the help cache, and with the cache off),
  `advisor recommend --device phone --private` as a table and with `--json`;
- scale: `advisor --catalog SYNTHETIC recommend --device h100 --json` on a synthetic catalog of
  10,000 models (the packaged entries repeated under new ids), wall time and peak RSS.
Run: python bench/bench.py [--runs N] [--models N]
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[1] / "catalog" / "qwen_models.toml"


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def synthetic_catalog(models: int, path: Path) -> None:
    """Write `models` entries: the packaged ones repeated, each copy under a new id and repo."""
    header, *blocks = re.split(r"(?m)^(?=\[\[models\]\]$)", CATALOG.read_text())
    out = [header]
    for n in range(models):
        block = blocks[n % len(blocks)]
        block = re.sub(r'(?m)^id = "([^"]+)"', rf'id = "\1-syn{n}"', block, count=1)
        block = re.sub(r'(?m)^hf_repo = "([^"]+)"', rf'hf_repo = "\1-syn{n}"', block, count=1)
        out.append(re.sub(r"(?m)^supersedes = .*\n", "", block))  # one repo per model, no lineage
    path.write_text("".join(out))


def peak_run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MB of one subprocess (run alone, so the peak is its own)."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "subprocess.run(sys.argv[1:], capture_output=True, check=True); "
            "print(time.perf_counter() - t, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--models", type=int, default=10_000)
    args = parser.parse_args()
    from advisor.data.formats import load_tables
    from advisor.data.hardware import HardwareQuery, hardware_from
    from advisor.data.loader import load_catalog
    from advisor.ranking.recommend import recommend
    from advisor.ranking.rules import Constraints, load_scoring

    catalog, tables, scoring = load_catalog(), load_tables(), load_scoring()
    machine = platform.processor() or platform.machine()
    import datetime as dt

    print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {machine}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    for device in ("phone", "rtx-4090", "h100"):
        hw = hardware_from(HardwareQuery(device=device))
        ms = median_ms(lambda hw=hw: recommend(catalog, hw, tables, Constraints(private=True),
                                               scoring), args.runs)
        print(f"engine, recommend on {device} ({len(catalog.models)} models): {ms:.1f} ms median")
    # Bytecode as pip leaves it after an install: without it (PYTHONDONTWRITEBYTECODE, an edited
    # tree) every start would compile the package's source, which no installed copy does.
    import advisor

    compileall.compile_dir(Path(advisor.__file__).parent, quiet=1)
    exe = shutil.which("advisor", path=str(Path(sys.executable).parent)) or "advisor"
    phone = [exe, "recommend", "--device", "phone", "--private"]
    starts = {
        "interpreter start, python -c pass (the floor)": [sys.executable, "-c", "pass"],
        "cold start, advisor --help (the text kept by advisor.commandline.helpcache)":
            [exe, "--help"],
        "cold start, advisor --help with ADVISOR_NO_CACHE=1 (Typer builds it)": [exe, "--help"],
        "cold start, advisor recommend --device phone --private (table)": phone,
        "cold start, advisor recommend --device phone --private --json": [*phone, "--json"],
    }
    no_cache = {**os.environ, "ADVISOR_NO_CACHE": "1"}
    envs = {name: no_cache if "NO_CACHE" in name else None for name in starts}
    for name, argv in starts.items():  # warm-up: bytecode and the caches in place
        subprocess.run(argv, capture_output=True, check=True, env=envs[name])
    times: dict[str, list[float]] = {name: [] for name in starts}
    for _ in range(args.runs):  # interleaved, so a noisy spell hits every command alike
        for name, argv in starts.items():
            times[name].append(median_ms(lambda argv=argv, env=envs[name]: subprocess.run(
                argv, capture_output=True, check=True, env=env), 1))
    for name, ms in times.items():
        print(f"{name}: {statistics.median(ms):.0f} ms median")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.toml"
        synthetic_catalog(args.models, path)
        os.environ["ADVISOR_CACHE_DIR"] = str(Path(tmp) / "cache")  # a cold cache of its own
        argv = [exe, "--catalog", str(path), "recommend", "--device", "h100", "--json"]
        first = peak_run(argv)
        runs = [peak_run(argv) for _ in range(5)]
        print(f"scale, recommend over {args.models:,} models: first run (parses, validates and "
              f"caches the catalog) {first[0]:.2f} s, {first[1]:.0f} MB peak RSS; then "
              f"{statistics.median(r[0] for r in runs):.2f} s median, "
              f"{max(r[1] for r in runs):.0f} MB peak RSS")


if __name__ == "__main__":
    main()
