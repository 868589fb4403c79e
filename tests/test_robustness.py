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
    # issue 17 (W8): an empty value is an error, not the option left out
    ([*REC, "--memory-gb", ""], 2, "--memory-gb: empty value"),
    ([*REC, "--ram-gb", " "], 2, "--ram-gb: empty value"),
    ([*REC, "--quant", ""], 2, "--quant: empty value"),
    ([*REC, "--runtime", ""], 2, "--runtime: empty value"),
    ([*REC, "--why-not", ""], 2, "--why-not: empty value"),
    ([*EST, "--quant", ""], 2, "--quant: empty value"),
    ([*EST, "--runtime", ""], 2, "--runtime: empty value"),
    (["compare", "qwen3-8b", "qwen3-4b", "--quant", ""], 2, "--quant: empty value"),
    (["run", "qwen3-8b", "--runtime", ""], 2, "--runtime: empty value"),
    (["run", "qwen3-8b", "--quant", ""], 2, "--quant: empty value"),
    (["models", "--family", ""], 2, "--family: empty value"),
    (["models", "--task", ""], 2, "--task: empty value"),
    (["devices", "--class", ""], 2, "--class: empty value"),
    (["recommend", "--device", ""], 2, "--device: empty value"),
    (["serve", "qwen3-8b", "--device", ""], 2, "--device: empty value"),
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


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory) -> Path:
    """One cache directory for this module's subprocess runs: only the first validates."""
    return tmp_path_factory.mktemp("cache")


# C2: an ASCII-only stdout crashed the tables, and JSON with non-ASCII data
def advisor_with(env: dict[str, str], *args: str, tmp: Path):
    import os
    import subprocess
    import sys

    full = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp), "COLUMNS": "130", **env}
    return subprocess.run([sys.executable, "-m", "advisor", *args], capture_output=True,
                          env=full, timeout=60)


@pytest.mark.parametrize("args", [["models"], ["show", "qwen3-8b"], ["devices"],
                                  ["compare", "qwen3-8b", "qwen3-4b"],
                                  ["recommend", "--device", "phone"]], ids=lambda a: a[0])
def test_tables_render_on_an_ascii_only_stdout(args: list[str], warm_cache: Path) -> None:
    out = advisor_with({"PYTHONIOENCODING": "ascii"}, *args, tmp=warm_cache)
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode("ascii")  # nothing else was written
    assert "+---" in text or "|--" in text  # Rich's ASCII box
    if args[0] in ("models", "show"):
        assert "->" in text  # the arrow of `text -> text`, in ASCII


def test_json_and_tables_with_non_ascii_data_on_an_ascii_stdout(tmp_path: Path) -> None:
    import json

    cjk = tmp_path / "cjk.toml"
    cjk.write_text((DATA / "user_extends.toml").read_text().replace(
        'name = "ACME Qwen3-8B fine-tune"', 'name = "通义千问 fine-tune…"'), encoding="utf-8")
    env = {"PYTHONIOENCODING": "ascii"}
    out = advisor_with(env, "--catalog", str(cjk), "models", "--json", tmp=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    names = {m["id"]: m["name"] for m in json.loads(out.stdout.decode("ascii"))["models"]}
    assert names["acme-qwen3-8b-ft"] == "通义千问 fine-tune…"
    shown = advisor_with(env, "--catalog", str(cjk), "show", "acme-qwen3-8b-ft", tmp=tmp_path)
    assert shown.returncode == 0, shown.stderr.decode()
    assert "???? fine-tune..." in shown.stdout.decode("ascii")


# W7, C5, C6: a closed or full stdout exited 0 having written nothing, or "internal error"
OUTPUTS = [["models"], ["models", "--json"], ["schema", "recommend"], ["run", "qwen3-8b"],
           ["recommend", "--device", "phone", "--private"]]


@pytest.mark.parametrize("args", OUTPUTS, ids=" ".join)
@pytest.mark.parametrize("where", ["closed", "full"])
def test_a_closed_or_full_stdout_is_exit_1_and_one_line(args: list[str], where: str,
                                                        warm_cache: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ADVISOR_CACHE_DIR": str(warm_cache)}
    if where == "closed":
        cmd = ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "advisor", *args]
        out = subprocess.run(cmd, stderr=subprocess.PIPE, env=env, timeout=60)
    else:
        with open("/dev/full", "w") as full:
            out = subprocess.run([sys.executable, "-m", "advisor", *args], stdout=full,
                                 stderr=subprocess.PIPE, env=env, timeout=60)
    errors = [line for line in out.stderr.decode().splitlines() if not line.startswith("note:")]
    assert out.returncode == 1, errors
    assert errors == [f"error: cannot write to stdout: "
                      f"{'stdout is closed' if where == 'closed' else 'No space left on device'}"]


def test_a_pipe_closed_early_is_quiet(warm_cache: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "ADVISOR_CACHE_DIR": str(warm_cache), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "advisor", "recommend", "--device", "h100",
                             "--explain"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # `| head -c 10`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "error" not in err


# C8: a damaged /proc/meminfo crashed `detect`, or its `MemTotal: 0 kB` was taken as 16 GiB
@pytest.mark.parametrize("text", ["MemTotal: abc kB\n", "MemTotal:       0 kB\n",
                                  "MemTotal: 16 \xff\xfe kB\n", "MemTotal 1\n", "",
                                  "MemTotal: 99999999999999999999999 kB\n", "MemTotal: -5 kB\n"])
def test_a_damaged_meminfo_means_ram_unknown(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import io

    from advisor.data import detect
    from advisor.data.hardware import load_devices

    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if str(path) == "/proc/meminfo":
            raw = io.BytesIO(text.encode("latin-1"))
            return raw if "b" in (args[0] if args else kwargs.get("mode", "")) else \
                io.TextIOWrapper(raw, encoding=kwargs.get("encoding") or "ascii")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setitem(__import__("sys").modules, "psutil", None)  # read the file itself
    result = detect.map_probe(detect.probe(), load_devices())
    if detect.platform.system() == "Linux":
        assert result.probe.ram_total_bytes is None
        assert any("total RAM unknown" in str(n) for n in result.notes)


def test_parse_meminfo_reads_the_two_counts() -> None:
    from advisor.data.detect import parse_meminfo

    assert parse_meminfo("MemTotal:  16 kB\nMemFree: 1 kB\nMemAvailable:   8 kB\n") == (
        16 * 1024, 8 * 1024)
    assert parse_meminfo("MemTotal: 0 kB\nMemAvailable: x kB") == (None, None)


# W4: `--why-not X --json` printed text, and with -o wrote nothing (exit 0)
def test_why_not_with_json_prints_the_document_and_o_writes_it(tmp_path: Path) -> None:
    import json

    args = [*REC, "--private", "--why-not", "qwen3-max"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    reasons = [r["rule"] for e in document["excluded"] if e["model_id"] == "qwen3-max"
               for r in e["reasons"]]
    assert "privacy-local" in reasons
    assert "qwen3-max: privacy-local:" in result.stderr  # the answer, beside the document
    target = tmp_path / "whynot.json"
    result = runner.invoke(app, [*args, "-o", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["excluded"]
    plain = runner.invoke(app, args)  # without a document: the lines on stdout, as before
    assert plain.stdout.startswith("qwen3-max: privacy-local:")


# W1: a Mac pick of 16-bit weights on MLX got a `vllm serve` "how to run #1" box
@pytest.mark.parametrize(("device", "task"), [("m3-ultra", "code"), ("m4-max", "chat"),
                                              ("m1", "chat"), ("m4-max", "embedding"),
                                              ("m3-ultra", "rerank")])
def test_mac_picks_on_mlx_never_get_server_commands(device: str, task: str) -> None:
    import json

    args = ["recommend", "--device", device, "--private", "--task", task]
    picks = json.loads(runner.invoke(app, [*args, "--json", "--top", "20"]).stdout)
    from advisor.data.loader import load_catalog

    models = load_catalog().by_id()
    for p in picks["recommendations"]:
        text_only = models[p["model_id"]].modalities_in == ("text",)
        if p["runtime"] == "mlx" and p["quant"] in ("bf16", "fp16") and task in ("chat", "code") \
                and text_only:
            assert p["recipes"][0]["runtime"] == "mlx", p["model_id"]
            assert "mlx_lm.generate --model " + p["hf_repo"] in p["recipes"][0]["commands"][1]
    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert table.exit_code == 0
    top = picks["recommendations"][0]
    if top["runtime"] == "mlx":
        assert "vllm serve" not in table.stdout and "sglang" not in table.stdout


# K1: SIGTERM in the middle of `-o` left `.out.json.*.tmp` beside the target
def test_sigterm_while_writing_o_leaves_no_temp_file(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script = f"""
import os, signal, sys
sys.argv = ["advisor", "devices", "--json", "-o", {str(out_dir / "devices.json")!r}]
real = os.fsync
def fsync(fd):  # the signal comes while the temp file is being written
    os.kill(os.getpid(), signal.SIGTERM)
    real(fd)
os.fsync = fsync
from advisor.__main__ import main
main()
"""
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 143, out.stderr
    assert "Traceback" not in out.stderr
    assert os.listdir(out_dir) == []


def test_an_unreadable_catalog_is_exit_1_naming_the_file(tmp_path: Path) -> None:
    """K2: Click's readability check gave exit 2 and named the environment variable."""
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = tmp_path / "secret.toml"
    path.write_text("x = 1\n")
    path.chmod(0)
    result = runner.invoke(app, ["--catalog", str(path), "models"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: cannot be read")
