"""``simulate(plan, ...)``: a discrete-event simulation of a plan's replicas over its demand curve.

The phases, in order: check the options (:class:`SimOptions`), fit each replica type's service
model, generate the arrivals over the simulated day, place the failure, cut the day into epochs
of fixed serving replicas, route and serve every request (:mod:`scaleplan.simulate.serving`),
and summarise per window, per allocation and after the failure (:mod:`scaleplan.simulate.results`).

Pure: the result depends only on the plan and the arguments (the seed included); no clock, no
printing. See docs/simulate.md for the model and its limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from scaleplan.plan import Plan
from scaleplan.simulate import arrivals as arr
from scaleplan.simulate.engine import ReplicaModel
from scaleplan.simulate.failures import (
    FAILURES,
    Failure,
    FailureEvent,
    Recovery,
    claim_tested,
    lost_by_allocation,
    outage_attainment,
    place_failure,
    recovery,
    survives_spot_loss,
)
from scaleplan.simulate.layout import (
    Segment,
    Topology,
    check_simulatable,
    hpa_floor_note,
    segment_of,
    topology,
    trace_segments,
)
from scaleplan.simulate.results import (
    AllocationStats,
    FailureStats,
    SimResult,
    WindowStats,
    latency_stats,
)
from scaleplan.simulate.serving import (
    POLICIES,
    SERVICE_DISTS,
    Epoch,
    Policy,
    PolicyChoice,
    Served,
    ServiceDist,
    ServiceModels,
    class_scales,
    request_classes,
    resolve_policy,
    serve,
    service_draws,
    service_model,
)

MAX_REQUESTS = 30_000_000
QUEUE_SAMPLES_PER_WINDOW = 12
if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass(frozen=True)
class SimOptions:
    """The checked options of one run (``policy`` resolved from ``auto``)."""

    arrivals: str | arr.Trace
    duration_s: float
    seed: int
    failure: Failure | None
    fail_at_s: float | None
    replace_after_s: float | None
    policy: Policy
    batch_timeout_ms: float
    fixed_fraction: float
    replica_delta: int
    windows: tuple[int, ...] | None
    service: ServiceDist


def simulate(
    plan: Plan,
    *,
    arrivals: str | arr.Trace = "poisson",
    duration_s: float = 60.0,
    seed: int = 0,
    failure: Failure | None = None,
    fail_at_s: float | None = None,
    replace_after_s: float | None = None,
    policy: PolicyChoice = "auto",
    batch_timeout_ms: float = 0.0,
    fixed_fraction: float = 0.5,
    replica_delta: int = 0,
    windows: tuple[int, ...] | None = None,
    service: ServiceDist = "lognormal",
    accelerators: Sequence[Accelerator],
) -> SimResult:
    """Simulate ``plan`` and report SLO attainment, latency, utilization and queues.

    A compressed day: each selected window (default: all) is simulated for ``duration_s``
    seconds at its planned rate and replica counts, back to back. A trace replaces the
    generated arrivals: its times are seconds from the start of the day, windows are real
    (``window_hours`` long) and ``duration_s``/``windows`` are ignored. Lost replicas serve
    again when :func:`~scaleplan.simulate.failures.recovery` says (``replace_after_s``, or as
    the rendered manifests bring them back), as in the token-level simulator.
    ``accelerators``: the accelerator table new pods' start-ups load weights by, passed in
    (the ``simulate`` command reads the shipped one and the spec's catalogs found beside the
    plan; a library caller, :func:`scaleplan.inputs.shipped_accelerators`).
    """
    check_simulatable(plan, plan.metadata.name)
    opts = _options(
        plan, arrivals, duration_s, seed, failure, (fail_at_s, replace_after_s), policy,
        batch_timeout_ms, fixed_fraction, replica_delta, windows, service,
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    notes: list[str] = hpa_floor_note(plan)
    topo = topology(plan, opts.replica_delta)
    fitted = _service_models(plan, opts, notes)
    segments, times, kind = _arrivals(plan, opts, rng)
    event = place_failure(plan, topo, segments, opts.failure,
        opts.fail_at_s) if opts.failure is not None else None
    back = None
    if event is not None:
        back = recovery(plan, topo, event, opts.replace_after_s, accelerators)
        notes.extend(event.notes)
    outage = _Outage.of(event, back)
    epochs = _epochs(segments, topo, outage)
    models = tuple(m for m, _ in fitted)
    draw = service_draws(rng, opts.service, len(times))
    scale = class_scales(plan, models)  # () unless allocations record each class's point
    req_cls = request_classes(plan, rng, len(times)) if scale else None
    svc = ServiceModels(models, tuple(s for _, s in fitted), opts.service, draw, req_cls, scale)
    served = serve(plan, topo, opts.policy, times, svc, epochs, rng)
    out = _outcomes(plan, topo, times, served, outage, notes)
    busy = _busy(plan, topo, segments, epochs, served, outage)
    sample_t = _sample_times(segments)
    q_total = _queue_at(times, served.start, sample_t, out.done)
    win_stats = _window_stats(plan, topo, segments, times, out, busy, q_total, outage)
    alloc_stats = _alloc_stats(plan, svc, times, served, out, busy, sample_t)
    fstats = None
    if event is not None and back is not None:
        fstats = _failure_stats(plan, topo, times, served, out, event, back)
    worst = min((ws for ws in win_stats if ws.attainment is not None),
        key=lambda ws: (ws.attainment or 0.0, ws.start_s), default=None)
    slo = plan.spec.slo
    n = len(times)
    attainment = float(out.within.mean()) if n else 1.0
    return SimResult(
        plan=plan.metadata.name, plan_hash=plan.metadata.plan_hash, arrivals=kind,
            policy=opts.policy, seed=seed,
        duration_s=segments[0][1] - segments[0][0], windows_simulated=tuple(s[2] for s in segments),
        batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction, service=opts.service,
            replica_delta=replica_delta,
        slo_latency_ms=slo.latency_ms, slo_percentile=slo.percentile, target=out.target,
        requests=n, completed=int(out.done.sum()), failed=int(out.failed.sum()),
        attainment=attainment, meets_slo=attainment >= out.target,
        worst_window=worst.window if worst else None,
            worst_window_attainment=worst.attainment if worst else None,
        latency_ms=latency_stats(out.lat_ms[out.done]), windows=tuple(win_stats),
            allocations=tuple(alloc_stats), failure=fstats,
        queue_t_s=tuple(float(t) for t in sample_t), queue_total=tuple(int(q) for q in q_total),
            notes=tuple(notes),
    )


# ---------------------------------------------------------------- options and inputs


def _options(
    plan: Plan, arrivals: str | arr.Trace, duration_s: float, seed: int, failure: str | None,
        fail_times: tuple[float | None, float | None], policy: str,
    batch_timeout_ms: float, fixed_fraction: float, replica_delta: int,
        windows: tuple[int, ...] | None, service: str,
) -> SimOptions:
    """The options checked (ValueError naming the bad one) in the order the caller gave them;
    ``fail_times``: (fail_at_s, replace_after_s)."""
    fail_at_s, replace_after_s = fail_times
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}; got {policy!r}")
    resolved = resolve_policy(plan, policy)
    fail: Failure | None = None
    if failure is not None:
        if failure not in FAILURES:
            raise ValueError(f"failure must be one of {FAILURES} or None; got {failure!r}")
        fail = failure
    if replace_after_s is not None and not (0.0 <= replace_after_s < math.inf):
        raise ValueError("replace_after_s must be >= 0 and finite")
    if service not in SERVICE_DISTS:
        raise ValueError(f"service must be lognormal, exponential or deterministic; got {service!r}")
    if not (0.0 <= fixed_fraction <= 1.0):
        raise ValueError("fixed_fraction must be in [0, 1]")
    if batch_timeout_ms < 0 or not math.isfinite(batch_timeout_ms):
        raise ValueError("batch_timeout_ms must be >= 0")
    return SimOptions(
        arrivals=arrivals, duration_s=float(duration_s), seed=seed,
        failure=fail, fail_at_s=fail_at_s, replace_after_s=replace_after_s, policy=resolved,
        batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction,
            replica_delta=replica_delta, windows=windows,
        service=service,
    )


def _service_models(plan: Plan, opts: SimOptions,
        notes: list[str]) -> list[tuple[ReplicaModel, float]]:
    """Each allocation's (ReplicaModel, sigma); a note where the point's p50 latency exceeds the
    batch service time its throughput implies."""
    fitted: list[tuple[ReplicaModel, float]] = []
    for a in plan.allocations:
        rmod, sg = service_model(a, fixed_fraction=opts.fixed_fraction,
            timeout_s=opts.batch_timeout_ms / 1000.0)
        fitted.append((rmod, sg))
        op = a.operating_point
        if op.latency_ms.p50 > 1.1 * rmod.s_full * 1000.0:
            notes.append(f"{a.name}: the point's p50 latency {op.latency_ms.p50:g} ms exceeds the "
                f"mean batch service time {rmod.s_full * 1000:g} ms implied by its throughput; "
                "light-load latency is understated")
    return fitted


def _arrivals(plan: Plan, opts: SimOptions,
        rng: np.random.Generator) -> tuple[list[Segment], F64, str]:
    """(segments, sorted arrival times, arrivals label): a trace's real windows, or each
    selected window for ``duration_s`` back to back with Poisson or bursty arrivals."""
    if isinstance(opts.arrivals, arr.Trace):
        return (trace_segments(plan, opts.arrivals.times), opts.arrivals.times,
            f"trace:{opts.arrivals.name}")
    if opts.arrivals not in ("poisson", "bursty"):
        raise ValueError(f"arrivals must be 'poisson', 'bursty' or a Trace; got {opts.arrivals!r}")
    duration_s = opts.duration_s
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError("duration_s must be > 0")
    nwin = plan.demand.windows
    sel = tuple(range(nwin)) if opts.windows is None else opts.windows
    if not sel or any(w < 0 or w >= nwin for w in sel):
        raise ValueError(f"windows must be in 0..{nwin - 1}")
    expected = sum(plan.demand.rps[w] for w in sel) * duration_s
    if expected > MAX_REQUESTS:
        raise ValueError(f"about {expected:.3g} requests; the limit is {MAX_REQUESTS:.0e}: lower "
            "the duration or select fewer windows")
    segments = [(k * duration_s, (k + 1) * duration_s, w) for k, w in enumerate(sel)]
    gen = arr.poisson if opts.arrivals == "poisson" else arr.bursty
    parts = [gen(rng, t0, t1, plan.demand.rps[w]) for t0, t1, w in segments]
    times = np.concatenate(parts) if parts else np.empty(0)
    return segments, times, str(opts.arrivals)


@dataclass(frozen=True)
class _Outage:
    """The lost replicas, down from ``at_s`` until ``back_s`` (inf: never); none: no failure."""

    lost: frozenset[int] = frozenset()
    at_s: float = math.inf
    back_s: float = math.inf

    @staticmethod
    def of(event: FailureEvent | None, back: Recovery | None) -> _Outage:
        if event is None or back is None:
            return _Outage()
        return _Outage(event.lost, event.at_s, event.at_s + back.delay_s)

    def down(self, t: float) -> bool:
        return self.at_s <= t < self.back_s


def _epochs(segments: list[Segment], topo: Topology, outage: _Outage) -> list[Epoch]:
    """(start, serving replica ids) from each segment start, the failure and the replacements on."""
    seg_starts = np.array([s[0] for s in segments])
    horizon = segments[-1][1]
    changes = {t for t in (outage.at_s, outage.back_s) if t < horizon}
    bounds = sorted({s[0] for s in segments} | changes)
    epochs: list[Epoch] = []
    for t in bounds:
        k = int(np.searchsorted(seg_starts, t, side="right") - 1)
        act = topo.serving(segments[k][2])
        if outage.down(t):
            act = [g for g in act if g not in outage.lost]
        epochs.append((t, act))
    return epochs


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class _Outcomes:
    """Per request: no replica, failed (no replica, or lost with its replica before it
    finished), latency, within the SLO, completed; the allocation that served it (-1: none)."""

    dropped: B
    failed: B
    lat_ms: F64
    within: B
    done: B
    req_alloc: I64
    target: float


def _outcomes(
    plan: Plan, topo: Topology, times: F64, served: Served, outage: _Outage, notes: list[str]
) -> _Outcomes:
    """A request on a lost replica fails if it arrived before the failure and had not finished
    by then; those arriving after the replacements serve are the replacements'."""
    is_lost = np.zeros(max(topo.n_replicas, 1), dtype=bool)
    is_lost[sorted(outage.lost)] = True
    tf = outage.at_s
    rep, finish = served.rep, served.finish
    dropped = rep < 0
    safe_rep = np.where(dropped, 0, rep)
    failed = dropped | (is_lost[safe_rep] & (finish > tf) & (times < tf))
    lat_ms = (finish - times) * 1000.0
    within = ~failed & (lat_ms <= plan.spec.slo.latency_ms)
    n_static = int(served.static_dropped.sum())
    if n_static:
        where = ", ".join(f"{name} ({k})" for name, k in served.static_drops)
        notes.append(f"{n_static} requests failed because the HTTPRoute's static weights sent them "
            f"to a backend with no running pods (a Service without endpoints): {where}")
    if int(dropped.sum()) > n_static:
        notes.append(f"{int(dropped.sum()) - n_static} requests arrived when no replica was "
            "running and count as failed")
    req_alloc = np.where(dropped, -1, topo.alloc_of[safe_rep] if topo.n_replicas else -1)
    return _Outcomes(dropped, failed, lat_ms, within, ~failed, req_alloc,
        plan.spec.slo.percentile / 100.0)


@dataclass(frozen=True)
class _Busy:
    """Per batch: busy seconds, segment and allocation, then one row per batch that ran into
    the next segment (its time there); running replica-seconds per (segment, allocation)."""

    b_busy: F64
    b_seg: I64
    b_alloc: I64
    batch_alloc: I64  # per batch as served (b_alloc without the rows past a window's end)
    active_s: F64


def _busy(
    plan: Plan, topo: Topology, segments: list[Segment], epochs: list[Epoch], served: Served,
    outage: _Outage,
) -> _Busy:
    """Busy time, clipped to the horizon and, for lost replicas' batches launched before their
    replacements serve, to the failure time."""
    horizon = segments[-1][1]
    seg_starts = np.array([s[0] for s in segments])
    b_end = np.minimum(served.b_finish, horizon)
    if outage.lost:
        is_lost = np.zeros(max(topo.n_replicas, 1), dtype=bool)
        is_lost[sorted(outage.lost)] = True
        cut = is_lost[served.b_rep] & (served.b_launch < outage.back_s)
        b_end = np.where(cut, np.minimum(b_end, outage.at_s), b_end)
    b_seg = np.searchsorted(seg_starts, served.b_launch, side="right") - 1
    empty = np.empty(0, dtype=np.int64)
    b_alloc = batch_alloc = topo.alloc_of[served.b_rep] if len(served.b_rep) else empty
    active_s = np.zeros((len(segments), len(plan.allocations)))
    ep_bounds = [*[e[0] for e in epochs], horizon]
    for e, (t0, act) in enumerate(epochs):
        t1 = ep_bounds[e + 1]
        k = int(np.searchsorted(seg_starts, t0, side="right") - 1)
        for g in act:
            active_s[k, int(topo.alloc_of[g])] += t1 - t0
    # a batch running past its segment's end is busy there up to the end and in the next
    # segment for the rest; a replica the plan no longer runs that still works off its queue
    # is draining, and its busy time counts as running time too: no window reads more than
    # 100 % busy (UX review 6 #6: 100.01 % where a window scaled down)
    seg_ends = np.array([s[1] for s in segments])
    own_end = np.minimum(b_end, seg_ends[b_seg]) if len(b_seg) else b_end
    b_busy = np.maximum(own_end - np.minimum(served.b_launch, own_end), 0.0)
    b_from = np.minimum(served.b_launch, own_end)
    b_rep = served.b_rep
    follows = np.append(np.isclose(seg_starts[1:], seg_ends[:-1]), False)
    crosses = (b_end > own_end) & follows[b_seg] if len(b_seg) else np.zeros(0, dtype=bool)
    carry = np.flatnonzero(crosses)
    if len(carry):
        b_busy = np.concatenate([b_busy, b_end[carry] - own_end[carry]])
        b_from = np.concatenate([b_from, own_end[carry]])
        b_seg = np.concatenate([b_seg, b_seg[carry] + 1])
        b_alloc = np.concatenate([b_alloc, b_alloc[carry]])
        b_rep = np.concatenate([b_rep, b_rep[carry]])
    if len(b_seg) and epochs:
        running = np.zeros((len(epochs), max(topo.n_replicas, 1)), dtype=bool)
        for e, (_, act) in enumerate(epochs):
            running[e, sorted(act)] = True
        ep = np.searchsorted(np.array([e[0] for e in epochs]), b_from, side="right") - 1
        draining = ~running[np.maximum(ep, 0), b_rep] & (b_busy > 0)
        np.add.at(active_s, (b_seg[draining], b_alloc[draining]), b_busy[draining])
    return _Busy(b_busy, b_seg, b_alloc, batch_alloc, active_s)


def _sample_times(segments: list[Segment]) -> F64:
    """QUEUE_SAMPLES_PER_WINDOW evenly spaced sample times per segment."""
    sample_t: list[float] = []
    for t0, t1, _ in segments:
        step = (t1 - t0) / QUEUE_SAMPLES_PER_WINDOW
        sample_t.extend(t0 + (j + 0.5) * step for j in range(QUEUE_SAMPLES_PER_WINDOW))
    return np.array(sample_t)


def _queue_at(times: F64, start: F64, sample_t: F64, mask: B) -> I64:
    """Waiting requests (arrived, batch not launched) of ``mask`` at each sample time."""
    a_sorted = times[mask]
    s_sorted = np.sort(start[mask])
    q = np.searchsorted(a_sorted, sample_t, side="right") - np.searchsorted(s_sorted, sample_t, side="right")
    return q.astype(np.int64)


# ---------------------------------------------------------------- summaries


def _window_stats(
    plan: Plan, topo: Topology, segments: list[Segment], times: F64, out: _Outcomes,
    busy: _Busy, q_total: I64, outage: _Outage,
) -> list[WindowStats]:
    seg_of = segment_of(segments, times)
    stats: list[WindowStats] = []
    for k, (t0, t1, w) in enumerate(segments):
        m = seg_of == k
        cnt = int(m.sum())
        qk = q_total[k * QUEUE_SAMPLES_PER_WINDOW : (k + 1) * QUEUE_SAMPLES_PER_WINDOW]
        b = float(busy.b_busy[busy.b_seg == k].sum())
        act_k = float(busy.active_s[k].sum())
        stats.append(WindowStats(
            window=w, start_s=t0, end_s=t1, rps=plan.demand.rps[w],
            replicas=_standing(topo, w, t0, t1, outage),
            requests=cnt, failed=int((out.failed & m).sum()),
            attainment=float(out.within[m].mean()) if cnt else None,
            latency_ms=latency_stats(out.lat_ms[m & out.done]),
            queue_mean=float(qk.mean()) if len(qk) else 0.0,
                queue_max=int(qk.max()) if len(qk) else 0,
            utilization=b / act_k if act_k > 0 else None,
        ))
    return stats


def _standing(topo: Topology, w: int, t0: float, t1: float, outage: _Outage) -> dict[str, int]:
    """Replicas per allocation serving through window ``w`` (the lost ones left out)."""
    ids = topo.standing(w, t0, t1, outage.lost, outage.at_s, outage.back_s)
    of = [int(topo.alloc_of[g]) for g in ids]
    return {name: of.count(ai) for ai, name in enumerate(topo.names)}


def _alloc_stats(plan: Plan, svc: ServiceModels, times: F64, served: Served, out: _Outcomes,
        busy: _Busy, sample_t: F64) -> list[AllocationStats]:
    stats: list[AllocationStats] = []
    for ai, a in enumerate(plan.allocations):
        m = out.req_alloc == ai
        cnt = int(m.sum())
        qa = _queue_at(times, served.start, sample_t, out.done & m)
        bm, own = busy.b_alloc == ai, busy.batch_alloc == ai
        act_a = float(busy.active_s[:, ai].sum())
        stats.append(AllocationStats(
            name=a.name, accelerator=a.accelerator, capacity_type=a.capacity_type,
            batch_size=svc.models[ai].batch, service_ms=svc.models[ai].s_full * 1000.0,
                sigma=svc.sigmas[ai],
            requests=cnt, attainment=float(out.within[m].mean()) if cnt else None,
            latency_ms=latency_stats(out.lat_ms[m & out.done]),
            utilization=float(busy.b_busy[bm].sum()) / act_a if act_a > 0 else None,
            mean_batch=float(served.b_size[own].mean()) if own.any() else None,
            queue_mean=float(qa.mean()) if len(qa) else 0.0,
                queue_max=int(qa.max()) if len(qa) else 0,
        ))
    return stats


def _failure_stats(
    plan: Plan, topo: Topology, times: F64, served: Served, out: _Outcomes, event: FailureEvent,
    back: Recovery,
) -> FailureStats:
    after = times >= event.at_s
    hit = out.failed & (~out.dropped | served.static_dropped)
    red = plan.spec.placement.redundancy
    v = outage_attainment(times, out.within, event.at_s, event.at_s + back.delay_s, out.target)
    return FailureStats(
        mode=event.mode, at_s=event.at_s, window=event.window, lost=lost_by_allocation(topo, event),
        replacement_s=back.delay_s, replacement_basis=back.basis,
        back_at_s=event.at_s + back.delay_s,
        requests_after=v.requests_after, failed_requests=int(hit.sum()),
        static_weight_failures=int((served.static_dropped & after).sum()),
        attainment_after=v.attainment_after,
        latency_after_ms=latency_stats(out.lat_ms[after & out.done]),
        redundancy=red, claim_tested=claim_tested(event.mode, red, survives_spot_loss(plan)),
        holds=v.holds,
        requests_during=v.requests_during, attainment_during=v.attainment_during,
    )
