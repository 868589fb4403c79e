"""Tables from result values (drawn by advisor.output.table). Computes nothing; formats numbers for
people."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from advisor.errors import strip_controls
from advisor.i18n import N_, _, tr
from advisor.output import table as text_table
from advisor.output.table import SIMPLE_HEAD, Console, Text
from advisor.ranking.rules import billions

if TYPE_CHECKING:  # annotations only: importing them would build every command's result classes
    from advisor.data.detect import Detection
    from advisor.estimation.estimate import Estimate
    from advisor.output.results import DevicesResult, ModelsResult, ModelView
    from advisor.ranking.compare import CompareResult
    from advisor.ranking.recommend import Recommendation
    from advisor.recipes import Recipe


# On an output that cannot show them (PYTHONIOENCODING=ascii, LANG=C without UTF-8 mode).
_ASCII = str.maketrans({"\u2192": "->", "\u2026": "...", "\u00d7": "x", "\u2264": "<=",
                        "\u2265": ">=", "\u00b1": "+/-", "\u2014": "-", "\u2013": "-",
                        "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                        "\u00b7": "-", "\u2248": "~", "\u00b5": "u", "\u00a0": " "})


def ascii_only() -> bool:
    """Whether stdout's encoding cannot write the arrows and ellipses the tables use."""
    try:
        "→…".encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def clean(text: str) -> str:
    """A string from the data as it is shown: no control characters or escape sequences, and
    ASCII stand-ins where stdout is ASCII-only."""
    text = strip_controls(text)
    if not ascii_only():
        return text
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:  # `?` before the cell is measured, so the columns stay aligned
        return text.translate(_ASCII).encode(encoding, "replace").decode(encoding)
    except LookupError:
        return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def _text(value: Any) -> Any:
    """A table's str as a Text, cleaned for display."""
    if isinstance(value, str):
        return Text(clean(value))
    if isinstance(value, Text) and not value.spans:
        return Text(clean(value.plain), style=value.style)
    return value


def dim_below(top: str, below: str) -> Text:
    """`top`, and under it `below` dimmed: the narrow layouts' second line."""
    return Text.assemble(clean(top) + "\n", (clean(below), "dim"))


class Table(text_table.Table):
    """A table whose strings are data: printed as written (`[detect]`, `[/dim]` are not markup),
    stripped of control characters, ASCII on an ASCII-only stdout. A layout styles a part with
    a Text (dim_below)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("title", "caption") and value is not None:
            value = _text(value)
        super().__setattr__(name, value)

    def add_column(self, header: Any = "", **kwargs: Any) -> None:
        # a cell too long for its column wraps, and a word too long breaks onto the next line:
        # nothing is cut to an ellipsis (a repo id, URL or command must stay whole)
        kwargs.setdefault("overflow", "fold")
        super().add_column(_text(header), **kwargs)

    def add_row(self, *cells: Any) -> None:
        super().add_row(*(_text(c) for c in cells))


def console() -> Console:
    """stdout as tables see it: its width, encoding and whether it takes styles."""
    return Console()


def longest_number(cells: Any) -> int:
    """The widest word holding a digit among `cells` (a column never gets narrower, so no
    number is broken across lines)."""
    return max((len(w) for c in cells for w in str(c).split() if any(ch.isdigit() for ch in w)),
               default=0)


def tokens(n: int | None) -> str:
    if n is None:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M" if n % 1_000_000 == 0 else f"{n / 1_048_576:.2f}M"
    return f"{n // 1024}K" if n % 1024 == 0 else f"{n:,}"


def gigabytes(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e9:.1f} GB"


def models_table(result: ModelsResult) -> Table:
    # Below 100 columns the modalities and release date go under the id and the active
    # parameters under the total, so every fact stays and no number is wrapped.
    narrow = console().width < 100
    table = Table(title=_("{count} Qwen models").format(count=len(result.models)),
                  box=SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    rows = []
    for m in result.models:
        active = billions(m.params_active) if m.params_active != m.params_total else "="
        rows.append((
            m.id if m.open_weights else f"{m.id} (API)",
            billions(m.params_total), active,
            f"{tokens(m.context_native)}/{tokens(m.context_max)}",
            ",".join(m.modalities.input) + "→" + ",".join(m.modalities.output),
            m.license.id + ("" if m.license.commercial_use else "\n" + _("(non-comm.)")),
            str(m.release_date or "-"),
        ))

    def widest(i: int, header: str) -> int:
        return max([len(header), *(len(r[i]) for r in rows)])

    id_width = min(widest(0, "id"), 18 if console().width < 80 else 30)
    # the wide layout needs every column whole (Rich would cut the date first); else narrow
    wide_needs = (id_width + sum(widest(i, h) for i, h in ((1, "params"), (2, "active"),
                                                          (3, "context")))
                  + max(len(w) for r in rows for w in [*r[5].split(), "license"]) + 10
                  + widest(4, "modalities")
                  + 2 * 7)
    narrow = narrow or console().width < wide_needs
    table.add_column(_("id"), overflow="fold", min_width=id_width,
                     max_width=id_width if console().width < 80 else None)
    table.add_column(_("params"), no_wrap=True, justify="right", min_width=widest(1, "params"))
    if not narrow:
        table.add_column(_("active"), no_wrap=True, justify="right", min_width=widest(2, "active"))
    table.add_column(_("context"), no_wrap=True, justify="right", min_width=widest(3, "context"))
    if not narrow:
        table.add_column(_("modalities"), overflow="fold")
    table.add_column(_("license"), no_wrap=True,
                     min_width=max(len(w) for r in rows for w in [*r[5].split(), "license"]))
    if not narrow:
        table.add_column(_("released"), no_wrap=True, min_width=10)
    for row in rows:
        id_, total, active, context, modalities, license_text, released = row
        if narrow and console().width < 80 and active != "=":
            # under 80 columns the active count joins the line under the id, so a long licence
            # id (qwen-community-1.0) keeps its column
            table.add_row(dim_below(id_, f"{active} active, {modalities}, {released}"),
                          total, context, license_text)
        elif narrow:
            table.add_row(dim_below(id_, f"{modalities}, {released}"),
                          dim_below(total, _("{active} active").format(active=active))
                          if active != "=" else total,
                          context, license_text)
        else:
            table.add_row(id_, total, active, context, modalities, license_text, released)
    return table


def model_tables(m: ModelView, recipes: tuple[Recipe, ...] = ()) -> list[Table]:
    about = Table(title=f"{m.name}", show_header=False)
    about.add_column("field", style="bold")
    about.add_column("value")
    rows = [
        (_("id"), m.id),
        ("Hugging Face", m.hf_repo or _("- (API only)")),
        ("ModelScope", m.modelscope_repo or "-"),
        (_("family"), f"{m.family} (Qwen{m.generation})"),
        (_("released"), str(m.release_date or "-")),
        (_("architecture"), m.architecture or "-"),
        (_("parameters"), _("{total} total, {active} active").format(
            total=billions(m.params_total), active=billions(m.params_active))
         + (_(", {count} non-embedding").format(count=billions(m.params_non_embedding))
            if m.params_non_embedding else "")
         + (_(", ~{count} in vision/audio towers").format(count=billions(m.params_towers))
            if m.params_towers else "")),
        (_("context"), _("{native:,} native, {max:,} max").format(native=m.context_native,
                                                                 max=m.context_max)
         + (f" ({m.context.extension_method}"
            + (f" x{m.context.yarn_factor:g}" if m.context.yarn_factor else "") + ")"
            if m.context.extension_method != "none" else "")),
        (_("modalities"), ", ".join(m.modalities.input) + " → " + ", ".join(m.modalities.output)),
        (_("tasks"), ", ".join(m.tasks)),
        (_("thinking"), m.thinking),
        (_("languages"), m.languages or "-"),
        (_("license"), (_("{license}; commercial use allowed") if m.license.commercial_use
                        else _("{license}; commercial use not allowed")).format(
                            license=m.license.id)
         + (f" ({m.license.condition})" if m.license.condition else "")),
    ]
    if m.unverified:
        rows.append((_("not fully verified"), ", ".join(m.unverified)
                     + _(" (see the sources' notes and catalog/UNVERIFIED.md)")))
    for key, value in rows:
        about.add_row(key, value)
    tables = [about]
    if m.config:
        cfg = Table(title=_("config.json (language model)"), show_header=False)
        cfg.add_column("key", style="bold")
        cfg.add_column("value", justify="right")
        for key in m.config.__record_fields__:
            value = getattr(m.config, key)
            if value is not None:
                cfg.add_row(key, str(value))
        cfg.add_row(_("(layers keeping a KV cache)"), str(m.kv_cache_layers))
        tables.append(cfg)
    if m.quantized:
        quant = Table(title=_("official quantized checkpoints"))
        quant.add_column(_("format"))
        quant.add_column(_("repo"))
        quant.add_column(_("files"))
        for q in m.quantized:
            quant.add_row(q.format, q.repo, ", ".join(q.quants))
        tables.append(quant)
    # Below 100 columns a table keeps its first columns and the rest goes under them, dimmed.
    narrow = console().width < 100
    if m.artifacts:
        arts = Table(title=_("downloads (official, Ollama library, community)"))
        for col in (N_("format"), N_("where"), *(() if narrow else (
                N_("hub"), N_("provenance"), N_("quants")))):
            arts.add_column(_(col))
        for a in m.artifacts:
            files = ", ".join(a.quants) + (f" (+ {a.mmproj})" if a.mmproj else "")
            if narrow:
                arts.add_row(a.format, dim_below(a.where, "; ".join(
                    x for x in (a.hub, a.provenance, files) if x)))
            else:
                arts.add_row(a.format, a.where, a.hub, a.provenance, files)
        tables.append(arts)
    if m.benchmarks:
        bench = Table(title=_("published benchmarks"))
        bench.add_column(_("benchmark"))
        bench.add_column(_("score"), justify="right")
        for key, score in sorted(m.benchmarks.items()):
            bench.add_row(key, f"{score + 0.0:g}")
        tables.append(bench)
    if recipes:
        tables.append(recipes_table(recipes))
    sources = Table(title=_("sources"))
    for col in (N_("kind"), N_("reference"), *(() if narrow else (N_("backs"), N_("read in")))):
        sources.add_column(_(col))
    for s in m.sources:
        if narrow:
            sources.add_row(s.kind, dim_below(s.ref, _("backs: {fields}").format(
                fields=", ".join(s.backs)) + ("\n" + _("read in: {where}").format(
                    where=s.verified_via) if s.verified_via else "")))
        else:
            sources.add_row(s.kind, s.ref, ", ".join(s.backs), s.verified_via or "-")
    tables.append(sources)
    return tables


def devices_table(result: DevicesResult) -> Table:
    # Below 100 columns the class and runtimes go under the id and FP16 under the bandwidth;
    # numbers are never wrapped.
    narrow = console().width < 100
    table = Table(title=_("{count} device profiles").format(count=len(result.devices)),
                  box=SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    rows = []
    for d in result.devices:
        sizes = "/".join(f"{m:g}" for m in d.memory_gib_options) or f"{d.memory_gib:g}"
        rows.append((d.id, d.device_class, f"{sizes} GiB", f"{d.usable_memory_fraction:.0%}",
                     f"{d.bandwidth_gb_s:g} GB/s",
                     f"{d.fp16_tflops:g} TF" if d.fp16_tflops else "-", ", ".join(d.runtimes)))
    if narrow:  # units in the headings, so the cells stay short
        rows = [(r[0], r[1], r[2].removesuffix(" GiB"), r[3], r[4].removesuffix(" GB/s")
                 + ("" if r[5] == "-" else f"\n{r[5]}"), r[5], r[6]) for r in rows]
    headers = (N_("id"), N_("class"), "GiB" if narrow else N_("memory"), N_("usable"),
               "GB/s" if narrow else N_("bandwidth"), "FP16", N_("runtimes"))
    for i, col in enumerate(headers):
        if narrow and col in ("class", "runtimes", "FP16"):
            continue
        if col == "runtimes" or (narrow and col == "id"):
            table.add_column(_(col), ratio=1, overflow="fold",
                             min_width=max(len(r[0]) for r in rows) if col == "id" else None)
        else:
            table.add_column(_(col), no_wrap=True, justify="left" if i < 2 else "right",
                             min_width=max(len(x) for x in [col, *(y for r in rows
                                                                   for y in r[i].split("\n"))]))
    for r in rows:
        if narrow:
            table.add_row(dim_below(r[0], f"{r[1]}; {r[6]}"), r[2], r[3], r[4])
        else:
            table.add_row(*r)
    aliases = ", ".join(f"{k}={v}" for k, v in sorted(result.aliases.items()))
    table.caption = _("class aliases: {aliases}").format(aliases=aliases)
    return table


def detection_table(result: Detection) -> Table:
    p, hw = result.probe, result.hardware
    table = Table(title=_("this machine"), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    gpus = (", ".join(f"{g.name} ({g.memory_bytes / 1024**3:.0f} GiB)" for g in p.gpus)
            or _("none seen"))
    for key, value in (
        (_("system"), f"{p.system} {p.machine}"),
        ("CPU", _("{model} ({cores} cores)").format(model=p.cpu_model or "?",
                                                    cores=p.cpu_cores or "?")),
        (_("RAM"), _("{total} total, {free} free").format(total=gigabytes(p.ram_total_bytes),
                                                       free=gigabytes(p.ram_available_bytes))),
        (_("GPUs"), gpus),
        (_("Apple chip"), p.apple_chip or "-"),
        (_("profile"), result.device_id or _("(none: generic CPU machine)")),
        (_("taken as"), _("{name}: {usable} usable, {bandwidth:g} GB/s").format(
            name=hw.name, usable=gigabytes(hw.usable_memory_bytes), bandwidth=hw.bandwidth_gb_s)),
    ):
        table.add_row(key, value)
    for line in result.notes:
        table.add_row(_("note"), tr(line))  # as written: "[detect]" is not Rich markup
    return table


def estimate_tables(e: Estimate) -> list[Table]:
    a = e.assumptions
    mem = Table(title=_("{model} on {device}: {quant} on {runtime}").format(
        model=e.model_id, device=e.device, quant=a.quant, runtime=a.runtime), show_header=False)
    m = e.memory
    rows = [
        (_("weights"), gigabytes(m.weights_bytes)),
        (_("KV cache ({tokens:,} tokens x {batch}, {dtype})").format(
            tokens=a.context_tokens, batch=a.batch, dtype=a.kv_dtype),
         gigabytes(m.kv_cache_bytes)),
        (_("runtime overhead"), gigabytes(m.overhead_bytes)),
        (_("total needed"), gigabytes(m.total_bytes)
         + (_(" (peak; steady {steady})").format(steady=gigabytes(m.steady_bytes).strip())
            if m.steady_bytes is not None and m.steady_bytes != m.total_bytes else "")),
        (_("usable on device"), gigabytes(m.usable_bytes)),
    ]
    if m.kv_pool_bytes is not None:
        rows.append((_("KV pool (sequences that fit)"),
                     f"{gigabytes(m.kv_pool_bytes).strip()} ({m.sequences_fit or 0:,})"))
    if m.runtime_reserved_bytes:
        rows.append((_("{runtime} reserves (gpu_memory_utilization)").format(runtime=a.runtime),
                     gigabytes(m.runtime_reserved_bytes)))
    if m.offloaded_bytes:
        rows.append((_("offloaded to host RAM"), gigabytes(m.offloaded_bytes)))
    s = e.speed
    rows += [
        (_("fits"), _("yes") if e.fits else (_("with offload") if m.offloaded_bytes else _("NO"))),
        (_("longest context that fits"),
         _("{tokens:,} tokens").format(tokens=e.max_context_tokens)),
        (_("decode"), f"{s.decode_tokens_per_s:.1f} tok/s ({_(s.bound)})"
         + (f", P10-P90 {s.decode_tokens_per_s_p10:.0f}-{s.decode_tokens_per_s_p90:.0f}"
            if s.decode_tokens_per_s_p10 and s.decode_tokens_per_s_p90 else "")
         if s.decode_tokens_per_s else "-"),
        (_("prefill"), f"{s.prefill_tokens_per_s:,.0f} tok/s" if s.prefill_tokens_per_s else "-"),
        (_("time to first token ({tokens:,}-token prompt)").format(tokens=a.prompt_tokens),
         f"{s.time_to_first_token_s:.2f} s" if s.time_to_first_token_s is not None else "-"),
        (_("weights from"), e.official_checkpoint or "-"),
        (_("license"), e.license),
    ]
    mem.add_column("what", style="bold")
    mem.add_column("value", justify="right", min_width=longest_number(v for _k, v in rows))
    for key, value in rows:
        mem.add_row(key, value)
    assume = Table(title=_("assumptions"), show_header=False)
    assume.add_column("what", style="bold")
    assume.add_column("value")
    eff = a.efficiency
    assume.add_row(_("quantization"), _("{quant} ({bits:g} bits/weight)").format(
        quant=a.quant, bits=a.quant_bits_per_weight))
    assume.add_row(_("efficiency"), _("bandwidth {bandwidth:.0%}, compute {compute:.0%}, "
                   "{overhead:g} ms/token fixed").format(
                       bandwidth=eff.bandwidth, compute=eff.compute,
                       overhead=eff.per_token_overhead_ms)
                   + (_(", multi-GPU {share:.0%}").format(share=eff.multi_gpu)
                      if eff.multi_gpu < 1 else ""))
    for flag in e.flags:
        assume.add_row(_("flag"), tr(flag))
    for line in a.notes:
        assume.add_row(_("note"), tr(line))
    return [mem, assume]


def recommend_tables(r: Recommendation, chinese: bool) -> list[Table]:
    local = [p for p in r.recommendations if p.deployment == "local"]
    cloud = [p for p in r.recommendations if p.deployment == "cloud-api"]
    tables = []
    title = _("Recommended for {device} (task: {task})").format(device=r.device.name,
                                                               task=r.constraints.task)
    usable = r.device.usable_memory_bytes / 1e9
    count, either, otherwise = r.context_tokens_assumed.partition(" or ")
    assumed = _("{count} tokens").format(count=count) + (
        _(", or {otherwise}").format(otherwise=_(otherwise)) if either else "")
    table = Table(title=title, box=SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption=_(
        "GB: memory used, of {usable:.1f} usable; ctx: longest context that fits; context "
        "assumed: {assumed}; --explain shows every score part").format(usable=usable,
                                                                        assumed=assumed))
    # 80 columns first: below 100 the runtime goes under the quant and the licence under the
    # model, so nothing is dropped; numbers are never wrapped or cut.
    narrow = console().width < 100
    rows = []
    for p in local:
        assert p.memory and p.speed
        repo = p.modelscope_repo if chinese and p.modelscope_repo else p.hf_repo
        rows.append((p, repo, [
            f"{p.memory.total_bytes / 1e9:.1f}",
            f"{p.speed.decode_tokens_per_s:.1f}" if p.speed.decode_tokens_per_s else "-",
            tokens(p.max_context_tokens)]))
    numbers = ("GB", "tok/s", "ctx")
    columns = ["#", N_("model"), N_("quant"), *([] if narrow else [N_("runtime")]),
               *numbers, *([] if narrow else [N_("license")])]
    # the model column gives way (a long id folds) before a number column could be pushed out
    fixed = sum(max(len(c) for c in [col, *(r[2][numbers.index(col)] for r in rows)])
                for col in numbers) + max([1, *(len(str(p.rank)) for p, _, _ in rows)]) + max(
        [5, *(len(x or "-") for p, _, _ in rows for x in (p.quant, p.runtime))])
    room = max(len("model"), console().width - fixed - 2 * len(columns))
    for col in columns:
        if col in numbers:
            cells = [cells[numbers.index(col)] for _, _, cells in rows]
            table.add_column(_(col), justify="right", no_wrap=True,
                             min_width=max(len(c) for c in [col, *cells]))
        elif col in ("#", "quant", "runtime"):
            table.add_column(_(col), no_wrap=True)
        else:
            ids = [len(p.model_id) for p, _, _ in rows] if col == "model" else [len(col)]
            table.add_column(_(col), overflow="fold", ratio=1 if col == "model" else None,
                             min_width=min(max([len(col), *ids]), room) if narrow else max(
                                 [len(col), *ids]))
    for p, repo, cells in rows:
        model = f"{p.model_id}\n{repo}" + (
            "\n" + _("licence: {license}").format(license=p.license) if narrow else "")
        row = [str(p.rank), dim_below(model, tr(p.why)),
               f"{p.quant or '-'}\n{p.runtime or '-'}" if narrow else p.quant or "-"]
        if not narrow:
            row.append(p.runtime or "-")
        row += cells
        if not narrow:
            row.append(p.license)
        table.add_row(*row)
    if not local:
        table.add_row("-", _("nothing fits") + f"\n{tr(r.closest) or ''}",
                      *[""] * (len(columns) - 2))
    tables.append(table)
    # the box shows a command of the pick's own runtime, never another's (vLLM for an MLX pick)
    same = [r for r in local[0].recipes if r.runtime == local[0].runtime] if local else []
    if same:
        top = local[0]
        run_top = recipes_table((same[0],),
                                title=_("how to run #1, {model}").format(model=top.model_id))
        run_top.caption = _("any other: advisor run MODEL [--quant Q] [--runtime R]")
        tables.append(run_top)
    if cloud:
        api = Table(title=_("Cloud APIs (data leaves your premises; not run on your device)"))
        for col in (N_("model"), N_("context"), N_("license"), N_("why")):
            api.add_column(_(col), no_wrap=col == "context")
        for p in cloud:
            api.add_row(p.model_id, tokens(p.max_context_tokens), p.license, tr(p.why))
        tables.append(api)
    return tables


def explain_table(r: Recommendation) -> Table:
    table = Table(title=_("every rule's verdict"))
    for col in (N_("model"), N_("verdict"), N_("rule"), N_("message")):
        table.add_column(_(col))
    for p in r.recommendations:
        for reason in p.reasons:
            table.add_row(p.model_id, _("pick #{rank}").format(rank=p.rank), reason.rule,
                          tr(reason.message))
    for e in r.excluded:
        for reason in e.reasons:
            table.add_row(e.model_id, _("excluded"), reason.rule, tr(reason.message))
    return table


def compare_tables(r: CompareResult) -> list[Table]:
    """The comparison, as many models side by side as the width holds: below that it goes on
    in further tables of the next models, each with the attribute column. A column is as wide
    as its model id and its longest number, so neither is broken; other text wraps."""
    width = console().width
    labels = [tr(row.attribute) for row in r.rows]
    label_width = min(max(len(x) for x in [_("attribute"), *labels]), max(12, width // 4))
    columns = [max(8, len(model_id), longest_number(row.values[i] for row in r.rows))
               for i, model_id in enumerate(r.models)]
    groups: list[list[int]] = [[]]
    used = 1 + label_width + 3
    for i, column in enumerate(columns):
        if groups[-1] and used + column + 3 > width:
            groups.append([])
            used = 1 + label_width + 3
        groups[-1].append(i)
        used += column + 3
    return [compare_table(r, group, label_width, columns, part, len(groups))
            for part, group in enumerate(groups, 1)]


def compare_table(r: CompareResult, models: list[int] | None = None, label_width: int = 0,
                  columns: list[int] | None = None, part: int = 1, parts: int = 1) -> Table:
    title = (_("comparison on {device} ({quant}, {runtime})").format(
        device=r.device, quant=r.quant, runtime=r.runtime) if r.device
        else _("comparison (weights at {quant})").format(quant=r.quant))
    if parts > 1:
        title += f" ({part}/{parts})"
    shown = list(range(len(r.models))) if models is None else models
    table = Table(title=title, caption=_("bold: best value in the row") if part == parts else None)
    table.add_column(_("attribute"), style="bold", max_width=label_width or None)
    for i in shown:
        table.add_column(r.models[i], min_width=columns[i] if columns else None)
    for row in r.rows:
        cells = [Text.assemble((clean(tr(row.values[i])), "bold green")) if i in row.best
                 else tr(row.values[i]) for i in shown]
        table.add_row(tr(row.attribute), *cells)
    return table


def recipes_table(recipes: tuple[Recipe, ...], title: str | None = None) -> Table:
    table = Table(title=title or _("how to run it"))
    table.add_column(_("runtime"), no_wrap=True)
    table.add_column(_("commands"))
    for r in recipes:
        table.add_row(r.runtime, "\n".join(r.commands) + (f"\n({tr(r.note)})" if r.note else ""))
    return table
