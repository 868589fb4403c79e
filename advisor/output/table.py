"""Text tables drawn as Rich 15 draws them, without importing Rich (which costs a table command
about a third of its start-up): title, header, box, cells wrapped and folded to the width,
caption, and bold/dim/italic on a terminal.

A port of the parts of rich.table, rich.text, rich.cells, rich.padding and rich.console that
the advisor's tables use (Rich is MIT-licensed, copyright Will McGugan), kept close to Rich's
own steps so that the layouts match; tests/test_table.py draws the same tables with Rich and
compares. Not ported: markup (a str is always plain text), expand, fixed column widths,
footers, row styles, grapheme clusters joined by U+200D/U+FE0F (each character is measured on
its own: East Asian wide and full-width characters are 2 cells, combining marks 0)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import IO, Any

# --- cells -------------------------------------------------------------------------------------

_WIDTHS: dict[str, int] = {}


def char_width(ch: str) -> int:
    """Terminal cells of one character: 0 for controls and combining or format characters, 2 for
    East Asian wide and full-width ones, else 1."""
    width = _WIDTHS.get(ch)
    if width is None:
        import unicodedata

        code = ord(ch)
        if code < 32 or 0x7F <= code < 0xA0 or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            width = 0
        else:
            width = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        _WIDTHS[ch] = width
    return width


def cell_len(text: str) -> int:
    """Terminal cells `text` takes (it holds no newline)."""
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(char_width(ch) for ch in text)


def _graphemes(text: str) -> list[tuple[int, int, int]]:
    """(start, end, cells) of each character, a zero-width one joined to the one before."""
    spans: list[tuple[int, int, int]] = []
    for index, ch in enumerate(text):
        width = char_width(ch)
        if width or not spans:
            spans.append((index, index + 1, width))
        else:
            start, _end, cells = spans[-1]
            spans[-1] = (start, index + 1, cells)
    return spans


def chop_cells(text: str, width: int) -> list[str]:
    """`text` in pieces of at most `width` cells."""
    if text.isascii() and text.isprintable():
        return [text[i:i + width] for i in range(0, len(text), width)]
    lines: list[str] = []
    offset = size = 0
    for start, _end, cells in _graphemes(text):
        if size + cells > width:
            lines.append(text[offset:start])
            offset, size = start, 0
        size += cells
    if size:
        lines.append(text[offset:])
    return lines


_WORD = re.compile(r"\s*\S+\s*")


def divide_line(text: str, width: int, fold: bool = True) -> list[int]:
    """Offsets to break `text` at so each piece fits `width` cells: at spaces, and inside a word
    longer than the width when `fold` (rich._wrap.divide_line)."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = cell_len(word.rstrip())
        if width - offset >= length:
            offset += cell_len(word)
        elif length > width:
            if fold:
                pieces = chop_cells(word, width)
                for n, piece in enumerate(pieces):
                    if start:
                        breaks.append(start)
                    if n == len(pieces) - 1:
                        offset = cell_len(piece)
                    else:
                        start += len(piece)
            else:
                if start:
                    breaks.append(start)
                offset = cell_len(word)
        elif offset and start:
            breaks.append(start)
            offset = cell_len(word)
    return breaks


# --- styled text ---------------------------------------------------------------------------------

class Text:
    """A string with styles over parts of it (`spans`: start, end, style) and one over all."""

    __slots__ = ("plain", "spans", "style")

    def __init__(self, plain: str = "", style: str = "",
                 spans: list[tuple[int, int, str]] | None = None) -> None:
        self.plain = plain
        self.style = style
        self.spans = spans or []

    @classmethod
    def assemble(cls, *parts: str | tuple[str, str]) -> Text:
        """Parts joined: a str unstyled, a (str, style) with its style."""
        text = cls()
        for part in parts:
            plain, style = (part, "") if isinstance(part, str) else part
            if style and plain:
                text.spans.append((len(text.plain), len(text.plain) + len(plain), style))
            text.plain += plain
        return text

    def __str__(self) -> str:
        return self.plain

    def __len__(self) -> int:
        return len(self.plain)

    def __repr__(self) -> str:
        return f"Text({self.plain!r}, {self.style!r}, {self.spans!r})"

    def styles(self, base: str = "") -> list[str]:
        """Each character's style: `base`, then the text's, then its spans'."""
        outer = " ".join(s for s in (base, self.style) if s)
        styles = [outer] * len(self.plain)
        for start, end, style in self.spans:
            for i in range(start, min(end, len(styles))):
                styles[i] = f"{styles[i]} {style}" if styles[i] else style
        return styles


Line = tuple[str, list[str]]
"""A line as drawn: its characters and each one's style."""


def _pad(line: Line, left: int = 0, right: int = 0) -> Line:
    text, styles = line
    return " " * left + text + " " * right, [""] * left + styles + [""] * right


def _crop(line: Line, width: int) -> Line:
    """`line` cut to `width` cells (a wide character cut in half becomes a space)."""
    text, styles = line
    if width <= 0:
        return "", []
    if text.isascii() and text.isprintable():
        return text[:width], styles[:width]
    used = 0
    for start, _end, cells in _graphemes(text):
        if used + cells > width:
            if used < width:
                return text[:start] + " ", [*styles[:start], ""]
            return text[:start], styles[:start]
        used += cells
    return line


def _fit(line: Line, width: int) -> Line:
    """`line` padded or cropped to exactly `width` cells."""
    size = cell_len(line[0])
    if size < width:
        return _pad(line, right=width - size)
    return _crop(line, width) if size > width else line


def _truncate(line: Line, width: int, overflow: str, pad: bool = False) -> Line:
    size = cell_len(line[0])
    if size > width:
        if overflow == "ellipsis":
            text, styles = _crop(line, width - 1)
            line = text + "…", [*styles, styles[-1] if styles else ""]
        else:
            line = _crop(line, width)
    if pad and size < width:
        line = _pad(line, right=width - size)
    return line


_TRAILING_SPACE = re.compile(r"\s+$")


def wrap(text: Text, width: int, justify: str = "default", overflow: str = "fold",
         no_wrap: bool = False, base_style: str = "") -> list[Line]:
    """`text` as lines of at most `width` cells (rich.text.Text.wrap); none where there is no
    room (Rich renders nothing below one cell)."""
    if width < 1:
        return []
    styles = text.styles(base_style)
    lines: list[Line] = []
    position = 0
    for raw in text.plain.split("\n"):
        raw_styles = styles[position:position + len(raw)]
        position += len(raw) + 1
        if "\t" in raw:
            raw = raw.replace("\t", " ")
        pieces: list[Line] = []
        if no_wrap:
            pieces.append((raw, raw_styles))
        else:
            cuts = [0, *divide_line(raw, width, fold=overflow == "fold"), len(raw)]
            for start, end in pairwise(cuts):
                cut = raw[start:end]
                if len(cut) > width:  # whitespace beyond the width goes (Text.rstrip_end)
                    match = _TRAILING_SPACE.search(cut)
                    if match:
                        end -= min(len(match.group()), len(cut) - width)
                pieces.append((raw[start:end], raw_styles[start:end]))
        for line in pieces:
            if justify == "left":
                line = _truncate(line, width, overflow, pad=True)
            elif justify in ("center", "right"):
                kept = len(line[0].rstrip())
                line = _truncate((line[0][:kept], line[1][:kept]), width, overflow)
                room = width - cell_len(line[0])
                line = _pad(line, room // 2, room - room // 2) if justify == "center" \
                    else _pad(line, room)
            lines.append(_truncate(line, width, overflow))
    return lines


def measure(text: Text) -> tuple[int, int]:
    """(narrowest, widest) cells `text` can take: its longest word, its longest line."""
    lines = text.plain.splitlines()
    widest = max((cell_len(line) for line in lines), default=0)
    words = text.plain.split()
    return (max(cell_len(word) for word in words) if words else widest), widest


# --- boxes ---------------------------------------------------------------------------------------

class Box:
    """The characters of a table's borders: eight lines of four, as in rich.box."""

    def __init__(self, spec: str, ascii: bool = False) -> None:
        self.ascii = ascii
        (self.top_left, self.top, self.top_divider, self.top_right), \
            (self.head_left, _, self.head_vertical, self.head_right), \
            (self.head_row_left, self.head_row_horizontal, self.head_row_cross,
             self.head_row_right), \
            (self.mid_left, _, self.mid_vertical, self.mid_right), \
            _row, _foot_row, \
            (self.foot_left, _, self.foot_vertical, self.foot_right), \
            (self.bottom_left, self.bottom, self.bottom_divider, self.bottom_right) = (
                tuple(line) for line in spec.splitlines())

    def top_line(self, widths: list[int]) -> str:
        return self.top_left + self.top_divider.join(self.top * w for w in widths) \
            + self.top_right

    def head_line(self, widths: list[int]) -> str:
        return self.head_row_left + self.head_row_cross.join(
            self.head_row_horizontal * w for w in widths) + self.head_row_right

    def bottom_line(self, widths: list[int]) -> str:
        return self.bottom_left + self.bottom_divider.join(self.bottom * w for w in widths) \
            + self.bottom_right


ASCII = Box("+--+\n| ||\n|-+|\n| ||\n|-+|\n|-+|\n| ||\n+--+", ascii=True)
SQUARE = Box("┌─┬┐\n│ ││\n├─┼┤\n│ ││\n├─┼┤\n├─┼┤\n│ ││\n└─┴┘")
HEAVY_HEAD = Box("┏━┳┓\n┃ ┃┃\n┡━╇┩\n│ ││\n├─┼┤\n├─┼┤\n│ ││\n└─┴┘")
SIMPLE_HEAD = Box("    \n    \n ── \n    \n    \n    \n    \n    ")
_PLAIN_HEADED = {id(HEAVY_HEAD): SQUARE}  # a box without its header's own characters


# --- tables --------------------------------------------------------------------------------------

class Column:
    __slots__ = ("cells", "header", "justify", "max_width", "min_width", "no_wrap", "overflow",
                 "ratio", "style")

    def __init__(self, header: Text, style: str = "", justify: str = "left",
                 no_wrap: bool = False, overflow: str = "ellipsis", min_width: int | None = None,
                 max_width: int | None = None, ratio: int | None = None) -> None:
        self.header, self.style, self.justify, self.no_wrap = header, style, justify, no_wrap
        self.overflow, self.min_width, self.max_width = overflow, min_width, max_width
        self.ratio = ratio  # kept for a caller's use: without expand, Rich ignores it too
        self.cells: list[Text] = []


def _as_text(value: Any) -> Text:
    return value if isinstance(value, Text) else Text("" if value is None else str(value))


_PADDING = (0, 1, 0, 1)  # top, right, bottom, left: Rich's default


class Table:
    """Columns of wrapped cells under a header, in a box, with a title above and a caption
    below, laid out as rich.table.Table lays them out (expand off, edges shown)."""

    def __init__(self, title: Any = None, caption: Any = None, box: Box | None = HEAVY_HEAD,
                 pad_edge: bool = True, collapse_padding: bool = False,
                 show_header: bool = True) -> None:
        self.title, self.caption, self.box = title, caption, box
        self.pad_edge, self.collapse_padding = pad_edge, collapse_padding
        self.show_header = show_header
        self.columns: list[Column] = []
        self.row_count = 0

    def add_column(self, header: Any = "", *, style: str = "", justify: str = "left",
                   no_wrap: bool = False, overflow: str = "ellipsis",
                   min_width: int | None = None, max_width: int | None = None,
                   ratio: int | None = None) -> None:
        if justify not in ("left", "center", "right", "default"):
            raise ValueError(f"justify {justify!r}: use left, center, right or default")
        column = Column(_as_text(header), style, justify, no_wrap, overflow, min_width,
                        max_width, ratio)
        column.cells = [Text() for _ in range(self.row_count)]
        self.columns.append(column)

    def add_row(self, *cells: Any) -> None:
        if len(cells) > len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        for column, cell in zip(self.columns, [*cells, *[""] * (len(self.columns) - len(cells))],
                                strict=True):
            column.cells.append(_as_text(cell))
        self.row_count += 1

    # layout (rich.table.Table._calculate_column_widths and its helpers)

    def _padding(self, index: int, first_row: bool, last_row: bool) -> tuple[int, int, int, int]:
        top, right, bottom, left = _PADDING
        if self.collapse_padding:
            if index:
                left = max(0, left - right)
            if not last_row:
                bottom = max(0, top - bottom)
        if not self.pad_edge:
            if index == 0:
                left = 0
            if index == len(self.columns) - 1:
                right = 0
            if first_row:
                top = 0
            if last_row:
                bottom = 0
        return top, right, bottom, left

    def _padding_width(self, index: int) -> int:
        _top, right, _bottom, left = _PADDING
        if self.collapse_padding:
            left = 0
            right = abs(left - right)
        if not self.pad_edge:
            if index == 0:
                left = 0
            if index == len(self.columns) - 1:
                right = 0
        return left + right

    def _cells(self, index: int) -> list[tuple[str, Text]]:
        """A column's cells, the header first, each with the style it is drawn in."""
        column = self.columns[index]
        header = [("table.header", column.header)] if self.show_header else []
        return header + [(column.style, cell) for cell in column.cells]

    def _measure_column(self, index: int, max_width: int) -> tuple[int, int]:
        if max_width < 1:
            return 0, 0
        column = self.columns[index]
        cells = self._cells(index)
        lows, highs = [], []
        for n, (_style, text) in enumerate(cells):
            _top, right, _bottom, left = self._padding(index, n == 0, n == len(cells) - 1)
            extra = left + right
            if max_width - extra < 1:
                low, high = max_width, max_width
            else:
                low, high = _normalized(measure(text), max_width)
                low, high = min(low + extra, max_width), min(high + extra, max_width)
            low, high = _normalized((low, high), max_width)
            lows.append(low)
            highs.append(high)
        low = min(max(lows) if lows else 1, max_width)
        high = min(max(highs) if highs else max_width, max_width)
        padding = self._padding_width(index)
        if column.min_width is not None:
            floor = max(0, column.min_width + padding)
            low, high = max(low, floor), max(high, floor)
        if column.max_width is not None:
            ceiling = column.max_width + padding
            low, high = min(low, ceiling), min(high, ceiling)
        return low, high

    def _extra_width(self) -> int:
        return 2 + len(self.columns) - 1 if self.box else 0

    def column_widths(self, max_width: int) -> list[int]:
        """Each column's width with its padding, borders not counted, for a table at most
        `max_width` cells wide."""
        max_width -= self._extra_width()
        widths = [self._measure_column(i, max_width)[1] or 1 for i in range(len(self.columns))]
        if sum(widths) > max_width:
            widths = _collapse(widths, [not c.no_wrap for c in self.columns], max_width)
            if sum(widths) > max_width:
                widths = _ratio_reduce(sum(widths) - max_width, [1] * len(widths), widths,
                                       widths)
            widths = [self._measure_column(i, w)[1] or 0 for i, w in enumerate(widths)]
        return widths

    # drawing (rich.table.Table._render)

    def _cell_lines(self, text: Text, style: str, column: Column, width: int,
                    padding: tuple[int, int, int, int]) -> list[Line]:
        if width < 1:
            return []
        top, right, bottom, left = padding
        inner = width - left - right
        lines = [_pad(_fit(line, inner), left, right)
                 for line in wrap(text, inner, column.justify, column.overflow, column.no_wrap,
                                  base_style=style)] if inner >= 1 else []
        blank = (" " * width, [""] * width)
        return [blank] * top + lines + [blank] * bottom

    def lines(self, max_width: int, ascii_box: bool = False) -> list[Line]:
        """The table drawn at most `max_width` cells wide; `ascii_box` draws its borders with
        ASCII characters (an output that is not UTF-8)."""
        if not self.columns:
            return [("", [])]
        widths = self.column_widths(max_width)
        table_width = sum(widths) + self._extra_width()
        box = self.box
        if box is not None and ascii_box and not box.ascii:
            box = ASCII
        if box is not None and not self.show_header:
            box = _PLAIN_HEADED.get(id(box), box)
        out: list[Line] = []

        def plain(text: str) -> Line:
            return text, [""] * len(text)

        if self.title:
            out += wrap(_as_text(self.title), table_width, "center", base_style="table.title")
        if box is not None:
            out.append(plain(box.top_line(widths)))
        rows = ([[c.header for c in self.columns]] if self.show_header else []) + [
            [c.cells[n] for c in self.columns] for n in range(self.row_count)]
        for n, row in enumerate(rows):
            first, last = n == 0, n == len(rows) - 1
            header = first and self.show_header
            cells = []
            for i, (column, width, text) in enumerate(zip(self.columns, widths, row, strict=True)):
                style = "table.header" if header else column.style
                cells.append(self._cell_lines(text, style, column, width,
                                              self._padding(i, first, last)))
            height = max(len(c) for c in cells)
            shaped = []
            for width, cell in zip(widths, cells, strict=True):
                blank = (" " * width, [""] * width)
                fill = [blank] * (height - len(cell))
                cell = fill + cell if header else cell + fill
                shaped.append([_fit(line, width) for line in cell]
                              + [blank] * (max(1, height) - len(cell)))
            for line_no in range(max(1, height)):
                parts = [cell[line_no] for cell in shaped]
                if box is not None:
                    left, right, divider = ((box.head_left, box.head_right, box.head_vertical)
                                            if first else
                                            (box.foot_left, box.foot_right, box.foot_vertical)
                                            if last else
                                            (box.mid_left, box.mid_right, box.mid_vertical))
                    line = plain(left)
                    for k, part in enumerate(parts):
                        line = (line[0] + (divider if k else "") + part[0],
                                line[1] + ([""] if k else []) + part[1])
                    out.append((line[0] + right, [*line[1], ""]))
                else:
                    out.append(("".join(p[0] for p in parts), [s for p in parts for s in p[1]]))
            if box is not None and header:
                out.append(plain(box.head_line(widths)))
        if box is not None:
            out.append(plain(box.bottom_line(widths)))
        if self.caption:
            out += wrap(_as_text(self.caption), table_width, "center",
                        base_style="table.caption")
        return out


def _normalized(measurement: tuple[int, int], max_width: int) -> tuple[int, int]:
    """rich.measure.Measurement.get's normalize, cap at `max_width`, normalize."""
    low, high = measurement
    low = min(max(0, low), high)
    low, high = max(0, low), max(0, max(low, high))
    low, high = min(low, max_width), min(high, max_width)
    if high < 1:
        return 0, 0
    low = min(max(0, low), high)
    return max(0, low), max(0, max(low, high))


def _collapse(widths: list[int], wrapable: list[bool], max_width: int) -> list[int]:
    """Narrow the widest wrapable columns until the total fits (Table._collapse_widths)."""
    total = sum(widths)
    excess = total - max_width
    if any(wrapable):
        while total and excess > 0:
            pairs = list(zip(widths, wrapable, strict=True))
            widest = max(w for w, ok in pairs if ok)
            second = max(w if ok and w != widest else 0 for w, ok in pairs)
            ratios = [1 if w == widest and ok else 0 for w, ok in pairs]
            if not any(ratios) or not widest - second:
                break
            widths = _ratio_reduce(excess, ratios, [min(excess, widest - second)] * len(widths),
                                   widths)
            total = sum(widths)
            excess = total - max_width
    return widths


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int],
                  values: list[int]) -> list[int]:
    """rich._ratio.ratio_reduce: take `total` off `values` in proportion to `ratios`."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums, strict=True)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    result = []
    for ratio, maximum, value in zip(ratios, maximums, values, strict=True):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * remaining / total_ratio))
            result.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result


# --- the terminal --------------------------------------------------------------------------------

_THEME = {"table.title": "italic", "table.caption": "italic dim", "table.header": "bold"}
_ATTRIBUTES = {"bold": "1", "dim": "2", "italic": "3", "underline": "4", "reverse": "7"}
_COLOURS = {name: str(30 + n) for n, name in enumerate(
    ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"))}


def _sgr(style: str, colour: bool) -> str:
    """The escape sequence that starts `style` ("" for none)."""
    codes: list[str] = []
    for word in " ".join(_THEME.get(w, w) for w in style.split()).split():
        code = _ATTRIBUTES.get(word) or (_COLOURS.get(word) if colour else None)
        if code and code not in codes:
            codes.append(code)
    return f"\x1b[{';'.join(codes)}m" if codes else ""


class Console:
    """Where tables are printed: its width (COLUMNS, else the terminal's, else 80), whether it
    takes escape sequences (a terminal, or TTY_COMPATIBLE=1 / FORCE_COLOR; NO_COLOR keeps bold
    and dim but no colour) and its encoding (not UTF-8: ASCII borders, `?` for what it cannot
    show), decided as rich.console.Console decides them."""

    def __init__(self, file: IO[str] | None = None, width: int | None = None,
                 styled: bool | None = None) -> None:
        self.file = file if file is not None else sys.stdout
        self.encoding = (getattr(self.file, "encoding", None) or "utf-8").lower()
        self._width = width
        self.styled = self._is_terminal() and not self._is_dumb() if styled is None else styled
        self.colour = os.environ.get("NO_COLOR", "") == ""

    def _is_terminal(self) -> bool:
        compatible = os.environ.get("TTY_COMPATIBLE", "")
        if compatible in ("0", "1"):
            return compatible == "1"
        force = os.environ.get("FORCE_COLOR")
        if force is not None:
            return force != ""
        try:
            return bool(self.file.isatty())
        except (AttributeError, ValueError):
            return False

    def _is_dumb(self) -> bool:
        return os.environ.get("TERM", "").lower() in ("dumb", "unknown")

    @property
    def width(self) -> int:
        if self._width is not None:
            return self._width
        columns = os.environ.get("COLUMNS")
        if columns is not None and columns.isdigit() and int(columns):  # Rich prints nothing at 0
            return int(columns)
        if self._is_terminal() and self._is_dumb():
            return 80
        for fd in (0, 1, 2):
            try:
                return os.get_terminal_size(fd).columns or 80
            except (AttributeError, ValueError, OSError):  # noqa: PERF203 (three at most)
                continue
        return 80

    def render(self, table: Table) -> str:
        """The table as printed: each line cut to the width, styled on a terminal."""
        width = self.width
        out = []
        for line in table.lines(width, ascii_box=not self.encoding.startswith("utf")):
            text, styles = _crop(line, width) if cell_len(line[0]) > width else line
            out.append(self._styled(text, styles) if self.styled else text)
        return "".join(f"{line}\n" for line in out)

    def _styled(self, text: str, styles: list[str]) -> str:
        parts = []
        for start, end in _runs(styles):
            sgr = _sgr(styles[start], self.colour)
            parts.append(f"{sgr}{text[start:end]}\x1b[0m" if sgr else text[start:end])
        return "".join(parts)

    def print(self, table: Table) -> None:
        text = self.render(table)
        try:
            text.encode(self.encoding)
        except (UnicodeEncodeError, LookupError):
            encoding = self.encoding
            try:
                text = text.encode(encoding, "replace").decode(encoding)
            except LookupError:
                text = text.encode("ascii", "replace").decode("ascii")
        self.file.write(text)
        self.file.flush()


def _runs(styles: list[str]) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of characters with one style."""
    start = 0
    for i in range(1, len(styles) + 1):
        if i == len(styles) or styles[i] != styles[start]:
            yield start, i
            start = i


def render_text(tables: Iterable[Table], width: int) -> str:
    """Tables as plain text `width` cells wide (a file written with -o)."""
    console = Console(width=width, styled=False)
    return "".join(console.render(t) for t in tables)
