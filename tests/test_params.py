"""Parameter counts from config.json fields."""

from __future__ import annotations

from pathlib import Path

from advisor.loader import load_catalog
from advisor.params import count_params


def test_dense_count_matches_the_card(small_catalog: Path) -> None:
    m = load_catalog(small_catalog).by_id()["qwen3-8b"]
    assert m.config and m.architecture
    count = count_params(m.config, m.architecture)
    assert abs(count.total - 8.2e9) / 8.2e9 < 0.01
    # the card's non-embedding figure: total minus input embedding and output head
    assert abs(count.total - count.embedding - 6.95e9) / 6.95e9 < 0.01
    assert count.active == count.total


def test_moe_counts_all_experts_but_reads_few(small_catalog: Path) -> None:
    m = load_catalog(small_catalog).by_id()["qwen3-30b-a3b"]
    assert m.config and m.architecture
    count = count_params(m.config, m.architecture)
    assert abs(count.total - 30.5e9) / 30.5e9 < 0.01
    assert abs(count.active - 3.3e9) / 3.3e9 < 0.03
