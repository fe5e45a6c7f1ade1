"""``scaleplan import melange``: Mélange / AIBrix inputs -> spec.yaml, profile.yaml, catalog.yaml."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report
from scaleplan.cli.options import JsonSummary, number_option

app = typer.Typer(help="Convert other tools' inputs into scaleplan files.", no_args_is_help=True)


@app.command("melange")
def melange(
    files: Annotated[list[str], typer.Argument(help="One Mélange config JSON, or one or more AIBrix gpu-optimizer profile JSON files.")],
    out: Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Folder for spec.yaml, profile.yaml and catalog.yaml.")],
    rate: Annotated[float | None, number_option("--rate", what="a rate in requests/s", example="100", min=0.0, help="Total request rate (req/s); required for AIBrix profiles, overrides a Mélange config's.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Service name (DNS-1123); default from the file name.")] = None,
    json_out: JsonSummary = False,
    force: Annotated[bool, typer.Option("--force", help="Replace spec.yaml, profile.yaml or catalog.yaml that already exist in --out.")] = False,
) -> None:
    """State a Mélange problem for scaleplan: no headroom, no redundancy, no derating."""
    with handle_errors(json_out):
        from scaleplan.importers.melange import import_melange, import_report

        res, written = import_melange(files, out, rate=rate, name=name, force=force)
        print_report(import_report(res, written, out, json_out))
