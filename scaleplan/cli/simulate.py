"""``scaleplan simulate``: check a plan against its SLO by discrete-event simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, print_renderables
from scaleplan.cli.options import JsonResult, number_option
from scaleplan.errors import TargetMissed, input_error

if TYPE_CHECKING:
    from scaleplan.plan import Plan
    from scaleplan.simulate.failures import Failure
    from scaleplan.simulate.llm_results import LlmSimResult
    from scaleplan.simulate.options import LlmChoices
    from scaleplan.simulate.results import SimResult


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    plan_file: Annotated[str, typer.Argument(metavar="PLAN", help="Plan file written by 'scaleplan optimize'.")],
    arrivals: Annotated[str, typer.Option("--arrivals", help="poisson, bursty (MMPP: 1.5x bursts 20% of the time) or trace (with --trace FILE).")] = "poisson",
    trace: Annotated[str | None, typer.Option("--trace", metavar="FILE", help="Arrival times, seconds from the start of the day, one per line (implies --arrivals trace).")] = None,
    duration: Annotated[float | None, number_option("--duration", what="a number of seconds", example="60", help="Simulated seconds per window (a compressed day); default 60, for LLM plans long enough for --min-requests per class.")] = None,
    windows: Annotated[str, typer.Option("--windows", help="Windows to simulate: all, peak, 8-18, 0,12,23.")] = "all",
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1, help="Random seed (0 to 2^63-1); the same seed gives identical output.")] = 0,
    fail: Annotated[str | None, typer.Option("--fail", help="Lose capacity: node (the largest node), zone (the largest zone) or spot (all spot).")] = None,
    fail_at: Annotated[float | None, number_option("--fail-at", what="a number of seconds", example="10", help="When (simulated seconds) the capacity is lost; default 10% into the peak window.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Load balancing: auto (what the rendered manifests do: round-robin for routing: service, weighted for gateway-api), weighted (the plan's capacity-weighted routing), round-robin, least-outstanding.")] = "auto",
    batch_timeout_ms: Annotated[float, number_option("--batch-timeout-ms", what="a number of milliseconds", example="5", help="Dynamic batching: longest wait for a batch to fill (0 = launch at once).")] = 0.0,
    fixed_fraction: Annotated[float, number_option("--fixed-fraction", what="a fraction", example="0.5", help="Share of a full batch's service time that does not shrink with smaller batches.")] = 0.5,
    replica_delta: Annotated[int, typer.Option("--replica-delta", help="Add (or, negative, remove) replicas in every window, e.g. -1 to see the margin.")] = 0,
    png: Annotated[str | None, typer.Option("--png", metavar="FILE", help="Also write latency percentiles and replicas over the day as a PNG (needs matplotlib).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", metavar="FILE", help="LLM plans: TTFT/TPOT points for allocations without llm.classes (default: the spec's profile next to the plan, if there).")] = None,
    lengths: Annotated[str, typer.Option("--lengths", help="LLM plans: token lengths per class: fixed (the spec's) or lognormal (mean = the spec's).")] = "fixed",
    length_sigma: Annotated[float, number_option("--length-sigma", example="0.5", help="LLM plans: shape of the lognormal lengths.")] = 0.5,
    min_requests: Annotated[int, typer.Option("--min-requests", help="LLM plans: requests per class per window the default duration aims at (p99 needs >= 1000).")] = 1000,
    replace_after: Annotated[float | None, number_option("--replace-after", what="a number of seconds", example="300", help="LLM plans: seconds until lost replicas serve again (default: node start + image pull + weight load).")] = None,
    picker: Annotated[str, typer.Option("--picker", help="LLM plans with routing: inference-pool: queue (shortest queue) or kv (most free KV cache).")] = "queue",
    steps: Annotated[str, typer.Option("--steps", help="LLM plans: step times from the LLM performance model (model), from TTFT/TPOT points (points), or auto (the model when the spec names an architecture).")] = "auto",
    json_out: JsonResult = False,
) -> None:
    """Simulate a plan's replicas over its demand curve; report SLO attainment (exit 1 if below target)."""
    with handle_errors():
        from scaleplan.plan import read_plan
        from scaleplan.simulate import check_simulatable, read_trace
        from scaleplan.simulate import simulate as run
        from scaleplan.simulate.llm import is_llm_plan
        from scaleplan.simulate.options import (
            check_llm,
            check_options,
            check_request_level,
            select_windows,
        )

        chosen = check_options(policy=policy, fail=fail, arrivals=arrivals, trace=trace, duration=duration, batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction)
        plan = read_plan(plan_file)
        check_simulatable(plan, plan_file)
        sel = select_windows(windows, plan.demand.windows, plan.demand.rps)
        if is_llm_plan(plan):
            llm = check_llm(
                plan, policy=policy, batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction, replica_delta=replica_delta, arrivals=arrivals,
                lengths=lengths, picker=picker, steps=steps, length_sigma=length_sigma, min_requests=min_requests, replace_after=replace_after,
            )
            _simulate_llm(
                plan, plan_file, llm, trace=trace, duration=duration, windows=sel, seed=seed, fail=chosen.fail, fail_at=fail_at, png=png, profile=profile,
                length_sigma=length_sigma, min_requests=min_requests, replace_after=replace_after, json_out=json_out,
            )
            return
        check_request_level(profile=profile, lengths=lengths, replace_after=replace_after, picker=picker, steps=steps)
        source = read_trace(trace) if trace is not None else arrivals
        try:
            res = run(
                plan, arrivals=source, duration_s=60.0 if duration is None else duration, seed=seed, failure=chosen.fail, fail_at_s=fail_at, policy=chosen.policy,
                batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction, replica_delta=replica_delta, windows=sel,
            )
        except ValueError as exc:
            raise input_error(plan_file, "", str(exc), "adjust the simulation options") from None
        _show(res, png, json_out)


def _simulate_llm(plan: Plan, plan_file: str, llm: LlmChoices, *, trace: str | None, duration: float | None, windows: tuple[int, ...] | None, seed: int,
                  fail: Failure | None, fail_at: float | None, png: str | None, profile: str | None, length_sigma: float, min_requests: int,
                  replace_after: float | None, json_out: bool) -> None:
    """LLM plans: token-level continuous-batching simulation (docs/simulate.md, "LLM plans")."""
    from scaleplan.inputs import llm_profile_points
    from scaleplan.simulate.llm import simulate_llm
    from scaleplan.simulate.llm_trace import read_llm_trace

    pts, notes = llm_profile_points(plan, plan_file, profile)
    llm_trace = read_llm_trace(trace) if trace is not None else None
    try:
        res = simulate_llm(
            plan, name=plan_file, trace=llm_trace, duration_s=duration, min_requests=min_requests, windows=windows, seed=seed,
            lengths=llm.lengths, length_sigma=length_sigma, failure=fail, fail_at_s=fail_at, replace_after_s=replace_after, picker=llm.picker, profile_pts=pts,
            steps_source=llm.steps,
        )
    except ValueError as exc:
        raise input_error(plan_file, "", str(exc), "adjust the simulation options") from None
    if notes:
        import dataclasses

        res = dataclasses.replace(res, notes=(*notes, *res.notes))
    _show(res, png, json_out)


def _show(res: SimResult | LlmSimResult, png: str | None, json_out: bool) -> None:
    """The PNG (when asked), then the JSON or the tables; exit 1 when the plan misses its SLO."""
    if png is not None:
        from scaleplan.simulate.report import report_png
        from scaleplan.yamlio import atomic_write_bytes

        atomic_write_bytes(png, report_png(res))
    if json_out:
        emit_json(res.to_dict())
    else:
        from scaleplan.simulate.report import report_renderables

        print_renderables(report_renderables(res))
    if not res.ok:
        raise TargetMissed()
