"""The exact commands to get and run a model with its quantization on its runtime.

Recipes are argument lists built only from the catalog (repos, tags, context, artifacts) and the
flag spellings of catalog/runtime_flags.toml; each command line is `shlex.join`ed, so nothing from
a catalog reaches a shell unquoted. Weights are chosen official artifact first, then an Ollama
library tag or a community build (named as such, with its publisher), then convert-yourself from
the official 16-bit weights with the runtime's own tools.
"""

from __future__ import annotations

import json
import math
import shlex
from functools import lru_cache
from typing import Any

from advisor.data.records import SCHEMA_VERSION, Record, record, replace
from advisor.data.schema import UNLISTED_GGUF_QUANT, Artifact, ModelEntry
from advisor.i18n import N_, join, msg

# GGUF file tags by weight format (catalog/quantization.toml ids of the gguf family, and the
# 16-bit GGUF files); `-hf REPO:TAG` and llama-quantize take these names.
GGUF_FILE_QUANTS = {"q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K", "q8_0": "Q8_0",
                    "q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0", "q3_k_m": "Q3_K_M",
                    "q2_k": "Q2_K", "iq4_xs": "IQ4_XS", "iq4_nl": "IQ4_NL",
                    "ud-q4_k_xl": "UD-Q4_K_XL", "fp16": "F16", "bf16": "BF16"}

# Runtime names `--runtime` accepts, and the id each stands for.
RUNTIME_NAMES = {
    "vllm": "vllm", "sglang": "sglang", "llama.cpp": "llama.cpp", "llamacpp": "llama.cpp",
    "llama-cpp": "llama.cpp", "gguf": "llama.cpp", "ollama": "ollama", "mlx": "mlx",
    "mlx-lm": "mlx", "mlx_lm": "mlx", "lm-studio": "lm-studio", "lmstudio": "lm-studio",
    "lms": "lm-studio", "transformers": "transformers", "hf": "transformers",
    "huggingface": "transformers", "sentence-transformers": "transformers", "mnn": "mnn",
    "mlc": "mlc", "mlc-llm": "mlc", "executorch": "executorch",
}
# Which runtime's table a command line's flags are looked up in, by its program.
PROGRAMS = {"vllm": "vllm", "llama-server": "llama.cpp", "llama-quantize": "llama.cpp",
            "ollama": "ollama", "lms": "lm-studio", "hf": "huggingface",
            "modelscope": "modelscope", "mv": "shell", "./llm_demo": "mnn",
            "mlx_lm.generate": "mlx", "mlx_lm.convert": "mlx", "pip": "mlx"}
# Servers that run on a datacenter or desktop GPU, never on a phone.
SERVER_RUNTIMES = ("vllm", "sglang", "transformers", "ollama", "lm-studio")
OLLAMA_DEFAULT_CONTEXT_TOKENS = 4096  # ollama docs/context-length.mdx@948f6933: < 24 GiB VRAM
MTP_TOKENS = 2  # the Qwen3.6 card's --speculative-config example
SGLANG_MTP = ("--speculative-algorithm", "NEXTN", "--speculative-num-steps", "3",
              "--speculative-eagle-topk", "1", "--speculative-num-draft-tokens", "4")
# QwenLM/Qwen3-Omni:README.md@0309c201, "vLLM Serve Usage" ("vLLM serve for Qwen3-Omni currently
# only supports the thinker model"; use_audio_in_video is not available in vLLM serve).
OMNI_VLLM_NOTE = msg("vLLM serve runs only the thinker (text out, no speech) and has no "
                     "use_audio_in_video: pass video and audio separately; for speech output "
                     "use the card's transformers or vLLM offline path")
# Items per prompt a vision/video job may send (vLLM MultiModalConfig.limit_per_prompt, JSON).
MM_LIMITS = {"image": 4, "video": 1}
PHONE_NOTE = msg("on the phone: build llama.cpp for Android (Termux) and run this there, or "
                 "load the same GGUF file in an on-device llama.cpp app")


@record
class Recipe(Record):
    """The commands to get and run a model on one runtime."""

    runtime: str
    commands: tuple[str, ...]
    note: str = ""
    runtime_version: str = ""
    """The runtime version these commands are written for (catalog/runtime_flags.toml)."""
    argv: tuple[tuple[str, ...], ...] = ()
    """Each command as its argument list; `commands` are these joined with shlex."""


@record
class RunResult(Record):
    """`advisor run`: the recipes for one model."""

    schema_version: int = SCHEMA_VERSION
    model_id: str
    context_tokens: int
    recipes: tuple[Recipe, ...]


@lru_cache(maxsize=1)
def flag_table() -> dict[str, Any]:
    """catalog/runtime_flags.toml: runtime targets and every allowed flag, by runtime."""
    from advisor.data.loader import cached_toml, packaged_path

    data = cached_toml("flags", packaged_path("runtime_flags.toml"))
    flags: dict[str, set[str]] = {}
    for f in data.get("flags", []):
        flags.setdefault(f["runtime"], set()).add(f["flag"])
    return {"runtimes": data.get("runtimes", {}), "flags": flags,
            "fp8_weight_only": data.get("fp8_weight_only", {})}


def fp8_weight_only(runtime: str, device_id: str | None) -> bool:
    """Whether `runtime` runs FP8 checkpoints weight-only (FP8 Marlin) on this FP8-less device."""
    entry = flag_table()["fp8_weight_only"]
    return bool(device_id) and entry.get("runtime") == runtime and device_id in entry.get(
        "devices", ())


FP8_MARLIN_NOTE = msg("no FP8 tensor cores on this GPU: vLLM runs the FP8 checkpoint as "
                      "weight-only W8A16 through its FP8 Marlin kernels (half the memory of "
                      "16-bit; compute in 16-bit)")


def line_runtime(argv: tuple[str, ...]) -> tuple[str, list[str]]:
    """The runtime whose table holds this command's flags, and the words to look up there:
    leading `NAME=value` variables, the sub-command and every `-flag`."""
    i = 0
    words = []
    while i < len(argv) and "=" in argv[i] and not argv[i].startswith("-"):
        words.append(argv[i].split("=", 1)[0])
        i += 1
    program, rest = argv[i], list(argv[i + 1:])
    if program == "python":
        if rest[:2] == ["-m", "sglang.launch_server"]:
            return "sglang", words + ["-m"] + [w for w in rest[2:] if w.startswith("-")]
        if rest and rest[0] == "-c":
            return "transformers", [*words, "-c"]
        if rest and rest[0].endswith("convert_hf_to_gguf.py"):
            return "llama.cpp", words + [w for w in rest if w.startswith("-")]
    runtime = PROGRAMS[program]
    if program == "mv":
        return runtime, ["mv"]
    if program in ("./llm_demo",):
        return runtime, [*words, "llm_demo"]
    sub = [rest[0]] if rest and not rest[0].startswith("-") and runtime in (
        "vllm", "ollama", "lm-studio", "huggingface", "modelscope", "mlx") else []
    return runtime, words + sub + [w for w in rest if w.startswith("-") and not _number(w)]


def _number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def unknown_flags(r: Recipe) -> list[str]:
    """Flags of `r` that catalog/runtime_flags.toml does not list (none, for a sound recipe)."""
    table = flag_table()["flags"]
    missing = []
    for argv in r.argv:
        runtime, words = line_runtime(argv)
        missing += [f"{runtime} {w}" for w in words if w not in table.get(runtime, ())]
    return missing


def _recipe(runtime: str, lines: list[tuple[str, ...]], note: str = "") -> Recipe:
    target = flag_table()["runtimes"].get(runtime, {}).get("target", "")
    return Recipe(runtime=runtime, commands=tuple(shlex.join(a) for a in lines), note=note,
                  runtime_version=target, argv=tuple(lines))


def quantized_repo(m: ModelEntry, fmt_id: str) -> str | None:
    """The official repo holding `fmt_id` weights (16-bit: the main repo)."""
    if fmt_id in ("bf16", "fp16"):
        return m.hf_repo
    for q in m.quantized:
        if q.format == fmt_id:
            return q.repo
    for a in m.artifacts:
        if a.provenance == "official" and a.hub == "huggingface" and a.format == fmt_id:
            return a.repo
    return None


def gguf_artifact(m: ModelEntry, fmt_id: str) -> Artifact | None:
    """The GGUF repo holding `fmt_id`: official first, then a community build."""
    found = [a for a in m.downloads if a.format == "gguf" and a.hub == "huggingface" and (
        fmt_id in a.quants or (not a.quants and fmt_id == UNLISTED_GGUF_QUANT))]
    found.sort(key=lambda a: a.provenance != "official")
    return found[0] if found else None


def gguf_repo(m: ModelEntry, fmt_id: str) -> str | None:
    a = gguf_artifact(m, fmt_id)
    return a.repo if a else None


def downloads(m: ModelEntry, repo: str, modelscope_first: bool,
              local_dir: str | None = None) -> list[tuple[str, ...]]:
    """The download command, from ModelScope where asked and the catalog names the repo there."""
    if modelscope_first and m.modelscope_repo and repo == m.hf_repo:
        return [("modelscope", "download", "--model", m.modelscope_repo,
                 *(("--local_dir", local_dir) if local_dir else ()))]
    return [("hf", "download", repo, *(("--local-dir", local_dir) if local_dir else ()))]


def _generation(m: ModelEntry) -> float:
    head = m.generation.split("-")[0]
    try:
        return float(head)
    except ValueError:
        return 0.0


def is_embedding(m: ModelEntry) -> bool:
    return "embedding" in m.modalities_out


def is_reranker(m: ModelEntry) -> bool:
    return "score" in m.modalities_out


def wants_tools(m: ModelEntry, task: str | None) -> bool:
    return task in ("tool-use", "code") or "coder" in m.id


def tool_parser(m: ModelEntry) -> str:
    """vLLM's parser: qwen3_coder for Coder and Qwen3.5+ XML tool calls, hermes before."""
    return "qwen3_coder" if "coder" in m.id or _generation(m) >= 3.5 else "hermes"


def has_mtp(m: ModelEntry) -> bool:
    """Qwen3.5+ and Qwen3-Next checkpoints ship MTP heads (their cards' serving examples)."""
    return _generation(m) >= 3.5 or "next" in m.id


def yarn(m: ModelEntry, context_tokens: int) -> float | None:
    """The YaRN factor when `context_tokens` is beyond native and the card extends by YaRN."""
    c = m.context
    if context_tokens <= c.native_tokens or c.extension_method != "yarn":
        return None
    return c.yarn_factor or math.ceil(2 * context_tokens / c.native_tokens) / 2


# The Qwen3.5+ cards' "Processing Ultra-Long Texts": YaRN goes under text_config, with the
# checkpoint's own mRoPE settings repeated (card copy, code index id 54590349179: vLLM
# --hf-overrides / SGLang --json-model-override-args '{"text_config": {"rope_parameters":
# {"mrope_interleaved": true, "mrope_section": [11, 11, 10], "rope_type": "yarn", "rope_theta":
# 10000000, "partial_rotary_factor": 0.25, "factor": 4.0, "original_max_position_embeddings":
# 262144}}}'); the same values are in the Qwen3.5-0.8B config.json (mrope_section, rope_theta,
# partial_rotary_factor).
QWEN35_MROPE = {"mrope_interleaved": True, "mrope_section": [11, 11, 10]}
QWEN35_ROPE_THETA = {"rope_theta": 10000000, "partial_rotary_factor": 0.25}


def text_config_yarn(m: ModelEntry) -> bool:
    """Whether YaRN goes under text_config (Qwen3.5+ checkpoints with a vision encoder)."""
    return _generation(m) >= 3.5 and "image" in m.modalities_in


def rope_override(m: ModelEntry, factor: float) -> dict[str, Any]:
    """The rope override the card gives for YaRN at `factor` (vLLM hf_overrides, SGLang
    json_model_override_args)."""
    native = m.context.native_tokens
    if text_config_yarn(m):
        return {"text_config": {"rope_parameters": {
            **QWEN35_MROPE, "rope_type": "yarn", **QWEN35_ROPE_THETA, "factor": factor,
            "original_max_position_embeddings": native}}}
    return {"rope_parameters": {"rope_type": "yarn", "factor": factor,
                                "original_max_position_embeddings": native}}


def recipes(m: ModelEntry, fmt_id: str, context_tokens: int, gpus: int = 1,
            modelscope_first: bool = False, *, task: str | None = None,
            runtime: str | None = None, memory_bytes: float | None = None,
            device_class: str | None = None, kv_dtype: str | None = None) -> list[Recipe]:
    """Recipes for every runtime that can run `m` at `fmt_id` (official artifacts first).

    `memory_bytes` is the memory of one device: with it, online FP8 is offered only where the
    16-bit weights fit at load, and MoE experts go to the CPU where the weights do not fit.
    """
    if not m.open_weights or not m.hf_repo:
        return []
    out: list[Recipe] = []
    repo = quantized_repo(m, fmt_id)
    gguf = fmt_id in GGUF_FILE_QUANTS and fmt_id not in ("bf16", "fp16")
    if repo and not gguf and not fmt_id.startswith("mlx"):
        out += _vllm(m, repo, context_tokens, gpus, modelscope_first, task, kv_dtype)
        out += _sglang(m, repo, context_tokens, gpus, modelscope_first, task)
        out += _transformers(m, repo, task, context_tokens)
    if fmt_id in GGUF_FILE_QUANTS:
        out += _llama_cpp(m, fmt_id, context_tokens, kv_dtype, memory_bytes, task)
    out += _ollama(m, fmt_id, context_tokens)  # GGUF tags, and MLX/MXFP8/NVFP4 tags
    if fmt_id.startswith("mlx"):
        out += _mlx(m, fmt_id)
    if fmt_id in ("bf16", "fp16") and device_class == "apple-silicon":  # a 16-bit pick on MLX
        out += _mlx_16bit(m)
    if device_class == "phone":
        out = [replace(r, note=join("; ", (r.note, PHONE_NOTE)))
               if r.runtime == "llama.cpp" else r for r in out]
    out += _mnn(m, modelscope_first)
    if device_class == "phone":  # before the self-made fallback: a phone runs no server
        out = [r for r in out if r.runtime not in SERVER_RUNTIMES]
    if not any(r.runtime not in ("mnn",) for r in out):
        made = self_made(m, fmt_id, context_tokens, gpus, modelscope_first,
                         memory_bytes=memory_bytes, kv_dtype=kv_dtype, task=task)
        out += [r for r in made if device_class != "phone" or r.runtime not in SERVER_RUNTIMES]
    elif any(r.runtime == "ollama" for r in out) and not any(
            r.runtime == "llama.cpp" for r in out) and not any(
            a.format == "gguf" and a.hub != "ollama" for a in m.downloads):
        # An Ollama tag is no GGUF file for llama.cpp: with no GGUF repo listed, llama.cpp
        # still gets its convert-yourself recipe beside the tag.
        out += [r for r in self_made(m, fmt_id, context_tokens, gpus, modelscope_first,
                                     memory_bytes=memory_bytes, kv_dtype=kv_dtype, task=task)
                if r.runtime == "llama.cpp"]
    if runtime:
        out = [r for r in out if r.runtime == RUNTIME_NAMES.get(runtime, runtime)]
    return out


def _vllm(m: ModelEntry, repo: str, ctx: int, gpus: int, ms: bool, task: str | None,
          kv_dtype: str | None) -> list[Recipe]:
    env = ("VLLM_USE_MODELSCOPE=true",) if ms and repo == m.hf_repo and m.modelscope_repo else ()
    serve_repo = m.modelscope_repo if env else repo
    get = downloads(m, repo, ms)
    if m.context.extension_method == "dca" and ctx > m.context.native_tokens:
        # The card's 1M setup is for its own repo (config_1m.json ships there).
        return [_dca_vllm(m, repo, ctx, gpus, ms)] if repo == m.hf_repo else []
    args: list[str] = [*env, "vllm", "serve", serve_repo or repo]
    note = []
    if is_reranker(m):
        args += ["--runner", "pooling", "--hf-overrides", json.dumps(
            # Qwen3-VL-Reranker cards: Qwen3VLForSequenceClassification, same yes/no tokens
            {"architectures": ["Qwen3VLForSequenceClassification" if "image" in m.modalities_in
                               else "Qwen3ForSequenceClassification"],
             "classifier_from_token": ["no", "yes"], "is_original_qwen3_reranker": True},
            separators=(",", ":"))]
        return [_recipe("vllm", [*get, tuple(args)], msg("rerank API (/score, /rerank)"))]
    if is_embedding(m):
        args += ["--runner", "pooling"]
        return [_recipe("vllm", [*get, tuple(args)], msg("embeddings API (/v1/embeddings)"))]
    serve_ctx = ctx
    factor = yarn(m, ctx)
    nested = bool(factor) and text_config_yarn(m)
    if factor and "image" in m.modalities_in and not nested:
        serve_ctx = m.context.native_tokens
        note.append(msg("served at the native {context:,} tokens: YaRN for this multimodal "
                        "model goes under text_config with the card's rope settings",
                        context=serve_ctx))
        factor = None
    elif ctx > m.context.max_tokens:
        serve_ctx = min(ctx, m.context.max_tokens)
    if nested:  # the Qwen3.5+ cards: the env var lets --max-model-len pass the config's length
        args.insert(args.index("vllm"), "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1")
    args += ["--max-model-len", str(min(serve_ctx, m.context.max_tokens))]
    if gpus > 1:
        args += ["--tensor-parallel-size", str(gpus)]
    if factor:
        args += ["--hf-overrides", json.dumps(rope_override(m, factor), separators=(",", ":"))]
        note.append(msg("YaRN factor {factor:g} beyond the native {native:,} tokens (static: it "
                        "also applies to short prompts)", factor=factor,
                        native=m.context.native_tokens))
    if m.thinking != "none":
        args += ["--reasoning-parser", "qwen3"]
    if wants_tools(m, task):
        args += ["--enable-auto-tool-choice", "--tool-call-parser", tool_parser(m)]
    if vllm_language_only(m, task):
        args += ["--language-model-only"]
        note.append(msg("text only: the vision encoder is not loaded"))
    if task in ("vision", "video") and "image" in m.modalities_in:
        args += ["--limit-mm-per-prompt", json.dumps(MM_LIMITS, separators=(",", ":"))]
        note.append(msg("at most {image} images and {video} video per request "
                        "(--limit-mm-per-prompt)", **MM_LIMITS))
    if kv_dtype == "fp8":
        args += ["--kv-cache-dtype", "fp8"]
    if "audio" in m.modalities_out:
        note.append(OMNI_VLLM_NOTE)
    if not ms and m.modelscope_repo and repo == m.hf_repo:
        note.append(msg("or from ModelScope: modelscope download --model {repo} and "
                        "VLLM_USE_MODELSCOPE=true on the serve line", repo=m.modelscope_repo))
    out = [_recipe("vllm", [*get, tuple(args)], join("; ", note))]
    if has_mtp(m):
        spec = json.dumps({"method": "qwen3_next_mtp", "num_speculative_tokens": MTP_TOKENS},
                          separators=(",", ":"))
        out.append(_recipe("vllm", [*get, (*args, "--speculative-config", spec)],
                           msg("option: MTP speculative decoding with the checkpoint's own "
                               "heads")))
    return out


def _dca_vllm(m: ModelEntry, repo: str, ctx: int, gpus: int, ms: bool) -> Recipe:
    """1M tokens as the card says: Dual Chunk Attention (2507 models: config_1m.json first)."""
    local = repo.split("/")[-1]
    lines = downloads(m, repo, ms, local)
    if "2507" in m.id:
        lines += [("mv", f"{local}/config.json", f"{local}/config.json.bak"),
                  ("mv", f"{local}/config_1m.json", f"{local}/config.json")]
    lines.append(("VLLM_ATTENTION_BACKEND=DUAL_CHUNK_FLASH_ATTN", "VLLM_USE_V1=0", "vllm",
                  "serve", f"./{local}", "--tensor-parallel-size", str(gpus),
                  "--max-model-len", str(min(ctx, m.context.max_tokens)),
                  "--enable-chunked-prefill", "--max-num-batched-tokens", "131072",
                  "--enforce-eager", "--max-num-seqs", "1", "--gpu-memory-utilization", "0.85"))
    return _recipe("vllm", lines, msg("beyond the native context: Dual Chunk Attention as the "
                                      "card says (one sequence at a time; check the card's total "
                                      "GPU memory need)"))


def _sglang(m: ModelEntry, repo: str, ctx: int, gpus: int, ms: bool,
            task: str | None) -> list[Recipe]:
    if is_reranker(m) or (m.context.extension_method == "dca" and ctx > m.context.native_tokens):
        return []
    env = ("SGLANG_USE_MODELSCOPE=true",) if ms and repo == m.hf_repo and m.modelscope_repo else ()
    args: list[str] = [*env, "python", "-m", "sglang.launch_server", "--model-path",
                       (m.modelscope_repo if env else repo) or repo]
    if is_embedding(m):
        return [_recipe("sglang", [(*args, "--is-embedding")])]
    factor = yarn(m, ctx)
    if factor and "image" in m.modalities_in and not text_config_yarn(m):
        return []
    if factor and text_config_yarn(m):  # the Qwen3.5+ cards' SGLang line
        args.insert(args.index("python"), "SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1")
    args += ["--context-length", str(min(ctx, m.context.max_tokens))]
    if gpus > 1:
        args += ["--tp", str(gpus)]
    if factor:
        override = (rope_override(m, factor) if text_config_yarn(m) else {"rope_scaling": {
            "rope_type": "yarn", "factor": factor,
            "original_max_position_embeddings": m.context.native_tokens}})
        args += ["--json-model-override-args", json.dumps(override, separators=(",", ":"))]
    if m.thinking != "none":
        args += ["--reasoning-parser", "qwen3"]
    if wants_tools(m, task):
        args += ["--tool-call-parser", "qwen3_coder" if tool_parser(m) == "qwen3_coder"
                 else "qwen25"]
    out = [_recipe("sglang", [tuple(args)])]
    if has_mtp(m):
        # The Qwen3.5/3.6 cards' SGLang MTP command (NEXTN with the checkpoint's own heads).
        out.append(_recipe("sglang", [(*args, *SGLANG_MTP)],
                           msg("option: MTP speculative decoding with the checkpoint's own "
                               "heads")))
    return out


def _transformers(m: ModelEntry, repo: str, task: str | None, ctx: int = 0) -> list[Recipe]:
    if is_reranker(m):
        return []
    if is_embedding(m):
        code = ("from sentence_transformers import SentenceTransformer; "
                f"model = SentenceTransformer({json.dumps(repo)}); "
                'print(model.encode(["Hello"]).shape)')
        return [_recipe("transformers", [("python", "-c", code)], msg(
            "sentence-transformers (pip install sentence-transformers)"))]
    if is_qwen3_omni(m):
        return [_recipe("transformers", [("python", "-c", omni_code(repo))], OMNI_TF_NOTE)]
    code = ("from transformers import pipeline; "
            f'p = pipeline("text-generation", model={json.dumps(repo)}, torch_dtype="auto", '
            'device_map="auto"); print(p([{"role": "user", "content": "Hello"}], '
            'max_new_tokens=128)[0]["generated_text"][-1]["content"])')
    factor = yarn(m, ctx)
    note = ("" if not factor else msg(
        "beyond the native context, add to config.json (the Qwen3 card's YaRN setting): {json}",
        json=json.dumps(rope_override(m, factor) if text_config_yarn(m) else {"rope_scaling": {
            "rope_type": "yarn", "factor": factor,
            "original_max_position_embeddings": m.context.native_tokens}})))
    return [_recipe("transformers", [("python", "-c", code)], note)]


# QwenLM/Qwen3-Omni README (verbatim copy, code index id 53220393192), Transformers Usage:
# Qwen3OmniMoeForConditionalGeneration + Qwen3OmniMoeProcessor + qwen_omni_utils.process_mm_info;
# `return_audio=False` returns text only; transformers >= 5.2.0 recommended.
OMNI_TF_NOTE = msg("the Omni card's Transformers path (pip install \"transformers>=5.2.0\" "
                   "accelerate qwen-omni-utils, and ffmpeg): text out here (return_audio=False); "
                   "for speech, keep the audio that generate returns and write it at 24 kHz")


def is_qwen3_omni(m: ModelEntry) -> bool:
    return m.id.startswith("qwen3-omni")


def omni_code(repo: str) -> str:
    """The Qwen3-Omni README's Transformers snippet, one text turn, text output."""
    conv = '[{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]'
    return ("from transformers import Qwen3OmniMoeForConditionalGeneration, "
            "Qwen3OmniMoeProcessor; from qwen_omni_utils import process_mm_info; "
            f"m = Qwen3OmniMoeForConditionalGeneration.from_pretrained({json.dumps(repo)}, "
            'dtype="auto", device_map="auto"); '
            f"p = Qwen3OmniMoeProcessor.from_pretrained({json.dumps(repo)}); c = {conv}; "
            "t = p.apply_chat_template(c, add_generation_prompt=True, tokenize=False); "
            "a, i, v = process_mm_info(c, use_audio_in_video=False); "
            'x = p(text=t, audio=a, images=i, videos=v, return_tensors="pt", padding=True, '
            "use_audio_in_video=False).to(m.device).to(m.dtype); "
            "ids, _ = m.generate(**x, return_audio=False, thinker_return_dict_in_generate=True, "
            "use_audio_in_video=False); "
            'print(p.batch_decode(ids.sequences[:, x["input_ids"].shape[1]:], '
            "skip_special_tokens=True)[0])")


def vllm_language_only(m: ModelEntry, task: str | None) -> bool:
    """Whether vLLM's recipe runs `m` with --language-model-only (its vision encoder not
    loaded): a Qwen3.5+ multimodal model given a text job, or a model whose card says so
    (`language_model_only`); never an embedding or reranker model."""
    if is_embedding(m) or is_reranker(m):
        return False
    text_only = ("image" in m.modalities_in and task not in ("vision", "video")) or \
        m.language_model_only
    return text_only and _generation(m) >= 3.5


def uses_projector(m: ModelEntry, task: str | None) -> bool:
    """Whether a llama.cpp run of `m` loads its multimodal projector (the vision/audio tower):
    only for a job that sends it images, video or audio. Text jobs run without it, as vLLM's
    recipe runs them with --language-model-only."""
    return ("image" in m.modalities_in and task in ("vision", "video")) or (
        "audio" in m.modalities_in and task == "audio")


def _llama_cpp(m: ModelEntry, fmt_id: str, ctx: int, kv_dtype: str | None,
               memory_bytes: float | None, task: str | None = None) -> list[Recipe]:
    a = gguf_artifact(m, fmt_id)
    if a is None or a.repo is None:
        return []
    if m.context.extension_method == "dca" and ctx > m.context.native_tokens:
        return []
    tag = GGUF_FILE_QUANTS[fmt_id]
    args: list[str] = ["llama-server", "-hf", f"{a.repo}:{tag}" if a.quants else a.repo]
    note = []
    if a.provenance == "community":
        note.append(msg("community build by {publisher}, not published by Qwen",
                        publisher=a.publisher))
    if not a.quants:
        note.append(msg("the catalog does not list this repo's files; llama.cpp takes its {tag} "
                        "file by default", tag=tag))
    if is_embedding(m):
        args += ["--embedding", "--pooling", "last"]
    elif is_reranker(m):
        args += ["--reranking"]
    serve_ctx = min(ctx, m.context.max_tokens)
    args += ["-c", str(serve_ctx)]
    factor = yarn(m, ctx)
    if factor:
        args += ["--rope-scaling", "yarn", "--rope-scale", f"{factor:g}",
                 "--yarn-orig-ctx", str(m.context.native_tokens)]
    if kv_dtype == "q8_0":
        args += ["-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"]
    if memory_bytes and m.config and m.config.is_moe and m.params_total:
        from advisor.data.formats import load_tables

        fmt = load_tables().formats.get(fmt_id)
        if fmt and m.params_total * fmt.bits_per_weight / 8 > memory_bytes:
            args += ["--cpu-moe"]
            note.append(msg("MoE experts stay in host RAM (--cpu-moe); --fit places the rest"))
    if uses_projector(m, task):
        if a.mmproj:
            note.append(msg("-hf also fetches the vision projector {file}", file=a.mmproj))
    elif "image" in m.modalities_in or "audio" in m.modalities_in:
        args += ["--no-mmproj"]  # -hf would fetch and load the projector file too
        note.append(msg("text only: the vision encoder is not loaded"))
    lms = _recipe("lm-studio", [("lms", "get", a.repo)], join("; ", (
        *note[:1], msg("choose the {tag} file; set the context length when you load it",
                       tag=tag))))
    return [_recipe("llama.cpp", [tuple(args)], join("; ", note)), lms]


def _ollama(m: ModelEntry, fmt_id: str, ctx: int) -> list[Recipe]:
    tags = [a for a in m.downloads if a.hub == "ollama" and a.tag and (
        fmt_id in a.quants or (not a.quants and fmt_id == UNLISTED_GGUF_QUANT))]
    if not tags or is_reranker(m):
        return []
    a = tags[0]
    assert a.tag
    lines: list[tuple[str, ...]] = []
    if ctx > OLLAMA_DEFAULT_CONTEXT_TOKENS:
        lines.append((f"OLLAMA_CONTEXT_LENGTH={min(ctx, m.context.max_tokens)}", "ollama",
                      "serve"))
    note = (msg("Ollama library tag, built by Ollama from the official weights")
            if a.provenance == "ollama-library"
            else msg("community tag by {publisher}", publisher=a.publisher))
    if is_embedding(m):  # an embedding model is pulled and called, not chatted with
        lines.append(("ollama", "pull", a.tag))
        note = join("; ", (note, msg("embeddings API (/v1/embeddings)")))
    else:
        lines.append(("ollama", "run", a.tag))
    return [_recipe("ollama", lines, note)]


def _mlx(m: ModelEntry, fmt_id: str) -> list[Recipe]:
    repo = quantized_repo(m, fmt_id)
    community = None
    if not repo:
        found = [a for a in m.downloads if a.format == "mlx" and fmt_id in a.quants and a.repo]
        found.sort(key=lambda a: a.provenance != "official")
        if not found:
            return []
        repo, community = found[0].repo, found[0]
    assert repo
    note = (msg("community build by {publisher}, not published by Qwen",
                publisher=community.publisher)
            if community and community.provenance == "community" else "")
    # LM Studio runs MLX builds on Apple silicon as well as GGUF (QwenLM/Qwen3:docs/source/
    # run_locally/lmstudio.md@7a2f61ff: 'LM Studio supports both GGUF (llama.cpp) and MLX').
    lms = _recipe("lm-studio", [("lms", "get", repo)], join("; ", (note, msg(
        "choose the {tag} file; set the context length when you load it", tag="MLX"))))
    return [_recipe("mlx", [("pip", "install", "mlx-lm"),
                            ("mlx_lm.generate", "--model", repo, "--max-tokens", "256",
                             "--prompt", "Hello")], note), lms]


def _mlx_16bit(m: ModelEntry) -> list[Recipe]:
    """16-bit weights on a Mac: mlx-lm loads the official safetensors repo as it is. Text models
    only: mlx-lm runs causal language models, not vision/audio towers or embedding heads."""
    if not m.hf_repo or m.modalities_in != ("text",) or m.modalities_out != ("text",):
        return []
    return [_recipe("mlx", [("pip", "install", "mlx-lm"),
                            ("mlx_lm.generate", "--model", m.hf_repo, "--max-tokens", "256",
                             "--prompt", "Hello")])]


def _mnn(m: ModelEntry, modelscope_first: bool) -> list[Recipe]:
    found = [a for a in m.downloads if a.format == "mnn" and a.repo]
    if not found:
        return []
    found.sort(key=lambda a: (a.hub != ("modelscope" if modelscope_first else "huggingface"),
                              a.provenance != "official"))
    a = found[0]
    assert a.repo
    local = a.repo.split("/")[-1]
    get: tuple[str, ...] = (("modelscope", "download", "--model", a.repo, "--local_dir", local)
                            if a.hub == "modelscope" else
                            ("hf", "download", a.repo, "--local-dir", local))
    who = "" if a.provenance == "official" else msg("community build by {publisher}",
                                                     publisher=a.publisher)
    return [_recipe("mnn", [get, ("./llm_demo", f"{local}/config.json", "prompt.txt")],
                    join("; ", (who, msg("on a phone, load the same model in the MNN Chat "
                                         "app"))))]


SELF_MADE_NOTE = N_("Qwen published no {fmt} file of this model: these commands make it from "
                    "the official weights with {tool}")


def made_gguf_file(m: ModelEntry, fmt_id: str) -> str:
    """The GGUF file `self_made` converts and quantizes to `fmt_id` (16-bit formats: the BF16
    conversion itself), which llama-server then serves with -m."""
    local = (m.hf_repo or m.id).split("/")[-1]
    tag = "BF16" if fmt_id in ("bf16", "fp16") else GGUF_FILE_QUANTS.get(fmt_id, fmt_id.upper())
    return f"{local}-{tag}.gguf"


def self_made(m: ModelEntry, fmt_id: str, context_tokens: int, gpus: int = 1,
              modelscope_first: bool = False, memory_bytes: float | None = None,
              kv_dtype: str | None = None, task: str | None = None) -> list[Recipe]:
    """Recipes that make `fmt_id` weights from the official 16-bit weights (none for GPTQ/AWQ)."""
    if not m.hf_repo:
        return []
    from advisor.data.formats import load_tables

    fmt = load_tables().formats.get(fmt_id)
    if fmt_id != "fp8" and (fmt is None or not fmt.made_from_16bit):
        return []  # a publisher's own mix (UD, IQ with an imatrix, MLX bf16 builds)
    local = m.hf_repo.split("/")[-1]
    get = downloads(m, m.hf_repo, modelscope_first, local)
    if fmt_id in GGUF_FILE_QUANTS:
        tag = GGUF_FILE_QUANTS[fmt_id]
        lines: list[tuple[str, ...]] = [*get, (
            "python", "llama.cpp/convert_hf_to_gguf.py", local, "--outtype", "bf16",
            "--outfile", f"{local}-BF16.gguf")]
        if fmt_id not in ("bf16", "fp16"):
            lines.append(("llama-quantize", f"{local}-BF16.gguf", f"{local}-{tag}.gguf", tag))
        serve: list[str] = ["llama-server", "-m", made_gguf_file(m, fmt_id)]
        if is_embedding(m):
            serve += ["--embedding", "--pooling", "last"]
        elif is_reranker(m):
            serve += ["--reranking"]
        serve += ["-c", str(min(context_tokens, m.context.max_tokens))]
        factor = yarn(m, context_tokens)
        if factor:
            serve += ["--rope-scaling", "yarn", "--rope-scale", f"{factor:g}",
                      "--yarn-orig-ctx", str(m.context.native_tokens)]
        if kv_dtype == "q8_0":
            serve += ["-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"]
        vision = ""
        if uses_projector(m, task):
            lines.append(("python", "llama.cpp/convert_hf_to_gguf.py", local, "--mmproj",
                          "--outtype", "f16", "--outfile", f"mmproj-{local}-F16.gguf"))
            serve += ["--mmproj", f"mmproj-{local}-F16.gguf"]
            vision = msg(" (the projector file carries the vision/audio tower)")
        return [_recipe("llama.cpp", [*lines, tuple(serve)], join("", (msg(
            SELF_MADE_NOTE, fmt=tag, tool=msg("llama.cpp's tools, run from a llama.cpp checkout "
                                              "recent enough to support this architecture")),
            vision)))]
    if fmt_id.startswith("mlx-"):
        bits = fmt_id.removeprefix("mlx-").removesuffix("bit")
        q = ("-q", "--q-bits", bits) if bits.isdigit() else ()
        return [_recipe("mlx", [("pip", "install", "mlx-lm"),
                                ("mlx_lm.convert", "--hf-path", m.hf_repo, *q, "--mlx-path",
                                 f"{local}-{fmt_id}"),
                                ("mlx_lm.generate", "--model", f"{local}-{fmt_id}",
                                 "--max-tokens", "256", "--prompt", "Hello")],
                        msg(SELF_MADE_NOTE, fmt=fmt_id, tool="mlx_lm.convert"))]
    if fmt_id == "fp8":
        # vLLM docs (features/quantization/fp8): online FP8 loads the 16-bit weights first.
        if memory_bytes and m.params_total and m.params_total * 2 > memory_bytes * gpus:
            return []
        args = ["vllm", "serve", m.hf_repo, "--quantization", "fp8", "--max-model-len",
                str(min(context_tokens, m.context.max_tokens))]
        if gpus > 1:
            args += ["--tensor-parallel-size", str(gpus)]
        return [_recipe("vllm", [*downloads(m, m.hf_repo, modelscope_first), tuple(args)],
                        msg(SELF_MADE_NOTE, fmt="FP8", tool=msg(
                            "vLLM, which quantizes on load (the 16-bit weights must fit "
                            "first)")))]
    return []


def why_not(m: ModelEntry, runtime: str) -> str:
    """One line on why the catalog gives no recipe for `m` on `runtime`."""
    rt = RUNTIME_NAMES.get(runtime, runtime)
    if rt in ("mlc", "executorch"):
        return msg("the catalog lists no {runtime} build of {model} ({runtime} runs only models "
                   "compiled for it); try --runtime llama.cpp or mnn", runtime=rt, model=m.id)
    if rt == "mnn":
        return msg("the catalog lists no MNN export of {model} (MNN loads llmexport builds only)",
                   model=m.id)
    if rt == "ollama":
        return msg("the catalog lists no Ollama tag of {model}", model=m.id)
    if rt == "mlx":
        return msg("no MLX build of {model} is listed; --quant mlx-4bit converts one yourself",
                   model=m.id)
    if rt == "sglang" and is_reranker(m):
        return msg("SGLang serves no Qwen3 reranker in these recipes; use --runtime vllm")
    return msg("no recipe of {model} runs on {runtime} at the asked format and context",
               model=m.id, runtime=rt)


def all_recipes(m: ModelEntry, context_tokens: int, gpus: int = 1,
                modelscope_first: bool = False, **options: Any) -> list[Recipe]:
    """Recipes for the 16-bit weights and every listed artifact of `m`."""
    formats = ["bf16"] + [q.format for q in m.quantized if q.format != "gguf"]
    for a in m.downloads:
        if a.format == "gguf" or a.hub == "ollama":
            formats += list(a.quants or (UNLISTED_GGUF_QUANT,))
        elif a.format == "mlx":
            formats += list(a.quants)
        elif a.provenance == "official" and a.format not in ("safetensors", "mnn"):
            formats.append(a.format)
    seen: dict[tuple[str, tuple[str, ...]], tuple[bool, Recipe]] = {}
    for fmt_id in dict.fromkeys(formats):
        for r in recipes(m, fmt_id, context_tokens, gpus, modelscope_first, **options):
            seen.setdefault((r.runtime, r.commands), (fmt_id == UNLISTED_GGUF_QUANT, r))
    found = list(seen.values())
    # Within a GGUF runtime, the default Q4_K_M file or tag comes first (`ollama run qwen3.5:4b`,
    # not its -bf16 tag); other runtimes keep their order.
    order = {r.runtime: i for i, (_, r) in reversed(list(enumerate(found)))}
    return [r for _, r in sorted(found, key=lambda x: (
        order[x[1].runtime], not (x[0] and x[1].runtime in ("ollama", "llama.cpp", "lm-studio"))))]
