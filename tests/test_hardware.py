"""Device profiles, hardware options, and the pure mapping of recorded probes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.detect import GpuProbe, Probe, map_probe, probe
from advisor.data.hardware import (
    GIB,
    GPU_CLASSES,
    HardwareQuery,
    find_device,
    hardware_from,
    load_devices,
    parse_size_gib,
)
from advisor.errors import InputError

devices = load_devices()

REQUIRED = [
    "phone", "budget-phone", "iphone", "raspberry-pi-5", "jetson-orin-nano", "jetson-agx-orin",
    "laptop", "desktop", "m1", "m1-pro", "m1-max", "m1-ultra", "m2", "m2-pro", "m2-max",
    "m2-ultra", "m3", "m3-pro", "m3-max", "m4", "m4-pro", "m4-max", "rtx-3060", "rtx-4060",
    "rtx-4070", "rtx-3090", "rtx-4090", "rtx-5090", "rx-7900-xtx", "ryzen-ai-max-395",
    "dgx-spark", "t4", "l4", "a10g", "l40s", "a100-40gb", "a100-80gb", "h100", "h200", "h20",
    "b200", "mi300x",
]


@pytest.mark.parametrize("device_id", REQUIRED)
def test_required_profiles_exist(device_id: str) -> None:
    device, _ = find_device(device_id)
    assert device.sources


@pytest.mark.parametrize("alias", ["phone", "laptop", "desktop", "mac", "gpu", "server", "edge"])
def test_class_aliases_say_what_was_assumed(alias: str) -> None:
    hw = hardware_from(HardwareQuery(device=alias))
    if alias not in devices.devices:
        assert hw.assumptions[0].startswith(f"assumed {alias} = ")


@pytest.mark.parametrize(("text", "gib"), [("16", 16), ("16GB", 16), ("16GiB", 16), ("16g", 16),
                                           ("0.5", 0.5), ("512MB", 0.5), ("1TB", 1024)])
def test_sizes_parse(text: str, gib: float) -> None:
    assert parse_size_gib(text, "--memory-gb") == gib


@pytest.mark.parametrize("text", ["", "-4", "0", "nan", "inf", "16 parsecs", "1e999", "GB"])
def test_nonsense_sizes_are_rejected(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_size_gib(text, "--memory-gb")
    assert err.value.exit_code == 2
    assert "--memory-gb" in str(err.value)


def test_memory_override_and_multi_gpu() -> None:
    hw = hardware_from(HardwareQuery(device="h100", gpus=8))
    one = hardware_from(HardwareQuery(device="h100"))
    assert hw.memory_bytes == 8 * one.memory_bytes
    mac = hardware_from(HardwareQuery(device="m4-max", memory_gib=128))
    assert mac.memory_bytes == 128 * GIB
    assert mac.name.endswith("with 128 GiB")  # the title says what the answer is for


def test_multi_gpu_needs_a_gpu() -> None:
    with pytest.raises(InputError):
        hardware_from(HardwareQuery(device="laptop", gpus=2))


def test_unknown_device_suggests() -> None:
    result = CliRunner().invoke(app, ["estimate", "qwen3-8b", "--device", "rtx-4900"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: unknown device 'rtx-4900'; did you mean 'rtx-4090'?"


RTX_4090_BOX = Probe(system="Linux", machine="x86_64", cpu_model="AMD Ryzen 9 7950X",
                     cpu_cores=32, ram_total_bytes=64 * GIB, ram_available_bytes=50 * GIB,
                     gpus=(GpuProbe(name="NVIDIA GeForce RTX 4090", memory_bytes=24564 * 2**20),))
M3_MAX = Probe(system="Darwin", machine="arm64", cpu_model="Apple M3 Max", cpu_cores=16,
               ram_total_bytes=64 * GIB, ram_available_bytes=40 * GIB, apple_chip="Apple M3 Max",
               unseen=("NVIDIA GPUs (nvidia-ml-py not installed)",))
H100_NODE = Probe(system="Linux", machine="x86_64", cpu_model="Intel Xeon Platinum 8480+",
                  cpu_cores=224, ram_total_bytes=2048 * GIB, ram_available_bytes=1900 * GIB,
                  gpus=tuple(GpuProbe(name="NVIDIA H100 80GB HBM3", memory_bytes=81559 * 2**20)
                             for _ in range(8)))
GPU_LESS_LAPTOP = Probe(system="Linux", machine="x86_64", cpu_model="Intel Core i7-1360P",
                        cpu_cores=16, ram_total_bytes=16 * GIB, ram_available_bytes=9 * GIB,
                        unseen=("NVIDIA GPUs (no NVIDIA driver or GPU)",))


def test_4090_box_maps_to_the_4090_profile() -> None:
    d = map_probe(RTX_4090_BOX, devices)
    assert d.device_id == "rtx-4090"
    assert d.hardware.gpus == 1
    assert d.hardware.host_ram_bytes == 64 * GIB


def test_m3_max_maps_with_its_memory() -> None:
    d = map_probe(M3_MAX, devices)
    assert d.device_id == "m3-max"
    assert d.hardware.memory_bytes == 64 * GIB
    assert any("nvidia-ml-py" in n for n in d.notes)


def test_h100_node_is_eight_gpus() -> None:
    d = map_probe(H100_NODE, devices)
    assert d.device_id == "h100"
    assert d.hardware.gpus == 8
    assert d.hardware.memory_bytes == 8 * 81559 * 2**20


def test_gpu_less_laptop_answers_with_ram_and_says_what_it_assumed() -> None:
    d = map_probe(GPU_LESS_LAPTOP, devices)
    assert d.device_id is None
    assert d.hardware.memory_bytes == 16 * GIB
    assert any("no supported GPU" in n for n in d.notes)


def test_detect_runs_on_this_machine() -> None:
    p = probe()
    assert p.cpu_cores and p.cpu_cores > 0
    result = CliRunner().invoke(app, ["detect", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["hardware"]["memory_bytes"] > 0


def test_devices_command_filters_by_class() -> None:
    result = CliRunner().invoke(app, ["devices", "--class", "datacenter-gpu", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["devices"] and all(d["class"] == "datacenter-gpu" for d in doc["devices"])


@pytest.mark.parametrize(("gib", "tflops", "assumed"), [(8, None, "laptop"), (32, None, "desktop"),
                                                        (24, 80.0, None)])
def test_memory_alone_assumes_a_generic_device_and_says_so(gib: float, tflops: float | None,
                                                          assumed: str | None) -> None:
    hw = hardware_from(HardwareQuery(memory_gib=gib, tflops=tflops))
    assert hw.memory_bytes == gib * GIB
    low, high = hw.bandwidth_range_gb_s or (0, 0)
    assert low < hw.bandwidth_gb_s < high  # a real range around the assumed bandwidth
    if assumed:
        assert hw.bandwidth_gb_s == devices.devices[assumed].bandwidth_gb_s
        assert hw.device_class == devices.devices[assumed].device_class
    else:
        assert hw.device_class == "consumer-gpu"
        gpus = [d for d in devices.devices.values() if d.device_class in GPU_CLASSES]
        assert low >= min(d.bandwidth_gb_s for d in gpus)
    said = hw.notes[0]
    assert f"{hw.bandwidth_gb_s:g} GB/s" in said and f"{low:g} to {high:g} GB/s" in said
    assert hw.device_class in said


def test_recommend_with_memory_alone() -> None:
    result = CliRunner().invoke(app, ["recommend", "--memory-gb", "8", "--private", "--json"])
    assert result.exit_code == 0, result.stderr
    assert "only --memory-gb given: assumed" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["device"]["bandwidth_range_gb_s"][0] < doc["device"]["bandwidth_gb_s"]
