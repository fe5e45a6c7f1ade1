"""Options that several commands declare alike, defined once (typer ``Annotated`` aliases):
the same flag, type and help text. An option whose help speaks of its own command stays in
that command's signature."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scaleplan.errors import OptionError
from scaleplan.option_values import finite_number, whole_number

# catalog list, show and accelerators
CatalogFiles = Annotated[list[str] | None, typer.Option(
    "--catalog", metavar="FILE",
    help="Extra catalog file(s); later rows override earlier ones. Repeatable.")]
JsonTable = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]
Wide = Annotated[
    bool, typer.Option("--wide", "-w", help="All columns (the default fits 80 columns).")]
OutputWide = Annotated[str | None, typer.Option(
    "--output", "-o", metavar="wide", help="-o wide: all columns, as --wide (kubectl style).")]

# diff, simulate: a catalog of the user's that the plans were optimized with
PlanCatalogs = Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help=(
    "A catalog file the plan was optimized with, beyond the shipped ones (repeatable)."))]

# profile estimate, merge and import; profile estimate and profile llm
JsonOnStdout = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
AcceleratorCatalogs = Annotated[list[str] | None, typer.Option(
    "--catalog", metavar="FILE", help="Extra catalog file(s) with accelerator specs.")]

# validate and simulate; render and import melange
JsonResult = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
JsonSummary = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")]

def number_option(
    *decls: str,
    what: str = "a number",
    example: str = "",
    min: float | None = None,
    max: float | None = None,
    integer: bool = False,
    help: str,
) -> Any:
    """A float option whose value must be a finite number (``nan``/``inf`` are usage errors that
    say so, exit 2) within ``[min, max]``, or with ``integer`` a whole number; ``what`` and
    ``example`` word a float's message (``--time-limit: nan is not a number of seconds; give e.g.
    60``). Every float and bounded int option is declared with it; --help shows typer's bounds."""

    def parse(value: str | float) -> float:
        try:
            if integer:
                return whole_number(value, decls[0], lo=min, hi=max)
            return finite_number(value, decls[0], what=what, example=example, lo=min, hi=max)
        except OptionError as err:
            raise typer.BadParameter(err.message, param_hint=err.option) from None

    return typer.Option(*decls, min=min, max=max, parser=parse, help=help)
