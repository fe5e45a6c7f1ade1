"""``simulate(plan, ...)``: a discrete-event simulation of a plan's replicas over its demand curve.

Pure: the result depends only on the plan and the arguments (the seed included); no clock, no
printing. See docs/simulate.md for the model and its limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from scaleplan.errors import InfeasibleError, InfeasibleReason, PlanError, Problem
from scaleplan.plan import Allocation, Plan
from scaleplan.simulate import arrivals as arr
from scaleplan.simulate.engine import ReplicaModel, fifo_batches, least_outstanding

Policy = Literal["round-robin", "least-outstanding", "weighted", "static-weights"]
Failure = Literal["node", "zone", "spot"]
ServiceDist = Literal["lognormal", "exponential", "deterministic"]
POLICIES: tuple[str, ...] = ("auto", "round-robin", "least-outstanding", "weighted", "static-weights")
FAILURES: tuple[str, ...] = ("node", "zone", "spot")
Z99 = 2.3263478740408408  # standard normal 0.99 quantile
MAX_REQUESTS = 30_000_000
QUEUE_SAMPLES_PER_WINDOW = 12
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class LatencyStats:
    p50: float | None
    p95: float | None
    p99: float | None
    mean: float | None
    max: float | None


@dataclass(frozen=True)
class WindowStats:
    window: int
    start_s: float
    end_s: float
    rps: float
    replicas: dict[str, int]
    requests: int
    failed: int
    attainment: float | None
    latency_ms: LatencyStats
    queue_mean: float
    queue_max: int
    utilization: float | None


@dataclass(frozen=True)
class AllocationStats:
    name: str
    accelerator: str
    capacity_type: str
    batch_size: int
    service_ms: float
    sigma: float
    requests: int
    attainment: float | None
    latency_ms: LatencyStats
    utilization: float | None
    mean_batch: float | None
    queue_mean: float
    queue_max: int


@dataclass(frozen=True)
class FailureStats:
    mode: str
    at_s: float
    window: int
    lost: dict[str, int]
    requests_after: int
    failed_requests: int
    attainment_after: float | None
    latency_after_ms: LatencyStats
    redundancy: str
    claim_tested: bool
    holds: bool
    static_weight_failures: int = 0  # requests the HTTPRoute's fixed weights sent to an allocation without pods


@dataclass(frozen=True)
class SimResult:
    plan: str
    plan_hash: str
    arrivals: str
    policy: str
    seed: int
    duration_s: float
    windows_simulated: tuple[int, ...]
    batch_timeout_ms: float
    fixed_fraction: float
    service: str
    replica_delta: int
    slo_latency_ms: float
    slo_percentile: int
    target: float
    requests: int
    completed: int
    failed: int
    attainment: float
    meets_slo: bool
    worst_window: int | None
    worst_window_attainment: float | None
    latency_ms: LatencyStats
    windows: tuple[WindowStats, ...]
    allocations: tuple[AllocationStats, ...]
    failure: FailureStats | None
    queue_t_s: tuple[float, ...]
    queue_total: tuple[int, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """The plan holds: SLO met, and the failure scenario (if any) holds too."""
        return self.meets_slo and (self.failure is None or self.failure.holds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, rounded to 6 significant digits so that output is byte-stable."""
        import dataclasses

        return {"ok": self.ok, **_clean(dataclasses.asdict(self))}


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        if not math.isfinite(v):
            return None
        return float(f"{v:.6g}")
    return x


# ---------------------------------------------------------------- service model


def service_model(alloc: Allocation, *, fixed_fraction: float, timeout_s: float) -> tuple[ReplicaModel, float]:
    """(ReplicaModel, sigma): full-batch mean service time and lognormal shape of one replica type.

    Mean full-batch service time: the operating point's ``service_ms`` when given, else
    ``1000 * batch_size / throughput_rps`` (the rate the plan's capacity rests on). Shape: the
    lognormal through the point's p50 and p99 latency, sigma = ln(p99 / p50) / z(0.99).
    """
    op = alloc.operating_point
    mean_ms = op.service_ms if op.service_ms is not None else 1000.0 * op.batch_size / op.throughput_rps
    p50, p99 = op.latency_ms.p50, op.latency_ms.p99
    sigma = math.log(p99 / p50) / Z99 if p50 > 0 and p99 > p50 else 0.0
    return ReplicaModel(s_full=mean_ms / 1000.0, batch=op.batch_size, fixed_fraction=fixed_fraction, timeout=timeout_s), sigma


# ---------------------------------------------------------------- topology


@dataclass(frozen=True)
class _Topology:
    names: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]  # [alloc][window] replicas after replica_delta
    offsets: tuple[int, ...]  # first global replica id of each allocation
    n_replicas: int
    alloc_of: I64  # global replica id -> allocation index
    zone_of: tuple[str, ...]  # global replica id -> zone


def _adjust(counts: list[list[int]], windows: int, delta: int) -> None:
    for w in range(windows):
        for _ in range(abs(delta)):
            best = max(range(len(counts)), key=lambda a: (counts[a][w], -a))
            if delta < 0:
                if sum(c[w] for c in counts) <= 1 or counts[best][w] == 0:
                    break
                counts[best][w] -= 1
            else:
                counts[best][w] += 1


def _topology(plan: Plan, delta: int) -> _Topology:
    windows = plan.demand.windows
    counts = [list(a.replicas_per_window) for a in plan.allocations]
    _adjust(counts, windows, delta)
    offsets: list[int] = []
    alloc_of: list[int] = []
    zone_of: list[str] = []
    for ai, a in enumerate(plan.allocations):
        offsets.append(len(alloc_of))
        top = max(counts[ai]) if counts[ai] else 0
        for k in range(top):
            node = k // a.replicas_per_node
            alloc_of.append(ai)
            zone_of.append(a.zones[node % len(a.zones)] if a.zones else a.region)
    return _Topology(
        names=tuple(a.name for a in plan.allocations),
        counts=tuple(tuple(c) for c in counts),
        offsets=tuple(offsets),
        n_replicas=len(alloc_of),
        alloc_of=np.array(alloc_of, dtype=np.int64),
        zone_of=tuple(zone_of),
    )


def _lost_replicas(plan: Plan, topo: _Topology, mode: str, window: int) -> tuple[set[int], list[str]]:
    """Replica ids the failure takes down: the worst single node / zone, or all spot capacity."""
    notes: list[str] = []
    allocs = plan.allocations
    if mode == "spot":
        lost = {g for g in range(topo.n_replicas) if allocs[int(topo.alloc_of[g])].capacity_type == "spot"}
        if not lost:
            notes.append("the plan has no spot capacity: the spot failure takes nothing down")
        return lost, notes
    if mode == "node":
        best: tuple[float, int] | None = None
        for ai, a in enumerate(allocs):
            n_here = min(a.replicas_per_node, topo.counts[ai][window])
            if n_here <= 0:
                continue
            cap = n_here * a.capacity_rps_per_replica
            if best is None or cap > best[0]:
                best = (cap, ai)
        if best is None:
            notes.append("no replicas run at the failure time: the node failure takes nothing down")
            return set(), notes
        ai = best[1]
        rpn = allocs[ai].replicas_per_node
        return {topo.offsets[ai] + k for k in range(min(rpn, max(topo.counts[ai])))}, notes
    # zone: the zone holding the most capacity at the failure time
    if all(not a.zones for a in allocs):
        raise PlanError(plan.metadata.name, [Problem("allocations[].zones", "no allocation lists its zones, so a zone loss cannot be placed", hint="simulate --fail node instead, or give the plan's allocations zones (scaleplan optimize writes them when the catalog has zones)")])
    cap_by_zone: dict[str, float] = {}
    for ai, a in enumerate(allocs):
        for k in range(topo.counts[ai][window]):
            z = topo.zone_of[topo.offsets[ai] + k]
            cap_by_zone[z] = cap_by_zone.get(z, 0.0) + a.capacity_rps_per_replica
    if not cap_by_zone:
        notes.append("no replicas run at the failure time: the zone failure takes nothing down")
        return set(), notes
    zone = max(sorted(cap_by_zone), key=lambda z: cap_by_zone[z])
    if any(not a.zones for a in allocs):
        notes.append("allocations without zones are taken to sit in one zone named after their region")
    notes.append(f"zone lost: {zone}")
    return {g for g in range(topo.n_replicas) if topo.zone_of[g] == zone}, notes


# ---------------------------------------------------------------- helpers


def _lat(lat_ms: F64) -> LatencyStats:
    if len(lat_ms) == 0:
        return LatencyStats(None, None, None, None, None)
    q = np.percentile(lat_ms, [50, 95, 99])
    return LatencyStats(float(q[0]), float(q[1]), float(q[2]), float(lat_ms.mean()), float(lat_ms.max()))


def _parse_failure(failure: str | None) -> None:
    if failure is not None and failure not in FAILURES:
        raise ValueError(f"failure must be one of {FAILURES} or None; got {failure!r}")


def check_simulatable(plan: Plan, name: str = "<plan>") -> None:
    """Raise InfeasibleError (exit 4) / PlanError (exit 3) for plans that cannot be simulated."""
    if plan.status == "infeasible":
        raise InfeasibleError([InfeasibleReason("plan-infeasible", f"{name}: the plan's status is 'infeasible'; there is no deployment to simulate", "fix the spec (see the plan's explanation) and run 'scaleplan optimize' again")])
    if not plan.allocations:
        raise PlanError(name, [Problem("allocations", "the plan has no allocations, so there is nothing to simulate", hint="run 'scaleplan optimize' to produce a plan with allocations")])
    problems: list[Problem] = []
    w = plan.demand.windows
    if len(plan.demand.rps) != w:
        problems.append(Problem("demand.rps", f"has {len(plan.demand.rps)} values but demand.windows is {w}", hint="give one rate per window"))
    for i, a in enumerate(plan.allocations):
        if len(a.replicas_per_window) != w:
            problems.append(Problem(f"allocations[{i}].replicas_per_window", f"has {len(a.replicas_per_window)} values but demand.windows is {w}", hint="give one replica count per window"))
        if any(r < 0 for r in a.replicas_per_window):
            problems.append(Problem(f"allocations[{i}].replicas_per_window", "replica counts must be >= 0", hint="fix the plan or run 'scaleplan optimize' again"))
    if any(not math.isfinite(x) or x < 0 for x in plan.demand.rps):
        problems.append(Problem("demand.rps", "rates must be finite and >= 0", hint="fix the plan or run 'scaleplan optimize' again"))
    if problems:
        raise PlanError(name, problems)
    if sum(sum(a.replicas_per_window) for a in plan.allocations) == 0:
        raise PlanError(name, [Problem("allocations", "every allocation has 0 replicas in every window", hint="run 'scaleplan optimize' again")])


# ---------------------------------------------------------------- simulate


def resolve_policy(plan: Plan, policy: str) -> str:
    """``auto`` is what the rendered manifests do: ``routing: service`` puts every pod behind one
    Service, which spreads requests evenly (round-robin); ``routing: gateway-api`` routes by the
    HTTPRoute's static weights exactly as rendered (static-weights: a share sent to an allocation
    with no running pods fails); ``routing: inference-pool``'s endpoint picker sends each
    request to the pod with the shortest queue (least-outstanding)."""
    if policy != "auto":
        return policy
    routing = plan.spec.kubernetes.routing
    if routing == "inference-pool":
        return "least-outstanding"  # the endpoint picker sends each request to the least-loaded pod
    # gateway-api: the HTTPRoute's weights exactly as rendered, fixed whatever runs
    return "round-robin" if routing == "service" else "static-weights"


def simulate(
    plan: Plan,
    *,
    arrivals: str | arr.Trace = "poisson",
    duration_s: float = 60.0,
    seed: int = 0,
    failure: str | None = None,
    fail_at_s: float | None = None,
    policy: str = "auto",
    batch_timeout_ms: float = 0.0,
    fixed_fraction: float = 0.5,
    replica_delta: int = 0,
    windows: tuple[int, ...] | None = None,
    service: str = "lognormal",
) -> SimResult:
    """Simulate ``plan`` and report SLO attainment, latency, utilization and queues.

    A compressed day: each selected window (default: all) is simulated for ``duration_s``
    seconds at its planned rate and replica counts, back to back. A trace replaces the
    generated arrivals: its times are seconds from the start of the day, windows are real
    (``window_hours`` long) and ``duration_s``/``windows`` are ignored.
    """
    check_simulatable(plan, plan.metadata.name)
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}; got {policy!r}")
    policy = resolve_policy(plan, policy)
    _parse_failure(failure)
    if service not in ("lognormal", "exponential", "deterministic"):
        raise ValueError(f"service must be lognormal, exponential or deterministic; got {service!r}")
    if not (0.0 <= fixed_fraction <= 1.0):
        raise ValueError("fixed_fraction must be in [0, 1]")
    if batch_timeout_ms < 0 or not math.isfinite(batch_timeout_ms):
        raise ValueError("batch_timeout_ms must be >= 0")
    duration_s = float(duration_s)
    nwin = plan.demand.windows
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    notes: list[str] = []
    topo = _topology(plan, replica_delta)
    slo = plan.spec.slo
    models: list[ReplicaModel] = []
    sigmas: list[float] = []
    for a in plan.allocations:
        rmod, sg = service_model(a, fixed_fraction=fixed_fraction, timeout_s=batch_timeout_ms / 1000.0)
        models.append(rmod)
        sigmas.append(sg)
        op = a.operating_point
        if op.latency_ms.p50 > 1.1 * rmod.s_full * 1000.0:
            notes.append(f"{a.name}: the point's p50 latency {op.latency_ms.p50:g} ms exceeds the mean batch service time {rmod.s_full * 1000:g} ms implied by its throughput; light-load latency is understated")

    # segments: (t0, t1, window)
    segments: list[tuple[float, float, int]] = []
    if isinstance(arrivals, arr.Trace):
        times = arrivals.times
        wsec = plan.demand.window_hours * 3600.0
        first, last = int(times[0] // wsec), int(times[-1] // wsec)
        segments = [(k * wsec, (k + 1) * wsec, k % nwin) for k in range(first, last + 1)]
        kind = f"trace:{arrivals.name}"
    else:
        if arrivals not in ("poisson", "bursty"):
            raise ValueError(f"arrivals must be 'poisson', 'bursty' or a Trace; got {arrivals!r}")
        if not (duration_s > 0 and math.isfinite(duration_s)):
            raise ValueError("duration_s must be > 0")
        sel = tuple(range(nwin)) if windows is None else windows
        if not sel or any(w < 0 or w >= nwin for w in sel):
            raise ValueError(f"windows must be in 0..{nwin - 1}")
        expected = sum(plan.demand.rps[w] for w in sel) * duration_s
        if expected > MAX_REQUESTS:
            raise ValueError(f"about {expected:.3g} requests; the limit is {MAX_REQUESTS:.0e}: lower the duration or select fewer windows")
        segments = [(k * duration_s, (k + 1) * duration_s, w) for k, w in enumerate(sel)]
        gen = arr.poisson if arrivals == "poisson" else arr.bursty
        parts = [gen(rng, t0, t1, plan.demand.rps[w]) for t0, t1, w in segments]
        times = np.concatenate(parts) if parts else np.empty(0)
        kind = str(arrivals)
    n = len(times)
    horizon = segments[-1][1]
    seg_starts = np.array([s[0] for s in segments])

    # failure
    lost: set[int] = set()
    tf = math.inf
    fail_seg = -1
    if failure is not None:
        if fail_at_s is None:
            peak = max(range(len(segments)), key=lambda k: (plan.demand.rps[segments[k][2]], -k))
            t0, t1, _ = segments[peak]
            tf = t0 + 0.1 * (t1 - t0)
        else:
            if not (math.isfinite(fail_at_s) and 0 <= fail_at_s < horizon):
                raise ValueError(f"fail_at_s must be in [0, {horizon:g}) seconds of simulated time")
            tf = float(fail_at_s)
        fail_seg = int(np.searchsorted(seg_starts, tf, side="right") - 1)
        lost, fnotes = _lost_replicas(plan, topo, failure, segments[fail_seg][2])
        notes.extend(fnotes)
    is_lost = np.zeros(max(topo.n_replicas, 1), dtype=bool)
    for g in lost:
        is_lost[g] = True

    # epochs: (start, active replica ids)
    bounds = sorted({s[0] for s in segments} | ({tf} if math.isfinite(tf) else set()))
    epochs: list[tuple[float, list[int]]] = []
    for t in bounds:
        k = int(np.searchsorted(seg_starts, t, side="right") - 1)
        w = segments[k][2]
        act = [topo.offsets[ai] + j for ai in range(len(plan.allocations)) for j in range(topo.counts[ai][w])]
        if t >= tf:
            act = [g for g in act if not is_lost[g]]
        epochs.append((t, act))
    ep_starts = np.array([e[0] for e in epochs])

    # service multipliers (mean 1) per request
    if service == "exponential":
        draw = rng.standard_exponential(n)
    elif service == "deterministic":
        draw = np.ones(n)
    else:
        draw = rng.standard_normal(n)

    def mult_for(idx: I64 | slice, ai: int) -> F64:
        d = draw[idx]
        if service != "lognormal":
            return d
        s = sigmas[ai]
        return np.exp(s * d - 0.5 * s * s) if s > 0 else np.ones(len(d))

    start = np.full(n, math.inf)
    finish = np.full(n, math.inf)
    rep = np.full(n, -1, dtype=np.int64)
    static_drops = [0] * len(plan.allocations)
    static_dropped = np.zeros(n, dtype=bool)
    b_rep_l: list[I64] = []
    b_launch_l: list[F64] = []
    b_finish_l: list[F64] = []
    b_size_l: list[I64] = []
    rep_models = [models[int(ai)] for ai in topo.alloc_of]
    if policy == "least-outstanding":
        rep_sigmas = [sigmas[int(ai)] for ai in topo.alloc_of] if service == "lognormal" else None
        batches, rep = least_outstanding(times, draw, rep_models, epochs, sigmas=rep_sigmas)
        start, finish = batches.start, batches.finish
        b_rep_l.append(batches.b_replica)
        b_launch_l.append(batches.b_launch)
        b_finish_l.append(batches.b_finish)
        b_size_l.append(batches.b_size)
    else:
        ep_of = np.searchsorted(ep_starts, times, side="right") - 1
        ep_lo = np.searchsorted(ep_of, np.arange(len(epochs)), side="left")
        ep_hi = np.searchsorted(ep_of, np.arange(len(epochs)), side="right")
        classes = sorted(plan.demand.classes)
        cls = rng.choice(len(classes), size=n, p=np.array([plan.demand.classes[c] for c in classes]) / sum(plan.demand.classes.values())) if (classes and policy == "weighted") else np.zeros(n, dtype=np.int64)
        static = policy == "static-weights"
        if static:
            from scaleplan.weights import route_weights

            rw = route_weights(plan)
            static_w = np.array([float(rw.get(a.name, 0)) for a in plan.allocations])
        rr_global = 0
        rr_alloc = [0] * len(plan.allocations)
        u = rng.random(n) if policy in ("weighted", "static-weights") else np.empty(0)
        for e, (_, act) in enumerate(epochs):
            lo, hi = int(ep_lo[e]), int(ep_hi[e])
            if hi <= lo or not act:
                continue
            if policy == "round-robin":
                n_act = len(act)
                rep[lo:hi] = np.array(act, dtype=np.int64)[(rr_global + np.arange(hi - lo)) % n_act]
                rr_global = (rr_global + hi - lo) % n_act
                continue
            act_arr = np.array(act, dtype=np.int64)
            per_alloc = [act_arr[topo.alloc_of[act_arr] == ai] for ai in range(len(plan.allocations))]
            alloc_choice = np.full(hi - lo, -1, dtype=np.int64)
            if static and static_w.sum() > 0:
                cum = np.cumsum(static_w) / static_w.sum()
                alloc_choice[:] = np.minimum(np.searchsorted(cum, u[lo:hi], side="right"), len(cum) - 1)
            for ci in range(0 if static else (len(classes) if classes else 1)):
                cname = classes[ci] if classes else None
                weights = np.array([
                    len(per_alloc[ai]) * a.capacity_rps_per_replica * (1.0 if (cname is None or not a.routing or a.routing.get(cname, 0.0) > 0) else 0.0)
                    for ai, a in enumerate(plan.allocations)
                ])
                mask = cls[lo:hi] == ci
                if weights.sum() <= 0 or not mask.any():
                    continue
                cum = np.cumsum(weights) / weights.sum()
                pick = np.minimum(np.searchsorted(cum, u[lo:hi][mask], side="right"), len(cum) - 1)
                alloc_choice[mask] = pick
            for ai in range(len(plan.allocations)):
                sel_idx = np.flatnonzero(alloc_choice == ai)
                if not len(sel_idx):
                    continue
                reps = per_alloc[ai]
                if not len(reps):  # static weights: a Service without pods; these requests fail
                    static_drops[ai] += len(sel_idx)
                    static_dropped[lo + sel_idx] = True
                    continue
                rep[lo + sel_idx] = reps[(rr_alloc[ai] + np.arange(len(sel_idx))) % len(reps)]
                rr_alloc[ai] = (rr_alloc[ai] + len(sel_idx)) % len(reps)
        order = np.argsort(rep, kind="stable")
        srt = rep[order]
        cuts = np.searchsorted(srt, np.arange(topo.n_replicas + 1), side="left")
        for g in range(topo.n_replicas):
            idx = order[cuts[g] : cuts[g + 1]]
            if not len(idx):
                continue
            ai = int(topo.alloc_of[g])
            st, fi, bl, bf, bs = fifo_batches(times[idx], mult_for(idx, ai), rep_models[g])
            start[idx] = st
            finish[idx] = fi
            b_rep_l.append(np.full(len(bl), g, dtype=np.int64))
            b_launch_l.append(bl)
            b_finish_l.append(bf)
            b_size_l.append(bs)

    b_rep = np.concatenate(b_rep_l) if b_rep_l else np.empty(0, dtype=np.int64)
    b_launch = np.concatenate(b_launch_l) if b_launch_l else np.empty(0)
    b_finish = np.concatenate(b_finish_l) if b_finish_l else np.empty(0)
    b_size = np.concatenate(b_size_l) if b_size_l else np.empty(0, dtype=np.int64)

    # outcomes
    dropped = rep < 0
    safe_rep = np.where(dropped, 0, rep)
    failed = dropped | (is_lost[safe_rep] & (finish > tf))
    lat_ms = (finish - times) * 1000.0
    within = ~failed & (lat_ms <= slo.latency_ms)
    target = slo.percentile / 100.0
    done = ~failed
    attainment = float(within.mean()) if n else 1.0
    n_static = int(static_dropped.sum())
    if n_static:
        where = ", ".join(f"{plan.allocations[ai].name} ({k})" for ai, k in enumerate(static_drops) if k)
        notes.append(f"{n_static} requests failed because the HTTPRoute's static weights sent them to an allocation with no running pods (a Service without endpoints): {where}")
    if int(dropped.sum()) > n_static:
        notes.append(f"{int(dropped.sum()) - n_static} requests arrived when no replica was running and count as failed")

    # per segment
    seg_of = np.searchsorted(seg_starts, times, side="right") - 1
    # busy time, clipped to the horizon and, for lost replicas, to the failure time
    b_end = np.minimum(b_finish, horizon)
    if lost:
        b_end = np.where(is_lost[b_rep], np.minimum(b_end, tf), b_end)
    b_busy = np.maximum(b_end - np.minimum(b_launch, b_end), 0.0)
    b_seg = np.searchsorted(seg_starts, b_launch, side="right") - 1
    b_alloc = topo.alloc_of[b_rep] if len(b_rep) else np.empty(0, dtype=np.int64)
    # active replica-seconds per (segment, allocation)
    na = len(plan.allocations)
    active_s = np.zeros((len(segments), na))
    ep_bounds = [*list(ep_starts), horizon]
    for e, (t0, act) in enumerate(epochs):
        t1 = ep_bounds[e + 1]
        k = int(np.searchsorted(seg_starts, t0, side="right") - 1)
        for g in act:
            active_s[k, int(topo.alloc_of[g])] += t1 - t0
    # queue samples: waiting requests (arrived, batch not launched), lost requests excluded
    sample_t: list[float] = []
    for t0, t1, _ in segments:
        step = (t1 - t0) / QUEUE_SAMPLES_PER_WINDOW
        sample_t.extend(t0 + (j + 0.5) * step for j in range(QUEUE_SAMPLES_PER_WINDOW))
    st_arr = np.array(sample_t)

    def queue_at(mask: NDArray[np.bool_]) -> I64:
        a_sorted = times[mask]
        s_sorted = np.sort(start[mask])
        q = np.searchsorted(a_sorted, st_arr, side="right") - np.searchsorted(s_sorted, st_arr, side="right")
        return q.astype(np.int64)

    q_total = queue_at(done)
    win_stats: list[WindowStats] = []
    for k, (t0, t1, w) in enumerate(segments):
        m = seg_of == k
        cnt = int(m.sum())
        qk = q_total[k * QUEUE_SAMPLES_PER_WINDOW : (k + 1) * QUEUE_SAMPLES_PER_WINDOW]
        busy = float(b_busy[b_seg == k].sum())
        act_k = float(active_s[k].sum())
        win_stats.append(WindowStats(
            window=w, start_s=t0, end_s=t1, rps=plan.demand.rps[w],
            replicas={topo.names[ai]: topo.counts[ai][w] for ai in range(na)},
            requests=cnt, failed=int((failed & m).sum()),
            attainment=float(within[m].mean()) if cnt else None,
            latency_ms=_lat(lat_ms[m & done]),
            queue_mean=float(qk.mean()) if len(qk) else 0.0, queue_max=int(qk.max()) if len(qk) else 0,
            utilization=busy / act_k if act_k > 0 else None,
        ))
    alloc_stats: list[AllocationStats] = []
    req_alloc = np.where(dropped, -1, topo.alloc_of[safe_rep] if topo.n_replicas else -1)
    for ai, a in enumerate(plan.allocations):
        m = req_alloc == ai
        cnt = int(m.sum())
        qa = queue_at(done & m)
        bm = b_alloc == ai
        act_a = float(active_s[:, ai].sum())
        alloc_stats.append(AllocationStats(
            name=a.name, accelerator=a.accelerator, capacity_type=a.capacity_type,
            batch_size=models[ai].batch, service_ms=models[ai].s_full * 1000.0, sigma=sigmas[ai],
            requests=cnt, attainment=float(within[m].mean()) if cnt else None,
            latency_ms=_lat(lat_ms[m & done]),
            utilization=float(b_busy[bm].sum()) / act_a if act_a > 0 else None,
            mean_batch=float(b_size[bm].mean()) if bm.any() else None,
            queue_mean=float(qa.mean()) if len(qa) else 0.0, queue_max=int(qa.max()) if len(qa) else 0,
        ))

    fstats: FailureStats | None = None
    if failure is not None:
        after = times >= tf
        hit = failed & (~dropped | static_dropped)
        red = plan.spec.placement.redundancy
        tested = (failure == "node" and red in ("n+1", "zone")) or (failure == "zone" and red == "zone") or failure == "spot"
        cnt_after = int(after.sum())
        att_after = float(within[after].mean()) if cnt_after else None
        lost_by: dict[str, int] = {}
        for g in sorted(lost):
            nm = topo.names[int(topo.alloc_of[g])]
            lost_by[nm] = lost_by.get(nm, 0) + 1
        fstats = FailureStats(
            mode=failure, at_s=tf, window=segments[fail_seg][2], lost=lost_by,
            requests_after=cnt_after, failed_requests=int(hit.sum()), static_weight_failures=int((static_dropped & after).sum()),
            attainment_after=att_after, latency_after_ms=_lat(lat_ms[after & done]),
            redundancy=red, claim_tested=tested,
            holds=att_after is None or att_after >= target,
        )

    worst = min((ws for ws in win_stats if ws.attainment is not None), key=lambda ws: (ws.attainment or 0.0, ws.start_s), default=None)
    return SimResult(
        plan=plan.metadata.name, plan_hash=plan.metadata.plan_hash, arrivals=kind, policy=policy, seed=seed,
        duration_s=segments[0][1] - segments[0][0], windows_simulated=tuple(s[2] for s in segments),
        batch_timeout_ms=batch_timeout_ms, fixed_fraction=fixed_fraction, service=service, replica_delta=replica_delta,
        slo_latency_ms=slo.latency_ms, slo_percentile=slo.percentile, target=target,
        requests=n, completed=int(done.sum()), failed=int(failed.sum()),
        attainment=attainment, meets_slo=attainment >= target,
        worst_window=worst.window if worst else None, worst_window_attainment=worst.attainment if worst else None,
        latency_ms=_lat(lat_ms[done]), windows=tuple(win_stats), allocations=tuple(alloc_stats), failure=fstats,
        queue_t_s=tuple(float(t) for t in st_arr), queue_total=tuple(int(q) for q in q_total), notes=tuple(notes),
    )
