"""``scaleplan simulate``: check a plan against its SLO by discrete-event simulation."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, input_error


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
    duration: Annotated[float, typer.Option("--duration", help="Simulated seconds per window (a compressed day).")] = 60.0,
    windows: Annotated[str, typer.Option("--windows", help="Windows to simulate: all, peak, 8-18, 0,12,23.")] = "all",
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives identical output.")] = 0,
    fail: Annotated[str | None, typer.Option("--fail", help="Lose capacity: node (the largest node), zone (the largest zone) or spot (all spot).")] = None,
    fail_at: Annotated[float | None, typer.Option("--fail-at", help="When (simulated seconds) the capacity is lost; default 10% into the peak window.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Load balancing: auto (what the rendered manifests do: round-robin for routing: service, weighted for gateway-api), weighted (the plan's capacity-weighted routing), round-robin, least-outstanding.")] = "auto",
    batch_timeout_ms: Annotated[float, typer.Option("--batch-timeout-ms", help="Dynamic batching: longest wait for a batch to fill (0 = launch at once).")] = 0.0,
    fixed_fraction: Annotated[float, typer.Option("--fixed-fraction", help="Share of a full batch's service time that does not shrink with smaller batches.")] = 0.5,
    replica_delta: Annotated[int, typer.Option("--replica-delta", help="Add (or, negative, remove) replicas in every window, e.g. -1 to see the margin.")] = 0,
    png: Annotated[str | None, typer.Option("--png", metavar="FILE", help="Also write latency percentiles and replicas over the day as a PNG (needs matplotlib).")] = None,
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
        if not duration > 0 or duration > 86400:
            raise typer.BadParameter(f"must be > 0 and <= 86400 seconds; got {duration:g}", param_hint="--duration")
        if batch_timeout_ms < 0 or batch_timeout_ms > 60000:
            raise typer.BadParameter("must be between 0 and 60000", param_hint="--batch-timeout-ms")
        if not 0 <= fixed_fraction <= 1:
            raise typer.BadParameter("must be between 0 and 1", param_hint="--fixed-fraction")
        plan = read_plan(plan_file)
        check_simulatable(plan, plan_file)
        sel = _windows(windows, plan.demand.windows, plan.demand.rps)
        source = read_trace(trace) if trace is not None else arrivals
        try:
            res = run(
                plan, arrivals=source, duration_s=duration, seed=seed, failure=fail, fail_at_s=fail_at, policy=policy,
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
            raise typer.Exit(1)
