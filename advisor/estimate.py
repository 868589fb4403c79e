"""Memory, longest context and speed of one model on one piece of hardware: pure functions.

Every estimate lists what it assumed. Formulas:
- weights: quantized linear layers x bits/weight + embedding and output head at their own bits
  + vision/audio towers at 16 bits (all experts of a MoE are resident);
- KV cache: 2 x layers keeping KV x num_key_value_heads x head_dim x tokens x batch x bytes/element
  (+ the fixed recurrent state of linear-attention layers in hybrid models);
- overhead: the runtime's fixed cost + activations per prompt token;
- decode: bytes read per token / (bandwidth x efficiency) + the runtime's per-token cost, or the
  compute time if larger; prefill: FLOPs / (compute x efficiency).
"""

from __future__ import annotations

from typing import NamedTuple

from advisor.formats import RuntimeSpec, Tables, WeightFormat
from advisor.hardware import GIB, Hardware
from advisor.records import SCHEMA_VERSION, Record, record
from advisor.schema import UNLISTED_GGUF_QUANT, ModelConfig, ModelEntry
from advisor.spec_summary import SpeculativeSummary

TOWER_BITS = 16.0
STATE_BYTES_PER_ELEMENT = 2.0  # linear-attention recurrent state kept in 16-bit
HOST_BANDWIDTH_SHARE = 0.5  # share of host-RAM bandwidth llama.cpp reaches on offloaded layers


@record
class Memory(Record):
    """Bytes needed (weights, KV cache, runtime overhead) against the usable memory."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    total_bytes: int
    usable_bytes: int
    runtime_reserved_bytes: int | None = None
    offloaded_bytes: int = 0


@record
class Speed(Record):
    """Decode and prefill speed, and what bounds decode."""

    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None
    bound: str
    aggregate_decode_tokens_per_s: float | None = None


@record
class Efficiency(Record):
    """The runtime's efficiencies for this device class and weight format."""

    bandwidth: float
    compute: float
    multi_gpu: float
    per_token_overhead_ms: float


@record
class Assumptions(Record):
    """What an estimate assumed: format, runtime, context, batch, efficiencies."""

    quant: str
    quant_bits_per_weight: float
    runtime: str
    context_tokens: int
    prompt_tokens: int
    batch: int
    kv_dtype: str
    efficiency: Efficiency
    overheads: dict[str, float]
    notes: tuple[str, ...]


@record
class Estimate(Record):
    """`advisor estimate`: memory, fit, longest context and speed of one model on one device."""

    schema_version: int = SCHEMA_VERSION
    model_id: str
    hf_repo: str | None
    device: str
    device_id: str | None
    memory: Memory
    fits: bool
    max_context_tokens: int
    speed: Speed
    official_checkpoint: str | None
    flags: tuple[str, ...]
    assumptions: Assumptions
    speculative: SpeculativeSummary | None = None
    """Speculative decoding for this model (MTP head or draft), added by the estimate command."""


class WeightCounts(NamedTuple):
    """What the weight formulas need of a model, computed once per model."""

    linear: int
    linear_active: int
    embed: int
    tied: bool
    towers: int


def weight_counts(model: ModelEntry) -> WeightCounts:
    assert model.config and model.architecture
    count = model.param_count
    embed = model.config.vocab_size * model.config.hidden_size
    return WeightCounts(count.total - count.embedding, count.active - count.embedding, embed,
                        model.config.tie_word_embeddings, model.towers_params)


def weights_bytes(model: ModelEntry | WeightCounts, fmt: WeightFormat) -> int:
    """Resident weight bytes: all experts, embeddings and towers included."""
    w = model if isinstance(model, WeightCounts) else weight_counts(model)
    head_bits = 0.0 if w.tied else w.embed * fmt.output_head_bits
    bits = w.linear * fmt.bits_per_weight + w.embed * fmt.embedding_bits + head_bits
    return int((bits + w.towers * TOWER_BITS) / 8)


def bytes_read_per_token(model: ModelEntry | WeightCounts, fmt: WeightFormat) -> int:
    """Weight bytes read to decode one token: active experts only, output head included."""
    w = model if isinstance(model, WeightCounts) else weight_counts(model)
    return int((w.linear_active * fmt.bits_per_weight + w.embed * fmt.output_head_bits) / 8)


def kv_cache_bytes(c: ModelConfig, tokens: int, batch: int, bytes_per_element: float) -> int:
    """KV cache for `tokens` per sequence and `batch` sequences, plus linear-attention state."""
    per_token = 2 * c.kv_cache_layers * c.num_key_value_heads * c.head_dim * bytes_per_element
    linear_layers = c.num_hidden_layers - c.kv_cache_layers
    state = linear_layers * (c.linear_num_value_heads or 0) * (c.linear_key_head_dim or 0) * (
        c.linear_value_head_dim or 0
    ) * STATE_BYTES_PER_ELEMENT
    return int((per_token * tokens + state) * batch)


def activation_unit_bytes(c: ModelConfig) -> int:
    """(hidden + widest feed-forward) x 2 bytes: the per-token activation unit the runtime tables scale."""
    ffn = c.intermediate_size if not c.is_moe else (c.moe_intermediate_size or 0) * (
        c.num_experts_per_tok or 1
    )
    return 2 * (c.hidden_size + (ffn or 0))


def overhead_bytes(rt: RuntimeSpec, c: ModelConfig, prompt_tokens: int, batch: int) -> int:
    fixed = rt.fixed_overhead_gib * GIB
    return int(fixed + rt.activation_bytes_per_token * activation_unit_bytes(c) * prompt_tokens
               * batch)


def flops_per_token(model: ModelEntry, context: int) -> float:
    """2 x active parameters + attention over `context` cached tokens."""
    assert model.config and model.architecture
    c = model.config
    active = model.param_count.active
    attention = 4 * c.kv_cache_layers * c.num_attention_heads * c.head_dim * context
    return 2.0 * active + attention


def efficiency(rt: RuntimeSpec, hw: Hardware, fmt: WeightFormat) -> Efficiency:
    """The runtime's fitted efficiencies for this device class and weight format."""
    table_bw, table_c = rt.bandwidth_efficiency, rt.compute_efficiency
    bw = table_bw.get(hw.device_class, table_bw["default"])
    comp = table_c.get(hw.device_class, table_c["default"])
    return Efficiency(
        bandwidth=bw * rt.format_efficiency.get(fmt.id, 1.0),
        compute=comp,
        multi_gpu=rt.multi_gpu_efficiency if hw.gpus > 1 else 1.0,
        per_token_overhead_ms=rt.per_token_overhead_ms,
    )


def tensor_parallel(hw: Hardware, eff: Efficiency) -> float:
    """Speed-up of N GPUs over one, with the runtime's scaling efficiency."""
    return 1.0 + (hw.gpus - 1) * eff.multi_gpu


def decode_tokens_per_s(
    weight_bytes: float, kv_bytes: float, bandwidth_gb_s: float, efficiency: float,
    per_token_overhead_ms: float, flops: float = 0.0, tflops: float | None = None,
    compute_efficiency: float = 1.0,
) -> tuple[float, str]:
    """Tokens/s of one decode step and what bounds it (memory bandwidth or compute)."""
    memory_s = (weight_bytes + kv_bytes) / (bandwidth_gb_s * 1e9 * efficiency)
    compute_s = flops / (tflops * 1e12 * compute_efficiency) if tflops and flops else 0.0
    bound = "compute" if compute_s > memory_s else "memory bandwidth"
    return 1.0 / (max(memory_s, compute_s) + per_token_overhead_ms / 1000), bound


def estimate(
    model: ModelEntry, hw: Hardware, tables: Tables, fmt: WeightFormat, rt: RuntimeSpec,
    context_tokens: int, prompt_tokens: int | None = None, batch: int = 1, kv_dtype: str = "fp16",
    notes: tuple[str, ...] = (),
) -> Estimate:
    """Memory, fit, longest context and speed of `model` on `hw` with `fmt` on `rt`."""
    assert model.config and model.architecture
    c = model.config
    prompt = min(prompt_tokens if prompt_tokens is not None else context_tokens, context_tokens)
    kv_elem = tables.kv_bytes(kv_dtype)
    eff = efficiency(rt, hw, fmt)
    weights = weights_bytes(model, fmt)
    kv = kv_cache_bytes(c, context_tokens, batch, kv_elem)
    overhead = overhead_bytes(rt, c, prompt, batch) * (hw.gpus if hw.is_gpu else 1)
    total = weights + kv + overhead
    reserved = int(hw.memory_bytes * rt.reserve_fraction) if rt.reserve_fraction else None
    fits = total <= hw.usable_memory_bytes
    max_ctx = max_context_tokens(model, hw, fmt, rt, batch, kv_elem)

    speed_up = tensor_parallel(hw, eff)
    read = bytes_read_per_token(model, fmt)
    kv_read = kv_cache_bytes(c, context_tokens, 1, kv_elem) * batch
    offloaded = 0
    extra = list(notes)
    tflops = hw.fp16_tflops
    offloads = hw.is_gpu and rt.id in ("llama.cpp", "ollama", "lm-studio")
    if not fits and offloads and not hw.host_ram_bytes:
        extra.append(f"does not fit in GPU memory; {rt.id} can offload layers to system RAM: "
                     "pass --ram-gb to estimate that")
    if not fits and offloads and hw.host_ram_bytes:
        offloaded = total - hw.usable_memory_bytes
        if offloaded < hw.host_ram_bytes * 0.8:
            extra.append(
                f"does not fit in GPU memory: {offloaded / 1e9:.1f} GB of weights offloaded to host"
                f" RAM (llama.cpp --n-gpu-layers / MoE experts on CPU); host RAM read at"
                f" {HOST_BANDWIDTH_SHARE:.0%} of {hw.host_bandwidth_gb_s or 0:g} GB/s"
            )
    flops = flops_per_token(model, context_tokens) * batch
    step_tps, bound = decode_tokens_per_s(
        read, kv_read, hw.bandwidth_gb_s * speed_up, eff.bandwidth, eff.per_token_overhead_ms,
        flops, tflops * speed_up if tflops else None, eff.compute,
    )
    if offloaded:
        share = offloaded / weights
        host_gb_s = HOST_BANDWIDTH_SHARE * (hw.host_bandwidth_gb_s or hw.bandwidth_gb_s)
        gpu_s = (1 - share) * (read + kv_read) / (hw.bandwidth_gb_s * 1e9 * eff.bandwidth)
        cpu_s = share * read / (host_gb_s * 1e9)
        step_tps = 1.0 / (gpu_s + cpu_s + eff.per_token_overhead_ms / 1000)
        bound = "host memory bandwidth (offload)"
    feasible = fits or offloaded
    decode = step_tps if feasible else None
    prefill = ttft = None
    if tflops and feasible:
        avg_flops = flops_per_token(model, prompt // 2)
        prefill = tflops * speed_up * 1e12 * eff.compute / avg_flops
        ttft = prompt / prefill if prompt else 0.0
    if not tflops:
        extra.append("prefill speed unknown: the device profile has no published FP16 compute")
    checkpoint = official_checkpoint(model, fmt)
    flags = []
    if checkpoint is None and fmt.family not in ("float",):
        flags.append(f"no official {fmt.id} checkpoint: computed for a community or self-made quant")
    if context_tokens > model.context.max_tokens:
        flags.append(
            f"context {context_tokens:,} exceeds the model's maximum {model.context.max_tokens:,}"
        )
    elif context_tokens > model.context.native_tokens:
        extra.append(
            f"context beyond the native {model.context.native_tokens:,} tokens needs "
            f"{model.context.extension_method} scaling"
        )
    return Estimate(
        model_id=model.id,
        hf_repo=model.hf_repo,
        device=hw.name,
        device_id=hw.device_id,
        memory=Memory(
            weights_bytes=weights, kv_cache_bytes=kv, overhead_bytes=overhead, total_bytes=total,
            usable_bytes=hw.usable_memory_bytes, runtime_reserved_bytes=reserved,
            offloaded_bytes=offloaded,
        ),
        fits=fits,
        max_context_tokens=max_ctx,
        speed=Speed(
            decode_tokens_per_s=decode,
            prefill_tokens_per_s=prefill,
            time_to_first_token_s=ttft,
            bound=bound if feasible else "does not fit",
            aggregate_decode_tokens_per_s=decode * batch if decode and batch > 1 else None,
        ),
        official_checkpoint=checkpoint,
        flags=tuple(flags),
        assumptions=Assumptions(
            quant=fmt.id,
            quant_bits_per_weight=fmt.bits_per_weight,
            runtime=rt.id,
            context_tokens=context_tokens,
            prompt_tokens=prompt,
            batch=batch,
            kv_dtype=kv_dtype,
            efficiency=eff,
            overheads={
                "fixed_gib": rt.fixed_overhead_gib,
                "activation_bytes_per_prompt_token": rt.activation_bytes_per_token
                * activation_unit_bytes(c),
                "usable_memory_fraction": hw.usable_memory_fraction,
                **({"reserve_fraction": rt.reserve_fraction} if rt.reserve_fraction else {}),
            },
            notes=(*hw.assumptions, *extra, f"efficiency fitted on: {rt.fitted_on}"),
        ),
    )


def max_context_tokens(
    model: ModelEntry, hw: Hardware, fmt: WeightFormat, rt: RuntimeSpec, batch: int,
    kv_elem: float,
) -> int:
    """Longest context (prompt = context, worst case) that fits in usable memory, capped at the
    model's maximum; 0 when even the weights do not fit."""
    assert model.config
    c = model.config
    per_token = (
        kv_cache_bytes(c, 1, batch, kv_elem) - kv_cache_bytes(c, 0, batch, kv_elem)
        + (overhead_bytes(rt, c, 1, batch) - overhead_bytes(rt, c, 0, batch))
        * (hw.gpus if hw.is_gpu else 1)
    )
    fixed = (
        weights_bytes(model, fmt) + kv_cache_bytes(c, 0, batch, kv_elem)
        + overhead_bytes(rt, c, 0, batch) * (hw.gpus if hw.is_gpu else 1)
    )
    room = hw.usable_memory_bytes - fixed
    if room <= 0:
        return 0
    return int(min(room // per_token, model.context.max_tokens))


def official_checkpoint(model: ModelEntry, fmt: WeightFormat) -> str | None:
    """The official repo holding this format, if Qwen published one."""
    if fmt.family == "float":
        return model.hf_repo
    for q in model.quantized:
        if q.format == fmt.id or (q.format == "gguf" and fmt.id in q.quants):
            return q.repo
        if q.format == "gguf" and not q.quants and fmt.id == UNLISTED_GGUF_QUANT:
            return q.repo
    return None


def obtainable(model: ModelEntry, fmt: WeightFormat, rt: RuntimeSpec) -> bool:
    """Whether `fmt` weights of `model` can be had for `rt`: official, or made with its tools."""
    if fmt.made_from_16bit or fmt.id in rt.quantizes_on_load:
        return True
    return official_checkpoint(model, fmt) is not None


def compatible(fmt: WeightFormat, rt: RuntimeSpec, hw: Hardware) -> str | None:
    """Why `rt` cannot run `fmt` on `hw`, or None when it can."""
    if hw.device_class not in rt.device_classes:
        return f"{rt.id} does not run on {hw.device_class} devices ({', '.join(rt.device_classes)})"
    if fmt.family not in rt.format_families:
        runs = ", ".join(rt.format_families)
        return f"{rt.id} does not run {fmt.id} weights (it runs {runs} formats)"
    if fmt.family == "fp8" and "fp8" not in hw.fast_formats:
        return f"{hw.name} has no fast FP8 kernels (FP8 needs Ada/Hopper/Blackwell or MI300)"
    return None


def choose_setup(
    tables: Tables, hw: Hardware, quant: str | None, runtime: str | None
) -> tuple[WeightFormat, RuntimeSpec, tuple[str, ...]]:
    """The format and runtime to estimate with: the user's, or the device class default."""
    default = tables.defaults.get(hw.device_class)
    notes: list[str] = []
    rt = tables.runtime(runtime) if runtime else None
    if rt is None:
        if default is None:
            raise AssertionError(f"runtimes.toml has no default for {hw.device_class}")
        rt = tables.runtimes[default.runtime]
        if quant:
            wanted = tables.weight_format(quant)
            if wanted.family not in rt.format_families:
                options = [tables.runtimes[n] for n in hw.runtimes if n in tables.runtimes]
                rt = next((r for r in options if compatible(wanted, r, hw) is None), rt)
        notes.append(f"runtime {rt.id} chosen for a {hw.device_class} device (use --runtime)")
    if quant:
        fmt = tables.weight_format(quant)
    else:
        preferred = [*(default.quants if default else ()), *tables.formats]
        fmt = next(
            (tables.formats[q] for q in preferred if compatible(tables.formats[q], rt, hw) is None),
            tables.formats[preferred[0]],
        )
        notes.append(f"quantization {fmt.id} chosen for {rt.id} on this device (use --quant)")
    problem = compatible(fmt, rt, hw)
    if problem:
        from advisor.errors import InputError

        raise InputError(problem)
    return fmt, rt, tuple(notes)
