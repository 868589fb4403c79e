"""Speculative decoding for one Qwen target: compatible drafts, its own MTP head, the memory
they add, the speedup published for them, where it vanishes, and the command per runtime.

Pure functions over catalog/speculative.toml and the estimator's weights/KV formulas:
- a draft is compatible when it comes from the target's tokenizer lineage and its
  config.vocab_size is within llama.cpp's SPEC_VOCAB_MAX_SIZE_DIFFERENCE of the target's;
  vLLM draft_model commands are only given for equal vocab_size (unequal sizes not verified there);
- draft memory = draft weights at the target's format + the draft's own KV for the context;
- MTP memory = `mtp_layers` decoder layers (linear weights per layer x layers) + their KV;
- speedup = min..max of the measured rows of that kind (MTP or draft model), preferring rows on
  targets of the same kind (MoE or dense); every row carries its source.
"""

from __future__ import annotations

import json
import shlex
from functools import lru_cache
from typing import Any

from advisor.data.formats import WeightFormat
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import ModelEntry
from advisor.estimation.estimate import kv_cache_bytes, weight_counts, weights_bytes
from advisor.estimation.spec_summary import SpeculativeSummary
from advisor.i18n import join, msg

DEFAULT_DRAFT_TOKENS = 3  # llama.cpp --spec-draft-n-max default (b10576); vLLM examples use 2-3
MTP_DRAFT_TOKENS = 2
LONG_CONTEXT_TOKENS = 16384
SMALL_TARGET_PARAMS = 2_000_000_000
SGLANG_LAUNCH = ("python3", "-m", "sglang.launch_server")  # the interpreter's -m, not a flag


@lru_cache(maxsize=1)
def speculative_data() -> dict[str, Any]:
    """catalog/speculative.toml as read, checked for the tables the code needs."""
    from advisor.data.loader import packaged_path, read_toml
    from advisor.errors import CatalogError

    data = read_toml(packaged_path("speculative.toml"))
    problems = [f"speculative.toml: missing [{k}]" for k in
                ("compatibility", "lineage", "mtp", "measurement", "caveat", "flag", "ollama")
                if k not in data]
    for section in ("lineage", "mtp", "measurement", "caveat", "flag"):
        for i, row in enumerate(data.get(section, [])):
            if not str(row.get("source", "")).strip():
                problems.append(f"speculative.toml: {section}[{i}] has no source")
    if problems:
        raise CatalogError(problems)
    return data


@record
class DraftOption(Record):
    """One way to draft for the target: a small model of the same vocabulary, or its MTP head."""

    kind: str  # "draft" (a separate model) or "mtp" (the target's own heads)
    model_id: str
    hf_repo: str | None
    license: str
    vocab_size: int
    weights_bytes: int
    kv_cache_bytes: int
    total_bytes: int
    fits: bool | None
    why: str
    source: str


@record
class Refusal(Record):
    """A draft that cannot serve this target, and why."""

    model_id: str
    reason: str


@record
class SpeedupRow(Record):
    """One published measurement: decode tokens/s with and without speculation."""

    target: str
    kind: str
    runtime: str
    baseline_tokens_per_s: float
    speculative_tokens_per_s: float
    speedup: float
    setup: str
    source: str
    draft: str | None = None


@record
class SpeedupRange(Record):
    """The range the published rows span for one kind of speculation."""

    kind: str
    low: float
    high: float
    basis: str
    rows: tuple[SpeedupRow, ...]


@record
class Caveat(Record):
    """Where a gain vanishes; `applies_now` when this target or request is such a case."""

    applies: str
    applies_now: bool
    text: str
    source: str


@record
class RuntimeCommand(Record):
    """A command line (argument list, and the same quoted for a shell)."""

    runtime: str
    kind: str
    argv: tuple[str, ...]
    command: str
    note: str = ""


@record
class DraftResult(Record):
    """`advisor draft`: drafts and MTP for one target, memory, speedup ranges, commands."""

    schema_version: int = SCHEMA_VERSION
    model_id: str
    vocab_size: int
    lineage: str | None
    mtp_layers: int
    device: str | None
    device_id: str | None
    quant: str
    context_tokens: int
    target_bytes: int
    options: tuple[DraftOption, ...]
    refused: tuple[Refusal, ...]
    speedup: tuple[SpeedupRange, ...]
    caveats: tuple[Caveat, ...]
    commands: tuple[RuntimeCommand, ...]
    assumptions: tuple[str, ...]


def _is_moe(m: ModelEntry) -> bool:
    return bool(m.config and m.config.is_moe)


def lineage_of(model: ModelEntry, data: dict[str, Any]) -> dict[str, Any] | None:
    return next((row for row in data["lineage"] if model.family in row["families"]), None)


def mtp_layers(model: ModelEntry, data: dict[str, Any]) -> int:
    """MTP layers the checkpoint ships (0 when none is known)."""
    row = next((r for r in data["mtp"] if model.family in r["families"]), None)
    return int(row["layers"]) if row else 0


def refusal(target: ModelEntry, draft: ModelEntry, data: dict[str, Any]) -> str | None:
    """Why `draft` cannot draft for `target`, or None when it can."""
    if draft.id == target.id:
        return msg("a model cannot be its own draft (use its MTP head, if it has one)")
    if not draft.open_weights or draft.config is None or target.config is None:
        return msg("no open weights to load as a draft")
    tv, dv = target.config.vocab_size, draft.config.vocab_size
    limit = int(data["compatibility"]["max_vocab_size_difference"])
    if abs(tv - dv) > limit:
        return msg("vocabulary differs: {draft} has vocab_size {draft_vocab:,}, {target} has "
                   "{target_vocab:,} (more than {limit} apart; the tokenizers are different, so "
                   "no runtime can verify its tokens)", draft=draft.id, draft_vocab=dv,
                   target=target.id, target_vocab=tv, limit=limit)
    mine, theirs = lineage_of(target, data), lineage_of(draft, data)
    if mine is None or theirs is None or mine["id"] != theirs["id"]:
        return msg("tokenizer lineage differs: {draft} is {draft_lineage}, {target} is "
                   "{target_lineage}", draft=draft.id,
                   draft_lineage=theirs["id"] if theirs else msg("unknown"), target=target.id,
                   target_lineage=mine["id"] if mine else msg("unknown"))
    if draft.param_count.total >= target.param_count.total:
        return msg("{draft} is not smaller than {target}: it would slow decoding down",
                   draft=draft.id, target=target.id)
    return None


def draft_option(draft: ModelEntry, fmt: WeightFormat, context: int, kv_elem: float,
                 room: int | None, why: str, source: str) -> DraftOption:
    assert draft.config
    w = weights_bytes(draft, fmt)
    kv = kv_cache_bytes(draft.config, context, 1, kv_elem)
    return DraftOption(kind="draft", model_id=draft.id, hf_repo=draft.hf_repo,
                       license=draft.license.id,
                       vocab_size=draft.config.vocab_size, weights_bytes=w, kv_cache_bytes=kv,
                       total_bytes=w + kv, fits=None if room is None else w + kv <= room, why=why,
                       source=source)


def mtp_option(target: ModelEntry, fmt: WeightFormat, layers: int, context: int, kv_elem: float,
               room: int | None, source: str) -> DraftOption:
    """The MTP head as `layers` more decoder layers (all experts for a MoE) with full attention."""
    c = target.config
    assert c
    per_layer_bits = weight_counts(target).linear / c.num_hidden_layers * fmt.bits_per_weight
    w = int(per_layer_bits * layers / 8)
    kv = int(2 * layers * c.num_key_value_heads * c.head_dim * context * kv_elem)
    return DraftOption(kind="mtp", model_id=target.id, hf_repo=target.hf_repo,
                       license=target.license.id,
                       vocab_size=c.vocab_size, weights_bytes=w, kv_cache_bytes=kv,
                       total_bytes=w + kv, fits=None if room is None else w + kv <= room,
                       why=msg("the checkpoint's own {layers} MTP layer(s)", layers=layers),
                       source=source)


def speedup_ranges(target: ModelEntry, kinds: tuple[str, ...], data: dict[str, Any],
                   moe_ids: frozenset[str]) -> tuple[SpeedupRange, ...]:
    """Per kind, the range of the published rows; rows on targets of the same kind (MoE or
    dense) first, all rows of that kind when none match."""
    out = []
    for kind in kinds:
        rows = [_row(r) for r in data["measurement"] if r["kind"] == kind]
        if not rows:
            continue
        same = [r for r in rows if (r.target in moe_ids) == _is_moe(target)]
        chosen, basis = (same, msg("MoE targets") if _is_moe(target) else msg("dense targets")) \
            if same else (rows, msg("all published targets"))
        exact = [r for r in chosen if r.target == target.id]
        if exact:
            basis = join("", (basis, msg(" (incl. {model} itself)", model=target.id)))
        out.append(SpeedupRange(kind=kind, low=min(r.speedup for r in chosen),
                                high=max(r.speedup for r in chosen), basis=basis,
                                rows=tuple(chosen)))
    return tuple(out)


def _row(r: dict[str, Any]) -> SpeedupRow:
    base, spec = float(r["baseline_tokens_per_s"]), float(r["speculative_tokens_per_s"])
    return SpeedupRow(target=r["target"], kind=r["kind"], runtime=r["runtime"],
                      baseline_tokens_per_s=base, speculative_tokens_per_s=spec,
                      speedup=round(spec / base, 2), setup=r["setup"], source=r["source"],
                      draft=r.get("draft"))


def caveats(target: ModelEntry, has_drafts: bool, batch: int, context: int,
            data: dict[str, Any]) -> tuple[Caveat, ...]:
    now = {
        "moe": _is_moe(target),
        "small": target.param_count.total < SMALL_TARGET_PARAMS,
        "batch": batch > 1,
        "context": context >= LONG_CONTEXT_TOKENS,
        "draft-acceptance": has_drafts,
    }
    return tuple(Caveat(applies=c["applies"], applies_now=now.get(c["applies"], False),
                        text=c["text"], source=c["source"]) for c in data["caveat"])


def _gguf(m: ModelEntry) -> tuple[str, str]:
    from advisor.recipes import gguf_repo

    repo = gguf_repo(m, "q4_k_m") or gguf_repo(m, "q8_0")
    if repo:
        return "-hf", repo
    return "-m", f"{m.id}-Q4_K_M.gguf"


def commands(target: ModelEntry, drafts: list[ModelEntry], layers: int, context: int,
             data: dict[str, Any]) -> tuple[RuntimeCommand, ...]:
    """Commands per runtime, as argument lists (quoted with shlex for display)."""
    out: list[RuntimeCommand] = []
    repo = target.hf_repo or target.id
    ctx = str(context)

    def add(runtime: str, kind: str, argv: list[str], note: str = "") -> None:
        out.append(RuntimeCommand(runtime=runtime, kind=kind, argv=tuple(argv),
                                  command=shlex.join(argv), note=note))

    if layers:
        flag, where = _gguf(target)
        add("llama.cpp", "mtp", ["llama-server", flag, where, "--spec-type", "draft-mtp",
                                 "--spec-draft-n-max", str(DEFAULT_DRAFT_TOKENS), "-c", ctx],
            "needs a GGUF that kept the MTP layer (community '-MTP-GGUF' conversions); "
            "llama.cpp 2026-05 or later")
        add("vllm", "mtp", ["vllm", "serve", repo, "--speculative-config",
                            json.dumps({"method": "mtp",
                                        "num_speculative_tokens": MTP_DRAFT_TOKENS})])
        add("sglang", "mtp", [*SGLANG_LAUNCH, "--model-path", repo,
                              "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "3",
                              "--speculative-eagle-topk", "1",
                              "--speculative-num-draft-tokens", "4"])
        if target.ollama_tag:
            add("ollama", "mtp", ["ollama", "run", target.ollama_tag],
                f"{data['ollama']['text']} ({data['ollama']['version']})")
    if drafts:
        d = drafts[0]
        flag, where = _gguf(target)
        dflag, dwhere = _gguf(d)
        add("llama.cpp", "draft", ["llama-server", flag, where,
                                   "-hfd" if dflag == "-hf" else "-md", dwhere,
                                   "--spec-type", "draft-simple", "--spec-draft-n-max",
                                   str(DEFAULT_DRAFT_TOKENS), "-ngld", "99", "-c", ctx])
        same_vocab = [x for x in drafts if x.config and target.config
                      and x.config.vocab_size == target.config.vocab_size]
        if same_vocab and same_vocab[0].hf_repo:
            add("vllm", "draft", ["vllm", "serve", repo, "--speculative-config", json.dumps(
                {"method": "draft_model", "model": same_vocab[0].hf_repo,
                 "num_speculative_tokens": DEFAULT_DRAFT_TOKENS})])
            add("sglang", "draft", [*SGLANG_LAUNCH, "--model-path", repo,
                                    "--speculative-algorithm", "STANDALONE",
                                    "--speculative-draft-model-path", same_vocab[0].hf_repo,
                                    "--speculative-num-steps", "3",
                                    "--speculative-eagle-topk", "1",
                                    "--speculative-num-draft-tokens", "4"])
    return tuple(out)


def flag_table(data: dict[str, Any]) -> dict[str, set[str]]:
    """Flags per runtime that the table documents (what commands may emit)."""
    table: dict[str, set[str]] = {}
    for row in data["flag"]:
        table.setdefault(row["runtime"], set()).add(row["flag"])
    return table


def plan_drafts(target: ModelEntry, models: list[ModelEntry], fmt: WeightFormat, context: int,
                kv_elem: float, room: int | None, data: dict[str, Any], extra: str | None = None,
                ) -> tuple[list[DraftOption], list[Refusal], list[ModelEntry]]:
    """Compatible drafts (options) and refusals among every lineage's listed drafts (+ `extra`)."""
    by_id = {m.id: m for m in models}
    names = [d for row in data["lineage"] for d in row["drafts"]]
    if extra and extra not in names:
        names.insert(0, extra)
    mine = lineage_of(target, data)
    options, refused, ok = [], [], []
    for name in names:
        draft = by_id.get(name)
        if draft is None:
            continue
        reason = refusal(target, draft, data)
        if reason:
            if name == extra or draft.id != target.id:
                refused.append(Refusal(model_id=name, reason=reason))
            continue
        ok.append(draft)
        assert mine is not None  # refusal() returned None, so the lineages matched
        options.append(draft_option(draft, fmt, context, kv_elem, room,
                                    msg("same tokenizer ({lineage} lineage), vocab_size "
                                        "{vocab:,}", lineage=mine["id"],
                                        vocab=draft.config.vocab_size if draft.config else 0),
                                    mine["source"]))
    return options, refused, ok


def draft_plan(target: ModelEntry, models: list[ModelEntry], fmt: WeightFormat, context: int,
               kv_elem: float, kv_dtype: str, hw: Any = None, batch: int = 1,
               extra: str | None = None) -> DraftResult:
    """Everything `advisor draft` reports for `target` (on `hw` when given)."""
    assert target.config
    data = speculative_data()
    target_bytes = weights_bytes(target, fmt) + kv_cache_bytes(target.config, context, batch,
                                                               kv_elem)
    room = None if hw is None else hw.usable_memory_bytes - target_bytes
    options, refused, ok = plan_drafts(target, models, fmt, context, kv_elem, room, data, extra)
    layers = mtp_layers(target, data)
    if layers:
        row = next(r for r in data["mtp"] if target.family in r["families"])
        options.insert(0, mtp_option(target, fmt, layers, context, kv_elem, room, row["source"]))
    kinds = tuple(k for k, present in (("mtp", layers > 0), ("draft", bool(ok))) if present)
    moe_ids = frozenset(m.id for m in models if _is_moe(m))
    lineage = lineage_of(target, data)
    assumptions = [
        f"draft weights at the target's format ({fmt.id}); draft KV at {kv_dtype} for the same "
        f"{context:,}-token context, one sequence",
        "MTP head sized as one more decoder layer per MTP layer (linear weights / layers) plus "
        "its full-attention KV",
        "fits: target weights + KV + draft within usable memory; runtime overhead not included "
        "(see `advisor estimate`)",
        "speedup ranges are the min..max of published single-stream measurements; acceptance "
        "depends on the text and sampling temperature",
    ]
    return DraftResult(
        model_id=target.id, vocab_size=target.config.vocab_size,
        lineage=lineage["id"] if lineage else None, mtp_layers=layers,
        device=None if hw is None else hw.name, device_id=None if hw is None else hw.device_id,
        quant=fmt.id, context_tokens=context, target_bytes=target_bytes,
        options=tuple(options), refused=tuple(refused),
        speedup=speedup_ranges(target, kinds, data, moe_ids),
        caveats=caveats(target, bool(ok), batch, context, data),
        commands=commands(target, ok, layers, context, data),
        assumptions=tuple(assumptions),
    )


def summary(result: DraftResult) -> SpeculativeSummary:
    """The one-paragraph version of a draft plan for `advisor estimate`: the MTP head if there
    is one, else the smallest compatible draft, with the published speedup range."""
    from advisor.estimation.spec_summary import SpeculativeSummary

    best = next((o for o in result.options if o.kind == "mtp"), None) or next(
        (o for o in result.options if o.kind == "draft"), None)
    if best is None:
        return SpeculativeSummary(method="none", draft_model_id=None, extra_bytes=0,
                                  speedup_low=None, speedup_high=None, caveats=(), sources=(),
                                  note="no MTP head and no compatible draft in the catalog")
    span = next((s for s in result.speedup if s.kind == best.kind), None)
    return SpeculativeSummary(
        method=best.kind, draft_model_id=None if best.kind == "mtp" else best.model_id,
        extra_bytes=best.total_bytes, speedup_low=span.low if span else None,
        speedup_high=span.high if span else None,
        caveats=tuple(c.text for c in result.caveats if c.applies_now),
        sources=tuple(r.source for r in span.rows) if span else (),
        note=f"see `advisor draft {result.model_id}` for every option and the commands",
    )
