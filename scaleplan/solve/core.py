"""Orchestration: candidates -> per-window MILPs -> plan, explanations, baselines, diagnosis."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scaleplan._version import __version__
from scaleplan.catalog.model import Catalog
from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.plan import (
    HOURS_PER_MONTH,
    Allocation,
    Alternative,
    Baseline,
    Demand,
    InputHashes,
    OperatingPoint,
    Plan,
    PlanMeta,
    plan_to_dict,
)
from scaleplan.profile.model import Profile
from scaleplan.solve.candidates import (
    CPU,
    Candidate,
    Diagnostics,
    assumed_zones,
    build_candidates,
    classes_of,
    in_quota_scope,
    prune,
    prune_rules,
)
from scaleplan.solve.milp import (
    QuotaScope,
    SolverName,
    SolveStat,
    WindowProblem,
    WindowSolution,
    solve_windows,
)
from scaleplan.spec import Spec
from scaleplan.weights import peak_window
from scaleplan.yamlio import dump_yaml

MAX_ALTERNATIVE_SOLVES = 12


@dataclass(frozen=True)
class SolveOptions:
    time_limit: float = 60.0
    max_utilization: float | None = None  # None: from the queueing model; 1.0: no derating
    solver: SolverName = "highs"
    alternatives: bool = True  # alternatives and baselines (extra solves)
    inputs: InputHashes | None = None
    spec_dir: str | None = None  # resolves a model.architecture config.json path


@dataclass(frozen=True)
class SolveResult:
    plan: Plan
    solve_seconds: float
    candidates: int
    windows_solved: int
    stats: tuple[SolveStat, ...] = ()  # the plan's own solver runs, in order
    alternatives_seconds: float = 0.0  # alternatives and baselines (extra solves)


@dataclass
class _Outcome:
    """A solved multi-window problem over a candidate list."""

    cands: list[Candidate]
    sols: list[WindowSolution]  # one per window
    status: str
    cost: float  # mean cost per hour
    bound: float
    # static HTTPRoute weights (routing: gateway-api over several windows): each candidate's
    # traffic share, the per-window weighted optimum it is measured against, and whether that
    # optimum was proven (not stopped by the time limit)
    shares: list[float] | None = None
    lower: float | None = None
    proven: bool = True
    stats: tuple[SolveStat, ...] = ()  # solver runs behind ``sols``


def demand_windows(spec: Spec) -> tuple[tuple[float, ...], float]:
    if spec.traffic.hourly_rps is not None:
        return tuple(spec.traffic.hourly_rps), 1.0
    assert spec.traffic.peak_rps is not None
    return (spec.traffic.peak_rps,), 24.0


def even_split(spec: Spec) -> bool:
    """routing: service (the default): one Service spreads requests evenly over all pods."""
    return spec.kubernetes.routing == "service"


def static_weights(spec: Spec, rps: Sequence[float]) -> bool:
    """routing: gateway-api over more than one distinct demand window: one HTTPRoute whose
    weights cannot change by hour, so the plan must serve every window at the peak's split."""
    return spec.kubernetes.routing == "gateway-api" and len(set(rps)) > 1


def mixed_capacity(spec: Spec, c: Candidate) -> float | None:
    """Per-replica capacity for the spec's class mix: 1 / sum_c(share_c / cap_c), or None.

    Under routing: service every replica receives every class in the traffic's proportions,
    so this is what one replica serves; None when the candidate cannot serve some class.
    """
    classes = classes_of(spec)
    total = sum(s for _, s in classes) or 1.0
    inv = 0.0
    for cls, share in classes:
        if share <= 0:
            continue
        cap = c.cap(cls)
        if not cap:
            return None
        inv += share / total / cap
    return 1.0 / inv if inv > 0 else None


def _quota_scopes(spec: Spec, cands: Sequence[Candidate]) -> tuple[QuotaScope, ...]:
    out = []
    for q in spec.placement.quotas:
        members = tuple(i for i, c in enumerate(cands) if in_quota_scope(q, c.row))
        label = "/".join([q.provider, q.region or "*", q.family or "*"])
        out.append(QuotaScope(label=label, limit=q.max_gpus, members=members))
    return tuple(out)


def _solve_all(
    spec: Spec,
    cands: list[Candidate],
    rps: Sequence[float],
    options: SolveOptions,
    *,
    deadline: float,
    quotas: bool = True,
    max_replicas: bool = True,
    tie_break: bool = True,
) -> _Outcome:
    classes = classes_of(spec)
    names = tuple(c for c, _ in classes)
    pl = spec.placement
    scopes = _quota_scopes(spec, cands) if quotas else ()
    spot = pl.spot.max_fraction if any(c.capacity_type == "spot" for c in cands) else None
    demands = [tuple(round(v * s, 9) for _, s in classes) for v in rps]
    if not demands:
        return _Outcome(cands, [], "infeasible", math.inf, math.inf)
    base = WindowProblem(
        candidates=cands,
        classes=names,
        demand=max(demands, key=lambda d: (sum(d), d)),
        headroom=spec.traffic.headroom,
        redundancy=pl.redundancy,
        spot_max_fraction=spot,
        quotas=scopes,
        min_replicas=pl.min_replicas,
        max_replicas=pl.max_replicas if max_replicas else None,
        even=even_split(spec),
    )
    runs: list[SolveStat] = []
    cache = solve_windows(base, demands, solver=options.solver, deadline=deadline, tie_break=tie_break, stats=runs)
    sols = [cache[d] for d in demands]
    statuses = {s.status for s in sols}
    if statuses & {"infeasible", "unknown"}:
        status = "unknown" if "unknown" in statuses and "infeasible" not in statuses else "infeasible"
        return _Outcome(cands, sols, status, math.inf, math.inf, stats=tuple(runs))
    status = "optimal" if statuses == {"optimal"} else "feasible"
    w = len(sols)
    cost = sum(s.cost for s in sols) / w
    bound = sum((s.bound if s.bound is not None else 0.0) for s in sols) / w
    return _Outcome(cands, sols, status, cost, bound, stats=tuple(runs))


def _static_reason(message: str) -> InfeasibleReason:
    return InfeasibleReason("routing", f"kubernetes.routing is gateway-api: the HTTPRoute's weights are fixed at the peak window's split, and {message}", "relax placement.max_replicas or the quotas, or set traffic.peak_rps (one window)")


def _static(spec: Spec, o: _Outcome, rps: Sequence[float], start: Sequence[int] | None = None) -> tuple[_Outcome, InfeasibleReason | None]:
    """Re-plan a weighted per-window outcome for static HTTPRoute weights.

    The renderer weights each allocation by (replicas at the peak window) x
    capacity_rps_per_replica (the capacity for the class it carries most of, here the largest
    class), rounded to integers summing to 100. The gateway sends that share s_k of every
    request class to type k in every window, so each type is sized on its own: replicas covering
    e_k D_w (1+h) at its capacity for the class mix (e_k = the larger of s_k and its rounded
    weight), n+1: e_k D_w after losing one of its nodes, zone: after losing its largest zone
    share; min_replicas tops up the largest share. The peak replicas (``start``, default the
    MILP's peak window) only grow, so the weights are re-derived until they are stable. Types
    outside the peak get no traffic and no replicas. ``o`` (the per-window weighted optimum over
    the same candidates) is the lower bound the result is measured against.
    """
    from scaleplan.weights import largest_remainder

    cands = o.cands
    K = len(cands)
    classes = classes_of(spec)
    main = max(classes, key=lambda cs: cs[1])[0]  # first of the largest share (_allocations' main class)
    pl = spec.placement
    h = spec.traffic.headroom
    pw = peak_window(rps)
    peak = rps[pw]
    mcap = [mixed_capacity(spec, c) or 0.0 for c in cands]
    wcap = [c.cap(main) or 0.0 for c in cands]
    r_peak = list(start if start is not None else o.sols[pw].replicas)
    f = pl.spot.max_fraction
    spot_rule = pl.spot.allowed and f < 1 and any(r_peak[k] and c.capacity_type == "spot" for k, c in enumerate(cands))

    def shares(reps: Sequence[int]) -> tuple[list[float], list[float]]:
        caps = [reps[k] * wcap[k] if mcap[k] > 0 else 0.0 for k in range(K)]
        tot = sum(caps)
        s = [v / tot if tot > 0 else 0.0 for v in caps]
        w = largest_remainder({f"{k:06d}": v for k, v in enumerate(caps)})
        wt = sum(w.values()) or 1
        return s, [max(s[k], w[f"{k:06d}"] / wt) for k in range(K)]

    def need(k: int, e: float, d: float) -> int:
        if e <= 0 or d <= 0:
            return 0
        c, m, q = cands[k], mcap[k], cands[k].replicas_per_node
        load = e * d
        r = max(1, math.ceil(load * (1 + h) / m - 1e-9))
        if pl.redundancy == "n+1":
            r = max(r, math.ceil(load / m - 1e-9) + q)
        elif pl.redundancy == "zone":
            while (r - q * math.ceil(math.ceil(r / q) / c.zones)) * m < load - 1e-9:
                r += 1
        return r

    for _ in range(1000):
        s, e = shares(r_peak)
        if spot_rule and sum(s[k] for k, c in enumerate(cands) if c.capacity_type == "on-demand") < 1 - f - 1e-9:
            od = [k for k, c in enumerate(cands) if c.capacity_type == "on-demand" and r_peak[k] and mcap[k] > 0]
            if not od:
                return o, _static_reason(f"no on-demand type is in use at the peak to carry {1 - f:.0%} of the traffic")
            k = min(od, key=lambda k: (cands[k].price / (cands[k].replicas_per_node * wcap[k]), k))
            r_peak[k] += 1
            continue
        new = [max(r_peak[k], need(k, e[k], peak)) if s[k] > 0 else 0 for k in range(K)]
        if new == r_peak:
            break
        r_peak = new
    else:
        return o, _static_reason("no stable split was found")
    s, e = shares(r_peak)
    sols: list[WindowSolution] = []
    for w, d in enumerate(rps):
        reps = list(r_peak) if d == peak else [need(k, e[k], d) for k in range(K)]
        if pl.min_replicas > sum(reps):
            top = max((k for k in range(K) if s[k] > 0), key=lambda k: (e[k], -k))
            reps[top] += pl.min_replicas - sum(reps)
        nodes = [math.ceil(reps[k] / cands[k].replicas_per_node) for k in range(K)]
        if pl.max_replicas is not None and sum(reps) > pl.max_replicas:
            return o, _static_reason(f"window {w} then needs {sum(reps)} replicas, more than placement.max_replicas = {pl.max_replicas}")
        for q in _quota_scopes(spec, cands):
            used = sum(cands[k].gpus_per_node * nodes[k] for k in q.members)
            if used > q.limit:
                return o, _static_reason(f"window {w} then needs {used} GPUs in quota {q.label}, more than its {q.limit}")
        routing = [[s[k] if (d > 0 and cands[k].cap(cls)) else 0.0 for k in range(K)] for cls, _ in classes]
        cost = sum(nodes[k] * cands[k].price for k in range(K))
        sols.append(WindowSolution(status="feasible", nodes=nodes, replicas=reps, routing=routing, cost=cost, bound=None, demand=tuple(d * sh for _, sh in classes)))
    cost = sum(x.cost for x in sols) / len(sols)
    lower = o.cost if o.status == "optimal" else o.bound
    lower = min(lower, cost)
    gap = (cost - lower) / cost if cost > 0 else 0.0
    status = "optimal" if gap <= 1e-9 and o.status == "optimal" else "feasible"
    return _Outcome(cands, sols, status, cost, lower, shares=s, lower=lower, proven=o.status == "optimal"), None


def _best_static(spec: Spec, dyn: _Outcome, rps: Sequence[float], options: SolveOptions, deadline: float) -> _Outcome:
    """The cheapest static-weight plan among :func:`_static` started from the weighted MILP's
    peak window and from each instance type's own peak-window optimum (a mix that is cheapest
    at the peak can cost more over the day than one type scaled up and down: every type in the
    HTTPRoute keeps its share, and its own n+1 / zone spare, in every hour)."""
    cands = dyn.cands
    pw = peak_window(rps)
    tries: list[tuple[_Outcome, InfeasibleReason | None]] = [_static(spec, dyn, rps)]
    groups: dict[tuple[str, str], list[int]] = {}
    for k, c in enumerate(cands):
        groups.setdefault((c.row.provider, c.row.instance_type), []).append(k)
    if len(groups) > 1:
        order = sorted(groups.items(), key=lambda kv: (min(cands[k].price / (cands[k].replicas_per_node * (mixed_capacity(spec, cands[k]) or 1e-12)) for k in kv[1]), kv[0]))
        for _, ks in order[:MAX_ALTERNATIVE_SOLVES]:
            if time.perf_counter() > deadline:
                break
            one = _solve_all(spec, [cands[k] for k in ks], [rps[pw]], options, deadline=deadline, tie_break=False)
            if one.status not in ("optimal", "feasible"):
                continue
            start = [0] * len(cands)
            for j, k in enumerate(ks):
                start[k] = one.sols[0].replicas[j]
            tries.append(_static(spec, dyn, rps, start))
    ok = [t for t, reason in tries if reason is None]
    if not ok:
        reason = tries[0][1]
        assert reason is not None
        raise InfeasibleError([reason])
    return min(ok, key=lambda t: round(t.cost, 9))  # first on ties: the MILP's own mix


def _solve_plan(
    spec: Spec,
    cands: list[Candidate],
    rps: Sequence[float],
    options: SolveOptions,
    *,
    deadline: float,
    tie_break: bool = True,
) -> _Outcome:
    """:func:`_solve_all`, then (static HTTPRoute weights) :func:`_static`; an outcome that
    cannot be re-planned for static weights comes back infeasible."""
    if static_weights(spec, rps):
        cands = [c for c in cands if mixed_capacity(spec, c) is not None]
    o = _solve_all(spec, cands, rps, options, deadline=deadline, tie_break=tie_break)
    if o.status not in ("optimal", "feasible") or not static_weights(spec, rps):
        return o
    try:
        return _best_static(spec, o, rps, options, deadline)
    except InfeasibleError:
        return _Outcome(cands, o.sols, "infeasible", math.inf, math.inf)


# ---------------------------------------------------------------------------------------------
# infeasibility diagnosis


def _fmt_ms(v: float) -> str:
    return f"{v:g} ms" if v < 100 else f"{v:.0f} ms"


def _diagnose_candidates(spec: Spec, diag: Diagnostics) -> list[InfeasibleReason]:
    pl = spec.placement
    if diag.rows_after_placement == 0:
        bits = [f"providers {', '.join(pl.providers)}"]
        if pl.regions:
            bits.append(f"regions {', '.join(pl.regions)}")
        if pl.accelerators:
            bits.append(f"accelerators {', '.join(pl.accelerators)}")
        if pl.exclude:
            bits.append(f"exclude {', '.join(pl.exclude)}")
        return [InfeasibleReason("no-candidates", f"no catalog row matches placement ({'; '.join(bits)})", "widen placement.providers, placement.regions or placement.accelerators, or add a catalog with --catalog")]
    if diag.llm_refusals and diag.shapes_fitting == 0:
        shown = "; ".join(diag.llm_refusals[:3]) + (f"; and {len(diag.llm_refusals) - 3} more" if len(diag.llm_refusals) > 3 else "")
        return [InfeasibleReason("memory", f"no allowed shape can serve the model: {shown}", "allow larger accelerators or more GPUs per replica (placement.max_gpus_per_replica), shorten max_model_len, or use a smaller dtype / an fp8 KV cache")]
    common = diag.placement_accelerators & diag.profile_accelerators
    if not common:
        prof = ", ".join(sorted(diag.profile_accelerators)) or "none"
        allowed = ", ".join(sorted(diag.placement_accelerators))
        return [InfeasibleReason("no-candidates", f"the profile has points for {prof}, but placement allows only instance types with {allowed}", f"profile the model on one of {allowed}, or allow {prof} in placement.accelerators")]
    if diag.shapes_fitting == 0 and diag.memory_required is not None:
        if diag.memory_best is not None:
            acc, gib, g = diag.memory_best
            have = f"the largest allowed is {acc} with {gib:g} GiB x {g} GPU(s) per replica = {gib * g:g} GiB"
        else:
            have = "no allowed instance type has enough memory"
        return [InfeasibleReason("memory", f"the model needs {diag.memory_required:g} GiB per replica; {have}", "allow larger accelerators, raise placement.max_gpus_per_replica and profile a multi-GPU replica, or quantize the model", {"required_gib": diag.memory_required})]
    reasons = []
    pct = spec.slo.percentile
    classes = diag.unserved_classes or tuple(diag.slo_best)
    for cls in classes:
        best = diag.slo_best.get(cls)
        where = f" for class {cls}" if spec.traffic.classes else ""
        if best is None:
            reasons.append(InfeasibleReason("slo-unreachable", f"no profiled point serves{where} on the allowed accelerators", f"profile the model{where} on one of {', '.join(sorted(diag.placement_accelerators & diag.profile_accelerators))}"))
            continue
        acc, metric, val, batch = best
        target = {"latency": spec.slo.latency_ms, "ttft": spec.slo.ttft_ms, "tpot": spec.slo.tpot_ms}[metric]
        field = {"latency": "slo.latency_ms", "ttft": "slo.ttft_ms", "tpot": "slo.tpot_ms"}[metric]
        name = {"latency": f"p{pct}", "ttft": f"p{pct} TTFT", "tpot": f"p{pct} TPOT"}[metric]
        reasons.append(
            InfeasibleReason(
                "slo-unreachable",
                f"no accelerator meets {name} <= {_fmt_ms(target or 0)}{where}: the best is {acc} at {_fmt_ms(val)} at batch {batch}",
                f"relax {field} to at least {math.ceil(val)} ms, or profile a faster accelerator",
                {"class": cls, "accelerator": acc, "metric": metric, "value_ms": val, "batch_size": batch},
            )
        )
        if not diag.unserved_classes:
            break
    if not reasons:
        reasons.append(InfeasibleReason("no-candidates", "no candidate instance type remains after the filters", "widen placement"))
    return reasons


def _diagnose_milp(spec: Spec, cands: list[Candidate], rps: Sequence[float], options: SolveOptions, deadline: float) -> list[InfeasibleReason]:
    pl = spec.placement
    peak = max(rps)
    reasons: list[InfeasibleReason] = []
    if pl.quotas:
        relaxed = _solve_all(spec, cands, [peak], options, deadline=deadline, quotas=False, tie_break=False)
        if relaxed.status in ("optimal", "feasible"):
            sol = relaxed.sols[0]
            for q in _quota_scopes(spec, cands):
                used = sum(cands[k].gpus_per_node * sol.nodes[k] for k in q.members)
                if used > q.limit:
                    reasons.append(InfeasibleReason("quota", f"quota {q.label} is {q.limit} GPUs, the cheapest plan needs {used}", f"raise the quota {q.label} to {used} GPUs, or allow other regions or families", {"quota": q.label, "limit": q.limit, "needed": used}))
            if reasons:
                return reasons
    if pl.max_replicas is not None:
        relaxed = _solve_all(spec, cands, [peak], options, deadline=deadline, max_replicas=False, tie_break=False)
        if relaxed.status in ("optimal", "feasible"):
            need = sum(relaxed.sols[0].nodes[k] * cands[k].replicas_per_node for k in range(len(cands)))
            need = min(need, sum(relaxed.sols[0].replicas))
            return [InfeasibleReason("max-replicas", f"placement.max_replicas is {pl.max_replicas}, the cheapest plan needs {need} replicas at peak ({peak:g} rps)", f"raise placement.max_replicas to {need}, or relax the SLO or headroom", {"limit": pl.max_replicas, "needed": need})]
    if pl.spot.allowed and not any(c.capacity_type == "on-demand" for c in cands):
        return [InfeasibleReason("spot", f"only spot prices are known for the candidates, but spot.max_fraction is {pl.spot.max_fraction:g}", "set placement.spot.max_fraction to 1 or add on-demand prices")]
    if pl.redundancy == "zone":
        return [InfeasibleReason("redundancy", "no plan survives losing a zone with the allowed instance types", "set placement.redundancy to n+1, or allow instance types in regions with several zones")]
    return [InfeasibleReason("infeasible", "no plan satisfies all placement constraints together", "relax placement.quotas, max_replicas or redundancy")]


# ---------------------------------------------------------------------------------------------
# plan assembly

_DNS = re.compile(r"[^a-z0-9-]+")


def _dns(s: str) -> str:
    return _DNS.sub("-", s.lower()).strip("-")


def _names(spec: Spec, used: list[Candidate]) -> list[str]:
    regions = {(c.row.provider, c.row.region) for c in used}
    base = []
    for c in used:
        parts = [spec.metadata.name, c.row.instance_type]
        if len(regions) > 1:
            parts.append(c.row.region)
        if sum(1 for o in used if o.row.key == c.row.key and o.capacity_type == c.capacity_type) > 1:
            parts.append(f"g{c.gpus_per_replica}" if c.gpus_per_replica else f"t{c.threads}")
        parts.append("od" if c.capacity_type == "on-demand" else "spot")
        base.append(_dns("-".join(parts)))
    out = []
    for b, c in zip(base, used, strict=True):
        if len(b) > 63 or base.count(b) > 1:
            h = hashlib.sha256("/".join(map(str, c.sort_key)).encode()).hexdigest()[:6]
            b = b[:56].rstrip("-") + "-" + h
        out.append(b)
    return out


def _r(v: float, nd: int = 6) -> float:
    out = round(v, nd)
    return 0.0 if out == 0 else out


def _describe(o: _Outcome) -> str:
    peak_nodes: dict[str, int] = {}
    for k, c in enumerate(o.cands):
        n = max((s.nodes[k] for s in o.sols), default=0)
        if n:
            label = c.row.instance_type + (" spot" if c.capacity_type == "spot" else "")
            peak_nodes[label] = peak_nodes.get(label, 0) + n
    return " + ".join(f"{n} x {t}" for t, n in sorted(peak_nodes.items(), key=lambda kv: (-kv[1], kv[0]))) or "nothing"


def _allocations(spec: Spec, o: _Outcome, rps: Sequence[float], models: dict[str, str] | None = None) -> list[Allocation]:
    classes = classes_of(spec)
    W = len(rps)
    peak_w = peak_window(rps)
    used_idx = [k for k in range(len(o.cands)) if any(s.nodes[k] for s in o.sols)]
    used = [o.cands[k] for k in used_idx]
    names = _names(spec, used)
    allocs = []
    for name, k, c in zip(names, used_idx, used, strict=True):
        nodes = tuple(s.nodes[k] for s in o.sols)
        reps = tuple(s.replicas[k] for s in o.sols)
        routing: dict[str, float] = {}
        load_by_class: dict[str, float] = {}
        for ci, (cls, share) in enumerate(classes):
            if c.cap(cls) is None:
                continue
            routing[cls] = _r(o.sols[peak_w].routing[ci][k] if o.sols[peak_w].routing else 0.0, 4)
            load_by_class[cls] = sum(rps[w] * share * (o.sols[w].routing[ci][k] if o.sols[w].routing else 0.0) for w in range(W))
        main_cls = max(load_by_class, key=lambda cl: (round(load_by_class[cl], 9), -[x for x, _ in classes].index(cl)))
        pt = c.point(main_cls)
        assert pt is not None
        if models is not None:
            models[name] = pt.queueing
        op = OperatingPoint(
            batch_size=pt.batch_size,
            latency_ms=pt.latency,
            throughput_rps=pt.throughput_rps,
            max_utilization=pt.max_utilization,
            source=pt.source,
            service_ms=pt.service_ms,
            request_class=main_cls if spec.traffic.classes else None,
        )
        allocs.append(
            Allocation(
                name=name,
                provider=c.row.provider,
                region=c.row.region,
                instance_type=c.row.instance_type,
                family=c.row.family,
                accelerator=c.accelerator,
                accelerators_per_node=c.row.accelerator_count,
                gpus_per_replica=c.gpus_per_replica,
                replicas_per_node=c.replicas_per_node,
                capacity_type=c.capacity_type,
                vcpus_per_node=c.row.vcpus,
                memory_gib_per_node=c.row.memory_gib,
                cpu_per_replica=c.cpu_per_replica,
                memory_gib_per_replica=c.memory_gib_per_replica,
                price_per_node_hour=c.price,
                capacity_rps_per_replica=pt.capacity_rps,
                replicas=max(reps),
                nodes=max(nodes),
                replicas_per_window=reps,
                nodes_per_window=nodes,
                routing=routing,
                zones=_zones(spec, c),
                operating_point=op,
                estimated=c.estimated,
                llm=c.llm,
                cost_per_hour=_r(sum(n * c.price for n in nodes) / W),
            )
        )
    return allocs


def _zones(spec: Spec, c: Candidate) -> tuple[str, ...]:
    """The zones a zone-redundant allocation spreads its nodes over (node i in zone i mod Z)."""
    if spec.placement.redundancy != "zone":
        return ()
    return tuple(c.row.zones) if c.row.zones else assumed_zones(c.row.provider, c.row.region, c.zones)


def _load(spec: Spec, o: _Outcome, w: int, rps: Sequence[float], factor: float = 1.0) -> float:
    """Replica-equivalents of work in window ``w`` (demand x factor, over per-replica capacity)."""
    sol = o.sols[w]
    if not sol.routing:
        return 0.0
    tot = 0.0
    for ci, (cls, share) in enumerate(classes_of(spec)):
        for k, c in enumerate(o.cands):
            x = sol.routing[ci][k]
            cap = c.cap(cls)
            if x > 0 and cap:
                tot += rps[w] * share * factor * x / cap
    return tot


def _binding(spec: Spec, o: _Outcome, rps: Sequence[float]) -> list[str]:
    pl = spec.placement
    out: list[str] = []
    classes = classes_of(spec)
    W = len(rps)
    hour = "at hour {}" if W == 24 else "in window {}"
    for q in _quota_scopes(spec, o.cands):
        for w, s in enumerate(o.sols):
            used = sum(o.cands[k].gpus_per_node * s.nodes[k] for k in q.members)
            if used >= q.limit and q.limit > 0:
                out.append(f"quota {q.label}: {used} of {q.limit} GPUs used {hour.format(w)}")
                break
    tot = [sum(s.replicas) for s in o.sols]
    if pl.min_replicas > 0 and any(t == pl.min_replicas for t in tot):
        ws = [w for w, t in enumerate(tot) if t == pl.min_replicas]
        out.append(f"placement.min_replicas = {pl.min_replicas} sets the replica count in {len(ws)} of {W} window(s)")
    if pl.max_replicas is not None and any(t >= pl.max_replicas for t in tot):
        out.append(f"placement.max_replicas = {pl.max_replicas} is reached")
    if any(c.capacity_type == "spot" for c in o.cands):
        for w, s in enumerate(o.sols):
            if not rps[w]:
                continue
            hit = False
            for ci, _ in enumerate(classes):
                od = sum(s.routing[ci][k] for k, c in enumerate(o.cands) if c.capacity_type == "on-demand") if s.routing else 1.0
                spot_used = any(s.nodes[k] for k, c in enumerate(o.cands) if c.capacity_type == "spot")
                if spot_used and abs(od - (1 - pl.spot.max_fraction)) < 1e-6:
                    hit = True
            if hit:
                out.append(f"spot.max_fraction = {pl.spot.max_fraction:g}: on-demand replicas carry exactly {1 - pl.spot.max_fraction:.0%} of demand")
                break
    peak_w = peak_window(rps)
    need = _load(spec, o, peak_w, rps, 1 + spec.traffic.headroom)
    if rps[peak_w] > 0:
        out.append(f"coverage {hour.format(peak_w)} (peak): {rps[peak_w]:g} rps + {spec.traffic.headroom:.0%} headroom needs {need:.2f} replica-equivalents; {sum(o.sols[peak_w].replicas)} replicas are provisioned")
    if pl.redundancy == "n+1":
        out.append("redundancy n+1: capacity after losing any one node still covers demand")
    elif pl.redundancy == "zone":
        out.append("redundancy zone: capacity after losing any one zone still covers demand")
    if pl.budget_per_hour is not None and o.cost >= 0.98 * pl.budget_per_hour:
        out.append(f"placement.budget_per_hour = {pl.budget_per_hour:g}: the plan costs {o.cost:.2f}")
    return out


def _utilization(spec: Spec, o: _Outcome, rps: Sequence[float]) -> float:
    work = sum(_load(spec, o, w, rps) for w in range(len(rps)))
    reps = sum(sum(s.replicas) for s in o.sols)
    return work / reps if reps else 0.0


def _restricted(cands: list[Candidate], keep: Callable[[Candidate], bool]) -> list[Candidate]:
    return [c for c in cands if keep(c)]


def _alternatives(spec: Spec, unpruned: list[Candidate], rps: Sequence[float], options: SolveOptions, best: _Outcome, deadline: float) -> tuple[list[Alternative], list[_Outcome]]:
    """Best single-instance-type plans, by a lower bound then exact solves."""
    classes = classes_of(spec)
    h = spec.traffic.headroom
    # one instance type, in any of the allowed regions; built from the unpruned candidates (a
    # type's spot nodes may be dominated by another type's) and pruned within the type
    groups: dict[tuple[str, str], list[Candidate]] = {}
    for c in unpruned:
        groups.setdefault((c.row.provider, c.row.instance_type), []).append(c)
    groups = {key: prune(gs, prune_rules(spec, gs)) for key, gs in groups.items()}
    lbs = []
    for key, gs in groups.items():
        lb = 0.0
        ok = True
        for v in rps:
            for cls, share in classes:
                per = [k.price / (k.replicas_per_node * cap) for k in gs if (cap := k.cap(cls))]
                if not per:
                    ok = False
                    break
                lb += v * share * (1 + h) * min(per)
            if not ok:
                break
        if ok:
            lbs.append((lb / len(rps), key))
    lbs.sort()
    found: list[_Outcome] = []
    for solves, (lb, key) in enumerate(lbs):
        if solves >= MAX_ALTERNATIVE_SOLVES:
            break
        if len(found) >= 4 and lb >= sorted(o.cost for o in found)[3]:
            break
        if time.perf_counter() > deadline:
            break
        o = _solve_plan(spec, groups[key], rps, options, deadline=deadline, tie_break=False)
        if o.status in ("optimal", "feasible"):
            found.append(o)
    found.sort(key=lambda o: (round(o.cost, 9), _describe(o)))
    mine = _describe(best)
    alts: list[Alternative] = []
    for o in found:
        if _describe(o) == mine or len(alts) >= 3:
            continue
        extra = (o.cost - best.cost) / best.cost if best.cost > 0 else 0.0
        alts.append(Alternative(description=_describe(o), cost_per_hour=_r(o.cost), extra_cost_fraction=_r(extra, 4)))
    return alts, found


def _baselines(spec: Spec, cands: list[Candidate], unpruned: list[Candidate], rps: Sequence[float], options: SolveOptions, best: _Outcome, singles: list[_Outcome], deadline: float) -> list[Baseline]:
    out = []

    def mk(name: str, desc: str, o: _Outcome | None) -> Baseline:
        if o is None or o.status not in ("optimal", "feasible"):
            return Baseline(name=name, description=desc + " (infeasible)", cost_per_hour=None)
        sav = (o.cost - best.cost) / o.cost if o.cost > 0 else 0.0
        return Baseline(name=name, description=f"{desc}: {_describe(o)}", cost_per_hour=_r(o.cost), savings_fraction=_r(sav, 4))

    single = singles[0] if singles else None
    out.append(mk("cheapest-single-type", "cheapest single instance type that meets the SLO", single))
    # the fastest accelerator is chosen among all candidates (pruning may have dropped it in
    # favour of a cheaper, at least as fast one), then re-pruned among its own instance types
    gpu = [c for c in unpruned if c.accelerator != CPU]
    main_cls = classes_of(spec)[0][0]
    if gpu:
        def speed(c: Candidate) -> float:
            cap = c.cap(main_cls)
            return (cap or 0.0) / max(1, c.gpus_per_replica)
        fastest = sorted(gpu, key=lambda c: (-speed(c), c.accelerator))[0].accelerator
        only = _restricted(unpruned, lambda c: c.accelerator == fastest)
        only = prune(only, prune_rules(spec, only))
        o = _solve_plan(spec, only, rps, options, deadline=deadline, tie_break=False) if time.perf_counter() < deadline else None
        out.append(mk("fastest-accelerator", f"only the fastest accelerator ({fastest})", o))
    if spec.placement.spot.allowed:
        od = _restricted(cands, lambda c: c.capacity_type == "on-demand")
        o = _solve_plan(spec, od, rps, options, deadline=deadline, tie_break=False) if od and time.perf_counter() < deadline else None
        out.append(mk("all-on-demand", "all on-demand (no spot)", o))
    else:
        out.append(mk("all-on-demand", "all on-demand (no spot)", best))
    return out


_QUEUE_TEXT = {
    "discrete": "the dynamic-batching queueing model (batches launch when the replica is free)",
    "continuous": "the continuous-batching (M/D/c) queueing model",
}


def _explain(spec: Spec, plan_allocs: Sequence[Allocation], o: _Outcome, rps: Sequence[float], baselines: Sequence[Baseline], alts: Sequence[Alternative], models: dict[str, str] | None = None) -> list[str]:
    pct = spec.slo.percentile
    W = len(rps)
    peak_w = peak_window(rps)
    lines = []
    lines.append(f"The cheapest plan that holds p{pct} <= {spec.slo.latency_ms:g} ms costs ${o.cost:.2f}/h (${o.cost * HOURS_PER_MONTH:,.0f}/month): {_describe(o)} at peak.")
    when = f"at hour {peak_w}" if W == 24 else "flat over the day"
    lines.append(f"Demand peaks at {rps[peak_w]:g} rps {when}; the plan sizes for {spec.traffic.headroom:.0%} headroom on top.")
    for a in plan_allocs:
        op = a.operating_point
        lat = op.latency_ms.model_dump()[f"p{pct}"]
        qm = _QUEUE_TEXT.get((models or {}).get(a.name, ""), "the queueing model")
        derate = f"{qm} keeps each replica at <= {op.max_utilization:.0%} utilization under Poisson arrivals" if op.max_utilization < 1 else "no queueing derating"
        shape = f"{a.gpus_per_replica} x {a.accelerator} per replica" if a.gpus_per_replica else f"CPU only, {a.cpu_per_replica:g} vCPU per replica"
        lines.append(f"{a.name}: {a.instance_type} ({shape}, {a.replicas_per_node} replica(s) per node, {a.capacity_type}) runs batch {op.batch_size} at p{pct} {lat:g} ms; {derate}, so one replica serves {a.capacity_rps_per_replica:g} rps.")
        if a.estimated:
            lines.append(f"{a.name}: capacity rests on {op.source} (not measured) profile points for {a.accelerator}; measure before committing.")
    lines.append(_routing_line(spec, plan_allocs, o, rps))
    pl = spec.placement
    if pl.redundancy == "n+1":
        lines.append("Redundancy n+1: after losing any one node the remaining replicas still carry the demand" + (", each taking an even share." if even_split(spec) else "."))
    elif pl.redundancy == "zone":
        spread = "; ".join(f"{a.name}: {a.nodes} node(s) over {', '.join(a.zones)}" for a in plan_allocs if a.zones)
        lines.append(f"Redundancy zone: nodes are spread round-robin over the zones (node i in zone i mod 3, unless the catalog lists the zones) so that losing any one zone leaves enough capacity ({spread}); the manifests spread replicas with topology spread constraints.")
    if pl.spot.allowed:
        lines.append(f"Spot: on-demand replicas alone serve at least {1 - pl.spot.max_fraction:.0%} of each class's demand.")
    for b in baselines:
        if b.cost_per_hour is not None and b.savings_fraction is not None and b.savings_fraction > 0.0005:
            lines.append(f"Saves {b.savings_fraction:.0%} against {b.description} (${b.cost_per_hour:.2f}/h).")
    if alts:
        a0 = alts[0]
        lines.append(f"Next best: {a0.description}, {a0.extra_cost_fraction:+.0%}.")
    return lines


def _routing_line(spec: Spec, plan_allocs: Sequence[Allocation], o: _Outcome, rps: Sequence[float]) -> str:
    W = len(rps)
    peak_w = peak_window(rps)
    if not even_split(spec):
        gw = spec.kubernetes.gateway
        where = f"{gw.namespace + '/' if gw and gw.namespace else ''}{gw.name if gw else '?'}"
        line = f"Routing: gateway-api: one Service per allocation behind an HTTPRoute on Gateway {where}, weighted by each allocation's routing share (in proportion to capacity), so replicas of very different speed can serve side by side."
        if o.shares is None or o.lower is None:
            return line
        split: dict[str, float] = {}
        for k, c in enumerate(o.cands):
            if o.shares[k] > 0:
                label = c.row.instance_type + (" spot" if c.capacity_type == "spot" else "")
                split[label] = split.get(label, 0.0) + o.shares[k]
        weights = ", ".join(f"{t} {v:.0%}" for t, v in sorted(split.items(), key=lambda kv: (-kv[1], kv[0])))
        extra = (o.cost - o.lower) / o.lower if o.lower > 0 else 0.0
        return (
            f"{line} HTTPRoute weights are fixed at the peak mix ({weights}); other hours scale each type to its share; "
            f"the day costs {extra:.1%} more than if weights could change hourly (${o.cost:.2f}/h against ${o.lower:.2f}/h)."
        )
    sol = o.sols[peak_w]
    total = sum(sol.replicas)
    if total == 0:
        return "Routing: service: one Service spreads requests evenly over all pods."
    each = rps[peak_w] * (1 + spec.traffic.headroom) / total
    caps: dict[str, float] = {}
    for k, c in enumerate(o.cands):
        if sol.replicas[k]:
            label = c.row.instance_type + (" spot" if c.capacity_type == "spot" else "")
            caps[label] = min(mixed_capacity(spec, c) or 0.0, caps.get(label, math.inf))
    mixes = sum(1 for s in o.sols if sum(1 for k in range(len(o.cands)) if s.replicas[k]) > 1)
    slow, cap = min(caps.items(), key=lambda kv: (kv[1], kv[0]))
    mix = " for the class mix" if spec.traffic.classes else ""
    if len(caps) > 1:
        what = f"only types that can each take {each:.4g} rps are mixed (the slowest in use, {slow}, serves {cap:.4g} rps per replica{mix})"
    else:
        what = f"{slow} serves {cap:.4g} rps per replica{mix}"
    windows = f"; {mixes} of {W} window(s) mix replica types" if W > 1 else ""
    return f"Routing: service: one Service spreads requests evenly over all {total} pods at peak (kube-proxy), so each replica takes {each:.4g} rps with headroom; {what}{windows}. Set kubernetes.routing: gateway-api to weight traffic by capacity instead."


def _hash_plan(plan: Plan) -> Plan:
    d = plan_to_dict(plan)
    d["metadata"].pop("plan_hash", None)
    h = hashlib.sha256(dump_yaml(d).encode("utf-8")).hexdigest()
    return plan.model_copy(update={"metadata": plan.metadata.model_copy(update={"plan_hash": h})})


def solve(spec: Spec, profile: Profile, catalog: Catalog, *, options: SolveOptions | None = None) -> SolveResult:
    """The cheapest plan that holds the spec's SLO; raises InfeasibleError with reasons."""
    rps, window_hours = demand_windows(spec)
    return solve_demand(spec, profile, catalog, rps, window_hours, options=options or SolveOptions())


def solve_demand(spec: Spec, profile: Profile, catalog: Catalog, rps: Sequence[float], window_hours: float, *, options: SolveOptions) -> SolveResult:
    """Like :func:`solve` with an explicit demand curve (any number of windows)."""
    t0 = time.perf_counter()
    deadline = t0 + options.time_limit
    cands, diag = build_candidates(spec, profile, catalog, max_util=options.max_utilization, spec_dir=options.spec_dir)
    if not cands or diag.unserved_classes:
        raise InfeasibleError(_diagnose_candidates(spec, diag))
    if even_split(spec):
        serving = [c for c in cands if mixed_capacity(spec, c) is not None]
        if not serving:
            names = ", ".join(c for c, _ in classes_of(spec))
            raise InfeasibleError([InfeasibleReason("routing", f"kubernetes.routing is service: one Service sends every replica every request class ({names}), but no allowed instance type serves them all within the SLO", "set kubernetes.routing: gateway-api (per-allocation Services with weights), or profile one accelerator that serves every class")])
        cands = serving
    static = static_weights(spec, rps)
    if static:
        serving = [c for c in cands if mixed_capacity(spec, c) is not None]
        if not serving:
            names = ", ".join(c for c, _ in classes_of(spec))
            raise InfeasibleError([InfeasibleReason("routing", f"kubernetes.routing is gateway-api with hourly traffic: the HTTPRoute's weights are fixed, so every allocation receives every request class ({names}), but no allowed instance type serves them all within the SLO", "set traffic.peak_rps (one window), or profile one accelerator that serves every class")])
        cands = serving
    best = _solve_all(spec, cands, rps, options, deadline=deadline)
    runs = best.stats
    if best.status == "unknown":
        raise InfeasibleError([InfeasibleReason("time-limit", f"no plan was found within the time limit of {options.time_limit:g} s", "raise --time-limit")])
    if best.status == "infeasible":
        raise InfeasibleError(_diagnose_milp(spec, cands, rps, options, deadline + options.time_limit))
    if static:
        best = _best_static(spec, best, rps, options, deadline)
    budget = spec.placement.budget_per_hour
    if budget is not None and best.cost > budget + 1e-9:
        raise InfeasibleError([InfeasibleReason("budget", f"placement.budget_per_hour is {budget:.2f}, the cheapest plan costs {best.cost:.2f} ({_describe(best)})", f"raise placement.budget_per_hour to {math.ceil(best.cost * 100) / 100:.2f}, or relax the SLO, headroom or redundancy", {"budget": budget, "cost": best.cost})])
    solve_seconds = time.perf_counter() - t0
    models: dict[str, str] = {}
    allocs = _allocations(spec, best, rps, models)
    alts: list[Alternative] = []
    baselines: list[Baseline] = []
    t_alt = time.perf_counter()
    if options.alternatives:
        # alternatives and baselines share --time-limit with the main solve (it is the
        # command's limit, not one per solve); what does not fit in it is left out
        alt_deadline = deadline
        alts, singles = _alternatives(spec, diag.unpruned, rps, options, best, alt_deadline)
        baselines = _baselines(spec, cands, diag.unpruned, rps, options, best, singles, alt_deadline)
    alt_seconds = time.perf_counter() - t_alt
    classes = classes_of(spec)
    mean_rps = sum(rps) / len(rps)
    cost = _r(best.cost)
    gap = 0.0 if best.status == "optimal" else (_r(max(0.0, (best.cost - best.bound) / best.cost), 6) if best.cost > 0 else 0.0)
    warnings = sorted(set(diag.warnings))
    used = [c for k, c in enumerate(best.cands) if any(s.nodes[k] for s in best.sols)]
    assumed = sorted({(a.provider, a.region, a.zones) for a, c in zip(allocs, used, strict=True) if a.zones and not c.row.zones})
    for prov, region, zs in assumed:
        warnings.append(f"zones assumed for {prov}/{region} (the catalog lists none): {', '.join(zs)}; check that the instance types are offered there, or list the zones in the catalog")
    est = sorted({a.accelerator for a in allocs if a.estimated})
    if est:
        warnings.append(f"capacity on {', '.join(est)} rests on estimated or scaled profile points, not measurements")
    if (best.status != "optimal") if best.shares is None else not best.proven:
        warnings.append(f"stopped by the time limit: the plan is feasible, within {gap:.2%} of optimal")
    util = _utilization(spec, best, rps)
    explanation = _explain(spec, allocs, best, rps, baselines, alts, models)
    if spec.model.architecture is not None:  # the LLM model (scaleplan.llm) loads only for LLM specs
        from scaleplan.solve.llm_capacity import llm_explanation

        explanation.extend(llm_explanation(spec, allocs))
    explanation.append(f"Average utilization of the provisioned capacity over the day: {util:.0%}.")
    meta = PlanMeta(name=spec.metadata.name, scaleplan_version=__version__, plan_hash="", inputs=options.inputs or InputHashes(spec="", profile=""))
    plan = Plan(
        metadata=meta,
        status="optimal" if best.status == "optimal" else "feasible",
        solver=options.solver,
        gap=gap,
        cost_per_hour=cost,
        cost_per_month=_r(cost * HOURS_PER_MONTH, 2),
        cost_per_million_requests=_r(best.cost / (mean_rps * 3600) * 1e6, 4) if mean_rps > 0 else None,
        demand=Demand(windows=len(rps), window_hours=window_hours, rps=tuple(rps), headroom=spec.traffic.headroom, classes=dict(classes) if spec.traffic.classes else {}),
        allocations=tuple(allocs),
        binding_constraints=tuple(_binding(spec, best, rps)),
        alternatives=tuple(alts),
        baselines=tuple(baselines),
        warnings=tuple(warnings),
        explanation=tuple(explanation),
        spec=spec,
    )
    spot_warning = _spot_loss_warning(plan)
    if spot_warning is not None:
        plan = plan.model_copy(update={"warnings": (*plan.warnings, spot_warning)})
    return SolveResult(plan=_hash_plan(plan), solve_seconds=solve_seconds, candidates=len(cands), windows_solved=len(set(rps)), stats=runs, alternatives_seconds=alt_seconds)


def _spot_loss_warning(plan: Plan) -> str | None:
    """routing: gateway-api with spot allocations: the HTTPRoute's weights are static, so a spot
    loss fails the spot allocations' share until replacements are ready; say so (the plan cannot
    keep the SLO through it, whatever its spare capacity)."""
    from scaleplan.weights import route_weights, spot_loss_share

    if plan.spec.kubernetes.routing != "gateway-api":
        return None
    share = spot_loss_share(plan)
    if share <= 0:
        return None
    weights = route_weights(plan)
    names = ", ".join(f"{a.name} (weight {weights.get(a.name, 0)})" for a in plan.allocations if a.capacity_type == "spot" and weights.get(a.name, 0) > 0)
    return (
        f"routing: gateway-api: the HTTPRoute's static weights send {share:.0%} of requests to spot allocations ({names}); "
        "when the spot capacity is reclaimed those requests fail until replacement pods are ready, so this plan does not hold "
        "the SLO through a spot loss (scaleplan simulate --fail spot shows the failures). Use routing: inference-pool (a lost "
        "allocation drops out of the pool) or routing: service, or set placement.spot.allowed: false"
    )

