"""Bad input never gives a traceback: one clear line, exit 1 for bad data, 2 for bad usage."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
DATA = Path(__file__).parent / "data"
EST = ["estimate", "qwen3-8b", "--device", "rtx-4090"]
REC = ["recommend", "--device", "phone"]

BAD_INPUTS = [
    (["show", "qwen3-9b"], 2, "did you mean 'qwen3.5-9b'"),
    (["estimate", "qwen3-8b", "--device", "rtx-4900"], 2, "did you mean 'rtx-4090'"),
    ([*EST, "--quant", "q9"], 2, "unknown quantization 'q9'"),
    ([*EST, "--runtime", "tensorflow"], 2, "unknown runtime 'tensorflow'"),
    ([*EST, "--kv-dtype", "fp4"], 2, "unknown KV cache dtype 'fp4'"),
    ([*EST, "--context", "0"], 2, "--context: 0 is out of range"),
    ([*EST, "--context", "-5"], 2, "--context: -5 is out of range"),
    ([*EST, "--context", "abc"], 2, "Invalid value for '--context'"),
    ([*EST, "--batch", "0"], 2, "--batch: 0 is out of range"),
    ([*EST, "--memory-gb", "-4"], 2, "--memory-gb: cannot read '-4'"),
    ([*EST, "--memory-gb", "nan"], 2, "--memory-gb"),
    ([*EST, "--memory-gb", "inf"], 2, "--memory-gb"),
    ([*EST, "--memory-gb", "16parsecs"], 2, "--memory-gb: cannot read '16parsecs'"),
    ([*EST, "--memory-gb", "1e999"], 2, "--memory-gb"),
    ([*EST, "--memory-gb", "0"], 2, "--memory-gb: 0"),
    ([*EST, "--bandwidth-gb-s", "0"], 2, "--bandwidth-gb-s: 0"),
    ([*EST, "--bandwidth-gb-s", "nan"], 2, "--bandwidth-gb-s: nan"),
    ([*EST, "--tflops", "-1"], 2, "--tflops: -1"),
    ([*EST, "--gpus", "0"], 2, "--gpus: 0 is out of range"),
    ([*EST, "--gpus", "100"], 2, "--gpus: 100 is out of range"),
    (["estimate", "qwen3-8b", "--device", "laptop", "--gpus", "2"], 2, "is not a GPU"),
    ([*EST, "--ram-gb", "0"], 2, "--ram-gb: 0"),
    (["recommend"], 2, "recommend needs hardware"),
    ([*REC, "--task", "cooking"], 2, "unknown task 'cooking'"),
    ([*REC, "--task", "cod"], 2, "did you mean 'code'"),
    ([*REC, "--top", "0"], 2, "--top: 0 is out of range"),
    ([*REC, "--min-speed", "-1"], 2, "--min-speed: -1"),
    ([*REC, "--min-speed", "nan"], 2, "--min-speed: nan"),
    ([*REC, "--why-not", "qwen9"], 2, "unknown model 'qwen9'"),
    ([*REC, "--quant", "awq", "--runtime", "llama.cpp"], 2, "--quant awq conflicts with"),
    ([*REC, "--context", "0"], 2, "--context: 0 is out of range"),
    (["estimate", "qwen3-max", "--device", "rtx-4090"], 2, "API-only"),
    (["estimate", "qwen3-8b", "--device", "phone", "--runtime", "vllm"], 2,
     "vllm does not run on phone devices"),
    (["estimate", "qwen3-8b", "--device", "rx-7900-xtx", "--quant", "fp8", "--runtime", "vllm"], 2,
     "no fast FP8 kernels"),
    (["models", "--family", "qwen9"], 2, "unknown family 'qwen9'"),
    (["models", "--task", "cooking"], 2, "unknown task 'cooking'"),
    (["devices", "--class", "spaceship"], 2, "unknown device class 'spaceship'"),
    (["schema", "nonsense"], 2, "unknown document 'nonsense'"),
    (["compare", "qwen3-8b"], 2, "compare needs at least two models"),
    (["compare", "qwen3-8b", "qwen3-99b"], 2, "unknown model 'qwen3-99b'"),
    (["run", "qwen3-max"], 2, "API-only"),
    (["run", "qwen3-8b", "--source", "github"], 2, "unknown source 'github'"),
    (["models", "--format", "yaml"], 2, "Invalid value for '--format'"),
    (["--catalog", "missing.toml", "models"], 1, "missing.toml: no such file"),
    (["--catalog", str(DATA / "duplicate_id.toml"), "models"], 1, "duplicate id"),
    (["catalog", "check", str(DATA / "binary.toml")], 1, "not UTF-8 text"),
    (["models", "-o", "/nonexistent-dir/x.json"], 1, "cannot write /nonexistent-dir/x.json"),
    # issue 17 (D1, C7, K2): -o writes regular files only; long names are one clean line
    (["models", "-o", "/"], 1, "cannot write /: it is a directory"),
    (["devices", "--json", "-o", "x" * 300], 1, "File name too long"),
    (["--catalog", "y" * 300 + ".toml", "models"], 1, "too long"),
]


@pytest.mark.parametrize(("args", "code", "fragment"), BAD_INPUTS,
                         ids=[" ".join(a) for a, _, _ in BAD_INPUTS])
def test_bad_input(args: list[str], code: int, fragment: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert fragment in result.stderr
    if result.stderr.startswith("error: "):
        assert len(result.stderr.strip().splitlines()) == 1 or code == 1


def test_at_least_40_bad_inputs() -> None:
    assert len(BAD_INPUTS) >= 40


words = st.sampled_from([
    "models", "show", "estimate", "recommend", "compare", "devices", "run", "schema", "catalog",
    "check", "qwen3-8b", "qwen3-4b", "Qwen/Qwen3-8B", "--device", "phone", "rtx-4090", "h100",
    "auto", "--memory-gb", "--bandwidth-gb-s", "--gpus", "--quant", "q4_k_m", "awq", "--runtime",
    "vllm", "llama.cpp", "--context", "--task", "code", "--json", "--format", "csv", "--top",
    "--private", "--chinese", "--min-speed", "-1", "0", "7", "1e9", "nan", "16GB", "x", "",
])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=1, max_size=7))
def test_fuzzed_command_lines_end_0_1_or_2_without_traceback(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code in (0, 1, 2), (argv, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv, repr(result.exception))
    assert "Traceback" not in result.stderr


VALID = (DATA / "small_catalog.toml").read_text()


@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, len(VALID) - 1), junk=st.text(max_size=12))
def test_fuzzed_catalogs_give_located_errors_not_tracebacks(position: int, junk: str,
                                                            tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("cat") / "fuzzed.toml"
    path.write_text(VALID[:position] + junk + VALID[position + len(junk):], encoding="utf-8")
    result = runner.invoke(app, ["catalog", "check", str(path)])
    assert result.exit_code in (0, 1)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for line in result.stderr.splitlines():
        assert line.startswith(f"error: {path}")
