"""Ranking on evidence: the quality fit (catalog/quality.toml), quantization loss, the speed
curve, licences, lineage, and a table of expert scenarios with the evidence behind each pick."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import math
from pathlib import Path

import pytest
import tomllib

from advisor.data import records
from advisor.data.formats import load_tables
from advisor.data.hardware import HardwareQuery, hardware_from
from advisor.data.loader import load_catalog
from advisor.data.schema import Catalog, Retirement, Source
from advisor.ranking.recommend import Recommendation, recommend, ttft_penalty
from advisor.ranking.rules import (
    Constraints,
    load_quality,
    load_scoring,
    model_quality,
    quant_loss_sd,
    speed_utility,
)

ROOT = Path(__file__).resolve().parent.parent
catalog = load_catalog()
tables = load_tables()
scoring = load_scoring()
quality = load_quality()
by_id = {m.id: m for m in catalog.models}
FIXTURE = Source(ref="test fixture", kind="docs", backs=("supersedes", "retired"))


def run(device: str, gpus: int = 1, cat: Catalog = catalog, **kwargs: object) -> Recommendation:
    hw = hardware_from(HardwareQuery(device=device, gpus=gpus))
    return recommend(cat, hw, tables, Constraints(**kwargs), scoring, quality)


def local(r: Recommendation) -> list:
    return [p for p in r.recommendations if p.deployment == "local"]


def _fit_module():
    spec = importlib.util.spec_from_file_location("fit_quality", ROOT / "bench" / "fit_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the evidence and the fit -------------------------------------------------------------------

def test_quality_table_is_fresh() -> None:
    """quality.toml was generated from the current evidence and fit script (catalog drift is
    reported by `python bench/fit_quality.py --check`; new models get the prior meanwhile)."""
    assert quality.method_hash == _fit_module().inputs_hash(("evidence.toml",)), \
        "run: python bench/fit_quality.py"


def test_a_model_added_since_the_fit_gets_the_prior_marked_estimated() -> None:
    m = records.replace(by_id["qwen3-8b"], id="qwen3-8b-new")
    q = model_quality(m, "general", quality.area_scores("general"), quality)
    assert q and q.estimated and q.evidence == ""
    fit = quality.areas["general"]
    assert q.sd == fit.prior_sd


def test_every_evidence_row_is_sourced_dated_and_catalogued() -> None:
    doc = tomllib.loads((ROOT / "catalog" / "evidence.toml").read_text())
    for row in doc["results"]:
        assert row["model"] in by_id, row
        assert row["board"] in doc["boards"], row
        assert row["source"].strip() and dt.date.fromisoformat(row["date"]), row


def test_every_model_has_a_score_in_every_area() -> None:
    for area in ("general", "reasoning", "code", "agent", "chinese", "embedding"):
        scores = quality.area_scores(area)
        for m in catalog.models:
            q = model_quality(m, area, scores, quality)
            assert q is not None, (area, m.id)
            assert q.sd > 0
            assert q.estimated == (q.evidence == ""), q


def test_held_out_tables_are_predicted_better_than_chance() -> None:
    """Each area's tables left out in turn: the refit orders them (Kendall tau, README)."""
    for area in ("general", "reasoning", "code"):
        fit = quality.areas[area]
        assert fit.held_out_tables >= 5, area
        assert fit.held_out_tau > 0.5, (area, fit.held_out_tau)


def test_kendall_tau() -> None:
    tau = _fit_module().kendall_tau
    assert tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert tau([1, 2, 3], [30, 20, 10]) == -1.0


def test_evidence_orders_generations_at_one_size() -> None:
    """Same size, three generations: the fit follows the AA index and the cards."""
    general = quality.area_scores("general")
    assert general["qwen3.8-27b"].score > general["qwen3.6-27b"].score
    assert general["qwen3.5-27b"].score > general["qwen3-32b"].score > \
        general["qwen2.5-32b-instruct"].score
    assert "AA index 33.9" in general["qwen3.8-27b"].evidence


# --- score parts ---------------------------------------------------------------------------------

def test_chat_pays_for_a_long_wait_for_the_first_token() -> None:
    target, limit = scoring.pace["ttft_target_s"], scoring.pace["ttft_limit_s"]
    assert ttft_penalty(None, scoring) == 0.0  # no prefill estimate (phones): nothing charged
    assert ttft_penalty(target, scoring) == 0.0
    waits = [ttft_penalty(t, scoring) for t in (2.0, 5.0, 8.0)]
    assert waits == sorted(waits) and len(set(waits)) == 3
    assert ttft_penalty(limit * 3, scoring) == scoring.weights["ttft"]
    # M4 Max, chat: the dense 27B prefills a 2K-token turn far slower than the 3B-active MoE
    picks = {p.model_id: p for p in run("m4-max", private=True, top=1000).recommendations}
    dense, moe = picks["qwen3.8-27b"], picks["qwen3.6-35b-a3b"]
    assert dense.score_parts["ttft"] < moe.score_parts["ttft"] <= 0.0
    why = {x.rule: x.message for x in dense.reasons}
    assert "s to the first token" in why["score-ttft"]
    # a code job is judged on throughput, not on the first token
    code = {p.model_id: p for p in run("m4-max", private=True, task="code",
                                        top=1000).recommendations}
    assert code["qwen3.6-35b-a3b"].score_parts["ttft"] == 0.0


def test_text_job_prefers_a_text_model_unless_a_multimodal_one_leads_on_text_evidence() -> None:
    """M4 16 GB, chat: Qwen3-8B ranks above Qwen3-VL-8B (the same size with a vision tower the
    job does not use), while Qwen3.5-9B, multimodal too, ranks above Qwen3-8B because its text
    evidence (Qwen3.5 cards, AA index) leads by more than the unused tower costs."""
    r = run("m4", private=True, top=1000)
    order = [p.model_id for p in local(r)]
    picks = {p.model_id: p for p in local(r)}
    assert order.index("qwen3-8b") < order.index("qwen3-vl-8b-instruct"), order[:10]
    new, text = picks["qwen3.5-9b"], picks["qwen3-8b"]
    assert new.score_parts["unused_modalities"] < 0 == text.score_parts["unused_modalities"]
    assert new.quality and text.quality and not new.quality.estimated
    lead = new.score_parts["quality"] - text.score_parts["quality"]
    assert lead > -new.score_parts["unused_modalities"], lead
    assert order.index("qwen3.5-9b") < order.index("qwen3-8b"), order[:10]


def test_speed_keeps_paying_above_reading_pace_with_diminishing_returns() -> None:
    u = [speed_utility(t, "chat", scoring) for t in (10, 30, 50, 70, 90)]
    assert u == sorted(u) and len(set(u)) == len(u)
    gains = [b - a for a, b in itertools.pairwise(u)]
    assert gains == sorted(gains, reverse=True)
    # code and agents want more speed than chat for the same utility
    assert speed_utility(40, "code", scoring) < speed_utility(40, "chat", scoring)


def test_quantization_costs_small_models_more() -> None:
    q4 = tables.weight_format("q4_k_m").quality_loss
    small = quant_loss_sd(q4, by_id["qwen3-4b-instruct-2507"], scoring)
    big = quant_loss_sd(q4, by_id["qwen3-30b-a3b-instruct-2507"], scoring)
    # mlx-lm MMLU-Pro at 4-bit: 4B loses 5.2 %, 30B-A3B 2.6 %: about twice as much
    assert 1.6 < small / big < 2.4


def test_q4_k_m_loss_on_a_4b_lies_between_the_measured_4_and_5_bit_points() -> None:
    """mlx-lm BENCHMARKS.md, Qwen3-4B-Instruct-2507 MMLU-Pro: 4-bit (4.5 bits/weight) -5.2 %,
    5-bit (5.5) -2.6 %; Q4_K_M (4.89 bits) must cost a 4B model a relative loss in between."""
    q4km = tables.weight_format("q4_k_m")
    relative = quant_loss_sd(q4km.quality_loss, by_id["qwen3-4b-instruct-2507"], scoring,
                             q4km.id) * scoring.quant["relative_loss_per_sd"]
    assert 0.026 < relative < 0.052, relative


def test_k_quant_is_picked_over_legacy_of_the_same_size() -> None:
    for device in ("rtx-4090", "rtx-4060", "rtx-3060"):
        assert all(p.quant != "q4_0" for p in local(run(device, private=True))), device


def test_research_licence_is_flagged_in_the_why_line_and_json() -> None:
    r = run("iphone-16-pro", private=True, top=1000)
    # (qwen2.5-3b-instruct, also research-licensed, is superseded by qwen3-4b and not shown)
    research = next(p for p in r.recommendations if p.model_id == "qwen2.5-coder-3b-instruct")
    assert not research.commercial_use
    assert research.license_note and "no commercial use" in research.license_note
    assert research.license_note in research.why


def test_every_pick_carries_its_quality_and_evidence() -> None:
    for p in run("rtx-4090", private=True, top=10).recommendations:
        assert p.quality is not None
        lo, hi = p.quality.interval
        assert lo < p.quality.score < hi
        assert p.quality.estimated or p.quality.evidence
        explained = {x.rule: x.message for x in p.reasons}
        assert p.quality.area in explained["score-quality"]


def test_superseded_model_is_shown_once() -> None:
    m = by_id["qwen3.6-27b"]
    newer = records.replace(m, supersedes="qwen3.5-27b", sources=(*m.sources, FIXTURE))
    cat = records.replace(catalog, models=tuple(
        newer if m.id == newer.id else m for m in catalog.models))
    r = run("rtx-4090", cat=cat, private=True, top=1000)
    assert "qwen3.5-27b" not in {p.model_id for p in r.recommendations}
    why = {x.rule: x.message for e in r.excluded if e.model_id == "qwen3.5-27b" for x in e.reasons}
    assert why["superseded"] == "superseded by qwen3.6-27b, which also runs here"


def test_retired_api_model_is_never_offered() -> None:
    api = next(m for m in catalog.models if not m.open_weights)
    gone = records.replace(api, retired=Retirement(date=dt.date(2026, 1, 1)),
                           sources=(*api.sources, FIXTURE))
    cat = records.replace(catalog, models=tuple(
        gone if m.id == api.id else m for m in catalog.models))
    r = run("laptop", cat=cat, top=1000)
    assert api.id not in {p.model_id for p in r.recommendations}
    assert any(x.rule == "retired" for e in r.excluded if e.model_id == api.id for x in e.reasons)


# --- expert scenarios -----------------------------------------------------------------------------
# device, options, what an expert would pick (ids acceptable as #1), and why, with the evidence.
# Qwen3.5 small models (March 2026) lead the small devices: 4B/9B on the AA index (13.1 / 13.7,
# above Qwen3-4B-2507 and Qwen3-8B), 0.8B/2B on the size/generation prior (no published result yet).
SCENARIOS = [
    ("snapdragon-8-elite", {}, {"qwen3.5-4b", "qwen3.5-2b", "qwen3-4b-instruct-2507"},
     "12 GB phone: Qwen3.5-4B at Q4_K_M (AA index 13.1, a ready community GGUF) at ~14 tok/s or "
     "Qwen3.5-2B at Q8_0 at ~19 tok/s; the 9B is below reading pace"),
    ("budget-phone", {}, {"qwen3.5-2b", "qwen3.5-0.8b", "qwen3-1.7b"},
     "8 GB budget phone, <4 GB for one app at 17 GB/s: a Qwen3.5 0.8B/2B (Qwen3-1.7B: card "
     "mmlu-redux 73.9); 4B models read at ~2 tok/s there. Qwen3-4B-2507 is better on text "
     "(Qwen3.5-2B card, non-thinking MMLU-Pro 69.6 vs 55.3), so the 2B must win on speed: "
     "Q4_K_M at ~6 tok/s against ~2"),
    ("raspberry-pi-5", {}, {"qwen3.5-4b", "qwen3.5-2b", "qwen3-4b-instruct-2507", "qwen3-1.7b"},
     "Pi 5, CPU only: a Qwen3.5 2B/4B (AA 13.1 for the 4B) or Qwen3-4B-2507/1.7B"),
    ("laptop", {}, {"qwen3.5-9b", "qwen3.5-4b", "qwen3-8b"},
     "16 GB laptop: Qwen3.5-9B/4B (AA 13.7 / 13.1) or Qwen3-8B (AA 7.4)"),
    ("m4", {}, {"qwen3.5-9b", "qwen3.5-4b", "qwen3-8b"},
     "M4 16 GB chat: Qwen3.5-9B/4B on MLX (AA 13.7 / 13.1), not a vision-only family"),
    ("m4-max", {}, {"qwen3.8-27b", "qwen3.6-35b-a3b"},
     "M4 Max: Qwen3.8-27B (AA 33.9) or the 35B-A3B MoE at >100 tok/s"),
    ("rtx-3060", {}, {"qwen3.5-9b", "qwen3.5-4b", "qwen3-8b", "qwen3-14b"},
     "12 GB GPU: Qwen3.5-9B/4B (AA 13.7 / 13.1) above Qwen3-8B/14B (AA 7.4 / 10.1)"),
    ("rtx-4080", {}, {"qwen3.8-27b", "qwen3-14b"},
     "16 GB GPU: Qwen3.8-27B at 3-bit or Qwen3-14B at Q4_K_M"),
    ("rtx-4090", {}, {"qwen3.8-27b"},
     "24 GB GPU: Qwen3.8-27B Q4_K_M (AA index 33.9, the best Qwen that fits)"),
    ("rtx-5090", {}, {"qwen3.8-27b"}, "32 GB GPU: Qwen3.8-27B (AA index 33.9)"),
    ("dgx-spark", {}, {"qwen3.8-27b", "qwen3.5-122b-a10b", "qwen3-next-80b-a3b-instruct"},
     "128 GB unified, 273 GB/s: the best-evidence 27B or a big MoE at ~40-80 tok/s"),
    ("h100", {}, {"qwen3.8-27b"}, "one H100: Qwen3.8-27B at FP8"),
    ("h100", {"gpus": 8}, {"qwen3.8-27b", "qwen3.5-397b-a17b"},
     "8xH100: Qwen3.8-27B (AA 33.9) or Qwen3.5-397B-A17B (AA 33.7)"),
    ("h20", {"chinese": True}, {"qwen3.8-27b", "qwen3.5-397b-a17b", "qwen3.6-27b"},
     "H20, private, Chinese: the newest Qwen with C-Eval/CMMLU evidence or AA index"),
]


@pytest.mark.parametrize(("device", "options", "expected", "why"), SCENARIOS,
                         ids=[f"{d}-{'-'.join(o)}" for d, o, _, _ in
                              (getattr(x, "values", x) for x in SCENARIOS)])
def test_expert_scenario(device: str, options: dict, expected: set[str], why: str) -> None:
    gpus = options.pop("gpus", 1) if "gpus" in options else 1
    r = run(device, gpus=gpus, private=True, **options)
    top = local(r)[0]
    assert top.model_id in expected, (top.model_id, why)
    assert top.quality is not None and (top.quality.evidence or top.quality.estimated)
    # a text chat job on a text-capable device never leads with a vision-only family
    assert not top.model_id.startswith(("qwen3-vl", "qwen2.5-vl"))


def test_code_on_a_4090_offers_the_fast_moe() -> None:
    """24 GB, code: the 35B-A3B MoE (SWE-bench Verified 73.4, ~200 tok/s) is in the top 3."""
    top3 = [p.model_id for p in local(run("rtx-4090", private=True, task="code"))[:3]]
    assert "qwen3.6-35b-a3b" in top3, top3


def test_long_context_quantizes_the_kv_cache_before_the_weights() -> None:
    """128K on a 24 GB GPU: keep Q4_K_M weights and quantize the KV cache (club-3090 practice),
    rather than dropping the weights to 3-bit with an fp16 cache."""
    top = local(run("rtx-4090", private=True, context_tokens=131_072))[0]
    assert top.quant == "q4_k_m", top.quant
    assert "q8_0 KV cache" in top.why
    assert top.kv_cache_dtype == "q8_0"
    serve = next(r for r in top.recipes if r.runtime == "llama.cpp").commands[-1]
    assert "-ctk q8_0 -ctv q8_0" in serve


def test_host_ram_lets_a_moe_run_with_experts_offloaded() -> None:
    """8 GB GPU with --ram-gb 64: the 30B MoE is offered with its experts in host RAM."""
    hw = hardware_from(HardwareQuery(device="rtx-4060", ram_gib=64))
    r = recommend(catalog, hw, tables, Constraints(private=True, top=1000), scoring, quality)
    moe = next(p for p in r.recommendations if p.model_id == "qwen3-30b-a3b-instruct-2507")
    assert "offloaded to host RAM" in moe.why and moe.offloaded_bytes > 0
    serve = next(r for r in moe.recipes if r.runtime == "llama.cpp").commands[-1]
    assert "cpu-moe" in serve, serve
    assert moe.speed and moe.speed.decode_tokens_per_s and moe.speed.decode_tokens_per_s > 10
    without = run("rtx-4060", private=True, top=1000)
    assert "qwen3-30b-a3b-instruct-2507" not in {p.model_id for p in without.recommendations}


def test_top_n_is_diverse_best_fastest_smallest_moe_and_dense() -> None:
    picks = local(run("rtx-4090", private=True))
    roles = {p.role: p for p in picks if p.role}
    assert picks[0].role == ""  # the best is there on score
    fastest = roles["fastest good"]
    assert fastest.speed and fastest.speed.decode_tokens_per_s
    assert all(fastest.speed.decode_tokens_per_s >= (p.speed.decode_tokens_per_s or 0)
               for p in picks if p.speed)
    assert fastest.why.startswith("fastest good; ")
    kinds = {bool(by_id[p.model_id].params_active) for p in picks}
    assert kinds == {True, False}  # dense and MoE both offered
    scores = [p.score for p in picks]
    assert scores == sorted(scores, reverse=True)  # ranks stay in score order


# --- where the weights come from ---------------------------------------------------------------
def test_ready_downloads_rank_official_then_ollama_library_then_community() -> None:
    """Qwen3.5-4B Q4_K_M: no official GGUF; an Ollama library tag on ollama, else the community
    unsloth GGUF (named, never official); Qwen3-8B keeps Qwen's own GGUF repo."""
    from advisor.estimation.estimate import ready_download

    m, q8b = catalog.by_id()["qwen3.5-4b"], catalog.by_id()["qwen3-8b"]
    fmt = tables.weight_format("q4_k_m")
    on_llama = ready_download(m, fmt, "llama.cpp")
    on_ollama = ready_download(m, fmt, "ollama")
    assert on_llama and on_llama.provenance == "community" and on_llama.publisher == "unsloth"
    assert on_ollama and on_ollama.provenance == "ollama-library" and on_ollama.ref.startswith(
        "qwen3.5:4b")
    assert (d := ready_download(q8b, fmt, "llama.cpp")) and d.provenance == "official"
    # a format nobody publishes stays "convert it yourself"
    assert ready_download(m, tables.weight_format("q3_k_m"), "llama.cpp") is None


def test_a_community_download_earns_less_than_official_and_says_whose_it_is() -> None:
    s = load_scoring()
    r = run("snapdragon-8-elite", private=True, top=20)
    by = {p.model_id: p for p in local(r)}
    community = by["qwen3.5-4b"]
    assert community.download and community.download.provenance == "community"
    assert "community q4_k_m build by unsloth (not official)" in community.why
    assert "official" not in community.why.replace("(not official)", "")
    assert community.score_parts["download"] == pytest.approx(
        s.weights["official_download"] * s.download["community"], abs=1e-4)
    official = [p for p in local(r) if p.download and p.download.provenance == "official"]
    assert official and all(p.score_parts["download"] == pytest.approx(
        s.weights["official_download"], abs=1e-4) for p in official)
    self_made = [p for p in local(r) if p.download is None]
    assert all(p.score_parts["download"] == 0 and "self-made" in p.why for p in self_made)


def test_the_size_prior_does_not_extrapolate_past_the_evidence() -> None:
    """Qwen3.8-2.4T-A95B has no published result: its prior stops at the largest model with
    evidence (Qwen3.5-397B-A17B) and is wider, so an unmeasured 2.4T at self-made Q2_K does not
    lead an 8xH200 node on size alone."""
    from advisor.ranking.rules import load_quality

    general = load_quality().areas["general"]
    by = {q.model: q for q in general.models}
    big = by["qwen3.8-2.4t-a95b"]
    assert big.estimated and big.sd > general.prior_sd
    b0, b1, b2 = general.prior
    cap = b0 + b1 * (general.prior_top_log2_billions or 0) + b2 * 5  # generation 3.8
    assert big.score == pytest.approx(cap, abs=1e-3)
    r = run("h200", gpus=8, private=True)
    assert local(r)[0].model_id != "qwen3.8-2.4t-a95b"


def test_ngram_tables_add_no_size_to_the_prior() -> None:
    """Flash-Next's 51B n-gram lookup tables count in memory, not in the quality prior."""
    from advisor.ranking.rules import load_quality, model_quality

    table = load_quality()
    m = catalog.by_id()["qwen3.8-flash-next"]
    assert m.param_count.ngram > 40e9
    stored = {q.model: q for q in table.areas["general"].models}["qwen3.8-flash-next"]
    fresh = model_quality(m, "general", {}, table)  # the run-time prior of a model added later
    # the fit reads the card's total, the run time subtracts the MTP/vision towers as well
    assert fresh is not None and fresh.score == pytest.approx(stored.score, abs=0.02)
    b1 = table.areas["general"].prior[1]
    with_tables = math.log2(math.sqrt(m.params_total * m.params_active)) - math.log2(
        math.sqrt((m.params_total - m.param_count.ngram) * m.params_active))
    assert b1 * with_tables > 0.05  # counting the tables would have raised it by this much


def test_an_evidence_line_names_each_result_once() -> None:
    """A newer card that quotes an older model's score (Qwen3.5 cards quote Qwen3-1.7B's
    MMLU-Redux 73.9) does not repeat it on the older model's line."""
    from advisor.ranking.rules import load_quality

    line = {q.model: q for q in load_quality().areas["general"].models}["qwen3-1.7b"].evidence
    assert "mmlu-redux 73.9" in line and "MMLU-Redux (3.5 cards) 73.9" not in line
    line = {q.model: q for q in load_quality().areas["general"].models}[
        "qwen3-4b-instruct-2507"].evidence  # a non-thinking model's own score, quoted again
    assert "mmlu-redux 84.2" in line and "MMLU-Redux no-think (3.5-2B card) 84.2" not in line


def test_a_publisher_made_format_counts_when_a_community_build_ships_it() -> None:
    """UD-Q4_K_XL is made by its publisher (imatrix), not by llama.cpp's tools from the 16-bit
    weights: it is obtainable exactly when a build lists it, and that build is named."""
    from advisor.data.schema import Artifact
    from advisor.estimation.estimate import obtainable, ready_download

    fmt, rt = tables.weight_format("ud-q4_k_xl"), tables.runtimes["llama.cpp"]
    m = catalog.by_id()["qwen3.5-4b"]
    assert not fmt.made_from_16bit and not obtainable(m, fmt, rt)
    build = Artifact(format="gguf", repo="example/Qwen3.5-4B-UD-GGUF", provenance="community",
                     quants=("ud-q4_k_xl",), source="test: a build that lists the file")
    shipped = records.replace(m, artifacts=(*m.artifacts, build))
    assert obtainable(shipped, fmt, rt)
    d = ready_download(shipped, fmt, "llama.cpp")
    assert d and d.provenance == "community" and d.publisher == "example"


def test_the_slow_penalty_follows_the_wait_per_token():
    """Nothing at or above reading pace; whole (weights.slow) at a quarter of it and below;
    in between it grows with the extra seconds each token takes, so 2.8 tok/s costs clearly
    more than 3.8, which costs more than 6."""
    from advisor.ranking.rules import speed_score, speed_utility

    pace = scoring.pace["comfortable_tokens_per_s"]

    def slow(t: float) -> float:
        return scoring.weights["speed"] * speed_utility(t, "chat", scoring) - speed_score(
            t, scoring, "chat")

    assert slow(pace) == pytest.approx(0) and slow(3 * pace) == pytest.approx(0)
    whole = scoring.weights["slow"]
    assert slow(pace * scoring.pace["slow_whole_at"]) == pytest.approx(whole)
    assert slow(0.5) == pytest.approx(whole)
    assert slow(2.8) > slow(3.8) + 0.1 > slow(6.0) + 0.2 > 0
    assert slow(5.0) == pytest.approx(whole * (pace / 5.0 - 1) / 3)
