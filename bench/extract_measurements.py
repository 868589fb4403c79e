"""Build tests/data measurement tables from ../shared/data (run once; the output is committed).

Keeps each row's source. Rows whose runtime or weight format the advisor does not model
(NPU runtimes, ExecuTorch, MLC's q4f16, Q5_0) are left out and counted in the output.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "tests" / "data"

QUANTS = {"F16": "fp16", "FP16": "fp16", "BF16": "bf16", "Q4_0": "q4_0", "Q8_0": "q8_0",
          "Q4_K_M": "q4_k_m", "MLX 4-bit": "mlx-4bit"}
# shared/device_specs ids -> catalog/devices.toml ids
DEVICES = {
    "apple-m1": "m1", "apple-m1-max": "m1-max", "apple-m1-ultra": "m1-ultra",
    "apple-m2-max": "m2-max", "apple-m2-ultra": "m2-ultra", "apple-m3": "m3",
    "apple-m3-max": "m3-max", "apple-m3-ultra": "m3-ultra", "apple-m4": "m4",
    "apple-m4-pro": "m4-pro", "apple-m4-max": "m4-max", "apple-m5": "m5", "apple-m5-max": "m5-max",
    "rtx-3060-12gb": "rtx-3060", "rtx-3070-8gb": "rtx-3070", "rtx-3080-10gb": "rtx-3080",
    "h100-sxm": "h100", "dgx-spark-gb10": "dgx-spark", "strix-halo-395": "ryzen-ai-max-395",
    "jetson-orin-nano-8gb": "jetson-orin-nano", "jetson-agx-orin-64gb": "jetson-agx-orin",
    "budget-phone-6-8gb": "budget-phone", "cpu-ddr5-5600-2ch": "desktop",
}


def runtime_of(name: str) -> str | None:
    if name.startswith("llama.cpp/Ollama"):
        return "ollama"
    if name.startswith(("llama.cpp", "LM Studio (llama.cpp")):
        return None if "mainline CPU" in name else "llama.cpp"
    if name == "LM Studio (MLX)":
        return "mlx"
    return None


def main() -> None:
    measurements = json.loads((SHARED / "published_inference_measurements.json").read_text())
    rows, skipped = [], []
    for m in measurements["measurements"]:
        runtime, quant = runtime_of(m["runtime"]), QUANTS.get(m["quant"] or "")
        if m["runtime"].startswith(("vLLM", "HF Transformers")):
            continue  # the same rows as the official Qwen tables, tested from there
        if runtime is None or quant is None or not m["gen_tok_s"]:
            skipped.append(f"{m['device_id']} {m['model']} {m['quant']} {m['runtime']}")
            continue
        rows.append({
            "device_id": DEVICES.get(m["device_id"], m["device_id"]), "model": m["model"],
            "params_b": m["active_params_b"] or m["params_b"], "quant": quant, "runtime": runtime,
            "decode_tokens_per_s": m["gen_tok_s"], "gen_test": m["gen_test"],
            "prompt_tokens_per_s": m["prompt_tok_s"], "prompt_test": m["prompt_test"],
            "source": m["source"], "notes": m.get("notes", ""),
        })
    doc = {"description": "Batch-1 decode speeds published for llama.cpp, Ollama and MLX, from "
           "shared/data/published_inference_measurements.json (sources per row).",
           "left_out": skipped, "rows": rows}
    (OUT / "published_decode.json").write_text(json.dumps(doc, indent=1) + "\n")

    official = json.loads((SHARED / "qwen_official_speed_benchmark_qwen2_qwen2.5.json").read_text())
    keep = [{k: r[k] for k in ("model", "quant", "framework", "gpu", "gpu_count", "input_length",
                                 "output_length", "tokens_per_s", "memory_gb", "source")}
            for r in official["rows"] if r["series"] == "Qwen2.5"]
    doc = {"description": "Qwen2.5 official speed benchmark (Qwen docs), NVIDIA A100 80GB, "
           "batch 1, 2048 generated tokens; memory_gb is peak GPU memory in GiB (Transformers "
           "rows). Speed counts generated tokens over prefill + decode time.",
           "environments": official["sources"]["Qwen2.5"]["environments"], "rows": keep}
    (OUT / "qwen25_speed_benchmark.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(rows)} published rows kept, {len(skipped)} left out; {len(keep)} official rows")


if __name__ == "__main__":
    main()
