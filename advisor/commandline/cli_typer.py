"""The Typer app of the command line, built from advisor.cli's registry when it is needed.

Typer runs help, usage errors and every command line advisor.commandline.cli_spec's reader
declines; the declarations (cli_spec.Option/Argument) become typer.Option/typer.Argument here, in
a signature given to each command, so the functions themselves are left as declared.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from advisor.commandline.cli_spec import Command, Param, Registry
from advisor.i18n import _, tr

F = Callable[..., Any]


class AdvisorGroup(typer.core.TyperGroup):
    """The root command: takes `--lang` from anywhere on the command line before Click parses
    it (a global option that may follow the command); in Chinese it translates the help texts
    and says Click's usage errors (unknown option, bad value ...) in Chinese too."""

    def main(self, args: Any = None, *rest: Any, **extra: Any) -> Any:
        from advisor import i18n

        argv = list(sys.argv[1:] if args is None else args)
        try:
            argv, lang = i18n.take_lang_option(argv)
        except Exception as exc:  # InputError: one line, exit 2, as for any bad input
            i18n.set_language(None)
            typer.echo(_("error: {message}").format(message=tr(exc.args[0])), err=True)
            sys.exit(2)
        i18n.set_language(lang)
        if i18n.language() == "en" or not extra.get("standalone_mode", True) or rest:
            return super().main(argv, *rest, **extra)
        i18n.translate_help(self)
        try:  # standalone as Click is, but its usage errors said in the user's language
            code = super().main(argv, standalone_mode=False, **extra)
        except typer.Abort:
            typer.echo(_("Aborted!"), err=True)
            sys.exit(1)
        except Exception as exc:  # Click's errors (duck-typed: Typer exports no class of them)
            message, code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
            if not callable(message) or not isinstance(code, int):
                raise
            ctx = getattr(exc, "ctx", None)
            if ctx is not None and message() == ctx.get_help():  # no_args_is_help: the help
                exc.show()  # type: ignore[attr-defined]
            else:
                for line in i18n.click_error(message(), ctx.get_usage() if ctx else None,
                                             ctx.command_path if ctx else None):
                    typer.echo(line, err=True)
            sys.exit(code)
        sys.exit(code if isinstance(code, int) else 0)


class AdvisorTyper(typer.Typer):
    """The Typer app, keeping what each command was registered with (`kept`, `root`), as
    tests compare a one-command app with the whole."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.kept: dict[str, F] = {}

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(name, **kwargs)

        def keep(fn: F) -> F:
            if name:
                self.kept[name] = fn
            return register(fn)

        return keep


def typer_param(param: Param) -> Any:
    return (typer.Option if param.kind == "option" else typer.Argument)(*param.decls,
                                                                        **param.settings)


def typed_annotation(annotation: Any) -> Any:
    """`Annotated[T, Option(...)]` as `Annotated[T, typer.Option(...)]`; others unchanged."""
    metadata = getattr(annotation, "__metadata__", ())
    if not any(isinstance(m, Param) for m in metadata):
        return annotation
    return Annotated[(annotation.__origin__,  # type: ignore[misc]
                      *(typer_param(m) if isinstance(m, Param) else m for m in metadata))]


def typed(command: Command) -> F:
    """The command's function under a signature in Typer's terms."""
    fn = command.fn
    signature = command.signature() if command.signature else inspect.signature(fn)

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        return fn(**kwargs)

    call.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(annotation=typed_annotation(p.annotation))
        for p in signature.parameters.values()])
    return call


def build(registry: Registry, only: str | None = None) -> AdvisorTyper:
    """The app of `registry`: all of it, or the root options and the command `only`."""
    app = AdvisorTyper(cls=AdvisorGroup, **registry.settings)
    if registry.root is not None:
        app.callback(**registry.root.settings)(typed(registry.root))
    for name, command in registry.commands.items():
        if only is None or name == only:
            app.command(name, **command.settings)(typed(command))
    for name, group in registry.groups.items() if only is None else ():
        sub = typer.Typer(**group.settings)
        for sub_name, command in group.commands.items():
            sub.command(sub_name, **command.settings)(typed(command))
        app.add_typer(sub, name=name)
    return app


@functools.cache
def whole(registry: Registry) -> AdvisorTyper:
    return build(registry)


def app_for(registry: Registry, args: list[str]) -> AdvisorTyper:
    """The app to run `args` with: for `[root options] COMMAND ...` an app of the root options
    and that command alone (its usage, help and errors read as in the whole app: a test checks
    every command), else the whole app (--help, an unknown or mistyped command, a group):
    Typer reads every option of every command it is given, a tenth of a run."""
    i = 0
    while i < len(args):
        if args[i] in ("--catalog", "--lang"):
            i += 2
        elif args[i].startswith(("--catalog=", "--lang=")):
            i += 1
        else:
            break
    name = args[i] if i < len(args) else None
    if name not in registry.commands or registry.root is None:
        return whole(registry)
    return build(registry, name)
