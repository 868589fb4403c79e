"""Memory, longest context and speed of one model on one piece of hardware: pure functions.

Every estimate lists what it assumed. Formulas:
- weights: quantized linear layers x bits/weight + embedding (and n-gram tables) and output
  head at their own bits + vision/audio towers at 16 bits where the commands load them
  (loads_towers; all experts of a MoE are resident);
- KV cache: 2 x layers keeping KV x num_key_value_heads x head_dim x tokens x batch x bytes/element
  (+ the fixed recurrent state of linear-attention layers in hybrid models);
- overhead: the runtime's fixed cost + activations per prompt token;
- decode (decode_step): fixed + per-layer (+ per-expert) cost + max(bytes read / effective
  bandwidth, FLOPs / effective compute); bytes = shared weights + the routed experts the batch
  touches (at the runtime's MoE factor) + KV cache + hybrid state read and written; offloaded
  bytes at host bandwidth; prefill: FLOPs incl. attention at depth / (compute x efficiency).
"""

from __future__ import annotations

from typing import NamedTuple

from advisor.data.formats import RuntimeMemory, RuntimeSpec, Tables, WeightFormat
from advisor.data.hardware import GIB, Hardware
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import UNLISTED_GGUF_QUANT, ModelConfig, ModelEntry
from advisor.estimation.spec_summary import SpeculativeSummary
from advisor.i18n import N_, msg

TOWER_BITS = 16.0
STATE_BYTES_PER_ELEMENT = 2.0  # linear-attention recurrent state kept in 16-bit
HOST_BANDWIDTH_SHARE = 0.5  # share of host-RAM bandwidth llama.cpp reaches on offloaded layers
UNMEASURED_WIDENING = 1.5  # log-range multiplier for architectures without calibration rows
FALLBACK_RANGE = (0.4, 1.6)  # runtimes.toml gives no decode_range at all


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
    steady_bytes: int | None = None
    """Weights + KV cache + what stays resident once the prompt is in the cache."""
    peak_bytes: int | None = None
    """High-water mark during prefill (equals total_bytes)."""
    kv_pool_bytes: int | None = None
    """vLLM/SGLang: memory the runtime hands to its KV cache pool."""
    sequences_fit: int | None = None
    """vLLM/SGLang: sequences of the full context that fit in the KV pool at once."""
    memory_model: str | None = None
    """Which allocation formula gave steady/peak (runtimes.toml [runtimes.memory])."""


@record
class Speed(Record):
    """Decode and prefill speed, and what bounds decode."""

    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None
    bound: str
    aggregate_decode_tokens_per_s: float | None = None
    decode_tokens_per_s_p10: float | None = None
    """Decode speed that 9 in 10 runs beat: the estimate x the runtime's out-of-sample P10 error
    for this device class (widened for MoE and hybrid models, which no row measured)."""
    decode_tokens_per_s_p90: float | None = None
    range_source: str | None = None


@record
class Efficiency(Record):
    """The runtime's efficiencies for this device class and weight format."""

    bandwidth: float
    compute: float
    multi_gpu: float
    per_token_overhead_ms: float
    per_layer_overhead_ms: float = 0.0
    """Decode cost per layer, on top of the fixed per_token_overhead_ms."""
    moe_bandwidth: float = 1.0
    """Multiplier on `bandwidth` for routed-expert bytes."""


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
    license: str
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
    ngram: int = 0
    """N-gram embedding tables (resident, stored like the embedding; not read whole per token)."""


def weight_counts(model: ModelEntry) -> WeightCounts:
    assert model.config and model.architecture
    count = model.param_count
    embed = model.config.vocab_size * model.config.hidden_size
    return WeightCounts(count.total - count.embedding,
                        count.active - (count.embedding - count.ngram), embed,
                        model.config.tie_word_embeddings, model.towers_params, count.ngram)


def loads_towers(model: ModelEntry, runtime: str, task: str | None = None) -> bool:
    """Whether `runtime` loads the model's vision/audio towers for `task` as the printed
    commands run it: llama.cpp takes the projector only for an image, video or audio job
    (--no-mmproj, or no --mmproj, otherwise), vLLM leaves the vision encoder out of a Qwen3.5+
    text job (--language-model-only); every other runtime loads the whole checkpoint. A model
    without both text and image/audio inputs keeps what its card's total holds beyond the
    language model (an MTP layer, rounding) counted, as before."""
    from advisor.recipes import uses_projector, vllm_language_only

    if "text" not in model.modalities_in or set(model.modalities_in) == {"text"}:
        return True
    if runtime == "llama.cpp":
        return uses_projector(model, task)
    if runtime == "vllm":
        return not vllm_language_only(model, task)
    return True


def resident_counts(model: ModelEntry, runtime: str, task: str | None = None) -> WeightCounts:
    """weight_counts of what `runtime` loads for `task`: the towers only where loads_towers."""
    counts = weight_counts(model)
    if counts.towers and not loads_towers(model, runtime, task):
        return counts._replace(towers=0)
    return counts


def weights_bytes(model: ModelEntry | WeightCounts, fmt: WeightFormat) -> int:
    """Resident weight bytes: all experts, embeddings and (of a ModelEntry) towers included;
    pass resident_counts for what one runtime loads."""
    w = model if isinstance(model, WeightCounts) else weight_counts(model)
    head_bits = 0.0 if w.tied else w.embed * fmt.output_head_bits
    bits = (w.linear * fmt.bits_per_weight + (w.embed + w.ngram) * fmt.embedding_bits
            + head_bits)
    return int((bits + w.towers * TOWER_BITS) / 8)


def bytes_read_per_token(model: ModelEntry | WeightCounts, fmt: WeightFormat) -> int:
    """Weight bytes read to decode one token: active experts only, output head included."""
    w = model if isinstance(model, WeightCounts) else weight_counts(model)
    return int((w.linear_active * fmt.bits_per_weight + w.embed * fmt.output_head_bits) / 8)


def recurrent_state_bytes(c: ModelConfig,
                          bytes_per_element: float = STATE_BYTES_PER_ELEMENT) -> int:
    """Per-sequence state of the linear-attention (Gated DeltaNet) layers of a hybrid model:
    conv state (kernel - 1) x (value dim + 2 x key dim) + recurrent state key_dim x value dim
    per value head, as llama.cpp sizes it (n_embd_r, n_embd_s); 0 for models without them.
    The one formula estimate, serve and recommend use (bytes_per_element: the runtime's state
    precision, 4 for llama.cpp / SGLang f32)."""
    linear_layers = c.num_hidden_layers - c.kv_cache_layers
    if not linear_layers or not c.linear_num_value_heads:
        return 0
    d_inner = (c.linear_value_head_dim or 0) * c.linear_num_value_heads
    d_state = c.linear_key_head_dim or 0
    groups = c.linear_num_key_heads or 0
    conv = ((c.linear_conv_kernel_dim or 4) - 1) * (d_inner + 2 * groups * d_state)
    return int(linear_layers * (conv + d_state * d_inner) * bytes_per_element)


def kv_cache_bytes(c: ModelConfig, tokens: int, batch: int, bytes_per_element: float,
                   state_bytes_per_element: float = STATE_BYTES_PER_ELEMENT) -> int:
    """KV cache for `tokens` per sequence and `batch` sequences, plus linear-attention state."""
    per_token = 2 * c.kv_cache_layers * c.num_key_value_heads * c.head_dim * bytes_per_element
    state = recurrent_state_bytes(c, state_bytes_per_element)
    return int((per_token * tokens + state) * batch)


def activation_unit_bytes(c: ModelConfig) -> int:
    """(hidden + widest feed-forward) x 2 bytes: the per-token activation unit the runtime tables
    scale."""
    ffn = c.intermediate_size if not c.is_moe else (c.moe_intermediate_size or 0) * (
        c.num_experts_per_tok or 1
    )
    return 2 * (c.hidden_size + (ffn or 0))


def overhead_bytes(rt: RuntimeSpec, c: ModelConfig, prompt_tokens: int, batch: int) -> int:
    fixed = rt.fixed_overhead_gib * GIB
    return int(fixed + rt.activation_bytes_per_token * activation_unit_bytes(c) * prompt_tokens
               * batch)


class RuntimeBytes(NamedTuple):
    """What a runtime allocates beside the weights, per estimate (all GPUs together)."""

    kv: int
    steady_overhead: int
    peak_overhead: int


def padded_tokens(tokens: int, pad: int) -> int:
    """Tokens rounded up to the runtime's KV allocation step."""
    return -(-tokens // pad) * pad if pad > 1 else tokens


def kv_sequence_bytes(c: ModelConfig, tokens: int, kv_elem: float, rt: RuntimeSpec) -> int:
    """KV cache + recurrent state of ONE sequence of `tokens` as `rt` allocates it (padding,
    state precision)."""
    mem = rt.memory
    if mem is None:
        return kv_cache_bytes(c, tokens, 1, kv_elem)
    return kv_cache_bytes(c, padded_tokens(tokens, mem.kv_pad_tokens), 1, kv_elem,
                          mem.state_bytes_per_element)


def _ffn_width(c: ModelConfig) -> int:
    if c.is_moe:
        return (c.moe_intermediate_size or 0) * (c.num_experts_per_tok or 1)
    return c.intermediate_size or 0


def sglang_reserved_bytes(mem: RuntimeMemory, gpu_bytes: float, gpus: int) -> int:
    """SGLang's activation + CUDA-graph reserve per GPU (server_args.py heuristic, in MB)."""
    gib = gpu_bytes / GIB
    chunk, graph_bs = next(((ch, bs) for below, ch, bs in mem.reserve_by_memory_gib if gib < below),
                           (8192.0, 256.0))
    reserved_mb = 512 + max(chunk, 2048) * 1.5 + graph_bs * 2 + gpus / 8 * 1024
    if gib * GIB / 1e9 > 60:
        reserved_mb = max(reserved_mb, 10 * 1024)
    return int(reserved_mb * 2**20)


def budget_reserve_bytes(rt: RuntimeSpec, c: ModelConfig, gpu_bytes: float, gpus: int) -> int:
    """vLLM/SGLang memory held outside the KV pool besides weights, per GPU."""
    mem = rt.memory
    assert mem is not None
    if mem.budget_fraction is None:
        return sglang_reserved_bytes(mem, gpu_bytes, gpus)
    act = mem.prefill_chunk_tokens * (2 * _ffn_width(c) + 4 * c.hidden_size) * 2
    sampler = mem.max_num_seqs * c.vocab_size * 4
    graphs = mem.cuda_graph_gib * GIB if mem.cuda_graph_inside_budget else 0
    return int(act + sampler + graphs + mem.non_torch_gib * GIB)


def runtime_bytes(rt: RuntimeSpec, c: ModelConfig, context_tokens: int, prompt_tokens: int,
                  batch: int, kv_elem: float, gpus: int = 1, accelerator: bool = True,
                  gpu_bytes: float = 0.0) -> RuntimeBytes:
    """KV cache and the runtime's steady and peak overheads, from how `rt` allocates.

    gpus: copies of per-GPU buffers; accelerator: whether a CUDA/Metal context is counted;
    gpu_bytes: memory of one GPU (SGLang's reserve depends on it)."""
    mem = rt.memory
    if mem is None:
        kv = kv_cache_bytes(c, context_tokens, batch, kv_elem)
        over = overhead_bytes(rt, c, prompt_tokens, batch) * gpus
        return RuntimeBytes(kv, int(rt.fixed_overhead_gib * GIB) * gpus, over)
    kv = kv_sequence_bytes(c, context_tokens, kv_elem, rt) * batch
    if mem.model == "transformers":
        steady = int(rt.fixed_overhead_gib * GIB) * gpus
        peak = overhead_bytes(rt, c, prompt_tokens, batch) * gpus
        if mem.full_prompt_logits:
            peak += prompt_tokens * c.vocab_size * 6 * batch
        return RuntimeBytes(kv, steady, peak)
    if mem.model == "budget":
        reserve = budget_reserve_bytes(rt, c, gpu_bytes, gpus) * gpus
        if mem.budget_fraction is not None and not mem.cuda_graph_inside_budget:
            reserve += int(mem.cuda_graph_gib * GIB) * gpus
        return RuntimeBytes(kv, reserve, reserve)
    ctx = padded_tokens(context_tokens, mem.kv_pad_tokens)
    if mem.model == "llama.cpp":
        ub = min(mem.prefill_chunk_tokens or 512, max(ctx, 1))
        compute = ub * c.vocab_size * 4 + ub * (c.hidden_size + _ffn_width(c)) * 4 * 2
        if not mem.flash_attention:
            compute += ctx * ub * c.num_attention_heads * 4
        fixed = int(mem.context_overhead_gib * GIB) if accelerator else 0
        over = (compute + fixed) * gpus
        return RuntimeBytes(kv, over, over)
    # mlx: one prefill chunk's f32 attention scores and MLP activations on top of the cache
    chunk = min(prompt_tokens, mem.prefill_chunk_tokens or prompt_tokens)
    scores = c.num_attention_heads * chunk * chunk * 4
    act = 3 * chunk * (c.hidden_size + _ffn_width(c)) * 2
    return RuntimeBytes(kv, 0, (scores + act) * batch)


def kv_pool_bytes(model: ModelEntry, hw: Hardware, fmt: WeightFormat, rt: RuntimeSpec,
                  task: str | None = None) -> int | None:
    """vLLM/SGLang: bytes of the KV cache pool (budget x GPU memory - weights - reserves), or
    None for runtimes without a pre-allocated pool."""
    mem = rt.memory
    if mem is None or mem.model != "budget" or not hw.is_gpu:
        return None
    assert model.config
    per_gpu = hw.memory_bytes / hw.gpus
    reserve = budget_reserve_bytes(rt, model.config, per_gpu, hw.gpus)
    if mem.budget_fraction is None:
        budget = per_gpu - reserve
    else:
        budget = per_gpu * mem.budget_fraction - reserve
    weights = weights_bytes(resident_counts(model, rt.id, task), fmt)
    return max(0, int(budget * hw.gpus - weights))


def sequences_fit(model: ModelEntry, hw: Hardware, fmt: WeightFormat, rt: RuntimeSpec,
                  context_tokens: int, kv_elem: float, task: str | None = None) -> int | None:
    """vLLM/SGLang: how many sequences of `context_tokens` the KV pool holds at once."""
    pool = kv_pool_bytes(model, hw, fmt, rt, task)
    if pool is None:
        return None
    assert model.config
    per_seq = kv_sequence_bytes(model.config, max(context_tokens, 1), kv_elem, rt)
    return int(pool // per_seq) if per_seq else 0


def decode_range(rt: RuntimeSpec, hw: Hardware, model: ModelEntry | None = None
                 ) -> tuple[float, float]:
    """(P10, P90) multipliers on the decode estimate: the runtime's out-of-sample error for the
    device class, its overall range for classes without enough rows, widened in log space for
    hybrid linear-attention models (no calibration row measured one) and for MoE models on
    runtimes whose fit saw no MoE rows (those without a fitted MoE factor or expert cost)."""
    table = rt.decode_range
    lo, hi = table.get(hw.device_class) or table.get("default") or FALLBACK_RANGE
    c = model.config if model else None
    moe_fitted = rt.moe_bandwidth_factor < 1.0 or rt.moe_expert_ms > 0  # fitted on MoE rows
    if c is not None and ((c.is_moe and not moe_fitted)
                          or c.kv_cache_layers < c.num_hidden_layers):
        lo, hi = lo**UNMEASURED_WIDENING, hi**UNMEASURED_WIDENING
    return lo, hi


def attention_flops(c: ModelConfig, context: int) -> float:
    """FLOPs of one token's attention over `context` cached tokens (QK^T and AV, full-attention
    layers only; linear-attention layers cost no more at depth)."""
    return 4.0 * c.kv_cache_layers * c.num_attention_heads * c.head_dim * context


def flops_per_token(model: ModelEntry, context: int) -> float:
    """2 x active parameters + attention over `context` cached tokens."""
    assert model.config and model.architecture
    return 2.0 * model.param_count.active + attention_flops(model.config, context)


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
        per_layer_overhead_ms=rt.per_layer_overhead_ms.get(
            hw.device_class, rt.per_layer_overhead_ms.get("default", 0.0)),
        moe_bandwidth=rt.moe_bandwidth_factor,
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
    bound = N_("compute") if compute_s > memory_s else N_("memory bandwidth")
    return 1.0 / (max(memory_s, compute_s) + per_token_overhead_ms / 1000), bound


def moe_split_bytes(w: WeightCounts, c: ModelConfig, fmt: WeightFormat, batch: int
                    ) -> tuple[int, int]:
    """(bytes read once per step: attention, shared experts, head; bytes of the routed experts
    the step reads): each expert the batch routes to is read once, E x (1 - (1 - k/E)^batch)
    distinct experts expected. Dense models: (all read bytes, 0)."""
    base = bytes_read_per_token(w, fmt)
    if not c.is_moe:
        return base, 0
    experts, k = c.num_experts or 1, c.num_experts_per_tok or 1
    per_expert = (w.linear - w.linear_active) / max(experts - k, 1) * fmt.bits_per_weight / 8
    touched = k if batch <= 1 else experts * (1 - (1 - k / experts) ** batch)
    return int(base - k * per_expert), int(max(touched, k) * per_expert)


def routed_expert_bytes(w: WeightCounts, c: ModelConfig, fmt: WeightFormat) -> int:
    """Resident bytes of all routed experts (what llama.cpp --n-cpu-moe moves to host RAM)."""
    if not c.is_moe:
        return 0
    experts, k = c.num_experts or 1, c.num_experts_per_tok or 1
    return int((w.linear - w.linear_active) / max(experts - k, 1) * experts
               * fmt.bits_per_weight / 8)


def step_overhead_ms(c: ModelConfig, eff: Efficiency, rt: RuntimeSpec, batch: int = 1) -> float:
    """Fixed cost of a decode step + per-layer cost x layers + per-expert cost of runtimes that
    launch each expert (Transformers visits every expert of every MoE layer)."""
    ms = eff.per_token_overhead_ms + eff.per_layer_overhead_ms * c.num_hidden_layers
    if c.is_moe and rt.moe_expert_ms:
        experts, k = c.num_experts or 1, c.num_experts_per_tok or 1
        visited = experts if rt.moe_loops_all_experts else min(experts, k * batch)
        ms += rt.moe_expert_ms * c.num_hidden_layers * visited
    return ms


COMPUTE_BOUND = N_("compute")  # what bounds a decode step (DecodeStep.bound)
MEMORY_BOUND = N_("memory bandwidth")
HOST_BOUND = N_("host memory bandwidth (offload)")


class DecodeStep(NamedTuple):
    """One decode step: seconds, what bounds it, and its additive terms (seconds)."""

    seconds: float
    bound: str
    memory_s: float
    compute_s: float
    overhead_s: float
    host_s: float = 0.0


def state_element_bytes(rt: RuntimeSpec) -> float:
    """Bytes per element of the linear-attention state as `rt` keeps it."""
    return rt.memory.state_bytes_per_element if rt.memory else STATE_BYTES_PER_ELEMENT


def gemm_rows(fmt: WeightFormat, rt: RuntimeSpec, batch: int) -> int:
    """Rows of a decode step's weight GEMMs: the batch, or the format's padded minimum on `rt`."""
    return max(batch, rt.pad_batch_rows.get(fmt.id, 1))


def step_flops(model: ModelEntry, rows: int, context: int, batch: int) -> float:
    """FLOPs of one decode step: 2 x active params x GEMM rows + attention over the context."""
    assert model.config
    return 2.0 * model.param_count.active * rows + attention_flops(model.config, context) * batch


def decode_step(model: ModelEntry, w: WeightCounts, fmt: WeightFormat, rt: RuntimeSpec,
                eff: Efficiency, bandwidth_gb_s: float, tflops: float | None, context: int,
                batch: int, kv_elem: float, host_bytes: float = 0.0,
                host_gb_s: float | None = None) -> DecodeStep:
    """Seconds of one decode step of `batch` sequences holding `context` tokens each:

    fixed + per-layer (+ per-expert) cost
    + max(bytes read / effective bandwidth, FLOPs / effective compute)
    bytes read = shared weights + the routed experts the batch touches (at the runtime's MoE
    bandwidth factor) + KV cache + the recurrent state of linear-attention layers (read and
    written); FLOPs = 2 x active params x max(batch, the format's padded GEMM rows) + attention
    over the context. `host_bytes` of the read live in host RAM (offload) and are read at
    `host_gb_s`, in turn with the GPU part."""
    assert model.config
    c = model.config
    dense, expert = moe_split_bytes(w, c, fmt, batch)
    state_elem = state_element_bytes(rt)
    kv_read = kv_cache_bytes(c, context, batch, kv_elem, state_elem)
    state_rw = recurrent_state_bytes(c, state_elem) * batch  # written back (kv_read reads it)
    flops = step_flops(model, gemm_rows(fmt, rt, batch), context, batch) if tflops else 0.0
    return step_time(c, rt, eff, dense, expert, kv_read, state_rw, flops, bandwidth_gb_s,
                     tflops, batch, host_bytes, host_gb_s)


def step_time(c: ModelConfig, rt: RuntimeSpec, eff: Efficiency, dense: float, expert: float,
              kv_read: float, state_rw: float, flops: float, bandwidth_gb_s: float,
              tflops: float | None, batch: int, host_bytes: float = 0.0,
              host_gb_s: float | None = None) -> DecodeStep:
    """`decode_step` from what the step reads and computes: (dense, routed-expert) weight
    bytes, the KV cache read, the recurrent state written back, FLOPs (0 without `tflops`).
    Callers that try many setups of one model compute these once per format or runtime."""
    bw = bandwidth_gb_s * 1e9 * eff.bandwidth
    host = min(host_bytes, dense + expert)
    moe = c.is_moe
    on_gpu_expert = max(0.0, expert - host) if moe else expert * (1 - host / (dense + expert))
    on_gpu_dense = dense if moe else dense * (1 - host / (dense + expert))
    memory_s = ((on_gpu_dense + kv_read + state_rw) / bw
                + on_gpu_expert / (bw * max(eff.moe_bandwidth, 1e-6)))
    compute_s = flops / (tflops * 1e12 * eff.compute) if tflops else 0.0
    host_s = host / (host_gb_s * 1e9) if host and host_gb_s else 0.0
    overhead_s = step_overhead_ms(c, eff, rt, batch) / 1000
    bound = COMPUTE_BOUND if compute_s > memory_s else MEMORY_BOUND
    if host_s:
        bound = HOST_BOUND
    return DecodeStep(max(memory_s, compute_s) + host_s + overhead_s, bound, memory_s,
                      compute_s, overhead_s, host_s)


def estimate(
    model: ModelEntry, hw: Hardware, tables: Tables, fmt: WeightFormat, rt: RuntimeSpec,
    context_tokens: int, prompt_tokens: int | None = None, batch: int = 1, kv_dtype: str = "fp16",
    notes: tuple[str, ...] = (), task: str | None = None,
) -> Estimate:
    """Memory, fit, longest context and speed of `model` on `hw` with `fmt` on `rt`, for `task`
    (None: a text job; it decides whether the vision/audio towers are loaded)."""
    assert model.config and model.architecture
    c = model.config
    prompt = min(prompt_tokens if prompt_tokens is not None else context_tokens, context_tokens)
    kv_elem = tables.kv_bytes(kv_dtype)
    eff = efficiency(rt, hw, fmt)
    counts = resident_counts(model, rt.id, task)
    weights = weights_bytes(counts, fmt)
    rb = runtime_bytes(rt, c, context_tokens, prompt, batch, kv_elem, *placement(hw))
    kv, overhead = rb.kv, rb.peak_overhead
    total = weights + kv + overhead
    steady = weights + kv + rb.steady_overhead
    reserved = int(hw.memory_bytes * rt.reserve_fraction) if rt.reserve_fraction else None
    usable = usable_bytes(rt, hw)
    fits = total <= usable
    max_ctx = max_context_tokens(model, hw, fmt, rt, batch, kv_elem, task)

    speed_up = tensor_parallel(hw, eff)
    offloaded = 0
    extra = list(notes)
    if counts.towers != model.towers_params:
        from advisor.ranking.rules import billions

        params = billions(model.towers_params)
        extra.append(msg("the {params} vision/audio tower is not loaded for a text job "
                         "({runtime} runs the language model only); a vision, video or audio "
                         "--task counts it", params=params, runtime=rt.id))
    tflops = hw.fp16_tflops
    offloads = hw.is_gpu and rt.id in ("llama.cpp", "ollama", "lm-studio")
    host_gb_s = rt.host_bandwidth_efficiency * (hw.host_bandwidth_gb_s or hw.bandwidth_gb_s)
    if not fits and offloads and not hw.host_ram_bytes:
        extra.append(msg("does not fit in GPU memory; {runtime} can offload layers to system RAM:"
                         " pass --ram-gb to estimate that", runtime=rt.id))
    if not fits and offloads and hw.host_ram_bytes:
        offloaded = total - usable
        if offloaded < hw.host_ram_bytes * 0.8:
            extra.append(msg(
                "does not fit in GPU memory: {offloaded:.1f} GB of weights offloaded to host RAM"
                " (llama.cpp --n-gpu-layers / MoE experts on CPU); host RAM read at {share:.0%} of"
                " {bandwidth:g} GB/s", offloaded=offloaded / 1e9,
                share=rt.host_bandwidth_efficiency, bandwidth=hw.host_bandwidth_gb_s or 0))
    host_read = 0.0
    if offloaded:
        dense, expert = moe_split_bytes(counts, c, fmt, batch)
        experts_total = routed_expert_bytes(counts, c, fmt)
        if experts_total and offloaded <= experts_total:  # MoE: experts go to host RAM first
            host_read = expert * offloaded / experts_total
        else:  # layers: the offloaded share of every byte read
            host_read = (dense + expert) * min(1.0, offloaded / weights)
    step = decode_step(model, counts, fmt, rt, eff, hw.bandwidth_gb_s * speed_up,
                       tflops * speed_up if tflops else None, context_tokens, batch, kv_elem,
                       host_read, host_gb_s)
    step_tps, bound = 1.0 / step.seconds, step.bound
    feasible = fits or offloaded
    decode = step_tps if feasible else None
    prefill = ttft = None
    if tflops and feasible:
        avg_flops = flops_per_token(model, prompt // 2)
        prefill = tflops * speed_up * 1e12 * eff.compute / avg_flops
        ttft = prompt / prefill if prompt else 0.0
    if not tflops:
        extra.append(msg("prefill speed unknown: the device profile has no published FP16 "
                         "compute"))
    extra += runtime_notes(rt, hw, model, weights, total, usable, fits)
    span = decode_range(rt, hw, model)
    checkpoint = official_checkpoint(model, fmt)
    flags = []
    if checkpoint is None and fmt.family not in ("float",):
        flags.append(msg("no official {quant} checkpoint: computed for a community or self-made "
                         "quant", quant=fmt.id))
    if context_tokens > model.context.max_tokens:
        flags.append(msg("context {context:,} exceeds the model's maximum {max:,}",
                         context=context_tokens, max=model.context.max_tokens))
    elif context_tokens > model.context.native_tokens:
        extra.append(msg("context beyond the native {native:,} tokens needs {method} scaling",
                         native=model.context.native_tokens,
                         method=model.context.extension_method))
    return Estimate(
        model_id=model.id,
        hf_repo=model.hf_repo,
        license=model.license.id,
        device=hw.name,
        device_id=hw.device_id,
        memory=Memory(
            weights_bytes=weights, kv_cache_bytes=kv, overhead_bytes=overhead, total_bytes=total,
            usable_bytes=usable, runtime_reserved_bytes=reserved,
            offloaded_bytes=offloaded, steady_bytes=steady, peak_bytes=total,
            kv_pool_bytes=kv_pool_bytes(model, hw, fmt, rt, task),
            sequences_fit=sequences_fit(model, hw, fmt, rt, context_tokens, kv_elem, task),
            memory_model=rt.memory.model if rt.memory else None,
        ),
        fits=fits,
        max_context_tokens=max_ctx,
        speed=Speed(
            decode_tokens_per_s=decode,
            prefill_tokens_per_s=prefill,
            time_to_first_token_s=ttft,
            bound=bound if feasible else "does not fit",
            aggregate_decode_tokens_per_s=decode * batch if decode and batch > 1 else None,
            decode_tokens_per_s_p10=decode * span[0] if decode else None,
            decode_tokens_per_s_p90=decode * span[1] if decode else None,
            range_source=rt.range_source or None,
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
    kv_elem: float, task: str | None = None,
) -> int:
    """Longest context (prompt = context, worst case) that fits in usable memory, capped at the
    model's maximum; 0 when even the weights (those `rt` loads for `task`) do not fit."""
    assert model.config
    c = model.config
    place = placement(hw)
    weights = weights_bytes(resident_counts(model, rt.id, task), fmt)

    def need(tokens: int) -> int:
        rb = runtime_bytes(rt, c, tokens, tokens, batch, kv_elem, *place)
        return weights + rb.kv + rb.peak_overhead

    usable = usable_bytes(rt, hw)
    if need(0) > usable:
        return 0
    top = model.context.max_tokens
    if need(top) <= usable:
        return top
    lo, hi = 0, top  # need() grows with tokens: bisect for the last context that fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if need(mid) <= usable else (lo, mid)
    return lo


def usable_bytes(rt: RuntimeSpec, hw: Hardware) -> int:
    """Memory the runtime may use on `hw`: on Apple Silicon under MLX the wired limit it sets
    (Metal's recommendedMaxWorkingSetSize, a share of RAM by size), else the profile's usable
    memory."""
    if rt.wired_limit_fraction and hw.device_class == "apple-silicon":
        gib = hw.memory_bytes / GIB
        share = next((f for below, f in rt.wired_limit_fraction if gib < below),
                     rt.wired_limit_fraction[-1][1])
        return int(hw.memory_bytes * share)
    return hw.usable_memory_bytes


def default_context_tokens(rt: RuntimeSpec, hw: Hardware, model: ModelEntry) -> int | None:
    """The context `rt` gives the model when nobody sets one (Ollama: by GPU memory), capped at
    the model's maximum; None for runtimes without such a default."""
    tiers = rt.default_context_by_memory_gib
    if not tiers:
        return None
    gib = (hw.memory_bytes if hw.is_gpu else hw.usable_memory_bytes) / GIB
    tokens = next((t for below, t in tiers if gib < below), tiers[-1][1])
    return min(int(tokens), model.context.max_tokens)


def runtime_notes(rt: RuntimeSpec, hw: Hardware, model: ModelEntry, weights: int, total: int,
                  usable: int, fits: bool) -> list[str]:
    """What the runtime's own defaults mean here: Ollama's default context, MLX's wired limit."""
    out: list[str] = []
    ctx = default_context_tokens(rt, hw, model)
    if ctx:
        out.append(msg("{runtime} runs a model at {tokens:,} tokens of context unless num_ctx or "
                       "OLLAMA_CONTEXT_LENGTH says otherwise ({source})", runtime=rt.id,
                       tokens=ctx, source=rt.default_context_source))
    if rt.wired_limit_fraction and hw.device_class == "apple-silicon":
        if rt.slow_above_wired_share and weights > rt.slow_above_wired_share * usable:
            out.append(msg("the weights exceed {share:.0%} of the wired limit ({limit:.1f} GB): "
                           "mlx-lm warns this can be slow", share=rt.slow_above_wired_share,
                           limit=usable / 1e9))
        if not fits and total < hw.memory_bytes - 8 * GIB:
            out.append(msg("over the wired limit ({limit:.1f} GB) but within RAM: sudo sysctl "
                           "iogpu.wired_limit_mb={mb} (macOS 15+) raises it",
                           limit=usable / 1e9, mb=int((hw.memory_bytes - 8 * GIB) / 2**20)))
    return out


def placement(hw: Hardware) -> tuple[int, bool, float]:
    """(copies of per-GPU buffers, accelerator context counted, memory of one GPU)."""
    accelerator = hw.is_gpu or hw.device_class == "apple-silicon"
    return (hw.gpus if hw.is_gpu else 1), accelerator, hw.memory_bytes / max(hw.gpus, 1)


def official_checkpoint(model: ModelEntry, fmt: WeightFormat) -> str | None:
    """The official repo holding this format, if Qwen published one."""
    if fmt.family == "float":
        return model.hf_repo
    for q in model.quantized:
        if q.format == fmt.id or (q.format == "gguf" and fmt.id in q.quants):
            return q.repo
        if q.format == "gguf" and not q.quants and fmt.id == UNLISTED_GGUF_QUANT:
            return q.repo
    # official Hugging Face repos listed as artifacts (FP8 / GPTQ / AWQ checkpoints, GGUF files)
    for a in model.artifacts:
        if a.hub != "huggingface" or a.provenance != "official" or not a.repo:
            continue
        if a.format == fmt.id or (a.format in ("gguf", "mlx") and fmt.id in a.quants):
            return a.repo
        if a.format == "gguf" and not a.quants and fmt.id == UNLISTED_GGUF_QUANT:
            return a.repo
    return None


# Ready downloads in order of preference: Qwen's own, the Ollama library's, then community builds.
PROVENANCE_ORDER = ("official", "ollama-library", "community")


class ReadyDownload(NamedTuple):
    """Where weights in one format can be had without converting them yourself."""

    provenance: str
    """official, ollama-library or community (catalog `artifacts`)."""
    hub: str
    ref: str
    """the repo id (Hugging Face / ModelScope) or the Ollama tag."""
    publisher: str


def ready_download(model: ModelEntry, fmt: WeightFormat, runtime_id: str | None = None
                   ) -> ReadyDownload | None:
    """The preferred ready download of `fmt` weights: official first, then an Ollama library tag
    (only for the ollama runtime), then a community build. A GGUF repo that lists no files counts
    for UNLISTED_GGUF_QUANT only (the file every GGUF publisher ships)."""
    if (repo := official_checkpoint(model, fmt)):
        return ReadyDownload("official", "huggingface", repo, repo.split("/")[0])
    found = []
    for a in model.artifacts:
        if a.provenance == "official" or (a.hub == "ollama" and runtime_id != "ollama"):
            continue
        listed = fmt.id in a.quants or a.format == fmt.id
        unlisted = a.format == "gguf" and not a.quants and fmt.id == UNLISTED_GGUF_QUANT
        if listed or unlisted:
            found.append(ReadyDownload(a.provenance, a.hub, a.repo or a.tag or "", a.publisher))
    if model.ollama_tag and runtime_id == "ollama" and fmt.id == UNLISTED_GGUF_QUANT:
        found.append(ReadyDownload("ollama-library", "ollama", model.ollama_tag, "ollama"))
    if not found:
        return None
    return min(found, key=lambda d: (PROVENANCE_ORDER.index(d.provenance), d.hub != "huggingface"))


def obtainable(model: ModelEntry, fmt: WeightFormat, rt: RuntimeSpec) -> bool:
    """Whether `fmt` weights of `model` can be had for `rt`: made with its tools, or a ready
    download (official, an Ollama library tag on Ollama, or a community build, named as such)."""
    return made_by_tools(fmt, rt) or ready_download(model, fmt, rt.id) is not None


def made_by_tools(fmt: WeightFormat, rt: RuntimeSpec) -> bool:
    """Whether `fmt` weights are made from the 16-bit ones by a converter or by `rt` on load."""
    return fmt.made_from_16bit or fmt.id in rt.quantizes_on_load


def download_key(fmt: WeightFormat, rt: RuntimeSpec) -> tuple[str, bool]:
    """All `ready_download` reads of the runtime besides the model: the format, and whether the
    runtime is Ollama (whose library tags count only there)."""
    return fmt.id, rt.id == "ollama"


def compatible(fmt: WeightFormat, rt: RuntimeSpec, hw: Hardware) -> str | None:
    """Why `rt` cannot run `fmt` on `hw`, or None when it can."""
    if hw.device_class not in rt.device_classes:
        return msg("{runtime} does not run on {kind} devices ({kinds})", runtime=rt.id,
                   kind=hw.device_class, kinds=", ".join(rt.device_classes))
    if fmt.family not in rt.format_families:
        runs = ", ".join(rt.format_families)
        return msg("{runtime} does not run {quant} weights (it runs {runs} formats)",
                   runtime=rt.id, quant=fmt.id, runs=runs)
    if fmt.family == "fp8" and "fp8" not in hw.fast_formats:
        from advisor.recipes import fp8_weight_only

        if fp8_weight_only(rt.id, hw.device_id):
            return None  # vLLM's FP8 Marlin weight-only path (catalog/runtime_flags.toml)
        return msg("{device} has no fast FP8 kernels (FP8 needs Ada/Hopper/Blackwell or MI300)",
                   device=hw.name)
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
        notes.append(msg("runtime {runtime} chosen for a {kind} device (use --runtime)",
                         runtime=rt.id, kind=hw.device_class))
    if quant:
        fmt = tables.weight_format(quant)
    else:
        preferred = [*(default.quants if default else ()), *tables.formats]
        fmt = next(
            (tables.formats[q] for q in preferred if compatible(tables.formats[q], rt, hw) is None),
            tables.formats[preferred[0]],
        )
        notes.append(msg("quantization {quant} chosen for {runtime} on this device (use --quant)",
                         quant=fmt.id, runtime=rt.id))
    problem = compatible(fmt, rt, hw)
    if problem:
        from advisor.errors import InputError

        raise InputError(problem)
    if fmt.family == "fp8" and "fp8" not in hw.fast_formats:
        from advisor.recipes import FP8_MARLIN_NOTE

        notes.append(FP8_MARLIN_NOTE)
    return fmt, rt, tuple(notes)
