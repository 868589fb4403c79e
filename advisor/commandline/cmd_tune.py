"""`advisor draft` and `advisor finetune`: speculative decoding and fine-tuning memory.

Registered from advisor/cli.py with one line; core modules are imported inside the commands.
"""

from typing import Annotated, Any

from advisor.commandline.cli_spec import Argument, Option, Registry
from advisor.i18n import N_, _, tr


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

    @app.command("draft")
    @handle_errors
    def draft_cmd(
        model: Annotated[str, Argument(help="Target model: catalog id or HF repo.")],
        device: DeviceOpt = None,
        draft: Annotated[
            str | None, Option("--draft", help="Check this draft model against the target.")
        ] = None,
        quant: Annotated[
            str | None, Option("--quant", "-q", help="Weight format of target and draft.")
        ] = None,
        context: Annotated[
            int, Option("--context", "-c", help="Tokens in the KV cache (both models).")
        ] = 8192,
        batch: Annotated[int, Option("--batch", help="Concurrent sequences.")] = 1,
        kv_dtype: Annotated[
            str, Option("--kv-dtype", help="KV cache element type: fp16, fp8, q8_0, q4_0.")
        ] = "fp16",
        fmt: FormatOpt = OutputFormat.table,
        as_json: JsonOpt = False,
        output: OutputOpt = None,
    ) -> None:
        """Drafts and MTP heads for speculative decoding: memory, speedup range, commands."""
        from advisor.data.formats import load_tables
        from advisor.data.loader import find_model, find_open_model
        from advisor.estimation.speculative import draft_plan

        cat = load()
        entry = find_open_model(cat, model, "draft for")
        extra = find_model(cat, draft).id if draft else None
        check_count(context, "--context", entry.context.max_tokens)
        check_count(batch, "--batch", 4096)
        tables = load_tables()
        kv_elem = tables.kv_bytes(kv_dtype)
        hw = None
        if device:
            from advisor.estimation.estimate import choose_setup

            hw = hardware(device, None, None, None, 1, None)
            weight_format, _runtime, notes = choose_setup(tables, hw, quant, None)
            for line in notes:
                note(_("note: {message}").format(message=tr(line)))
        else:
            weight_format = tables.weight_format(quant or "bf16")
        result = draft_plan(entry, list(cat.models), weight_format, context, kv_elem, kv_dtype,
                            hw, batch, extra)
        if extra:
            refused = next((r for r in result.refused if r.model_id == extra), None)
            if refused:
                note(_("{draft} refused as a draft for {model}: {reason}").format(
                    draft=extra, model=entry.id, reason=tr(refused.reason)))
        emit(result, fmt, as_json, lambda: _draft_tables(result), output)

    @app.command("finetune")
    @handle_errors
    def finetune_cmd(
        model: Annotated[
            str | None, Argument(help="Catalog id or Hugging Face repo (not with --list).")
        ] = None,
        method: Annotated[
            str, Option("--method", "-m", help="full, lora or qlora.")
        ] = "lora",
        rank: Annotated[int, Option("--rank", help="LoRA rank.")] = 8,
        seq_len: Annotated[
            int, Option("--seq-len", help="Training sequence length (cutoff_len).")
        ] = 2048,
        batch: Annotated[int, Option("--batch", help="Micro-batch per GPU.")] = 1,
        device: DeviceOpt = None,
        gpus: GpusOpt = 1,
        framework: Annotated[
            str, Option("--framework", help="llama-factory, ms-swift or unsloth.")
        ] = "llama-factory",
        list_fit: Annotated[
            bool, Option("--list", help="Which models fit --device for --method.")
        ] = False,
        chinese: Annotated[
            bool, Option("--chinese", help="Download from ModelScope (mainland China).")
        ] = False,
        fmt: FormatOpt = OutputFormat.table,
        as_json: JsonOpt = False,
        output: OutputOpt = None,
    ) -> None:
        """Fine-tuning memory per GPU (weights, adapters, gradients, optimizer, activations),
        fit, training speed and the command to start."""
        from advisor.data.loader import find_open_model, resolve
        from advisor.errors import InputError
        from advisor.estimation.finetune import FRAMEWORKS, METHODS, finetune, fit_list

        meth = resolve(method, {m: m for m in METHODS}, "method")
        fw = resolve(framework, {f: f for f in FRAMEWORKS}, "framework",
                     {"llamafactory": "llama-factory", "swift": "ms-swift"})
        check_count(rank, "--rank", 4096)
        check_count(seq_len, "--seq-len", 10_000_000)
        check_count(batch, "--batch", 4096)
        check_count(gpus, "--gpus", 1024)
        if meth == "full" and rank != 8:
            note(_("note: --rank is ignored for full fine-tuning"))
        hw = hardware(device, None, None, None, gpus, None) if device else None
        if hw is not None and not hw.is_gpu:
            note(_("note: {device} is not a GPU profile; the frameworks train on CUDA/ROCm GPUs")
                 .format(device=hw.name))
        cat = load()
        if list_fit:
            if model:
                raise InputError(_("--list takes no MODEL; give --device and --method"))
            if hw is None:
                raise InputError(_("--list needs --device ID (see `advisor devices`)"))
            listing = fit_list(list(cat.models), meth, fw, rank, seq_len, batch, hw)
            emit(listing, fmt, as_json, lambda: [_fit_table(listing)], output)
            return
        if not model:
            raise InputError(_("finetune needs MODEL (e.g. advisor finetune qwen3-8b --method "
                               "qlora), or --list --device ID"))
        entry = find_open_model(cat, model, "fine-tune")
        if fw == "unsloth" and gpus > 1:
            note(_("note: Unsloth's open-source release trains on one GPU; memory is per GPU"))
        result = finetune(entry, meth, fw, rank, seq_len, batch, gpus, hw, chinese)
        emit(result, fmt, as_json, lambda: _finetune_tables(result), output)


def _gb(n: int | float | None) -> str:
    return "-" if n is None else f"{n / 1e9:.1f} GB"


def _draft_tables(r: Any) -> list[Any]:
    from advisor.output.render import Table, console, dim_below

    head = Table(title=(_("speculative decoding for {model} on {device} ({quant}, {context:,} "
                          "tokens)") if r.device else
                        _("speculative decoding for {model} ({quant}, {context:,} tokens)")).format(
        model=r.model_id, device=r.device or "", quant=r.quant, context=r.context_tokens))
    # Below 100 columns the kind and the why go under the draft; numbers are never wrapped.
    narrow = console().width < 100
    for col in (N_("draft"), *(() if narrow else (N_("kind"), N_("license"))), N_("vocab"),
                N_("weights"), "KV", N_("fits"), *(() if narrow else (N_("why"),))):
        head.add_column(_(col), no_wrap=col not in ("draft", "kind", "why"),
                        ratio=1 if narrow and col == "draft" else None)
    for o in r.options:
        numbers = (f"{o.vocab_size:,}", _gb(o.weights_bytes), _gb(o.kv_cache_bytes),
                   "-" if o.fits is None else (_("yes") if o.fits else _("no")))
        if narrow:
            head.add_row(dim_below(o.model_id, f"{o.kind}; {o.license}; {tr(o.why)}"), *numbers)
        else:
            head.add_row(o.model_id, o.kind, o.license, *numbers, tr(o.why))
    tables: list[Any] = [head]
    if not r.options:
        empty = Table(title=_("no compatible draft in the catalog and no MTP head"))
        empty.add_column(_("note"))
        empty.add_row(_("speculative decoding is not available for this model here"))
        tables.append(empty)
    if r.refused:
        ref = Table(title=_("refused"))
        ref.add_column(_("draft"))
        ref.add_column(_("reason"))
        for x in r.refused:
            ref.add_row(x.model_id, tr(x.reason))
        tables.append(ref)
    for s in r.speedup:
        sp = Table(title=_("{kind} speedup {low:.2f}x to {high:.2f}x ({basis})").format(
            kind=s.kind, low=s.low, high=s.high, basis=tr(s.basis)))
        for col in (N_("target"), *(() if narrow else (N_("runtime"),)), "tokens/s",
                    N_("speedup"), *(() if narrow else (N_("setup"), N_("source")))):
            sp.add_column(_(col), no_wrap=col in ("tokens/s", "speedup"),
                          ratio=1 if narrow and col == "target" else None)
        for row in s.rows:
            speed = f"{row.baseline_tokens_per_s:g} -> {row.speculative_tokens_per_s:g}"
            if narrow:
                sp.add_row(dim_below(row.target, f"{row.runtime}; {row.setup}; {row.source}"),
                           speed, f"{row.speedup:.2f}x")
            else:
                sp.add_row(row.target, row.runtime, speed, f"{row.speedup:.2f}x", row.setup,
                           row.source)
        tables.append(sp)
    cav = Table(title=_("where gains vanish"))
    cav.add_column(_("applies here"))
    cav.add_column(_("case"))
    cav.add_column(_("source"))
    for c in r.caveats:
        cav.add_row(_("yes") if c.applies_now else "", tr(c.text), c.source)
    tables.append(cav)
    if r.commands:
        cmd = Table(title=_("commands"))
        cmd.add_column(_("runtime"))
        cmd.add_column(_("kind"))
        cmd.add_column(_("command"))
        for c in r.commands:
            cmd.add_row(c.runtime, c.kind,
                        c.command + (f"\n({tr(c.note)})" if c.note else ""))
        tables.append(cmd)
    return tables


def _finetune_tables(r: Any) -> list[Any]:
    from advisor.output.render import Table

    m = r.memory
    mem = Table(title=(_("{model}: {method} with {framework} on {device} (rank {rank}, {batch} x "
                         "{seq_len} tokens, {gpus} GPU)") if r.device else
                       _("{model}: {method} with {framework} (rank {rank}, {batch} x {seq_len} "
                         "tokens, {gpus} GPU)")).format(
        model=r.model_id, method=r.method, framework=r.framework, device=r.device or "",
        rank=r.rank, batch=r.batch, seq_len=r.seq_len, gpus=r.gpus), show_header=False)
    mem.add_column(_("component"))
    mem.add_column(_("per GPU"))
    for label, value in (
        (_("weights"), m.weights_bytes), (_("adapters"), m.adapters_bytes),
        (_("gradients"), m.gradients_bytes),
        (_("optimizer ({optimizer})").format(optimizer=r.optimizer), m.optimizer_bytes),
        (_("activations (checkpointing on)") if r.gradient_checkpointing
         else _("activations (checkpointing off)"), m.activations_bytes),
        ("  " + _("without checkpointing"), m.activations_without_checkpointing_bytes),
        ("  " + _("with checkpointing"), m.activations_with_checkpointing_bytes),
        (_("framework overhead"), m.overhead_bytes), (_("total"), m.total_bytes),
    ):
        mem.add_row(label, _gb(value))
    mem.add_row(_("trainable parameters"), f"{r.trainable_params:,}")
    mem.add_row(_("license"), r.license)
    if r.usable_bytes_per_gpu is not None:
        mem.add_row(_("usable per GPU"), _gb(r.usable_bytes_per_gpu))
        mem.add_row(_("fits"), _("yes") if r.fits else _("no"))
    if r.training_tokens_per_s:
        mem.add_row(_("training speed"), f"~{r.training_tokens_per_s:,.0f} tokens/s")
    start = Table(title=_("to start"), show_header=False)
    start.add_column(_("what"))
    start.add_column(_("text"))
    if r.config_file:
        start.add_row(r.config_file, r.config_text)
    start.add_row(_("command"), r.command)
    notes = Table(title=_("assumptions"), show_header=False)
    notes.add_column(_("note"))
    for line in r.notes:
        notes.add_row(tr(line))
    return [mem, start, notes]


def _fit_table(r: Any) -> Any:
    from advisor.output.render import Table, console, dim_below

    t = Table(title=_("{method} with {framework} on {device} ({gpus} GPU, {batch} x {seq_len} "
                      "tokens): {count} fit").format(
        method=r.method, framework=r.framework, device=r.device, gpus=r.gpus,
        batch=r.batch, seq_len=r.seq_len, count=len(r.fitting)))
    t.add_column(_("model"), ratio=1)
    t.add_column(_("params"), no_wrap=True)
    t.add_column(_("per GPU"), no_wrap=True)
    t.add_column(_("fits"), no_wrap=True)
    narrow = console().width < 100  # the licence under the model, so ids keep their width
    if not narrow:
        t.add_column(_("license"), no_wrap=True)
    for row in (*r.fitting, *r.not_fitting):
        cells = (f"{row.params_total / 1e9:.1f}B", _gb(row.total_bytes),
                 _("yes") if row.fits else _("no"))
        if narrow:
            t.add_row(dim_below(row.model_id, row.license), *cells)
        else:
            t.add_row(row.model_id, *cells, row.license)
    return t
