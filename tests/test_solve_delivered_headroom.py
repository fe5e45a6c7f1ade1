"""traffic.headroom as the gateway-api HTTPRoute delivers it: every backend Service, at its
rendered integer weight, gets at most capacity / (1 + headroom) of its pods' capacity."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from solve_helpers import catalog, point, profile, row, spec

from scaleplan.catalog.model import Catalog
from scaleplan.errors import InfeasibleError
from scaleplan.kube.backends import backend_weights, backends
from scaleplan.kube.weights import peak_window
from scaleplan.plan import Plan
from scaleplan.profile.model import Profile
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import build_candidates
from scaleplan.solve.diagnose import serving_candidates
from scaleplan.solve.problem import Problem, demand_windows
from scaleplan.solve.replan import replan_static
from scaleplan.solve.search import search_windows
from scaleplan.spec import Spec

FAST = SolveOptions(alternatives=False)
GATEWAY = {"image": "example.com/svc:1.0", "routing": "gateway-api", "gateway": {"name": "gw"}}


def over_headroom(plan: Plan) -> list[tuple[int, str, float]]:
    """(window, Service, load x (1 + headroom) / capacity) where a backend Service's share of
    the demand at its integer weight, with headroom, is more than its pods' capacity."""
    h, by = plan.spec.traffic.headroom, {a.name: a for a in plan.allocations}
    weights = backend_weights(plan)
    total = sum(weights.values())
    out = []
    for w, d in enumerate(plan.demand.rps):
        for b in backends(plan):
            cap = sum(
                by[m].replicas_per_window[w] * by[m].capacity_rps_per_replica for m in b.members
            )
            load = d * weights[b.service] / total
            if load > 0 and load * (1 + h) > cap + 1e-6:
                out.append((w, b.service, round(load * (1 + h) / cap, 4)))
    return out


def _spec(traffic: dict[str, Any], **placement: Any) -> Spec:
    pl = {"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, **placement}
    return spec(
        traffic=traffic, slo={"latency_ms": 100, "percentile": 95}, placement=pl,
        kubernetes=GATEWAY,
    )


def test_single_window_rounded_up_weight_keeps_headroom() -> None:
    """13 A10G (508.25 rps each) + 2 T4 (431.3) hold 6754 rps x 1.1 in capacity ($17.40/h),
    but the T4 Service's 11.55 % of it rounds up to weight 12: 810 rps x 1.1 = 892 on 863 of
    capacity (94 % busy where headroom 0.1 allows 91 %). Now 15 A10G behind one Service, the
    same $17.40/h, holds headroom at its weight (100) and is proven optimal."""
    cat = catalog(
        row("g5.xlarge", "A10G", 1, 1.16), row("g4dn.xlarge", "T4", 1, 1.16),
        row("g6.xlarge", "L4", 1, 0.49),
    )
    prof = profile(
        point("A10G", 8, 20.0, 535.0), point("T4", 8, 20.0, 454.0), point("L4", 8, 20.0, 176.0)
    )
    sp = _spec({"peak_rps": 6754.0, "headroom": 0.1}, min_replicas=2)
    plan = solve(sp, prof, cat, options=FAST).plan
    assert over_headroom(plan) == []
    assert plan.cost_per_hour == pytest.approx(17.40)
    assert plan.status == "optimal" and plan.gap == 0.0


def test_single_window_headroom_fix_costs_and_says_so() -> None:
    """4 T4 (one 4-GPU node, 462.65 rps each) + 2 L4 (424.65) hold 2454 rps x 1.1 by 0.5 rps
    ($6.93/h); the T4 Service's 68.55 % rounds to 69, 0.65 % over its headroom. 4 T4 + 3 L4
    ($8.15/h) hold it at the integer weights (59/41); the search cannot prove that optimal, so
    the plan is feasible, its gap measured from $6.93/h, and a warning says why."""
    cat = catalog(row("g6.xlarge", "L4", 1, 1.22), row("g4dn.xlarge", "T4", 4, 4.49))
    prof = profile(point("L4", 8, 20.0, 447.0), point("T4", 8, 20.0, 487.0))
    plan = solve(_spec({"peak_rps": 2454.0, "headroom": 0.1}), prof, cat, options=FAST).plan
    assert over_headroom(plan) == []
    assert plan.cost_per_hour == pytest.approx(8.15)
    assert plan.status == "feasible"
    assert plan.gap == pytest.approx(1 - 6.93 / plan.cost_per_hour, abs=1e-4)
    assert any(w.startswith("traffic.headroom as the HTTPRoute delivers it") for w in plan.warnings)


_ACCS = (("g6.xlarge", "L4"), ("g5.xlarge", "A10G"), ("g4dn.xlarge", "T4"))


def _random_case(rng: random.Random) -> tuple[Spec, Profile, Catalog]:
    """A small gateway-api case: one to three shapes of near price per rps, 1-4 GPUs a node,
    spot or not, none / n+1 / zone, min_replicas, one window or (30 %) 24 hourly ones."""
    rows, points = [], []
    spot = rng.random() < 0.6
    for itype, acc in rng.sample(_ACCS, rng.choice([1, 2, 3])):
        rps, gpus = rng.randint(150, 600), rng.choice([1, 1, 2, 4])
        price = round(gpus * rps / 400 * rng.uniform(0.85, 1.15), 2)
        spot_price = round(price * rng.uniform(0.3, 0.7), 2) if spot else None
        rows.append(row(itype, acc, gpus, price, spot=spot_price))
        points.append(point(acc, 8, 20.0, rps))
    headroom = rng.choice([0.1, 0.2, 0.3])
    if rng.random() < 0.3:
        base = rng.uniform(200, 1000)
        hourly = [round(base * rng.randint(1, 4)) for _ in range(24)]
        traffic: dict[str, Any] = {"peak_rps": None, "hourly_rps": hourly, "headroom": headroom}
    else:
        traffic = {"peak_rps": round(rng.uniform(100, 3000) * len(rows)), "headroom": headroom}
    f, survive = rng.choice([0.2, 0.5, 0.8]), spot and rng.random() < 0.4
    sp = _spec(
        traffic, min_replicas=rng.choice([0, 0, 2, 3]),
        redundancy=rng.choice(["none", "n+1", "zone"]),
        spot={"allowed": spot, "max_fraction": f, "survive_loss": survive},
    )
    return sp, profile(*points), catalog(*rows)


def _routing_off(plan: Plan) -> list[tuple[str, float, float]]:
    """Hourly: (allocation, its recorded routing share, what render delivers to it at the
    peak: its backend's integer weight x its share of the backend's pods) where they differ."""
    by, pw = {a.name: a for a in plan.allocations}, peak_window(plan.demand.rps)
    weights = backend_weights(plan)
    total, out = sum(weights.values()), []
    for b in backends(plan):
        pods = sum(by[m].replicas_per_window[pw] for m in b.members)
        for m in b.members:
            got = sum(by[m].routing.values())
            want = weights[b.service] / total * by[m].replicas_per_window[pw] / pods
            if abs(got - want) > 1e-4:
                out.append((m, got, want))
    return out


def test_random_gateway_plans_keep_headroom_at_their_integer_weights() -> None:
    """200 random small cases (the kind of probe this change was measured with): before it, 7
    of them ran a backend over capacity / (1 + headroom) at its integer weight (35 of 1000 in
    the probe, all single-window, by 0.2-9 %): none does, in any window. And each hourly
    plan's recorded routing is what render delivers at the peak (3 of its 50 hourly plans
    recorded the capacity shares before, a fraction of a point off the integer weights)."""
    over, off = [], []
    for seed in range(200):
        sp, prof, cat = _random_case(random.Random(seed))
        try:
            plan = solve(sp, prof, cat, options=FAST).plan
        except InfeasibleError:
            continue
        if bad := over_headroom(plan):
            over.append((seed, bad))
        if sp.traffic.hourly_rps and (bad_routing := _routing_off(plan)):
            off.append((seed, bad_routing))
    assert over == [] and off == []


def test_hourly_routing_is_what_render_writes_after_the_min_replicas_top_up() -> None:
    """The static re-plan from 1 A10G + 1 L4: the stable peak is 4 A10G + 3 L4 (capacity
    shares 54/46) and min_replicas 8 tops the largest share up to 5 + 3, whose capacity
    render weighs 60/40. The plan recorded 54/46 (the split before the top-up); it now
    records the weights render writes, and its peak shares are those of 5 + 3."""
    levels = [4, 1, 1, 2, 1, 1, 1, 3, 1, 3, 3, 3, 4, 3, 2, 4, 3, 2, 3, 3, 3, 2, 3, 3]
    hourly = {"peak_rps": None, "hourly_rps": [500.0 * x for x in levels], "headroom": 0.2}
    sp = _spec(hourly, min_replicas=8)
    cat = catalog(row("g5.xlarge", "A10G", 1, 0.82), row("g6.xlarge", "L4", 1, 0.88))
    prof = profile(point("A10G", 8, 20.0, 357.0), point("L4", 8, 20.0, 398.0))
    rps, _ = demand_windows(sp)
    pb = Problem.of(sp, FAST)
    cands, _ = build_candidates(sp, prof, cat, max_util=None, spec_dir=".")
    cands = serving_candidates(pb, cands, rps)
    dyn = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
    out, reason = replan_static(pb, dyn, rps, [1, 1])
    assert reason is None
    peak = out.sols[peak_window(rps)]
    assert peak.replicas == [5, 3]
    assert peak.routing[0] == pytest.approx([0.6, 0.4])
    caps = [r * (pb.mixed_capacity(c) or 0.0) for r, c in zip(peak.replicas, cands, strict=True)]
    assert out.shares == pytest.approx([v / sum(caps) for v in caps])
