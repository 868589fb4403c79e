"""Rules of `advisor recommend`. Hard rules return a Reason that excludes a model; soft rules
return score parts. Each has a stable id (the `rule` field users' scripts may rely on)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from functools import lru_cache

from advisor.data import cache
from advisor.data.loader import checked, display_name, packaged_path, read_toml
from advisor.data.records import FORBID_EXTRA, Record, record
from advisor.data.schema import ModelEntry
from advisor.errors import CatalogError
from advisor.i18n import msg


@record
class Reason(Record):
    """Why a rule excluded or scored a model; `rule` is a stable id."""

    rule: str
    message: str
    needed_bytes: int | None = None
    """memory-fit only: the smallest memory any setup of the model needs."""
    needed_quant: str | None = None
    """memory-fit only: the weight format of that smallest setup."""


@record
class Constraints(Record):
    """What the user needs; hardware is resolved separately."""

    private: bool = False
    chinese: bool = False
    task: str = "chat"
    context_tokens: int | None = None
    commercial: bool = False
    min_speed_tokens_per_s: float | None = None
    runtime: str | None = None
    quant: str | None = None
    top: int = 5


@record
class Scoring(Record):
    """Ranking weights and tables (catalog/scoring.toml)."""

    __pydantic_config__ = FORBID_EXTRA
    weights: dict[str, float]
    pace: dict[str, float]
    generation_bonus: dict[str, float]
    specialist_families: dict[str, list[str]]
    narrow_families: dict[str, list[str]]
    quant: dict[str, float]
    speed: dict[str, list[float]]
    task_areas: dict[str, str]
    legacy: dict[str, list[str]]
    kv: dict[str, float]
    download: dict[str, float]
    """share of `official_download` a ready download earns, by provenance."""


@record
class ModelQuality(Record):
    """One model's fitted quality in one task area (catalog/quality.toml)."""

    model: str
    score: float
    """standard deviations of the area's benchmark tables."""
    sd: float
    estimated: bool
    """no evidence in the area: the size/generation prior alone."""
    evidence: str = ""


@record
class QualityArea(Record):
    """The fit of one task area."""

    prior: list[float]
    prior_sd: float
    prior_top_log2_billions: float | None = None
    """log2 size of the largest model with evidence: the prior's size term stops there."""
    residual_sd: float
    held_out_tau: float
    held_out_tables: int
    models: list[ModelQuality]


@record
class QualityTable(Record):
    """catalog/quality.toml, written by bench/fit_quality.py."""

    inputs_hash: str
    method_hash: str
    generations: dict[str, int]
    areas: dict[str, QualityArea]

    def area_scores(self, area: str) -> dict[str, ModelQuality]:
        """Model id -> its fitted quality in `area` (empty for an unknown area)."""
        found = self.areas.get(area)
        return {q.model: q for q in found.models} if found else {}


@lru_cache(maxsize=1)
def load_scoring() -> Scoring:
    return cache.load("scoring", [packaged_path("scoring.toml")], _validated_scoring, Scoring)


@lru_cache(maxsize=1)
def load_quality() -> QualityTable:
    return cache.load("quality", [packaged_path("quality.toml")], _validated_quality,
                      QualityTable)


def _validated_quality() -> QualityTable:
    path = packaged_path("quality.toml")
    data = read_toml(path)
    data.pop("schema_version", None)
    table: QualityTable | None
    table, problems = checked(QualityTable, data, display_name(path))
    if table is None:
        raise CatalogError(problems)
    return table


def _validated_scoring() -> Scoring:
    path = packaged_path("scoring.toml")
    data = read_toml(path)
    data.pop("schema_version", None)
    scoring: Scoring | None
    scoring, problems = checked(Scoring, data, display_name(path))
    if scoring is None:
        raise CatalogError(problems)
    return scoring


def gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def billions(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def ktokens(n: int) -> str:
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else f"{n:,}"


# --- hard rules on the model alone -------------------------------------------------------------

def privacy_local(m: ModelEntry, c: Constraints) -> Reason | None:
    if c.private and not m.open_weights:
        return Reason(rule="privacy-local", message=msg(
            "API-only model: prompts and data would leave your premises for Alibaba Cloud; "
            "--private needs open weights run locally"))
    return None


TASK_MODALITY = {"vision": "image", "video": "video", "audio": "audio"}
VISUAL = {"image", "video"}
LONG_CONTEXT_TOKENS = 262_144


def serves_task(m: ModelEntry, task: str) -> bool:
    if task in TASK_MODALITY:
        # the input modality and the task: an image embedder or a speech recogniser reads images or
        # audio but does not answer questions about them
        return TASK_MODALITY[task] in m.modalities_in and task in m.tasks
    if task == "long-context":
        return "long-context" in m.tasks or m.context.max_tokens >= LONG_CONTEXT_TOKENS
    return task in m.tasks


def task(m: ModelEntry, c: Constraints) -> Reason | None:
    if serves_task(m, c.task):
        return None
    return Reason(rule="task", message=msg("not made for {task} (tasks: {tasks})", task=c.task,
                                           tasks=", ".join(m.tasks)))


def context(m: ModelEntry, c: Constraints) -> Reason | None:
    if c.context_tokens and m.context.max_tokens < c.context_tokens:
        return Reason(rule="context", message=msg(
            "supports at most {max:,} tokens; the job needs {needed:,}",
            max=m.context.max_tokens, needed=c.context_tokens))
    return None


def license_commercial(m: ModelEntry, c: Constraints) -> Reason | None:
    if c.commercial and not m.license.commercial_use:
        return Reason(rule="license-commercial", message=msg(
            "license {license} does not allow commercial use", license=m.license.id))
    return None


def retired(m: ModelEntry, c: Constraints) -> Reason | None:
    if m.retired and m.retired.date <= dt.date.today():
        return Reason(rule="retired", message=msg(
            "the provider retired this API model on {date}; use {successor}", date=m.retired.date,
            successor=m.retired.successor) if m.retired.successor else msg(
            "the provider retired this API model on {date}", date=m.retired.date))
    return None


def api_speed_unknown(m: ModelEntry, c: Constraints) -> Reason | None:
    if c.min_speed_tokens_per_s and not m.open_weights:
        return Reason(rule="min-speed", message=msg(
            "cloud API: its speed depends on the provider's load and is not known offline, so "
            "{speed:g} tok/s cannot be promised", speed=c.min_speed_tokens_per_s))
    return None


MODEL_RULES: tuple[Callable[[ModelEntry, Constraints], Reason | None], ...] = (
    privacy_local, retired, task, context, license_commercial, api_speed_unknown,
)


def model_reasons(m: ModelEntry, c: Constraints) -> list[Reason]:
    return [r for rule in MODEL_RULES if (r := rule(m, c))]


# --- soft rules ---------------------------------------------------------------------------------

def quality_prior(m: ModelEntry, s: Scoring) -> float:
    """log2 of effective size in billions over log2(235), plus the generation's bonus.

    Size is the language model's: vision/audio towers add no language quality."""
    total = (m.params_total or 0) - m.towers_params
    active = m.params_active or total
    effective = math.sqrt(total * active) if total else 0.0
    size = math.log2(max(effective / 1e9, 0.1)) / math.log2(235)
    bonus = s.generation_bonus.get(m.generation, 0.0)
    return s.weights["quality"] * size + s.weights["generation"] * bonus


def task_area(task: str, s: Scoring) -> str:
    return s.task_areas.get(task, s.task_areas["default"])


def model_quality(m: ModelEntry, area: str, fitted: dict[str, ModelQuality],
                  table: QualityTable) -> ModelQuality | None:
    """The model's fitted quality, or (a model added to the catalog since the last fit) the
    area's stored prior from size and generation, marked estimated."""
    if m.id in fitted:
        return fitted[m.id]
    fit = table.areas.get(area)
    if fit is None or not m.params_total:
        return None
    ngram = m.param_count.ngram if m.config and m.architecture else 0
    total = m.params_total - m.towers_params - ngram
    active = m.params_active or total
    size = math.log2(max(math.sqrt(total * active) / 1e9, 0.1))
    b0, b1, b2 = fit.prior
    top = fit.prior_top_log2_billions
    excess = max(0.0, size - top) if top is not None else 0.0
    score = b0 + b1 * (size - excess) + b2 * table.generations.get(m.generation, 0)
    return ModelQuality(model=m.id, score=score, sd=math.hypot(fit.prior_sd, b1 * excess),
                        estimated=True)


def quality_part(q: ModelQuality | None, s: Scoring) -> float:
    """Fitted quality less risk_sd x its SD (an unknown costs), times the quality weight."""
    if q is None:
        return 0.0
    return s.weights["quality"] * (q.score - s.pace["risk_sd"] * q.sd)


def quality_message(q: ModelQuality | None, area: str) -> str:
    if q is None:
        return msg("no {area} score", area=area)
    kind = msg("estimated from size and generation") if q.estimated else q.evidence
    return msg("{area} {score:+.2f} ± {sd:.2f} SD ({kind})", area=area, score=q.score, sd=q.sd,
               kind=kind)


def quant_loss_sd(loss: float, m: ModelEntry, s: Scoring, fmt_id: str = "") -> float:
    """SDs of quality a format with relative accuracy loss `loss` costs this model: larger for
    small models ([quant] in catalog/scoring.toml, from mlx-lm's MMLU-Pro table); legacy
    llama.cpp quants pay an extra loss so a K-quant of the same size wins."""
    if fmt_id in s.legacy["formats"]:
        loss += s.quant["legacy_extra_loss"]
    total = max(((m.params_total or 0) - m.towers_params) / 1e9, 0.1)
    size = (s.quant["reference_billions"] / total) ** s.quant["size_exponent"]
    return loss * size / s.quant["relative_loss_per_sd"]


def speed_utility(decode_tokens_per_s: float, task: str, s: Scoring) -> float:
    """0..1: log2(1 + t/knee) / log2(1 + full/knee), capped at 1 (README: How picks are ranked)."""
    knee, full = s.speed.get(task, s.speed["default"])
    t = max(decode_tokens_per_s, 0.0)
    return min(1.0, math.log2(1 + t / knee) / math.log2(1 + full / knee))


def thinking_part(m: ModelEntry, c: Constraints, s: Scoring) -> float:
    """Thinking models for reasoning jobs; a thinking-only model costs latency on the others."""
    if c.task in ("reasoning", "math"):
        return s.weights["thinking"] if m.thinking != "none" else 0.0
    if c.task in ("chat", "code", "tool-use") and m.thinking == "thinking-only":
        return -s.weights["thinking"]
    return 0.0


def license_note(m: ModelEntry) -> str | None:
    """A flag for licences that are not plain open-source: research-only or custom terms."""
    lic = m.license
    if not lic.commercial_use:
        return msg("licence {license}: no commercial use", license=lic.id)
    if lic.id not in OPEN_LICENSES:
        return (msg("licence {license}: custom terms ({condition})", license=lic.id,
                    condition=lic.condition) if lic.condition
                else msg("licence {license}: custom terms", license=lic.id))
    return None


OPEN_LICENSES = ("apache-2.0", "mit")


def specialisation(m: ModelEntry, c: Constraints, s: Scoring) -> float:
    """Bonus for a family made for the task; penalty for a narrow family made for another."""
    if m.family in s.specialist_families.get(c.task, []):
        return s.weights["specialisation"]
    if m.family in s.narrow_families["families"]:
        return -s.weights["off_task"]
    return 0.0


def unused_modalities(m: ModelEntry, c: Constraints, s: Scoring) -> float:
    """Penalty for inputs the job does not use (a vision tower on a text job): the same language
    model with more to download, hold in memory and set up."""
    needed = {"text", TASK_MODALITY.get(c.task, "text")}
    if needed & VISUAL:
        needed |= VISUAL  # one vision tower reads both images and video
    return s.weights["unused_modalities"] if set(m.modalities_in) - needed else 0.0


def speed_score(decode_tokens_per_s: float, s: Scoring, task: str = "chat") -> float:
    """Speed utility for the job, less a penalty below the comfortable reading pace that grows
    with the wait for each token beyond the pace's, whole at [pace] slow_whole_at of the pace."""
    pace = s.pace["comfortable_tokens_per_s"]
    wait = pace / max(decode_tokens_per_s, 1e-9) - 1  # extra seconds per token, in the pace's
    whole = 1 / s.pace["slow_whole_at"] - 1
    slow = s.weights["slow"] * min(1.0, max(0.0, wait / whole))
    return s.weights["speed"] * speed_utility(decode_tokens_per_s, task, s) - slow


def headroom_penalty(used_fraction: float, s: Scoring) -> float:
    start = s.pace["headroom_start"]
    return s.weights["headroom"] * max(0.0, used_fraction - start) / (1 - start)


def chinese_score(q: ModelQuality | None, c: Constraints, s: Scoring) -> float:
    """With --chinese: the fitted Chinese-area score (C-Eval, CMMLU, AlignBench ...), less risk."""
    if not c.chinese or q is None:
        return 0.0
    return s.weights["chinese"] * (q.score - s.pace["risk_sd"] * q.sd)


def chinese_benchmark(m: ModelEntry) -> float:
    scores = [m.benchmarks[k] for k in ("ceval", "cmmlu") if k in m.benchmarks]
    return sum(scores) / len(scores) if scores else 0.0


def recency(m: ModelEntry, s: Scoring) -> float:
    if not m.release_date:
        return 0.0
    return s.weights["recency"] * max(0.0, m.release_date.year + m.release_date.month / 12 - 2024)
