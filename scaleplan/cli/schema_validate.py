"""``scaleplan schema`` and ``scaleplan validate``."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, print_report
from scaleplan.cli.options import JsonResult
from scaleplan.errors import invalid_json


def schema(
    what: Annotated[str, typer.Argument(metavar="KIND", help="Which schema: spec, profile, plan, catalog, observed.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="The schema is JSON anyway.")] = False,
) -> None:
    """Print the JSON Schema of a scaleplan file format (for editors' YAML language servers)."""
    with handle_errors(json_out):
        from scaleplan.schemas import json_schema

        emit_json(json_schema(what))


def validate(
    spec: Annotated[str, typer.Argument(metavar="SPEC", help="Spec file (YAML).", show_default=False)],
    catalog: Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help="Extra catalog file (repeatable), as given to optimize.")] = None,
    json_out: JsonResult = False,
    strict: Annotated[bool, typer.Option("--strict", help=(
        "Exit 4 where optimize will find no plan (known before solving), not 0 with a warning."
    ))] = False,
) -> None:
    """Check a spec, the files it references and its names against the catalogs; report every problem at once (exit 3 if any; --strict: exit 4 where optimize will find no plan). Runs every check optimize runs before solving."""
    with handle_errors(json_out, partial(invalid_json, spec)):
        from scaleplan.validate import validate_report, validate_spec_file

        result = validate_spec_file(spec, list(catalog or []))
        print_report(validate_report(spec, result, json_out, strict))
