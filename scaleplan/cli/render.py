"""``scaleplan render PLAN --out DIR``: Kubernetes manifests from a plan (docs/render.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report, stdout_console
from scaleplan.cli.options import JsonSummary


def render(
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="Plan file written by scaleplan optimize.", show_default=False)],
    out_arg: Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Output folder (replaced atomically; it may only hold files scaleplan render wrote); - prints every object as one YAML stream on stdout.")],
    layout: Annotated[str, typer.Option("--layout", help="files: one file per object; single: one combined manifests.yaml.")] = "files",
    json_out: JsonSummary = False,
    wide: Annotated[bool, typer.Option("--wide", "-w", help="Also the object names (the default fits 80 columns).")] = False,
    catalog: Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help="A catalog file the plan was optimized with, beyond the shipped ones (repeatable): render takes the accelerators' extended resource, node labels and memory from it.")] = None,
) -> None:
    """Write Kubernetes manifests (Deployments, Service, HPA or KEDA, PDBs, node pools) and a kustomization.yaml."""
    with handle_errors(json_out):
        from scaleplan.plan_outputs import render_plan_file

        done = render_plan_file(plan, out_arg, layout, catalog or [], json_out=json_out)
        # --wide, or a pipe without COLUMNS: the table; else at most the width (records if need be)
        print_report(done.report(json_out, wide, width=lambda: stdout_console().width))
