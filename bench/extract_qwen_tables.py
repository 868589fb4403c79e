"""Build tests/data/qwen3_speed.json from two published tables of Qwen3 models (run once; the
output is committed, the sources are not):

- QwenLM/Qwen3 docs/source/getting_started/speed_benchmark.md@c7f51a1a (Qwen3 speed benchmark,
  NVIDIA H20 96GB, SGLang 0.4.6.post1 and Transformers 4.51.3, batch 1, 2,048 generated tokens;
  speed = (prompt + generated tokens) / time; Transformers GPU memory in MB);
- ml-explore/mlx-lm mlx_lm/BENCHMARKS.md@d78bf58e (64GB M4 Max, mlx 0.29.2.dev, mlx-lm 0.28.2,
  `mlx_lm.benchmark -p 2048 -g 128`: prompt tok/s, generation tok/s, peak memory GB).

Run: python bench/extract_qwen_tables.py QWEN3_SPEED_BENCHMARK_MD MLX_LM_BENCHMARKS_MD
(e.g. from `git show` of the two repositories at those commits).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "qwen3_speed.json"
QWEN_SOURCE = ("QwenLM/Qwen3@c7f51a1a1ce3d4bb750bc545cd2673fff4c5a8f9:"
               "docs/source/getting_started/speed_benchmark.md")
MLX_SOURCE = "ml-explore/mlx-lm@d78bf58e:mlx_lm/BENCHMARKS.md"
QUANTS = {"BF16": "bf16", "FP8": "fp8", "GPTQ-Int8": "gptq-int8", "GPTQ-Int4": "gptq-int4",
          "AWQ": "awq", "AWQ-INT4": "awq", "GPTQ-INT4": "gptq-int4", "GPTQ-INT8": "gptq-int8",
          "q4": "mlx-4bit", "q8": "mlx-8bit", "bf16": "bf16"}
MLX_MODELS = {"Qwen/Qwen3-4B-Instruct-2507": "qwen3-4b-instruct-2507",
              "Qwen/Qwen3-30B-A3B-Instruct-2507": "qwen3-30b-a3b-instruct-2507"}


def cells(tr: str) -> list[tuple[str, int]]:
    """(text, rowspan) of each <td> in a table row."""
    return [(text.strip(), int(span or 1)) for span, text in
            re.findall(r'<td(?: rowspan="(\d+)")?>(.*?)</td>', tr, re.S)]


def qwen_rows(text: str) -> list[dict]:
    rows = []
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        head = re.match(r"(Qwen3-[\w.-]+)\s\((SGLang|Transformers)\)", section)
        if not head:
            continue
        framework = head.group(2)
        values: list[str] = [""] * 6
        spans = [0] * 6  # rows each column's last value still covers (HTML rowspan)
        for tr in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[-1], re.S):
            got = iter(cells(tr))
            for col in range(6):
                if spans[col] > 0:
                    spans[col] -= 1
                    continue
                values[col], span = next(got, ("", 1))
                spans[col] = span - 1
            row = values
            model, length, quant, gpus, speed, last = row[:6]
            if quant not in QUANTS or not re.fullmatch(r"[\d.]+", speed):
                continue
            out = {
                "model": model.lower(), "framework": framework, "quant": QUANTS[quant],
                "device_id": "h20", "gpus": int(gpus), "input_length": int(length),
                "output_length": 2048, "tokens_per_s": float(speed),
                "metric": "(prompt + generated) / time",
                "source": QWEN_SOURCE, "source_group": f"Qwen3 speed benchmark, H20, {framework}",
            }
            if framework == "Transformers" and re.fullmatch(r"\d+", last):
                out["memory_mb"] = int(last)
            elif last:
                out["note"] = last
            rows.append(out)
    return rows


def mlx_rows(text: str) -> list[dict]:
    rows = []
    for block in text.split("<summary>")[1:]:
        repo = block.split("</summary>", 1)[0].strip()
        if repo not in MLX_MODELS:
            continue
        for line in block.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) < 5 or parts[0] not in QUANTS:
                continue
            try:
                prompt, gen, memory = float(parts[2]), float(parts[3]), float(parts[4])
            except ValueError:
                continue
            rows.append({
                "model": MLX_MODELS[repo], "framework": "MLX", "quant": QUANTS[parts[0]],
                "device_id": "m4-max", "memory_gib": 64, "gpus": 1, "input_length": 2048,
                "output_length": 128, "tokens_per_s": gen, "prompt_tokens_per_s": prompt,
                "peak_memory_gb": memory, "metric": "generated / decode time (tg128 at 2,048)",
                "source": MLX_SOURCE, "source_group": "mlx-lm BENCHMARKS.md, M4 Max",
            })
    return rows


def main() -> None:
    qwen, mlx = (Path(p).read_text() for p in sys.argv[1:3])
    rows = qwen_rows(qwen) + mlx_rows(mlx)
    doc = {"description": "Published speed (and memory) of Qwen3 models: Qwen's H20 table "
                          "(SGLang 0.4.6.post1, Transformers 4.51.3; speed counts prompt + "
                          "generated tokens over the whole time; memory in MB, Transformers only) "
                          "and mlx-lm's M4 Max table (decode tok/s of 128 tokens after a "
                          "2,048-token prompt; peak memory GB). Each row names its source.",
           "rows": rows}
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(OUT)
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
