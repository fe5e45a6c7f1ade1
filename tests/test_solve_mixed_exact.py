"""routing: gateway-api, several request classes, no class_header, one window: the exact path.

The route sends every backend Service its weight's share W_g of every class, so a pod of
backend g carries sum_c W_g D_c / (pods_g cap_gc) = W_g D / (pods_g m_g), m_g the capacity for
the class mix: the plan is the one-class plan at capacities m_g (``static._one_window_mix``).
Here that is checked against brute force: every replica vector of two or three on-demand
types, feasible when some route weights W (>= 0, summing to 1) let every backend carry its
share with headroom and, under n+1, after losing any one of its pods. That is the continuous
relaxation of what render delivers (weights in proportion to capacity, integers out of 100), so
no plan may cost less, a plan proven optimal must cost exactly that, and every plan must hold
as the rendered route delivers it (``delivered_utilization``, per-class capacities).
"""

from __future__ import annotations

import itertools
import math
import random

import pytest
from solve_helpers import catalog, delivered_utilization, point, profile, row, spec

from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import build_candidates

FAST = SolveOptions(alternatives=False, time_limit=20)
GW = {"image": "example.com/svc:1.0", "routing": "gateway-api", "gateway": {"name": "gw"}}
TYPES = [("g6.xlarge", "L4", 0.8), ("g5.xlarge", "A10G", 1.0), ("g4dn.xlarge", "T4", 0.5)]


def _case(rng: random.Random) -> tuple[object, object, object, str]:
    ncls = rng.choice([2, 3])
    raw = [rng.uniform(0.1, 1) for _ in range(ncls)]
    shares = [round(s / sum(raw), 4) for s in raw]
    shares[-1] = round(1 - sum(shares[:-1]), 4)
    classes = [{"name": f"c{j}", "share": s} for j, s in enumerate(shares)]
    use = rng.sample(TYPES, 2)
    red = rng.choice(["none", "n+1"])
    spot = rng.choice([None, 0.2, 0.5])
    sp = spec(
        traffic={"peak_rps": rng.choice([40, 90, 150]), "headroom": 0.2, "classes": classes},
        slo={"latency_ms": 100, "percentile": 95},
        placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0,
                   "redundancy": red, "spot": {"allowed": spot is not None,
                                                "max_fraction": spot or 0.0}},
        kubernetes=GW,
    )
    pts = [
        point(acc, 8, 20.0, rng.uniform(10, 60), request_class=c["name"])
        for _, acc, _ in use for c in classes
    ]
    cat = catalog(*[row(it, acc, 1, price, spot=round(price * 0.4, 2)) for it, acc, price in use])
    return sp, profile(*pts), cat, red


def _brute_force(cands: list, sp: object, red: str) -> float:
    """The cheapest on-demand and spot pods per accelerator (one backend Service each: a
    shape's spot and on-demand pods share it) that hold as the route delivers them, its
    weights in proportion to capacity (render's, before rounding to integers): with S the
    pods' capacity for the mix, S >= D (1 + h); n+1: a backend of P pods sent D P m / S keeps
    it on P - 1 pods, D P <= (P - 1) S; spot pods get their backend's weight times their
    share of its pods, so their capacity is at most spot.max_fraction of S."""
    d, h = sp.traffic.peak_rps, sp.traffic.headroom  # type: ignore[attr-defined]
    f = sp.placement.spot.max_fraction  # type: ignore[attr-defined]
    mix = [(c.name, c.share) for c in sp.traffic.classes]  # type: ignore[attr-defined]
    shapes: dict[str, dict[str, float]] = {}
    mcap: dict[str, float] = {}
    for c in cands:  # capacity for the mix, floored to 4 decimals as the plan states it
        m = 1 / sum(s / c.cap(cl) for cl, s in mix)
        mcap[c.accelerator] = math.floor(m * 10_000 + 1e-9) / 10_000
        shapes.setdefault(c.accelerator, {})[c.capacity_type] = c.price
    options = []  # per shape: (cost, pods, spot pods, capacity for the mix)
    for acc, prices in shapes.items():
        # more on-demand pods of a shape than it needs alone never pay (it alone is then no
        # dearer), nor, with max_fraction <= 0.5, more spot pods
        top = math.ceil(d * (1 + h) / mcap[acc]) + (red == "n+1")
        # (a shape may lack a row: the catalog may price one capacity type only)
        options.append([
            (od * prices.get("on-demand", 0.0) + n * prices.get("spot", 0.0), od + n, n, mcap[acc])
            for od in range(top + 1 if "on-demand" in prices else 1)
            for n in range(top + 1 if "spot" in prices else 1)
        ])
    best = math.inf
    for pick in itertools.product(*options):
        cost = sum(p[0] for p in pick)
        total = sum(p[1] * p[3] for p in pick)
        if cost >= best or total < d * (1 + h) - 1e-9:
            continue
        if red == "n+1" and any(d * p[1] > (p[1] - 1) * total + 1e-9 for p in pick if p[1]):
            continue
        if sum(p[2] * p[3] for p in pick) <= f * total + 1e-9:
            best = cost
    return best


@pytest.mark.parametrize("seed", range(3))
def test_one_window_mixed_stream_plan_is_the_brute_force_optimum(seed: int) -> None:
    rng = random.Random(seed)
    optimal = 0
    for _ in range(8):
        sp, prof, cat, red = _case(rng)
        cands, diag = build_candidates(sp, prof, cat)  # type: ignore[arg-type]
        plan = solve(sp, prof, cat, options=FAST).plan  # type: ignore[arg-type]
        best = _brute_force(diag.unpruned, sp, red)  # before pruning: independent of it
        assert plan.cost_per_hour >= best - 1e-6
        if plan.status == "optimal":
            optimal += 1
            assert plan.cost_per_hour == pytest.approx(best, abs=1e-6)
        assert max(delivered_utilization(plan, cands).values()) <= 1 + 1e-9
        for a in plan.allocations:  # the route's share, the same for every class
            assert len(set(a.routing.values())) == 1
    assert optimal >= 6  # rounding the route's weights to integers may cost a few
