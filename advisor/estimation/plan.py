"""`advisor plan`: which GPUs (device x count, then several nodes) serve a load, ranked by cost.

Pure search over catalog/devices.toml GPU profiles with `advisor.estimation.serve.serve` for each
candidate; prices come from catalog/prices.toml (or the user's --gpu-hour-usd), never invented.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from advisor.data.formats import Tables
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import ModelEntry
from advisor.i18n import msg

GPU_COUNTS = (1, 2, 4, 8)
MAX_NODES = 8
GPUS_PER_NODE = 8
FORMAT_PREFERENCE = ("bf16", "fp8", "awq", "gptq-int4")
SECONDS_PER_DAY = 86400


@lru_cache(maxsize=1)
def prices() -> dict[str, Any]:
    from advisor.data.loader import packaged_path, read_toml

    return read_toml(packaged_path("prices.toml"))


def gpu_hour_usd(device_id: str) -> tuple[float | None, str | None]:
    """The catalog's hourly price of one GPU and its source, or (None, None)."""
    for row in prices().get("gpu_hour", []):
        if row["device"] == device_id:
            return row["usd_per_second"] * 3600, f"{row['offer']}: {row['source']}, {row['date']}"
    return None, None


def api_price(model_id: str) -> dict[str, Any] | None:
    for row in prices().get("api", []):
        if row["model"] == model_id:
            return dict(row)
    return None


@record
class PlanOption(Record):
    """One way to serve the load: a device, how many of it, on how many nodes."""

    device: str
    device_id: str
    gpus: int
    nodes: int
    quant: str
    total_memory_bytes: int
    weights_bytes: int
    sessions_max: int
    aggregate_decode_tokens_per_s: float | None
    per_user_decode_tokens_per_s: float | None
    time_to_first_token_s: float | None
    cost_per_hour_usd: float | None
    cost_per_million_tokens_usd: float | None
    price_source: str | None
    break_even_tokens_per_day: float | None
    command: str


@record
class PlanResult(Record):
    """`advisor plan`: the options that meet the targets, cheapest first."""

    schema_version: int = SCHEMA_VERSION
    model_id: str
    license: str
    runtime: str
    """The serving engine every option runs (its command says how)."""
    users: int
    context_tokens: int
    options: tuple[PlanOption, ...]
    api_comparison: dict[str, Any] | None
    notes: tuple[str, ...]


def break_even(
    cost_per_hour: float | None, api: dict[str, Any] | None, prompt_share: float
) -> float | None:
    """Tokens a day above which hosting at `cost_per_hour` costs less than the API (USD only)."""
    if cost_per_hour is None or not api or api.get("currency") != "USD":
        return None
    per_token = (
        prompt_share * api["input_per_million"] + (1 - prompt_share) * api["output_per_million"]
    ) / 1e6
    return cost_per_hour * 24 / per_token if per_token > 0 else None


def plan(
    model: ModelEntry,
    tables: Tables,
    users: int,
    context: int,
    prompt: int | None = None,
    min_speed: float | None = None,
    max_ttft: float | None = None,
    private: bool = False,
    gpu_hour: float | None = None,
    api_model: str = "qwen-plus",
    top: int = 10,
    devices: list[str] | None = None,
) -> PlanResult:
    """Device x count (one node, tensor parallel), then multi-node options, cheapest first."""
    from advisor.data.hardware import GPU_CLASSES, HardwareQuery, hardware_from, load_devices
    from advisor.estimation.estimate import compatible, obtainable
    from advisor.estimation.serve import serve, serving_defaults

    assert model.config
    rt = tables.runtimes["vllm"]
    catalog = load_devices().devices
    chosen = [
        d
        for d in catalog.values()
        if d.device_class in GPU_CLASSES
        and "vllm" in d.runtimes
        and (devices is None or d.id in devices)
    ]
    own = api_price(model.id)
    usd_own = own if own and own.get("currency") == "USD" else None
    api = None if private else (usd_own or api_price(api_model))
    prompt_tokens = min(prompt if prompt is not None else context // 2, context)
    share = prompt_tokens / context
    options: list[PlanOption] = []
    notes: list[str] = []
    heads = model.config.num_attention_heads
    for dev in chosen:
        for n in GPU_COUNTS:
            if heads % n:
                continue
            hw = hardware_from(HardwareQuery(device=dev.id, gpus=n))
            found = None
            for q in FORMAT_PREFERENCE:
                if q not in tables.formats:
                    continue
                fmt = tables.formats[q]
                if compatible(fmt, rt, hw) or not obtainable(model, fmt, rt):
                    continue
                r = serve(
                    model,
                    hw,
                    tables,
                    fmt,
                    rt,
                    users,
                    context,
                    prompt,
                    "fp16",
                    min_speed,
                    max_ttft,
                    search_gpus=False,
                )
                if r.fits:
                    found = (fmt, r, hw)
                    break
            if found:
                fmt, r, hw = found
                options.append(
                    _option(
                        dev.id,
                        hw.name,
                        n,
                        1,
                        fmt.id,
                        hw.memory_bytes,
                        r.weights_bytes,
                        r.sessions_max,
                        r.aggregate_decode_tokens_per_s,
                        r.per_user_decode_tokens_per_s,
                        r.time_to_first_token_s,
                        gpu_hour,
                        api,
                        share,
                        r.command,
                    )
                )
                break  # more GPUs of this device only cost more
    if not options:
        notes.append(msg(
            "no single node of up to 8 GPUs meets the targets: multi-node options "
            "(tensor parallel in a node x pipeline parallel across nodes, vLLM on Ray)"
        ))
        options += _multi_node(
            model, tables, chosen, users, context, prompt, min_speed, max_ttft, gpu_hour, api, share
        )
        sg = serving_defaults()["sglang"]
        notes.append(msg("SGLang alternative: {how} ({source})", how=sg["multi_node"],
                         source=sg["multi_node_source"]))
    v = serving_defaults()["vllm"]
    if any(o.nodes > 1 for o in options):
        notes.append(f"{v['multi_node']} ({v['multi_node_source']})")
    options.sort(
        key=lambda o: (o.cost_per_hour_usd is None, o.cost_per_hour_usd or 0, o.gpus * o.nodes)
    )
    if any(o.cost_per_hour_usd is None for o in options):
        notes.append(msg("options without a catalog price have cost null: pass --gpu-hour-usd"))
    if api:
        notes.append(msg(
            "break-even against the {api} API ({input:g} / {output:g} {currency} per million "
            "input / output tokens, {source}, {date}), prompts {share:.0%} of the tokens",
            api=api["model"], input=api["input_per_million"], output=api["output_per_million"],
            currency=api["currency"], source=api["source"], date=api["date"], share=share))
        if api["model"] != model.id:
            notes.append(msg("{api} is not {model}: the comparison is with a different, hosted "
                             "Qwen model (--api-model chooses another)", api=api["model"],
                             model=model.id))
    if private:
        notes.append(msg(
            "--private: no API comparison; hourly prices are cloud rental list prices, "
            "pass --gpu-hour-usd for the amortised cost of hardware you own"
        ))
    return PlanResult(
        model_id=model.id,
        license=model.license.id,
        runtime="vllm",  # _single_node and _multi_node plan for vLLM alone
        users=users,
        context_tokens=context,
        options=tuple(options[:top]),
        api_comparison=api,
        notes=tuple(notes),
    )


def _option(
    device_id: str,
    name: str,
    gpus: int,
    nodes: int,
    quant: str,
    memory: int,
    weights: int,
    sessions: int,
    agg: float | None,
    per_user: float | None,
    ttft: float | None,
    gpu_hour: float | None,
    api: dict[str, Any] | None,
    share: float,
    command: str,
) -> PlanOption:
    price, source = (
        (gpu_hour, "--gpu-hour-usd") if gpu_hour is not None else gpu_hour_usd(device_id)
    )
    cost = price * gpus * nodes if price is not None else None
    per_million = cost / (agg * 3600) * 1e6 if cost is not None and agg else None
    return PlanOption(
        device=name,
        device_id=device_id,
        gpus=gpus,
        nodes=nodes,
        quant=quant,
        total_memory_bytes=memory,
        weights_bytes=weights,
        sessions_max=sessions,
        aggregate_decode_tokens_per_s=agg,
        per_user_decode_tokens_per_s=per_user,
        time_to_first_token_s=ttft,
        cost_per_hour_usd=cost,
        cost_per_million_tokens_usd=per_million,
        price_source=source,
        break_even_tokens_per_day=break_even(cost, api, share),
        command=command,
    )


def _multi_node(
    model: ModelEntry,
    tables: Tables,
    chosen: list[Any],
    users: int,
    context: int,
    prompt: int | None,
    min_speed: float | None,
    max_ttft: float | None,
    gpu_hour: float | None,
    api: dict[str, Any] | None,
    share: float,
) -> list[PlanOption]:
    """Nodes of 8 GPUs, TP 8 within a node x PP across nodes: memory adds up per node; a token
    passes every stage in turn, so per-user speed is that of one node reading all the weights."""
    from advisor.data.hardware import HardwareQuery, hardware_from
    from advisor.estimation.serve import serve, serve_command

    rt = tables.runtimes["vllm"]
    found: list[PlanOption] = []
    for dev in chosen:
        if dev.device_class != "datacenter-gpu":
            continue
        for nodes in range(2, MAX_NODES + 1):
            hw = hardware_from(HardwareQuery(device=dev.id, gpus=GPUS_PER_NODE * nodes))
            # speed: one node's tensor-parallel bandwidth (stages run in turn)
            hw_speed = with_node_speed(hw, GPUS_PER_NODE, rt.multi_gpu_efficiency)
            result = None
            for q in FORMAT_PREFERENCE:
                fmt = tables.formats.get(q)
                if fmt is None:
                    continue
                from advisor.estimation.estimate import compatible, obtainable

                if compatible(fmt, rt, hw) or not obtainable(model, fmt, rt):
                    continue
                r = serve(
                    model,
                    hw_speed,
                    tables,
                    fmt,
                    rt,
                    users,
                    context,
                    prompt,
                    "fp16",
                    min_speed,
                    max_ttft,
                    search_gpus=False,
                )
                if r.fits:
                    result = (fmt, r)
                    break
            if result:
                fmt, r = result
                cmd = serve_command(
                    model,
                    rt,
                    fmt,
                    GPUS_PER_NODE,
                    context,
                    min(users, r.sessions_max),
                    "fp16",
                    r.assumptions.reserve.get("gpu_memory_utilization", 0.92),
                    dev.id,
                    nodes,
                )
                found.append(
                    _option(
                        dev.id,
                        dev.name,
                        GPUS_PER_NODE,
                        nodes,
                        fmt.id,
                        hw.memory_bytes,
                        r.weights_bytes,
                        r.sessions_max,
                        r.aggregate_decode_tokens_per_s,
                        r.per_user_decode_tokens_per_s,
                        r.time_to_first_token_s,
                        gpu_hour,
                        api,
                        share,
                        cmd,
                    )
                )
                break
    return found


def with_node_speed(hw: Any, tp_gpus: int, multi_gpu: float) -> Any:
    """`hw` with all its memory but the bandwidth and compute of `tp_gpus` GPUs in tensor
    parallel: the speed-up tensor_parallel() gives for hw.gpus is scaled back to tp_gpus."""
    from advisor.data.hardware import Hardware

    eff_scale = (1 + (tp_gpus - 1) * multi_gpu) / (1 + (hw.gpus - 1) * multi_gpu)
    values = {name: getattr(hw, name) for name in Hardware.__record_fields__}
    values["bandwidth_gb_s"] = hw.bandwidth_gb_s * eff_scale
    if hw.fp16_tflops:
        values["fp16_tflops"] = hw.fp16_tflops * eff_scale
    if hw.fp8_tflops:
        values["fp8_tflops"] = hw.fp8_tflops * eff_scale
    return Hardware(**values)
