"""Result documents printed by the CLI; every JSON output is one of these, versioned."""

from __future__ import annotations

import datetime as dt

from advisor.data.hardware import DeviceProfile
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import (
    Artifact,
    Context,
    License,
    ModelConfig,
    ModelEntry,
    QuantizedCheckpoint,
    Retirement,
    Source,
)
from advisor.recipes import Recipe

__all__ = ["SCHEMA_VERSION", "DevicesResult", "ModelView", "ModelsResult", "ShowResult"]


@record
class Modalities(Record):
    """What a model takes in and gives out."""

    input: tuple[str, ...]
    output: tuple[str, ...]


@record
class ModelView(Record):
    """One catalog model as users' scripts see it (`advisor models --json`, `advisor show`)."""

    id: str
    name: str
    family: str
    generation: str
    release_date: dt.date | None
    hf_repo: str | None
    modelscope_repo: str | None
    open_weights: bool
    architecture: str | None
    license: License
    params_total: int | None
    params_active: int | None
    params_non_embedding: int | None
    params_towers: int
    context_native: int
    context_max: int
    context: Context
    modalities: Modalities
    tasks: tuple[str, ...]
    thinking: str
    languages: str | None
    languages_count: int | None
    config: ModelConfig | None
    kv_cache_layers: int | None
    quantized: tuple[QuantizedCheckpoint, ...]
    benchmarks: dict[str, float]
    sources: tuple[Source, ...]
    unverified: tuple[str, ...] = ()
    """Fields whose source could not be read in full in an official copy (catalog/UNVERIFIED.md)."""
    artifacts: tuple[Artifact, ...] = ()
    """Everything a user can download or pull: official, Ollama library and community builds."""
    supersedes: str | None = None
    """The older model this one replaces."""
    superseded_by: tuple[str, ...] = ()
    """Newer catalog models that replace this one."""
    retired: Retirement | None = None

    @classmethod
    def of(cls, m: ModelEntry, superseded_by: tuple[str, ...] = ()) -> ModelView:
        copied = (
            "id", "name", "family", "generation", "release_date", "hf_repo", "modelscope_repo",
            "open_weights", "architecture", "params_total", "params_non_embedding", "tasks",
            "thinking", "languages", "languages_count", "benchmarks",
        )
        return cls(
            **{name: getattr(m, name) for name in copied},
            license=m.license,
            context=m.context,
            config=m.config,
            quantized=m.quantized,
            sources=m.sources,
            params_active=m.params_active_or_total,
            params_towers=m.towers_params,
            context_native=m.context.native_tokens,
            context_max=m.context.max_tokens,
            modalities=Modalities(input=m.modalities_in, output=m.modalities_out),
            kv_cache_layers=m.config.kv_cache_layers if m.config else None,
            unverified=m.unverified,
            artifacts=m.downloads,
            supersedes=m.supersedes,
            superseded_by=superseded_by,
            retired=m.retired,
        )


@record
class ModelsResult(Record):
    """`advisor models`: the listed models."""

    schema_version: int = SCHEMA_VERSION
    models: tuple[ModelView, ...]


@record
class ShowResult(Record):
    """`advisor show`: one model and the recipes to run it."""

    schema_version: int = SCHEMA_VERSION
    model: ModelView
    recipes: tuple[Recipe, ...] = ()


@record
class DevicesResult(Record):
    """`advisor devices`: the profiles and class aliases."""

    schema_version: int = SCHEMA_VERSION
    devices: tuple[DeviceProfile, ...]
    aliases: dict[str, str]
