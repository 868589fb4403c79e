"""The `advisor` command line: parse options, call the core, hand results to render/output.

Commands are declared with advisor.commandline.cli_spec's Option/Argument and registered in
`commands`; a plain command line is read without Typer (cli_spec.parse), and Typer, built from the
same declarations (advisor.commandline.cli_typer), reads the rest: help, usage errors, anything
unusual.
Heavy modules (the core, the tables; pydantic for JSON and fresh catalog checks) are imported inside
commands. No `from __future__ import annotations` here: the reader takes each option's
declaration from the annotation objects, and Typer would evaluate every annotation string.
"""

import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from advisor.commandline.cli_spec import Argument, Option, Registry, echo, parse
from advisor.i18n import _, tr

if TYPE_CHECKING:
    from advisor.data.records import Record
    from advisor.data.schema import Catalog

F = TypeVar("F", bound=Callable[..., Any])


commands = Registry(
    name="advisor",
    help="Which Qwen model to run, on what, how, and how fast. Works offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain Click help: no Rich import on --help or usage errors
)
"""Every command, as Typer is given them when it runs (advisor.commandline.cli_typer); most runs
are read without it (advisor.commandline.cli_spec.parse)."""
catalog_commands = Registry(help="Validate catalog files.", no_args_is_help=True,
                            rich_markup_mode=None)
commands.add_typer(catalog_commands, name="catalog")


def __getattr__(name: str) -> Any:
    """`advisor.cli.app`: the whole Typer app, built when first asked for (tests, tools)."""
    if name == "app":
        from advisor.commandline.cli_typer import whole

        return whole(commands)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def app_for(args: list[str]) -> Any:
    """The Typer app to run `args` with (advisor.commandline.cli_typer.app_for)."""
    from advisor.commandline.cli_typer import app_for as build

    return build(commands, args)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"
    html = "html"
    """A self-contained page with charts: recommend and report only (advisor.output.report)."""


FormatOpt = Annotated[
    OutputFormat, Option("--format", "-f", help="Output format.", case_sensitive=False)
]
JsonOpt = Annotated[bool, Option("--json", help="Shorthand for --format json.")]
OutputOpt = Annotated[
    Path | None,
    Option("--output", "-o", help="Write the document to this file (atomically) instead "
                 "of stdout; regular files only (a symlink is written through)."),
]

_state: dict[str, Path | None] = {"catalog": None}


def _debug() -> bool:
    """ADVISOR_DEBUG read as a boolean: unset, empty, 0, false, no and off are off."""
    value = os.environ.get("ADVISOR_DEBUG", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def handle_errors(fn: F) -> F:
    """Turn AdvisorError into `error: ...` lines on stderr and its exit code (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from advisor.errors import AdvisorError, error_lines

        try:
            return fn(*args, **kwargs)
        except AdvisorError as exc:
            if _debug():
                raise
            text = tr(exc.args[0]) if len(exc.args) == 1 and isinstance(exc.args[0], str) \
                else str(exc)  # a deferred message (i18n.msg) shown in the user's language
            for line in error_lines(text) if text else [type(exc).__name__]:
                echo(_("error: {message}").format(message=line), err=True)
            raise SystemExit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def emit(result: "Record", fmt: OutputFormat, as_json: bool, tables: Callable[[], list[Any]],
         output: Path | None = None, html: Callable[[], str] | None = None) -> None:
    """The one place that decides how a result document is printed or written; `html` makes
    the HTML page of the commands that have one."""
    chosen = OutputFormat.json if as_json else fmt
    by_suffix = _SUFFIX_FORMATS.get(output.suffix.lower()) if output is not None else None
    if by_suffix is not None:
        from advisor.errors import InputError

        if (as_json or fmt is not OutputFormat.table) and chosen is not by_suffix:
            raise InputError(_("-o {output} asks for {wanted} but --format says {chosen}; "
                               "change the file's extension or drop --format").format(
                                   output=output, wanted=by_suffix.value, chosen=chosen.value))
        chosen = by_suffix
    if chosen is OutputFormat.html and html is None:
        from advisor.errors import InputError

        raise InputError(_("{option}: HTML is made by `advisor report` and `advisor recommend` "
                           "only; use json, markdown, csv or the table (.json, .md, .csv, .txt)"
                           ).format(option=f"-o {output}" if by_suffix else "--format html"))
    if chosen is OutputFormat.table and output is None:
        from advisor.output.render import console

        out = console()
        for table in tables():
            out.print(table)
        return
    from advisor.output import export

    renderers: dict[OutputFormat, Callable[[], str]] = {
        OutputFormat.json: lambda: export.to_json(result),
        OutputFormat.markdown: lambda: export.to_markdown(result),
        OutputFormat.csv: lambda: export.to_csv(result),
        OutputFormat.table: lambda: export.render_text(tables),
        OutputFormat.html: html or (lambda: ""),
    }
    text = renderers[chosen]()
    if output is None:
        sys.stdout.write(export.for_stdout(text, chosen is OutputFormat.json))
    else:
        export.write_atomic(output, text)
        note(_("wrote {path}").format(path=output))


_SUFFIX_FORMATS = {".json": OutputFormat.json, ".md": OutputFormat.markdown,
                   ".markdown": OutputFormat.markdown, ".csv": OutputFormat.csv,
                   ".html": OutputFormat.html, ".htm": OutputFormat.html}
"""-o's extension picks the format unless --format/--json says otherwise (a conflict is an error);
other extensions (.txt) keep --format, whose default is the table."""


def render() -> Any:
    """advisor.output.render, imported when a table is printed: JSON, CSV and Markdown runs never
    import Rich."""
    import advisor.output.render

    return advisor.output.render


def note(message: str) -> None:
    """Notes, assumptions and hints go to stderr so stdout stays parseable (and, holding names
    a tool or a catalog gave, without control characters)."""
    from advisor.errors import strip_controls

    echo(strip_controls(str(message)), err=True)


def load() -> "Catalog":
    from advisor.data.loader import load_catalog

    return load_catalog(_state["catalog"])


@commands.callback()
def root(
    catalog: Annotated[
        Path | None,
        Option(
            "--catalog",
            envvar="ADVISOR_CATALOG",
            help="Model catalog TOML to use instead of the packaged one "
            "(set `extends_packaged = true` in it to add to the packaged models).",
            dir_okay=True,
            readable=False,  # the loader says "cannot be read" itself: exit 1, the file named
        ),
    ] = None,
    lang: Annotated[
        str | None,
        Option("--lang", help="Language of tables, notes, errors and help: en or zh "
                     "(default: from LANGUAGE, LC_ALL, LC_MESSAGES or LANG). May follow the "
                     "command: advisor recommend --device phone --lang zh."),
    ] = None,
) -> None:
    """Which Qwen model to run, on what, how, and how fast. Works offline."""
    del lang  # taken off the command line by AdvisorGroup.main before Click parses it
    _state["catalog"] = catalog


@commands.command("models")
@handle_errors
def models_cmd(
    family: Annotated[str | None, Option(help="Only this family, e.g. qwen3.")] = None,
    task: Annotated[str | None, Option(help="Only models for this task, e.g. code.")] = None,
    open_only: Annotated[bool, Option("--open-only", help="Only open-weight models.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """List the catalog's models."""
    reject_empty(family=family, task=task)
    from advisor.data.loader import resolve
    from advisor.data.schema import TASKS
    from advisor.output.results import ModelsResult, ModelView

    cat = load()
    chosen = list(cat.models)
    if family:
        families = {m.family: m.family for m in cat.models}
        fam = resolve(family, families, "family")
        chosen = [m for m in chosen if m.family == fam]
    if task:
        wanted = resolve(task, {t: t for t in TASKS}, "task")
        chosen = [m for m in chosen if wanted in m.tasks]
    if open_only:
        chosen = [m for m in chosen if m.open_weights]
    newer = cat.superseded_by()
    result = ModelsResult(models=tuple(ModelView.of(m, newer.get(m.id, ())) for m in chosen))
    emit(result, fmt, as_json, lambda: [render().models_table(result)], output)


@commands.command("show")
@handle_errors
def show_cmd(
    model: Annotated[str, Argument(help="Catalog id or Hugging Face repo, e.g. qwen3-8b.")],
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Everything about one model, its sources included."""
    from advisor.data.loader import find_model
    from advisor.output.results import ModelView, ShowResult
    from advisor.recipes import all_recipes

    cat = load()
    entry = find_model(cat, model)
    context = min(entry.context.native_tokens, 32768)
    view = ModelView.of(entry, cat.superseded_by().get(entry.id, ()))
    result = ShowResult(model=view, recipes=tuple(all_recipes(entry, context)))
    emit(result, fmt, as_json, lambda: render().model_tables(result.model, result.recipes), output)


@catalog_commands.command("check")
@handle_errors
def catalog_check_cmd(
    path: Annotated[
        Path | None, Argument(help="Catalog file to check (default: the packaged one).")
    ] = None,
) -> None:
    """Validate a model catalog and print every problem (exit 1 if there is any)."""
    from advisor.data.loader import check_catalog, load_catalog

    target = path or _state["catalog"]
    problems = check_catalog(target)
    if problems:
        from advisor.errors import error_lines

        for line in (shown for problem in problems for shown in error_lines(problem)):
            echo(_("error: {message}").format(message=line), err=True)
        raise SystemExit(1)
    count = len(load_catalog(target).models)
    echo(_("ok: {count} models, every fact backed by a source").format(count=count))


DeviceOpt = Annotated[
    str | None,
    Option("--device", "-d", help="Device id or class (phone, laptop, mac, gpu, server, "
                 "edge), or 'auto' to detect this machine. See `advisor devices`."),
]
MemoryOpt = Annotated[
    str | None, Option("--memory-gb", help="Memory per device: 16, 16GB, 16GiB, 16g.")
]
BandwidthOpt = Annotated[
    float | None, Option("--bandwidth-gb-s", help="Memory bandwidth in GB/s.")
]
TflopsOpt = Annotated[float | None, Option("--tflops", help="Dense FP16 TFLOPS.")]
GpusOpt = Annotated[int, Option("--gpus", help="Identical GPUs in one node (tensor parallel).")]
RamOpt = Annotated[str | None, Option("--ram-gb", help="Host RAM for offload.")]


def hardware(device: str | None, memory: str | None, bandwidth: float | None,
             tflops: float | None, gpus: int, ram: str | None) -> Any:
    """Effective hardware from the shared options; notes on what was assumed go to stderr."""
    from advisor.data.hardware import HardwareQuery, hardware_from, parse_size_gib

    reject_empty(device=device, memory_gb=memory, ram_gb=ram)  # serve, plan, draft, finetune too

    query = HardwareQuery(
        device=None if device == "auto" else device,
        memory_gib=parse_size_gib(memory, "--memory-gb") if memory else None,
        bandwidth_gb_s=bandwidth,
        tflops=tflops,
        gpus=gpus,
        ram_gib=parse_size_gib(ram, "--ram-gb") if ram else None,
    )
    if device and device.strip().lower() == "auto":
        from advisor.data.detect import map_probe, probe
        from advisor.data.hardware import load_devices

        detection = map_probe(probe(), load_devices())
        for line in detection.notes:
            note(_("note: {message}").format(message=tr(line)))
        if detection.device_id is None or not (memory or bandwidth or tflops or gpus > 1 or ram):
            return detection.hardware
        from advisor.data.hardware import find_device

        return hardware_from(query, find_device(detection.device_id)[0])
    hw = hardware_from(query)
    for line in hw.notes:
        note(_("note: {message}").format(message=tr(line)))
    return hw


@commands.command("devices")
@handle_errors
def devices_cmd(
    device_class: Annotated[
        str | None, Option("--class", help="Only this class, e.g. consumer-gpu.")
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """List the device profiles."""
    reject_empty(**{"class": device_class})
    from advisor.data.hardware import load_devices
    from advisor.data.loader import resolve
    from advisor.output.results import DevicesResult

    cat = load_devices()
    chosen = list(cat.devices.values())
    if device_class:
        classes: dict[str, str] = {d.device_class: d.device_class for d in chosen}
        wanted = resolve(device_class, classes, "device class")
        chosen = [d for d in chosen if d.device_class == wanted]
    result = DevicesResult(devices=tuple(chosen), aliases=cat.aliases)
    emit(result, fmt, as_json, lambda: [render().devices_table(result)], output)


@commands.command("detect")
@handle_errors
def detect_cmd(
    fmt: FormatOpt = OutputFormat.table, as_json: JsonOpt = False, output: OutputOpt = None
) -> None:
    """Show what this machine is taken to be (RAM, CPU, GPUs) and the profile it maps to."""
    from advisor.data.detect import map_probe, probe
    from advisor.data.hardware import load_devices

    result = map_probe(probe(), load_devices())
    emit(result, fmt, as_json, lambda: [render().detection_table(result)], output)


@commands.command("estimate")
@handle_errors
def estimate_cmd(
    model: Annotated[str, Argument(help="Catalog id or Hugging Face repo.")],
    device: DeviceOpt = None,
    memory: MemoryOpt = None,
    bandwidth: BandwidthOpt = None,
    tflops: TflopsOpt = None,
    gpus: GpusOpt = 1,
    ram: RamOpt = None,
    quant: Annotated[str | None, Option("--quant", "-q", help="Weight format, e.g. q4_k_m, awq, fp8.")] = None,
    runtime: Annotated[str | None, Option("--runtime", "-r", help="llama.cpp, ollama, vllm, sglang, mlx, transformers, mnn, mlc.")] = None,
    context: Annotated[int | None, Option("--context", "-c", help="Tokens held in the KV cache (prompt + generated). Default: 8192 or the model's maximum if smaller.")] = None,
    prompt: Annotated[int | None, Option("--prompt", help="Prompt tokens for time to first token (default: the context).")] = None,
    batch: Annotated[int, Option("--batch", help="Concurrent sequences.")] = 1,
    kv_dtype: Annotated[str, Option("--kv-dtype", help="KV cache element type: fp16, fp8, q8_0, q4_0.")] = "fp16",
    task: Annotated[str | None, Option("--task", "-t", help="The job (default: a text job): for vision, video or audio the runtime also loads the model's vision/audio towers, and they are counted.")] = None,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Memory, fit, longest context and speed of one model on one device."""
    reject_empty(device=device, memory_gb=memory, ram_gb=ram, quant=quant, runtime=runtime,
                 task=task)
    from advisor.data.formats import load_tables
    from advisor.data.loader import find_open_model, resolve
    from advisor.data.schema import TASKS
    from advisor.estimation.estimate import choose_setup, estimate

    task_id = resolve(task, {t: t for t in TASKS}, "task") if task else None

    cat = load()
    entry = find_open_model(cat, model, "run locally")
    hw = hardware(device, memory, bandwidth, tflops, gpus, ram)
    tables = load_tables()
    check_count(batch, "--batch", 4096)
    ctx = context if context is not None else min(8192, entry.context.max_tokens)
    check_count(ctx, "--context", 100_000_000)
    if prompt is not None:
        check_count(prompt, "--prompt", 100_000_000)
    weight_format, rt, notes = choose_setup(tables, hw, quant, runtime)
    for line in notes:
        note(_("note: {message}").format(message=tr(line)))
    result = estimate(entry, hw, tables, weight_format, rt, ctx, prompt, batch, kv_dtype,
                      task=task_id)
    result = _with_speculative(result, entry, weight_format, ctx, tables, kv_dtype, hw, batch)
    emit(result, fmt, as_json, lambda: render().estimate_tables(result), output)


def _with_speculative(result: Any, entry: Any, weight_format: Any, ctx: int, tables: Any,
                      kv_dtype: str, hw: Any, batch: int) -> Any:
    """The estimate with its `speculative` section (issue 16); a note says it on stderr."""
    from advisor.estimation.estimate import Estimate
    from advisor.estimation.speculative import draft_plan, summary

    plan = draft_plan(entry, list(load().models), weight_format, ctx, tables.kv_bytes(kv_dtype),
                      kv_dtype, hw, batch)
    spec = summary(plan)
    if spec.method != "none" and spec.speedup_low is not None:
        note(_("note: speculative decoding ({method}): published {low:.2f}x-{high:.2f}x; "
               "`advisor draft {model}`").format(
                   method=spec.method + (" " + spec.draft_model_id if spec.draft_model_id else ""),
                   low=spec.speedup_low, high=spec.speedup_high, model=entry.id))
    values = {name: getattr(result, name) for name in result.__record_fields__}
    return Estimate(**{**values, "speculative": spec})


@commands.command("recommend")
@handle_errors
def recommend_cmd(
    device: DeviceOpt = None,
    memory: MemoryOpt = None,
    bandwidth: BandwidthOpt = None,
    tflops: TflopsOpt = None,
    gpus: GpusOpt = 1,
    ram: RamOpt = None,
    private: Annotated[bool, Option("--private", help="Data must not leave your device or premises: no cloud APIs.")] = False,
    chinese: Annotated[bool, Option("--chinese", help="Chinese-language need: prefer stronger C-Eval/CMMLU, show ModelScope.")] = False,
    task: Annotated[str, Option("--task", "-t", help="chat, reasoning, code, math, vision, video, audio, embedding, rerank, tool-use, long-context, moderation.")] = "chat",
    context: Annotated[int | None, Option("--context", "-c", help="Minimum context (tokens) the job needs.")] = None,
    commercial: Annotated[bool, Option("--commercial", help="License must allow commercial use.")] = False,
    min_speed: Annotated[float | None, Option("--min-speed", help="Minimum decode speed, tokens/s.")] = None,
    runtime: Annotated[str | None, Option("--runtime", "-r", help="Only this runtime.")] = None,
    quant: Annotated[str | None, Option("--quant", "-q", help="Only this weight format.")] = None,
    top: Annotated[int, Option("--top", "-n", help="How many picks to show.")] = 5,
    explain: Annotated[bool, Option("--explain", help="Print every rule's verdict for every model.")] = False,
    why_not: Annotated[str | None, Option("--why-not", help="Explain why one model is not recommended.")] = None,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Ranked picks for your device and needs, each with its reasons."""
    reject_empty(device=device, memory_gb=memory, ram_gb=ram, quant=quant, runtime=runtime,
                 why_not=why_not)
    from advisor.data.formats import load_tables
    from advisor.data.loader import find_model, resolve
    from advisor.data.schema import TASKS
    from advisor.errors import InputError, strip_controls
    from advisor.ranking.recommend import recommend
    from advisor.ranking.rules import Constraints, load_scoring

    if device is None and memory is None:
        raise InputError(_("recommend needs hardware: --device ID|class|auto (see `advisor "
                           "devices`) or --memory-gb SIZE"))
    task_id = resolve(task, {t: t for t in TASKS}, "task")
    check_count(top, "--top", 1000)
    if context is not None:
        check_count(context, "--context", 100_000_000)
    if min_speed is not None:
        from advisor.data.hardware import check_positive

        check_positive(min_speed, "--min-speed", min_speed, upper=1e6)
    tables = load_tables()
    if quant:
        quant = tables.weight_format(quant).id
    if runtime:
        runtime = tables.runtime(runtime).id
    if quant and runtime and tables.formats[quant].family not in tables.runtimes[runtime].format_families:
        raise InputError(_("--quant {quant} conflicts with --runtime {runtime}: {runtime} runs "
                           "{families} formats").format(
                               quant=quant, runtime=runtime,
                               families=", ".join(tables.runtimes[runtime].format_families)))
    cat = load()
    target = find_model(cat, why_not).id if why_not else None
    hw = hardware(device, memory, bandwidth, tflops, gpus, ram)
    constraints = Constraints(
        private=private, chinese=chinese, task=task_id, context_tokens=context,
        commercial=commercial, min_speed_tokens_per_s=min_speed, runtime=runtime, quant=quant,
        top=top,
    )
    result = recommend(cat, hw, tables, constraints, load_scoring())
    if not private and any(p.deployment == "cloud-api" for p in result.recommendations):
        note(_("note: cloud API models are listed apart; add --private to keep data on "
               "premises"))
    if result.closest:
        note(_("note: nothing fits this device; {closest}").format(closest=tr(result.closest)))
    if target:
        # A document (--json, --format, -o) is the whole result, whose `excluded` entry or pick
        # holds the answer; the lines then go to stderr, so stdout stays that document.
        document = as_json or fmt is not OutputFormat.table or output is not None
        explain_one = [e for e in result.excluded if e.model_id == target]
        if not explain_one:
            pick = next(p for p in result.recommendations if p.model_id == target)
            note(_("{model} is recommended (rank {rank}): {why}").format(
                model=target, rank=pick.rank, why=tr(pick.why)))
        for e in explain_one:
            for r in e.reasons:
                (note if document else echo)(strip_controls(
                    f"{target}: {r.rule}: {tr(r.message)}"))
        if not document:
            return
    emit(result, fmt, as_json,
         lambda: [*render().recommend_tables(result, chinese),
                 *([render().explain_table(result)] if explain else [])],
         output, lambda: report_html(cat, hw, tables, constraints, result))


def report_html(cat: "Catalog", hw: Any, tables: Any, constraints: Any, result: Any) -> str:
    from advisor.output.report import report_data, to_html
    from advisor.ranking.rules import load_scoring

    return to_html(report_data(cat, hw, tables, constraints, load_scoring(), result))


def report_cmd(**options: Any) -> None:
    """One self-contained HTML page to share: the picks and their reasons, charts of quality
    against memory and of speed against context, and the run commands (recommend's options)."""
    recommend_cmd(**options, fmt=OutputFormat.html, as_json=False, explain=False, why_not=None)


def _recommend_options() -> Any:
    """recommend's options less the output format and explain ones: `report` takes these."""
    import inspect

    signature = inspect.signature(recommend_cmd)
    return signature.replace(parameters=[
        p for p in signature.parameters.values()
        if p.name not in ("fmt", "as_json", "explain", "why_not")])


commands.command("report", signature=_recommend_options)(handle_errors(report_cmd))


@commands.command("compare")
@handle_errors
def compare_cmd(
    models: Annotated[list[str], Argument(help="Two or more catalog ids or repos.")],
    device: DeviceOpt = None,
    memory: MemoryOpt = None,
    bandwidth: BandwidthOpt = None,
    tflops: TflopsOpt = None,
    gpus: GpusOpt = 1,
    ram: RamOpt = None,
    quant: Annotated[str | None, Option("--quant", "-q", help="Weight format for memory and speed.")] = None,
    runtime: Annotated[str | None, Option("--runtime", "-r", help="Runtime for speed.")] = None,
    context: Annotated[int, Option("--context", "-c", help="Tokens in the KV cache.")] = 8192,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Compare models side by side (rows: attributes; best value per row marked)."""
    reject_empty(device=device, memory_gb=memory, ram_gb=ram, quant=quant, runtime=runtime)
    from advisor.data.formats import load_tables
    from advisor.data.loader import find_model
    from advisor.errors import InputError
    from advisor.estimation.estimate import choose_setup
    from advisor.ranking.compare import compare

    cat = load()
    entries = [find_model(cat, name) for name in models]
    if len(entries) < 2:
        raise InputError(_("compare needs at least two models, e.g. advisor compare qwen3-8b "
                           "qwen3-14b"))
    check_count(context, "--context", 100_000_000)
    tables = load_tables()
    hw = rt = None
    weight_format = tables.weight_format(quant or "bf16")
    if device or memory:
        hw = hardware(device, memory, bandwidth, tflops, gpus, ram)
        weight_format, rt, notes = choose_setup(tables, hw, quant, runtime)
        for line in notes:
            note(_("note: {message}").format(message=tr(line)))
    result = compare(entries, tables, weight_format, context, hw, rt)
    emit(result, fmt, as_json, lambda: render().compare_tables(result), output)


@commands.command("run")
@handle_errors
def run_cmd(
    model: Annotated[str, Argument(help="Catalog id or Hugging Face repo.")],
    runtime: Annotated[str | None, Option("--runtime", "-r", help="Only this runtime: vllm, sglang, llama.cpp, ollama, lm-studio, mlx, transformers, mnn, mlc, executorch.")] = None,
    quant: Annotated[str | None, Option("--quant", "-q", help="Weight format.")] = None,
    context: Annotated[int | None, Option("--context", "-c", help="Context to serve (default: native).")] = None,
    gpus: GpusOpt = 1,
    source: Annotated[str, Option("--source", help="Download from huggingface or modelscope first.")] = "huggingface",
    task: Annotated[str | None, Option("--task", "-t", help="The job: adds parsers (tool-use, code) or keeps the vision encoder (vision).")] = None,
    kv_dtype: Annotated[str | None, Option("--kv-dtype", help="Quantized KV cache: q8_0 (llama.cpp) or fp8 (vLLM).")] = None,
    chinese: Annotated[bool, Option("--chinese", help="Same as --source modelscope.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
) -> None:
    """Print just the commands to get and run a model."""
    reject_empty(runtime=runtime, quant=quant, task=task, kv_dtype=kv_dtype)
    from advisor.data.formats import load_tables
    from advisor.data.loader import find_model, resolve
    from advisor.data.schema import TASKS
    from advisor.errors import InputError
    from advisor.recipes import RUNTIME_NAMES, RunResult, all_recipes, recipes, why_not

    cat = load()
    entry = find_model(cat, model)
    if not entry.open_weights:
        raise InputError(_("'{model}' is API-only: there are no weights to run").format(
            model=entry.id))
    where = resolve(source, {"huggingface": "huggingface", "modelscope": "modelscope"}, "source",
                    {"hf": "huggingface", "ms": "modelscope"})
    wanted = resolve(runtime, {v: v for v in RUNTIME_NAMES.values()}, "runtime",
                     RUNTIME_NAMES) if runtime else None
    task_id = resolve(task, {t: t for t in TASKS}, "task") if task else None
    if kv_dtype and kv_dtype not in ("q8_0", "fp8"):
        raise InputError(_("--kv-dtype: '{dtype}' is not q8_0 or fp8").format(dtype=kv_dtype))
    ctx = context or entry.context.native_tokens
    check_count(ctx, "--context", entry.context.max_tokens)
    tables = load_tables()
    modelscope = where == "modelscope" or chinese
    options: dict[str, Any] = {"task": task_id, "runtime": wanted, "kv_dtype": kv_dtype}
    found = (recipes(entry, tables.weight_format(quant).id, ctx, gpus, modelscope, **options)
             if quant else all_recipes(entry, ctx, gpus, modelscope, **options))
    if not found and not quant and wanted == "mlx":  # convert-yourself when nothing is listed
        found = recipes(entry, "mlx-4bit", ctx, gpus, modelscope, **options)
    if not found:
        raise InputError(tr(why_not(entry, wanted)) if wanted else
                         _("no artifact of {model} runs at {quant}; see `advisor show {model}`")
                         .format(model=entry.id, quant=quant or _("any format")))
    result = RunResult(model_id=entry.id, context_tokens=ctx, recipes=tuple(found))

    def tables_() -> list[Any]:
        from advisor.output.render import recipes_table

        return [recipes_table(result.recipes)]

    if fmt is OutputFormat.table and not as_json and output is None:
        for r in found:
            echo(f"# {r.runtime}" + (f" [{r.runtime_version}]" if r.runtime_version else "")
                       + (f" ({tr(r.note)})" if r.note else ""))
            for command in r.commands:
                echo(command)
        return
    emit(result, fmt, as_json, tables_, output)


@commands.command("schema")
@handle_errors
def schema_cmd(
    document: Annotated[str, Argument(help="recommend, compare, models, show, estimate, "
                                            "devices or detect.")],
) -> None:
    """Print the JSON Schema of a command's JSON output."""
    import json

    from advisor.data.loader import resolve

    types = document_types()
    name = resolve(document, {k: k for k in types}, "document")
    from advisor.data.validation import json_schema

    schema = json_schema(types[name]())
    sys.stdout.write(json.dumps(schema, indent=2) + "\n")


def document_types() -> dict[str, Callable[[], type["Record"]]]:
    """Each command's JSON document type, imported only when asked for."""

    def lazy(module: str, name: str) -> Callable[[], type["Record"]]:
        def get() -> type["Record"]:
            import importlib

            return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]

        return get

    return {
        "recommend": lazy("advisor.ranking.recommend", "Recommendation"),
        "compare": lazy("advisor.ranking.compare", "CompareResult"),
        "models": lazy("advisor.output.results", "ModelsResult"),
        "show": lazy("advisor.output.results", "ShowResult"),
        "estimate": lazy("advisor.estimation.estimate", "Estimate"),
        "devices": lazy("advisor.output.results", "DevicesResult"),
        "detect": lazy("advisor.data.detect", "Detection"),
        "run": lazy("advisor.recipes", "RunResult"),
        "serve": lazy("advisor.estimation.serve", "ServeResult"),
        "plan": lazy("advisor.estimation.plan", "PlanResult"),
        "draft": lazy("advisor.estimation.speculative", "DraftResult"),
        "finetune": lazy("advisor.estimation.finetune", "FinetuneResult"),
        "finetune-list": lazy("advisor.estimation.finetune", "FinetuneList"),
    }


def reject_empty(**options: str | None) -> None:
    """An option given as '' (`--memory-gb "$UNSET"`) is an error, not the option left out."""
    from advisor.errors import InputError

    for name, value in options.items():
        if value is not None and not value.strip():
            flag = "--" + name.replace("_", "-")
            raise InputError(f"{flag}: empty value; give a value or leave the option out")


def check_count(value: int, option: str, upper: int) -> None:
    from advisor.errors import InputError

    if value < 1 or value > upper:
        raise InputError(_("{option}: {value} is out of range; give 1 to {upper:,}").format(
            option=option, value=value, upper=upper))


from advisor.commandline.cmd_serve import register as _register_serve  # noqa: E402

_register_serve(commands)
from advisor.commandline.cmd_tune import register as _register_tune  # noqa: E402

_register_tune(commands)


def main() -> None:
    """The command line (run by `advisor.__main__`): no traceback escapes unless ADVISOR_DEBUG
    is set."""
    import signal

    from advisor.errors import ClosedStdout, output_failure

    # SIGTERM unwinds like Ctrl-C, so a half-written -o temp file or cache entry is removed
    signal.signal(signal.SIGTERM, _terminated)
    if sys.stdout is None:  # started with stdout closed: writing it is an error (exit 1)
        sys.stdout = ClosedStdout()
    elif (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        try:
            call = plain_call(sys.argv[1:])
            if call is not None:
                call.run()
            else:
                app_for(sys.argv[1:])()
        finally:
            sys.stdout.flush()  # a full disk shows here, while it can still be reported
    except Exception as exc:  # a bug, not bad input: say so in one line
        failed = output_failure(exc)
        if failed is not None:  # stdout closed, full or gone: one line, or none for a pipe
            _silence_stdout()
            if not isinstance(exc, BrokenPipeError):
                echo(f"error: {failed}", err=True)
            sys.exit(1)
        if _debug():
            raise
        echo(_("error: internal error ({kind}: {detail}); rerun with ADVISOR_DEBUG=1 for "
                     "the traceback and report it").format(kind=type(exc).__name__, detail=exc),
                   err=True)
        sys.exit(1)


def plain_call(args: list[str]) -> Any:
    """The call a plain command line makes, read without Typer (advisor.commandline.cli_spec
    .parse), in the language it asks for; None: Typer reads it (help, errors, anything unusual)."""
    from advisor import i18n
    from advisor.errors import InputError

    try:
        words, lang = i18n.take_lang_option(args)
    except InputError:
        return None
    call = parse(commands, words)
    if call is not None:
        i18n.set_language(lang)
    return call


def _silence_stdout() -> None:
    """Point descriptor 1 at /dev/null, so the interpreter's last flush of what could not be
    written does not fail again at exit."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
