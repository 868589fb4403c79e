"""Serving capacity against the runtimes' own accounting, and speed against published runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.formats import load_tables
from advisor.data.hardware import GIB, HardwareQuery, hardware_from
from advisor.data.loader import find_model, load_catalog
from advisor.estimation.serve import (
    MIB,
    kv_bytes_per_token,
    recurrent_state_bytes,
    serve,
    sglang_kv_tokens,
    sglang_mem_fraction_static,
    vllm_kv_tokens,
    vllm_max_concurrency,
)

SERVE_KEYS = {
    "sessions_max",
    "fits",
    "gpus_needed",
    "kv_pool_bytes",
    "weights_bytes",
    "aggregate_decode_tokens_per_s",
    "per_user_decode_tokens_per_s",
    "time_to_first_token_s",
    "command",
    "assumptions",
}


@pytest.fixture(scope="module")
def cat():  # type: ignore[no-untyped-def]
    return load_catalog(None)


def config(cat, model_id):  # type: ignore[no-untyped-def]
    return find_model(cat, model_id).config


def test_vllm_dense_kv_tokens_match_log(cat) -> None:  # type: ignore[no-untyped-def]
    # LMCache/LMCache#1739, Qwen3-14B, one GPU: "Available KV cache memory: 6.51 GiB",
    # "GPU KV cache size: 42,656 tokens", "Maximum concurrency for 32,768 tokens per request: 1.30x"
    per_token = kv_bytes_per_token(config(cat, "qwen3-14b"), 2.0)
    tokens = vllm_kv_tokens(int(6.51 * GIB), per_token, 16)
    assert tokens == 42656
    assert round(vllm_max_concurrency(tokens, 32768), 2) == 1.30


def test_sglang_moe_kv_pool_matches_log(cat) -> None:  # type: ignore[no-untyped-def]
    # vllm-project/vllm#21348, Qwen3-235B-A22B-FP8 on SGLang --tp 4:
    # "KV Cache is allocated. #tokens: 367404, K size: 8.23 GB, V size: 8.23 GB" (GB = GiB here)
    per_token_per_gpu = kv_bytes_per_token(config(cat, "qwen3-235b-a22b"), 2.0) // 4
    k_bytes = 367404 * per_token_per_gpu / 2
    assert k_bytes / GIB == pytest.approx(8.23, abs=0.005)
    assert sglang_kv_tokens(int(2 * 8.23 * GIB), per_token_per_gpu) == pytest.approx(
        367404, rel=0.001
    )


def test_vllm_moe_tensor_parallel_kv_tokens_match_log(cat) -> None:  # type: ignore[no-untyped-def]
    # vllm-project/vllm#21348, Qwen3-235B-A22B-FP8, vLLM --tensor-parallel-size 4 (4 KV heads: one
    # per GPU): "Available KV cache memory: 8.11 GiB", "GPU KV cache size: 178,880 tokens".
    # Whole 16-token blocks of 94 layers x 1 head x 128 x 2 x 2 B give 180,928: 1.1% more than the
    # log, a gap this accounting does not explain (the dense Qwen3-14B line above matches exactly).
    per_token_per_gpu = kv_bytes_per_token(config(cat, "qwen3-235b-a22b"), 2.0) // 4
    tokens = vllm_kv_tokens(int(8.11 * GIB), per_token_per_gpu, 16)
    assert tokens == pytest.approx(178880, rel=0.02)


@pytest.mark.parametrize(("gpu_mib", "expected"), [(24564, 0.847), (81920, 0.836)])
def test_sglang_reserve_formula(gpu_mib: int, expected: float) -> None:
    # server_args.py _handle_gpu_memory_settings worked through for an RTX 4090 (reserve 512 +
    # 3072 + 48 + 128 = 3760 MiB) and an 80 GB H100 (512 + 12288 + 512 + 128 = 13440 MiB)
    assert sglang_mem_fraction_static(gpu_mib, 1) == pytest.approx(expected, abs=0.0015)


def test_hybrid_recurrent_state_and_kv(cat) -> None:  # type: ignore[no-untyped-def]
    c = config(cat, "qwen3.8-27b")
    # llmfit's concurrency planner: "~150 MiB" per session on this 64-layer 16-full/48-linear
    # model (AlexsJones/llmfit:llmfit-core/src/concurrency.rs@b80d0822); llama.cpp's
    # n_embd_r + n_embd_s in f32 gives 149.6 MiB
    assert recurrent_state_bytes(c) / MIB == pytest.approx(149.6, abs=0.1)
    # mitchross/talos-argocd-proxmox#1995 (vLLM, fp8 KV): "16 layers x 4 kv-heads x 256 head-dim
    # x 2 (K,V) x 1B fp8 = 32 KiB/token"
    assert kv_bytes_per_token(c, 1.0) == 32 * 1024
    assert recurrent_state_bytes(config(cat, "qwen3-32b")) == 0


def test_hybrid_state_lowers_sessions(cat) -> None:  # type: ignore[no-untyped-def]
    t = load_tables()
    m = find_model(cat, "qwen3.8-27b")
    hw = hardware_from(HardwareQuery(device="h200"))
    r = serve(m, hw, t, t.weight_format("bf16"), t.runtime("vllm"), 64, 8192)
    per_seq = (
        r.assumptions.kv_bytes_per_token * 8192 + r.assumptions.recurrent_state_bytes_per_sequence
    )
    assert r.sessions_max == min(r.kv_pool_bytes // per_seq, 1024)
    assert r.sessions_max < r.kv_pool_bytes // (r.assumptions.kv_bytes_per_token * 8192)


def test_single_user_speed_against_published_run(cat) -> None:  # type: ignore[no-untyped-def]
    # QwenLM/Qwen3#1536: Qwen3-14B-AWQ, vLLM, one A100 80GB, --max-concurrency 1, 16,000-token
    # prompts, 200 out: mean TTFT 3,345 ms, mean TPOT 20.63 ms (run with --enforce-eager: no
    # CUDA graphs, so the measured step is slower than the graph-captured default modelled here)
    t = load_tables()
    hw = hardware_from(HardwareQuery(device="a100-80gb"))
    r = serve(
        find_model(cat, "qwen3-14b"),
        hw,
        t,
        t.weight_format("awq"),
        t.runtime("vllm"),
        1,
        16200,
        16000,
    )
    assert r.time_to_first_token_s == pytest.approx(3.345, rel=0.25)
    tpot_ms = 1000 / r.per_user_decode_tokens_per_s
    assert 0.5 < tpot_ms / 20.63 < 1.0


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_more_users_more_aggregate_less_each(users: int) -> None:
    cat = load_catalog(None)
    t = load_tables()
    m = find_model(cat, "qwen3-8b")
    hw = hardware_from(HardwareQuery(device="h100"))
    a = serve(m, hw, t, t.weight_format("bf16"), t.runtime("vllm"), users, 4096)
    b = serve(m, hw, t, t.weight_format("bf16"), t.runtime("vllm"), users + 1, 4096)
    assert b.aggregate_decode_tokens_per_s >= a.aggregate_decode_tokens_per_s
    assert b.per_user_decode_tokens_per_s <= a.per_user_decode_tokens_per_s


def test_llama_cpp_slots_and_ollama_hybrid_single_slot(cat) -> None:  # type: ignore[no-untyped-def]
    t = load_tables()
    hw = hardware_from(HardwareQuery(device="rtx-4090"))
    r = serve(
        find_model(cat, "qwen3-8b"),
        hw,
        t,
        t.weight_format("q4_k_m"),
        t.runtime("llama.cpp"),
        4,
        8192,
    )
    assert r.fits and r.sessions_max >= 4
    assert "-np 4" in r.command and "-c 32768" in r.command
    o = serve(
        find_model(cat, "qwen3.5-27b"),
        hardware_from(HardwareQuery(device="rtx-5090")),
        t,
        t.weight_format("q4_k_m"),
        t.runtime("ollama"),
        4,
        8192,
    )
    assert o.sessions_max <= 1 and not o.fits
    assert o.command.startswith("OLLAMA_NUM_PARALLEL=1 ")


def test_gpus_needed_when_one_is_not_enough(cat) -> None:  # type: ignore[no-untyped-def]
    t = load_tables()
    m = find_model(cat, "qwen3-32b")
    one = serve(
        m,
        hardware_from(HardwareQuery(device="h100")),
        t,
        t.weight_format("bf16"),
        t.runtime("vllm"),
        50,
        16384,
    )
    assert not one.fits and one.gpus_needed in (2, 4, 8)
    more = serve(
        m,
        hardware_from(HardwareQuery(device="h100", gpus=one.gpus_needed)),
        t,
        t.weight_format("bf16"),
        t.runtime("vllm"),
        50,
        16384,
    )
    assert more.fits and f"--tensor-parallel-size {one.gpus_needed}" in more.command


def test_cli_serve_json_contract_and_schema() -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "serve",
            "qwen3-32b",
            "--device",
            "h100",
            "--gpus",
            "4",
            "--users",
            "50",
            "--context",
            "16384",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) >= SERVE_KEYS and doc["schema_version"] == 1
    assert doc["fits"] is True and doc["sessions_max"] >= 50
    schema = runner.invoke(app, ["schema", "serve"])
    assert schema.exit_code == 0 and "sessions_max" in schema.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "qwen3-8b", "--device", "h100", "--users", "0"],
        ["serve", "qwen3-8b", "--device", "h100", "--runtime", "mlx"],
        ["serve", "qwen3-8b", "--users", "3"],
        ["serve", "qwen3-8b", "--device", "h100", "--max-ttft", "-1"],
    ],
)
def test_cli_serve_bad_input(args: list[str]) -> None:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr


@pytest.mark.parametrize(("device", "peak_tokens_per_s"), [("a100-80gb", 1950.0), ("h100", 2360.0)])
def test_saturated_decode_against_published_peak(
    cat, device: str, peak_tokens_per_s: float
) -> None:  # type: ignore[no-untyped-def]
    # gpustack/gpustack:docs/performance-lab/qwen3-32b/{a100,h100}.md@10e9444a: vLLM v0.11.0,
    # `vllm serve Qwen/Qwen3-32B` on one GPU, ShareGPT, 1,000 prompts at once (217,393 input and
    # ~201,400 output tokens: ~419 tokens a sequence). "Peak output token throughput" (the decode
    # rate with the batch full: 1,950 tok/s on the A100, 2,360 on the H100) against our aggregate
    # with every sequence the KV pool holds decoding. The mean output rate (832 / 1,132 tok/s)
    # includes the queued prefills and is not what this models.
    t = load_tables()
    hw = hardware_from(HardwareQuery(device=device))
    r = serve(
        find_model(cat, "qwen3-32b"),
        hw,
        t,
        t.weight_format("bf16"),
        t.runtime("vllm"),
        1000,
        419,
        217,
    )
    assert r.sessions_max < 1000  # the pool, not the request count, sets the batch
    assert r.aggregate_decode_tokens_per_s == pytest.approx(peak_tokens_per_s, rel=0.25)


@pytest.mark.parametrize(
    ("runtime", "quant", "kv", "device", "expect"),
    [
        (
            "vllm",
            "bf16",
            "fp8",
            "h100",
            ["vllm", "serve", "Qwen/Qwen3-8B", "--max-model-len", "8192"],
        ),
        (
            "sglang",
            "bf16",
            "fp8",
            "h100",
            ["python3", "-m", "sglang.launch_server", "--model-path", "Qwen/Qwen3-8B"],
        ),
        ("llama.cpp", "q4_k_m", "q8_0", "rtx-4090", ["llama-server", "-hf"]),
        ("ollama", "q4_k_m", "q8_0", "rtx-4090", ["OLLAMA_NUM_PARALLEL=4"]),
    ],
)
def test_commands_are_argument_lists(
    cat,
    runtime: str,
    quant: str,
    kv: str,
    device: str,  # type: ignore[no-untyped-def]
    expect: list[str],
) -> None:
    import shlex

    t = load_tables()
    r = serve(
        find_model(cat, "qwen3-8b"),
        hardware_from(HardwareQuery(device=device)),
        t,
        t.weight_format(quant),
        t.runtime(runtime),
        4,
        8192,
        kv_dtype=kv,
    )
    argv = shlex.split(r.command)
    assert argv[: len(expect)] == expect
    assert " ".join(shlex.quote(a) for a in argv) == r.command
    if runtime in ("vllm", "sglang"):
        assert argv[argv.index("--kv-cache-dtype") + 1].startswith("fp8")
    elif runtime == "llama.cpp":
        assert argv[argv.index("--cache-type-k") + 1] == "q8_0" and "-np" in argv
    else:
        assert "OLLAMA_KV_CACHE_TYPE=q8_0" in argv and argv[-2:] == ["ollama", "serve"]


# --- what the serve command loads and where its weights come from --------------------------------

SERVE_TABLES = load_tables()
SERVE_CATALOG = load_catalog()


def served(model_id: str, device: str, runtime: str, quant: str, users: int = 2):
    m = SERVE_CATALOG.by_id()[model_id]
    hw = hardware_from(HardwareQuery(device=device))
    return m, serve(m, hw, SERVE_TABLES, SERVE_TABLES.formats[quant],
                    SERVE_TABLES.runtimes[runtime], users, 8192)


def test_text_serving_leaves_out_the_vision_encoder_and_counts_without_it():
    """vLLM serves a Qwen3.5+ model with --language-model-only and llama-server -hf with
    --no-mmproj; their weights leave the tower out. A Qwen3 text model gets neither flag."""
    from advisor.estimation.estimate import weights_bytes

    m, r = served("qwen3.5-27b", "h100", "vllm", "bf16")
    assert r.command.split()[-1] == "--language-model-only"
    full = weights_bytes(m, SERVE_TABLES.formats["bf16"])
    assert full - r.weights_bytes == pytest.approx(m.towers_params * 2, abs=1)
    m, r = served("qwen3.5-9b", "rtx-4090", "llama.cpp", "q4_k_m")
    assert "--no-mmproj" in r.command.split()
    for runtime, quant in (("vllm", "bf16"), ("llama.cpp", "q4_k_m")):
        _m, r = served("qwen3-8b", "h100", runtime, quant)
        assert "--language-model-only" not in r.command and "--no-mmproj" not in r.command


def test_llama_server_is_given_a_gguf_that_exists():
    """-hf names a repo that holds GGUF files (official, else a community build, said so);
    without one the command serves the file `advisor run` makes, and a note says how."""
    _m, r = served("qwen3-8b", "rtx-4090", "llama.cpp", "q4_k_m")
    assert "-hf Qwen/Qwen3-8B-GGUF:Q4_K_M" in r.command
    assert not any("community" in str(n) for n in r.assumptions.notes)
    _m, r = served("qwen3.5-9b", "rtx-4090", "llama.cpp", "q4_k_m")
    assert "-hf unsloth/Qwen3.5-9B-GGUF:Q4_K_M" in r.command  # not the safetensors repo
    assert any("unsloth/Qwen3.5-9B-GGUF is a community build" in str(n)
               for n in r.assumptions.notes)
    _m, r = served("qwen3.8-27b", "rtx-4090", "llama.cpp", "q4_k_m")
    assert r.command.startswith("llama-server -m Qwen3.8-27B-Q4_K_M.gguf ")
    assert any("advisor run qwen3.8-27b --quant q4_k_m --runtime llama.cpp" in str(n)
               for n in r.assumptions.notes)
    run = CliRunner().invoke(app, ["run", "qwen3.8-27b", "--quant", "q4_k_m", "--runtime",
                                   "llama.cpp"], env={"COLUMNS": "200"})
    assert "Qwen3.8-27B-Q4_K_M.gguf" in run.stdout  # the file that command makes


@pytest.mark.parametrize("quant", ["q4_k_m", "q8_0"])
def test_llama_server_serves_the_file_the_self_made_recipe_writes(quant):
    """Without a GGUF on the hub, serve's `-m` file is the one recipes.self_made quantizes to and
    serves (one name: recipes.made_gguf_file)."""
    from advisor.recipes import self_made

    m, r = served("qwen3.8-27b", "rtx-4090", "llama.cpp", quant)
    served_file = r.command.split()[r.command.split().index("-m") + 1]
    recipe = next(x for x in self_made(m, quant, 32768) if x.runtime == "llama.cpp")
    argv = {a[0]: a for a in recipe.argv}
    assert argv["llama-server"][:3] == ("llama-server", "-m", served_file)
    assert argv["llama-quantize"][2] == served_file  # the file quantizing writes
