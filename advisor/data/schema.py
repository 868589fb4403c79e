"""Typed, frozen records of the catalog: models, their architecture, licenses and sources.

Keys follow Hugging Face `config.json` names. Every fact field must be backed by a source
(`ModelEntry.sources[*].backs`); unknown keys are rejected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal

from advisor.data.records import (
    FORBID_EXTRA,
    Check,
    NonEmpty,
    PositiveInt,
    Record,
    RepoId,
    Slug,
    StrictBool,
    field,
    record,
)

if TYPE_CHECKING:
    from advisor.data.params import ParamCount

InModality = Literal["text", "image", "video", "audio"]
OutModality = Literal["text", "audio", "embedding", "score"]
Task = Literal[
    "chat", "reasoning", "code", "math", "vision", "video", "audio", "embedding", "rerank",
    "moderation", "tool-use", "long-context", "translation", "speech-to-text", "text-to-speech",
    "environment-simulation",
]
Thinking = Literal["none", "hybrid", "thinking-only"]
Architecture = Literal["dense", "moe", "hybrid-moe", "hybrid-dense"]
SourceKind = Literal["config", "model-card", "tech-report", "docs", "blog"]
QuantFormat = Literal[
    "fp8", "gptq-int8", "gptq-int4", "awq", "gguf", "mlx-4bit", "mlx-6bit", "mlx-8bit", "mlx-bf16",
    "mxfp4", "nvfp4",
]
ExtensionMethod = Literal["none", "yarn", "dca"]
# Where an artifact is downloaded or pulled from, and who made it. `official` files are under the
# Qwen organisation; `ollama-library` tags are built by Ollama from the official weights;
# `community` builds (unsloth, bartowski, lmstudio-community, mlx-community, MNN ...)
# are third-party.
Hub = Literal["huggingface", "modelscope", "ollama"]
Provenance = Literal["official", "ollama-library", "community"]
# What an artifact holds: the container and weight scheme as the publisher ships it.
ArtifactFormat = Literal[
    "safetensors", "fp8", "gptq-int8", "gptq-int4", "awq", "gguf", "mlx", "mnn", "nvfp4", "mxfp4",
]
# Quantization names an artifact may list: a closed vocabulary (nothing else reaches a command).
# They are weight-format ids of catalog/quantization.toml, lower case.
QuantName = Annotated[str, Check(pattern=r"^[a-z0-9][a-z0-9_]*(-[a-z0-9_]+)*$", max_length=24)]
# llama.cpp's GGUF file types, as `llama-quantize` names them (lower case):
# ggml-org/llama.cpp@03161a4eb9a2ec66ef97789f347c5a28279f06ea:tools/quantize/quantize.cpp
# (QUANT_OPTIONS)
GGUF_QUANT_TYPES = frozenset({
    "q1_0", "q2_0", "q4_0", "q4_1", "mxfp4_moe", "q5_0", "q5_1", "iq2_xxs", "iq2_xs", "iq2_s",
    "iq2_m", "iq1_s", "iq1_m", "tq1_0", "tq2_0", "q2_k", "q2_k_s", "iq3_xxs", "iq3_s", "iq3_m",
    "q3_k", "iq3_xs", "q3_k_s", "q3_k_m", "q3_k_l", "iq4_nl", "iq4_xs", "q4_k", "q4_k_s",
    "q4_k_m", "q5_k", "q5_k_s", "q5_k_m", "q6_k", "q8_0", "f16", "bf16", "f32",
})
OllamaTag = Annotated[str, Check(pattern=r"^[a-z0-9][a-z0-9.\-/]*:[A-Za-z0-9][A-Za-z0-9._\-]*$",
                                 max_length=80)]
FileName = Annotated[str, Check(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", max_length=200)]

# Benchmark names: lowercase, hyphenated (`mmlu-redux`; `-nothink` for Qwen3's non-thinking mode).
BenchmarkKey = Slug
# A published score: a finite number, a percentage (0-100) except for the rating benchmarks below.
Score = Annotated[float, Check(ge=0, strict=True, allow_inf_nan=False)]
RATING_BENCHMARKS = {"cfeval": 4000.0}
"""Benchmarks reported as a rating, not a percentage, and their ceiling (CodeForces Elo)."""
# Parameter counts (the largest Qwen is a few trillion) and context lengths (Qwen's longest is
# 1M tokens): anything far above is a typo, not a model.
Params = Annotated[int, Check(gt=0, le=10**14, strict=True)]
Tokens = Annotated[int, Check(gt=0, le=2**30, strict=True)]
YarnFactor = Annotated[float, Check(gt=1, le=64, strict=True, allow_inf_nan=False)]
# Release dates: Qwen's first models came in 2023; dates from 2019 to a year ahead are accepted.
FIRST_RELEASE_YEAR = 2019

TASKS: tuple[str, ...] = Task.__args__  # type: ignore[attr-defined]
ARTIFACT_FORMATS: tuple[str, ...] = ArtifactFormat.__args__  # type: ignore[attr-defined]

# Fields of a model entry that state a fact and so need a source.
FACT_FIELDS = (
    "release_date", "license", "params_total", "params_active", "params_non_embedding",
    "modalities_in", "modalities_out", "tasks", "thinking", "languages", "languages_count",
    "context", "quantized", "config", "benchmarks", "ollama_tag", "supersedes", "retired",
    "language_model_only",
)
# Facts with a default that states nothing ("text" in and out, no thinking mode).
DEFAULTED_FACTS: dict[str, object] = {
    "modalities_in": ("text",), "modalities_out": ("text",), "thinking": "none",
    "language_model_only": False,
}
# Parameter counts computed from config may differ from the card's rounded figure by this much.
PARAM_TOLERANCE = 0.05


@record
class License(Record):
    """A model's license, and whether it allows commercial use."""

    __pydantic_config__ = FORBID_EXTRA
    id: NonEmpty
    commercial_use: StrictBool
    condition: str = ""


@record
class ModelConfig(Record):
    """The language model's architecture, under config.json names."""

    __pydantic_config__ = FORBID_EXTRA
    num_hidden_layers: PositiveInt
    hidden_size: PositiveInt
    intermediate_size: PositiveInt | None = None
    num_attention_heads: PositiveInt
    num_key_value_heads: PositiveInt
    head_dim: PositiveInt
    vocab_size: PositiveInt
    tie_word_embeddings: StrictBool
    max_position_embeddings: PositiveInt
    num_experts: PositiveInt | None = None
    num_experts_per_tok: PositiveInt | None = None
    moe_intermediate_size: PositiveInt | None = None
    shared_expert_intermediate_size: Annotated[int, Check(ge=0)] | None = None
    full_attention_interval: PositiveInt | None = None
    linear_num_key_heads: PositiveInt | None = None
    linear_num_value_heads: PositiveInt | None = None
    linear_key_head_dim: PositiveInt | None = None
    linear_value_head_dim: PositiveInt | None = None
    linear_conv_kernel_dim: PositiveInt | None = None
    # N-gram embedding tables (Qwen3.8-Flash-Next, `qwen4_exp`): at each layer of `ple_layer_ids`
    # the local bigrams/trigrams index hashed tables of at least `ngram_vocab_size_base` rows
    # whose widths add up to `ple_embed_dim`. Resident weights, looked up (not multiplied).
    ngram_vocab_size_base: PositiveInt | None = None
    ple_embed_dim: PositiveInt | None = None
    ple_layer_ids: tuple[Annotated[int, Check(ge=0)], ...] = ()

    def __post_init__(self) -> None:
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) is not divisible by "
                f"num_key_value_heads ({self.num_key_value_heads})"
            )
        moe = (self.num_experts, self.num_experts_per_tok, self.moe_intermediate_size)
        if any(v is not None for v in moe) and any(v is None for v in moe):
            raise ValueError(
                "num_experts, num_experts_per_tok and moe_intermediate_size go together"
            )
        if self.num_experts and self.num_experts_per_tok and (
            self.num_experts_per_tok > self.num_experts
        ):
            raise ValueError("num_experts_per_tok is larger than num_experts")
        if self.num_experts is None and self.intermediate_size is None:
            raise ValueError("intermediate_size is required for a dense model")
        ngram = (self.ngram_vocab_size_base, self.ple_embed_dim, self.ple_layer_ids or None)
        if any(v is not None for v in ngram) and any(v is None for v in ngram):
            raise ValueError("ngram_vocab_size_base, ple_embed_dim and ple_layer_ids go together")
        if any(i >= self.num_hidden_layers for i in self.ple_layer_ids):
            raise ValueError(f"ple_layer_ids: a layer id is not below num_hidden_layers "
                             f"({self.num_hidden_layers})")

    @property
    def is_moe(self) -> bool:
        return self.num_experts is not None

    @property
    def ngram_embedding_params(self) -> int:
        """Parameters of the n-gram embedding tables (0 for models without them)."""
        return (self.ngram_vocab_size_base or 0) * (self.ple_embed_dim or 0) * len(
            self.ple_layer_ids)

    @property
    def kv_cache_layers(self) -> int:
        """Layers that keep a KV cache (hybrid models keep one in `full_attention_interval`)."""
        if self.full_attention_interval:
            return self.num_hidden_layers // self.full_attention_interval
        return self.num_hidden_layers


@record
class Context(Record):
    """Native and longest supported context, and how it is extended."""

    __pydantic_config__ = FORBID_EXTRA
    native_tokens: Tokens
    max_tokens: Tokens
    extension_method: ExtensionMethod = "none"
    yarn_factor: YarnFactor | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < self.native_tokens:
            raise ValueError(
                f"max_tokens ({self.max_tokens}) is below native_tokens ({self.native_tokens})"
            )


# A GGUF repo whose files the catalog does not list (`quants` empty) is taken to hold Q4_K_M: the
# file llama.cpp's `-hf REPO` picks by default, and one every listed official Qwen GGUF repo has.
UNLISTED_GGUF_QUANT = "q4_k_m"


@record
class QuantizedCheckpoint(Record):
    """An official quantized repo, and the GGUF files it holds."""

    __pydantic_config__ = FORBID_EXTRA
    format: QuantFormat
    repo: RepoId
    quants: tuple[QuantName, ...] = ()


@record
class Artifact(Record):
    """One file set a user can download or pull: a Hugging Face / ModelScope repo or an Ollama tag.

    `quants` are the weight formats it holds (GGUF files, MLX bits, an Ollama tag's weights), by
    catalog/quantization.toml id; `mmproj` is the vision projector file of a GGUF repo.
    """

    __pydantic_config__ = FORBID_EXTRA
    format: ArtifactFormat
    hub: Hub = "huggingface"
    repo: RepoId | None = None
    tag: OllamaTag | None = None
    provenance: Provenance = "official"
    quants: tuple[QuantName, ...] = ()
    mmproj: FileName | None = None
    source: Annotated[str, Check(min_length=5)]
    """Where this artifact is documented (the repo page, the Ollama library page, a README)."""

    def __post_init__(self) -> None:
        if self.hub == "ollama":
            if self.tag is None or self.repo is not None:
                raise ValueError("an Ollama artifact names a `tag` and no `repo`")
            if self.provenance == "official":
                raise ValueError("Ollama library tags are built by Ollama: provenance is "
                                 "'ollama-library' (or 'community' for a user's namespace)")
        elif self.repo is None or self.tag is not None:
            raise ValueError(f"a {self.hub} artifact names a `repo` and no `tag`")
        if self.provenance == "official" and self.publisher != "Qwen":
            raise ValueError(f"repo '{self.repo}' is not under the Qwen organisation: "
                             "provenance must be 'community'")
        if self.provenance == "community" and self.publisher == "Qwen":
            raise ValueError(f"repo '{self.repo}' is under the Qwen organisation: "
                             "provenance is 'official'")

    @property
    def publisher(self) -> str:
        """Who publishes it: the repo's organisation, or `ollama` for library tags."""
        if self.repo:
            return self.repo.split("/")[0]
        assert self.tag
        return self.tag.split("/")[0] if "/" in self.tag.split(":")[0] else "ollama"

    @property
    def where(self) -> str:
        """The repo id or Ollama tag."""
        return self.repo or self.tag or ""


@record
class Retirement(Record):
    """An API model the provider retired (or will retire), and what replaces it."""

    __pydantic_config__ = FORBID_EXTRA
    date: dt.date
    successor: Slug | None = None


@record
class Source(Record):
    """An official source, and the fields it backs."""

    __pydantic_config__ = FORBID_EXTRA
    ref: Annotated[str, Check(min_length=5)]
    kind: SourceKind
    backs: Annotated[tuple[str, ...], Check(min_length=1)]
    verified_via: str | None = None


@record
class ModelEntry(Record):
    """One catalog model: facts, architecture, official repos, and the sources of each."""

    __pydantic_config__ = FORBID_EXTRA
    id: Slug
    name: NonEmpty
    family: Slug
    generation: str
    release_date: dt.date | None = None
    hf_repo: RepoId | None = None
    modelscope_repo: RepoId | None = None
    open_weights: StrictBool = True
    architecture: Architecture | None = None
    params_total: Params | None = None
    params_active: Params | None = None
    params_non_embedding: Params | None = None
    modalities_in: tuple[InModality, ...] = ("text",)
    modalities_out: tuple[OutModality, ...] = ("text",)
    tasks: Annotated[tuple[Task, ...], Check(min_length=1)]
    thinking: Thinking = "none"
    languages: str | None = None
    languages_count: PositiveInt | None = None
    license: License
    config: ModelConfig | None = None
    context: Context
    quantized: tuple[QuantizedCheckpoint, ...] = ()
    """Legacy list of official quantized Hugging Face repos; `artifacts` is the full list."""
    ollama_tag: OllamaTag | None = None
    """Legacy single Ollama tag (Q4_K_M); `artifacts` holds every tag."""
    artifacts: tuple[Artifact, ...] = ()
    """Every file set a user can download or pull, official, Ollama library and community."""
    supersedes: Slug | None = None
    """The older model this one replaces (same role and size class, newer generation)."""
    retired: Retirement | None = None
    """API models only: the provider retired this id (on `date`) in favour of `successor`."""
    language_model_only: StrictBool = False
    """The architecture defines vision modules but the checkpoint holds only the language model
    (Qwen-AgentWorld): servers must skip the vision encoder (vLLM `--language-model-only`)."""
    benchmarks: dict[BenchmarkKey, Score] = field(default_factory=dict)
    sources: Annotated[tuple[Source, ...], Check(min_length=1)]

    def __post_init__(self) -> None:
        problems = [*self._weights_problems(), *self._param_problems(), *self._unbacked(),
                    *self._artifact_problems(), *self._range_problems()]
        if problems:
            raise ValueError("\n".join(problems))

    def _weights_problems(self) -> list[str]:
        if not self.open_weights:
            return [
                f"{name}: an API-only model (open_weights = false) has no {name}"
                for name in ("config", "hf_repo", "quantized", "ollama_tag", "artifacts")
                if getattr(self, name)
            ]
        problems = [
            f"{name}: required for an open-weight model"
            for name in ("config", "hf_repo", "params_total", "architecture")
            if getattr(self, name) is None
        ]
        if self.config and self.architecture:
            if self.config.is_moe != self.architecture.endswith("moe"):
                problems.append(
                    f"architecture: '{self.architecture}' disagrees with config "
                    f"(num_experts {'set' if self.config.is_moe else 'absent'})"
                )
            if self.architecture.startswith("hybrid") != bool(self.config.full_attention_interval):
                problems.append(
                    "config.full_attention_interval: required for hybrid attention, "
                    "and only there"
                )
        if self.architecture in ("moe", "hybrid-moe") and self.params_active is None:
            problems.append("params_active: required for a mixture-of-experts model")
        return problems

    def _param_problems(self) -> list[str]:
        problems = []
        if self.params_active and self.params_total and self.params_active > self.params_total:
            problems.append(
                f"params_active: {self.params_active:,} exceeds params_total {self.params_total:,}"
            )
        if self.config and self.params_total and self.architecture:
            computed = self.param_count.total
            gap = (computed - self.params_total) / self.params_total
            towers = set(self.modalities_in) - {"text"} or set(self.modalities_out) - {
                "text", "embedding", "score"
            }
            # Vision/audio towers are in the card's total but not in the text config.
            too_low = gap < -PARAM_TOLERANCE and not towers
            if gap > PARAM_TOLERANCE or too_low:
                problems.append(
                    f"params_total: config gives {computed:,} parameters, "
                    f"{gap:+.1%} from the stated {self.params_total:,} "
                    f"(tolerance ±{PARAM_TOLERANCE:.0%})"
                )
        return problems

    def _artifact_problems(self) -> list[str]:
        problems = []
        seen: set[tuple[str, str]] = set()
        for i, a in enumerate(self.artifacts):
            key = (a.hub, a.where.lower())
            if key in seen:
                problems.append(f"artifacts[{i}]: duplicate of an earlier artifact ({a.where})")
            seen.add(key)
        if self.supersedes == self.id:
            problems.append("supersedes: a model cannot supersede itself")
        if self.retired and self.open_weights:
            problems.append("retired: only API models are retired by their provider")
        if self.language_model_only and set(self.modalities_in) - {"text"}:
            problems.append("language_model_only: a checkpoint without its vision weights takes "
                            "text input only")
        return problems

    def _range_problems(self) -> list[str]:
        problems = []
        for key, score in sorted(self.benchmarks.items()):
            top = RATING_BENCHMARKS.get(key, 100.0)
            if score > top:
                what = "a rating" if key in RATING_BENCHMARKS else "a percentage"
                problems.append(f"benchmarks.{key}: {score:g} is out of range; expected {what} "
                                f"from 0 to {top:g}")
        latest = dt.date.today() + dt.timedelta(days=366)
        dates = [("release_date", self.release_date),
                 ("retired.date", self.retired.date if self.retired else None)]
        problems += [f"{name}: {day} is out of range; expected {FIRST_RELEASE_YEAR}-01-01 to "
                     f"{latest} (a year from today)"
                     for name, day in dates
                     if day is not None and not dt.date(FIRST_RELEASE_YEAR, 1, 1) <= day <= latest]
        return problems

    def _unbacked(self) -> list[str]:
        backed = {name for src in self.sources for name in src.backs}
        roots = {name.split(".")[0] for name in backed}  # `context.max_tokens` backs `context`
        problems = [
            f"sources: backs unknown field '{name}'"
            for name in sorted(backed)
            if name.split(".")[0] not in FACT_FIELDS
        ]
        for name in FACT_FIELDS:
            value = getattr(self, name)
            if value is None or value == () or value == {}:
                continue
            if name in ("config", "benchmarks"):
                keys = (value.keys() if name == "benchmarks" else
                        [k for k in value.__record_fields__ if getattr(value, k) is not None])
                problems += [
                    f"{name}.{key}: no source backs it"
                    for key in sorted(keys)
                    if name not in backed and f"{name}.{key}" not in backed
                ]
            elif name not in roots:
                if name in DEFAULTED_FACTS and value == DEFAULTED_FACTS[name]:
                    continue  # the default states nothing
                problems.append(f"{name}: no source backs it")
        return problems

    @property
    def unverified(self) -> tuple[str, ...]:
        """Fields backed by a source whose notes say part of it was not read in an official copy."""
        notes = [(src, src.verified_via or "") for src in self.sources]
        return tuple(sorted({name for src, note in notes if "UNVERIFIED" in note
                             for name in src.backs}))

    @cached_property
    def downloads(self) -> tuple[Artifact, ...]:
        """Every artifact: `artifacts`, plus the legacy `quantized` repos and `ollama_tag`."""
        found = list(self.artifacts)
        listed = {(a.hub, a.where) for a in found}
        found.extend(Artifact(format=q.format if q.format in ARTIFACT_FORMATS else "mlx",
                              repo=q.repo, quants=q.quants, source="quantized")
                     for q in self.quantized if ("huggingface", q.repo) not in listed)
        if self.ollama_tag and ("ollama", self.ollama_tag) not in listed:
            found.append(Artifact(format="gguf", hub="ollama", tag=self.ollama_tag,
                                  provenance="ollama-library", quants=(UNLISTED_GGUF_QUANT,),
                                  source="ollama_tag"))
        return tuple(found)

    @property
    def params_active_or_total(self) -> int | None:
        return self.params_active or self.params_total

    @cached_property
    def param_count(self) -> ParamCount:
        """The language model's parameters, counted from `config` (open-weight models only)."""
        assert self.config and self.architecture
        from advisor.data.params import count_params

        return count_params(self.config, self.architecture)

    @cached_property
    def towers_params(self) -> int:
        """Parameters outside the text model (vision/audio encoders), from the card's total."""
        if not (self.config and self.params_total and self.architecture):
            return 0
        return max(0, self.params_total - self.param_count.total)


@record
class Catalog(Record):
    """The catalog's models, in file order."""

    models: tuple[ModelEntry, ...]

    def by_id(self) -> dict[str, ModelEntry]:
        return {m.id: m for m in self.models}

    def superseded_by(self) -> dict[str, tuple[str, ...]]:
        """Model id -> the ids of the newer models that name it in `supersedes`."""
        found: dict[str, list[str]] = {}
        for m in self.models:
            if m.supersedes:
                found.setdefault(m.supersedes, []).append(m.id)
        return {k: tuple(v) for k, v in found.items()}


def lineage_problems(models: Iterable[ModelEntry]) -> list[str]:
    """`supersedes` names a model of the catalog, and no chain of them comes back to itself."""
    by_id = {m.id: m for m in models}
    problems = [f"model '{m.id}': supersedes: unknown model '{m.supersedes}'"
                for m in by_id.values() if m.supersedes and m.supersedes not in by_id]
    for m in by_id.values():
        seen, cur = {m.id}, m.supersedes
        while cur in by_id:
            if cur in seen:
                problems.append(f"model '{m.id}': supersedes: the chain comes back to '{cur}'")
                break
            seen.add(cur)
            cur = by_id[cur].supersedes
    return problems
