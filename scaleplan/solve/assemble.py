"""Plan assembly: an Outcome into Allocations (named, zoned), binding constraints,
warnings and the hashed :class:`Plan`.

:func:`allocations` names each used candidate (DNS-1123, stable across runs) and picks the
operating point of the class it carries most of; :func:`assemble_plan` adds costs, demand,
binding constraints and warnings; :func:`hash_plan` stamps ``metadata.plan_hash`` (also used
by ``observe`` when it relabels a plan).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from scaleplan._version import __version__
from scaleplan.kube.weights import peak_window
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
    ProfileUnused,
    SpotLoss,
    UnusedAccelerator,
    content_hash,
)
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.oppoints import OpPoint, floor4
from scaleplan.solve.placement import assumed_zones, flagged_in_use
from scaleplan.solve.problem import Classes, Problem, quota_scopes
from scaleplan.solve.search import Outcome, outcome_gap
from scaleplan.solve.typecap import cap_binding
from scaleplan.spec import Spec
from scaleplan.wording import counted

_DNS = re.compile(r"[^a-z0-9-]+")


def rounded(v: float, nd: int = 6) -> float:
    """``round(v, nd)`` without a negative zero (plans print the same on every platform)."""
    out = round(v, nd)
    return 0.0 if out == 0 else out


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


def _zones(spec: Spec, c: Candidate) -> tuple[str, ...]:
    """The zones a zone-redundant allocation spreads its pods over (maxSkew 1, kube.zones)."""
    if spec.placement.redundancy != "zone":
        return ()
    if c.row.zones:
        return tuple(c.row.zones)
    return assumed_zones(c.row.provider, c.row.region, c.zones)


def _main_classes(pb: Problem, o: Outcome, rps: Sequence[float], used_idx: Sequence[int]) -> dict[int, str]:
    """Per used candidate, the class whose operating point its allocation reports: the class
    with the most demand that its serving shape (:meth:`Candidate.serving_shape`) serves (ties
    go to the earlier class). An HTTPRoute sends every backend Service the whole class mix, so
    under gateway-api with several classes the allocation's ``capacity_rps_per_replica``, the
    weight basis the optimizer holds spot shares, losses and headroom at
    (:func:`scaleplan.solve.milp.window.route_caps`) and render then writes, is its capacity
    for the mix (:meth:`Problem.mix_weight`), beside this class's operating point; the
    allocations of one shape report the same operating point and capacity per replica, and
    render groups them as the solver did. (It was the class each shape *carried* most under
    the MILP's per-class routing, which a route cannot deliver: render and the optimizer then
    weighed a shape at different classes, and a two-class plan held 33 % of its requests on
    spot at max_fraction 0.2.)"""
    order = [x for x, _ in pb.classes]
    demand = {cls: share * sum(rps) for cls, share in pb.classes}

    def first_by_demand(c: Candidate) -> str:  # one shape, one set of points: one answer
        own = [cls for cls in order if c.cap(cls) is not None]
        return max(own, key=lambda cl: (round(demand[cl], 9), -order.index(cl)))

    return {k: first_by_demand(o.cands[k]) for k in used_idx}


def _operating_point(pt: OpPoint, cls: str | None) -> OperatingPoint:
    """The plan's record of one candidate point (of class ``cls``)."""
    return OperatingPoint(
        batch_size=pt.batch_size,
        latency_ms=pt.latency,
        throughput_rps=pt.throughput_rps,
        max_utilization=pt.max_utilization,
        source=pt.source,
        service_ms=pt.service_ms,
        request_class=cls,
    )


def _class_points(pb: Problem, c: Candidate) -> dict[str, OperatingPoint] | None:
    """Several request classes, not an LLM plan (its ``llm.classes`` say it): each class's
    operating point on ``c``, so that ``simulate`` serves a request at its own class's service
    time, not the main class's; None otherwise (one class: the operating point is it)."""
    if pb.spec.model.architecture is not None or sum(1 for _, s in pb.classes if s > 0) < 2:
        return None
    return {cls: _operating_point(p, cls) for cls, _ in pb.classes if (p := c.point(cls))}


def _routed_capacity(c: Candidate, routing: dict[str, float], classes: Classes) -> float:
    """:attr:`Problem.class_routed`: one replica's capacity at the class mix the class rules
    send it (its ``routing`` share of each class's demand, at the class's traffic share):
    sum_c r_c s_c / sum_c (r_c s_c / cap_c), floored to 4 decimals; 0 when it is routed
    nothing. What its pods serve as delivered, so the autoscaler's per-pod rate and the
    header-less rule's weights (in proportion to the planned load) use it."""
    load = inv = 0.0
    for cls, share in classes:
        r, cap = routing.get(cls, 0.0) * share, c.cap(cls)
        if r > 0 and cap:
            load, inv = load + r, inv + r / cap
    return floor4(load / inv) if inv > 0 else 0.0


def allocated_indices(o: Outcome) -> list[int]:
    """The indices of ``o``'s candidates that become allocations (a node in some window)."""
    return [k for k in range(len(o.cands)) if any(s.nodes[k] for s in o.sols)]


def allocated_candidates(o: Outcome) -> list[Candidate]:
    """The candidates ``o`` runs, in the order of :func:`allocations`."""
    return [o.cands[k] for k in allocated_indices(o)]


def allocations(
    pb: Problem, o: Outcome, rps: Sequence[float]
) -> tuple[list[Allocation], dict[str, str]]:
    """One Allocation per used candidate, and each allocation's queueing model by name."""
    spec, classes = pb.spec, pb.classes
    W = len(rps)
    peak_w = peak_window(rps)
    used_idx = allocated_indices(o)
    used = [o.cands[k] for k in used_idx]
    models: dict[str, str] = {}
    allocs = []
    main_of = _main_classes(pb, o, rps, used_idx)
    for name, k, c in zip(_names(spec, used), used_idx, used, strict=True):
        nodes = tuple(s.nodes[k] for s in o.sols)
        reps = tuple(s.replicas[k] for s in o.sols)
        routing: dict[str, float] = {}
        for ci, (cls, _share) in enumerate(classes):
            if c.cap(cls) is None:
                continue
            peak_sol = o.sols[peak_w]
            routing[cls] = rounded(peak_sol.routing[ci][k] if peak_sol.routing else 0.0, 4)
        main_cls = main_of[k]
        pt = c.point(main_cls)
        assert pt is not None
        # render's weight basis (and the autoscaler's per-pod rate): the class mix's; with a rule
        # per class, the mix of classes the route sends this allocation; routing: service
        # sends every pod the mix too, and the even split was sized at its capacity for it
        # (milp.window.even_need): the main class's capacity set the HPA's per-pod rate 1.75x
        # above what a pod holds with a 6,000-token class in the mix (new-user trial)
        if pb.class_routed or pb.pool_mix:
            cap = _routed_capacity(c, routing, classes) or pb.mix_weight(c) or pt.capacity_rps
        elif pb.mix_basis or pb.even_mix:
            cap = pb.mix_weight(c) or pt.capacity_rps
        else:
            cap = pt.capacity_rps
        models[name] = pt.queueing
        op = _operating_point(pt, main_cls if spec.traffic.classes else None)
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
                capacity_rps_per_replica=cap,
                replicas=max(reps),
                nodes=max(nodes),
                replicas_per_window=reps,
                nodes_per_window=nodes,
                routing=routing,
                zones=_zones(spec, c),
                operating_point=op,
                class_points=_class_points(pb, c),
                estimated=c.estimated,
                llm=c.llm,
                cost_per_hour=rounded(sum(n * c.price for n in nodes) / W),
            )
        )
    return allocs, models


def _load(pb: Problem, o: Outcome, w: int, rps: Sequence[float], factor: float = 1.0) -> float:
    """Replica-equivalents of work in window ``w`` (demand x factor, over per-replica capacity)."""
    sol = o.sols[w]
    if not sol.routing:
        return 0.0
    tot = 0.0
    for ci, (cls, share) in enumerate(pb.classes):
        for k, c in enumerate(o.cands):
            x = sol.routing[ci][k]
            cap = c.cap(cls)
            if x > 0 and cap:
                tot += rps[w] * share * factor * x / cap
    return tot


def utilization(pb: Problem, o: Outcome, rps: Sequence[float]) -> float:
    """Work over provisioned replicas, summed over the windows."""
    work = sum(_load(pb, o, w, rps) for w in range(len(rps)))
    reps = sum(sum(s.replicas) for s in o.sols)
    return work / reps if reps else 0.0


def _spot_binding(pb: Problem, o: Outcome, rps: Sequence[float]) -> str | None:
    pl = pb.spec.placement
    if pl.spot.max_fraction >= 1:  # all spot allowed: 0 % on demand is no limit (UX trial 29)
        return None
    for w, s in enumerate(o.sols):
        if not rps[w]:
            continue
        hit = False
        for ci, _ in enumerate(pb.classes):
            od = sum(s.routing[ci][k] for k, c in enumerate(o.cands) if c.capacity_type == "on-demand") if s.routing else 1.0
            spot_used = any(s.nodes[k] for k, c in enumerate(o.cands) if c.capacity_type == "spot")
            if spot_used and abs(od - (1 - pl.spot.max_fraction)) < 1e-6:
                hit = True
        if hit:
            return (
                f"spot.max_fraction = {pl.spot.max_fraction:g}: on-demand replicas carry exactly "
                f"{1 - pl.spot.max_fraction:.0%} of demand"
            )
    return None


def binding(pb: Problem, o: Outcome, rps: Sequence[float]) -> list[str]:
    """The constraints that shape the plan, in the spec's terms."""
    pl = pb.spec.placement
    out: list[str] = []
    W = len(rps)
    hour = "at hour {}" if W == 24 else "in window {}"
    for q in quota_scopes(pb.spec, o.cands):
        for w, s in enumerate(o.sols):
            used = q.used(o.cands, s.nodes)
            if used >= q.limit and q.limit > 0:
                of = f"{used} of {q.count(q.limit)}"
                out.append(f"quota {q.label}: {of} used {hour.format(w)}")
                break
    tot = [sum(s.replicas) for s in o.sols]
    if pl.min_replicas > 0 and any(t == pl.min_replicas for t in tot):
        ws = [w for w, t in enumerate(tot) if t == pl.min_replicas]
        out.append(
            f"placement.min_replicas = {pl.min_replicas} sets the replica count in {len(ws)} "
            f"of {counted(W, 'window')}"
        )
    if pl.max_replicas is not None and any(t >= pl.max_replicas for t in tot):
        out.append(f"placement.max_replicas = {pl.max_replicas} is reached")
    if any(c.capacity_type == "spot" for c in o.cands):
        spot = _spot_binding(pb, o, rps)
        if spot is not None:
            out.append(spot)
    peak_w = peak_window(rps)
    peak_reps = o.sols[peak_w].replicas
    od = sum(r for r, c in zip(peak_reps, o.cands, strict=True) if c.capacity_type == "on-demand")
    if pl.spot.allowed and pl.spot.survive_loss and od < sum(peak_reps):  # binds beside spot only
        out.append(
            f"spot.survive_loss: on-demand replicas alone carry the peak ({od} of "
            f"{sum(peak_reps)} replicas on-demand)"
        )
    h = pb.spec.traffic.headroom
    need = _load(pb, o, peak_w, rps, 1 + h)
    if rps[peak_w] > 0:
        out.append(
            f"coverage {hour.format(peak_w)} (peak): {rps[peak_w]:g} rps + {h:.0%} headroom "
            f"needs {need:.2f} replica-equivalents; {sum(o.sols[peak_w].replicas)} replicas "
            "are provisioned"
        )
    if pl.redundancy == "n+1":
        out.append("redundancy n+1: capacity after losing any one node still covers demand")
    elif pl.redundancy == "zone":
        out.append("redundancy zone: capacity after losing any one zone still covers demand")
    cap = cap_binding(pb, o)
    if cap is not None:
        out.append(cap)
    if pl.budget_per_hour is not None and o.cost >= 0.98 * pl.budget_per_hour:
        out.append(f"placement.budget_per_hour = {pl.budget_per_hour:g}: the plan costs {o.cost:.2f}")
    return out


def _gap(best: Outcome) -> float:
    return rounded(outcome_gap(best), 6)


def _calibrated_warning(allocs: Sequence[Allocation], calibration: str) -> str:
    """'capacity on H100 rests on the LLM model's predictions, calibrated on 6 measured points on
    H100 (TP2, 8-64 sequences); planned as H100 TP2 with 229 sequences per replica': it said
    "estimated or scaled profile points, not measurements" of a plan calibrated on its own shape."""
    accs = sorted({a.accelerator for a in allocs})
    shapes = sorted({(a.accelerator, a.llm.tensor_parallel, a.llm.pipeline_parallel, a.llm.max_num_seqs) for a in allocs if a.llm})
    planned = ", ".join(f"{acc} TP{tp}{f' PP{pp}' if pp > 1 else ''} with {n} sequences per replica" for acc, tp, pp, n in shapes)
    return (
        f"capacity on {', '.join(accs)} rests on the LLM model's predictions, calibrated on "
        f"{calibration}; planned as {planned} (docs/llm.md, Calibration)"
    )


def _warnings(
    best: Outcome, allocs: Sequence[Allocation], candidate_warnings: Sequence[str], gap: float,
    no_profile: bool = False,
    calibration: str | None = None,
    points_unused: int = 0,
    profile_unused: ProfileUnused | None = None,
) -> list[str]:
    warnings = sorted(set(candidate_warnings))
    used = allocated_candidates(best)
    assumed = sorted(
        {(a.provider, a.region, a.zones) for a, c in zip(allocs, used, strict=True) if a.zones and not c.row.zones}
    )
    for prov, region, zs in assumed:
        warnings.append(
            f"zones assumed for {prov}/{region} (the catalog lists none): {', '.join(zs)}; check "
            "that the instance types are offered there, or list the cluster's zones in "
            "placement.zones"
        )
    calibrated = [a for a in allocs if a.estimated and a.llm is not None and calibration]
    if calibrated:  # an LLM plan on a calibrated model: what it rests on, and where it is planned
        warnings.append(_calibrated_warning(calibrated, calibration or ""))
    est = sorted({a.accelerator for a in allocs if a.estimated and a not in calibrated})
    if est and no_profile:  # an LLM spec planned from its architecture alone
        warnings.append(
            f"capacity on {', '.join(est)} rests on the LLM model's architecture-only "
            "estimates, not measurements: the spec names no model.profile, so nothing "
            "calibrates them (docs/llm.md, Calibration)"
        )
    elif est and points_unused:  # the profile's measured points were all left out (UX trial 23)
        none = (
            "model.profile's one measured point does not calibrate them" if points_unused == 1
            else f"none of model.profile's {points_unused:,} measured points calibrates them"
        )
        warnings.append(
            f"capacity on {', '.join(est)} rests on the LLM model's architecture-only "
            f"estimates, not measurements: {none} (the 'calibration:' warnings say why; "
            "docs/llm.md, Calibration)"
        )
    elif est and profile_unused != "estimates-only":
        # an LLM model's plan on a profile of estimates only: its own warning says what the
        # plan rests on (llm_capacity.estimates_only; this said "estimated profile points",
        # which the plan ignores: UX trial 31 F3)
        warnings.append(
            f"capacity on {', '.join(est)} rests on estimated or scaled profile points, "
            "not measurements"
        )
    flagged = flagged_in_use([c.row for c in used])
    if flagged:
        warnings.append(flagged)
    arm = sorted({c.row.instance_type for c in used if c.row.cpu_arch == "arm64"})
    if arm:  # nothing in a spec or profile says the image or the measured CPU is arm64
        warnings.append(
            f"{', '.join(arm)}: arm64 hosts; the image must be built for linux/arm64, and CPU "
            "capacity is the profile's CPU points as measured, whatever CPU that was (leave "
            "them out with placement.exclude otherwise)"
        )
    if best.note:  # a repair after the search (its own words), not the time limit
        warnings.append(best.note)
    if best.tie_cut:  # a plan of the least cost, maybe not the one the tie-break ranks first
        warnings.append(_tie_cut_warning(best.tie_cut, len(best.sols)))
    if best.shares is None and not best.note:  # the MILP's own plan
        if best.status != "optimal":
            warnings.append(f"stopped by the time limit: the plan is feasible, within {gap:.2%} of optimal")
    elif not best.proven:  # a heuristic step's plan (the explanation's gap line)
        warnings.append(
            "stopped by the time limit: the search behind the lower bound this plan is measured "
            f"against did not finish; the gap ({gap:.2%}) is that and the bound's looseness"
        )
    return warnings


def _tie_cut_warning(cut: int, windows: int) -> str:
    """The windows whose tie-break among plans of the least cost the deadline cut
    (``tiebreak.break_tie``): their cost is proven, which plan of it is not."""
    return (
        f"--time-limit cut the tie-break between plans of equal cost in {cut} of {windows} "
        f"window{'s' if windows > 1 else ''}: the cost is optimal, but the plan may not be the "
        "one of that cost with the fewest nodes (then the earliest names), so a rerun with a "
        "longer limit may pick another plan of the same cost; raise --time-limit to rank them"
    )


def _spot_loss_warning(plan: Plan) -> str | None:
    """routing: gateway-api with spot allocations: the HTTPRoute's weights are static, so a spot
    loss fails the share of the backends whose allocations all run on spot until replacements
    are ready; say so (the plan cannot keep the SLO through it, whatever its spare capacity). A
    spot allocation behind one Service with on-demand allocations of its shape loses nothing
    (:mod:`scaleplan.kube.backends`)."""
    from scaleplan.kube.backends import (
        backend_weights,
        backends,
        losable,
        request_shares,
        spot_loss_share,
    )
    from scaleplan.kube.weights import class_routed

    if plan.spec.kubernetes.routing != "gateway-api":
        return None
    share = spot_loss_share(plan)
    if share <= 0:
        return None
    shares, weights = request_shares(plan), backend_weights(plan)
    routed = class_routed(plan)  # a rule per class: the share of requests its rules send
    names = ", ".join(
        f"{' + '.join(b.members)} "
        + (f"({shares[b.service]:.0%} of requests)" if routed else f"(weight {weights[b.service]})")
        for b in backends(plan)
        if losable(plan, b) and shares.get(b.service, 0.0) > 0
    )
    return (
        f"routing: gateway-api: the HTTPRoute's static weights send {share:.0%} of requests to "
        f"backends with only spot allocations ({names}); "
        "when the spot capacity is reclaimed those requests fail until replacement pods are ready, so this plan does not hold "
        "the SLO through a spot loss (scaleplan simulate --fail spot shows the failures). Use routing: inference-pool (a lost "
        "allocation drops out of the pool) or routing: service, or set placement.spot.allowed: false"
    )


def assemble_plan(
    pb: Problem,
    best: Outcome,
    rps: Sequence[float],
    window_hours: float,
    allocs: Sequence[Allocation],
    comparison: tuple[Sequence[Alternative], Sequence[Baseline]],
    candidate_warnings: Sequence[str],
    explanation: Sequence[str],
    *,
    architecture: dict[str, object] | None = None,
    sanity: str | None = None,
    calibration: str | None = None,
    spot_loss: SpotLoss | None = None,
    points_unused: int = 0,
    profile_unused: ProfileUnused | None = None,
    unused_accelerators: tuple[UnusedAccelerator, ...] | None = None,
) -> Plan:
    """The hashed plan: costs, demand, allocations, binding constraints, comparison, warnings
    (and a config.json architecture's facts: ``llm_capacity.architecture_record``); ``sanity``:
    the plan-out-of-proportion warning (``scaleplan.solve.sanity``), first."""
    spec, options = pb.spec, pb.options
    alts, baselines = comparison
    mean_rps = sum(rps) / len(rps)
    cost = rounded(best.cost)
    gap = _gap(best)
    inputs = options.inputs or InputHashes(spec="", profile="")
    meta = PlanMeta(name=spec.metadata.name, scaleplan_version=__version__, plan_hash="", inputs=inputs)
    demand = Demand(
        windows=len(rps),
        window_hours=window_hours,
        rps=tuple(rps),
        headroom=spec.traffic.headroom,
        classes=dict(pb.classes) if spec.traffic.classes else {},
    )
    per_million = rounded(best.cost / (mean_rps * 3600) * 1e6, 4) if mean_rps > 0 else None
    llm_est = any(a.estimated and a.llm is not None for a in allocs) and not calibration
    unused = profile_unused if llm_est and spec.model.profile is not None else None
    warned = _warnings(
        best, allocs, candidate_warnings, gap, spec.model.profile is None, calibration,
        points_unused, unused,
    )
    plan = Plan(
        metadata=meta,
        status="optimal" if best.status == "optimal" else "feasible",
        solver=options.solver,
        gap=gap,
        cost_per_hour=cost,
        cost_per_month=rounded(cost * HOURS_PER_MONTH, 2),
        cost_per_million_requests=per_million,
        demand=demand,
        allocations=tuple(allocs),
        binding_constraints=tuple(binding(pb, best, rps)),
        alternatives=tuple(alts),
        baselines=tuple(baselines),
        warnings=(*([sanity] if sanity else []), *warned),
        explanation=tuple(explanation),
        spot_loss=spot_loss,
        unused_accelerators=unused_accelerators,
        spec=spec,
        architecture=architecture,
        profile_unused=unused,
    )
    spot_warning = _spot_loss_warning(plan)
    if spot_warning is not None:
        plan = plan.model_copy(update={"warnings": (*plan.warnings, spot_warning)})
    return hash_plan(plan)


def hash_plan(plan: Plan) -> Plan:
    """The plan with ``metadata.plan_hash`` set: SHA-256 of its YAML without the hash."""
    h = content_hash(plan)
    return plan.model_copy(update={"metadata": plan.metadata.model_copy(update={"plan_hash": h})})
