"""The exact commands to get and run a model with its quantization on its runtime.

Every repo name and tag comes from the catalog (hf_repo, modelscope_repo, quantized repos,
ollama_tag); nothing is typed in free-hand. Where Qwen published no file in the chosen format,
the recipe makes it from the official 16-bit weights with the runtime's own tools (llama.cpp's
convert_hf_to_gguf.py and llama-quantize, mlx_lm.convert, vLLM's on-load FP8) and says so.
"""

from __future__ import annotations

from advisor.records import Record, record
from advisor.schema import UNLISTED_GGUF_QUANT, ModelEntry

GGUF_FILE_QUANTS = {"q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K", "q8_0": "Q8_0",
                    "q4_0": "Q4_0", "q3_k_m": "Q3_K_M", "q2_k": "Q2_K", "fp16": "F16",
                    "bf16": "BF16"}


@record
class Recipe(Record):
    """The commands to get and run a model on one runtime."""

    runtime: str
    commands: tuple[str, ...]
    note: str = ""


def quantized_repo(m: ModelEntry, fmt_id: str) -> str | None:
    """The official repo holding `fmt_id` weights (16-bit: the main repo)."""
    if fmt_id in ("bf16", "fp16"):
        return m.hf_repo
    for q in m.quantized:
        if q.format == fmt_id:
            return q.repo
    return None


def gguf_repo(m: ModelEntry, fmt_id: str) -> str | None:
    for q in m.quantized:
        if q.format == "gguf" and (fmt_id in q.quants or (
                not q.quants and fmt_id == UNLISTED_GGUF_QUANT)):
            return q.repo
    return None


def downloads(m: ModelEntry, repo: str, modelscope_first: bool) -> list[str]:
    """The download command, and the other hub's as a commented alternative. ModelScope only
    where the catalog names the ModelScope repo; it comes first when asked for."""
    hf = f"hf download {repo}"
    ms = (f"modelscope download --model {m.modelscope_repo}"
          if m.modelscope_repo and repo == m.hf_repo else None)
    if not ms:
        return [hf]
    first, other = (ms, hf) if modelscope_first else (hf, ms)
    return [first, f"# or: {other}"]


def recipes(m: ModelEntry, fmt_id: str, context_tokens: int, gpus: int = 1,
            modelscope_first: bool = False) -> list[Recipe]:
    """Recipes for every runtime that can run this model at `fmt_id` from official artifacts."""
    out: list[Recipe] = []
    if not m.open_weights or not m.hf_repo:
        return out
    tp = f" --tensor-parallel-size {gpus}" if gpus > 1 else ""
    repo = quantized_repo(m, fmt_id)
    from_ms = modelscope_first and bool(m.modelscope_repo) and repo == m.hf_repo
    # QwenLM/Qwen3 README.md@7a2f61ff, "ModelScope": VLLM_USE_MODELSCOPE / SGLANG_USE_MODELSCOPE
    ms_env = "VLLM_USE_MODELSCOPE=True " if from_ms else ""
    if repo and fmt_id not in GGUF_FILE_QUANTS.keys() - {"bf16", "fp16"} and not fmt_id.startswith(
            "mlx"):
        out.append(Recipe(runtime="vllm", commands=(
            *downloads(m, repo, modelscope_first),
            f"{ms_env}vllm serve {repo} --max-model-len {context_tokens}{tp}")))
        out.append(Recipe(runtime="sglang", commands=(
            f"{'SGLANG_USE_MODELSCOPE=true ' if from_ms else ''}"
            f"python -m sglang.launch_server --model-path {repo} "
            f"--context-length {context_tokens}" + (f" --tp {gpus}" if gpus > 1 else ""),)))
        out.append(Recipe(runtime="transformers", commands=(
            "python -c \"from transformers import pipeline; "
            f"p = pipeline('text-generation', model='{repo}', torch_dtype='auto', "
            "device_map='auto'); print(p([{'role': 'user', 'content': 'Hello'}], "
            "max_new_tokens=128)[0]['generated_text'][-1]['content'])\"",)))
    gguf = gguf_repo(m, fmt_id)
    if gguf and fmt_id in GGUF_FILE_QUANTS:
        tag = GGUF_FILE_QUANTS[fmt_id]
        listed = any(q.repo == gguf and q.quants for q in m.quantized)
        out.append(Recipe(runtime="llama.cpp", commands=(
            f"llama-server -hf {gguf}{f':{tag}' if listed else ''} --jinja -c {context_tokens}",),
            note="" if listed else f"the catalog does not list this repo's files; llama.cpp "
            f"takes its {tag} file by default"))
        out.append(Recipe(runtime="lm-studio", commands=(f"lms get {gguf}",),
                          note=f"choose the {tag} file; or search the repo in the app"))
    if m.ollama_tag and fmt_id == "q4_k_m":
        out.append(Recipe(runtime="ollama", commands=(f"ollama run {m.ollama_tag}",),
                          note="Ollama library tags default to Q4_K_M weights"))
    if fmt_id.startswith("mlx") and repo:
        out.append(Recipe(runtime="mlx", commands=(
            "pip install mlx-lm",
            f"mlx_lm.generate --model {repo} --max-tokens 256 --prompt \"Hello\"")))
    return out or self_made(m, fmt_id, context_tokens, gpus, modelscope_first)


SELF_MADE_NOTE = ("Qwen published no {fmt} file of this model: these commands make it from the "
                  "official weights with {tool}")


def self_made(m: ModelEntry, fmt_id: str, context_tokens: int, gpus: int = 1,
              modelscope_first: bool = False) -> list[Recipe]:
    """Recipes that make `fmt_id` weights from the official 16-bit weights (none for GPTQ/AWQ)."""
    if not m.hf_repo:
        return []
    local = m.hf_repo.split("/")[-1]
    get = [f"{c} --local-dir {local}" if "hf download" in c else f"{c} --local_dir {local}"
           for c in downloads(m, m.hf_repo, modelscope_first)]
    if fmt_id in GGUF_FILE_QUANTS:
        tag = GGUF_FILE_QUANTS[fmt_id]
        vision = " (vision: add --mmproj to convert the vision tower too)" if (
            "image" in m.modalities_in) else ""
        quantize = ([] if fmt_id in ("bf16", "fp16") else
                    [f"llama-quantize {local}-BF16.gguf {local}-{tag}.gguf {tag}"])
        return [Recipe(runtime="llama.cpp", commands=(
            *get,
            f"python llama.cpp/convert_hf_to_gguf.py {local} --outtype bf16 "
            f"--outfile {local}-BF16.gguf",
            *quantize,
            f"llama-server -m {local}-{'BF16' if not quantize else tag}.gguf --jinja "
            f"-c {context_tokens}"),
            note=SELF_MADE_NOTE.format(fmt=tag, tool="llama.cpp's tools, run from a llama.cpp "
                                       "checkout recent enough to support this architecture")
            + vision)]
    if fmt_id.startswith("mlx-"):
        bits = fmt_id.removeprefix("mlx-").removesuffix("bit")
        q_flags = f" -q --q-bits {bits}" if bits.isdigit() else ""
        return [Recipe(runtime="mlx", commands=(
            "pip install mlx-lm",
            f"mlx_lm.convert --hf-path {m.hf_repo}{q_flags} --mlx-path {local}-{fmt_id}",
            f"mlx_lm.generate --model {local}-{fmt_id} --max-tokens 256 --prompt \"Hello\""),
            note=SELF_MADE_NOTE.format(fmt=fmt_id, tool="mlx_lm.convert"))]
    if fmt_id == "fp8":
        tp = f" --tensor-parallel-size {gpus}" if gpus > 1 else ""
        return [Recipe(runtime="vllm", commands=(
            *downloads(m, m.hf_repo, modelscope_first),
            f"vllm serve {m.hf_repo} --quantization fp8 --max-model-len {context_tokens}{tp}"),
            note=SELF_MADE_NOTE.format(fmt="FP8", tool="vLLM, which quantizes on load"))]
    return []


def all_recipes(m: ModelEntry, context_tokens: int, gpus: int = 1,
                modelscope_first: bool = False) -> list[Recipe]:
    """Recipes for the 16-bit weights and every official quantized artifact of `m`."""
    formats = ["bf16"] + [q.format for q in m.quantized if q.format != "gguf"]
    formats += [q for c in m.quantized if c.format == "gguf" for q in (c.quants or ("q4_k_m",))]
    if m.ollama_tag:
        formats.append("q4_k_m")
    seen: dict[tuple[str, tuple[str, ...]], Recipe] = {}
    for fmt_id in dict.fromkeys(formats):
        for r in recipes(m, fmt_id, context_tokens, gpus, modelscope_first):
            seen.setdefault((r.runtime, r.commands), r)
    return list(seen.values())
