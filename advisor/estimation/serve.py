"""Serving many users: how many sequences a runtime's KV pool holds, and the speed at that load.

Pure functions over the estimator's weights, KV and FLOP formulas (advisor.estimation.estimate)
and the runtime defaults in catalog/serving.toml:
- KV pool: vLLM `total x gpu_memory_utilization - weights - activations - non-torch - graphs`;
  SGLang `total x mem_fraction_static - weights` with its reserve formula; llama.cpp and Ollama
  `-np` slots of `-c / -np` tokens that must fit beside the weights;
- sessions: pool // (per-sequence KV + recurrent state of linear-attention layers);
- batched decode: one step reads the (touched) weights once and every sequence's KV, or is bound
  by compute at large batch; prefill is chunked into the steps that decode the running streams.
"""

from __future__ import annotations

import math
import shlex
from functools import lru_cache
from typing import Any

from advisor.data.formats import RuntimeSpec, Tables, WeightFormat
from advisor.data.hardware import GIB, Hardware
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import ModelConfig, ModelEntry
from advisor.estimation.estimate import (
    WeightCounts,
    decode_step,
    efficiency,
    flops_per_token,
    kv_cache_bytes,
    loads_towers,
    moe_split_bytes,
    official_checkpoint,
    resident_counts,
    tensor_parallel,
    weight_counts,
    weights_bytes,
)
from advisor.estimation.estimate import (
    recurrent_state_bytes as _state_bytes,
)
from advisor.i18n import msg

MIB = 1024**2
RECURRENT_STATE_BYTES_PER_ELEMENT = 4  # llama.cpp and SGLang keep conv + SSM state in f32
SERVING_RUNTIMES = ("vllm", "sglang", "llama.cpp", "ollama")


@lru_cache(maxsize=1)
def serving_defaults() -> dict[str, Any]:
    """catalog/serving.toml as read (runtime defaults by version, with sources)."""
    from advisor.data.loader import packaged_path, read_toml
    from advisor.errors import CatalogError

    data = read_toml(packaged_path("serving.toml"))
    missing = [k for k in ("vllm", "sglang", "llama_cpp", "ollama") if k not in data]
    if missing:
        raise CatalogError([f"serving.toml: missing table(s) {', '.join(missing)}"])
    return data


@record
class ServeAssumptions(Record):
    """What a serving estimate assumed."""

    runtime: str
    runtime_version: str
    quant: str
    kv_dtype: str
    gpus: int
    context_tokens: int
    prompt_tokens: int
    users: int
    kv_bytes_per_token: int
    recurrent_state_bytes_per_sequence: int
    reserve: dict[str, float]
    prefill_scheduling: str
    notes: tuple[str, ...]
    sources: tuple[str, ...]


@record
class ServeResult(Record):
    """`advisor serve`: sessions that fit, speed and first-token time under load, the command."""

    schema_version: int = SCHEMA_VERSION
    model_id: str
    license: str
    device: str
    device_id: str | None
    sessions_max: int
    fits: bool
    gpus_needed: int | None
    kv_pool_bytes: int
    weights_bytes: int
    aggregate_decode_tokens_per_s: float | None
    per_user_decode_tokens_per_s: float | None
    time_to_first_token_s: float | None
    command: str
    why_not: tuple[str, ...]
    assumptions: ServeAssumptions


def recurrent_state_bytes(c: ModelConfig) -> int:
    """Per-sequence f32 state of the linear-attention layers (estimate.recurrent_state_bytes)."""
    return _state_bytes(c, RECURRENT_STATE_BYTES_PER_ELEMENT)


def kv_bytes_per_token(c: ModelConfig, kv_elem: float) -> int:
    """KV bytes one token adds to one sequence (all layers that keep KV)."""
    return kv_cache_bytes(c, 1, 1, kv_elem) - kv_cache_bytes(c, 0, 1, kv_elem)


def activation_unit(c: ModelConfig) -> int:
    ffn = (
        c.intermediate_size
        if not c.is_moe
        else (c.moe_intermediate_size or 0) * (c.num_experts_per_tok or 1)
    )
    return (2 * (ffn or 0) + 4 * c.hidden_size) * 2


def vllm_batch_defaults(per_gpu_gib: float, device_id: str | None) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) vLLM's API server picks for this GPU."""
    v = serving_defaults()["vllm"]
    large = per_gpu_gib >= v["large_gpu_min_gib"] and not (device_id or "").startswith("a100")
    if large:
        return v["max_num_seqs_large"], v["max_num_batched_tokens_large"]
    return v["max_num_seqs_small"], v["max_num_batched_tokens_small"]


def vllm_kv_pool_bytes(
    total_per_gpu: int, weights_per_gpu: int, activation_bytes: int, utilization: float
) -> int:
    """Per-GPU KV pool: budget (total x utilization) minus weights, activation peak, non-torch
    memory and CUDA graphs (inside the budget from v0.21)."""
    v = serving_defaults()["vllm"]
    budget = total_per_gpu * utilization
    fixed = (v["non_torch_gib"] + v["cuda_graph_gib"]) * GIB
    return max(0, int(budget - weights_per_gpu - activation_bytes - fixed))


def vllm_kv_tokens(pool_bytes: int, per_token_bytes: int, block: int) -> int:
    """vLLM's 'GPU KV cache size: N tokens': whole blocks of `block` tokens in the pool."""
    if per_token_bytes <= 0:
        return 0
    return int(pool_bytes // (per_token_bytes * block)) * block


def vllm_max_concurrency(kv_tokens: int, max_model_len: int) -> float:
    """vLLM's 'Maximum concurrency for X tokens per request: Y' (tokens / max_model_len)."""
    return kv_tokens / max_model_len


def sglang_class(gpu_mib: float, tp: int) -> tuple[int, int]:
    """(chunked_prefill_size, cuda_graph_max_bs) SGLang picks for a GPU of this size."""
    for cls in serving_defaults()["sglang"]["classes"]:
        if gpu_mib < cls["below_mib"]:
            bs = cls["cuda_graph_max_bs_tp4"] if tp >= 4 else cls["cuda_graph_max_bs"]
            return cls["chunked_prefill_size"], bs
    last = serving_defaults()["sglang"]["classes"][-1]
    return last["chunked_prefill_size"], last["cuda_graph_max_bs"]


def sglang_mem_fraction_static(gpu_mib: float, tp: int, pp: int = 1) -> float:
    """SGLang's default mem_fraction_static: (gpu_mem - reserved) / gpu_mem, rounded to 3."""
    s = serving_defaults()["sglang"]
    chunk, graph_bs = sglang_class(gpu_mib, tp)
    reserved = (
        s["reserve_base_mib"]
        + max(chunk, s["reserve_min_prefill_tokens"]) * s["reserve_per_prefill_token_mib"]
        + graph_bs * s["reserve_per_graph_batch_mib"]
        + tp * pp / 8 * s["reserve_per_tp_pp_eighth_mib"]
    )
    if gpu_mib > s["reserve_floor_above_mib"]:
        reserved = max(reserved, s["reserve_floor_mib"])
    return round(float(gpu_mib - reserved) / gpu_mib, 3)


def sglang_kv_tokens(pool_bytes: int, per_token_bytes: int) -> int:
    """SGLang's '#tokens' of the KV pool ('KV Cache is allocated. #tokens: N')."""
    return int(pool_bytes // per_token_bytes) if per_token_bytes > 0 else 0


def moe_weight_bytes_read(w: WeightCounts, c: ModelConfig, fmt: WeightFormat, batch: int) -> int:
    """Weight bytes one batched decode step reads: shared weights once, and each expert the batch
    routes to once (estimate.moe_split_bytes)."""
    return sum(moe_split_bytes(w, c, fmt, batch))


def decode_step_s(
    model: ModelEntry,
    hw: Hardware,
    fmt: WeightFormat,
    rt: RuntimeSpec,
    batch: int,
    kv_tokens_per_seq: int,
    kv_elem: float,
) -> tuple[float, str]:
    """Seconds of one decode step for `batch` streams each holding `kv_tokens_per_seq` tokens."""
    eff = efficiency(rt, hw, fmt)
    speed_up = tensor_parallel(hw, eff)
    tflops = device_tflops(hw, fmt)
    step = decode_step(model, weight_counts(model), fmt, rt, eff, hw.bandwidth_gb_s * speed_up,
                       tflops * speed_up if tflops else None, kv_tokens_per_seq, batch, kv_elem)
    return step.seconds, step.bound


def device_tflops(hw: Hardware, fmt: WeightFormat) -> float | None:
    """Dense TFLOPS the matmuls run at: FP8 for FP8 weights on FP8 hardware, else FP16."""
    if fmt.family == "fp8" and hw.fp8_tflops and "fp8" in hw.fast_formats:
        return hw.fp8_tflops
    return hw.fp16_tflops


def ttft_under_load_s(
    model: ModelEntry,
    hw: Hardware,
    fmt: WeightFormat,
    rt: RuntimeSpec,
    prompt: int,
    running: int,
    kv_tokens_per_seq: int,
    kv_elem: float,
    step_tokens: int,
) -> float | None:
    """First-token time of a `prompt`-token request while `running` streams decode: the prompt
    is chunked into steps of (step_tokens - running) tokens, each step also decoding the others."""
    tflops = device_tflops(hw, fmt)
    if not tflops:
        return None
    eff = efficiency(rt, hw, fmt)
    speed_up = tensor_parallel(hw, eff)
    chunk = max(step_tokens - running, min(step_tokens, 256))
    steps = math.ceil(prompt / chunk)
    decode_s, _ = decode_step_s(model, hw, fmt, rt, max(running, 1), kv_tokens_per_seq, kv_elem)
    prefill_flops = flops_per_token(model, prompt // 2) * prompt
    prefill_s = prefill_flops / (tflops * 1e12 * eff.compute * speed_up)
    return steps * decode_s + prefill_s


def serve(
    model: ModelEntry,
    hw: Hardware,
    tables: Tables,
    fmt: WeightFormat,
    rt: RuntimeSpec,
    users: int,
    context: int,
    prompt: int | None = None,
    kv_dtype: str = "fp16",
    min_speed: float | None = None,
    max_ttft: float | None = None,
    notes: tuple[str, ...] = (),
    search_gpus: bool = True,
) -> ServeResult:
    """Sessions, throughput and first-token time of `users` streams of `context` tokens."""
    assert model.config
    c = model.config
    defaults = serving_defaults()
    kv_elem = tables.kv_bytes(kv_dtype)
    prompt_tokens = min(prompt if prompt is not None else context // 2, context)
    gpus = hw.gpus if hw.is_gpu else 1
    weights = weights_bytes(resident_counts(model, rt.id), fmt)  # a text job: serve_command
    per_token = kv_bytes_per_token(c, kv_elem)
    state = recurrent_state_bytes(c)
    per_seq = per_token * context + state
    extra: list[str] = list(notes)
    sources: list[str] = []
    reserve: dict[str, float] = {}
    total_per_gpu = hw.memory_bytes // gpus
    rid = rt.id
    step_tokens = 2048
    if rid == "vllm":
        v = defaults["vllm"]
        seqs_default, step_tokens = vllm_batch_defaults(total_per_gpu / GIB, hw.device_id)
        util = v["gpu_memory_utilization"]
        act = step_tokens * activation_unit(c)
        pool_per_gpu = vllm_kv_pool_bytes(total_per_gpu, weights // gpus, act, util)
        pool = pool_per_gpu * gpus
        block = v["block_size_tokens"]
        blocks = vllm_kv_tokens(pool, per_token, block) // block
        seq_blocks = math.ceil(context / block)
        if state:  # hybrid: each sequence also holds its state pages in the same pool
            sessions = int(pool // (seq_blocks * block * per_token + state))
            extra.append(msg(
                "hybrid model: vLLM keeps one Mamba (linear-attention state) block per running "
                "sequence and refuses to start when --max-num-seqs exceeds the blocks that fit "
                "(vllm-project/recipes#831), so the command sets --max-num-seqs explicitly"
            ))
        else:
            sessions = blocks // seq_blocks
        sessions = min(sessions, seqs_default)
        reserve = {
            "gpu_memory_utilization": util,
            "activation_gib_per_gpu": act / GIB,
            "non_torch_gib": v["non_torch_gib"],
            "cuda_graph_gib": v["cuda_graph_gib"],
            "max_num_batched_tokens": step_tokens,
            "max_num_seqs_default": seqs_default,
        }
        sources += [
            v["gpu_memory_utilization_source"],
            v["batch_defaults_source"],
            v["cuda_graph_source"],
            v["non_torch_source"],
        ]
        scheduling = v["prefill_scheduling"]
        version = v["version"]
    elif rid == "sglang":
        s = defaults["sglang"]
        gpu_mib = total_per_gpu / MIB
        frac = sglang_mem_fraction_static(gpu_mib, gpus)
        step_tokens, graph_bs = sglang_class(gpu_mib, gpus)
        pool = max(0, int(total_per_gpu * frac - weights / gpus)) * gpus
        sessions = int(pool // per_seq) if per_seq else 0
        reserve = {
            "mem_fraction_static": frac,
            "chunked_prefill_size": step_tokens,
            "cuda_graph_max_bs": graph_bs,
        }
        sources.append(s["source"])
        scheduling = s["prefill_scheduling"]
        version = s["version"]
        util = frac
    else:  # llama.cpp / ollama: -np slots of -c/-np tokens beside the weights
        lc = defaults["llama_cpp"]
        o = defaults["ollama"]
        step_tokens = lc["n_batch"]
        fixed = (rt.fixed_overhead_gib + lc["compute_buffer_gib"]) * GIB * gpus
        pool = max(0, int(hw.usable_memory_bytes - weights - fixed))
        pad = lc["context_pad_tokens"]
        slot_tokens = math.ceil(context / pad) * pad
        sessions = int(pool // (per_token * slot_tokens + state)) if per_seq else 0
        reserve = {
            "usable_memory_fraction": hw.usable_memory_fraction,
            "compute_buffer_gib": lc["compute_buffer_gib"],
            "fixed_overhead_gib": rt.fixed_overhead_gib,
        }
        sources += [lc["source"], lc["compute_buffer_source"]]
        scheduling = lc["prefill_scheduling"]
        version = lc["version"]
        util = hw.usable_memory_fraction
        if rid == "ollama":
            version = o["version"]
            sources += [o["num_parallel_source"], o["single_slot_source"], o["launch_source"]]
            if state or model.id.startswith("qwen3-vl"):
                sessions = min(sessions, 1)
                extra.append(msg(
                    "Ollama forces OLLAMA_NUM_PARALLEL to 1 for this architecture "
                    "(server/sched.go); use llama.cpp or vLLM for several users"
                ))
        if hw.is_gpu and gpus > 1:
            extra.append(msg(
                "{runtime} splits layers across GPUs by default: memory adds up, speed does not",
                runtime=rid))
    sessions = max(0, sessions)
    served = min(users, sessions)
    why: list[str] = []
    agg = per_user = ttft = None
    if served:
        step_s, bound = decode_step_s(model, hw, fmt, rt, served, context, kv_elem)
        per_user = 1.0 / step_s
        agg = served / step_s
        ttft = ttft_under_load_s(
            model, hw, fmt, rt, prompt_tokens, max(served - 1, 0), context, kv_elem, step_tokens
        )
        extra.append(msg(
            "decode at {streams} streams is {bound}-bound; every stream's KV taken at the full "
            "{context:,} tokens (worst case)", streams=served, bound=bound, context=context))
        if ttft is None:
            extra.append(msg("time to first token unknown: the device profile has no published "
                             "compute"))
    if sessions < users:
        why.append(msg("{sessions} sessions of {context:,} tokens fit, {users} wanted",
                       sessions=sessions, context=context, users=users))
    if min_speed is not None and (per_user or 0) < min_speed:
        why.append(msg("{speed:.1f} tokens/s per user, {wanted:g} wanted", speed=per_user or 0,
                       wanted=min_speed))
    if max_ttft is not None and (ttft is None or ttft > max_ttft):
        why.append(
            msg("first token in {ttft:.1f} s, {wanted:g} s wanted", ttft=ttft, wanted=max_ttft)
            if ttft is not None
            else msg("first-token time unknown")
        )
    fits = not why
    gpus_needed: int | None = gpus if fits else None
    if not fits and search_gpus and hw.is_gpu and rid in ("vllm", "sglang") and hw.device_id:
        gpus_needed = more_gpus(
            model, hw, tables, fmt, rt, users, context, prompt, kv_dtype, min_speed, max_ttft
        )
    command = serve_command(
        model, rt, fmt, gpus, context, max(served, 1), kv_dtype, util, hw.device_id
    )
    hub = gguf_on_hub(model, fmt) if rid == "llama.cpp" else None
    if rid == "llama.cpp" and hub is None:
        extra.append(msg("no ready {quant} GGUF on Hugging Face: make the file first (`advisor "
                         "run {model} --quant {quant} --runtime llama.cpp` prints the commands); "
                         "the command serves it", quant=fmt.id, model=model.id))
    elif hub is not None and hub != official_checkpoint(model, fmt):
        extra.append(msg("{repo} is a community build, not published by Qwen", repo=hub))
    if rid in ("llama.cpp", "ollama") and served > 1 and not hw.is_gpu:
        extra.append(msg("CPU serving: the streams share one memory bus"))
    return ServeResult(
        model_id=model.id,
        license=model.license.id,
        device=hw.name,
        device_id=hw.device_id,
        sessions_max=sessions,
        fits=fits,
        gpus_needed=gpus_needed,
        kv_pool_bytes=int(pool),
        weights_bytes=weights,
        aggregate_decode_tokens_per_s=agg,
        per_user_decode_tokens_per_s=per_user,
        time_to_first_token_s=ttft,
        command=command,
        why_not=tuple(why),
        assumptions=ServeAssumptions(
            runtime=rid,
            runtime_version=version,
            quant=fmt.id,
            kv_dtype=kv_dtype,
            gpus=gpus,
            context_tokens=context,
            prompt_tokens=prompt_tokens,
            users=users,
            kv_bytes_per_token=per_token,
            recurrent_state_bytes_per_sequence=state,
            reserve=reserve,
            prefill_scheduling=scheduling,
            notes=(*hw.assumptions, *extra),
            sources=tuple(sources),
        ),
    )


def more_gpus(
    model: ModelEntry,
    hw: Hardware,
    tables: Tables,
    fmt: WeightFormat,
    rt: RuntimeSpec,
    users: int,
    context: int,
    prompt: int | None,
    kv_dtype: str,
    min_speed: float | None,
    max_ttft: float | None,
) -> int | None:
    """Fewest GPUs of this device (tensor parallel, up to the runtime's maximum) that meet the
    targets, or None."""
    from advisor.data.hardware import HardwareQuery, hardware_from

    assert model.config
    for n in (2, 4, 8):
        if n <= hw.gpus or n > rt.max_gpus or model.config.num_attention_heads % n:
            continue
        bigger = hardware_from(HardwareQuery(device=hw.device_id, gpus=n))
        result = serve(
            model,
            bigger,
            tables,
            fmt,
            rt,
            users,
            context,
            prompt,
            kv_dtype,
            min_speed,
            max_ttft,
            search_gpus=False,
        )
        if result.fits:
            return n
    return None


def gguf_on_hub(model: ModelEntry, fmt: WeightFormat) -> str | None:
    """The Hugging Face repo llama-server -hf takes `fmt` from (official first, then a community
    build), or None: the GGUF is made from the 16-bit weights."""
    from advisor.estimation.estimate import ready_download

    ready = ready_download(model, fmt, "llama.cpp")
    return ready.ref if ready and ready.hub == "huggingface" else None


def model_source(model: ModelEntry, fmt: WeightFormat, rt: RuntimeSpec) -> str:
    repo = official_checkpoint(model, fmt) or model.hf_repo or model.id
    return repo


def serve_command(
    model: ModelEntry,
    rt: RuntimeSpec,
    fmt: WeightFormat,
    gpus: int,
    context: int,
    seqs: int,
    kv_dtype: str,
    util: float,
    device_id: str | None = None,
    nodes: int = 1,
) -> str:
    """The serve command: an argument list with the flag spellings of catalog/serving.toml,
    joined with shlex.quote."""
    d = serving_defaults()
    repo = model_source(model, fmt, rt)
    fp8_kv = kv_dtype.startswith("fp8")
    gguf_kv = kv_dtype in ("q8_0", "q4_0")
    args: list[str]
    if rt.id == "vllm":
        f = d["vllm"]["flags"]
        args = [*f["command"], repo, f["max_model_len"], str(context), f["max_num_seqs"],
                str(seqs), f["gpu_memory_utilization"], f"{util:g}"]
        if gpus > 1:
            args += [f["tensor_parallel"], str(gpus)]
        if nodes > 1:
            args += [f["pipeline_parallel"], str(nodes), f["executor"], "ray"]
        if fmt.id == "fp8" and repo == model.hf_repo:
            args += [f["quantization"], "fp8"]
        if fp8_kv:
            args += [f["kv_cache_dtype"], f["kv_cache_fp8"]]
        if not loads_towers(model, rt.id):
            args += [f["language_model_only"]]
    elif rt.id == "sglang":
        f = d["sglang"]["flags"]
        args = [*f["command"], f["model"], repo, f["max_model_len"], str(context),
                f["max_num_seqs"], str(seqs), f["gpu_memory_utilization"], f"{util:g}"]
        if gpus * nodes > 1:
            args += [f["tensor_parallel"], str(gpus * nodes)]
        if nodes > 1:
            args += [f["nnodes"], str(nodes), f["node_rank"], "0", f["dist_init_addr"],
                     "HEAD_IP:5000"]
        if fp8_kv:
            args += [f["kv_cache_dtype"], f["kv_cache_fp8"]]
    elif rt.id == "llama.cpp":
        f = d["llama_cpp"]["flags"]
        quant = fmt.id.upper() if fmt.family == "gguf" else fmt.id
        hub = gguf_on_hub(model, fmt)
        if hub is not None:
            source = [f["model"], f"{hub}:{quant}"]
        else:  # the file recipes.self_made writes
            from advisor.recipes import made_gguf_file

            source = [f["local_model"], made_gguf_file(model, fmt.id)]
        args = [*f["command"], *source, f["context"], str(context * seqs),
                f["parallel"], str(seqs)]
        if gguf_kv:
            args += [f["cache_type_k"], kv_dtype, f["cache_type_v"], kv_dtype, *f["flash_attn"]]
        if hub is not None and not loads_towers(model, rt.id):  # -hf would fetch the projector
            args += [f["no_mmproj"]]
    else:  # ollama: OLLAMA_CONTEXT_LENGTH is per slot (llama-server gets -c ctx x parallel)
        e = d["ollama"]["env"]
        args = [f"{e['parallel']}={seqs}", f"{e['context']}={context}"]
        if gguf_kv:
            args += [f"{e['flash_attn']}=1", f"{e['kv_cache_type']}={kv_dtype}"]
        args += e["command"]
    return " ".join(shlex.quote(a) for a in args)
