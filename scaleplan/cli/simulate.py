"""``scaleplan simulate``: check a plan against its SLO by discrete-event simulation."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report
from scaleplan.cli.options import JsonResult, PlanCatalogs, number_option
from scaleplan.option_values import args_of


def simulate(
    plan_file: Annotated[str, typer.Argument(metavar="PLAN", help="Plan file written by 'scaleplan optimize'.")],
    arrivals: Annotated[str, typer.Option("--arrivals", help="poisson, bursty (MMPP: 1.5x bursts 20% of the time) or trace (with --trace FILE).")] = "poisson",
    trace: Annotated[str | None, typer.Option("--trace", metavar="FILE", help="Arrival times, seconds from the start of the day, one per line (implies --arrivals trace); for an LLM plan also a CSV timestamp,input_tokens,output_tokens[,class] or a vLLM result (docs/simulate.md).")] = None,
    duration: Annotated[float | None, number_option("--duration", what="a number of seconds", example="60", help="Simulated seconds per window (a compressed day); default 60, for LLM plans long enough for --min-requests per class.")] = None,
    windows: Annotated[str, typer.Option("--windows", help="Windows to simulate: all, peak, 8-18, 0,12,23.")] = "all",
    seed: Annotated[int, number_option("--seed", integer=True, min=0, max=2**63 - 1, help="Random seed (0 to 2^63-1); the same seed gives identical output.")] = 0,
    fail: Annotated[str | None, typer.Option("--fail", help="Lose capacity: node (the largest node), zone (the largest zone) or spot (all spot).")] = None,
    fail_at: Annotated[float | None, number_option("--fail-at", what="a number of seconds", example="10", help="When (simulated seconds) the capacity is lost; default 10% into the peak window.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Load balancing: auto (what the rendered manifests do: round-robin for routing: service, weighted for gateway-api), weighted (the plan's capacity-weighted routing), round-robin, least-outstanding.")] = "auto",
    batch_timeout_ms: Annotated[float, number_option("--batch-timeout-ms", what="a number of milliseconds", example="5", help="Dynamic batching: longest wait for a batch to fill (0 = launch at once).")] = 0.0,
    fixed_fraction: Annotated[float, number_option("--fixed-fraction", what="a fraction", example="0.5", help="Share of a full batch's service time that does not shrink with smaller batches.")] = 0.5,
    replica_delta: Annotated[int, typer.Option("--replica-delta", help="Add (or, negative, remove) replicas in every window, e.g. -1 to see the margin.")] = 0,
    replicas: Annotated[str | None, typer.Option("--replicas", help="Replicas per window: plan (the plan's counts; the default) or autoscaler (what the rendered HPAs / ScaledObjects run at each window's planned rate; under --surge, the default, their reaction to it).")] = None,
    surge: Annotated[str | None, typer.Option("--surge", metavar="FACTORx@START+DURATION", help="LLM plans: a traffic spike in one window (default: the peak), e.g. 1.8x@600+300 = 1.8x the window's rate from 600 s for 300 s of simulated time; the replicas follow the rendered autoscalers, new pods serving after node start + image pull + start-up (docs/simulate.md, Surges).")] = None,
    png: Annotated[str | None, typer.Option("--png", metavar="FILE", help="Also write latency percentiles and replicas over the day as a PNG (needs matplotlib).")] = None,
    profile: Annotated[str | None, typer.Option("--profile", metavar="FILE", help="LLM plans: TTFT/TPOT points for allocations without llm.classes (default: the spec's profile next to the plan, if there).")] = None,
    lengths: Annotated[str, typer.Option("--lengths", help="LLM plans: token lengths per class: spec (as the spec's classes state), fixed (their means) or lognormal (mean = the spec's).")] = "spec",
    length_sigma: Annotated[float, number_option("--length-sigma", example="0.5", help="LLM plans: shape of the lognormal lengths.")] = 0.5,
    min_requests: Annotated[int, typer.Option("--min-requests", help="LLM plans: requests per class per window the default duration aims at (p99 needs >= 1000).")] = 1000,
    replace_after: Annotated[float | None, number_option("--replace-after", what="a number of seconds", example="300", help="Seconds until lost replicas serve again (default: node start + image pull + the rendered startup window, engine start-up included; lost spot capacity only where the flavor renders an on-demand fallback; a lost zone never, under the enforced zone spread).")] = None,
    picker: Annotated[str, typer.Option("--picker", help="LLM plans with routing: inference-pool: epp (the Inference Extension EPP's default scorers: waiting queue and KV cache, weights 2 and 2, random among ties), queue (shortest queue) or kv (most free KV cache).")] = "epp",
    steps: Annotated[str, typer.Option("--steps", help="LLM plans: step times from the LLM performance model (model), from TTFT/TPOT points (points), or auto (the model when the spec names an architecture).")] = "auto",
    catalog: PlanCatalogs = None,
    json_out: JsonResult = False,
) -> None:
    """Simulate a plan's replicas over its demand curve; report SLO attainment (exit 1 if below target)."""
    with handle_errors(json_out):
        from scaleplan.simulate.command import SimulateArgs, simulate_command

        print_report(simulate_command(plan_file, args_of(SimulateArgs, locals()), json_out))
