"""The one place that combines rules: finds each model's best setup on the device, ranks the
picks and splits them from the exclusions. Every catalog model ends in exactly one list."""

from __future__ import annotations

from typing import Any, NamedTuple

from advisor.data.formats import RuntimeSpec, Tables, WeightFormat
from advisor.data.hardware import Hardware
from advisor.data.records import SCHEMA_VERSION, Record, record, replace
from advisor.data.schema import Catalog, ModelEntry
from advisor.estimation.estimate import (
    HOST_BANDWIDTH_SHARE,
    Efficiency,
    Estimate,
    ReadyDownload,
    compatible,
    download_key,
    efficiency,
    estimate,
    flops_per_token,
    gemm_rows,
    kv_cache_bytes,
    loads_towers,
    made_by_tools,
    moe_split_bytes,
    placement,
    ready_download,
    recurrent_state_bytes,
    runtime_bytes,
    state_element_bytes,
    step_flops,
    step_time,
    tensor_parallel,
    weight_counts,
    weights_bytes,
)
from advisor.i18n import N_, join, msg
from advisor.ranking.rules import (
    Constraints,
    ModelQuality,
    QualityTable,
    Reason,
    Scoring,
    billions,
    chinese_score,
    gb,
    headroom_penalty,
    ktokens,
    license_note,
    load_quality,
    model_quality,
    model_reasons,
    quality_message,
    quality_part,
    quant_loss_sd,
    recency,
    specialisation,
    speed_score,
    task_area,
    thinking_part,
    unused_modalities,
)
from advisor.recipes import Recipe, recipes

DEFAULT_CONTEXT = 8192
# From this context on, the ranking also tries a quantized KV cache (half the memory of fp16).
LONG_KV_CONTEXT = 32_768
KV_QUANT = {"llama.cpp": "q8_0", "ollama": "q8_0", "vllm": "fp8", "sglang": "fp8"}
OFFLOAD_RUNTIMES = ("llama.cpp",)
# Runtimes tried when the user names none: the device class default plus these, where supported.
GENERAL_RUNTIMES = ("llama.cpp", "vllm", "mlx")


@record
class PickMemory(Record):
    """Memory of a pick's setup against the device's usable memory."""

    total_bytes: int
    usable_bytes: int
    weights_bytes: int
    kv_cache_bytes: int


@record
class PickSpeed(Record):
    """Estimated speed of a pick's setup."""

    decode_tokens_per_s: float | None
    time_to_first_token_s: float | None = None


@record
class PickQuality(Record):
    """The fitted quality behind a pick (catalog/quality.toml, bench/fit_quality.py)."""

    area: str
    """task area of the fit: general, reasoning, code, agent, chinese, vision, long-context,
    embedding, rerank."""
    score: float
    """standard deviations of the area's benchmark tables; one scale across generations."""
    interval: tuple[float, float]
    """score ± 1 SD of the fit."""
    evidence: tuple[str, ...]
    """the published results behind the score, e.g. 'gpqa 71.1 (card)', 'AA index 33.9'."""
    estimated: bool
    """no published result in the area: the prior from size, active parameters and generation."""


@record
class PickDownload(Record):
    """Where a pick's weights can be had ready-made (None on the pick: convert them yourself)."""

    provenance: str
    """official (Qwen), ollama-library, or community (never shown as official)."""
    hub: str
    """huggingface, modelscope or ollama."""
    ref: str
    """the repo id or Ollama tag."""
    publisher: str


@record
class Pick(Record):
    """One recommended model with its setup, score and reasons."""

    rank: int
    model_id: str
    name: str
    hf_repo: str | None
    modelscope_repo: str | None
    deployment: str
    """'local' (runs on the device) or 'cloud-api' (data leaves your premises)."""
    quant: str | None
    runtime: str | None
    memory: PickMemory | None
    speed: PickSpeed | None
    max_context_tokens: int | None
    license: str
    commercial_use: bool
    score: float
    score_parts: dict[str, float]
    reasons: tuple[Reason, ...]
    why: str
    recipes: tuple[Recipe, ...] = ()
    """How to get and run the pick: its own runtime first."""
    quality: PickQuality | None = None
    """Fitted quality for the job's task area, with its evidence."""
    license_note: str | None = None
    """Set for research-only (no commercial use) and custom licences."""
    kv_cache_dtype: str | None = None
    """KV-cache element type of the setup (fp16, or q8_0/fp8 for long contexts); None for APIs."""
    offloaded_bytes: int = 0
    """MoE expert weights kept in host RAM (llama.cpp --n-cpu-moe)."""
    download: PickDownload | None = None
    """The ready download of the pick's weights, by preference official > Ollama library >
    community; None: made from the official 16-bit weights with the runtime's tools."""
    role: str = ""
    """Why a diverse top N holds it besides its score: 'fastest good', 'smallest good',
    'best MoE', 'best dense' (empty: on score alone)."""


@record
class Exclusion(Record):
    """A model left out, and why."""

    model_id: str
    reasons: tuple[Reason, ...]


@record
class Recommendation(Record):
    """`advisor recommend`: ranked picks, exclusions, and what was assumed."""

    schema_version: int = SCHEMA_VERSION
    constraints: Constraints
    device: Hardware
    context_tokens_assumed: str
    recommendations: tuple[Pick, ...]
    excluded: tuple[Exclusion, ...]
    closest: str | None = None
    notes: tuple[str, ...] = ()


class Setup(NamedTuple):
    fmt: WeightFormat
    runtime: RuntimeSpec
    total_bytes: int
    decode_tokens_per_s: float
    official: bool
    """Qwen published weights in this format (rather than made by the user's tools)."""
    download: ReadyDownload | None = None
    """The preferred ready download of these weights (official, Ollama library, community)."""
    kv_dtype: str = "fp16"
    """KV-cache element type: q8_0 (llama.cpp) or fp8 (vLLM, SGLang) for long contexts."""
    offloaded_bytes: int = 0
    """MoE experts kept in host RAM (llama.cpp --n-cpu-moe) when the weights exceed the GPU."""
    ttft_s: float | None = None
    """Seconds to the first token for a chat turn's prompt ([pace] ttft_prompt_tokens), from the
    same prefill formula as `estimate`; None where the device has no published FP16 compute."""


class Option(NamedTuple):
    """A format x runtime the device can run, with what does not depend on the model."""

    fmt: WeightFormat
    runtime: RuntimeSpec
    eff: Efficiency
    scale: float


def context_for(m: ModelEntry, c: Constraints) -> int:
    return c.context_tokens or min(DEFAULT_CONTEXT, m.context.max_tokens)


def runtimes_to_try(hw: Hardware, tables: Tables, c: Constraints) -> list[RuntimeSpec]:
    if c.runtime:
        return [tables.runtime(c.runtime)]
    home = home_runtime(hw, tables)
    names = [home] if home else []
    names += [n for n in GENERAL_RUNTIMES if n not in names and n in hw.runtimes]
    return [tables.runtimes[n] for n in names if n in tables.runtimes]


def options(hw: Hardware, tables: Tables, c: Constraints) -> list[Option]:
    """Every runnable format x runtime on `hw` for the constraints, computed once per request."""
    formats = [tables.weight_format(c.quant)] if c.quant else list(tables.formats.values())
    found = []
    for rt in runtimes_to_try(hw, tables, c):
        for fmt in formats:
            if compatible(fmt, rt, hw) is None:
                eff = efficiency(rt, hw, fmt)
                found.append(Option(fmt, rt, eff, tensor_parallel(hw, eff)))
    return found


def quick_setups(m: ModelEntry, hw: Hardware, grid: list[Option], ctx: int, kv_elem: float,
                 prompt_tokens: int = 2048,
                 downloads: dict[tuple[str, bool], ReadyDownload | None] | None = None,
                 task: str | None = None) -> list[Setup]:
    """Total memory, decode speed and time to first token of each option, with the same
    formulas as `estimate` (prefill: FLOPs at half the prompt's depth / compute x efficiency).

    What depends on the format alone (weight bytes, their dense/expert split), on the runtime
    alone (KV cache, overheads) or on the GEMM rows (FLOPs) is computed once per call;
    `downloads` (by `download_key`) are ready downloads the caller already found; `task`
    decides whether a runtime loads the vision/audio towers (loads_towers)."""
    assert m.config
    c = m.config
    prompt = min(prompt_tokens, ctx)
    prompt_flops = flops_per_token(m, prompt // 2)
    place = placement(hw)
    counts = weight_counts(m)
    text_counts = counts._replace(towers=0)
    found = ready_downloads(m, grid) if downloads is None else downloads
    by_format: dict[tuple[str, bool], tuple[int, tuple[int, int]]] = {}
    by_runtime: dict[str, tuple[int, int, int, int]] = {}
    flops_by_rows: dict[int, float] = {}
    setups = []
    towers_by_runtime: dict[str, bool] = {}
    for fmt, rt, eff, scale in grid:
        if rt.id not in towers_by_runtime:
            towers_by_runtime[rt.id] = bool(counts.towers) and loads_towers(m, rt.id, task)
        towers = towers_by_runtime[rt.id]
        if (fmt.id, towers) not in by_format:
            mine = counts if towers else text_counts
            by_format[fmt.id, towers] = (weights_bytes(mine, fmt),
                                         moe_split_bytes(mine, c, fmt, 1))
        if rt.id not in by_runtime:
            rb = runtime_bytes(rt, c, ctx, ctx, 1, kv_elem, *place)
            state_elem = state_element_bytes(rt)
            by_runtime[rt.id] = (rb.kv, rb.peak_overhead,
                                 kv_cache_bytes(c, ctx, 1, kv_elem, state_elem),
                                 recurrent_state_bytes(c, state_elem))
        weights, (dense, expert) = by_format[fmt.id, towers]
        kv, overhead, kv_read, state_rw = by_runtime[rt.id]
        tflops = hw.fp16_tflops * scale if hw.fp16_tflops else None
        flops = 0.0
        if tflops:
            rows = gemm_rows(fmt, rt, 1)
            if rows not in flops_by_rows:
                flops_by_rows[rows] = step_flops(m, rows, ctx, 1)
            flops = flops_by_rows[rows]
        step = step_time(c, rt, eff, dense, expert, kv_read, state_rw, flops,
                         hw.bandwidth_gb_s * scale, tflops, 1)
        ttft = (prompt * prompt_flops / (hw.fp16_tflops * scale * 1e12 * eff.compute)
                if hw.fp16_tflops and eff.compute else None)
        download = found[download_key(fmt, rt)]
        setups.append(Setup(fmt, rt, weights + kv + overhead, 1.0 / step.seconds,
                            download is not None and download.provenance == "official",
                            download, ttft_s=ttft))
    return setups


def ready_downloads(m: ModelEntry, grid: list[Option]
                    ) -> dict[tuple[str, bool], ReadyDownload | None]:
    """`ready_download` of `m` for each `download_key` of the grid, found once each."""
    found: dict[tuple[str, bool], ReadyDownload | None] = {}
    for o in grid:
        key = download_key(o.fmt, o.runtime)
        if key not in found:
            found[key] = ready_download(m, o.fmt, o.runtime.id)
    return found


def best_setup(m: ModelEntry, hw: Hardware, tables: Tables, c: Constraints, s: Scoring,
               grid: list[Option] | None = None) -> tuple[Setup | None, list[Reason]]:
    """The best-scoring format x runtime that fits and meets the speed need, or why none does."""
    ctx = context_for(m, c)
    kv_elem = tables.kv_dtypes["fp16"]
    grid = options(hw, tables, c) if grid is None else grid
    downloads = ready_downloads(m, grid)
    mine = [o for o in grid if made_by_tools(o.fmt, o.runtime)
            or downloads[download_key(o.fmt, o.runtime)] is not None]
    if not mine:
        wanted = msg(" with {setup}", setup=" on ".join(x for x in (c.quant, c.runtime) if x))
        if grid:
            return None, [Reason(rule="runtime", message=msg(
                "no {quant} weights to get{wanted}: Qwen published none, and GPTQ/AWQ weights "
                "need a calibration run to make", quant=c.quant or msg("runnable"),
                wanted=wanted))]
        return None, [Reason(rule="runtime", message=msg("no runnable setup{wanted} on {device}",
                                                          wanted=wanted, device=hw.name))]
    setups = quick_setups(m, hw, mine, ctx, kv_elem, int(s.pace["ttft_prompt_tokens"]),
                          downloads, c.task)
    if ctx >= LONG_KV_CONTEXT:
        setups += kv_quantized(m, hw, tables, mine, ctx, s, downloads, c.task)
    fitting = [x for x in setups if x.total_bytes <= hw.usable_memory_bytes]
    if not fitting and hw.host_ram_bytes:
        fitting = offloaded(m, hw, setups, s)
    if not fitting:
        small = min(setups, key=lambda x: x.total_bytes)
        return None, [Reason(rule="memory-fit", needed_bytes=small.total_bytes,
                             needed_quant=small.fmt.id, message=msg(
            "needs {needed} at {quant} with {context} context; the device has {usable} usable",
            needed=gb(small.total_bytes), quant=small.fmt.id, context=ktokens(ctx),
            usable=gb(hw.usable_memory_bytes)))]
    need = c.min_speed_tokens_per_s or 0.0
    fast = [x for x in fitting if x.decode_tokens_per_s >= need]
    if not fast:
        quick = max(fitting, key=lambda x: x.decode_tokens_per_s)
        return None, [Reason(rule="min-speed", message=msg(
            "at most {speed:.1f} tok/s ({quant} on {runtime}); the job needs {needed:g} tok/s",
            speed=quick.decode_tokens_per_s, quant=quick.fmt.id, runtime=quick.runtime.id,
            needed=need))]
    home = home_runtime(hw, tables)

    def preference(x: Setup) -> tuple[float, bool, bool, float]:
        """Best score (quality kept, speed, headroom); near ties go to an official download,
        then to any ready one."""
        return (round(sum(setup_parts(x, hw, s, home, m, c.task).values()), 3), x.official,
                x.download is not None, x.decode_tokens_per_s)

    return max(fast, key=preference), []


def kv_quantized(m: ModelEntry, hw: Hardware, tables: Tables, grid: list[Option], ctx: int,
                 s: Scoring, downloads: dict[tuple[str, bool], ReadyDownload | None] | None = None,
                 task: str | None = None) -> list[Setup]:
    """The same options with a quantized KV cache, each slower by [kv] speed_cost (dequantizing
    the cache on every step; a prior)."""
    out = []
    for rt_id, dtype in KV_QUANT.items():
        mine = [o for o in grid if o.runtime.id == rt_id]
        if mine and dtype in tables.kv_dtypes:
            cost = s.kv["speed_cost"]
            out += [x._replace(kv_dtype=dtype,
                               decode_tokens_per_s=x.decode_tokens_per_s * (1 - cost))
                    for x in quick_setups(m, hw, mine, ctx, tables.kv_dtypes[dtype],
                                         int(s.pace["ttft_prompt_tokens"]), downloads, task)]
    return out


def offloaded(m: ModelEntry, hw: Hardware, setups: list[Setup], s: Scoring) -> list[Setup]:
    """MoE setups on llama.cpp that fit with experts in host RAM (--n-cpu-moe), with the decode
    speed of the split read: the GPU part at GPU bandwidth, the offloaded experts at
    HOST_BANDWIDTH_SHARE of host bandwidth (the same model as `estimate`)."""
    if not (hw.is_gpu and m.params_active and hw.host_ram_bytes):
        return []
    out = []
    host_gb_s = HOST_BANDWIDTH_SHARE * (hw.host_bandwidth_gb_s or hw.bandwidth_gb_s)
    for x in setups:
        spill = x.total_bytes - hw.usable_memory_bytes
        if x.runtime.id not in OFFLOAD_RUNTIMES or spill >= hw.host_ram_bytes * 0.8:
            continue
        share = min(1.0, spill / max(1, x.total_bytes))
        # seconds per token at full GPU speed, then the offloaded share read from host RAM
        gpu_s = (1 - share) / max(x.decode_tokens_per_s, 1e-9)
        active = (m.params_active or 1) / (m.params_total or 1)
        cpu_s = share * active * x.total_bytes / (host_gb_s * 1e9)
        out.append(x._replace(offloaded_bytes=spill, total_bytes=hw.usable_memory_bytes,
                              decode_tokens_per_s=1.0 / (gpu_s + cpu_s)))
    return out


def home_runtime(hw: Hardware, tables: Tables) -> str | None:
    """The runtime made for this class of device ([defaults] in catalog/runtimes.toml)."""
    default = tables.defaults.get(hw.device_class)
    return default.runtime if default else None


def download_credit(d: ReadyDownload | None, s: Scoring) -> float:
    """Ready weights save a conversion step: official most, then the Ollama library, then a
    community build (scoring.toml [download])."""
    return s.weights["official_download"] * s.download[d.provenance] if d else 0.0


def setup_parts(x: Setup, hw: Hardware, s: Scoring, home: str | None, m: ModelEntry,
                task: str = "chat") -> dict[str, float]:
    """The score parts that depend on the setup: speed utility for the job, runtime, download,
    headroom, and the format's quality loss for this model's size."""
    return {"speed": speed_score(x.decode_tokens_per_s, s, task),
            "ttft": -ttft_penalty(x.ttft_s, s) if task == "chat" else 0.0,
            "runtime": s.weights["runtime"] if x.runtime.id == home else 0.0,
            "download": download_credit(x.download, s),
            "headroom": -headroom_penalty(x.total_bytes / hw.usable_memory_bytes, s),
            "quant_loss": -s.weights["quant_loss"] * quant_loss_sd(
                x.fmt.quality_loss + (s.kv["quality_loss"] if x.kv_dtype != "fp16" else 0.0),
                m, s, x.fmt.id)}


def ttft_penalty(ttft_s: float | None, s: Scoring) -> float:
    """Interactive chat wants a short wait for the first token: 0 up to [pace] ttft_target_s,
    rising linearly to weights.ttft at ttft_limit_s and beyond (README: How picks are ranked)."""
    if ttft_s is None:
        return 0.0
    target, limit = s.pace["ttft_target_s"], s.pace["ttft_limit_s"]
    return s.weights["ttft"] * min(1.0, max(0.0, ttft_s - target) / (limit - target))


def recommend(catalog: Catalog, hw: Hardware, tables: Tables, c: Constraints, s: Scoring,
              quality: QualityTable | None = None) -> Recommendation:
    excluded: list[Exclusion] = []
    scored: list[tuple[float, ModelEntry, Setup | None, dict[str, float]]] = []
    survivors = []
    for m in catalog.models:
        reasons = model_reasons(m, c)
        if reasons:
            excluded.append(Exclusion(model_id=m.id, reasons=tuple(reasons)))
        else:
            survivors.append(m)
    quality = quality or load_quality()
    area = task_area(c.task, s)
    fitted = quality.area_scores(area)
    chinese = quality.area_scores("chinese") if c.chinese else {}
    grid = options(hw, tables, c)
    home = home_runtime(hw, tables)
    found: dict[str, ModelQuality | None] = {}
    for m in survivors:
        setup = None
        q = model_quality(m, area, fitted, quality)
        parts = {"quality": quality_part(q, s),
                 "specialisation": specialisation(m, c, s),
                 "unused_modalities": -unused_modalities(m, c, s),
                 "chinese": chinese_score(model_quality(m, "chinese", chinese, quality)
                                          if c.chinese else None, c, s),
                 "recency": recency(m, s),
                 "thinking": thinking_part(m, c, s)}
        if m.open_weights:
            setup, reasons = best_setup(m, hw, tables, c, s, grid)
            if setup is None:
                excluded.append(Exclusion(model_id=m.id, reasons=tuple(reasons)))
                continue
            parts.update(setup_parts(setup, hw, s, home, m, c.task))
        scored.append((round(sum(parts.values()), 4), m, setup, parts))
        found[m.id] = q
    scored = shown_once(scored, excluded)

    picks: list[Pick] = []
    for local in (True, False):
        group = sorted((x for x in scored if (x[2] is not None) == local),
                       key=lambda x: (-x[0], x[1].id))
        chosen = diverse(group, c.top, s, found) if local else {x[1].id: "" for x in group[:c.top]}
        for position, (score, m, setup, parts) in enumerate(group):
            if m.id not in chosen:
                reason = Reason(rule="top-n", message=(
                    msg("ranked {rank}, below the top {top} (score {score:.3f}; use --top)",
                        rank=position + 1, top=c.top, score=score)
                    if position >= c.top else msg(
                        "ranked {rank} (score {score:.3f}); its place in the top {top} went to a "
                        "faster, smaller or other-architecture good pick (use --top)",
                        rank=position + 1, score=score, top=c.top)))
                excluded.append(Exclusion(model_id=m.id, reasons=(reason,)))
                continue
            pick = make_pick(len(picks) + 1, score, m, setup, parts, hw, tables, c, s,
                             (area, found.get(m.id)))
            if chosen[m.id]:
                pick = replace(pick, role=chosen[m.id], why=join("; ", (chosen[m.id], pick.why)))
            picks.append(pick)
    order = {m.id: i for i, m in enumerate(catalog.models)}
    excluded.sort(key=lambda e: order[e.model_id])
    smallest = min(tables.formats.values(), key=lambda f: f.bits_per_weight).id
    closest = (None if any(p.deployment == "local" for p in picks)
               else closest_miss(excluded, hw, smallest))
    return Recommendation(
        constraints=c, device=hw, recommendations=tuple(picks), excluded=tuple(excluded),
        closest=closest,
        context_tokens_assumed=(f"{c.context_tokens:,}" if c.context_tokens else
                                f"{DEFAULT_CONTEXT:,} or "
                                + N_("the model's maximum if smaller")),
    )


Scored = tuple[float, ModelEntry, Setup | None, dict[str, float]]


def diverse(group: list[Scored], top: int, s: Scoring,
            found: dict[str, ModelQuality | None] | None = None) -> dict[str, str]:
    """The top-N set (model id -> role): the best; the fastest good one; the smallest good one;
    the best MoE and the best dense model where both are good; then the rest by score. "Good" is
    within [pace] good_quality_sd of the best's fitted quality, on published evidence (an
    estimated model is never promoted). Ranks stay in score order."""
    if not group:
        return {}
    chosen: dict[str, str] = {group[0][1].id: ""}
    if top < 3:
        return {x[1].id: "" for x in group[:top]}
    margin = s.weights["quality"] * s.pace["good_quality_sd"]
    bar = group[0][3]["quality"] - margin
    known = found or {}
    good = [x for x in group if x[3]["quality"] >= bar and x[2] is not None
            and (q := known.get(x[1].id)) is not None and not q.estimated]

    def add(x: Scored | None, role: str) -> None:
        if x and x[1].id not in chosen and len(chosen) < top:
            chosen[x[1].id] = role

    if good:
        add(max(good, key=lambda x: x[2].decode_tokens_per_s if x[2] else 0), N_("fastest good"))
        add(min(good, key=lambda x: x[2].total_bytes if x[2] else 0), N_("smallest good"))
        for moe, role in ((True, N_("best MoE")), (False, N_("best dense"))):
            if not any(bool(x[1].params_active) == moe for x in group if x[1].id in chosen):
                add(next((x for x in good if bool(x[1].params_active) == moe), None), role)
    for x in group:
        add(x, "")
    return chosen


def shown_once(scored: list[tuple[float, ModelEntry, Setup | None, dict[str, float]]],
               excluded: list[Exclusion]
               ) -> list[tuple[float, ModelEntry, Setup | None, dict[str, float]]]:
    """A model superseded (catalog `supersedes`) by another candidate that also runs here in the
    same deployment is left out: one model in several generations fills one place, not three."""
    runs = {(m.id, setup is not None) for _, m, setup, _ in scored}
    newer = {(m.supersedes, setup is not None): m.id for _, m, setup, _ in scored if m.supersedes}
    kept = []
    for x in scored:
        by = newer.get((x[1].id, x[2] is not None))
        if by and (by, x[2] is not None) in runs:
            excluded.append(Exclusion(model_id=x[1].id, reasons=(Reason(
                rule="superseded", message=msg("superseded by {model}, which also runs here",
                                               model=by)),)))
        else:
            kept.append(x)
    return kept


def pick_quality(area: str, q: ModelQuality | None) -> PickQuality | None:
    if q is None:
        return None
    return PickQuality(area=area, score=round(q.score, 4),
                       interval=(round(q.score - q.sd, 4), round(q.score + q.sd, 4)),
                       evidence=tuple(x for x in q.evidence.split("; ") if x),
                       estimated=q.estimated)


def part_message(key: str, value: float, m: ModelEntry, setup: Setup | None,
                 fit: tuple[str, ModelQuality | None]) -> str:
    """`--explain`: each score part with what it rests on."""
    text = f"{value:+.3f}"
    if key == "quality":
        return msg("{value}: {detail}", value=text, detail=quality_message(fit[1], fit[0]))
    if key == "quant_loss" and setup:
        return msg("{value}: {quant} loses {loss:.1%} (quantization.toml), scaled for model size",
                   value=text, quant=setup.fmt.id, loss=setup.fmt.quality_loss)
    if key == "ttft" and setup and setup.ttft_s is not None:
        return msg("{value}: ~{seconds:.1f} s to the first token of a chat turn", value=text,
                   seconds=setup.ttft_s)
    if key == "speed" and setup:
        return msg("{value}: ~{speed:.0f} tok/s on the job's speed curve", value=text,
                   speed=setup.decode_tokens_per_s)
    return text


def make_pick(rank: int, score: float, m: ModelEntry, setup: Setup | None,
              parts: dict[str, float], hw: Hardware, tables: Tables, c: Constraints,
              s: Scoring, fit: tuple[str, ModelQuality | None] = ("general", None)) -> Pick:
    reasons = [Reason(rule=f"score-{k}", message=part_message(k, v, m, setup, fit))
               for k, v in parts.items() if v]
    common: dict[str, Any] = {
        "rank": rank, "model_id": m.id, "name": m.name, "hf_repo": m.hf_repo,
        "modelscope_repo": m.modelscope_repo, "license": m.license.id,
        "commercial_use": m.license.commercial_use, "score": score,
        "score_parts": {k: round(v, 4) for k, v in parts.items()},
        "quality": pick_quality(*fit), "license_note": license_note(m)}
    if setup is None:
        return Pick(**common, deployment="cloud-api", quant=None, runtime=None, memory=None,
                    speed=None, max_context_tokens=m.context.max_tokens, reasons=(Reason(
                        rule="cloud-api", message=msg("runs on Alibaba Cloud, not on your "
                                                      "device: prompts leave your premises")),
                        *reasons),
                    why=join("; ", (
                        msg("cloud API; {context:,}-token context; no local hardware",
                            context=m.context.max_tokens),
                        evidence_bit(fit[1]), license_note(m))))
    e: Estimate = estimate(m, hw, tables, setup.fmt, setup.runtime, context_for(m, c),
                           kv_dtype=setup.kv_dtype, task=c.task)
    decode = e.speed.decode_tokens_per_s or 0.0
    why = pick_why(m, setup, parts, decode, c, s, fit[1])
    return Pick(
        **common, deployment="local", quant=setup.fmt.id, runtime=setup.runtime.id,
        kv_cache_dtype=setup.kv_dtype, offloaded_bytes=setup.offloaded_bytes,
        download=PickDownload(**setup.download._asdict()) if setup.download else None,
        memory=PickMemory(total_bytes=e.memory.total_bytes, usable_bytes=hw.usable_memory_bytes,
                          weights_bytes=e.memory.weights_bytes,
                          kv_cache_bytes=e.memory.kv_cache_bytes),
        speed=PickSpeed(decode_tokens_per_s=e.speed.decode_tokens_per_s,
                        time_to_first_token_s=e.speed.time_to_first_token_s),
        max_context_tokens=e.max_context_tokens,
        reasons=(Reason(rule="memory-fit", message=(
            msg("fits with {offloaded} of MoE experts in host RAM: {total} in all, {usable} "
                "usable on the GPU", offloaded=gb(setup.offloaded_bytes),
                total=gb(e.memory.total_bytes), usable=gb(hw.usable_memory_bytes))
            if setup.offloaded_bytes else msg("fits: {total} of {usable} usable",
                                              total=gb(e.memory.total_bytes),
                                              usable=gb(hw.usable_memory_bytes)))), *reasons),
        why=why,
        recipes=tuple(sorted(
            recipes(m, setup.fmt.id, min(e.max_context_tokens, context_for(m, c) * 4) or
                    context_for(m, c), hw.gpus, c.chinese, task=c.task, runtime=c.runtime,
                    memory_bytes=hw.usable_memory_bytes / max(hw.gpus, 1),
                    device_class=hw.device_class,
                    kv_dtype=None if setup.kv_dtype == "fp16" else setup.kv_dtype),
            key=lambda r: r.runtime != setup.runtime.id)),
    )


def evidence_bit(q: ModelQuality | None) -> str | None:
    if q is None:
        return None
    return msg("quality estimated from size (no published results)") if q.estimated else q.evidence


def pick_why(m: ModelEntry, setup: Setup, parts: dict[str, float], decode: float,
             c: Constraints, s: Scoring, q: ModelQuality | None = None) -> str:
    """One line on what put the pick where it is: size and generation, its evidence, fit to the
    task, the download, anything that cost it points, and a licence that is not plain open."""
    size = billions(m.params_total)
    shape = (msg("{size} MoE, {active} active", size=size, active=billions(m.params_active))
             if m.params_active else size)
    bits: list[str] = [msg("{shape} Qwen{generation}", shape=shape,
                generation=m.generation.replace("-", " "))]
    if (ev := evidence_bit(q)):
        bits.append(ev)
    if m.thinking == "hybrid":
        bits.append(msg("thinking switchable (on for reasoning)") if c.task in
                    ("reasoning", "math") else msg("thinking switchable (off for speed)"))
    if parts.get("specialisation", 0) > 0:
        bits.append(msg("built for {task}", task=c.task))
    elif parts.get("specialisation", 0) < 0:
        bits.append(msg("tuned for another task than {task}", task=c.task))
    if parts.get("unused_modalities"):
        bits.append(msg("takes {inputs} input the task does not use",
                        inputs="/".join(x for x in m.modalities_in if x != "text")))
    bits.append(download_bit(setup))
    if setup.kv_dtype != "fp16":
        bits.append(msg("{dtype} KV cache for {context} context", dtype=setup.kv_dtype,
                        context=ktokens(context_for(m, c))))
    if setup.offloaded_bytes:
        bits.append(msg("MoE experts offloaded to host RAM ({size})",
                        size=gb(setup.offloaded_bytes)))
    if parts.get("headroom"):
        bits.append(msg("tight fit"))
    if decode < s.pace["comfortable_tokens_per_s"]:
        bits.append(msg("slow (~{speed:.0f} tok/s)", speed=decode))
    if (lic := license_note(m)):
        bits.append(lic)
    return join("; ", bits)


def download_bit(setup: Setup) -> str:
    """Where the pick's weights come from, community builds named as such."""
    d, quant = setup.download, setup.fmt.id
    if d is None:
        return msg("self-made {quant} weights", quant=quant)
    if d.provenance == "official":
        return msg("official {quant} weights", quant=quant)
    if d.provenance == "ollama-library":
        return msg("Ollama library {quant} tag {tag}", quant=quant, tag=d.ref)
    return msg("community {quant} build by {publisher} (not official)", quant=quant,
               publisher=d.publisher)


def closest_miss(excluded: list[Exclusion], hw: Hardware, smallest_quant: str) -> str | None:
    """For 'nothing fits': the memory-fit exclusion with the smallest need, and what would help."""
    misses = [(r.needed_bytes, e.model_id, r.message, r.needed_quant) for e in excluded
              for r in e.reasons if r.rule == "memory-fit" and r.needed_bytes]
    if not misses:
        return None
    needed, model_id, message, quant = min(misses)
    gap = (needed - hw.usable_memory_bytes) / 1e9
    smaller = "" if quant == smallest_quant else msg(
        ", a smaller quantization (down to --quant {quant})", quant=smallest_quant)
    return msg("closest: {model} ({reason}); it would fit with {gap:.1f} GB more usable "
               "memory{smaller} or a shorter --context", model=model_id, reason=message, gap=gap,
               smaller=smaller)
