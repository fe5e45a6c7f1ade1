"""The ``scaleplan`` command line: a thin typer shell over the pure core.

Each command group lives in its own module and is added here (a command-line process running
one command, that command's module alone). Command functions import the core lazily so that
``scaleplan --help`` imports none of pulp, boto3, torch or kubernetes_validate.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer
from typer._click.exceptions import BadOptionUsage

from scaleplan._version import __version__
from scaleplan.cli._common import emit_json, json_usage
from scaleplan.option_values import JSON_AFTER_COMMAND, argument_label, json_requested, value_label
from scaleplan.startup import COMMAND_MODULES, command_modules, resolve_annotations, resume_gc


class _Root(typer.core.TyperGroup):
    """The command tree: under ``--json`` a usage error (exit 2) found while parsing or
    running a command also prints its JSON object on stdout (``_common.json_usage``)."""

    def parse_args(self, ctx: Any, args: Any) -> Any:
        ctx.meta["scaleplan.argv"] = list(args)  # a copy: the parser consumes args
        with json_usage(ctx.meta["scaleplan.argv"]):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        with json_usage(ctx.meta["scaleplan.argv"]):
            return super().invoke(ctx)


app = typer.Typer(
    cls=_Root,
    name="scaleplan",
    help="Plan, price and render GPU/CPU inference deployments on Kubernetes at the lowest cost that holds a latency SLO.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    # Plain click help, not rich's: typer.rich_utils imports rich.markdown/markdown_it and rich.
    # traceback (~0.15 s), breaking the 0.25 s `--help` budget (docs/benchmarks/help.md).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(ctx: typer.Context, value: bool) -> None:
    if value:  # under --json (the words typed decide, as for a usage error): {"version": ...}
        as_json = json_requested(ctx.meta["scaleplan.argv"])
        emit_json({"version": __version__}) if as_json else typer.echo(f"scaleplan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print --version as JSON.")] = False,
) -> None:
    """scaleplan: spec -> profile -> catalog -> optimize -> render -> check."""
    if json_out:  # a command's own --json follows it; here it would be ignored
        raise BadOptionUsage("--json", JSON_AFTER_COMMAND)
    resume_gc()  # start-up is over: the command's work is collected as usual (scaleplan.startup)


def _register() -> None:
    import importlib
    for name in command_modules(tuple(COMMAND_MODULES), app):  # running one: its own alone
        module = importlib.import_module(f"scaleplan.cli.{name}")
        held = COMMAND_MODULES[name]
        if isinstance(held, str):
            app.add_typer(module.app, name=held)
            continue
        for command in held:
            app.command(command)(getattr(module, command))
    resolve_annotations(app)


def _plain_metavars() -> None:
    """Help names values in plain words (``--plan TEXT``, ``--time-limit NUMBER``), never in
    Python types (``<list[str]>``, ``<float range>``); an argument's own name says what it is.

    Typer prints its type labels from one method of its parameter class; this rewrites them
    once, here, for every command, in the words of ``option_values.value_label`` (arguments in
    usage lines: ``argument_label``).
    """
    from typer import core
    from typer._click._textwrap import TextWrapper as W  # help: never `--time-` / `budget`

    param = getattr(core, "_TyperParameter", None)
    if param is None or not hasattr(param, "display_type"):  # another typer: its own labels
        return
    original = param.display_type

    def display_type(self: Any, ctx: Any) -> str:
        return value_label(str(original(self, ctx)))

    def usage_name(self: Any) -> str:
        return argument_label(str(self.display_name_raw), self.nargs, self.required)

    param.display_type = display_type
    W.__init__ = functools.partialmethod(W.__init__, break_on_hyphens=False)  # type: ignore[method-assign, assignment]
    core.TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    if hasattr(core.TyperArgument, "_usage_display_name"):
        core.TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]


_plain_metavars()
_register()


def main() -> None:
    app(prog_name="scaleplan")
