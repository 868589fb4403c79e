"""What this machine is: probing (psutil, NVML, then the `nvidia-smi`, `amd-smi`/`rocm-smi` and
`sysctl` command lines) kept apart from the pure mapping of a probe onto a device profile, and
from the pure parsers of those tools' output, so tests feed recorded outputs and probes."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from collections import Counter

from advisor.data.hardware import (
    GIB,
    DeviceCatalog,
    DeviceProfile,
    Hardware,
    HardwareQuery,
    hardware_from,
)
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.i18n import msg


@record
class GpuProbe(Record):
    """One GPU as the machine reports it."""

    name: str
    memory_bytes: int
    """0 when the tool could not say (unified-memory boards)."""


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
    """The GPU profile whose id words (or one of its `probe_names`' words) all appear in the
    probed name; the most specific match wins."""
    words = _words(name)
    best: tuple[int, DeviceProfile] | None = None
    for device in devices.devices.values():
        wanted = [_words(n) for n in device.probe_names]
        if device.device_class in ("consumer-gpu", "datacenter-gpu"):
            wanted.append(set(device.id.split("-")))
        for needed in wanted:
            if needed and needed <= words and (best is None or len(needed) > best[0]):
                best = (len(needed), device)
    return best[1] if best else None


def match_apple(chip: str, devices: DeviceCatalog) -> DeviceProfile | None:
    """'Apple M3 Max' -> the m3-max profile."""
    slug = "-".join(sorted(_words(chip) - {"apple"}, key=lambda w: (not w.startswith("m"), w)))
    return devices.devices.get(slug)


def map_probe(probe: Probe, devices: DeviceCatalog) -> Detection:
    """Pure: map probed facts to a profile and effective hardware, saying what was assumed."""
    notes = [msg("could not see: {item}", item=item) for item in probe.unseen]
    if probe.gpus:
        name, count = Counter(g.name for g in probe.gpus).most_common(1)[0]
        memory = min(g.memory_bytes for g in probe.gpus if g.name == name)
        profile = match_gpu(name, devices)
        if profile and profile.unified_memory:  # an iGPU or GB10: its memory is the system RAM
            count, memory = 1, probe.ram_total_bytes or int(profile.memory_gib * GIB)
        if profile and memory <= 0:  # the tool did not say (e.g. "[N/A]"): the profile's size
            memory = int(profile.memory_gib * GIB)
        if profile:
            ram = probe.ram_total_bytes / GIB if probe.ram_total_bytes else None
            query = HardwareQuery(memory_gib=memory / GIB, gpus=count, ram_gib=ram)
            notes.append(msg("detected {count}x {name} ({memory:.0f} GiB) -> profile {device}",
                             count=count, name=name, memory=memory / GIB, device=profile.id))
            return Detection(probe=probe, device_id=profile.id, notes=tuple(notes),
                             hardware=hardware_from(query, profile))
        notes.append(msg("GPU '{name}' has no profile; using system RAM and CPU only",
                         name=name))
    if probe.apple_chip:
        profile = match_apple(probe.apple_chip, devices)
        if profile and probe.ram_total_bytes:
            notes.append(msg("detected {chip} -> profile {device}", chip=probe.apple_chip,
                             device=profile.id))
            query = HardwareQuery(memory_gib=probe.ram_total_bytes / GIB)
            return Detection(probe=probe, device_id=profile.id, notes=tuple(notes),
                             hardware=hardware_from(query, profile))
    ram_gib = (probe.ram_total_bytes or 16 * GIB) / GIB
    fallback = "laptop" if ram_gib <= 20 else "desktop"
    profile = devices.devices[fallback]
    if probe.ram_total_bytes is None:
        notes.append(msg("total RAM unknown; assumed 16 GiB"))
    notes.append(msg(
        "no supported GPU found: treated as a CPU machine like '{device}' with {ram:.0f} GiB RAM "
        "(its memory bandwidth assumed)", device=fallback, ram=ram_gib))
    hardware = hardware_from(HardwareQuery(memory_gib=ram_gib), profile)
    return Detection(probe=probe, device_id=None, notes=tuple(notes), hardware=hardware)


def probe() -> Probe:
    """Read this machine. Each library or tool missing or failing is noted, never fatal."""
    unseen: list[str] = []
    total, available = _memory(unseen)
    gpus = _nvidia_gpus(unseen) + _amd_gpus(unseen)
    return Probe(
        system=platform.system(),
        machine=platform.machine(),
        cpu_model=_cpu_model(),
        cpu_cores=os.cpu_count(),
        ram_total_bytes=total,
        ram_available_bytes=available,
        gpus=tuple(gpus),
        apple_chip=_apple_chip(),
        unseen=tuple(unseen),
    )


MIB = 1024**2
_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": MIB, "mib": MIB, "gb": GIB, "gib": GIB}


def parse_nvidia_smi(text: str) -> list[GpuProbe]:
    """`nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` (MiB) -> GPUs."""
    found = []
    for line in text.splitlines():
        name, sep, mib = line.rpartition(",")
        try:
            size = max(float(mib.strip()), 0.0)
        except ValueError:  # "[N/A]" or "[Not Supported]" on unified-memory boards: unknown
            size = 0.0
        if sep and name.strip():
            found.append(GpuProbe(name=name.strip(), memory_bytes=int(size * MIB)))
    return found


def _amd_size(size: object) -> int | None:
    """amd-smi's {"value": 196592, "unit": "MB"} (its MB are MiB) -> bytes."""
    if isinstance(size, dict):
        value, unit = size.get("value"), str(size.get("unit", "MB")).lower()
    else:
        value, unit = size, "mb"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(number * _UNITS[unit]) if unit in _UNITS and number > 0 else None


def parse_amd_smi(text: str) -> list[GpuProbe]:
    """`amd-smi static --asic --vram --json` (a list, or {"gpu_data": [...]}) -> GPUs."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if isinstance(data, dict):
        data = data.get("gpu_data", [])
    found = []
    for gpu in data if isinstance(data, list) else []:
        if not isinstance(gpu, dict):
            continue
        asic, vram = gpu.get("asic") or {}, gpu.get("vram") or {}
        name = asic.get("market_name") if isinstance(asic, dict) else None
        size = (_amd_size(vram.get("size") or vram.get("vram_size"))
                if isinstance(vram, dict) else None)
        if isinstance(name, str) and name.strip() and size:
            found.append(GpuProbe(name=name.strip(), memory_bytes=size))
    return found


def parse_rocm_smi(text: str) -> list[GpuProbe]:
    """`rocm-smi --showproductname --showmeminfo vram --json` -> GPUs (cards keyed card0, ...)."""
    start = text.find("{")  # older releases print warnings before the JSON
    try:
        data = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        return []
    found = []
    for key, card in sorted(data.items()) if isinstance(data, dict) else []:
        if not key.startswith("card") or not isinstance(card, dict):
            continue
        fields = {k.lower(): v for k, v in card.items()}
        name = fields.get("card series") or fields.get("card sku")
        try:
            size = int(fields.get("vram total memory (b)", 0))
        except (TypeError, ValueError):
            size = 0
        if isinstance(name, str) and name.strip() and size > 0:
            found.append(GpuProbe(name=name.strip(), memory_bytes=size))
    return found


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl hw.memsize hw.ncpu machdep.cpu.brand_string` ("key: value" lines) -> a dict."""
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """`/proc/meminfo` -> (MemTotal, MemAvailable) in bytes; a line that does not read as a
    positive count of kB gives None for its value (so "RAM unknown" is said, not assumed)."""
    values: dict[str, int | None] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        words = rest.split()
        if key.strip() in ("MemTotal", "MemAvailable"):
            ok = (len(words) == 2 and words[0].isdigit() and words[1] == "kB"
                  and 0 < int(words[0]) < 2**40)  # up to a PiB
            values[key.strip()] = int(words[0]) * 1024 if ok else None
    return values.get("MemTotal"), values.get("MemAvailable")


def _tool(argv: list[str]) -> str | None:
    """A tool's stdout, or None when it is not installed, fails or hangs."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired, UnicodeDecodeError):
        return None
    return out.stdout if out.returncode == 0 else None


def _memory(unseen: list[str]) -> tuple[int | None, int | None]:
    try:
        import psutil

        mem = psutil.virtual_memory()
        if mem.total > 0:
            return int(mem.total), int(mem.available) or None
    except Exception:  # not installed, or it could not read a damaged /proc/meminfo
        pass
    try:
        with open("/proc/meminfo", "rb") as f:
            total, available = parse_meminfo(f.read().decode("ascii", "replace"))
        if total is not None:
            return total, available
    except OSError:
        pass
    size = parse_sysctl(_tool(["sysctl", "hw.memsize"]) or "").get("hw.memsize", "")
    if size.isdigit():
        return int(size), None
    unseen.append("RAM (neither psutil, /proc/meminfo nor sysctl hw.memsize answered)")
    return None, None


def _nvidia_gpus(unseen: list[str]) -> list[GpuProbe]:
    """NVML first; `nvidia-smi` when nvidia-ml-py is missing or cannot load the driver."""
    why = "no NVIDIA driver or GPU"
    try:
        import pynvml
    except ImportError:
        why = "nvidia-ml-py is not installed and nvidia-smi did not answer"
    else:
        try:
            pynvml.nvmlInit()
        except Exception:  # no driver or no GPU: NVML raises its own error types
            pass
        else:
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
    text = _tool(["nvidia-smi", "--query-gpu=name,memory.total",
                  "--format=csv,noheader,nounits"])
    if text is not None:
        return parse_nvidia_smi(text)
    if platform.system() != "Darwin":  # a Mac has no NVIDIA GPU to miss
        unseen.append(f"NVIDIA GPUs ({why})")
    return []


def _amd_gpus(unseen: list[str]) -> list[GpuProbe]:
    """AMD GPUs through `amd-smi` (ROCm 6+), else `rocm-smi`; silent when neither exists."""
    text = _tool(["amd-smi", "static", "--asic", "--vram", "--json"])
    if text is not None:
        return parse_amd_smi(text)
    text = _tool(["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--json"])
    if text is not None:
        return parse_rocm_smi(text)
    return []


def _sysctl(key: str) -> str | None:
    return parse_sysctl(_tool(["sysctl", key]) or "").get(key) or None


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
