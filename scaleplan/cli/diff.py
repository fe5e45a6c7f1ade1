"""``scaleplan diff PLAN_A PLAN_B``: what changes between two plans (Terraform-plan style)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report
from scaleplan.cli.options import PlanCatalogs


def diff(
    before: Annotated[str, typer.Argument(metavar="PLAN_A", help="The old plan file.", show_default=False)],
    after: Annotated[str, typer.Argument(metavar="PLAN_B", help="The new plan file.", show_default=False)],
    json_out: Annotated[bool, typer.Option("--json", help="Print the changes as one JSON object.")] = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when the plans differ, 0 when they are the same (as git diff --exit-code; for CI).")] = False,
    catalog: PlanCatalogs = None,
) -> None:
    """Allocations added, removed and resized, the cost change, and the inputs and warnings that changed, from PLAN_A to PLAN_B (exit 0 either way; 1 on a change with --exit-code)."""
    with handle_errors(json_out):
        from scaleplan.plandiff import diff_command

        print_report(diff_command(before, after, json_out, exit_code, catalog or []))
