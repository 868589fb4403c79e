"""Recipes: every flag comes from catalog/runtime_flags.toml, and each case gets the flags its
documentation asks for (and not the ones it forbids)."""

from __future__ import annotations

import functools
import json
import shlex

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data import records
from advisor.data.loader import load_catalog
from advisor.data.schema import Artifact
from advisor.recipes import (
    RUNTIME_NAMES,
    Recipe,
    all_recipes,
    flag_table,
    line_runtime,
    recipes,
    unknown_flags,
)

catalog = load_catalog(None)
by_id = catalog.by_id()
runner = CliRunner()

# A small fixture: Qwen3.5-4B-like entry with the artifacts issue 11 adds (Ollama library tag,
# community GGUF with its vision projector, a ModelScope MNN build). The tag and repo names are
# the ones the user review quotes (research/user_review.md D1, D4).
SMALL = records.replace(
    by_id["qwen3-vl-4b-instruct"], id="qwen3.5-4b", name="Qwen3.5-4B", generation="3.5",
    hf_repo="Qwen/Qwen3.5-4B", modelscope_repo="Qwen/Qwen3.5-4B", quantized=(), ollama_tag=None,
    artifacts=(
        Artifact(format="gguf", hub="ollama", tag="qwen3.5:4b", provenance="ollama-library",
                 quants=("q4_k_m",), source="https://ollama.com/library/qwen3.5"),
        Artifact(format="gguf", repo="unsloth/Qwen3.5-4B-GGUF", provenance="community",
                 quants=("q4_k_m", "q8_0"), mmproj="mmproj-F16.gguf",
                 source="https://huggingface.co/unsloth/Qwen3.5-4B-GGUF"),
        Artifact(format="mnn", hub="modelscope", repo="MNN/Qwen3.5-4B-MNN",
                 provenance="community", source="https://modelscope.cn/models/MNN/Qwen3.5-4B-MNN"),
    ))

CONTEXTS = (None, 131072, 1_000_000)
OPTIONS = ({}, {"task": "code"}, {"task": "vision", "kv_dtype": "q8_0"},
           {"kv_dtype": "fp8", "memory_bytes": 24e9}, {"device_class": "phone"})


@functools.lru_cache(maxsize=1)
def every_recipe() -> list[Recipe]:
    found = []
    for m in (*catalog.models, SMALL):
        if not m.open_weights:
            continue
        for ctx in CONTEXTS:
            tokens = min(ctx or m.context.native_tokens, m.context.max_tokens)
            for opts in OPTIONS:
                for ms in (False, True):
                    found += all_recipes(m, tokens, 8 if ctx else 1, ms, **opts)
    return found


def test_every_flag_of_every_generated_command_is_in_the_flag_table() -> None:
    found = every_recipe()
    assert len(found) > 1000
    missing = sorted({f for r in found for f in unknown_flags(r)})
    assert missing == []


def test_the_flag_check_catches_an_unlisted_flag() -> None:
    bad = Recipe(runtime="vllm", commands=(), argv=(("vllm", "serve", "x", "--rope-scaling",
                                                     "{}"),))
    assert unknown_flags(bad) == ["vllm --rope-scaling"]


def test_every_flag_entry_names_its_source_and_checked_version() -> None:
    from advisor.data.loader import packaged_path, read_toml

    data = read_toml(packaged_path("runtime_flags.toml"))
    for f in data["flags"]:
        assert len(f["source"]) > 10 and f["checked"], f
        assert f["runtime"] in data["runtimes"], f
    assert set(flag_table()["flags"]) <= set(data["runtimes"])


def test_commands_are_their_argv_joined_with_shlex() -> None:
    for r in every_recipe()[:3000]:
        assert r.commands == tuple(shlex.join(a) for a in r.argv)
        assert all(tuple(shlex.split(c)) == a for c, a in zip(r.commands, r.argv, strict=True))


def test_a_hostile_repo_name_stays_one_quoted_word() -> None:
    m = records.replace(by_id["qwen3-8b"], quantized=(), ollama_tag=None, artifacts=(
        Artifact(format="gguf", repo="evil/x-GGUF", provenance="community",
                 quants=("q4_k_m",), source="https://example.org/x"),))
    m = records.replace(m, hf_repo="Qwen/Qwen3-8B")
    for r in recipes(m, "bf16", 8192) + recipes(m, "q4_k_m", 8192):
        for c, a in zip(r.commands, r.argv, strict=True):
            assert tuple(shlex.split(c)) == a


def flat(rs: list[Recipe], runtime: str) -> list[str]:
    return [w for r in rs if r.runtime == runtime for a in r.argv for w in a]


def first_serve(rs: list[Recipe], runtime: str) -> list[str]:
    r = next(r for r in rs if r.runtime == runtime)
    return list(r.argv[-1])


# (model, task, runtime, context, options) -> must appear, must not appear, documentation source
CASES = [
    ("qwen3-32b", None, "vllm", 131072, {}, ["--hf-overrides", "--max-model-len", "131072"],
     ["--rope-scaling"], "docs.vllm.ai/en/stable/features/context_extension/ (rope_parameters)"),
    ("qwen3-32b", None, "vllm", 32768, {}, ["--max-model-len"], ["--hf-overrides"],
     "Qwen3 card: YaRN only when needed (static YaRN affects short texts)"),
    ("qwen3-8b", None, "llama.cpp", 131072, {},
     ["--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-orig-ctx", "32768"], ["-ngl"],
     "llama.cpp tools/server/README.md@00dc8057 (--rope-scaling/--rope-scale/--yarn-orig-ctx; "
     "-ngl default auto, --fit on)"),
    ("qwen3-8b", None, "llama.cpp", 32768, {}, ["-c"], ["--rope-scaling", "-ngl"],
     "llama.cpp tools/server/README.md@00dc8057"),
    ("qwen3-32b", None, "sglang", 131072, {}, ["--json-model-override-args"], [],
     "qwen.readthedocs.io deployment/sglang (YaRN override)"),
    ("qwen3-8b", None, "vllm", 32768, {}, ["--reasoning-parser", "qwen3"],
     ["--enable-auto-tool-choice"], "vllm-project/recipes Qwen3-32B.yaml@8959cf64 (reasoning)"),
    ("qwen3-8b", "tool-use", "vllm", 32768, {},
     ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"], [],
     "vllm-project/recipes Qwen3-32B.yaml@8959cf64 (tool_calling: hermes)"),
    ("qwen3-coder-30b-a3b-instruct", None, "vllm", 32768, {},
     ["--tool-call-parser", "qwen3_coder"], ["--reasoning-parser"],
     "vllm-project/recipes Qwen3.8-27B.yaml@8959cf64 (qwen3_coder XML tool calls); a "
     "non-thinking model gets no reasoning parser"),
    ("qwen3.6-27b", None, "vllm", 32768, {}, ["--language-model-only", "--reasoning-parser"],
     ["--speculative-config"], "vllm-project/recipes Qwen3.6-27B.yaml@8959cf64 (text_only; "
     "spec_decoding is opt-in)"),
    ("qwen3.6-27b", "vision", "vllm", 32768, {}, ["--reasoning-parser"],
     ["--language-model-only"], "vllm-project/recipes Qwen3.6-27B.yaml (the encoder is needed)"),
    ("qwen3-vl-8b-instruct", "vision", "vllm", 32768, {},
     ["--limit-mm-per-prompt", '{"image":4,"video":1}'], ["--language-model-only"],
     "docs.vllm.ai/en/v0.11.0/api/vllm/config/multimodal.html (limit_per_prompt as JSON)"),
    ("qwen3-vl-8b-instruct", None, "vllm", 32768, {}, [], ["--limit-mm-per-prompt"],
     "a text job sets no multimodal limit"),
    ("qwen3.6-27b", None, "sglang", 32768, {}, ["--reasoning-parser"],
     ["--speculative-algorithm"], "Qwen3.6-27B card, SGLang: MTP is a separate, opt-in command"),
    ("qwen3-embedding-0.6b", None, "llama.cpp", 32768, {}, ["--embedding", "--pooling", "last"],
     ["--reranking", "--jinja"], "llama.cpp tools/server/README.md@00dc8057 (--embedding, "
     "--pooling last)"),
    ("qwen3-embedding-0.6b", None, "vllm", 32768, {}, ["--runner", "pooling"],
     ["--reasoning-parser", "--max-model-len"],
     "docs.vllm.ai/en/v0.18.0/models/pooling_models/ (--runner pooling)"),
    ("qwen3-reranker-0.6b", None, "vllm", 32768, {}, ["--runner", "--hf-overrides"],
     ["--reasoning-parser"], "docs.vllm.ai/en/v0.10.2/examples/offline_inference/"
     "qwen3_reranker.html (runner pooling + hf_overrides)"),
    ("qwen3-8b", None, "llama.cpp", 65536, {"kv_dtype": "q8_0"},
     ["-ctk", "q8_0", "-ctv", "-fa", "on"], [], "llama.cpp README@00dc8057 (-ctk/-ctv); "
     "llama-context.cpp@001d906a: quantized V cache requires Flash Attention"),
    ("qwen3-8b", None, "vllm", 32768, {"kv_dtype": "fp8"}, ["--kv-cache-dtype", "fp8"], [],
     "vLLM --kv-cache-dtype fp8"),
    ("qwen3-30b-a3b-instruct-2507", None, "llama.cpp", 32768, {"memory_bytes": 8e9},
     ["--cpu-moe"], ["-ngl"], "llama.cpp README@00dc8057 (-cmoe, --cpu-moe)"),
    ("qwen3-30b-a3b-instruct-2507", None, "llama.cpp", 32768, {"memory_bytes": 80e9}, [],
     ["--cpu-moe"], "experts stay on the GPU when the weights fit"),
    ("qwen3-235b-a22b-instruct-2507", None, "vllm", 1_000_000, {},
     ["VLLM_ATTENTION_BACKEND=DUAL_CHUNK_FLASH_ATTN", "--enforce-eager", "--max-num-seqs",
      "Qwen3-235B-A22B-Instruct-2507/config_1m.json"], ["--hf-overrides"],
     "Qwen3-235B-A22B-Instruct-2507 card, Processing Ultra-Long Texts (config_1m.json, DCA)"),
    ("qwen2.5-7b-instruct-1m", None, "vllm", 1_000_000, {},
     ["VLLM_ATTENTION_BACKEND=DUAL_CHUNK_FLASH_ATTN", "--enable-chunked-prefill"], ["mv"],
     "Qwen2.5-1M config.json carries dual_chunk_attention_config (no config swap)"),
    ("qwen3-8b", None, "ollama", 32768, {}, ["OLLAMA_CONTEXT_LENGTH=32768", "run"], [],
     "ollama docs/context-length.mdx@948f6933"),
    ("qwen3.6-27b", None, "vllm", 1_000_000, {},
     ["VLLM_ALLOW_LONG_MAX_MODEL_LEN=1", "--hf-overrides", "--max-model-len", "1000000"],
     ["--rope-scaling"], "Qwen3.6-27B card, Processing Ultra-Long Texts (YaRN under "
     "text_config; card copy, code index id 54590349179)"),
    ("qwen3.6-27b", None, "sglang", 1_000_000, {},
     ["SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1", "--json-model-override-args"], [],
     "Qwen3.6-27B card, Processing Ultra-Long Texts (SGLang line)"),
    ("qwen3.6-27b", None, "vllm", 262144, {}, ["--max-model-len"],
     ["VLLM_ALLOW_LONG_MAX_MODEL_LEN=1", "--hf-overrides"],
     "Qwen3.6-27B card: modify rope_parameters only when processing long contexts"),
]


@pytest.mark.parametrize(("model", "task", "runtime", "ctx", "opts", "must", "must_not", "doc"),
                         CASES, ids=[f"{c[0]}-{c[2]}-{c[3]}-{c[1]}" for c in CASES])
def test_case_flags(model: str, task: str | None, runtime: str, ctx: int, opts: dict,
                    must: list[str], must_not: list[str], doc: str) -> None:
    m = by_id[model]
    found = all_recipes(m, ctx, 8 if ctx > 262144 else 1, task=task, runtime=runtime, **opts)
    assert found, (model, runtime, doc)
    words = flat(found[:1], runtime) if runtime != "ollama" else flat(found, runtime)
    for w in must:
        assert w in words, (w, doc)
    for w in must_not:
        assert w not in words, (w, doc)


def test_yarn_json_carries_the_cards_factor_and_native_length() -> None:
    serve = first_serve(all_recipes(by_id["qwen3-32b"], 131072, runtime="vllm"), "vllm")
    rope = json.loads(serve[serve.index("--hf-overrides") + 1])["rope_parameters"]
    assert rope == {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}


def test_mtp_is_an_option_beside_the_plain_serve_line() -> None:
    found = all_recipes(by_id["qwen3.6-27b"], 32768, runtime="vllm")
    mtp = [r for r in found if any("--speculative-config" in a for a in r.argv)]
    assert mtp and len(mtp) < len(found)
    spec = json.loads(mtp[0].argv[-1][-1])
    assert spec == {"method": "qwen3_next_mtp", "num_speculative_tokens": 2}
    assert all("--speculative-config" not in flat(
        all_recipes(by_id["qwen3-8b"], 32768, runtime="vllm"), "vllm") for _ in [0])


def test_sglang_mtp_is_the_cards_nextn_option() -> None:
    found = all_recipes(by_id["qwen3.6-27b"], 32768, runtime="sglang")
    mtp = [r for r in found if any("--speculative-algorithm" in a for a in r.argv)]
    assert mtp and len(mtp) < len(found) and "option: MTP" in mtp[0].note
    serve = list(mtp[0].argv[-1])
    i = serve.index("--speculative-algorithm")
    # Qwen3.6-27B card: --speculative-algo NEXTN --speculative-num-steps 3 (the full name is
    # --speculative-algorithm, docs.sglang.io advanced_features/speculative_decoding)
    # --speculative-eagle-topk 1 --speculative-num-draft-tokens 4
    assert serve[i:] == ["--speculative-algorithm", "NEXTN", "--speculative-num-steps", "3",
                         "--speculative-eagle-topk", "1", "--speculative-num-draft-tokens", "4"]
    assert "--speculative-algorithm" not in flat(
        all_recipes(by_id["qwen3-8b"], 32768, runtime="sglang"), "sglang")


@pytest.mark.parametrize(("device", "runtime", "runs"), [
    ("a100-80gb", "vllm", True), ("rtx-3090", "vllm", True), ("rtx-3090", "sglang", False),
    ("rx-7900-xtx", "vllm", False), ("h100", "vllm", True)])
def test_fp8_checkpoint_on_ampere_runs_weight_only_on_vllm(device: str, runtime: str,
                                                           runs: bool) -> None:
    """docs.vllm.ai/en/v0.5.5/quantization/fp8.html: FP8 models run on compute capability 8.0
    (Ampere) as weight-only W8A16 through FP8 Marlin (CUDA kernels: not on AMD RDNA)."""
    from advisor.data.formats import load_tables
    from advisor.data.hardware import HardwareQuery, hardware_from
    from advisor.estimation.estimate import choose_setup, compatible

    tables = load_tables()
    hw = hardware_from(HardwareQuery(device=device))
    problem = compatible(tables.formats["fp8"], tables.runtimes[runtime], hw)
    assert (problem is None) == runs, problem
    if runs and "fp8" not in hw.fast_formats:
        notes = choose_setup(tables, hw, "fp8", runtime)[2]
        assert any("FP8 Marlin" in n for n in notes)


def test_omni_vllm_recipe_says_the_thinker_only_limit() -> None:
    """QwenLM/Qwen3-Omni README.md, vLLM Serve Usage: 'vLLM serve for Qwen3-Omni currently only
    supports the thinker model'."""
    r = all_recipes(by_id["qwen3-omni-30b-a3b-instruct"], 32768, runtime="vllm")[0]
    assert "only the thinker" in r.note and r.argv[-1][:3] == (
        "vllm", "serve", "Qwen/Qwen3-Omni-30B-A3B-Instruct")
    assert "only the thinker" not in all_recipes(by_id["qwen3-8b"], 32768,
                                                 runtime="vllm")[0].note


def test_online_fp8_only_where_16_bit_weights_fit_at_load() -> None:
    m = records.replace(by_id["qwen3-32b"], quantized=(), ollama_tag=None)
    assert recipes(m, "fp8", 32768, memory_bytes=48e9) == []  # 65 GB BF16 on a 48 GB card
    assert recipes(m, "fp8", 32768, memory_bytes=80e9)[0].argv[-1][3:5] == ("--quantization",
                                                                            "fp8")
    official = recipes(by_id["qwen3-32b"], "fp8", 32768, memory_bytes=48e9)
    assert official[0].argv[-1][2] == "Qwen/Qwen3-32B-FP8"


def test_modelscope_serves_from_the_hub_it_downloaded_from() -> None:
    for rt, env in (("vllm", "VLLM_USE_MODELSCOPE=true"), ("sglang", "SGLANG_USE_MODELSCOPE=true")):
        r = all_recipes(by_id["qwen3-8b"], 32768, modelscope_first=True, runtime=rt)[0]
        assert r.argv[-1][0] == env
        if rt == "vllm":
            assert r.argv[0][:2] == ("modelscope", "download")


def test_weights_official_first_then_ollama_and_community_marked() -> None:
    ollama = all_recipes(SMALL, 32768, runtime="ollama")
    assert ollama[0].argv[-1] == ("ollama", "run", "qwen3.5:4b")
    gguf = all_recipes(SMALL, 32768, runtime="llama.cpp")
    assert gguf[0].argv[-1][:3] == ("llama-server", "-hf", "unsloth/Qwen3.5-4B-GGUF:Q4_K_M")
    assert "community build by unsloth" in gguf[0].note
    assert gguf[0].argv[-1][-1] == "--no-mmproj"  # a text job: -hf fetches no projector
    seeing = all_recipes(SMALL, 32768, runtime="llama.cpp", task="vision")
    assert "mmproj-F16.gguf" in seeing[0].note and "--no-mmproj" not in seeing[0].argv[-1]
    assert not any("convert_hf_to_gguf.py" in c for r in gguf for c in r.commands)
    official = all_recipes(by_id["qwen3-8b"], 32768, runtime="llama.cpp")
    assert official[0].argv[-1][2].startswith("Qwen/Qwen3-8B-GGUF")


def test_phone_gets_no_server_runtimes_and_mnn_when_built() -> None:
    found = all_recipes(SMALL, 8192, device_class="phone")
    assert {r.runtime for r in found} <= {"llama.cpp", "mnn", "mlx"}
    mnn = next(r for r in found if r.runtime == "mnn")
    assert mnn.argv[0][:2] == ("modelscope", "download") and "MNN Chat" in mnn.note


def test_every_recipe_names_the_runtime_version_it_targets() -> None:
    for r in all_recipes(SMALL, 32768) + all_recipes(by_id["qwen3-8b"], 32768):
        assert r.runtime_version, r.runtime


def test_line_runtime_reads_env_and_subcommands() -> None:
    assert line_runtime(("VLLM_USE_MODELSCOPE=true", "vllm", "serve", "x", "--max-model-len",
                         "8")) == ("vllm", ["VLLM_USE_MODELSCOPE", "serve", "--max-model-len"])


@pytest.mark.parametrize("name", ["lm-studio", "lmstudio", "mnn", "mlc", "executorch", "ollama"])
def test_runtime_is_obeyed_or_refused_in_one_line(name: str) -> None:
    result = runner.invoke(app, ["run", "qwen3-8b", "--runtime", name])
    wanted = RUNTIME_NAMES[name]
    if result.exit_code == 0:
        heads = [x for x in result.stdout.splitlines() if x.startswith("# ")]
        assert heads and all(x.split()[1] == wanted for x in heads)
    else:
        assert result.exit_code == 2  # InputError: this runtime cannot run that model
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("error: ") and wanted in result.stderr.lower()


def test_run_json_is_a_run_document() -> None:
    result = runner.invoke(app, ["run", "qwen3-8b", "--runtime", "vllm", "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["model_id"] == "qwen3-8b"
    assert doc["recipes"][0]["runtime"] == "vllm" and doc["recipes"][0]["argv"]
    schema = runner.invoke(app, ["schema", "run"])
    assert schema.exit_code == 0 and "argv" in schema.stdout


def test_unknown_runtime_is_a_usage_error() -> None:
    result = runner.invoke(app, ["run", "qwen3-8b", "--runtime", "tensorflow"])
    assert result.exit_code != 0 and result.stderr.startswith("error: ")


def test_transformers_gets_the_yarn_config_only_beyond_native() -> None:
    long = recipes(by_id["qwen3-8b"], "bf16", 131072, runtime="transformers")
    assert '"rope_type": "yarn", "factor": 4.0' in long[0].note
    assert "rope_scaling" not in recipes(by_id["qwen3-8b"], "bf16", 32768,
                                         runtime="transformers")[0].note


def test_self_made_gguf_keeps_the_quantized_kv_cache() -> None:
    m = records.replace(by_id["qwen3-8b"], quantized=(), ollama_tag=None)
    serve = recipes(m, "q4_k_m", 65536, kv_dtype="q8_0")[0].argv[-1]
    assert serve[0] == "llama-server" and "-ctk" in serve and serve[-2:] == ("-fa", "on")


def test_run_picks_the_default_tag_and_a_ready_community_gguf() -> None:
    """Issue 11's done-when: Ollama's default tag first; llama.cpp downloads a ready GGUF."""
    from typer.testing import CliRunner

    from advisor.cli import app

    runner = CliRunner()
    ollama = runner.invoke(app, ["run", "qwen3.5-4b", "--runtime", "ollama"])
    assert ollama.exit_code == 0, ollama.stderr
    runs = [line for line in ollama.stdout.splitlines() if line.startswith("ollama run")]
    assert runs[0] == "ollama run qwen3.5:4b"
    gguf = runner.invoke(app, ["run", "qwen3.5-4b", "--runtime", "llama.cpp"])
    assert gguf.exit_code == 0, gguf.stderr
    first = gguf.stdout.split("\n# ")[0]
    assert "community build" in first and "llama-server -hf unsloth/" in first
    assert "convert_hf_to_gguf" not in first


@pytest.mark.parametrize(("model", "tag"), [("qwen3.6-27b", "qwen3.6:27b"),
                                            ("qwen3.6-35b-a3b", "qwen3.6:35b-a3b"),
                                            ("qwen3.8-27b", "qwen3.8:27b")])
def test_an_ollama_tag_does_not_take_llama_cpp_away(model: str, tag: str) -> None:
    """Issue 11: `qwen3.6:27b` exists; llama.cpp is still offered beside the tag (a ready GGUF
    where the catalog lists one, else convert-yourself), never dropped because a tag exists."""
    m = by_id[model]
    ollama = all_recipes(m, 32768, runtime="ollama")
    assert ollama and ollama[0].argv[-1] == ("ollama", "run", tag)
    gguf = all_recipes(m, 32768, runtime="llama.cpp")
    assert gguf and gguf[0].argv[-1][0] == "llama-server"
    ready = any(a.format == "gguf" and a.hub == "huggingface" for a in m.downloads)
    assert (gguf[0].argv[-1][1] == "-hf") == ready
    if ready:
        assert "community build" in gguf[0].note and len(gguf[0].argv) == 1


def test_a_16_bit_recipe_gets_no_llama_cpp_conversion_without_a_bf16_tag() -> None:
    """The llama.cpp fallback beside a tag is for the tag's format only (no BF16 convert
    recipe added to every vLLM model)."""
    m = by_id["qwen3.6-35b-a3b"]
    assert not [r for r in recipes(m, "bf16", 32768) if r.runtime == "llama.cpp"]


# Block layouts of the new formats (bytes per block, weights per block), as their definitions
# give them: ggml-org/llama.cpp:ggml/src/ggml-common.h@01243c58 (block_iq4_xs, block_iq4_nl,
# block_q4_1, block_q5_0, block_mxfp4, block_nvfp4), OCP MX v1.0 (MXFP8: 32 x 8 bits + one E8M0
# byte), mlx.core.quantize (6-bit, group 64, fp16 scale and bias).
BLOCKS = {"iq4_xs": (136, 256), "iq4_nl": (18, 32), "q4_1": (20, 32), "mxfp4": (17, 32),
          "nvfp4": (36, 64), "mxfp8": (33, 32), "mlx-6bit": (52, 64),
          "q5_0": (22, 32)}


@pytest.mark.parametrize("fmt_id", sorted(BLOCKS))
def test_new_formats_carry_the_bits_of_their_definition(fmt_id: str) -> None:
    from advisor.data.formats import load_tables

    fmt = load_tables().weight_format(fmt_id)
    size, n = BLOCKS[fmt_id]
    block_bits = size * 8 / n
    # Microscaling and MLX formats have no tensor mix: the block is the format. GGUF file types
    # keep some tensors at higher types, so their whole-model average is at or above the block.
    if fmt.family == "gguf":
        assert block_bits <= fmt.bits_per_weight < block_bits + 0.5, fmt_id
        assert f"{block_bits:g} bits" in fmt.source, fmt.source
    else:
        assert fmt.bits_per_weight == pytest.approx(block_bits), fmt_id
    assert fmt.source and fmt.quality_source


def test_every_artifact_quant_is_a_format_recipes_and_estimates_take() -> None:
    from advisor.data.formats import load_tables
    from advisor.recipes import GGUF_FILE_QUANTS

    tables = load_tables()
    for m in catalog.models:
        for a in m.downloads:
            for q in a.quants:
                fmt = tables.weight_format(q)  # raises for a name outside the vocabulary
                if a.format == "gguf" and a.hub == "huggingface":
                    assert fmt.id in GGUF_FILE_QUANTS, (m.id, a.where, q)
                if a.format == "mlx":
                    assert fmt.family == "mlx", (m.id, a.where, q)


def test_publisher_only_formats_get_no_convert_yourself_recipe() -> None:
    from advisor.recipes import self_made

    m = by_id["qwen3-8b"]
    for fmt_id in ("iq4_xs", "iq4_nl", "ud-q4_k_xl", "mlx-bf16", "nvfp4", "mxfp8"):
        assert self_made(m, fmt_id, 8192) == [], fmt_id
    q41 = self_made(m, "q4_1", 8192)[0]
    assert ("llama-quantize", "Qwen3-8B-BF16.gguf", "Qwen3-8B-Q4_1.gguf", "Q4_1") in q41.argv


def test_a_community_ud_quant_is_pulled_by_its_file_tag() -> None:
    m = records.replace(SMALL, artifacts=(Artifact(
        format="gguf", repo="unsloth/Qwen3.5-4B-GGUF", provenance="community",
        quants=("ud-q4_k_xl", "iq4_xs"), source="https://huggingface.co/unsloth/Qwen3.5-4B-GGUF"),))
    found = all_recipes(m, 32768, runtime="llama.cpp")
    heads = [r.argv[-1][:3] for r in found]
    assert ("llama-server", "-hf", "unsloth/Qwen3.5-4B-GGUF:UD-Q4_K_XL") in heads
    assert ("llama-server", "-hf", "unsloth/Qwen3.5-4B-GGUF:IQ4_XS") in heads
    assert all("community build by unsloth" in r.note for r in found)
    assert not any("llama-quantize" in c for r in found for c in r.commands)


def test_ollama_mxfp8_and_nvfp4_tags_are_offered_as_tags() -> None:
    runs = [r.argv[-1] for r in all_recipes(by_id["qwen3.5-9b"], 8192, runtime="ollama")]
    assert runs[0] == ("ollama", "run", "qwen3.5:9b")
    assert ("ollama", "run", "qwen3.5:9b-nvfp4") in runs
    assert ("ollama", "run", "qwen3.5:9b-mxfp8") in runs


@pytest.mark.parametrize(("quant", "bits"), [("iq4_xs", "4.4597"), ("ud-q4_k_xl", "5"),
                                             ("q4_1", "5.11")])
def test_estimate_takes_the_new_gguf_formats(quant: str, bits: str) -> None:
    result = runner.invoke(app, ["estimate", "qwen3-8b", "--quant", quant, "--device",
                                 "rtx-4090", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert json.dumps(doc).count(quant) >= 1 and bits in result.stdout


@pytest.mark.parametrize("runtime", ["vllm", "sglang"])
def test_qwen35_plus_yarn_is_the_cards_text_config_override(runtime: str) -> None:
    """Qwen3.5+ cards (Processing Ultra-Long Texts): rope_parameters under text_config with the
    checkpoint's mRoPE settings, factor 4.0 over 262,144 native tokens, to 1,010,000."""
    found = all_recipes(by_id["qwen3.6-27b"], 1_010_000, 8, runtime=runtime)
    serve = list(found[0].argv[-1])
    flag = "--hf-overrides" if runtime == "vllm" else "--json-model-override-args"
    override = json.loads(serve[serve.index(flag) + 1])
    assert override == {"text_config": {"rope_parameters": {
        "mrope_interleaved": True, "mrope_section": [11, 11, 10], "rope_type": "yarn",
        "rope_theta": 10000000, "partial_rotary_factor": 0.25, "factor": 4.0,
        "original_max_position_embeddings": 262144}}}
    length = "--max-model-len" if runtime == "vllm" else "--context-length"
    assert serve[serve.index(length) + 1] == "1010000"
    # a text model keeps the flat rope override (Qwen3 card)
    flat_override = all_recipes(by_id["qwen3-8b"], 131072, runtime=runtime)[0].argv[-1]
    assert "text_config" not in " ".join(flat_override)


def test_lm_studio_gets_the_official_mlx_build_and_the_gguf() -> None:
    """LM Studio runs GGUF and MLX (QwenLM/Qwen3 docs run_locally/lmstudio.md@7a2f61ff)."""
    found = all_recipes(by_id["qwen3-8b"], 32768, runtime="lm-studio")
    gets = [r.argv[0] for r in found]
    assert ("lms", "get", "Qwen/Qwen3-8B-MLX-4bit") in gets
    assert any(g[2].startswith("Qwen/Qwen3-8B-GGUF") for g in gets)
    mlx = next(r for r in found if r.argv[0][2].endswith("MLX-4bit"))
    assert "MLX" in mlx.note and "community" not in mlx.note


@pytest.mark.parametrize("model", ["qwen3-omni-30b-a3b-instruct", "qwen3-omni-30b-a3b-thinking"])
def test_omni_transformers_recipe_is_the_cards_omni_classes(model: str) -> None:
    """QwenLM/Qwen3-Omni README (copy, code index id 53220393192), Transformers Usage:
    Qwen3OmniMoeForConditionalGeneration + Qwen3OmniMoeProcessor + qwen_omni_utils."""
    import ast

    r = all_recipes(by_id[model], 32768, runtime="transformers")[0]
    code = r.argv[0][2]
    ast.parse(code)
    for name in ("Qwen3OmniMoeForConditionalGeneration", "Qwen3OmniMoeProcessor",
                 "process_mm_info", "return_audio=False", by_id[model].hf_repo):
        assert name in code, name
    assert "pipeline(" not in code and "qwen-omni-utils" in r.note


def test_an_ollama_embedding_tag_is_pulled_not_chatted_with() -> None:
    found = all_recipes(by_id["qwen3-embedding-0.6b"], 8192, runtime="ollama")
    assert found and found[0].argv[-1] == ("ollama", "pull", "qwen3-embedding:0.6b")
    assert "embeddings API" in found[0].note
    assert not any(a[:2] == ("ollama", "run") for r in found for a in r.argv)


def test_a_self_made_embedding_gguf_is_served_as_an_embedder() -> None:
    m = records.replace(by_id["qwen3-embedding-4b"], quantized=(), ollama_tag=None,
                        artifacts=())
    serve = recipes(m, "q4_k_m", 8192, runtime="llama.cpp")[0].argv[-1]
    assert serve[0] == "llama-server" and serve[3:6] == ("--embedding", "--pooling", "last")


@pytest.mark.parametrize("task", [None, "chat", "code", "vision", "video"])
def test_a_text_job_runs_a_vision_model_without_its_projector(task: str | None) -> None:
    """llama.cpp loads the vision tower only for a job that sends images or video: `-hf` gets
    --no-mmproj, a self-made GGUF no projector file (vLLM: --language-model-only)."""
    from advisor.recipes import self_made

    model = by_id["qwen3.8-27b"]
    assert "image" in model.modalities_in
    seeing = task in ("vision", "video")
    (made,) = self_made(model, "q4_k_m", 32768, task=task)
    commands = " ".join(made.commands)
    assert ("--mmproj" in commands) == seeing
    assert ("convert_hf_to_gguf.py Qwen3.8-27B --mmproj" in commands) == seeing
    ready = recipes(SMALL, "q4_k_m", 32768, task=task, runtime="llama.cpp")
    assert ready and ("--no-mmproj" in ready[0].argv[-1]) == (not seeing)
