"""Parameter counts from config.json fields."""

from __future__ import annotations

from pathlib import Path

from advisor.data.loader import load_catalog
from advisor.data.params import count_params


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


def _count(mid: str):
    from advisor.data.loader import load_catalog as load_packaged

    m = load_packaged().by_id()[mid]
    return m, m.param_count


def _near(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) / target < tolerance


def test_trillion_scale_hybrid_moe_matches_the_card() -> None:
    # card: '2.4T in total and 95B activated'; safetensors total 2,446,182,725,504 with the MTP
    m, count = _count("qwen3.8-2.4t-a95b")
    assert _near(count.total, 2.4e12, 0.02)
    assert _near(count.active, 95e9, 0.01)
    assert m.config and m.config.kv_cache_layers == 23  # 23 x (3 GDN + 1 gated attention)
    assert 0 < m.towers_params < 0.02 * m.params_total  # the MTP layer, outside the text config


def test_ngram_embedding_counts_in_total_not_in_active() -> None:
    # card: '125B with 6B activated, plus 51B n-gram embedding and 4B MTP'
    m, count = _count("qwen3.8-flash-next")
    assert m.config
    assert _near(count.ngram, 51e9, 0.01)
    assert _near(count.total - count.ngram, 125e9, 0.01)
    # 'activated' leaves the n-gram tables and the input embedding out (both are lookups)
    assert _near(count.active - m.config.vocab_size * m.config.hidden_size, 6e9, 0.02)
    assert count.embedding - count.ngram == 2 * m.config.vocab_size * m.config.hidden_size
    assert m.towers_params < 5e9  # 4B MTP (and the vision encoder) on top of 176B


def test_ngram_tables_are_resident_weights_but_not_read_per_token() -> None:
    from advisor.data.formats import load_tables
    from advisor.estimation.estimate import bytes_read_per_token, weight_counts, weights_bytes

    m, count = _count("qwen3.8-flash-next")
    formats = load_tables().formats
    w = weight_counts(m)
    assert w.ngram == count.ngram
    without = w._replace(ngram=0)
    for fid in ("bf16", "fp8", "q4_k_m"):
        fmt = formats[fid]
        extra = weights_bytes(w, fmt) - weights_bytes(without, fmt)
        assert abs(extra - count.ngram * fmt.embedding_bits / 8) < 1
        assert bytes_read_per_token(w, fmt) == bytes_read_per_token(without, fmt)
    # BF16 weights: about 2 bytes per stated parameter (the third parties' '360 GB')
    assert _near(weights_bytes(m, formats["bf16"]), 2 * m.params_total, 0.01)


def test_language_model_only_and_omni_thinker_counts() -> None:
    m, count = _count("qwen-agentworld-35b-a3b")
    assert _near(count.total, 35e9, 0.02)
    assert m.config and _near(count.active - m.config.vocab_size * m.config.hidden_size, 3e9, 0.03)
    m, count = _count("qwen3-omni-30b-a3b-thinking")
    assert _near(count.total, 30.5e9, 0.01) and _near(count.active, 3.3e9, 0.03)


def test_ngram_fields_go_together() -> None:
    import pytest

    from advisor.data import records

    m, _ = _count("qwen3.8-flash-next")
    assert m.config
    with pytest.raises(ValueError, match="go together"):
        records.replace(m.config, ple_layer_ids=())
    with pytest.raises(ValueError, match="ple_layer_ids"):
        records.replace(m.config, ple_layer_ids=(48,))
