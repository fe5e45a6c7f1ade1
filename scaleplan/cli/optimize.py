"""``scaleplan optimize``: spec + profile + catalogs -> the cheapest plan (plan.yaml)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scaleplan.cli._common import (
    emit_json,
    handle_errors,
    print_text,
    quiet_fd1,
    stderr_console,
    stdout_console,
)
from scaleplan.errors import input_error

if TYPE_CHECKING:
    from scaleplan.inputs import Inputs, ObservedInputs
    from scaleplan.plan import Plan
    from scaleplan.plandiff import PlanDiff


class SolverChoice(StrEnum):
    highs = "highs"
    cbc = "cbc"


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)


def optimize(
    spec: Annotated[str | None, typer.Argument(metavar="SPEC", help="Spec file (YAML); or give --melange instead.", show_default=False)] = None,
    catalog: Annotated[list[str] | None, typer.Option("--catalog", metavar="FILE", help="Extra catalog file (repeatable); later rows override the shipped ones.")] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", metavar="DIR", help="Output folder for plan.yaml (and manifests/); default: 'out' next to the spec.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object on stdout.")] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", min=1.0, max=86400.0, help="Seconds the solver may run in total; past it the best plan found is returned with status 'feasible'.")] = 60.0,
    max_utilization: Annotated[float | None, typer.Option("--max-utilization", min=0.01, max=1.0, help="Run each replica at most this busy instead of the queueing model's value; 1.0 turns derating off.")] = None,
    solver: Annotated[SolverChoice, typer.Option("--solver", help="MILP solver: highs (default) or cbc.")] = SolverChoice.highs,
    alternatives: Annotated[bool, typer.Option("--alternatives/--no-alternatives", help="Also compute alternative plans and baselines (extra solves).")] = True,
    manifests: Annotated[bool, typer.Option("--manifests/--no-manifests", help="Also render Kubernetes manifests into OUT/manifests/ (when the renderer is installed).")] = True,
    wide: Annotated[bool, typer.Option("--wide", "-w", help="All columns in the summary table (allocation names, nodes, capacity); the default fits 80 columns.")] = False,
    observed: Annotated[str | None, typer.Option("--observed", help="Observed file (scaleplan observe): plan for the observed curve, calibrate capacity with it, show the change against the running plan.")] = None,
    melange: Annotated[str | None, typer.Option("--melange", help="Plan a Mélange config (JSON) directly, as `import melange` would state it, in one process.")] = None,
) -> None:
    """Find the cheapest deployment that holds the SLO and write OUT/plan.yaml (exit 4 if none exists)."""
    if (spec is None) == (melange is None):
        raise typer.BadParameter("give a spec file or --melange FILE (one of them)", param_hint="SPEC")
    with handle_errors():
        from datetime import UTC, datetime

        from scaleplan.catalog.freshness import stale_warning
        from scaleplan.outputs import check_out_path
        from scaleplan.plan import plan_to_dict
        from scaleplan.plan_outputs import write_plan_outputs
        from scaleplan.solve import SolveOptions, solve

        if out is not None:
            check_out_path(out)
            if Path(out).exists() and not Path(out).is_dir():
                raise input_error(out, "", "--out is a file, expected a folder", "pass a folder path")
        inp, obs = _inputs(spec, melange, catalog or [], observed)
        spec_obj, source = inp.spec, inp.source
        stale = stale_warning(inp.catalog, datetime.now(UTC), providers=spec_obj.placement.providers)
        if stale:
            _warn(stale)
        opts = SolveOptions(time_limit=time_limit, max_utilization=max_utilization, solver=solver.value, alternatives=alternatives, inputs=inp.hashes, spec_dir=str(Path(source).parent))
        from scaleplan.errors import InfeasibleError

        try:
            with quiet_fd1():
                result = solve(spec_obj, inp.profile, inp.catalog, options=opts)
        except InfeasibleError as exc:
            if json_out:  # stdout still holds one JSON object; the error goes to stderr as usual
                emit_json(exc.to_json(spec_obj.metadata.name))
            raise
        plan = result.plan
        if obs is not None:  # scaleplan.observe is imported only for --observed
            from scaleplan.observe.replan import label_plan

            plan = label_plan(plan, obs.labels)
        wrote = write_plan_outputs(Path(out) if out is not None else Path(source).parent / "out", plan, inp.catalog, manifests=manifests, spec_file=spec)
        for w in wrote.warnings:
            _warn(w)
        if json_out:
            doc = plan_to_dict(plan)
            doc["solve_seconds"] = round(result.solve_seconds, 4)
            doc["solve_stats"] = _solve_stats(result)
            doc["files"] = list(wrote.written)
            doc["render_warnings"] = list(wrote.render_warnings)
            if wrote.changes is not None:
                doc["changes"] = wrote.changes.to_dict()
            if obs is not None:
                from scaleplan.observe.replan import replan_report

                doc["observed"] = replan_report(obs.source, obs.observed, obs.labels, plan)
            emit_json(doc)
            return
        _summary(plan, result.solve_seconds, list(wrote.written), wrote.changes, str(wrote.plan_file), wide=wide)
        if obs is not None:
            from scaleplan.observe.report import replan_lines

            con = stdout_console()
            for line in replan_lines(obs.observed, plan):
                con.print(line, markup=False, soft_wrap=False)  # long risk lines wrap at the width
            sys.stdout.flush()


def _warn(text: str) -> None:
    """A warning on stderr (rich is imported only when there is one to print)."""
    stderr_console().print(f"warning: {text}", markup=False, soft_wrap=True)


def _inputs(spec: str | None, melange: str | None, catalogs: list[str], observed: str | None) -> tuple[Inputs, ObservedInputs | None]:
    """The spec's inputs (or the Mélange config's), re-planned from the Observed file if given."""
    from scaleplan.inputs import load_inputs, melange_inputs, with_observed

    if melange is not None:
        if catalogs:
            raise input_error("--catalog", "", "--catalog does not apply to --melange (the config holds its own GPUs and prices)", "drop --catalog, or import the config with `scaleplan import melange` and edit its catalog.yaml")
        inp = melange_inputs(melange)
    else:
        assert spec is not None
        inp = load_inputs(spec, catalogs)
    if observed is None:
        return inp, None
    obs = with_observed(inp, observed)
    return obs.inputs, obs


def _solve_stats(result: Any) -> dict[str, Any]:
    """Each solver run behind the plan (model size, seconds) and the time around them."""
    runs = [{"kind": r.kind, "rows": r.rows, "columns": r.columns, "integers": r.integers, "nonzeros": r.nonzeros, "seconds": round(r.seconds, 4), "cpu_seconds": round(r.cpu_seconds, 4), "status": r.status} for r in result.stats]
    return {
        "candidates": result.candidates,
        "candidates_unpruned": result.candidates_unpruned,
        "windows_solved": result.windows_solved,
        "solver_seconds": round(sum(r.seconds for r in result.stats), 4),
        "solver_cpu_seconds": round(sum(r.cpu_seconds for r in result.stats), 4),
        "plan_seconds": round(result.solve_seconds, 4),
        "alternatives_seconds": round(result.alternatives_seconds, 4),
        "runs": runs,
    }


def _summary(plan: Plan, seconds: float, written: list[str], changes: PlanDiff | None = None, plan_file: str = "", *, wide: bool = False) -> None:
    from scaleplan.table import Column, table_text

    con = stdout_console()
    cols = [
        Column("allocation", wide=True), Column("instance type"), Column("provider", wide=True), Column("region"),
        Column("per replica"), Column("capacity"), Column("replicas", "right"), Column("nodes", "right", wide=True),
        Column("rps/rep", "right", wide=True), Column("$/h", "right"),
    ]
    rows = []
    estimated = False
    for a in plan.allocations:
        reps = str(a.replicas) if len(set(a.replicas_per_window)) == 1 else f"{min(a.replicas_per_window)}-{a.replicas}"
        nodes = str(a.nodes) if len(set(a.nodes_per_window)) == 1 else f"{min(a.nodes_per_window)}-{a.nodes}"
        shape = f"{a.gpus_per_replica} x {a.accelerator}" if a.gpus_per_replica else f"{a.cpu_per_replica:g} vCPU"
        if a.estimated:
            shape += "*"
            estimated = True
        rows.append([a.name, a.instance_type, a.provider, a.region, shape, a.capacity_type, reps, nodes, f"{a.capacity_rps_per_replica:.4g}", f"{a.cost_per_hour:.4f}"])
    title = f"Plan for {plan.metadata.name}: {plan.status}, gap {plan.gap or 0:.2%}, solved in {seconds:.2f} s"
    print_text(table_text(cols, rows, wide=wide, title=title))
    if estimated:
        con.print("* capacity from estimated profile points", markup=False)
    per_m = f"${plan.cost_per_million_requests:.4f}" if plan.cost_per_million_requests is not None else "n/a"
    con.print(f"cost: ${plan.cost_per_hour:.4f}/h, ${plan.cost_per_month:,.2f}/month, {per_m} per million requests", markup=False)
    for line in plan.explanation:
        if line.startswith("Average utilization"):
            con.print(line, markup=False)
    if plan.binding_constraints:
        con.print("binding constraints:", markup=False)
        for b in plan.binding_constraints:
            con.print(f"  - {b}", markup=False, soft_wrap=True)
    if plan.baselines:
        con.print("savings against naive baselines:", markup=False)
        for bl in plan.baselines:
            if bl.cost_per_hour is None:
                con.print(f"  - {bl.name}: {bl.description}", markup=False, soft_wrap=True)
            else:
                con.print(f"  - {bl.name}: ${bl.cost_per_hour:.4f}/h, saves {bl.savings_fraction or 0:.0%} ({bl.description})", markup=False, soft_wrap=True)
    for i, alt in enumerate(plan.alternatives):
        label = "next best" if i == 0 else "then"
        con.print(f"{label}: {alt.description}, {alt.extra_cost_fraction:+.0%} (${alt.cost_per_hour:.4f}/h)", markup=False)
    if changes is not None:
        from scaleplan.plandiff import diff_lines

        con.print(f"changes against the previous {plan_file}:", markup=False)
        for line in diff_lines(changes):
            con.print(line, markup=False, soft_wrap=True)
    for w in written:
        con.print(f"wrote {w}", markup=False)
    sys.stdout.flush()
