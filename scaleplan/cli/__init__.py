"""The ``scaleplan`` command line: a thin typer shell over the pure core.

Each command group lives in its own module and is added here. Command functions import the
core lazily so that ``scaleplan --help`` imports none of pulp, boto3, torch or
kubernetes_validate.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan._version import __version__

app = typer.Typer(
    name="scaleplan",
    help="Plan, price and render GPU/CPU inference deployments on Kubernetes at the lowest cost that holds a latency SLO.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scaleplan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """scaleplan: spec -> profile -> catalog -> optimize -> render -> check."""


# Command modules, in help order. Each exposes ``register(app)``; a module that is not there
# yet (its issue not done) is simply not registered.
COMMAND_MODULES = ("basic", "catalog", "profile", "optimize", "render", "check", "simulate", "importer")


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"scaleplan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"scaleplan.cli.{name}":
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    app(prog_name="scaleplan")
