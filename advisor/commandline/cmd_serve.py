"""`advisor serve` and `advisor plan`: serving capacity of a device, and the hardware to buy.

Registered from advisor/cli.py with one line; core modules are imported inside the commands.
"""

from typing import Annotated, Any

from advisor.commandline.cli_spec import Argument, Option, Registry
from advisor.i18n import _, tr


def register(app: Registry) -> None:
    from advisor.cli import (
        DeviceOpt,
        FormatOpt,
        GpusOpt,
        JsonOpt,
        OutputFormat,
        OutputOpt,
        check_count,
        emit,
        handle_errors,
        hardware,
        load,
        note,
    )

    @app.command("serve")
    @handle_errors
    def serve_cmd(
        model: Annotated[str, Argument(help="Catalog id or Hugging Face repo.")],
        device: DeviceOpt = None,
        gpus: GpusOpt = 1,
        quant: Annotated[
            str | None,
            Option("--quant", "-q", help="Weight format, e.g. bf16, fp8, awq, q4_k_m."),
        ] = None,
        runtime: Annotated[
            str | None, Option("--runtime", "-r", help="vllm, sglang, llama.cpp or ollama.")
        ] = None,
        users: Annotated[
            int, Option("--users", "-u", help="Concurrent users (streams).")
        ] = 1,
        context: Annotated[
            int,
            Option("--context", "-c", help="Tokens each session holds (prompt + answer)."),
        ] = 8192,
        prompt: Annotated[
            int | None,
            Option(
                "--prompt",
                help="Prompt tokens for the first-token time (default: half the context).",
            ),
        ] = None,
        min_speed: Annotated[
            float | None,
            Option("--min-speed", help="Minimum decode speed per user, tokens/s."),
        ] = None,
        max_ttft: Annotated[
            float | None, Option("--max-ttft", help="Maximum time to first token, seconds.")
        ] = None,
        kv_dtype: Annotated[
            str, Option("--kv-dtype", help="KV cache element type: fp16, fp8, q8_0, q4_0.")
        ] = "fp16",
        fmt: FormatOpt = OutputFormat.table,
        as_json: JsonOpt = False,
        output: OutputOpt = None,
    ) -> None:
        """How many users one device (or N GPUs) serves, at what speed, and the command."""
        from advisor.data.formats import load_tables
        from advisor.data.loader import find_open_model
        from advisor.errors import InputError
        from advisor.estimation.estimate import choose_setup
        from advisor.estimation.serve import SERVING_RUNTIMES, serve

        if device is None:
            raise InputError(_("serve needs --device ID (see `advisor devices`)"))
        entry = find_open_model(load(), model, "serve")
        check_count(users, "--users", 100_000)
        check_count(context, "--context", entry.context.max_tokens)
        if prompt is not None:
            check_count(prompt, "--prompt", context)
        _check_targets(min_speed, max_ttft)
        tables = load_tables()
        if runtime and tables.runtime(runtime).id not in SERVING_RUNTIMES:
            raise InputError(_("--runtime {runtime}: serve models vllm, sglang, llama.cpp or "
                               "ollama").format(runtime=runtime))
        hw = hardware(device, None, None, None, gpus, None)
        weight_format, rt, notes = choose_setup(tables, hw, quant, runtime)
        if rt.id not in SERVING_RUNTIMES:
            rt = tables.runtimes["llama.cpp" if weight_format.family == "gguf" else "vllm"]
        for line in notes:
            note(_("note: {message}").format(message=tr(line)))
        result = serve(
            entry,
            hw,
            tables,
            weight_format,
            rt,
            users,
            context,
            prompt,
            kv_dtype,
            min_speed,
            max_ttft,
        )
        emit(result, fmt, as_json, lambda: _serve_tables(result), output)

    @app.command("plan")
    @handle_errors
    def plan_cmd(
        model: Annotated[str, Argument(help="Catalog id or Hugging Face repo.")],
        users: Annotated[
            int, Option("--users", "-u", help="Concurrent users (streams).")
        ] = 1,
        context: Annotated[
            int, Option("--context", "-c", help="Tokens each session holds.")
        ] = 8192,
        prompt: Annotated[
            int | None, Option("--prompt", help="Prompt tokens (default: half the context).")
        ] = None,
        min_speed: Annotated[
            float | None,
            Option("--min-speed", help="Minimum decode speed per user, tokens/s."),
        ] = None,
        max_ttft: Annotated[
            float | None, Option("--max-ttft", help="Maximum time to first token, seconds.")
        ] = None,
        private: Annotated[
            bool, Option("--private", help="On premises: no API comparison.")
        ] = False,
        gpu_hour_usd: Annotated[
            float | None,
            Option(
                "--gpu-hour-usd", help="Your price of one GPU-hour (replaces the catalog's)."
            ),
        ] = None,
        api_model: Annotated[
            str,
            Option("--api-model", help="Qwen API to compare against (catalog/prices.toml)."),
        ] = "qwen-plus",
        top: Annotated[int, Option("--top", "-n", help="How many options to show.")] = 10,
        fmt: FormatOpt = OutputFormat.table,
        as_json: JsonOpt = False,
        output: OutputOpt = None,
    ) -> None:
        """Which GPUs serve this load, cheapest first, with the commands (multi-node if needed)."""
        from advisor.data.formats import load_tables
        from advisor.data.hardware import check_positive
        from advisor.data.loader import find_open_model
        from advisor.errors import InputError
        from advisor.estimation.plan import api_price, plan

        entry = find_open_model(load(), model, "host")
        check_count(users, "--users", 100_000)
        check_count(context, "--context", entry.context.max_tokens)
        check_count(top, "--top", 1000)
        if prompt is not None:
            check_count(prompt, "--prompt", context)
        _check_targets(min_speed, max_ttft)
        if gpu_hour_usd is not None:
            check_positive(gpu_hour_usd, "--gpu-hour-usd", gpu_hour_usd, upper=10_000)
        if api_price(api_model) is None:
            raise InputError(_("--api-model {api}: no price in catalog/prices.toml").format(
                api=api_model))
        result = plan(
            entry,
            load_tables(),
            users,
            context,
            prompt,
            min_speed,
            max_ttft,
            private,
            gpu_hour_usd,
            api_model,
            top,
        )
        for line in result.notes:
            note(_("note: {message}").format(message=tr(line)))
        if not result.options:
            note(_("note: nothing in the device catalog meets these targets"))
        emit(result, fmt, as_json, lambda: [_plan_table(result), *_plan_commands(result)], output)

    def _check_targets(min_speed: float | None, max_ttft: float | None) -> None:
        from advisor.data.hardware import check_positive

        if min_speed is not None:
            check_positive(min_speed, "--min-speed", min_speed, upper=1e6)
        if max_ttft is not None:
            check_positive(max_ttft, "--max-ttft", max_ttft, upper=1e6)


def _fmt(value: float | None, pattern: str = "{:,.1f}") -> str:
    return "?" if value is None else pattern.format(value)


def _serve_tables(r: Any) -> list[Any]:
    """The serving facts; below 100 columns the command, the prefill scheduling and the notes
    go in a table of their own under them, whose short labels leave the text the width."""
    from advisor.output.render import Table, console, longest_number

    narrow = console().width < 100
    t = Table(
        title=_("{model} on {device} ({runtime})").format(
            model=r.model_id, device=r.device, runtime=r.assumptions.runtime),
        show_header=False,
    )
    facts = [
        (_("fits"), _("yes") if r.fits else _("no: {why}").format(
            why=tr("; ").join(tr(w) for w in r.why_not))),
        (_("sessions max"), _("{sessions:,} x {context:,} tokens").format(
            sessions=r.sessions_max, context=r.assumptions.context_tokens)),
        (_("GPUs needed"), "-" if r.gpus_needed is None else str(r.gpus_needed)),
        (_("KV pool"), f"{r.kv_pool_bytes / 2**30:,.1f} GiB"),
        (_("weights"), f"{r.weights_bytes / 2**30:,.1f} GiB ({r.assumptions.quant})"),
        (_("license"), r.license),
        (_("aggregate decode"), _fmt(r.aggregate_decode_tokens_per_s) + " tokens/s"),
        (_("per user"), _fmt(r.per_user_decode_tokens_per_s) + " tokens/s"),
        (_("first token"), _fmt(r.time_to_first_token_s, "{:,.2f}") + " s"),
    ]
    prose = [(_("prefill"), tr(r.assumptions.prefill_scheduling)),
             *((_("note"), tr(n)) for n in r.assumptions.notes)]
    if not narrow:
        t.add_column("what")
        t.add_column("value")
        for k, v in [*facts, prose[0], (_("command"), r.command), *prose[1:]]:
            t.add_row(k, v)
        return [t]
    t.add_column("what", no_wrap=True)
    t.add_column("value", min_width=longest_number(v for _k, v in facts))
    for k, v in facts:
        t.add_row(k, v)
    more = Table(title=_("how to run it"), show_header=False)
    more.add_column("what", no_wrap=True)
    more.add_column("text")
    for k, v in [(_("command"), r.command), *prose]:
        more.add_row(k, v)
    return [t, more]


def _plan_table(r: Any) -> Any:
    """Each option's numbers: at 120 columns and wider a column each; below, the quant and the
    weights under the device, the GPUs' memory under their count, $/M tok under $/h. Numbers are
    never wrapped; the commands follow in a table of their own (_plan_commands)."""
    from advisor.output.render import Table, console, dim_below
    from advisor.output.table import SIMPLE_HEAD

    title = _("{model} ({license}, {runtime}): {users} users x {context:,} tokens").format(
        model=r.model_id, license=r.license, runtime=r.runtime, users=r.users,
        context=r.context_tokens)
    rows = [(o, {"GPUs": str(o.gpus), "GPU GiB": f"{o.total_memory_bytes / 2**30:,.1f}",
                 "nodes": str(o.nodes), "weights GiB": f"{o.weights_bytes / 2**30:,.1f}",
                 "sessions": f"{o.sessions_max:,}",
                 "tok/s": _fmt(o.aggregate_decode_tokens_per_s, "{:,.0f}"),
                 "$/h": _fmt(o.cost_per_hour_usd, "{:,.2f}"),
                 "$/M tok": _fmt(o.cost_per_million_tokens_usd, "{:,.2f}"),
                 "break-even": _fmt(o.break_even_tokens_per_day, "{:,.0f}")})
            for o in r.options]

    def number_column(t: Any, heading: str, cells: list[str]) -> None:
        t.add_column(heading, justify="right", no_wrap=True,
                     min_width=max(len(c) for c in [*cells, *heading.split("\n")]))

    if console().width >= 120:
        t = Table(title=title)
        t.add_column(_("device"))
        t.add_column(_("quant"))
        for key, heading in (("GPUs", "GPUs"), ("GPU GiB", _("GPU GiB")), ("nodes", _("nodes")),
                             ("weights GiB", _("weights GiB")), ("sessions", _("sessions")),
                             ("tok/s", "tok/s"), ("$/h", "$/h"), ("$/M tok", "$/M tok"),
                             ("break-even", _("break-even\ntok/day"))):
            number_column(t, heading, [n[key] for _o, n in rows])
        for o, n in rows:
            t.add_row(o.device_id, o.quant, *n.values())
        return t
    t = Table(title=title, box=SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
              caption=_("GiB: the weights (under the device) and the GPUs' memory (under GPUs)"))
    t.add_column(_("device"), ratio=1)
    for keys, heading in ((("GPUs", "GPU GiB"), _("GPUs\nGiB")), (("sessions",), _("sessions")),
                          (("tok/s",), "tok/s"), (("$/h", "$/M tok"), "$/h\n$/M tok"),
                          (("break-even",), _("break-even\ntok/day"))):
        number_column(t, heading, [n[k] for _o, n in rows for k in keys])
    for o, n in rows:
        where = (_("{quant}, {weights} GiB") if o.nodes == 1 else
                 _("{quant}, {weights} GiB, {nodes} nodes")).format(
                     quant=o.quant, weights=n["weights GiB"], nodes=o.nodes)
        t.add_row(dim_below(o.device_id, where), f"{n['GPUs']}\n{n['GPU GiB']}", n["sessions"],
                  n["tok/s"], f"{n['$/h']}\n{n['$/M tok']}", n["break-even"])
    return t


def _plan_commands(r: Any) -> list[Any]:
    """The plan's commands, as a table of their own at every width: each wraps whole, at its
    spaces."""
    from advisor.output.render import Table

    if not r.options:
        return []
    t = Table(title=_("commands"))
    t.add_column(_("device"), no_wrap=True)
    t.add_column(_("command"))
    for o in r.options:
        t.add_row(o.device_id, o.command)
    return [t]
