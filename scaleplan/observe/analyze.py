"""From fetched series to an Observed file (pure: no I/O, no clock).

- Demand: the hourly mean request rate per (day, UTC hour), then per hour of day the chosen
  quantile across the days seen (linear interpolation between order statistics).
- Capacity: per step, requests/s per replica (demand / replicas up) against the latency
  percentile. Steps whose latency lies within a band around the SLO are "near the limit";
  requests/s per replica is regressed on latency over them and read at the SLO (the median of
  the band when there are too few points to regress). With no point near the limit, or points
  whose latencies span less than their distance to the SLO (the regression would read the SLO
  off far outside them), the capacity is read from a bracket where the steps give one: every
  step up to a load held the SLO and every step from a load at most ``BRACKET_WIDTH`` above it
  was clearly above it (over the band), and at least ``MIN_REGRESSION_POINTS`` were; the
  capacity is then the most load held (a sharp knee: a batch server at a high rate and a
  tight SLO). Otherwise there is no capacity estimate, only the highest load seen: never an
  extrapolation.
- SLO: the hourly latency percentile per (day, hour), counted against the target overall and
  in the peak hours (demand at or above 80 % of the curve's peak).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from scaleplan.errors import ExternalError
from scaleplan.observe.model import (
    AllocationCapacity,
    LlmHour,
    Observed,
    ObservedCapacity,
    ObservedDemand,
    ObservedExtra,
    ObservedLlm,
    ObservedMeta,
    ObservedSlo,
)
from scaleplan.observe.queries import BEYOND_TOP_BUCKET, QuerySet
from scaleplan.observe.slo import (
    e2e_limit,
    hours_against,
    latency_limit,
    slo_bracket,
    token_capacity_targets,
)
from scaleplan.plan import Plan
from scaleplan.wording import counted

Points = Sequence[tuple[float, float]]
BAND = (0.8, 1.25)
MIN_REGRESSION_POINTS = 8
# a bracket estimate (above): the lowest load clearly above the SLO at most this much above
# the most load that held it
BRACKET_WIDTH = 0.1
PEAK_FRACTION = 0.8


@dataclass(frozen=True)
class Fetched:
    """Series per query name (already summed over label sets), and the range asked for."""

    series: Mapping[str, Points]
    start: float
    end: float
    step_s: float
    prometheus: str


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default 'linear' method)."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no values")
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _cells(points: Points) -> dict[tuple[int, int], float]:
    """Hour-end samples -> {(day number, hour of day): value}; a sample at t covers (t-1h, t]."""
    out: dict[tuple[int, int], float] = {}
    for t, v in points:
        mid = t - 1800.0
        day = int(mid // 86400)
        hour = int((mid % 86400) // 3600)
        out[(day, hour)] = v
    return out


def _by_hour(cells: Mapping[tuple[int, int], float]) -> list[list[float]]:
    hours: list[list[float]] = [[] for _ in range(24)]
    for (_, h), v in sorted(cells.items()):
        hours[h].append(v)
    return hours


def _r(x: float, nd: int = 4) -> float:
    return round(x, nd)


def _sig(x: float) -> float:
    """Four significant digits (stable text across platforms)."""
    return float(f"{x:.4g}")


def planned_capacity(plan: Plan) -> float:
    """Replica-weighted capacity per replica at the plan's peak window: the window of the most
    demand (of those, the most replicas), where the service runs nearest its limit. It was the
    window of the most replicas, which a plan that changes shapes by hour puts elsewhere: UX
    trial 28's chat plan read "the plan assumed 2.367" (hour 9, 10 x 1-GPU replicas) where its
    peak ran 6 x 2-GPU replicas at 5.842 each; examples/embedding-cpu-gpu 42.3 (hour 7's CPU
    replicas) where its peak runs on g4dn at 2,266."""
    w = max(range(plan.demand.windows), key=lambda i: (plan.demand.rps[i], plan.replicas_at(i)))
    reps = plan.replicas_at(w)
    if reps <= 0:
        return max(a.capacity_rps_per_replica for a in plan.allocations)
    return plan.capacity_rps_at(w) / reps


def _demand(fetched: Fetched, q: float, plan: Plan, queries: QuerySet) -> tuple[ObservedDemand, list[str]]:
    cells = _cells(fetched.series["demand_hourly"])
    hours = _by_hour(cells)
    empty = [h for h in range(24) if not hours[h]]
    if empty:
        shown = ", ".join(f"{h:02d}:00" for h in empty[:6]) + (" ..." if len(empty) > 6 else "")
        query = queries.by_name()["demand_hourly"].promql
        raise ExternalError(f"Prometheus query 'demand_hourly' failed: no data for UTC hour(s) {shown} in the range\n  query: {query}", hint="observe at least one full day (--since), or check that the request counter is scraped all day")
    curve = tuple(_sig(max(0.0, quantile(v, q))) for v in hours)
    planned = plan.demand.rps
    planned24 = tuple(planned[int(h // plan.demand.window_hours)] for h in range(24)) if plan.demand.windows * plan.demand.window_hours == 24 else ()
    notes: list[str] = []
    few = min(len(v) for v in hours)
    if few < 7:
        which = "every hour was" if all(len(v) == few for v in hours) else "some hours were"
        notes.append(f"{which} seen on only {counted(few, 'day')}; the {q:g} quantile across days rests on few days")
    days = len({d for d, _ in cells})
    return ObservedDemand(hourly_rps=curve, quantile=q, days_seen=tuple(len(v) for v in hours), days=days, peak_rps=max(curve), planned_rps=tuple(_sig(x) for x in planned24)), notes


def _join(a: Points, b: Points, c: Points) -> list[tuple[float, float, float]]:
    bm = dict(b)
    cm = dict(c)
    return [(va, bm[t], cm[t]) for t, va in a if t in bm and t in cm]


@dataclass(frozen=True)
class _Estimate:
    cap: float | None
    method: Literal["regression", "median", "bracket", "none"]
    near: int
    top: float
    top_latency: float | None
    above_from: float | None = None  # method bracket: the lowest load clearly above the SLO


def _bracket(
    rows: Sequence[tuple[float, float]], slo: float, near: int, top: tuple[float, float | None]
) -> _Estimate:
    """The most load per replica that held the SLO, where every step from at most
    :data:`BRACKET_WIDTH` above it (and at least :data:`MIN_REGRESSION_POINTS` steps) was over
    the band, and none below it was; else no estimate."""
    held = [x for x, lat in rows if lat <= slo]
    above = [x for x, lat in rows if lat > BAND[1] * slo]
    if held and len(above) >= MIN_REGRESSION_POINTS:
        lo, hi = max(held), min(above)
        if 0 < lo < hi <= lo * (1 + BRACKET_WIDTH):
            return _Estimate(lo, "bracket", near, top[0], top[1], above_from=hi)
    return _Estimate(None, "none", near, top[0], top[1])


def _estimate(demand: Points, replicas: Points, latency: Points, slo: float | None) -> _Estimate:
    """Requests/s per replica at the SLO latency, from the steps near the limit (``slo`` None:
    no limit to read it at, only the most load seen: :func:`scaleplan.observe.slo.e2e_limit`)."""
    rows = [(d / r, lat * 1000.0) for d, r, lat in _join(demand, replicas, latency) if r > 0 and d >= 0 and lat > 0]
    if slo is None:
        top_x, top_lat = max(rows, default=(0.0, None))
        return _Estimate(None, "none", 0, top_x, top_lat)
    lo, hi = BAND[0] * slo, BAND[1] * slo
    near = [(x, lat) for x, lat in rows if lo <= lat <= hi]
    top_x, top_lat = max(rows, default=(0.0, None))
    if len(near) >= MIN_REGRESSION_POINTS and statistics.pstdev([lat for _, lat in near]) > 1e-9:
        xs = [lat for _, lat in near]
        ys = [x for x, _ in near]
        reach = max(xs) - min(xs)
        if slo > max(xs) + reach or slo < min(xs) - reach:
            # the points crowd a sliver of the band (e.g. a light-load floor at 0.8x the SLO, then
            # saturation): the line read at the SLO would extrapolate farther than they span
            return _bracket(rows, slo, len(near), (top_x, top_lat))
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        sxx = sum((a - mx) ** 2 for a in xs)
        slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys, strict=True)) / sxx
        cap = my + slope * (slo - mx)
        if slope >= 0 and cap > 0:
            return _Estimate(cap, "regression", len(near), top_x, top_lat)
        # load fell as latency rose: not a saturation curve
        return _Estimate(statistics.median(ys), "median", len(near), top_x, top_lat)
    if near:
        return _Estimate(statistics.median([x for x, _ in near]), "median", len(near), top_x, top_lat)
    return _bracket(rows, slo, 0, (top_x, top_lat))


def _per_allocation(fetched: Fetched, plan: Plan, queries: QuerySet) -> tuple[AllocationCapacity, ...]:
    slo, _ = e2e_limit(plan)
    by_alloc = {a.name: a for a in plan.allocations}
    out: list[AllocationCapacity] = []
    for name in sorted({q.allocation for q in queries.queries if q.allocation is not None}):
        series = [fetched.series.get(f"{kind}@{name}", ()) for kind in ("demand", "replicas", "latency")]
        a = by_alloc.get(name)
        if a is None or not all(series):
            continue
        e = _estimate(series[0], series[1], series[2], slo)
        ratio = _r(e.cap / a.capacity_rps_per_replica) if e.cap is not None else None
        out.append(AllocationCapacity(allocation=name, instance_type=a.instance_type,
            accelerator=a.accelerator, rps_per_replica=_sig(e.cap) if e.cap is not None else None,
            method=e.method, points_near_limit=e.near, max_rps_per_replica=_sig(e.top),
            above_slo_from_rps_per_replica=_sig(e.above_from) if e.above_from is not None else None,
            planned_rps_per_replica=_sig(a.capacity_rps_per_replica), ratio=ratio))
    return tuple(out)


def _token_latency(fetched: Fetched, targets: Mapping[str, float]) -> tuple[Points, float] | None:
    """Where capacity is read at the TTFT/TPOT SLOs
    (:func:`~scaleplan.observe.slo.token_capacity_targets`): per step the binding one's percentile as a share of its target, as a latency series in ms
    of the first target (so :func:`_estimate` reads it at that target), and that target; None
    when a judged metric has no data. A step counts only where every judged metric has a value."""
    per = []
    for key, target in targets.items():
        seen = fetched.series.get(f"{key}_latency", ())
        pts = {t: v * 1000.0 / target for t, v in seen if math.isfinite(v) and v > 0}
        if not pts:
            return None
        per.append(pts)
    ref = next(iter(targets.values()))
    steps = sorted(set.intersection(*(set(p) for p in per)))
    return [(t, max(p[t] for p in per) * ref / 1000.0) for t in steps], ref


def _capacity(fetched: Fetched, plan: Plan, queries: QuerySet) -> ObservedCapacity:
    slo, _ = e2e_limit(plan)
    latency = fetched.series["latency"]
    targets = token_capacity_targets(plan)
    at: dict[str, float] = {}
    if targets and (got := _token_latency(fetched, targets)) is not None:
        latency, slo = got  # the binding TTFT/TPOT percentile, in ms of the first target
        at = dict(targets)
    e = _estimate(fetched.series["demand"], fetched.series["replicas"], latency, slo)
    planned = planned_capacity(plan)
    live = [a for a in plan.allocations if a.replicas > 0]
    return ObservedCapacity(
        rps_per_replica=_sig(e.cap) if e.cap is not None else None,
        at_latency_ms=_sig(slo) if e.cap is not None and slo is not None and not at else None,
        at_slos=at or None,
        points_near_limit=e.near,
        band=BAND,
        method=e.method,
        max_rps_per_replica=_sig(e.top),
        above_slo_from_rps_per_replica=_sig(e.above_from) if e.above_from is not None else None,
        latency_at_max_ms=_sig(e.top_latency) if e.top_latency is not None and not at else None,
        share_of_slo_at_max=(
            _r(e.top_latency / slo) if e.top_latency is not None and at and slo else None
        ),
        planned_rps_per_replica=_sig(planned),
        ratio=_r(e.cap / planned) if e.cap is not None else None,
        accelerators=tuple(sorted({a.accelerator for a in live})),
        instance_types=tuple(sorted({a.instance_type for a in live})),
        allocations=_per_allocation(fetched, plan, queries),
    )


def _slo(
    fetched: Fetched, plan: Plan, curve: Sequence[float], query: str | None = None
) -> ObservedSlo:
    slo = plan.spec.slo
    cells = {k: v * 1000.0 for k, v in _cells(fetched.series["latency_hourly"]).items()}
    hours = _by_hour(cells)
    hourly = tuple(_sig(statistics.median(v)) if v else None for v in hours)
    top = max(curve) if curve else 0.0
    peak = tuple(h for h in range(24) if top > 0 and curve[h] >= PEAK_FRACTION * top)
    beyond = _cells([p for p in fetched.series.get(BEYOND_TOP_BUCKET, ()) if math.isfinite(p[1])])
    # an hour whose percentile fell in the +Inf bucket: histogram_quantile gave the largest
    # finite bound, a lower bound (a small tolerance: the increases are extrapolated floats).
    # At or above the target that bound says the hour was above it; below, nothing is known
    tail = 1 - slo.percentile / 100 + 1e-9
    clamped = {k for k in cells if beyond.get(k, 0.0) > tail}
    target, _ = e2e_limit(plan)  # None: the classes' limits differ, no hour judged (unjudged)
    above: list[tuple[int, int]] = []
    undecided: list[tuple[int, int]] = []
    inside: list[tuple[int, int]] = []
    # the engine's own histogram (vLLM's): an hour read inside the bucket holding the target
    # is histogram_quantile's interpolation, neither above nor within (UX trial 34 F1, r2 L1)
    bucket = slo_bracket(plan, "e2e", target, query) if target is not None else None
    if target is not None:
        above, inside = hours_against(cells, target, bucket, clamped)
        undecided = [k for k in clamped if cells[k] < target]
    worst = max(cells.values()) if cells else None
    return ObservedSlo(
        percentile=slo.percentile,
        latency_ms=target if target is not None else slo.latency_ms,
        hourly_latency_ms=hourly,
        worst_hour_ms=_sig(worst) if worst is not None else None,
        worst_beyond_buckets=any(cells[k] == worst for k in clamped),
        hours_seen=len(cells),
        hours_above=len(above),
        peak_hours=peak,
        peak_hours_seen=sum(1 for (_, h) in cells if h in peak),
        peak_hours_above=sum(1 for (_, h) in above if h in peak),
        # the undecided hours' bound when there are some (the warning's), else the clamps'
        top_bucket_ms=_sig(max(cells[k] for k in undecided or clamped)) if clamped else None,
        hours_undecided=len(undecided),
        peak_hours_undecided=sum(1 for (_, h) in undecided if h in peak),
        slo_bucket_ms=bucket,
        hours_inside=len(inside) if bucket is not None else None,
        peak_hours_inside=sum(1 for (_, h) in inside if h in peak) if bucket is not None else None,
    )


def undecided_warning(s: ObservedSlo, limit: str = "the SLO") -> list[str]:
    """The warning of hours whose percentile the histogram cannot place against the target
    (``limit``: :func:`~scaleplan.observe.slo.latency_limit`): its largest finite bucket is
    below it, and they lay beyond that bucket."""
    if not s.hours_undecided or s.top_bucket_ms is None:
        return []
    peak = ""
    if s.peak_hours_undecided:
        peak = f" ({s.peak_hours_undecided} of {s.peak_hours_seen} peak hours)"
    top, target = f"{s.top_bucket_ms:g} ms", f"{s.latency_ms:g} ms"
    return [
        f"p{s.percentile} lay beyond the latency histogram's largest finite bucket, {top}, "
        f"below {limit} ({target}), in {s.hours_undecided} of {s.hours_seen} hours{peak}: "
        f"histogram_quantile reads {top} there, so whether those hours met {limit} cannot be "
        f'told; add buckets at {target} and above (le="{s.latency_ms / 1000:g}", ...)'
    ]


def inside_warning(s: ObservedSlo, limit: str = "the SLO") -> list[str]:
    """The warning of hours whose percentile read inside the latency histogram's bucket that
    holds the target (``slo_bucket_ms``: vLLM's buckets): interpolated, so not judged."""
    if not s.hours_inside or s.slo_bucket_ms is None:
        return []
    peak = ""
    if s.peak_hours_inside:
        peak = f" ({s.peak_hours_inside} of {s.peak_hours_seen} peak hours)"
    lo, hi = s.slo_bucket_ms
    return [
        f"p{s.percentile} read inside the latency histogram's {lo:g}-{hi:g} ms bucket, which "
        f"holds {limit} ({s.latency_ms:g} ms), in {s.hours_inside} of {s.hours_seen} hours"
        f"{peak}: histogram_quantile interpolates linearly there, so whether those hours met "
        f"{limit} cannot be told (not counted above)"
    ]


LLM_SERIES = ("demand_hourly", "replicas_hourly", "concurrency", "prompt_tokens", "output_tokens", "ttft_mean", "tpot_mean")
WAITING = "waiting_hourly"  # optional: requests waiting for admission (a TTFT holds their wait)


def _llm(fetched: Fetched, plan: Plan, queries: QuerySet) -> ObservedLlm | None:
    """Tokens per request (request-weighted over the range) and, when the running plan served
    on one shape (accelerator, GPUs per replica), per UTC hour the medians across days of
    requests/s and requests running per replica, mean tokens, TTFT and TPOT. None for plans
    without the engine's queries."""
    if "replicas_hourly" not in queries.by_name():
        return None
    cells = {k: _cells(fetched.series.get(k, ())) for k in (*LLM_SERIES, WAITING)}
    demand = cells["demand_hourly"]

    def weighted(key: str) -> float | None:
        pairs = [(v, demand[c]) for c, v in cells[key].items() if demand.get(c, 0.0) > 0 and v > 0]
        w = sum(d for _, d in pairs)
        return _sig(sum(v * d for v, d in pairs) / w) if w > 0 else None

    live = [a for a in plan.allocations if a.replicas > 0]
    shapes = sorted({(a.accelerator, a.gpus_per_replica) for a in live})
    tokens = {"prompt_tokens": weighted("prompt_tokens"), "output_tokens": weighted("output_tokens")}
    if not shapes:
        return ObservedLlm(**tokens, note="the running plan has no replicas: no calibration points")
    if len(shapes) == 1:
        hours = _llm_hours(cells, shapes[0][0], shapes[0][1], None)
        missing = [k for k in LLM_SERIES if not cells[k]]
    else:
        # several shapes: the service-wide series mix them; each allocation's own pods' series
        hours = ()
        missing = []
        for a in sorted(live, key=lambda x: x.name):
            keys = (*LLM_SERIES, WAITING)
            own = {k: _cells(fetched.series.get(f"{k}@{a.name}", ())) for k in keys}
            hours += _llm_hours(own, a.accelerator, a.gpus_per_replica, a.name)
            missing += [f"{k}@{a.name}" for k in LLM_SERIES if not own[k]]
    note = None
    if not hours:
        shown = f"{len(shapes)} shapes, per allocation; " if len(shapes) > 1 else ""
        note = f"no hour had mean TTFT or TPOT, requests running, replicas up and demand together ({shown}{', '.join(missing)} had no data): no calibration points"
    one = shapes[0] if len(shapes) == 1 else (None, None)
    return ObservedLlm(**tokens, accelerator=one[0], gpus_per_replica=one[1], hours=hours, note=note)


def _llm_hours(cells: Mapping[str, Mapping[tuple[int, int], float]], accelerator: str, gpus: int, allocation: str | None) -> tuple[LlmHour, ...]:
    per: list[list[dict[str, float]]] = [[] for _ in range(24)]
    for c, rps in sorted(cells["demand_hourly"].items()):
        reps, running = cells["replicas_hourly"].get(c, 0.0), cells["concurrency"].get(c, 0.0)
        if not all(math.isfinite(x) and x > 0 for x in (rps, reps, running)) or not (c in cells["ttft_mean"] or c in cells["tpot_mean"]):
            continue
        row = {"rps_per_replica": rps / reps, "concurrency_per_replica": running / reps, "replicas": reps}
        waiting = cells.get(WAITING, {}).get(c)
        if waiting is not None and math.isfinite(waiting) and waiting >= 0:
            row["waiting_per_replica"] = waiting / reps
        for key, name, scale in (("prompt_tokens", "prompt_tokens", 1.0), ("output_tokens", "output_tokens", 1.0), ("ttft_mean", "ttft_ms", 1000.0), ("tpot_mean", "tpot_ms", 1000.0)):
            v = cells[key].get(c)
            if v is not None and v > 0 and math.isfinite(v):
                row[name] = v * scale
        per[c[1]].append(row)
    out = []
    for h, rows in enumerate(per):
        if rows:
            keys = sorted({k for r in rows for k in r})
            out.append(LlmHour(hour=h, accelerator=accelerator, gpus_per_replica=gpus, allocation=allocation, **{k: _sig(statistics.median(r[k] for r in rows if k in r)) for k in keys}))
    return tuple(out)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def analyze(plan: Plan, queries: QuerySet, fetched: Fetched, *, quantile_q: float = 0.9) -> Observed:
    demand, notes = _demand(fetched, quantile_q, plan, queries)
    capacity = _capacity(fetched, plan, queries)
    limit, why = e2e_limit(plan)
    if capacity.at_slos:  # read at the TTFT/TPOT SLOs instead (the e2e limits are derived)
        if capacity.rps_per_replica is None:
            at = capacity.read_at(plan.spec.slo.percentile)
            how = "ran above" if capacity.ran_above_limit(0.0) else "never ran near"
            if capacity.points_near_limit:  # in the band, in too thin a sliver to read it at
                how = f"spanned too little over its {capacity.points_near_limit} points near"
            notes.append(
                f"the service {how} {at} (within {BAND[0]:g}-{BAND[1]:g} x): no capacity "
                f"estimate; the highest load seen was {capacity.max_rps_per_replica:g} rps per "
                "replica"
            )
    elif limit is None:
        notes.append(
            f"no capacity estimate and no end-to-end hour judged: {why}, and the server's "
            "latency histogram does not tell classes apart; the highest load seen was "
            f"{capacity.max_rps_per_replica:g} rps per replica"
        )
    elif capacity.rps_per_replica is None:
        notes.append(f"the service {capacity.not_near_limit(limit)} (within {BAND[0]:g}-{BAND[1]:g} x {latency_limit(plan)}): no capacity estimate; the highest load seen was {capacity.max_rps_per_replica:g} rps per replica")
    extras: dict[str, ObservedExtra] = {}
    missing: list[str] = []
    for q in queries.queries:
        # an hour without requests makes a ratio of increases 0/0 (NaN): no value for that hour
        pts = [(t, v) for t, v in fetched.series.get(q.name, ()) if math.isfinite(v)]
        if q.allocation is not None and not pts:
            missing.append(q.name)
        if q.required or q.allocation is not None or not q.hourly:
            if not q.required and not pts and q.allocation is None:
                missing.append(q.name)
            continue
        if not pts:
            missing.append(q.name)
            continue
        scale = 1000.0 if q.unit == "s" else 1.0
        cells = {k: v * scale for k, v in _cells(pts).items()}
        hours = _by_hour(cells)
        vals = list(cells.values())
        extras[q.name] = ObservedExtra(unit="ms" if q.unit == "s" else q.unit, hourly=tuple(_sig(statistics.median(v)) if v else None for v in hours), mean=_sig(statistics.fmean(vals)), max=_sig(max(vals)))
    hourly = queries.by_name().get("latency_hourly")  # "": no histogram's buckets are known
    slo = _slo(fetched, plan, demand.hourly_rps, hourly.promql if hourly else "")
    named = latency_limit(plan)
    meta = ObservedMeta(
        service=plan.spec.metadata.name,
        namespace=plan.spec.kubernetes.namespace,
        plan_hash=plan.metadata.plan_hash,
        prometheus=fetched.prometheus,
        start=_iso(fetched.start),
        end=_iso(fetched.end),
        step_seconds=fetched.step_s,
        engine=queries.engine,
    )
    return Observed(
        metadata=meta,
        queries={q.name: q.promql for q in queries.queries},
        demand=demand,
        capacity=capacity,
        slo=slo,
        extras=extras,
        llm=_llm(fetched, plan, queries),
        missing=tuple(missing),
        notes=tuple(notes),
        warnings=(*undecided_warning(slo, named), *inside_warning(slo, named)),
        running_plan=plan,
    )
