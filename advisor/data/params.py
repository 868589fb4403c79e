"""Parameter counts from a config: pure arithmetic over config.json fields.

Norms, biases and rotary tables are left out (well under 0.1% of any Qwen model).
"""

from __future__ import annotations

from typing import NamedTuple

from advisor.data.schema import ModelConfig


class ParamCount(NamedTuple):
    total: int
    active: int
    embedding: int
    """Input embedding plus a separate output head (counted once when tied)."""
    output_head: int
    """Parameters read per token by the output projection (the embedding when tied)."""
    ngram: int = 0
    """N-gram embedding tables: in `total` and `embedding`, not in `active` (looked up, not
    multiplied: the cards count them apart, '125B with 6B activated, plus 51B n-gram embedding')."""


def _attention(c: ModelConfig, gated: bool) -> int:
    q_out = c.num_attention_heads * c.head_dim * (2 if gated else 1)
    kv_out = 2 * c.num_key_value_heads * c.head_dim
    return c.hidden_size * (q_out + kv_out) + c.num_attention_heads * c.head_dim * c.hidden_size


def _linear_attention(c: ModelConfig) -> int:
    """Gated DeltaNet layer (Qwen3-Next / Qwen3.5): in/out projections and the short conv."""
    nk, nv = c.linear_num_key_heads or 0, c.linear_num_value_heads or 0
    dk, dv = c.linear_key_head_dim or 0, c.linear_value_head_dim or 0
    qkvz = 2 * nk * dk + 2 * nv * dv
    conv = (2 * nk * dk + nv * dv) * (c.linear_conv_kernel_dim or 0)
    return c.hidden_size * (qkvz + 2 * nv) + conv + nv * dv * c.hidden_size


def _mlp(c: ModelConfig) -> tuple[int, int]:
    """(all, active-per-token) feed-forward parameters of one layer."""
    if not c.is_moe:
        dense = 3 * c.hidden_size * (c.intermediate_size or 0)
        return dense, dense
    expert = 3 * c.hidden_size * (c.moe_intermediate_size or 0)
    shared = 3 * c.hidden_size * (c.shared_expert_intermediate_size or 0)
    router = c.hidden_size * (c.num_experts or 0)
    total = (c.num_experts or 0) * expert + shared + router
    active = (c.num_experts_per_tok or 0) * expert + shared + router
    return total, active


def count_params(c: ModelConfig, architecture: str) -> ParamCount:
    """Count total and per-token active parameters of the language model described by `c`.

    Callers that ask often go through `ModelEntry.param_count`, which keeps the count."""
    hybrid = architecture.startswith("hybrid")
    kv_layers = c.kv_cache_layers
    linear_layers = c.num_hidden_layers - kv_layers
    attention = kv_layers * _attention(c, gated=hybrid) + linear_layers * _linear_attention(c)
    mlp_total, mlp_active = _mlp(c)
    embed = c.vocab_size * c.hidden_size
    head = 0 if c.tie_word_embeddings else embed
    ngram = c.ngram_embedding_params
    body_total = attention + c.num_hidden_layers * mlp_total
    body_active = attention + c.num_hidden_layers * mlp_active
    return ParamCount(
        total=body_total + embed + head + ngram,
        active=body_active + embed + head,
        embedding=embed + head + ngram,
        output_head=embed,
        ngram=ngram,
    )
