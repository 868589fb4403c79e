"""The `speculative` section of `advisor estimate --json`: a record with no imports of the core,
so advisor.estimation.estimate can name it without importing advisor.estimation.speculative
(which imports estimate)."""

from __future__ import annotations

from advisor.data.records import Record, record


@record
class SpeculativeSummary(Record):
    """Best speculative-decoding option for the estimated model (`advisor draft` has the rest)."""

    method: str  # "mtp", "draft" or "none"
    draft_model_id: str | None
    extra_bytes: int
    speedup_low: float | None
    speedup_high: float | None
    caveats: tuple[str, ...]
    sources: tuple[str, ...]
    note: str
