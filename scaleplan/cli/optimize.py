"""``scaleplan optimize``: spec + profile + catalogs -> the cheapest plan (plan.yaml)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from scaleplan.cli._common import handle_errors, print_report, warn
from scaleplan.cli.options import number_option
from scaleplan.startup import command_imports
from scaleplan.stdout_last import quiet_fd1


def optimize(
    spec: Annotated[str | None, typer.Argument(metavar="SPEC", help="Spec file (YAML); or give --melange instead.", show_default=False)] = None,
    catalog: Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help="Extra catalog file (repeatable); later rows override the shipped ones.")] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", metavar="DIR", help="Output folder for plan.yaml (and manifests/); default: 'out' next to the spec.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Without --out: write into the default 'out' even when it holds another service's plan.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object on stdout (plan.yaml and manifests are written as without it).")] = False,
    time_limit: Annotated[float, number_option("--time-limit", what="a number of seconds", example="60", min=1.0, max=86400.0, help="Seconds the solver may run in total; past it the best plan found is returned with status 'feasible' (a search past it still solves each window with no plan to keep, its quietest among them, 1 s each at most; docs/optimizer.md).")] = 60.0,
    max_utilization: Annotated[float | None, number_option("--max-utilization", what="a fraction", example="0.8", min=0.01, max=1.0, help="Run each replica at most this busy instead of the queueing model's value; 1.0 turns derating off.")] = None,
    solver: Annotated[Literal["highs", "cbc"], typer.Option("--solver", help="MILP solver: highs (default) or cbc.")] = "highs",
    alternatives: Annotated[bool, typer.Option("--alternatives/--no-alternatives", help="Also compute alternative plans and baselines (extra solves).")] = True,
    manifests: Annotated[bool, typer.Option("--manifests/--no-manifests", help="Also render Kubernetes manifests into OUT/manifests/.")] = True,
    wide: Annotated[bool, typer.Option("--wide", "-w", help="All columns in the summary table (allocation names, nodes, capacity); the default fits 80 columns.")] = False,
    observed: Annotated[str | None, typer.Option("--observed", metavar="FILE", help="Observed file (scaleplan observe): plan for the observed curve, calibrate capacity with it, show the change against the running plan.")] = None,
    melange: Annotated[str | None, typer.Option("--melange", metavar="FILE", help="Plan a Mélange config (JSON) directly, as `import melange` would state it, in one process.")] = None,
) -> None:
    """Find the cheapest deployment that holds the SLO and write OUT/plan.yaml (exit 4 if none exists)."""
    with handle_errors(json_out):  # stdout: one object even then
        with command_imports(blas=False):  # numpy only for highspy (scaleplan.startup)
            import pulp  # noqa: F401

            from scaleplan.plan_outputs import optimize_file
            from scaleplan.solve import SolveOptions

        opts = SolveOptions(time_limit=time_limit, max_utilization=max_utilization, solver=solver, alternatives=alternatives)
        done = optimize_file(
            spec, melange, catalog or [], opts, observed=observed, out=out, force=force,
            manifests=manifests, warn=warn, quiet=quiet_fd1)
        print_report(done.report(json_out, wide))

