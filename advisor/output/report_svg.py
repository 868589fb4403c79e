"""Inline SVG charts for the HTML report: small pure functions from numbers to markup.

Scales map data to pixels, tick functions choose round values, and each chart is a string of
SVG elements. Every label is stripped of control characters and HTML-escaped here, so callers
pass raw catalog strings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from advisor.errors import strip_controls
from advisor.i18n import _

WIDTH, HEIGHT = 560, 340
LEFT, RIGHT, BOTTOM = 56, 18, 44
LEGEND_ROW = 18
CURVE_CLASSES = 8  # .c0 .. .c7 in the page's style
Scale = Callable[[float], float]


@dataclass(frozen=True)
class ScatterPoint:
    label: str
    x: float
    y: float
    kind: str
    """'pick', 'big' (does not fit) or 'other'."""
    note: str = ""
    tag: str = ""
    """Short text drawn beside a pick, e.g. '#1'."""
    colour: int = 0
    """A pick's colour class (c0..c7), the same as its line in the speed chart."""


@dataclass(frozen=True)
class CurvePoint:
    x: float
    y: float


def _e(value: object) -> str:
    return escape(strip_controls(str(value)), quote=True)


def _f(value: float) -> str:
    """A pixel coordinate: one decimal, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def linear_scale(lo: float, hi: float, a: float, b: float) -> Scale:
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def log_scale(lo: float, hi: float, a: float, b: float) -> Scale:
    low, high = math.log2(lo), math.log2(hi)
    span = (high - low) or 1.0
    return lambda v: a + (math.log2(max(v, lo)) - low) / span * (b - a)


def log_domain(values: Sequence[float], pad: float = 1.3) -> tuple[float, float]:
    """A log-scale range holding every (positive) value with a margin of `pad` each side."""
    positive = [v for v in values if v > 0] or [1.0]
    return min(positive) / pad, max(positive) * pad


def linear_domain(values: Sequence[float], pad: float = 0.08) -> tuple[float, float]:
    lo, hi = min(values, default=0.0), max(values, default=1.0)
    margin = (hi - lo) * pad or 0.5
    return lo - margin, hi + margin


def log2_ticks(lo: float, hi: float, most: int = 9) -> list[float]:
    """Powers of two inside [lo, hi]; every second (fourth, ...) one when there are many."""
    first, last = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
    powers = [2.0**k for k in range(first, last + 1)]
    step = 1
    while len(powers[::step]) > most:
        step *= 2
    return powers[::step]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [lo, hi]."""
    span = (hi - lo) or 1.0
    power = 10.0 ** math.floor(math.log10(span / max(count, 1)))
    step = next(m * power for m in (1, 2, 5, 10) if m * power * count >= 0.8 * span)
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


def gb_label(v: float) -> str:
    return f"{v:g} GB" if v >= 1 else f"{v * 1024:g} MB"


def tokens_label(v: float) -> str:
    n = int(v)
    if n >= 2**20 and n % 2**20 == 0:
        return f"{n // 2**20}M"
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else f"{n:,}"


def frame(x: Scale, y: Scale, top: float, xticks: list[tuple[float, str]],
          yticks: list[tuple[float, str]], xlabel: str, ylabel: str) -> str:
    """Grid lines, tick labels, axes and axis titles of one plot."""
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    out = []
    for v, text in xticks:
        px = _f(x(v))
        out.append(f'<line class="grid" x1="{px}" y1="{_f(top)}" x2="{px}" y2="{bottom}"/>'
                   f'<text class="tick" x="{px}" y="{bottom + 15}" text-anchor="middle">'
                   f"{_e(text)}</text>")
    for v, text in yticks:
        py = _f(y(v))
        out.append(f'<line class="grid" x1="{LEFT}" y1="{py}" x2="{right}" y2="{py}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{py}" dy="0.32em" '
                   f'text-anchor="end">{_e(text)}</text>')
    out.append(f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
               f'<line class="axis" x1="{LEFT}" y1="{_f(top)}" x2="{LEFT}" y2="{bottom}"/>'
               f'<text class="label" x="{_f((LEFT + right) / 2)}" y="{HEIGHT - 8}" '
               f'text-anchor="middle">{_e(xlabel)}</text>'
               f'<text class="label" transform="translate(14 {_f((top + bottom) / 2)}) '
               f'rotate(-90)" text-anchor="middle">{_e(ylabel)}</text>')
    return "".join(out)


def svg(ident: str, title: str, inner: str) -> str:
    return (f'<svg id="{_e(ident)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{_e(title)}"><title>{_e(title)}</title>{inner}</svg>')


def empty(ident: str, title: str, message: str) -> str:
    return svg(ident, title, f'<text class="label" x="{WIDTH // 2}" y="{HEIGHT // 2}" '
               f'text-anchor="middle">{_e(message)}</text>')


def legend(entries: list[tuple[str, str]], per_row: int = 3) -> tuple[str, float]:
    """Swatch + text entries in rows above the plot; returns the markup and the plot's top."""
    width = (WIDTH - LEFT - RIGHT) / per_row
    out = []
    for i, (cls, text) in enumerate(entries):
        x0 = LEFT + (i % per_row) * width
        y0 = 12 + (i // per_row) * LEGEND_ROW
        out.append(f'<rect class="{cls}" x="{_f(x0)}" y="{_f(y0 - 8)}" width="14" height="9" '
                   f'rx="2"/><text class="tick" x="{_f(x0 + 19)}" y="{_f(y0)}">{_e(text)}</text>')
    rows = math.ceil(len(entries) / per_row)
    return "".join(out), 12 + rows * LEGEND_ROW


def scatter_chart(points: Sequence[ScatterPoint], usable_gb: float, ylabel: str) -> str:
    """Quality (y) against memory in GB (x, log scale) for every candidate, the device's usable
    memory as a vertical dashed line, and the picks drawn and labelled last, on top."""
    title = _("Quality against memory")
    if not points:
        return empty("quality-memory", title, _("no candidate runs locally"))
    keys, top = legend([("pt pick c0", _("pick")), ("pt", _("fits, not picked")),
                        ("pt big", _("does not fit"))])
    xlo, xhi = log_domain([*(p.x for p in points), usable_gb])
    ylo, yhi = linear_domain([p.y for p in points])
    x = log_scale(xlo, xhi, LEFT, WIDTH - RIGHT)
    y = linear_scale(ylo, yhi, HEIGHT - BOTTOM, top)
    out = [keys, frame(x, y, top, [(v, gb_label(v)) for v in log2_ticks(xlo, xhi)],
                       [(v, f"{v:g}") for v in nice_ticks(ylo, yhi)], _("memory (log scale)"),
                       ylabel)]
    ux = _f(x(usable_gb))
    out.append(f'<line class="usable" x1="{ux}" y1="{_f(top)}" x2="{ux}" '
               f'y2="{HEIGHT - BOTTOM}"/><text class="usable-text" x="{ux}" dx="5" '
               f'y="{HEIGHT - BOTTOM - 6}">'
               + _e(_("usable {size:.1f} GB").format(size=usable_gb)) + "</text>")
    order = sorted(points, key=lambda p: p.kind == "pick")
    for p in order:
        cls = {"other": "pt", "pick": f"pt pick c{p.colour % CURVE_CLASSES}"}.get(p.kind,
                                                                               f"pt {p.kind}")
        radius = 6 if p.kind == "pick" else 4
        out.append(f'<circle class="{cls}" data-model="{_e(p.label)}" cx="{_f(x(p.x))}" '
                   f'cy="{_f(y(p.y))}" r="{radius}"><title>{_e(p.label)}: {p.x:.1f} GB, '
                   + _e(_("quality {score:+.2f}").format(score=p.y))
                   + f" ({_e(p.note)})</title></circle>")
    for p in (p for p in order if p.kind == "pick"):
        px, right_side = x(p.x), x(p.x) < WIDTH - RIGHT - 40
        out.append(f'<text class="pick-label c{p.colour % CURVE_CLASSES}" '
                   f'x="{_f(px + (8 if right_side else -8))}" y="{_f(y(p.y))}" dy="0.32em" '
                   f'text-anchor="{"start" if right_side else "end"}">{_e(p.tag)}</text>')
    return svg("quality-memory", title, "".join(out))


def speed_chart(curves: Sequence[tuple[str, Sequence[CurvePoint]]]) -> str:
    """Decode tokens/s (y) against context tokens (x, log scale): one line per pick."""
    title = _("Decode speed against context")
    drawn = [(label, pts) for label, pts in curves if pts]
    if not drawn:
        return empty("speed-context", title, _("no local pick to chart"))
    keys, top = legend([(f"c{i % CURVE_CLASSES}", label) for i, (label, _) in enumerate(drawn)],
                       per_row=2)
    xs = [p.x for _, pts in drawn for p in pts]
    ys = [p.y for _, pts in drawn for p in pts]
    xlo, xhi = min(xs) / 1.15, max(xs) * 1.15
    yhi = max(ys) * 1.1
    x = log_scale(xlo, xhi, LEFT, WIDTH - RIGHT)
    y = linear_scale(0.0, yhi, HEIGHT - BOTTOM, top)
    out = [keys, frame(x, y, top, [(v, tokens_label(v)) for v in log2_ticks(xlo, xhi)],
                       [(v, f"{v:g}") for v in nice_ticks(0.0, yhi)],
                       _("context tokens in the KV cache (log scale)"), _("decode tokens/s"))]
    for i, (label, pts) in enumerate(drawn):
        cls = f"c{i % CURVE_CLASSES}"
        line = " ".join(f"{_f(x(p.x))},{_f(y(p.y))}" for p in pts)
        out.append(f'<polyline class="curve {cls}" data-model="{_e(label)}" points="{line}"/>')
        out += [f'<circle class="dot {cls}" cx="{_f(x(p.x))}" cy="{_f(y(p.y))}" r="3">'
                f"<title>{_e(label)}: "
                + _e(_("{tokens} tokens").format(tokens=tokens_label(p.x)))
                + f", {p.y:.1f} tok/s</title>"
                "</circle>" for p in pts]
    return svg("speed-context", title, "".join(out))
