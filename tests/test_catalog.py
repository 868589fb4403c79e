"""The packaged catalog: new shapes counted against stated totals, lineage, artifacts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data import records
from advisor.data.loader import load_catalog
from advisor.data.schema import Artifact, Source, lineage_problems

FIXTURE = Source(ref="test fixture", kind="docs", backs=("supersedes",))


@pytest.fixture(scope="module")
def models():
    return load_catalog().by_id()


@pytest.mark.parametrize(("mid", "text_low", "text_high"), [
    ("qwen3.5-0.8b", 0.70e9, 0.80e9), ("qwen3.5-2b", 1.80e9, 1.95e9),
    ("qwen3.5-4b", 4.10e9, 4.30e9), ("qwen3.5-9b", 8.80e9, 9.10e9),
])
def test_qwen35_small_text_model_and_towers(models, mid, text_low, text_high) -> None:
    m = models[mid]
    assert text_low <= m.param_count.total <= text_high
    # the stated safetensors total holds the vision encoder and MTP on top: 5-20% here
    assert 0.05 * m.params_total < m.towers_params < 0.2 * m.params_total


def test_qwen35_tying_and_context(models) -> None:
    assert [models[f"qwen3.5-{s}"].config.tie_word_embeddings
            for s in ("0.8b", "2b", "4b", "9b")] == [True, True, True, False]
    assert models["qwen3.5-9b"].context.max_tokens == 1_010_000
    assert models["qwen3.5-2b"].context.max_tokens == 262_144
    assert models["qwen3.5-4b"].config.kv_cache_layers == 8
    assert models["qwen3.8-27b"].context.max_tokens == 1_000_000
    assert models["qwen3.6-27b"].context.max_tokens == 1_010_000


def test_every_artifact_sourced_unique_and_official_under_qwen(models) -> None:
    for m in models.values():
        keys = [(a.hub, a.where.lower()) for a in m.downloads]
        assert len(keys) == len(set(keys)), m.id
        for a in m.artifacts:
            assert len(a.source) > 20, (m.id, a.where)
            if a.provenance == "official":
                assert a.where.split("/")[0] == "Qwen"


def test_community_only_model(models) -> None:
    m = models["qwen3.5-4b"]
    hf = [a for a in m.downloads if a.hub == "huggingface"]
    assert hf and all(a.provenance == "community" for a in hf)
    assert any(a.tag == "qwen3.5:4b" and a.quants == ("q4_k_m",) for a in m.downloads)


def test_official_artifact_outside_qwen_is_rejected() -> None:
    with pytest.raises(ValueError, match="not under the Qwen organisation"):
        Artifact(format="gguf", repo="unsloth/Qwen3.5-4B-GGUF", provenance="official",
                 source="https://example.org/x")


def test_lineage_unknown_and_cycle(models) -> None:
    assert lineage_problems(models.values()) == []
    a = records.replace(models["qwen3.5-27b"], supersedes="qwen3.8-27b",
                        sources=(*models["qwen3.5-27b"].sources, FIXTURE))
    rest = [m for k, m in models.items() if k != a.id]
    assert any("comes back" in p for p in lineage_problems([*rest, a]))
    b = records.replace(models["qwen3.5-27b"], supersedes="qwen9-27b",
                        sources=(*models["qwen3.5-27b"].sources, FIXTURE))
    assert any("unknown model 'qwen9-27b'" in p for p in lineage_problems([*rest, b]))


def test_show_json_artifacts_lineage_retired() -> None:
    run = CliRunner().invoke(app, ["show", "qwen3.6-27b", "--json"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    view = json.loads(run.output)["model"]
    assert view["supersedes"] == "qwen3.5-27b"
    assert view["superseded_by"] == ["qwen3.8-27b"]
    run = CliRunner().invoke(app, ["show", "qwen3.5-9b", "--json"], env={"COLUMNS": "200"})
    arts = json.loads(run.output)["model"]["artifacts"]
    assert {"format", "hub", "repo", "tag", "provenance", "quants"} <= set(arts[0])
    assert any(a["tag"] == "qwen3.5:9b" for a in arts)
    run = CliRunner().invoke(app, ["show", "qwen3-max", "--json"], env={"COLUMNS": "200"})
    assert json.loads(run.output)["model"]["retired"]["successor"] == "qwen3.7-max"


def test_show_table_lists_downloads() -> None:
    run = CliRunner().invoke(app, ["show", "qwen3.5-4b"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "bartowski/Qwen_Qwen3.5-4B-GGUF" in run.output and "community" in run.output


NEW_MODELS = ("qwen3.8-2.4t-a95b", "qwen3.8-flash-next", "qwen-agentworld-35b-a3b",
              "qwen3-omni-30b-a3b-thinking")


def test_new_models_modalities_thinking_and_licences(models) -> None:
    big = models["qwen3.8-2.4t-a95b"]
    # text only, thinking cannot be disabled, its own licence (not Apache-2.0)
    assert big.modalities_in == ("text",) and big.thinking == "thinking-only"
    assert big.license.id == "qwen3.8-max" and "separate licence" in big.license.condition
    assert big.context.max_tokens == 1_010_000
    flash = models["qwen3.8-flash-next"]
    assert flash.license.id == "qwen-community-1.0" and "image" in flash.modalities_in
    assert flash.context.max_tokens == 1_000_000
    world = models["qwen-agentworld-35b-a3b"]
    # the checkpoint holds only the language model: no vision input although the base has one
    assert world.modalities_in == ("text",) and world.tasks == ("environment-simulation",)
    omni = models["qwen3-omni-30b-a3b-thinking"]
    assert omni.modalities_out == ("text",) and "audio" in omni.modalities_in
    assert omni.thinking == "thinking-only"
    assert models["qwen3-omni-30b-a3b-instruct"].modalities_out == ("text", "audio")


def test_world_model_is_not_offered_for_chat_or_code(models) -> None:
    from advisor.ranking.rules import serves_task

    world = models["qwen-agentworld-35b-a3b"]
    assert not any(serves_task(world, t) for t in ("chat", "code", "tool-use", "vision"))
    assert serves_task(world, "environment-simulation")
    assert not serves_task(models["qwen3.8-2.4t-a95b"], "vision")


@pytest.mark.parametrize("mid", NEW_MODELS)
def test_show_new_model(mid) -> None:
    run = CliRunner().invoke(app, ["show", mid, "--json"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    view = json.loads(run.output)["model"]
    assert view["id"] == mid and view["params_total"] > 0
    table = CliRunner().invoke(app, ["show", mid], env={"COLUMNS": "100"})
    assert table.exit_code == 0 and mid in table.output and "Traceback" not in table.output


def test_catalog_check_passes() -> None:
    run = CliRunner().invoke(app, ["catalog", "check"])
    assert run.exit_code == 0, run.output
    assert "every fact backed by a source" in run.output


def test_2507_and_generation_lineage(models) -> None:
    by = load_catalog().superseded_by()
    # Qwen3-2507: the Instruct and Thinking halves each take over one mode of the hybrid model
    for size in ("4b", "30b-a3b", "235b-a22b"):
        assert set(by[f"qwen3-{size}"]) == {f"qwen3-{size}-instruct-2507",
                                            f"qwen3-{size}-thinking-2507"}
    assert models["qwen3-14b"].supersedes == "qwen2.5-14b-instruct"
    assert models["qwen3-vl-32b-instruct"].supersedes == "qwen2.5-vl-32b-instruct"
    for m in models.values():
        if m.supersedes:
            old = models[m.supersedes]
            # newer generation, same deployment kind, and a source that backs the claim
            assert (m.release_date or old.release_date) and m.open_weights == old.open_weights
            assert m.release_date is None or old.release_date is None or \
                m.release_date > old.release_date, m.id
            assert any("supersedes" in s.backs for s in m.sources), m.id


def test_superseded_model_is_shown_once_where_its_successor_runs() -> None:
    run = CliRunner().invoke(app, ["recommend", "--device", "rtx-4090", "--private", "--json",
                                   "--top", "1000"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    picked = {p["model_id"] for p in doc["recommendations"]}
    folded = {e["model_id"]: e["reasons"][0]["message"] for e in doc["excluded"]
              if e["reasons"][0]["rule"] == "superseded"}
    assert "qwen3-30b-a3b" in folded and "2507" in folded["qwen3-30b-a3b"]
    assert not picked & set(folded)


def test_retired_api_models_are_excluded_and_current_tier_offered(models) -> None:
    assert models["qwen-turbo"].retired.date.isoformat() == "2026-10-10"
    assert models["qwen-turbo"].retired.successor is None  # the list names a series, not an id
    assert models["qwen3.8-max"].retired is None and models["qwen3.8-max"].thinking == "hybrid"
    run = CliRunner().invoke(app, ["recommend", "--device", "rtx-4090", "--json", "--top", "1000"],
                             env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    reasons = {e["model_id"]: [r["rule"] for r in e["reasons"]] for e in doc["excluded"]}
    assert "retired" in reasons["qwen-turbo"] and "retired" in reasons["qwen3-max"]
    shown = {p["model_id"] for p in doc["recommendations"]} | set(reasons)
    assert "qwen3.8-max" in shown


def test_multimodal_retrieval_and_speech_models(models) -> None:
    from advisor.ranking.rules import serves_task

    for size, total in (("2b", 2e9), ("8b", 8e9)):
        emb, rer = models[f"qwen3-vl-embedding-{size}"], models[f"qwen3-vl-reranker-{size}"]
        assert emb.modalities_out == ("embedding",) and rer.modalities_out == ("score",)
        assert emb.context.max_tokens == rer.context.max_tokens == 32_768  # '32K', not the base's
        # the Qwen3-VL text model of the same size, the vision tower on top of it
        assert 0.8 * total < emb.param_count.total <= 1.05 * total
        # they read images but answer no questions about them
        assert serves_task(emb, "embedding") and not serves_task(emb, "vision")
        assert serves_task(rer, "rerank") and not serves_task(rer, "chat")
    asr, tts = models["qwen3-asr-1.7b"], models["qwen3-tts-12hz-0.6b-customvoice"]
    assert asr.modalities_in == ("audio",) and asr.tasks == ("speech-to-text",)
    assert serves_task(asr, "speech-to-text") and not serves_task(asr, "audio")
    assert tts.modalities_out == ("audio",) and tts.tasks == ("text-to-speech",)
    assert abs(models["qwen3-asr-0.6b"].param_count.total - 0.6e9) < 0.03e9
    # the talker's text embedding (151,936 x 2,048) is outside its config: counted as a tower
    assert tts.towers_params > 0.1e9
    assert serves_task(models["qwen3-omni-30b-a3b-thinking"], "audio")


def test_language_model_only_checkpoint_is_served_without_the_vision_encoder(models) -> None:
    world = models["qwen-agentworld-35b-a3b"]
    assert world.language_model_only and not models["qwen3.5-35b-a3b"].language_model_only
    with pytest.raises(ValueError, match="language_model_only"):
        records.replace(world, modalities_in=("text", "image"))
    run = CliRunner().invoke(app, ["run", "qwen-agentworld-35b-a3b", "--runtime", "vllm"],
                             env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "--language-model-only" in run.stdout
    run = CliRunner().invoke(app, ["run", "qwen3-vl-reranker-2b", "--runtime", "vllm"],
                             env={"COLUMNS": "200"})
    assert "Qwen3VLForSequenceClassification" in run.stdout
