"""Weight formats and runtimes (catalog/quantization.toml, catalog/runtimes.toml), loaded and
checked."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from advisor.data import cache
from advisor.data.loader import (
    checked,
    display_name,
    packaged_path,
    read_toml,
    resolve,
    validate_records,
    validate_table,
)
from advisor.data.records import (
    FORBID_EXTRA,
    Check,
    Fraction,
    NonNegative,
    PositiveFloat,
    Record,
    Share,
    field,
    record,
)
from advisor.errors import CatalogError
from advisor.i18n import msg


@record
class WeightFormat(Record):
    """A weight format (quantization): bits per weight and its measured quality loss."""

    __pydantic_config__ = FORBID_EXTRA
    id: str
    aliases: tuple[str, ...] = ()
    family: str
    made_from_16bit: bool = False
    """Anyone can make it from the official 16-bit weights with the runtime's own tools."""
    bits_per_weight: PositiveFloat
    embedding_bits: PositiveFloat
    output_head_bits: PositiveFloat
    quality_loss: Annotated[float, Check(ge=0, lt=1)]
    quality_source: str
    source: str


@record
class RuntimeMemory(Record):
    """How a runtime allocates memory (catalog/runtimes.toml [runtimes.memory]); read from its
    source at the version named in `version`/`source`."""

    __pydantic_config__ = FORBID_EXTRA
    model: str
    """transformers | budget (vLLM, SGLang) | llama.cpp | mlx: which allocation formula applies."""
    version: str
    source: str
    kv_pad_tokens: Annotated[int, Check(ge=1)] = 1
    """KV cache allocated in steps of this many tokens (llama.cpp 256 cells, MLX 256)."""
    prefill_chunk_tokens: Annotated[int, Check(ge=0)] = 0
    """Prompt tokens processed per step at prefill (0: the whole prompt at once)."""
    full_prompt_logits: bool = False
    """Transformers before 4.45: logits for every prompt token, upcast to f32."""
    budget_fraction: Fraction | None = None
    """vLLM gpu_memory_utilization / SGLang mem_fraction_static default (None: SGLang formula)."""
    max_num_seqs: Annotated[int, Check(ge=0)] = 0
    cuda_graph_gib: NonNegative = 0.0
    cuda_graph_inside_budget: bool = False
    non_torch_gib: NonNegative = 0.0
    flash_attention: bool = True
    context_overhead_gib: NonNegative = 0.0
    """CUDA/Metal context and workspaces that the runtime's own prints do not count."""
    state_bytes_per_element: PositiveFloat = 2.0
    """Bytes per element of the linear-attention recurrent state (llama.cpp keeps f32)."""
    reserve_by_memory_gib: tuple[tuple[float, float, float], ...] = ()
    """SGLang: (GPU memory below GiB, chunked_prefill_size, cuda_graph_max_bs) per class."""


@record
class RuntimeSpec(Record):
    """A runtime: the formats and devices it runs, and its fitted overheads and efficiencies."""

    __pydantic_config__ = FORBID_EXTRA
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    format_families: tuple[str, ...]
    device_classes: tuple[str, ...]
    gpu_only: bool = False
    quantizes_on_load: tuple[str, ...] = ()
    """Formats the runtime makes from 16-bit weights as it loads them (vLLM's FP8)."""
    fixed_overhead_gib: NonNegative
    activation_bytes_per_token: NonNegative
    """Peak activation memory per prompt token, as a multiple of (hidden + intermediate) x 2
    bytes."""
    reserve_fraction: Fraction | None = None
    per_token_overhead_ms: NonNegative
    bandwidth_efficiency: dict[str, float]
    format_efficiency: dict[str, float] = field(default_factory=dict)
    """Multiplier on bandwidth efficiency for formats whose kernels read memory less well."""
    compute_efficiency: dict[str, float]
    multi_gpu_efficiency: Share
    """Share of each extra GPU's bandwidth a decode step gains (0: layers split in sequence)."""
    max_gpus: Annotated[int, Check(ge=1)]
    fitted_on: str
    decode_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    """(P10, P90) of measured / estimated decode speed per device class ("default": any other),
    from leave-one-source-group-out errors (bench/calibrate.py) or a stated prior."""
    range_source: str = ""
    memory: RuntimeMemory | None = None
    """How the runtime allocates (steady and peak memory, KV pool); None: the flat overheads."""
    per_layer_overhead_ms: dict[str, float] = field(default_factory=dict)
    """Decode cost per transformer layer (kernel launches grow with layers), per device class
    ("default": any other); added to per_token_overhead_ms, the fixed cost of a step."""
    moe_bandwidth_factor: Share = 1.0
    """Multiplier on bandwidth efficiency for the routed experts' bytes (small, scattered
    matrices read less well than dense ones)."""
    moe_expert_ms: NonNegative = 0.0
    """Cost per expert evaluated per MoE layer and step (Transformers loops over experts)."""
    moe_loops_all_experts: bool = False
    """The MoE block visits every expert each step, routed to or not (Transformers 4.51)."""
    pad_batch_rows: dict[str, int] = field(default_factory=dict)
    """Per format: rows the weight-only-quantized GEMM computes however small the batch (the
    compute floor of W4A16 kernels)."""
    host_bandwidth_efficiency: Share = 0.5
    """Share of host-RAM bandwidth reached on layers or experts offloaded to system RAM."""
    speed_version: str = ""
    """Runtime version the speed parameters were fitted on."""
    default_context_by_memory_gib: tuple[tuple[float, int], ...] = ()
    """Context the runtime gives a model when nobody sets one: (GPU memory below GiB, tokens)
    tiers (Ollama's num_ctx / OLLAMA_CONTEXT_LENGTH default)."""
    default_context_source: str = ""
    wired_limit_fraction: tuple[tuple[float, float], ...] = ()
    """Apple Silicon: (RAM below GiB, share of RAM) Metal's recommendedMaxWorkingSetSize gives,
    the wired limit MLX sets for generation (raise with sysctl iogpu.wired_limit_mb)."""
    slow_above_wired_share: Share = 0.0
    """MLX warns "This can be slow" when the model exceeds this share of the wired limit."""


@record
class DefaultChoice(Record):
    """The runtime and formats a device class gets when the user names none."""

    __pydantic_config__ = FORBID_EXTRA
    runtime: str
    quants: Annotated[tuple[str, ...], Check(min_length=1)]
    """Preferred formats, best first; the first that the device runs fast is taken."""


@record
class Tables(Record):
    """Weight formats, KV cache dtypes, runtimes and per-class defaults, by id."""

    formats: dict[str, WeightFormat]
    format_aliases: dict[str, str]
    kv_dtypes: dict[str, PositiveFloat]
    runtimes: dict[str, RuntimeSpec]
    runtime_aliases: dict[str, str]
    defaults: dict[str, DefaultChoice]

    def weight_format(self, name: str) -> WeightFormat:
        return resolve(name, self.formats, "quantization", self.format_aliases,
                       lambda: msg("; choose from {choices}", choices=", ".join(self.formats)))

    def runtime(self, name: str) -> RuntimeSpec:
        return resolve(name, self.runtimes, "runtime", self.runtime_aliases,
                       lambda: msg("; choose from {choices}", choices=", ".join(self.runtimes)))

    def kv_bytes(self, name: str) -> float:
        key = resolve(name, {k: k for k in self.kv_dtypes}, "KV cache dtype",
                      hint=lambda: msg("; choose from {choices}",
                                       choices=", ".join(self.kv_dtypes)))
        return self.kv_dtypes[key]


@lru_cache(maxsize=1)
def load_tables() -> Tables:
    paths = [packaged_path("quantization.toml"), packaged_path("runtimes.toml")]
    return cache.load("tables", paths, _validated_tables, Tables)


def _validated_tables() -> Tables:
    qpath, rpath = packaged_path("quantization.toml"), packaged_path("runtimes.toml")
    qdata, rdata = read_toml(qpath), read_toml(rpath)
    formats, problems = validate_records(
        qdata.get("formats", []), WeightFormat, display_name(qpath), "format", "formats"
    )
    runtimes, more = validate_records(
        rdata.get("runtimes", []), RuntimeSpec, display_name(rpath), "runtime", "runtimes"
    )
    problems += more
    defaults, more = validate_table(rdata.get("defaults", {}), DefaultChoice,
                                    f"{display_name(rpath)}: defaults")
    problems += more
    kv_dtypes, more = checked(dict[str, PositiveFloat], qdata.get("kv_dtypes", {}),
                              f"{display_name(qpath)}: kv_dtypes")
    problems += more
    if problems:
        raise CatalogError(problems)
    return Tables(
        formats={f.id: f for f in formats},
        format_aliases={a.lower(): f.id for f in formats for a in f.aliases},
        kv_dtypes=kv_dtypes,
        runtimes={r.id: r for r in runtimes},
        runtime_aliases={a.lower(): r.id for r in runtimes for a in r.aliases},
        defaults=defaults,
    )
