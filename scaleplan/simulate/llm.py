"""``simulate_llm(plan, ...)``: token-level simulation of an LLM plan (docs/simulate.md, "LLM plans").

Each replica is a continuous-batching server (:mod:`scaleplan.simulate.llm_engine`) configured
from the allocation's ``llm`` section (``max_num_seqs``, ``kv_cache_tokens``, ``block_size``,
``max_num_batched_tokens``, ``max_model_len``). Step times come from the LLM performance model
or through the allocation's TTFT/TPOT points (the plan's per-class predictions, or a profile's
measured points). Requests arrive per class with the spec's token lengths (fixed or lognormal)
as a Poisson process over a compressed day, or from a trace; they are routed the way the
rendered manifests route them. The report gives per class TTFT, TPOT and end-to-end
percentiles against the SLO, attainment and goodput, and per window the queue, KV use and
preemptions; a saturated window (queue growing without bound) is called out.

This module runs the phases in order: options, step times and engine settings per allocation
(:mod:`~scaleplan.simulate.llm_replicas`), the workload (:mod:`~scaleplan.simulate.llm_workload`),
the failure and its replacement (:mod:`~scaleplan.simulate.failures`, shared with the
request-level simulator), routing as rendered (:mod:`~scaleplan.simulate.llm_routing`), the
engine (:mod:`~scaleplan.simulate.llm_engine`) and the report
(:mod:`~scaleplan.simulate.llm_summary`, :mod:`~scaleplan.simulate.llm_results`).

Pure: the result depends only on the inputs and the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from scaleplan.plan import Allocation, Plan
from scaleplan.simulate import llm_engine as eng
from scaleplan.simulate.failures import (
    FAILURES,
    Failure,
    lost_by_allocation,
    place_failure,
    recovery,
)
from scaleplan.simulate.layout import (
    Segment,
    Topology,
    check_simulatable,
    hpa_floor_note,
    topology,
)
from scaleplan.simulate.llm_replicas import (
    STEP_SOURCES,
    ModelStep,
    Point,
    StepSource,
    another_version_note,
    replica_config,
    steps_for_plan,
)
from scaleplan.simulate.llm_results import LlmSimResult
from scaleplan.simulate.llm_routing import PICKERS, Picker, route_as_rendered
from scaleplan.simulate.llm_summary import (
    Outcomes,
    Replacement,
    alloc_stats,
    class_stats,
    failure_stats,
    outcomes,
    sample_times,
    span_rate,
    window_rate,
    window_stats,
)
from scaleplan.simulate.llm_trace import LlmTrace
from scaleplan.simulate.llm_workload import (
    ARRIVAL_PROCESSES,
    LENGTHS,
    MIN_REQUESTS_PER_CLASS,
    ArrivalProcess,
    Lengths,
    Workload,
    from_trace,
    generate,
)
from scaleplan.simulate.surge import Surge
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator
    from scaleplan.render.replay import Rendered
    from scaleplan.simulate.autoscale import Autoscalers
    from scaleplan.simulate.llm_results import SurgeStats


def is_llm_plan(plan: Plan) -> bool:
    """LLM mode: an allocation has an ``llm`` section, or the SLO has TTFT/TPOT targets."""
    return (any(a.llm is not None for a in plan.allocations) or plan.spec.slo.ttft_ms is not None
        or plan.spec.slo.tpot_ms is not None)


@dataclass(frozen=True)
class LlmOptions:
    """The checked options of one run that shape the workload and the routing."""

    lengths: Lengths
    length_sigma: float
    picker: Picker
    rate_scale: float
    steps_source: StepSource
    arrivals: ArrivalProcess = "poisson"
    replica_delta: int = 0


def simulate_llm(
    plan: Plan,
    *,
    name: str | None = None,
    trace: LlmTrace | None = None,
    duration_s: float | None = None,
    min_requests: int = MIN_REQUESTS_PER_CLASS,
    windows: tuple[int, ...] | None = None,
    seed: int = 0,
    lengths: Lengths = "spec",
    length_sigma: float = 0.5,
    failure: Failure | None = None,
    fail_at_s: float | None = None,
    replace_after_s: float | None = None,
    picker: Picker = "epp",
    profile_pts: dict[str, list[Point]] | None = None,
    step_override: Callable[[Allocation], eng.StepTime | None] | None = None,
    rate_scale: float = 1.0,
    steps_source: StepSource = "auto",
    arrivals: ArrivalProcess = "poisson",
    replica_delta: int = 0,
    surge: Surge | None = None,
    scalers: Rendered | None = None,
    accelerators: Sequence[Accelerator],
) -> LlmSimResult:
    """Simulate an LLM plan token by token; see the module docstring and docs/simulate.md.
    ``replica_delta`` adds (removes) replicas in every window as the request-level simulator
    does (:func:`~scaleplan.simulate.layout.topology`), routed as rendered for the plan. A
    ``surge`` (one window) runs its factor x the rate, the replicas following the plan's rendered
    autoscalers (``scalers``, :func:`~scaleplan.render.replay.rendered_scalers`; None: the
    plan's counts): :mod:`~scaleplan.simulate.autoscale`. ``accelerators``: the accelerator
    table the model sizes by and new pods' start-ups load weights by, passed in (the ``simulate``
    command reads the shipped one and the spec's catalogs found beside the plan; a library
    caller, :func:`scaleplan.inputs.shipped_accelerators`)."""
    name = name or plan.metadata.name
    check_simulatable(plan, name)
    opts = _options(
        lengths, length_sigma, picker, rate_scale, steps_source, arrivals, replica_delta
    )
    steps, sources = steps_for_plan(
        plan, name, accelerators=accelerators, profile_pts=profile_pts,
        step_override=step_override, source=opts.steps_source,
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    drawn = (opts.lengths, opts.length_sigma)
    wl = from_trace(plan, trace, rng, *drawn, windows=windows) if trace is not None else generate(
        plan, name, rng=rng, windows=windows, duration_s=duration_s, min_per_class=min_requests,
        lengths=opts.lengths, sigma=opts.length_sigma, rate_scale=opts.rate_scale,
        arrivals=opts.arrivals, surge=surge,
    )
    notes: list[str] = [*another_version_note(plan, sources), *hpa_floor_note(plan), *wl.notes]
    topo = topology(plan, opts.replica_delta)
    floored = any(w in topo.floored for _, _, w in wl.segments)
    if floored:
        notes.append(
            f"--replica-delta {opts.replica_delta}: a window with no more replicas than that"
            " keeps one running"
        )
    allocs = plan.allocations
    cfgs = [replica_config(plan, a, steps[k]) for k, a in enumerate(allocs)]
    for a in allocs:
        if a.llm is None:
            notes.append(f"{a.name}: no llm section; max_num_seqs = the operating point's batch "
                f"({a.operating_point.batch_size}), KV cache not limiting")
    alloc_of = [int(x) for x in topo.alloc_of]
    segs = wl.segments
    serving = [(t0, frozenset(topo.serving(w))) for t0, _, w in segs]
    ctl = None
    if surge is not None and scalers is not None:
        from scaleplan.simulate.autoscale import autoscalers

        ctl = autoscalers(
            plan, segs[0][2], wl.times, segs[0][1], replace_after_s, scalers, accelerators
        )
        alloc_of, serving = ctl.alloc_of, [(0.0, ctl.serving())]
        notes.extend(_fixed_note(plan, ctl))
    replacement = None
    if failure is not None:
        at = (fail_at_s, replace_after_s)
        replacement = _failure(plan, topo, segs, failure, at, notes, accelerators)
    outages = [eng.Outage(replacement.lost_ids, replacement.at_s,
        replacement.at_s + replacement.delay_s)] if replacement is not None else []
    route, routing_desc = route_as_rendered(plan, opts.picker, rng.random(len(wl.times)), alloc_of,
        notes, [wl.names[c] for c in wl.cls])
    frontend_s = _request_path_s(steps, notes)
    res = eng.run(
        wl.times, wl.inp, wl.out, [cfgs[ai] for ai in alloc_of], alloc_of, serving, route,
        outages=outages, sample_t=sample_times(segs), frontend_s=frontend_s, control=ctl,
    )
    out = _report(plan, name, seed, opts, trace is None, wl, res, serving, alloc_of, cfgs, sources,
        replacement, routing_desc, notes)
    if surge is not None:
        out = replace(out, surge=_surged(plan, surge, wl, res, ctl, replace_after_s, accelerators))
        if out.surge is not None and not out.surge.holds and out.rejected_why:  # capacity fails too
            out = replace(out, rejected_why=out.rejected_why.removesuffix(NOT_CAPACITY))
        if out.surge is not None and not out.surge.holds and ctl is not None:
            out = replace(out, notes=(*out.notes, *_bound_notes(plan, ctl, surge)))
    return replace(out, replica_floor=True) if floored else out


def _fixed_note(plan: Plan, ctl: Autoscalers) -> list[str]:
    """Under a surge: the allocations no autoscaler scales (render fixes their replicas)."""
    scaled = {s.alloc for s in ctl.scalers}
    held = [a.name for k, a in enumerate(plan.allocations) if k not in scaled]
    if not held:
        return []
    whose, it = ("its Deployment has", "it runs at that count") if len(held) == 1 else (
        "their Deployments have", "each runs at its count")
    return [f"--surge: no autoscaler is rendered for {', '.join(held)} ({whose} fixed replicas,"
            f" e.g. a plan of one demand window), so {it} throughout"]


def _bound_notes(plan: Plan, ctl: Autoscalers, surge: Surge) -> list[str]:
    """A surge that fails: each autoscaler its polls held at its bound during the surge (UX
    trial 29 F4: a surge past the peak's capacity added no pod and the report did not say why),
    and the spec field that gives room above the plan's peak."""
    factor = plan.spec.kubernetes.autoscaler.max_replicas_factor
    how = (
        "kubernetes.autoscaler.max_replicas_factor gives room above the plan's peak"
        if factor <= 1.0 else f"a kubernetes.autoscaler.max_replicas_factor above {factor:g}"
        " gives more"
    )
    return [
        f"--surge: {s.name}'s autoscaler asked for more than its bound of {s.hi} replicas from "
        f"{at:,.0f} s; {how} (docs/render.md, \"Room above the peak\")"
        for s in ctl.scalers
        if (at := next((t for t in s.at_bound if surge.start_s <= t < surge.end_s), None))
        is not None
    ]


def _surged(
    plan: Plan, surge: Surge, wl: Workload, res: eng.EngineResult, ctl: Autoscalers | None,
    replace_after_s: float | None, accelerators: Sequence[Accelerator],
) -> SurgeStats:
    """The surge's report: its requests, and the pods the autoscalers added (none: fixed)."""
    from scaleplan.simulate.failures import pod_start
    from scaleplan.simulate.llm_summary import outcomes
    from scaleplan.simulate.surge import surge_stats

    w = wl.segments[0][2]
    asked, bases = [], []
    for s in ctl.scalers if ctl is not None else []:
        asked += [(t, t + s.start_s, s.name) for t, d in s.changes for _ in range(max(d, 0))]
        a = plan.allocations[s.alloc]
        said = pod_start(plan, a, accelerators)[1]
        bases.append(f"{a.name}: {said}" if replace_after_s is None else "")
    basis = "given (--replace-after)" if replace_after_s is not None else "; ".join(bases)
    timeline = tuple(ctl.timeline) if ctl is not None else ()
    running = plan.replicas_at(w)
    if ctl is not None:  # the fixed ones, and each Deployment's serving pods at the surge's start
        last = {c.allocation: c.serving for c in timeline if c.t_s <= surge.start_s}
        running = len(ctl.fixed) + sum(last.values())
    return surge_stats(
        plan, surge, w, wl.times, wl.cls, wl.names, outcomes(plan, wl, res), timeline, asked,
        basis, running, ctl is not None,
    )


def _options(
    lengths: str, length_sigma: float, picker: str, rate_scale: float, steps_source: str,
    arrivals: str, replica_delta: int,
) -> LlmOptions:
    """The options checked (ValueError naming the bad one)."""
    if arrivals not in ARRIVAL_PROCESSES:
        allowed = ", ".join(ARRIVAL_PROCESSES)
        raise ValueError(f"arrivals must be one of {allowed}; got {arrivals!r}")
    if lengths not in LENGTHS:
        raise ValueError(f"lengths must be one of {', '.join(LENGTHS)}; got {lengths!r}")
    if picker not in PICKERS:
        raise ValueError(f"picker must be one of {', '.join(PICKERS)}; got {picker!r}")
    if not (rate_scale > 0 and math.isfinite(rate_scale)):
        raise ValueError("rate_scale must be > 0")
    if steps_source not in STEP_SOURCES:
        raise ValueError(f"steps_source must be one of {', '.join(STEP_SOURCES)}; got "
            f"{steps_source!r}")
    return LlmOptions(
        lengths, length_sigma, picker, rate_scale, steps_source, arrivals, replica_delta
    )


def _request_path_s(steps: list[eng.StepTime], notes: list[str]) -> float:
    """Seconds from a request being sent to its scheduler seeing it. The LLM model's TTFT holds
    the engine's request path (HTTP, tokenization, first-token streaming:
    ``llm.perf.REQUEST_OVERHEAD_MS``) outside the engine steps, so where every allocation runs
    on the model's step times the simulator adds that same path and a lone request's TTFT is
    the model's. Step times from measured TTFT/TPOT points already hold it (0)."""
    from scaleplan.llm.perf import REQUEST_OVERHEAD_MS

    engines = {s.deployment.settings.engine for s in steps if isinstance(s, ModelStep)}
    if not engines or len(engines) > 1 or not all(isinstance(s, ModelStep) for s in steps):
        if engines:
            notes.append(
                "allocations mix LLM-model and measured step times: the model's request path"
                " (llm.perf.REQUEST_OVERHEAD_MS) is not added, so their TTFT is that much low"
            )
        return 0.0
    return REQUEST_OVERHEAD_MS[engines.pop()] / 1000.0


def _failure(
    plan: Plan, topo: Topology, segs: tuple[Segment, ...], failure: str,
    at: tuple[float | None, float | None], notes: list[str], accelerators: Sequence[Accelerator],
) -> Replacement:
    """The failure placed and when replacements serve, as in the request-level simulator
    (:func:`~scaleplan.simulate.failures.place_failure`,
    :func:`~scaleplan.simulate.failures.recovery`); ``at``: ``--fail-at`` and
    ``--replace-after``."""
    fail_at_s, replace_after_s = at
    if failure not in FAILURES:
        raise ValueError(f"failure must be node, zone or spot; got {failure!r}")
    event = place_failure(plan, topo, segs, failure, fail_at_s)
    notes.extend(event.notes)
    back = recovery(plan, topo, event, replace_after_s, accelerators)
    lost = lost_by_allocation(topo, event)
    return Replacement(
        failure, event.at_s, event.window, event.lost, lost, back.delay_s, back.basis
    )


def _trace_span_s(wl: Workload, res: eng.EngineResult) -> float:
    """A trace's goodput is over the time it ran: its first arrival to its last completion (or
    arrival), not over the whole windows its times fall in (a 30 s benchmark replayed into a
    24 h window read 0.002 req/s)."""
    if len(wl.times) == 0:
        return 0.0
    done = res.t_done[np.isfinite(res.t_done)]
    end = max(float(wl.times[-1]), float(done.max()) if len(done) else 0.0)
    return end - float(wl.times[0])


def _report(
    plan: Plan, name: str, seed: int, opts: LlmOptions, generated: bool, wl: Workload,
        res: eng.EngineResult,
    serving: list[tuple[float, frozenset[int]]], alloc_of: list[int], cfgs: list[eng.ReplicaConfig],
        sources: list[str],
    replacement: Replacement | None, routing_desc: str, notes: list[str],
) -> LlmSimResult:
    """The result: outcomes per request summarised per class, window, allocation and failure."""
    o = outcomes(plan, wl, res)
    segs = wl.segments
    rate = window_rate(wl.times, segs) if generated else span_rate(_trace_span_s(wl, res))
    cstats = class_stats(plan, wl, res, o, rate)
    scale = opts.rate_scale if generated else None
    wstats = window_stats(plan, wl, res, o, serving, scale, notes, replacement)
    astats = alloc_stats(plan, segs, serving, alloc_of, cfgs, sources, res)
    fstats = failure_stats(plan, wl, res, o, replacement) if replacement is not None else None
    rejected = int((res.outcome == eng.REJECTED).sum())
    why = None
    if rejected:
        notes.append(rejected_note(rejected) + "; " + REJECTED_FIX)
        rest_ok = not any(w.saturated for w in wstats) and (fstats is None or fstats.holds)
        why = rejected_why(wl, res, o, rejected, cfgs, rest_ok)
    slo = plan.spec.slo
    n = len(wl.times)
    return LlmSimResult(
        plan=name, plan_hash=plan.metadata.plan_hash, mode="llm", arrivals=wl.kind,
            routing=routing_desc, lengths=wl.lengths if generated or wl.drawn else "trace",
        seed=seed, windows_simulated=tuple(s[2] for s in segs),
            window_seconds=tuple(s[1] - s[0] for s in segs),
        slo_percentile=o.pct, slo_ttft_ms=slo.ttft_ms, slo_tpot_ms=slo.tpot_ms,
            slo_e2e_ms=slo.latency_ms, target=o.target,
        requests=n, completed=int(o.ok.sum()), failed=int((res.outcome == eng.FAILED).sum()),
            rejected=rejected,
        attainment=float(o.good.mean()) if n else 1.0, goodput_rps=rate(o.good),
        meets_slo=all(c.holds for c in cstats), saturated=any(w.saturated for w in wstats),
            classes=tuple(cstats), windows=tuple(wstats),
        allocations=tuple(astats), failure=fstats, series_t_s=tuple(res.sample_t.tolist()),
            series_waiting=tuple(res.sample_waiting.tolist()),
        series_running=tuple(res.sample_running.tolist()),
            series_kv_used=tuple(res.sample_kv_used.tolist()),
        series_preemptions=tuple(res.sample_preempted.tolist()), notes=tuple(notes),
        replica_delta=opts.replica_delta, slo_e2e_derived=slo.tested_latency_ms is None,
        rejected_why=why,
    )


REJECTED_FIX = (
    "fix: raise model.engine_config.max_model_len in the spec to cover them, or state the "
    "classes' spread (traffic.classes[].lengths: max_model_len then defaults to its p99.9), and "
    "re-optimize; simulate --lengths fixed checks the capacity alone"
)


NOT_CAPACITY = "; the others hold the SLO: the lengths fail the plan, not its capacity"


def rejected_why(
    wl: Workload, res: eng.EngineResult, o: Outcomes, rejected: int,
    cfgs: list[eng.ReplicaConfig], rest_ok: bool,
) -> str:
    """What the verdict line says of refused requests: their share, the max_model_len they
    exceed, and whether the requests not refused hold the SLO on their own (then, where no
    window saturates and the failure scenario holds, ``rest_ok``, the lengths, not the
    capacity, fail the plan; UX trial 28 F7: 29 % rejected read as a capacity miss)."""
    n = len(wl.times)
    lens = sorted({c.max_model_len for c in cfgs})
    limit = "max_model_len " + " / ".join(f"{v:,}" for v in lens) if lens else "max_model_len"
    kept = res.outcome != eng.REJECTED
    others = int(kept.sum())
    share = 100.0 * rejected / n
    head = (f"{rejected:,} of {n:,} requests ({share:.1f} %) rejected as longer than "
            f"{limit} (or the KV cache)")
    if others == 0:
        return head
    hold = rest_ok and all(
        float(g[m].mean()) >= o.target
        for ci in range(len(wl.names))
        if (m := kept & (wl.cls == ci)).any()
        for g in (o.good_ttft, o.good_tpot, o.good_e2e)
    )
    if hold:
        return f"{head}{NOT_CAPACITY}"
    return f"{head}; the {others:,} others attain {100.0 * float(o.good[kept].mean()):.2f} %"


def rejected_note(rejected: int) -> str:
    """The note on requests the server refused (prompt + completion past max_model_len)."""
    were = "was" if rejected == 1 else "were"
    misses = "a miss" if rejected == 1 else "misses"
    return (f"{counted(rejected, 'request')} longer than max_model_len (or the whole KV cache) "
            f"{were} rejected and counted as {misses}")
