"""Random ``kubernetes.class_header`` cases over a daily curve, checked hour by hour as the
rendered HTTPRoute's per-class rules deliver them, and priced against the class-blind route
over the same curve. Not a speed benchmark.

Each case is :func:`mixed_stream_sweep.case` (two or three classes, two or three of L4 / A10G /
T4, spot.max_fraction, redundancy, survive_loss, min_replicas, 300 / 1000 / 2500 rps at peak)
with ``class_header: X-Request-Class`` and a daily curve: the peak times a factor per hour
drawn from 0.1-1 (one hour at 1). Every hour of the plan is checked as the route delivers it:
class c's rule sends backend Service b the share W_cb / sum_b W_cb of class c
(``kube.backends.backend_class_weights``, fixed all day), spread evenly over b's pods of that
hour (``replicas_per_window``), so a pod carries sum_c W_cb D_w s_c / (pods_bw cap_bc) of its
capacity: that times (1 + headroom), and over the pods left after losing its largest node
(n+1), what its nodes put in the first zone (zone) or its spot pods (survive_loss). Above 1:
overloaded as delivered. The spot share of requests (sum_c s_c sum_b W_cb spot_bw / pods_bw)
is checked against max_fraction, and every hour's pods against min_replicas. Costs: the plan,
its bound (the per-hour per-class optimum, ``plan.bound``) and the class-blind plan of the
same case (no ``class_header``). ``--simulate``: ``scaleplan simulate`` of the plan at its peak
hour and its quietest hour; a case that misses the SLO is also simulated as the class-blind
plan at the same hours, so a miss that is the simulator's (it misses both) reads apart from
one of the class rules.

    python bench/class_header_curve_sweep.py [--cases 100] [--seed 7] [--simulate]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaleplan.errors import InfeasibleError
from scaleplan.inputs import shipped_accelerators
from scaleplan.kube.backends import backend_class_weights, backends
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import Candidate, build_candidates
from scaleplan.spec import Spec

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

FAST = SolveOptions(alternatives=False, time_limit=20)
HDR = "X-Request-Class"


def _mixed_stream_sweep() -> Any:
    path = Path(__file__).with_name("mixed_stream_sweep.py")
    spec = importlib.util.spec_from_file_location("mixed_stream_sweep", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("mixed_stream_sweep", mod)
    spec.loader.exec_module(mod)
    return mod


def curve_case(rng: random.Random) -> tuple[Spec, Spec, Any, Any]:
    """(the class_header spec, the same spec class-blind, profile, catalog)."""
    sp, prof, cat = _mixed_stream_sweep().case(rng)
    peak = float(sp.traffic.peak_rps or 0.0)
    factors = [round(rng.uniform(0.1, 1.0), 3) for _ in range(24)]
    factors[rng.randrange(24)] = 1.0
    data = sp.model_dump(mode="json", exclude_none=True)
    data["traffic"].pop("peak_rps")
    data["traffic"]["hourly_rps"] = [round(peak * f, 3) for f in factors]
    blind = Spec.model_validate(data)
    data["kubernetes"]["class_header"] = HDR
    return Spec.model_validate(data), blind, prof, cat


def _cand(cands: list[Candidate], a: Any) -> Candidate:
    return next(
        c for c in cands
        if (c.row.instance_type, c.capacity_type, c.gpus_per_replica, c.row.region)
        == (a.instance_type, a.capacity_type, a.gpus_per_replica, a.region)
    )


def hourly_delivered(plan: Any, cands: list[Candidate]) -> tuple[float, str, float, int]:
    """(the worst pod utilization over every hour and backend, its backend, the largest spot
    share of requests in any hour, the hours below min_replicas) as the class rules deliver
    each hour's demand (the module's oracle; inf: no pod left, or a class it cannot serve)."""
    by = {a.name: a for a in plan.allocations}
    weights = backend_class_weights(plan)
    pl, h = plan.spec.placement, plan.demand.headroom
    total = sum(plan.demand.classes.values()) or 1.0
    worst, where, spot_max, short = 0.0, "", 0.0, 0
    spot_only: set[str] = set()
    for w, d in enumerate(plan.demand.rps):
        short += sum(a.replicas_per_window[w] for a in plan.allocations) < pl.min_replicas
        spot_share = 0.0
        for b in backends(plan):
            ms = [by[m] for m in b.members]
            pods = sum(a.replicas_per_window[w] for a in ms)
            spot = sum(a.replicas_per_window[w] for a in ms if a.capacity_type == "spot")
            c = _cand(cands, ms[0])
            need = 0.0
            for cl, s in plan.demand.classes.items():
                cw = weights[cl]
                share = cw.get(b.service, 0) / (sum(cw.values()) or 1)
                if share > 0 and d > 0:
                    cap = c.cap(cl)
                    need += share * d * s / total / cap if cap else float("inf")
                    spot_share += s / total * share * (spot / pods if pods else 0.0)
            if need <= 0:
                continue
            lost = []
            if pl.redundancy == "n+1":
                lost.append(max(min(a.replicas_per_node, a.replicas_per_window[w]) for a in ms))
            if pl.redundancy == "zone":
                lost.append(sum(
                    min(a.replicas_per_node, a.replicas_per_window[w] - j * a.replicas_per_node)
                    for a in ms
                    for j in range(0, a.nodes_per_window[w], max(len(a.zones), 1))
                ))
            if pl.spot.survive_loss and spot < pods:  # spot only: warned, not counted
                lost.append(spot)
            elif pl.spot.survive_loss and spot:
                spot_only.add(b.service)
            u = need / pods * (1 + h) if pods else float("inf")
            for n in lost:
                u = max(u, need / (pods - n) if pods > n else float("inf"))
            if u > worst:
                worst, where = u, f"hour {w} {b.service}"
        spot_max = max(spot_max, spot_share)
    return worst, where, spot_max, short


@dataclass
class Summary:
    cases: int = 0
    infeasible: int = 0
    blind_infeasible: int = 0
    overloaded: list[tuple[int, str, float]] = field(default_factory=list)
    worst: tuple[float, int, str] = (0.0, -1, "")
    spot_over: list[tuple[int, float, float]] = field(default_factory=list)
    below_min: list[int] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    gaps: list[float] = field(default_factory=list)  # plan.gap: (cost - bound) / cost
    gaps_by: dict[str, list[float]] = field(default_factory=dict)  # the same per redundancy
    vs_blind: list[float] = field(default_factory=list)  # plan over the class-blind plan, - 1
    simulated: int = 0
    sim_missed: list[tuple[int, float, bool]] = field(default_factory=list)  # case, attain, blind

    def lines(self) -> list[str]:
        u, i, b = self.worst
        gaps, blind = sorted(self.gaps), sorted(self.vs_blind)

        def pct(v: list[float]) -> str:
            if not v:
                return "none"
            return (f"median {statistics.median(v):+.2%}, mean {statistics.fmean(v):+.2%}, "
                    f"min {v[0]:+.2%}, max {v[-1]:+.2%}")

        return [
            f"cases {self.cases}: solved {self.cases - self.infeasible}, infeasible "
            f"{self.infeasible} (class-blind infeasible {self.blind_infeasible})",
            f"overloaded as delivered in some hour: {len(self.overloaded)} "
            f"(worst utilization {u:.4f}, case {i}, {b})",
            *[f"  case {i} {b}: {u:.4f}" for i, b, u in self.overloaded],
            f"spot share of requests over max_fraction in some hour: {len(self.spot_over)}",
            *[f"  case {i}: {s:.4f} > {f}" for i, s, f in self.spot_over],
            f"hours below min_replicas: {len(self.below_min)} case(s) {self.below_min}",
            "statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(self.statuses.items())),
            f"gap to the per-hour per-class bound, (cost - bound) / cost ({len(gaps)}): "
            f"{pct(gaps)}",
            *[f"  redundancy {r} ({len(v)}): {pct(sorted(v))}"
              for r, v in sorted(self.gaps_by.items())],
            f"cost against the class-blind plan ({len(blind)} with both): {pct(blind)}",
            *([f"simulated at the peak and quietest hour: {self.simulated}, SLO missed in "
               f"{len(self.sim_missed)}"] if self.simulated else []),
            *[f"  case {i}: attainment {a:.4f}; the class-blind plan misses it too: {b}"
              for i, a, b in self.sim_missed],
        ]


def _simulated(plan: Any) -> tuple[bool, float]:
    """``simulate`` of ``plan`` at its peak and its quietest hour: (SLO met, attainment)."""
    from scaleplan.kube.weights import peak_window
    from scaleplan.simulate import simulate

    rps = plan.demand.rps
    low = min(range(len(rps)), key=lambda h: (rps[h], h))
    res = simulate(plan, windows=(peak_window(rps), low), accelerators=ACCS)
    return res.meets_slo, res.attainment


def sweep(cases: int, seed: int, sim: bool = False) -> Summary:
    rng = random.Random(seed)
    s = Summary()
    for i in range(cases):
        sp, blind_sp, prof, cat = curve_case(rng)
        s.cases += 1
        try:
            plan = solve(sp, prof, cat, options=FAST).plan
        except InfeasibleError:
            s.infeasible += 1
            continue
        s.statuses[plan.status] += 1
        cands, _ = build_candidates(sp, prof, cat)
        u, where, spot, short = hourly_delivered(plan, cands)
        if u > s.worst[0]:
            s.worst = (u, i, where)
        if u > 1 + 1e-6:
            s.overloaded.append((i, where, u))
        if spot > sp.placement.spot.max_fraction + 1e-9:
            s.spot_over.append((i, spot, sp.placement.spot.max_fraction))
        if short:
            s.below_min.append(i)
        if plan.cost_per_hour > 0:
            s.gaps.append(plan.gap or 0.0)
            s.gaps_by.setdefault(sp.placement.redundancy, []).append(plan.gap or 0.0)
        try:
            blind = solve(blind_sp, prof, cat, options=FAST).plan
        except InfeasibleError:
            s.blind_infeasible += 1
            continue
        s.vs_blind.append(plan.cost_per_hour / blind.cost_per_hour - 1)
        if sim:
            s.simulated += 1
            met, attain = _simulated(plan)
            if not met:
                s.sim_missed.append((i, attain, not _simulated(blind)[0]))
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--simulate", action="store_true")
    args = ap.parse_args()
    flag = " --simulate" if args.simulate else ""
    print(f"class_header_curve_sweep --cases {args.cases} --seed {args.seed}{flag}")
    for line in sweep(args.cases, args.seed, args.simulate).lines():
        print(line)


if __name__ == "__main__":
    main()
