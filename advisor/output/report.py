"""`advisor report`: one self-contained HTML page to share a recommendation (issue 18).

Two parts. `report_data` gathers what the page shows besides the recommendation itself, with the
same estimator and rules as `recommend`: every candidate's quality and memory, and each local
pick's decode speed at several context lengths. `to_html` turns that into one HTML string with
inline CSS, inline SVG charts (small pure functions in `advisor.output.report_svg`) and a few
lines of inline JS for the copy buttons; it computes nothing. Every catalog string is HTML-escaped
(catalogs can be written by anyone), nothing is fetched, and a Content-Security-Policy with the
hashes of the page's own style and script lets the browser refuse anything else.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from advisor.data.records import replace
from advisor.errors import strip_controls
from advisor.i18n import N_, _, language, tr
from advisor.output.report_svg import CurvePoint, ScatterPoint, scatter_chart, speed_chart

if TYPE_CHECKING:
    from advisor.data.formats import Tables
    from advisor.data.hardware import Hardware
    from advisor.data.schema import Catalog, ModelEntry
    from advisor.ranking.recommend import Pick, Recommendation
    from advisor.ranking.rules import Constraints, QualityTable, Reason, Scoring
    from advisor.recipes import Recipe

STATUSES = (N_("pick"), N_("not picked"), N_("too slow"), N_("too big"))
# Context lengths the speed chart samples (each pick's own context is added).
CONTEXTS = tuple(2**k for k in range(10, 21))  # 1k .. 1M tokens


@dataclass(frozen=True)
class Candidate:
    """A model that passed the model-level rules (task, licence, privacy, context) and has
    local weights: where it sits on the quality/memory chart."""

    model_id: str
    memory_bytes: int
    """its chosen setup's total memory, or for one that does not fit the smallest setup's."""
    quality: float
    """fitted quality in the job's task area, standard deviations (catalog/quality.toml)."""
    estimated: bool
    status: str
    """'pick', 'not picked' (fits, ranked out), 'too slow' or 'too big' (STATUSES)."""
    rank: int | None = None


@dataclass(frozen=True)
class SpeedCurve:
    model_id: str
    rank: int
    points: tuple[tuple[int, float], ...]
    """(context tokens, decode tokens/s) from the estimator."""


@dataclass(frozen=True)
class Report:
    result: Recommendation
    area: str
    candidates: tuple[Candidate, ...]
    curves: tuple[SpeedCurve, ...]


def report_data(catalog: Catalog, hw: Hardware, tables: Tables, c: Constraints, s: Scoring,
                result: Recommendation, quality: QualityTable | None = None) -> Report:
    """The chart data for `result`, computed with recommend's own functions."""
    from advisor.ranking.recommend import best_setup, context_for, options
    from advisor.ranking.rules import load_quality, model_quality, model_reasons, task_area

    quality = quality or load_quality()
    area = task_area(c.task, s)
    fitted = quality.area_scores(area)
    picks = {p.model_id: p for p in result.recommendations if p.memory}
    reasons = {e.model_id: e.reasons for e in result.excluded}
    relaxed = replace(c, min_speed_tokens_per_s=None)
    grid = options(hw, tables, relaxed)
    found: list[Candidate] = []
    for m in catalog.models:
        q = model_quality(m, area, fitted, quality)
        if not m.open_weights or not m.config or q is None or model_reasons(m, c):
            continue
        pick = picks.get(m.id)
        rules = {r.rule: r for r in reasons.get(m.id, ())}
        if pick and pick.memory:
            memory, status = pick.memory.total_bytes, "pick"
        elif (fit := rules.get("memory-fit")) and fit.needed_bytes:
            memory, status = fit.needed_bytes, "too big"
        else:
            setup, _why = best_setup(m, hw, tables, relaxed, s, grid)
            if setup is None:
                continue
            memory = setup.total_bytes
            status = "too slow" if "min-speed" in rules else "not picked"
        found.append(Candidate(model_id=m.id, memory_bytes=memory, quality=q.score,
                               estimated=q.estimated, status=status,
                               rank=pick.rank if pick else None))
    by_id = {m.id: m for m in catalog.models}
    curves = []
    for p in picks.values():
        m = by_id[p.model_id]
        assert p.quant and p.runtime
        own = context_for(m, c)
        top = max(own, min(p.max_context_tokens or own, m.context.max_tokens))
        points = []
        for ctx in sorted({*(x for x in CONTEXTS if x <= top), own}):
            tps = _decode(m, hw, tables, p, ctx)
            if tps:
                points.append((ctx, tps))
        curves.append(SpeedCurve(model_id=p.model_id, rank=p.rank, points=tuple(points)))
    return Report(result=result, area=area, candidates=tuple(found), curves=tuple(curves))


def _decode(m: ModelEntry, hw: Hardware, tables: Tables, p: Pick, ctx: int) -> float | None:
    from advisor.estimation.estimate import estimate

    assert p.quant and p.runtime
    e = estimate(m, hw, tables, tables.formats[p.quant], tables.runtimes[p.runtime], ctx,
                 kv_dtype=p.kv_cache_dtype or "fp16")
    return e.speed.decode_tokens_per_s


# --- the page -----------------------------------------------------------------------------------

STYLE = """
:root{--fg:#1d2330;--mute:#5b6475;--line:#d8dde6;--bg:#fff;--soft:#f4f6fa;--pick:#c2410c;
--ok:#2f6fdf;--bad:#b42318}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:24px 28px 48px;color:var(--fg);background:var(--bg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.sub{color:var(--mute);margin:0 0 16px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:var(--soft);font-weight:600}td.n{text-align:right;white-space:nowrap}
.why{color:var(--mute);font-size:13px}
ul.reasons{margin:4px 0 0 18px;padding:0;font-size:13px;color:var(--mute)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:18px}
figure{margin:0;padding:10px;border:1px solid var(--line);border-radius:8px}
figcaption{font-size:13px;color:var(--mute);margin-top:4px}
svg{width:100%;height:auto;font:12px system-ui,sans-serif}
svg .axis{stroke:#8a93a3;stroke-width:1}svg .grid{stroke:#eceff4;stroke-width:1}
svg .tick{fill:var(--mute)}svg .label{fill:var(--fg);font-size:12px}
svg .usable{stroke:var(--ok);stroke-width:2;stroke-dasharray:6 4}
svg .usable-text{fill:var(--ok);font-weight:600}
svg .pt{fill:#9aa3b2;stroke:#fff;stroke-width:1}
svg .pt.big{fill:#fff;stroke:var(--bad);stroke-width:1.5}
svg .c0{stroke:#c2410c;fill:#c2410c}svg .c1{stroke:#2f6fdf;fill:#2f6fdf}
svg .c2{stroke:#15803d;fill:#15803d}svg .c3{stroke:#7e22ce;fill:#7e22ce}
svg .c4{stroke:#334155;fill:#334155}svg .c5{stroke:#0e7490;fill:#0e7490}
svg .c6{stroke:#be185d;fill:#be185d}svg .c7{stroke:#4d7c0f;fill:#4d7c0f}
svg circle.pt.pick{stroke:#fff;stroke-width:1.5}
svg text.pick-label{font-weight:700;stroke:none}
svg polyline.curve{fill:none;stroke-width:2.5}
.recipe{margin:10px 0 16px}.recipe h3{font-size:15px;margin:0 0 2px}
.note{color:var(--mute);font-size:13px;margin:0 0 6px}
.cmd{position:relative}
pre{background:#11161f;color:#e8ecf3;padding:10px 12px;border-radius:6px;overflow-x:auto;
margin:0;font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
button.copy{position:absolute;top:6px;right:6px;font-size:12px;padding:3px 10px;
border:1px solid #4b5565;border-radius:4px;background:#273041;color:#fff;cursor:pointer}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:14px}
dl.facts dt{color:var(--mute)}dl.facts dd{margin:0}
.offscreen{position:fixed;top:-1000px;left:0;opacity:0}
@media print{button.copy{display:none}details{display:block}}
"""

SCRIPT = """
(function(){
  function copied(b){var label=b.getAttribute('data-label')||b.textContent;
    b.setAttribute('data-label',label);b.textContent=b.getAttribute('data-copied');
    setTimeout(function(){b.textContent=label},1500)}
  function fallback(b,text){
    var t=document.createElement('textarea');t.value=text;t.setAttribute('readonly','');
    t.className='offscreen';document.body.appendChild(t);t.select();
    try{document.execCommand('copy');copied(b)}
    catch(e){b.textContent=b.getAttribute('data-failed')}
    document.body.removeChild(t)}
  document.querySelectorAll('button.copy').forEach(function(b){
    b.hidden=false;
    b.addEventListener('click',function(){
      var text=document.getElementById(b.getAttribute('data-for')).textContent;
      if(navigator.clipboard&&navigator.clipboard.writeText){
        navigator.clipboard.writeText(text).then(function(){copied(b)},
          function(){fallback(b,text)})}
      else{fallback(b,text)}})});
})();
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _e(value: object) -> str:
    """Text from the data for the page: control characters and escape sequences removed, then
    HTML-escaped (quotes too, so it is safe in attributes)."""
    return escape(strip_controls(str(tr(value))), quote=True)


def _gb(n: int | float) -> str:
    return f"{n / 1e9:.1f} GB"


def to_html(report: Report) -> str:
    """The whole page, ASCII only (other characters as references, so any channel carries it);
    the same report in the same language gives the same bytes."""
    r = report.result
    hw, c = r.device, r.constraints
    policy = (f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    body = [
        "<h1>" + _e(_("Qwen models for {device}").format(device=hw.name)) + "</h1>",
        f'<p class="sub">{_e(_summary(c))} &middot; ' + _e(_("{usable} usable of {total}").format(
            usable=_gb(hw.usable_memory_bytes), total=_gb(hw.memory_bytes)))
        + f" &middot; {hw.bandwidth_gb_s:g} GB/s</p>",
        _picks_section(r.recommendations),
        _charts_section(report),
        _commands_section(r.recommendations),
        _excluded_section(report),
        _assumptions_section(r),
    ]
    page = ("<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if language() == "zh" else "en"}">\n<head>\n'
            '<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<title>" + _e(_("Qwen advisor: {device}").format(device=hw.name))
            + f"</title>\n<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body)
            + f"\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
    return page.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _summary(c: Constraints) -> str:
    bits = [_("task {task}").format(task=c.task)]
    bits += [_(x) for x, on in ((N_("private"), c.private), (N_("Chinese"), c.chinese),
                                (N_("commercial use"), c.commercial)) if on]
    if c.context_tokens:
        bits.append(_("context \u2265 {tokens:,} tokens").format(tokens=c.context_tokens))
    if c.min_speed_tokens_per_s:
        bits.append(f"\u2265 {c.min_speed_tokens_per_s:g} tok/s")
    bits += [f"{k} {v}" for k, v in (("runtime", c.runtime), ("quant", c.quant)) if v]
    return _(", ").join(bits)


def _reasons(reasons: tuple[Reason, ...]) -> str:
    return "".join(f"<li><b>{_e(x.rule)}</b>: {_e(x.message)}</li>" for x in reasons)


def _picks_section(picks: tuple[Pick, ...]) -> str:
    title = "<h2>" + _e(_("Picks")) + "</h2>\n"
    if not picks:
        return title + "<p>" + _e(_("Nothing fits this device with these needs; see the "
                                    "models not recommended below.")) + "</p>"
    rows = []
    for p in picks:
        memory = (f"{_gb(p.memory.total_bytes)} / {_gb(p.memory.usable_bytes)}" if p.memory
                  else _e(_("cloud")))
        speed = (f"{p.speed.decode_tokens_per_s:.0f}" if p.speed and
                 p.speed.decode_tokens_per_s else "&ndash;")
        setup = " &middot; ".join(_e(x) for x in (p.quant, p.runtime) if x) or _e(_("cloud API"))
        reasons = _("reasons")
        rows.append(
            f'<tr class="pick" data-model="{_e(p.model_id)}"><td class="n">{p.rank}</td>'
            f"<td><b>{_e(p.name)}</b><br><code>{_e(p.model_id)}</code></td>"
            f"<td>{setup}</td><td class=\"n\">{memory}</td><td class=\"n\">{speed}</td>"
            f"<td class=\"n\">{p.max_context_tokens or 0:,}</td><td>{_e(p.license)}</td>"
            f'<td><div class="why">{_e(p.why)}</div><details><summary>{_e(reasons)}'
            f'</summary><ul class="reasons">{_reasons(p.reasons)}</ul></details></td></tr>')
    heads = ["#", _("model"), _("quant \u00b7 runtime"), _("memory / usable"),
             _("decode tok/s"), _("max context"), _("license"), _("why")]
    return (title + "<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads)
            + "</tr></thead>\n<tbody>" + "\n".join(rows) + "</tbody></table>")


def _charts_section(report: Report) -> str:
    usable = report.result.device.usable_memory_bytes / 1e9
    colour = {x.model_id: i for i, x in enumerate(report.curves)}
    points = [ScatterPoint(label=x.model_id, x=x.memory_bytes / 1e9, y=x.quality,
                           kind={"pick": "pick", "too big": "big"}.get(x.status, "other"),
                           note=_(x.status) + (_(", estimated") if x.estimated else ""),
                           tag=f"#{x.rank}" if x.rank else "", colour=colour.get(x.model_id, 0))
              for x in report.candidates]
    curves = [(f"#{x.rank} {x.model_id}", [CurvePoint(x=ctx, y=tps) for ctx, tps in x.points])
              for x in report.curves]
    unplotted = [p.model_id for p in report.result.recommendations if not p.memory]
    scatter_caption = _(
        "Every candidate for the job: fitted {area} quality against the memory of its setup "
        "(log scale). Coloured: the picks by rank, in their colours in the speed chart; grey: "
        "fits, not picked; hollow red: does not fit; the dashed line is the device's usable "
        "memory ({usable:.1f} GB).").format(area=report.area, usable=usable)
    if unplotted:
        scatter_caption += " " + _("Cloud API picks ({models}) run off the device and are not "
                                   "plotted.").format(models=", ".join(unplotted))
    speed_caption = _("Estimated decode speed of each local pick against the tokens held in its "
                      "KV cache, up to the longest context that fits (advisor estimate at each "
                      "length).")
    ylabel = _("quality, {area} (SD)").format(area=report.area)
    return (
        '<h2 id="charts">' + _e(_("Charts")) + '</h2>\n<div class="charts">'
        f"<figure>{scatter_chart(points, usable, ylabel)}"
        f"<figcaption>{_e(scatter_caption)}</figcaption></figure>"
        f"<figure>{speed_chart(curves)}<figcaption>{_e(speed_caption)}</figcaption></figure>"
        "</div>")


def _commands_section(picks: tuple[Pick, ...]) -> str:
    blocks = []
    for p in picks:
        if not p.recipes:
            continue
        first, *others = p.recipes
        block = [f"<h3>#{p.rank} {_e(p.name)}</h3>", _recipe(first, f"cmd-{p.rank}-0")]
        if others:
            block.append("<details><summary>" + _e(_("other runtimes")) + "</summary>"
                         + "".join(_recipe(x, f"cmd-{p.rank}-{i}")
                                   for i, x in enumerate(others, 1)) + "</details>")
        blocks.append('<div class="recipe">' + "".join(block) + "</div>")
    if not blocks:
        return ""
    return "<h2>" + _e(_("Run commands")) + "</h2>\n" + "\n".join(blocks)


def _recipe(recipe: Recipe, ident: str) -> str:
    version = f" <span class=\"note\">({_e(recipe.runtime_version)})</span>" \
        if recipe.runtime_version else ""
    note = f'<p class="note">{_e(recipe.note)}</p>' if recipe.note else ""
    commands = escape(strip_controls("\n".join(recipe.commands)), quote=True)
    labels = {"copied": _("Copied"), "failed": _("Select and copy"), "copy": _("Copy")}
    return (f"<div><b>{_e(recipe.runtime)}</b>{version}{note}<div class=\"cmd\">"
            f'<pre id="{ident}"><code>{commands}</code></pre>'
            f'<button class="copy" type="button" data-for="{ident}" '
            f'data-copied="{_e(labels["copied"])}" data-failed="{_e(labels["failed"])}" hidden>'
            f'{_e(labels["copy"])}</button></div></div>')


def _excluded_section(report: Report) -> str:
    excluded = report.result.excluded
    rows = "".join(f'<tr><td><code>{_e(x.model_id)}</code></td><td><ul class="reasons">'
                   f"{_reasons(x.reasons)}</ul></td></tr>" for x in excluded)
    summary = _("{count} models left out, each with its reasons").format(count=len(excluded))
    heads = "".join(f"<th>{_e(h)}</th>" for h in (_("model"), _("reasons")))
    return ("<h2>" + _e(_("Not recommended")) + f"</h2>\n<details><summary>{_e(summary)}"
            f"</summary><table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"
            "</details>")


def _assumptions_section(r: Recommendation) -> str:
    hw = r.device
    facts = [(_("device"), f"{hw.name} ({hw.device_id or hw.device_class})"),
             (_("context assumed"), r.context_tokens_assumed),
             *((_("assumed"), x) for x in hw.assumptions),
             *((_("note"), x) for x in r.notes)]
    if r.closest:
        facts.append((_("nothing fits"), r.closest))
    return ("<h2>" + _e(_("Assumptions")) + '</h2>\n<dl class="facts">'
            + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
            + '</dl>\n<p class="note">' + _e(_(
                "Made offline by qwen-advisor from its catalog; speeds and memory are estimates "
                "(advisor estimate --help).")) + "</p>")
