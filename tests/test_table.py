"""advisor.output.table draws what Rich draws: every table the commands print, in English and
Chinese, at widths from 40 to 200 columns, and random tables (CJK, long words, newlines, each column
option) at random widths, compared line for line with Rich 15's drawing of the same table.
Then the terminal's part: width, styles, encodings."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich import box as rich_box
from rich.console import Console as RichConsole
from rich.table import Table as RichTable
from rich.text import Text as RichText
from test_render import CASES, render_case

from advisor.i18n import set_language
from advisor.output import table as T

RICH_BOXES = {id(T.HEAVY_HEAD): rich_box.HEAVY_HEAD, id(T.SIMPLE_HEAD): rich_box.SIMPLE_HEAD,
              id(T.SQUARE): rich_box.SQUARE, id(T.ASCII): rich_box.ASCII}


def rich_text(text: object) -> RichText:
    text = T._as_text(text)
    drawn = RichText(text.plain, style=text.style or "")
    for start, end, style in text.spans:
        drawn.stylize(style, start, end)
    return drawn


def as_rich(table: T.Table) -> RichTable:
    """The same table built with Rich (every string a Text, so nothing is read as markup)."""
    drawn = RichTable(title=rich_text(table.title) if table.title else None,
                      caption=rich_text(table.caption) if table.caption else None,
                      box=RICH_BOXES[id(table.box)] if table.box else None,
                      pad_edge=table.pad_edge, collapse_padding=table.collapse_padding,
                      show_header=table.show_header)
    for c in table.columns:
        drawn.add_column(rich_text(c.header), style=c.style or None, justify=c.justify,  # type: ignore[arg-type]
                         no_wrap=c.no_wrap, overflow=c.overflow, min_width=c.min_width,  # type: ignore[arg-type]
                         max_width=c.max_width, ratio=c.ratio)
    for n in range(table.row_count):
        drawn.add_row(*(rich_text(c.cells[n]) for c in table.columns))
    return drawn


def by_rich(table: T.Table, width: int, encoding: str = "utf-8") -> str:
    buffer = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace")
    RichConsole(file=buffer, width=width, color_system=None, highlight=False,
                emoji=False).print(as_rich(table))
    buffer.seek(0)
    return buffer.read()


def by_us(table: T.Table, width: int, encoding: str = "utf-8") -> str:
    buffer = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict")
    T.Console(file=buffer, width=width, styled=False).print(table)
    buffer.seek(0)
    return buffer.read()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("case", CASES)
def test_every_table_is_drawn_as_rich_draws_it(case: str, lang: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    set_language(lang)
    try:
        for width in (40, 60, 79, 80, 99, 100, 120, 200):
            monkeypatch.setenv("COLUMNS", str(width))
            for table in render_case(case):
                assert by_us(table, width) == by_rich(table, width), f"{case} at {width}"
    finally:
        set_language("en")


WORDS = st.text(alphabet=st.sampled_from([*"abcxyz019-_./:", "中", "文", "模", "→", "…", "é", "ü",
                                         "\u00d7", "·"]), min_size=0, max_size=30)
CELLS = st.lists(WORDS, max_size=6).map(" ".join) | st.lists(WORDS, max_size=3).map("\n".join)


@st.composite
def tables(draw: st.DrawFn) -> T.Table:
    table = T.Table(title=draw(st.none() | CELLS), caption=draw(st.none() | CELLS),
                    box=draw(st.sampled_from([T.HEAVY_HEAD, T.SIMPLE_HEAD, T.SQUARE, T.ASCII])),
                    pad_edge=draw(st.booleans()), collapse_padding=draw(st.booleans()),
                    show_header=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 5))):
        table.add_column(draw(CELLS), style=draw(st.sampled_from(["", "bold"])),
                         justify=draw(st.sampled_from(["left", "right", "center", "default"])),
                         no_wrap=draw(st.booleans()),
                         overflow=draw(st.sampled_from(["fold", "crop", "ellipsis"])),
                         min_width=draw(st.none() | st.integers(0, 30)),
                         max_width=draw(st.none() | st.integers(1, 40)),
                         ratio=draw(st.none() | st.integers(1, 3)))
    for _ in range(draw(st.integers(0, 4))):
        cells = draw(st.lists(CELLS | CELLS.map(lambda s: T.Text.assemble(s, ("\n" + s, "dim"))),
                              max_size=len(table.columns)))
        table.add_row(*cells)
    return table


@settings(max_examples=300, deadline=None)
@given(table=tables(), width=st.integers(1, 130))
def test_random_tables_are_drawn_as_rich_draws_them(table: T.Table, width: int) -> None:
    assert by_us(table, width) == by_rich(table, width)


def sample() -> T.Table:
    table = T.Table(title="picks", caption="GB: memory")
    table.add_column("model", style="bold")
    table.add_column("GB", justify="right")
    table.add_row(T.Text.assemble("qwen3-8b\n", ("Apache → 中文", "dim")), "5.1")
    return table


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "gbk"])
def test_an_output_that_is_not_utf8_gets_ascii_borders_as_with_rich(encoding: str) -> None:
    ours, theirs = by_us(sample(), 40, encoding), by_rich(sample(), 40, encoding)
    assert ours == theirs and "+" in ours and "┃" not in ours


def test_console_width_follows_columns_then_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "57")
    assert T.Console(file=io.StringIO()).width == 57
    for unusable in ("0", "wide", ""):  # Rich would print nothing at COLUMNS=0
        monkeypatch.setenv("COLUMNS", unusable)
        assert T.Console(file=io.StringIO()).width >= 1
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(T.os, "get_terminal_size", lambda fd: (_ for _ in ()).throw(OSError()))
    assert T.Console(file=io.StringIO()).width == 80


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "tty", "styled"), [
    ({}, False, False), ({}, True, True), ({"TERM": "dumb"}, True, False),
    ({"FORCE_COLOR": "1"}, False, True), ({"FORCE_COLOR": ""}, True, False),
    ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, True, False),
    ({"TTY_COMPATIBLE": "1"}, False, True)])
def test_styles_only_on_a_terminal(env: dict[str, str], tty: bool, styled: bool,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("TERM", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    file = Tty() if tty else io.StringIO()
    console = T.Console(file=file, width=40)
    console.print(sample())
    shown = file.getvalue()
    assert ("\x1b[" in shown) == styled
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert plain == T.Console(file=io.StringIO(), width=40, styled=False).render(sample())
    if styled:  # the title italic, the header bold, the second line dim
        assert "\x1b[3m" in shown and "\x1b[1mmodel" in shown and "\x1b[1;2mApache" in shown


def test_no_color_keeps_bold_and_dim_but_drops_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    table = T.Table()
    table.add_column("x")
    table.add_row(T.Text.assemble(("best", "bold green")))
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[1;32mbest" in T.Console(file=io.StringIO(), width=20).render(table)
    monkeypatch.setenv("NO_COLOR", "1")
    shown = T.Console(file=io.StringIO(), width=20).render(table)
    assert "\x1b[1mbest" in shown and "32" not in shown


def test_cell_widths() -> None:
    assert T.cell_len("qwen3-8b") == 8
    assert T.cell_len("中文") == 4 and T.cell_len("e\u0301") == 1
    assert T.chop_cells("中文模型", 3) == ["中", "文", "模", "型"]
    assert T.divide_line("aaa bbb ccc", 7) == [8]
