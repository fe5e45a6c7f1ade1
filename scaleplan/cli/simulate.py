"""``scaleplan simulate``: check a plan against its SLO by discrete-event simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from scaleplan.cli._common import emit_json, handle_errors
from scaleplan.errors import TargetMissed, input_error

if TYPE_CHECKING:
    from scaleplan.simulate.failures import Failure


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def _windows(text: str, nwin: int, rps: tuple[float, ...]) -> tuple[int, ...] | None:
    text = text.strip().lower()
    if text in ("", "all"):
        return None
    if text == "peak":
        return (max(range(nwin), key=lambda w: (rps[w], -w)),)
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, sep, hi = part.partition("-")
            a = int(lo)
            b = int(hi) if sep else a
            out.extend(range(a, b + 1))
    except ValueError:
        raise input_error("--windows", "--windows", f"cannot read {text!r}", "use all, peak, a window number, a range such as 8-18, or a comma list") from None
    if not out or any(w < 0 or w >= nwin for w in out):
        raise input_error("--windows", "--windows", f"{text!r} selects windows outside 0..{nwin - 1}", f"the plan has {nwin} windows")
    return tuple(dict.fromkeys(out))


def _write_bytes(path: str, data: bytes) -> None:
    from scaleplan.yamlio import atomic_write_bytes

    atomic_write_bytes(path, data)


def simulate(
    plan_file: Annotated[str, typer.Argument(metavar="PLAN", help="Plan file written by 'scaleplan optimize'.")],
    arrivals: Annotated[str, typer.Option("--arrivals", help="poisson, bursty (MMPP: 1.5x bursts 20% of the time) or trace (with --trace FILE).")] = "poisson",
    trace: Annotated[str | None, typer.Option("--trace", metavar="FILE", help="Arrival times, seconds from the start of the day, one per line (implies --arrivals trace).")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="Simulated seconds per window (a compressed day); default 60, for LLM plans long enough for --min-requests per class.")] = None,
    windows: Annotated[str, typer.Option("--windows", help="Windows to simulate: all, peak, 8-18, 0,12,23.")] = "all",
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**63 - 1, help="Random seed (0 to 2^63-1); the same seed gives identical output.")] = 0,
    fail: Annotated[str | None, typer.Option("--fail", help="Lose capacity: node (the largest node), zone (the largest zone) or spot (all spot).")] = None,
    fail_at: Annotated[float | None, typer.Option("--fail-at", help="When (simulated seconds) the capacity is lost; default 10% into the peak window.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Load balancing: auto (what the rendered manifests do: round-robin for routing: service, weighted for gateway-api), weighted (the plan's capacity-weighted routing), round-robin, least-outstanding.")] = "auto",
    batch_timeout_ms: Annotated[float, typer.Option("--batch-timeout-ms", help="Dynamic batching: longest wait for a batch to fill (0 = launch at once).")] = 0.0,
    fixed_fraction: Annotated[float, typer.Option("--fixed-fraction", help="Share of a full batch's service time that does not shrink with smaller batches.")] = 0.5,
    replica_delta: Annotated[int, typer.Option("--replica-delta", help="Add (or, negative, remove) replicas in every window, e.g. -1 to see the margin.")] = 0,
    png: Annotated[str | None, typer.Option("--png", metavar="FILE", help="Also write latency percentiles and replicas over the day as a PNG (needs matplotlib).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", metavar="FILE", help="LLM plans: TTFT/TPOT points for allocations without llm.classes (default: the spec's profile next to the plan, if there).")] = None,
    lengths: Annotated[str, typer.Option("--lengths", help="LLM plans: token lengths per class: fixed (the spec's) or lognormal (mean = the spec's).")] = "fixed",
    length_sigma: Annotated[float, typer.Option("--length-sigma", help="LLM plans: shape of the lognormal lengths.")] = 0.5,
    min_requests: Annotated[int, typer.Option("--min-requests", help="LLM plans: requests per class per window the default duration aims at (p99 needs >= 1000).")] = 1000,
    replace_after: Annotated[float | None, typer.Option("--replace-after", help="LLM plans: seconds until lost replicas serve again (default: node start + image pull + weight load).")] = None,
    picker: Annotated[str, typer.Option("--picker", help="LLM plans with routing: inference-pool: queue (shortest queue) or kv (most free KV cache).")] = "queue",
    steps: Annotated[str, typer.Option("--steps", help="LLM plans: step times from the LLM performance model (model), from TTFT/TPOT points (points), or auto (the model when the spec names an architecture).")] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Simulate a plan's replicas over its demand curve; report SLO attainment (exit 1 if below target)."""
    with handle_errors():
        from scaleplan.plan import read_plan
        from scaleplan.simulate import FAILURES, POLICIES, check_simulatable, read_trace
        from scaleplan.simulate import simulate as run

        if policy not in POLICIES:
            raise typer.BadParameter(f"must be one of {', '.join(POLICIES)}; got {policy!r}", param_hint="--policy")
        if fail is not None and fail not in FAILURES:
            raise typer.BadParameter(f"must be one of {', '.join(FAILURES)}; got {fail!r}", param_hint="--fail")
        if arrivals not in ("poisson", "bursty", "trace"):
            raise typer.BadParameter(f"must be poisson, bursty or trace; got {arrivals!r}", param_hint="--arrivals")
        if arrivals == "trace" and trace is None:
            raise typer.BadParameter("--arrivals trace needs --trace FILE", param_hint="--trace")
        if duration is not None and (not duration > 0 or duration > 86400):
            raise typer.BadParameter(f"must be > 0 and <= 86400 seconds; got {duration:g}", param_hint="--duration")
        if batch_timeout_ms < 0 or batch_timeout_ms > 60000:
            raise typer.BadParameter("must be between 0 and 60000", param_hint="--batch-timeout-ms")
        if not 0 <= fixed_fraction <= 1:
            raise typer.BadParameter("must be between 0 and 1", param_hint="--fixed-fraction")
        plan = read_plan(plan_file)
        check_simulatable(plan, plan_file)
        sel = _windows(windows, plan.demand.windows, plan.demand.rps)
        from scaleplan.simulate.llm import is_llm_plan

        if is_llm_plan(plan):
            _simulate_llm(
                plan, plan_file, arrivals=arrivals, trace=trace, duration=duration, windows=sel, seed=seed, fail=fail, fail_at=fail_at,
                policy=policy, batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction, replica_delta=replica_delta,
                png=png, profile=profile, lengths=lengths, length_sigma=length_sigma, min_requests=min_requests,
                replace_after=replace_after, picker=picker, steps=steps, json_out=json_out,
            )
            return
        if profile is not None or lengths != "fixed" or replace_after is not None or picker != "queue" or steps != "auto":
            raise typer.BadParameter("--profile, --lengths, --replace-after, --picker and --steps apply to LLM plans only", param_hint="--profile")
        source = read_trace(trace) if trace is not None else arrivals
        try:
            res = run(
                plan, arrivals=source, duration_s=60.0 if duration is None else duration, seed=seed, failure=fail, fail_at_s=fail_at, policy=policy,
                batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction, replica_delta=replica_delta, windows=sel,
            )
        except ValueError as exc:
            raise input_error(plan_file, "", str(exc), "adjust the simulation options") from None
        if png is not None:
            from scaleplan.simulate.report import png_bytes

            _write_bytes(png, png_bytes(res))
        if json_out:
            emit_json(res.to_dict())
        else:
            from scaleplan.cli._common import stdout_console
            from scaleplan.simulate.report import renderables

            con = stdout_console()
            for r in renderables(res):
                con.print(r)
        if not res.ok:
            raise TargetMissed()


def _simulate_llm(plan: Any, plan_file: str, *, arrivals: str, trace: str | None, duration: float | None, windows: tuple[int, ...] | None,
                  seed: int, fail: Failure | None, fail_at: float | None, policy: str, batch_timeout_ms: float, fixed_fraction: float,
                  replica_delta: int, png: str | None, profile: str | None, lengths: str, length_sigma: float, min_requests: int,
                  replace_after: float | None, picker: str, steps: str, json_out: bool) -> None:
    """LLM plans: token-level continuous-batching simulation (docs/simulate.md, "LLM plans")."""
    from scaleplan.inputs import llm_profile_points
    from scaleplan.simulate.llm import simulate_llm
    from scaleplan.simulate.llm_replicas import STEP_SOURCES
    from scaleplan.simulate.llm_routing import PICKERS
    from scaleplan.simulate.llm_trace import read_llm_trace
    from scaleplan.simulate.llm_workload import LENGTHS

    unused = [o for o, bad in (("--policy", policy != "auto"), ("--batch-timeout-ms", batch_timeout_ms != 0), ("--fixed-fraction", fixed_fraction != 0.5),
                               ("--replica-delta", replica_delta != 0), ("--arrivals bursty", arrivals == "bursty")) if bad]
    if unused:
        raise typer.BadParameter(f"{', '.join(unused)} do not apply to LLM plans (they are simulated token by token; routing follows the plan's kubernetes.routing)", param_hint=unused[0].split()[0])
    if lengths not in LENGTHS:
        raise typer.BadParameter(f"must be one of {', '.join(LENGTHS)}; got {lengths!r}", param_hint="--lengths")
    if picker not in PICKERS:
        raise typer.BadParameter(f"must be one of {', '.join(PICKERS)}; got {picker!r}", param_hint="--picker")
    if picker != "queue" and plan.spec.kubernetes.routing != "inference-pool":
        raise typer.BadParameter(f"applies to plans with kubernetes.routing: inference-pool (an endpoint picker); this plan routes by {plan.spec.kubernetes.routing}, simulated as rendered", param_hint="--picker")
    if steps not in STEP_SOURCES:
        raise typer.BadParameter(f"must be one of {', '.join(STEP_SOURCES)}; got {steps!r}", param_hint="--steps")
    if not 0 <= length_sigma <= 3:
        raise typer.BadParameter("must be between 0 and 3", param_hint="--length-sigma")
    if not 1 <= min_requests <= 1_000_000:
        raise typer.BadParameter("must be between 1 and 1000000", param_hint="--min-requests")
    if replace_after is not None and not 0 <= replace_after <= 86400:
        raise typer.BadParameter("must be between 0 and 86400 seconds", param_hint="--replace-after")
    pts, notes = llm_profile_points(plan, plan_file, profile)
    llm_trace = read_llm_trace(trace) if trace is not None else None
    try:
        res = simulate_llm(
            plan, name=plan_file, trace=llm_trace, duration_s=duration, min_requests=min_requests, windows=windows, seed=seed,
            lengths=lengths, length_sigma=length_sigma, failure=fail, fail_at_s=fail_at, replace_after_s=replace_after, picker=picker, profile_pts=pts,
            steps_source=steps,
        )
    except ValueError as exc:
        raise input_error(plan_file, "", str(exc), "adjust the simulation options") from None
    if notes:
        import dataclasses

        res = dataclasses.replace(res, notes=(*notes, *res.notes))
    if png is not None:
        from scaleplan.simulate.report import llm_png_bytes

        _write_bytes(png, llm_png_bytes(res))
    if json_out:
        emit_json(res.to_dict())
    else:
        from scaleplan.cli._common import stdout_console
        from scaleplan.simulate.report import llm_renderables

        con = stdout_console()
        for r in llm_renderables(res):
            con.print(r)
    if not res.ok:
        raise TargetMissed()
