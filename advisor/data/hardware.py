"""Device profiles (catalog/devices.toml) and the effective hardware a command runs against.

Pure mapping lives here; probing the machine lives in `advisor.data.detect`.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from advisor.data import cache
from advisor.data.loader import (
    checked,
    display_name,
    packaged_path,
    read_toml,
    resolve,
    validate_records,
)
from advisor.data.records import FORBID_EXTRA, Check, Fraction, PositiveFloat, Record, Slug, record
from advisor.errors import CatalogError, InputError
from advisor.i18n import msg

DeviceClass = Literal[
    "phone", "edge", "laptop", "desktop", "apple-silicon", "consumer-gpu", "datacenter-gpu", "car"
]
Runtime = Literal[
    "llama.cpp", "ollama", "lm-studio", "mlx", "mnn", "mlc", "executorch", "vllm", "sglang",
    "tensorrt-llm", "transformers",
]
DEVICES_FILE = "devices.toml"
GIB = 1024**3
GPU_CLASSES = ("consumer-gpu", "datacenter-gpu")


@record
class DeviceSource(Record):
    """Where a device profile's numbers come from."""

    __pydantic_config__ = FORBID_EXTRA
    ref: Annotated[str, Check(min_length=5)]
    kind: Literal["vendor-spec", "benchmark", "issue", "docs", "review"]
    backs: Annotated[tuple[str, ...], Check(min_length=1)]


NUMERIC_FACTS = (
    "memory_gib", "memory_gib_options", "usable_memory_fraction", "bandwidth_gb_s", "fp16_tflops",
    "int8_tops", "fp8_tflops", "host_ram_gib", "cpu_cores",
)


def _toml_key(field_name: str) -> str:
    # "class" is a Python keyword; the TOML (and JSON) key stays `class`.
    return "class" if field_name == "device_class" else field_name


@record
class DeviceProfile(Record):
    """A device: memory, bandwidth, compute and runtimes, with the sources that say so."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {**FORBID_EXTRA, "alias_generator": _toml_key}
    id: Slug
    name: str
    device_class: DeviceClass
    memory_gib: PositiveFloat
    memory_gib_options: tuple[PositiveFloat, ...] = ()
    unified_memory: bool
    usable_memory_fraction: Fraction
    usable_memory_evidence: Annotated[str, Check(min_length=3)]
    bandwidth_gb_s: PositiveFloat
    fp16_tflops: PositiveFloat | None = None
    int8_tops: PositiveFloat | None = None
    fp8_tflops: PositiveFloat | None = None
    fast_formats: tuple[str, ...] = ()
    runtimes: Annotated[tuple[Runtime, ...], Check(min_length=1)]
    host_ram_gib: PositiveFloat | None = None
    cpu_cores: Annotated[int, Check(gt=0)] | None = None
    example: str | None = None
    notes: str | None = None
    probe_names: tuple[str, ...] = ()
    """GPU names detection tools (NVML, nvidia-smi, amd-smi, rocm-smi) report for this device,
    where the id's words are not in them (the DGX Spark reports 'NVIDIA GB10')."""
    sources: Annotated[tuple[DeviceSource, ...], Check(min_length=1)]

    def __post_init__(self) -> None:
        backed = {b for s in self.sources for b in s.backs}
        missing = [
            f"{name}: no source backs it"
            for name in NUMERIC_FACTS
            if getattr(self, name) not in (None, ()) and name not in backed
        ]
        if missing:
            raise ValueError("\n".join(missing))


@record
class DeviceCatalog(Record):
    """Device profiles by id, and class aliases (phone, gpu, server, ...)."""

    devices: dict[str, DeviceProfile]
    aliases: dict[str, str]


@lru_cache(maxsize=1)
def load_devices() -> DeviceCatalog:
    return cache.load("devices", [packaged_path(DEVICES_FILE)], _validated_devices, DeviceCatalog)


def _validated_devices() -> DeviceCatalog:
    path = packaged_path(DEVICES_FILE)
    data = read_toml(path)
    name = display_name(path)
    devices, problems = validate_records(
        data.get("devices", []), DeviceProfile, name, "device", "devices"
    )
    by_id = {d.id: d for d in devices}
    aliases, more = checked(dict[str, str], data.get("aliases", {}), f"{name}: aliases")
    aliases = aliases or {}
    problems += more
    problems += [
        f"{name}: aliases.{alias}: unknown device '{target}'"
        for alias, target in aliases.items()
        if target not in by_id
    ]
    if problems:
        raise CatalogError(problems)
    return DeviceCatalog(devices=by_id, aliases=aliases)


@record
class Hardware(Record):
    """What the estimator runs against: one device (possibly N identical GPUs) after overrides."""

    device_id: str | None
    name: str
    device_class: DeviceClass
    gpus: int = 1
    memory_bytes: int
    usable_memory_bytes: int
    usable_memory_fraction: float
    bandwidth_gb_s: float
    bandwidth_range_gb_s: tuple[float, float] | None = None
    """Set when the bandwidth was assumed (only --memory-gb given): the plausible range."""
    fp16_tflops: float | None
    fp8_tflops: float | None = None
    fast_formats: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    host_ram_bytes: int | None = None
    host_bandwidth_gb_s: float | None = None
    """Host RAM bandwidth for offload: the `desktop` profile's (dual-channel DDR5)."""
    unified_memory: bool = False
    notes: tuple[str, ...] = ()
    """What was assumed about the device (class alias, overrides), shown to the user."""
    usable_memory_evidence: str = ""

    @property
    def assumptions(self) -> tuple[str, ...]:
        return (*self.notes, msg("usable memory {share:.0%} of {memory:g} GiB ({evidence})",
                                 share=self.usable_memory_fraction,
                                 memory=self.memory_bytes / self.gpus / GIB,
                                 evidence=self.usable_memory_evidence))

    @property
    def is_gpu(self) -> bool:
        return self.device_class in GPU_CLASSES


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(gib|gb|g|mib|mb|m|tib|tb|t)?\s*$", re.IGNORECASE)


def parse_size_gib(text: str, option: str) -> float:
    """'16', '16GB', '16GiB', '16g' -> GiB (GB read as the vendor's binary GB, like VRAM sizes)."""
    match = _SIZE.match(str(text))
    if not match:
        raise InputError(msg("{option}: cannot read '{text}' as a size; use e.g. 16, 16GB or "
                             "16GiB", option=option, text=text))
    value = float(match.group(1))
    unit = (match.group(2) or "g").lower()[0]
    value *= {"g": 1.0, "m": 1 / 1024, "t": 1024.0}[unit]
    check_positive(value, option, text, upper=1024 * 1024)
    return value


def check_positive(value: float, option: str, shown: object, upper: float) -> None:
    if not math.isfinite(value) or value <= 0 or value > upper:
        raise InputError(msg("{option}: {shown} is out of range; give a positive number up to "
                             "{upper:g}", option=option, shown=shown, upper=upper))


@record
class HardwareQuery(Record):
    """Hardware as the user described it on the command line."""

    device: str | None = None
    memory_gib: float | None = None
    bandwidth_gb_s: float | None = None
    tflops: float | None = None
    gpus: int = 1
    ram_gib: float | None = None


def find_device(name: str) -> tuple[DeviceProfile, str | None]:
    """A profile by id or class alias; the alias used is returned so output can say so."""
    cat = load_devices()
    key = name.strip().lower()
    alias = key if key in cat.aliases and key not in cat.devices else None
    device = resolve(name, cat.devices, "device", cat.aliases,
                     lambda: msg("; see `advisor devices`"))
    return device, alias


def hardware_from(query: HardwareQuery, detected: DeviceProfile | None = None) -> Hardware:
    """Combine a profile (if any) with explicit overrides into effective hardware."""
    notes: list[str] = []
    if query.gpus < 1 or query.gpus > 64:
        raise InputError(msg("--gpus: {gpus} is out of range; give 1 to 64", gpus=query.gpus))
    for value, option in ((query.bandwidth_gb_s, "--bandwidth-gb-s"), (query.tflops, "--tflops")):
        if value is not None:
            check_positive(value, option, value, upper=1e6)
    profile = detected
    if profile is None and query.device:
        profile, alias = find_device(query.device)
        if alias:
            notes.append(msg("assumed {alias} = {device} ({name})", alias=alias,
                             device=profile.id, name=profile.name))
    if profile is None:
        if query.memory_gib is None:
            raise InputError(msg(
                "no hardware given; use --device ID (see `advisor devices`), --device auto, "
                "or --memory-gb (with --bandwidth-gb-s if you know it)"
            ))
        return _custom(query, notes)
    memory_gib = query.memory_gib or profile.memory_gib
    if query.memory_gib:
        notes.append(msg("memory set to {memory:g} GiB (profile: {profile:g} GiB)",
                         memory=memory_gib, profile=profile.memory_gib))
    gpus = query.gpus
    if gpus > 1 and profile.device_class not in GPU_CLASSES:
        raise InputError(msg("--gpus {gpus}: '{device}' is not a GPU; multi-GPU needs a GPU "
                             "device", gpus=gpus, device=profile.id))
    memory = int(memory_gib * GIB)
    usable = int(memory * profile.usable_memory_fraction)
    host = query.ram_gib or profile.host_ram_gib
    return Hardware(
        device_id=profile.id,
        name=profile.name + (f" with {memory_gib:g} GiB" if query.memory_gib else "")
        + (f" x{gpus}" if gpus > 1 else ""),
        device_class=profile.device_class,
        gpus=gpus,
        memory_bytes=memory * gpus,
        usable_memory_bytes=usable * gpus,
        usable_memory_fraction=profile.usable_memory_fraction,
        bandwidth_gb_s=query.bandwidth_gb_s or profile.bandwidth_gb_s,
        fp16_tflops=query.tflops or profile.fp16_tflops,
        fp8_tflops=profile.fp8_tflops,
        fast_formats=profile.fast_formats,
        runtimes=profile.runtimes,
        host_ram_bytes=int(host * GIB) if host else None,
        host_bandwidth_gb_s=_host_bandwidth(),
        unified_memory=profile.unified_memory,
        notes=tuple(notes),
        usable_memory_evidence=profile.usable_memory_evidence,
    )


def _host_bandwidth() -> float | None:
    desktop = load_devices().devices.get("desktop")
    return desktop.bandwidth_gb_s if desktop else None


def _custom(query: HardwareQuery, notes: list[str]) -> Hardware:
    """Hardware with no profile: described by --memory-gb (and --bandwidth-gb-s, --tflops)."""
    assert query.memory_gib is not None
    bandwidth, bandwidth_range = query.bandwidth_gb_s, None
    gpu = query.gpus > 1 or query.tflops is not None
    device_class: DeviceClass = "consumer-gpu" if gpu else "desktop"
    if bandwidth is None:
        base, bandwidth_range, assumed = _generic_device(query.memory_gib, gpu)
        bandwidth, device_class = base.bandwidth_gb_s, base.device_class
        notes.append(assumed)
    fraction = 0.9
    memory = int(query.memory_gib * GIB)
    return Hardware(
        device_id=None,
        name=f"custom {query.memory_gib:g} GiB, {bandwidth:g} GB/s"
        + (" (assumed)" if bandwidth_range else "")
        + (f" x{query.gpus}" if query.gpus > 1 else ""),
        device_class=device_class,
        gpus=query.gpus,
        memory_bytes=memory * query.gpus,
        usable_memory_bytes=int(memory * fraction) * query.gpus,
        usable_memory_fraction=fraction,
        bandwidth_gb_s=bandwidth,
        bandwidth_range_gb_s=bandwidth_range,
        fp16_tflops=query.tflops,
        runtimes=("llama.cpp", "ollama", "vllm", "transformers") if gpu else (
            "llama.cpp", "ollama", "transformers"),
        fast_formats=("bf16", "fp16", "int8", "int4") if gpu else (),
        host_ram_bytes=int(query.ram_gib * GIB) if query.ram_gib else None,
        host_bandwidth_gb_s=_host_bandwidth(),
        notes=(
            *notes,
            msg("custom hardware: with --tflops or --gpus treated as a GPU, without as a CPU "
                "machine"),
        ),
        usable_memory_evidence="no profile: a generic share",
    )


def _generic_device(memory_gib: float, gpu: bool
                    ) -> tuple[DeviceProfile, tuple[float, float], str]:
    """Only the memory size is known: assume the CPU profile of that size (`laptop` up to 20 GiB,
    else `desktop`; a GPU: the consumer GPU closest in memory), and give the range of bandwidths
    of every profile whose memory is within a factor of 1.5 of it."""
    profiles = list(load_devices().devices.values())
    if gpu:
        gpus = [d for d in profiles if d.device_class == "consumer-gpu" and not d.unified_memory]
        base = min(gpus, key=lambda d: (abs(math.log(d.memory_gib / memory_gib)), d.id))
    else:
        base = load_devices().devices["laptop" if memory_gib <= 20 else "desktop"]
    near = [d.bandwidth_gb_s for d in profiles
            if (not gpu or d.device_class in GPU_CLASSES)
            and any(memory_gib / 1.5 <= m <= memory_gib * 1.5
                    for m in (d.memory_gib, *d.memory_gib_options))] or [base.bandwidth_gb_s]
    low, high = min(*near, base.bandwidth_gb_s), max(*near, base.bandwidth_gb_s)
    return base, (low, high), msg(
        "only --memory-gb given: assumed a {kind} like '{device}' with {bandwidth:g} GB/s; "
        "devices with about this memory have {low:g} to {high:g} GB/s, so speeds may be "
        "{low_share:.2g}x to {high_share:.2g}x those shown (give --device or --bandwidth-gb-s)",
        kind=base.device_class, device=base.id, bandwidth=base.bandwidth_gb_s, low=low,
        high=high, low_share=low / base.bandwidth_gb_s, high_share=high / base.bandwidth_gb_s)
