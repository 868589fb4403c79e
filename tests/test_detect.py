"""Detection: the tools' recorded outputs parse, map onto the right profiles, and the probe
falls back to the command-line tools when the libraries are missing."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data import detect
from advisor.data.detect import (
    Probe,
    map_probe,
    parse_amd_smi,
    parse_nvidia_smi,
    parse_rocm_smi,
    parse_sysctl,
)
from advisor.data.hardware import GIB, load_devices

PROBES = Path(__file__).parent / "data" / "probes"
devices = load_devices()
PARSERS = {"nvidia-smi": parse_nvidia_smi, "amd-smi": parse_amd_smi, "rocm-smi": parse_rocm_smi}


def box(fixture: str, ram_gib: float = 64) -> Probe:
    parse = PARSERS[next(k for k in PARSERS if fixture.startswith(k))]
    gpus = parse((PROBES / fixture).read_text())
    assert gpus, f"{fixture}: no GPU parsed"
    return Probe(system="Linux", machine="x86_64", cpu_cores=16,
                 ram_total_bytes=int(ram_gib * GIB), gpus=tuple(gpus))


@pytest.mark.parametrize(("fixture", "device_id", "gpus", "memory_gib"), [
    ("nvidia-smi-rtx-4090.csv", "rtx-4090", 1, 24564 / 1024),
    ("nvidia-smi-8x-h100.csv", "h100", 8, 8 * 81559 / 1024),
    ("nvidia-smi-gb10.csv", "dgx-spark", 1, 128),         # unified: the system RAM
    ("amd-smi-mi300x.json", "mi300x", 2, 2 * 196592 / 1024),
    ("amd-smi-rx-7900-xtx.json", "rx-7900-xtx", 1, 24560 / 1024),
    ("rocm-smi-rx-7900-xtx.json", "rx-7900-xtx", 1, 25753026560 / GIB),
    ("rocm-smi-strix-halo.json", "ryzen-ai-max-395", 1, 128),  # not the 512 MiB carve-out
])
def test_recorded_tool_outputs_map_to_profiles(fixture: str, device_id: str, gpus: int,
                                                memory_gib: float) -> None:
    d = map_probe(box(fixture, ram_gib=128), devices)
    assert d.device_id == device_id
    assert d.hardware.gpus == gpus
    assert d.hardware.memory_bytes == pytest.approx(memory_gib * GIB, rel=1e-6)


def test_sysctl_output_maps_an_apple_chip() -> None:
    facts = parse_sysctl((PROBES / "sysctl-m3-max.txt").read_text())
    p = Probe(system="Darwin", machine="arm64", cpu_model=facts["machdep.cpu.brand_string"],
              cpu_cores=int(facts["hw.ncpu"]), ram_total_bytes=int(facts["hw.memsize"]),
              apple_chip=facts["machdep.cpu.brand_string"])
    d = map_probe(p, devices)
    assert d.device_id == "m3-max"
    assert d.hardware.memory_bytes == 64 * GIB


@pytest.mark.parametrize("text", ["", "garbage", "{", "[1, 2]", '{"gpu_data": 3}', "null",
                                  '[{"asic": {"market_name": "X"}, "vram": {"size": "n/a"}}]'])
def test_parsers_survive_junk(text: str) -> None:
    for parse in PARSERS.values():
        assert isinstance(parse(text), list)


def fake_tool(directory: Path, name: str, fixture: str) -> None:
    script = directory / name
    cat = shutil.which("cat")
    script.write_text(f"#!/bin/sh\nexec '{cat}' '{PROBES / fixture}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-ins")
def test_probe_falls_back_to_nvidia_smi_without_nvml(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    fake_tool(tmp_path, "nvidia-smi", "nvidia-smi-rtx-4090.csv")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    p = detect.probe()
    assert [g.name for g in p.gpus] == ["NVIDIA GeForce RTX 4090"]
    assert map_probe(p, devices).device_id == "rtx-4090"


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-ins")
def test_probe_reads_amd_gpus_through_rocm_smi(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    fake_tool(tmp_path, "rocm-smi", "rocm-smi-rx-7900-xtx.json")
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi, no amd-smi
    p = detect.probe()
    assert map_probe(p, devices).device_id == "rx-7900-xtx"
    assert any("NVIDIA" in u for u in p.unseen)


def test_detect_table_prints_notes_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Notes with square brackets reach the terminal as written (Rich markup not applied)."""
    p = Probe(system="Linux", machine="x86_64", ram_total_bytes=16 * GIB,
              unseen=("NVIDIA GPUs (pip install '.[detect]')",))
    monkeypatch.setattr(detect, "probe", lambda: p)
    result = CliRunner().invoke(app, ["detect"])
    assert result.exit_code == 0, result.output
    assert "pip install '.[detect]'" in result.stdout
