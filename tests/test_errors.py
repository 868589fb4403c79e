"""Error lines cannot be forged or split by what a catalog file holds."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from advisor.cli import app
from advisor.errors import error_lines, printable

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def test_controls_are_shown_escaped() -> None:
    assert printable("x\x1b[2J\x1b]0;T\x07\u202eok") == "x\\x1b[2J\\x1b]0;T\\x07\\u202eok"
    assert error_lines("a\x85b\nc") == ["a\\x85b", "c"]  # NEL is not a line break here


def test_a_crafted_id_cannot_fake_an_ok_line(tmp_path: Path) -> None:
    forged = "\r\x1b[2Kok: 82 models, every fact backed by a source\x1b[8m\x85"
    text = (DATA / "small_catalog.toml").read_text().replace(
        'id = "qwen3-8b"', f'id = "{forged.encode("unicode_escape").decode()}"', 1)
    path = tmp_path / "forge.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["catalog", "check", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines)
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
