"""Side-by-side comparison: rows are attributes, columns are models, best value per row marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from advisor.data.formats import RuntimeSpec, Tables, WeightFormat
from advisor.data.hardware import Hardware
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import ModelEntry
from advisor.estimation.estimate import Estimate, estimate, resident_counts, weights_bytes
from advisor.i18n import join, msg


@record
class CompareRow(Record):
    """One attribute across the compared models, with the best value marked."""

    attribute: str
    values: tuple[str, ...]
    numbers: tuple[float | None, ...]
    better: Literal["higher", "lower"] | None = None
    best: tuple[int, ...] = ()
    """Column indexes holding the best value (ties share it)."""


@record
class CompareResult(Record):
    """`advisor compare`: attribute rows across models, on one device and setup."""

    schema_version: int = SCHEMA_VERSION
    models: tuple[str, ...]
    device: str | None
    quant: str
    runtime: str | None
    context_tokens: int
    rows: tuple[CompareRow, ...]
    estimates: tuple[Estimate | None, ...]


def _benchmark_row(name: str, models: list[ModelEntry]) -> CompareRow:
    return _row(msg("benchmark: {name}", name=name), models,
                lambda m: f"{m.benchmarks[name]:g}" if name in m.benchmarks else "-",
                lambda m: m.benchmarks.get(name), "higher")


def _row(attribute: str, models: list[ModelEntry], text: Callable[[ModelEntry], str],
         number: Callable[[ModelEntry], float | None] | None = None,
         better: Literal["higher", "lower"] | None = None) -> CompareRow:
    numbers = tuple(number(m) if number else None for m in models)
    known = [n for n in numbers if n is not None]
    best: tuple[int, ...] = ()
    if better and len(known) > 1 and len(set(known)) > 1:
        target = max(known) if better == "higher" else min(known)
        best = tuple(i for i, n in enumerate(numbers) if n == target)
    return CompareRow(attribute=attribute, values=tuple(text(m) for m in models),
                      numbers=numbers, better=better, best=best)


def _billions(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e9:.2f}B"


def compare(models: list[ModelEntry], tables: Tables, fmt: WeightFormat, context_tokens: int,
            hw: Hardware | None = None, rt: RuntimeSpec | None = None) -> CompareResult:
    """Compare models; with hardware, memory and speed come from the estimator."""
    estimates: dict[str, Estimate | None] = {}
    for m in models:
        ok = m.open_weights and hw is not None and rt is not None
        estimates[m.id] = (estimate(m, hw, tables, fmt, rt, min(context_tokens,
                                                               m.context.max_tokens))
                           if ok and hw and rt else None)

    def est(m: ModelEntry) -> Estimate | None:
        return estimates[m.id]

    def loaded(m: ModelEntry) -> int:
        """Weight bytes: on a runtime, what it loads for a text job (as the memory rows)."""
        return weights_bytes(resident_counts(m, rt.id) if rt else m, fmt)

    rows = [
        _row(msg("parameters"), models, lambda m: _billions(m.params_total),
             lambda m: m.params_total, None),
        _row(msg("active parameters"), models, lambda m: _billions(m.params_active_or_total),
             lambda m: m.params_active_or_total, None),
        _row(msg("architecture"), models, lambda m: (
            f"{m.architecture}, {m.config.num_hidden_layers} layers, "
            f"{m.config.num_attention_heads}/{m.config.num_key_value_heads} heads (q/kv)"
            if m.config else msg("API only"))),
        _row(msg("context (native / max)"), models,
             lambda m: f"{m.context.native_tokens:,} / {m.context.max_tokens:,}",
             lambda m: m.context.max_tokens, "higher"),
        _row(msg("modalities"), models, lambda m: ", ".join(m.modalities_in) + " -> "
             + ", ".join(m.modalities_out)),
        _row(msg("tasks"), models, lambda m: ", ".join(m.tasks)),
        _row(msg("thinking"), models, lambda m: m.thinking),
        _row(msg("license"), models, lambda m: join("", (
            m.license.id, "" if m.license.commercial_use else msg(" (no commercial use)")))),
        _row(msg("weights at {quant}", quant=fmt.id), models,
             lambda m: f"{loaded(m) / 1e9:.1f} GB" if m.config else "-",
             lambda m: loaded(m) if m.config else None, "lower"),
    ]
    if hw is not None:
        rows += [
            _row(msg("memory with {tokens:,} tokens", tokens=context_tokens), models,
                 lambda m: f"{e.memory.total_bytes / 1e9:.1f} GB" if (e := est(m)) else "-",
                 lambda m: e.memory.total_bytes if (e := est(m)) else None, "lower"),
            _row(msg("fits"), models,
                 lambda m: (msg("yes") if e.fits else msg("no")) if (e := est(m)) else "-"),
            _row(msg("longest context on device"), models,
                 lambda m: f"{e.max_context_tokens:,}" if (e := est(m)) else "-",
                 lambda m: e.max_context_tokens if (e := est(m)) else None, "higher"),
            _row(msg("decode tok/s"), models,
                 lambda m: f"{d:.1f}" if (e := est(m)) and (d := e.speed.decode_tokens_per_s)
                 else "-",
                 lambda m: e.speed.decode_tokens_per_s if (e := est(m)) else None, "higher"),
        ]
    names = sorted({k for m in models for k in m.benchmarks})
    rows += [_benchmark_row(name, models) for name in names]
    return CompareResult(
        models=tuple(m.id for m in models), device=hw.name if hw else None, quant=fmt.id,
        runtime=rt.id if rt else None, context_tokens=context_tokens, rows=tuple(rows),
        estimates=tuple(estimates[m.id] for m in models),
    )
