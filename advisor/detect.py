"""What this machine is: probing (psutil, NVML, sysctl; all optional) kept apart from the pure
mapping of a probe onto a device profile, so tests feed recorded probes to `map_probe`."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections import Counter

from advisor.hardware import (
    GIB,
    DeviceCatalog,
    DeviceProfile,
    Hardware,
    HardwareQuery,
    hardware_from,
)
from advisor.records import SCHEMA_VERSION, Record, record


@record
class GpuProbe(Record):
    """One GPU as the machine reports it."""

    name: str
    memory_bytes: int


@record
class Probe(Record):
    """Raw facts read off a machine; `unseen` says what could not be read and why."""

    system: str
    machine: str
    cpu_model: str | None = None
    cpu_cores: int | None = None
    ram_total_bytes: int | None = None
    ram_available_bytes: int | None = None
    gpus: tuple[GpuProbe, ...] = ()
    apple_chip: str | None = None
    unseen: tuple[str, ...] = ()


@record
class Detection(Record):
    """`advisor detect`: the probe, the profile it maps to, and the hardware assumed."""

    schema_version: int = SCHEMA_VERSION
    probe: Probe
    device_id: str | None
    hardware: Hardware
    notes: tuple[str, ...]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def match_gpu(name: str, devices: DeviceCatalog) -> DeviceProfile | None:
    """The GPU profile whose id words all appear in the probed name (most specific wins)."""
    words = _words(name)
    best: tuple[int, DeviceProfile] | None = None
    for device in devices.devices.values():
        if device.device_class not in ("consumer-gpu", "datacenter-gpu"):
            continue
        needed = set(device.id.split("-"))
        if needed <= words and (best is None or len(needed) > best[0]):
            best = (len(needed), device)
    return best[1] if best else None


def match_apple(chip: str, devices: DeviceCatalog) -> DeviceProfile | None:
    """'Apple M3 Max' -> the m3-max profile."""
    slug = "-".join(sorted(_words(chip) - {"apple"}, key=lambda w: (not w.startswith("m"), w)))
    return devices.devices.get(slug)


def map_probe(probe: Probe, devices: DeviceCatalog) -> Detection:
    """Pure: map probed facts to a profile and effective hardware, saying what was assumed."""
    notes = [f"could not see: {item}" for item in probe.unseen]
    if probe.gpus:
        name, count = Counter(g.name for g in probe.gpus).most_common(1)[0]
        memory = min(g.memory_bytes for g in probe.gpus if g.name == name)
        profile = match_gpu(name, devices)
        if profile:
            ram = probe.ram_total_bytes / GIB if probe.ram_total_bytes else None
            query = HardwareQuery(memory_gib=memory / GIB, gpus=count, ram_gib=ram)
            notes.append(f"detected {count}x {name} ({memory / GIB:.0f} GiB) -> profile {profile.id}")
            return Detection(probe=probe, device_id=profile.id, notes=tuple(notes),
                             hardware=hardware_from(query, profile))
        notes.append(f"GPU '{name}' has no profile; using system RAM and CPU only")
    if probe.apple_chip:
        profile = match_apple(probe.apple_chip, devices)
        if profile and probe.ram_total_bytes:
            notes.append(f"detected {probe.apple_chip} -> profile {profile.id}")
            query = HardwareQuery(memory_gib=probe.ram_total_bytes / GIB)
            return Detection(probe=probe, device_id=profile.id, notes=tuple(notes),
                             hardware=hardware_from(query, profile))
    ram_gib = (probe.ram_total_bytes or 16 * GIB) / GIB
    fallback = "laptop" if ram_gib <= 20 else "desktop"
    profile = devices.devices[fallback]
    if probe.ram_total_bytes is None:
        notes.append("total RAM unknown; assumed 16 GiB")
    notes.append(
        f"no supported GPU found: treated as a CPU machine like '{fallback}' "
        f"with {ram_gib:.0f} GiB RAM (its memory bandwidth assumed)"
    )
    hardware = hardware_from(HardwareQuery(memory_gib=ram_gib), profile)
    return Detection(probe=probe, device_id=None, notes=tuple(notes), hardware=hardware)


def probe() -> Probe:
    """Read this machine. Each optional library missing or failing is noted, never fatal."""
    unseen: list[str] = []
    total, available = _memory(unseen)
    return Probe(
        system=platform.system(),
        machine=platform.machine(),
        cpu_model=_cpu_model(),
        cpu_cores=os.cpu_count(),
        ram_total_bytes=total,
        ram_available_bytes=available,
        gpus=tuple(_nvidia_gpus(unseen)),
        apple_chip=_apple_chip(),
        unseen=tuple(unseen),
    )


def _memory(unseen: list[str]) -> tuple[int | None, int | None]:
    try:
        import psutil

        mem = psutil.virtual_memory()
        return int(mem.total), int(mem.available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
        kib = {k: int(v.split()[0]) * 1024 for k, v in info.items() if v.strip().endswith("kB")}
        return kib.get("MemTotal"), kib.get("MemAvailable")
    except OSError:
        unseen.append("RAM (install the 'detect' extra: pip install '.[detect]')")
        return None, None


def _nvidia_gpus(unseen: list[str]) -> list[GpuProbe]:
    try:
        import pynvml
    except ImportError:
        unseen.append("NVIDIA GPUs (nvidia-ml-py not installed: pip install '.[detect]')")
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver or no GPU: NVML raises its own error types
        unseen.append("NVIDIA GPUs (no NVIDIA driver or GPU)")
        return []
    try:
        found = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else name
            found.append(GpuProbe(name=name, memory_bytes=int(
                pynvml.nvmlDeviceGetMemoryInfo(handle).total)))
        return found
    finally:
        pynvml.nvmlShutdown()


def _sysctl(key: str) -> str | None:
    try:
        out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _apple_chip() -> str | None:
    if platform.system() != "Darwin":
        return None
    brand = _sysctl("machdep.cpu.brand_string")
    return brand if brand and brand.startswith("Apple") else None


def _cpu_model() -> str | None:
    if platform.system() == "Darwin":
        return _sysctl("machdep.cpu.brand_string")
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None
