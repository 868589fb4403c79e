"""Error lines cannot be forged or split by what a catalog file holds."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.cli import app
from advisor.errors import error_lines, printable, strip_controls

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


REFERENCE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029"
                               "\u202a-\u202e\u2066-\u2069\ufeff]")
REFERENCE_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)"
                              r"|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x1b\x9c]*[\x07\x9c]?",
                              re.DOTALL)
# each end of each range of the class, and the characters just outside it
EDGES = "\x00\x08\x09\x0a\x0b\x1f\x20\x7e\x7f\x9f\xa0\u200a\u200b\u200f\u2010\u2027\u2028\u2029" \
    "\u202a\u202e\u202f\u2065\u2066\u2069\u206a\ufefe\ufeff\uff00"
NASTY = st.text(alphabet=st.sampled_from([*"ab [];0?m\x1b\x9b\x9d\x07\x9c\x85", *EDGES, "中",
                                          "é"]), max_size=40)


@given(text=NASTY)
def test_stripping_and_escaping_match_the_regular_expressions(text: str) -> None:
    """strip_controls and printable skip the regular expressions where they cannot match
    (and strip with a translation table); what they return is the expressions' result."""
    assert strip_controls(text) == REFERENCE_CONTROL.sub(
        "", REFERENCE_ESCAPE.sub("", text.replace("\t", " ")))
    assert printable(text) == REFERENCE_CONTROL.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
