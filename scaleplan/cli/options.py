"""Options that several commands declare alike, defined once (typer ``Annotated`` aliases):
the same flag, type and help text. An option whose help speaks of its own command stays in
that command's signature."""

from __future__ import annotations

from typing import Annotated

import typer

# catalog list, show and accelerators
CatalogFiles = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog",
        metavar="FILE",
        help="Extra catalog file(s); later rows override earlier ones. Repeatable.",
    ),
]
JsonTable = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]
Wide = Annotated[
    bool, typer.Option("--wide", "-w", help="All columns (the default fits 80 columns).")
]
OutputWide = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="wide", help="-o wide: all columns, as --wide (kubectl style)."
    ),
]

# profile estimate, merge and import; profile estimate and profile llm
JsonOnStdout = Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
AcceleratorCatalogs = Annotated[
    list[str] | None,
    typer.Option("--catalog", metavar="FILE", help="Extra catalog file(s) with accelerator specs."),
]

# validate and simulate; render and import melange
JsonResult = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
JsonSummary = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")]
