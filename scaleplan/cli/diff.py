"""``scaleplan diff PLAN_A PLAN_B``: what changes between two plans (Terraform-plan style)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report


def diff(
    before: Annotated[str, typer.Argument(metavar="PLAN_A", help="The old plan file.", show_default=False)],
    after: Annotated[str, typer.Argument(metavar="PLAN_B", help="The new plan file.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the changes as one JSON object.")] = False,
) -> None:
    """Allocations added, removed and resized, the cost change, and the inputs and warnings that changed, from PLAN_A to PLAN_B (exit 0 either way)."""
    with handle_errors(json_out):
        from scaleplan.plandiff import diff_files, diff_report

        d, edited = diff_files(before, after)
        print_report(diff_report(before, after, d, edited, json_out))
