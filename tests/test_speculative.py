"""Speculative decoding: draft compatibility, MTP heads, sourced speedup ranges, commands whose
every flag is in the documented flag table, and the `advisor draft` CLI."""

from __future__ import annotations

import json
import shlex

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.formats import load_tables
from advisor.data.loader import find_model, load_catalog
from advisor.estimation.speculative import (
    SGLANG_LAUNCH,
    draft_plan,
    flag_table,
    mtp_layers,
    refusal,
    speculative_data,
)

catalog = load_catalog()
tables = load_tables()
models = list(catalog.models)
data = speculative_data()
runner = CliRunner()
BF16 = tables.weight_format("bf16")


def plan(model_id: str, **kw: object):
    return draft_plan(find_model(catalog, model_id), models, BF16, 8192,
                      tables.kv_bytes("fp16"), "fp16", **kw)


def test_another_vocabulary_is_refused_with_the_reason():
    reason = refusal(find_model(catalog, "qwen3.6-27b"), find_model(catalog, "qwen3-0.6b"), data)
    assert reason and "vocab_size 151,936" in reason and "248,320" in reason


def test_same_family_small_models_are_compatible_drafts():
    result = plan("qwen3-32b")
    drafts = [o.model_id for o in result.options if o.kind == "draft"]
    assert drafts == ["qwen3-0.6b", "qwen3-1.7b"]
    assert all(o.source for o in result.options)


def test_qwen25_vocab_padding_within_llama_cpp_tolerance():
    """Qwen2.5 0.5B/1.5B pad to 151,936, 7B+ to 152,064: 128 apart, which llama.cpp accepts."""
    target, draft = (find_model(catalog, i) for i in ("qwen2.5-coder-32b-instruct",
                                                       "qwen2.5-coder-1.5b-instruct"))
    assert target.config and draft.config
    assert target.config.vocab_size - draft.config.vocab_size == 128
    assert refusal(target, draft, data) is None
    cmds = plan("qwen2.5-coder-32b-instruct").commands
    # vLLM needs equal vocab sizes (not verified otherwise): no vLLM draft command is given
    assert not [c for c in cmds if c.runtime == "vllm" and c.kind == "draft"]
    assert [c for c in cmds if c.runtime == "llama.cpp" and c.kind == "draft"]


def test_lineage_mismatch_is_refused_even_at_equal_vocab_size():
    target, draft = find_model(catalog, "qwen3-32b"), find_model(catalog, "qwen2.5-0.5b-instruct")
    assert target.config and draft.config and target.config.vocab_size == draft.config.vocab_size
    reason = refusal(target, draft, data)
    assert reason and "lineage" in reason


def test_draft_must_be_smaller_and_not_the_target():
    big, small = find_model(catalog, "qwen3-1.7b"), find_model(catalog, "qwen3-0.6b")
    assert "not smaller" in (refusal(small, big, data) or "")
    assert "own draft" in (refusal(small, small, data) or "")


@pytest.mark.parametrize("model_id", ["qwen3.5-27b", "qwen3.6-35b-a3b", "qwen3.8-27b",
                                      "qwen3-next-80b-a3b-instruct"])
def test_mtp_models_offer_their_own_heads(model_id):
    result = plan(model_id)
    assert result.mtp_layers == 1
    mtp = [o for o in result.options if o.kind == "mtp"]
    assert len(mtp) == 1 and mtp[0].weights_bytes > 0
    assert {c.runtime for c in result.commands if c.kind == "mtp"} >= {"llama.cpp", "vllm",
                                                                       "sglang"}
    assert any(s.kind == "mtp" for s in result.speedup)


def test_models_without_mtp_have_none():
    assert mtp_layers(find_model(catalog, "qwen3-32b"), data) == 0
    assert all(o.kind == "draft" for o in plan("qwen3-32b").options)


def test_mtp_head_is_about_one_decoder_layer():
    m = find_model(catalog, "qwen3.6-27b")
    assert m.config
    head = next(o for o in plan("qwen3.6-27b").options if o.kind == "mtp")
    per_layer = m.param_count.total * 2 / m.config.num_hidden_layers
    assert 0.5 * per_layer < head.weights_bytes < 1.5 * per_layer


def test_speedup_ranges_come_from_cited_rows():
    result = plan("qwen3.6-35b-a3b")
    mtp = next(s for s in result.speedup if s.kind == "mtp")
    assert mtp.low <= mtp.high
    assert {r.speedup for r in mtp.rows} >= {mtp.low, mtp.high}
    for row in mtp.rows:
        assert row.source.strip() and row.kind == "mtp"
        assert row.speedup == pytest.approx(row.speculative_tokens_per_s
                                            / row.baseline_tokens_per_s, abs=0.01)
    # lmstudio-ai/lms#581: Qwen3.6-35B-A3B 50 -> 110 tokens/s
    assert any(r.target == "qwen3.6-35b-a3b" and r.speedup == pytest.approx(2.2) for r in mtp.rows)
    assert "MoE" in mtp.basis


def test_dense_mtp_range_includes_the_no_gain_report():
    mtp = next(s for s in plan("qwen3.6-27b").speedup if s.kind == "mtp")
    assert mtp.low == pytest.approx(1.0)  # lms#581: 27B 13 -> 13 tokens/s
    assert all(r.target not in ("qwen3.6-35b-a3b",) for r in mtp.rows)


def test_every_measurement_and_caveat_names_a_source():
    for section in ("measurement", "caveat", "flag", "lineage", "mtp"):
        assert all(str(row["source"]).strip() for row in data[section]), section


def test_caveats_apply_to_moe_batches_and_long_contexts():
    moe = plan("qwen3.6-35b-a3b", batch=8)
    now = {c.applies for c in moe.caveats if c.applies_now}
    assert {"moe", "batch"} <= now
    long = draft_plan(find_model(catalog, "qwen3-32b"), models, BF16, 32768,
                      tables.kv_bytes("fp16"), "fp16")
    assert "context" in {c.applies for c in long.caveats if c.applies_now}


def test_every_emitted_flag_is_in_the_flag_table():
    table = flag_table(data)
    seen = 0
    for m in models:
        if not m.open_weights or m.config is None:
            continue
        result = plan(m.id)
        for c in result.commands:
            assert shlex.split(c.command) == list(c.argv)
            args = c.argv[len(SGLANG_LAUNCH):] if c.runtime == "sglang" else c.argv
            if c.runtime == "sglang":
                assert c.argv[:len(SGLANG_LAUNCH)] == SGLANG_LAUNCH
            for arg in args:
                if arg.startswith("-"):
                    seen += 1
                    assert arg in table.get(c.runtime, set()), (c.runtime, arg)
    assert seen > 100


def test_draft_memory_counts_against_the_device():
    result = plan("qwen3-32b", hw=_hw("rtx-4090"))
    assert all(o.fits is not None for o in result.options)
    assert result.device


def _hw(device: str):
    from advisor.data.hardware import HardwareQuery, hardware_from

    return hardware_from(HardwareQuery(device=device))


def test_cli_draft_json_and_schema():
    out = runner.invoke(app, ["draft", "qwen3.6-35b-a3b", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == 1 and doc["mtp_layers"] == 1
    schema = runner.invoke(app, ["schema", "draft"])
    assert schema.exit_code == 0 and "DraftOption" in schema.stdout


def test_cli_refused_draft_says_why():
    out = runner.invoke(app, ["draft", "qwen3.6-27b", "--draft", "qwen3-1.7b"])
    assert out.exit_code == 0
    assert "refused" in out.stderr and "vocab_size" in out.stderr


def test_cli_bad_input_is_one_error_line():
    out = runner.invoke(app, ["draft", "qwen3-32b", "--context", "0"])
    assert out.exit_code == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.output


def test_estimate_json_has_a_speculative_section():
    out = runner.invoke(app, ["estimate", "qwen3.6-35b-a3b", "--device", "rtx-4090", "--json"])
    assert out.exit_code == 0, out.output
    spec = json.loads(out.stdout)["speculative"]
    assert spec["method"] == "mtp" and spec["draft_model_id"] is None
    assert spec["speedup_low"] <= spec["speedup_high"] and spec["sources"]
    dense = runner.invoke(app, ["estimate", "qwen3-8b", "--device", "rtx-4090", "--json"])
    spec = json.loads(dense.stdout)["speculative"]
    assert spec["method"] == "draft" and spec["draft_model_id"] == "qwen3-0.6b"
    assert "speculative decoding" in dense.stderr
