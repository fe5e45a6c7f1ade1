"""Random one-window multi-class ``routing: gateway-api`` cases (no ``class_header``), checked
as the rendered HTTPRoute delivers them. Not a speed benchmark.

Each case: two or three request classes (shares drawn), two or three of L4 / A10G / T4 with a
capacity drawn per class (50-500 rps at batch 8, 20 ms p95), spot.max_fraction 0 / 0.2 / 0.5 / 1,
redundancy none / n+1 / zone, survive_loss (30 %), min_replicas 0 / 3, 300 / 1000 / 2500 rps,
headroom 0.2. Every plan is checked as render delivers it: the route sends backend Service b
the share W_b / sum W of EVERY class (``kube.backends.backend_weights``), spread evenly over
its pods, so a pod carries sum_c W_b D_c / (pods_b cap_bc) of its capacity; that times
(1 + headroom), and that load over the pods left after losing its largest node (n+1), what its
nodes put in the first zone (zone) or its spot pods (survive_loss). Above 1: overloaded as
delivered. The spot share of requests (sum_b W_b spot_b / pods_b) is checked against
max_fraction. The generator is the one behind docs/optimizer.md's "400 random one-window
cases" (seed 7).

    python bench/mixed_stream_sweep.py [--cases 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scaleplan.catalog.files import load_accelerators
from scaleplan.catalog.model import Catalog, InstanceRow
from scaleplan.errors import InfeasibleError
from scaleplan.kube.backends import backend_weights, backends, request_shares
from scaleplan.profile.model import Profile
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import Candidate, build_candidates
from scaleplan.spec import Spec

FAST = SolveOptions(alternatives=False, time_limit=20)
# instance type, accelerator, on-demand and spot $/h
TYPES = [("g6.xlarge", "L4", 1.0, 0.4), ("g5.xlarge", "A10G", 1.2, 0.5),
         ("g4dn.xlarge", "T4", 0.55, 0.2)]


def _point(acc: str, rps: float, cls: str) -> dict[str, Any]:
    lat = {"p50": 16.0, "p90": 19.0, "p95": 20.0, "p99": 24.0}
    return {"device": "cuda:0", "accelerator": acc, "batch_size": 8, "latency_ms": lat,
            "throughput_rps": rps, "request_class": cls}


def _row(itype: str, acc: str, price: float, spot: float) -> InstanceRow:
    return InstanceRow(provider="aws", region="us-east-1", instance_type=itype,
                       family=itype.split(".")[0], accelerator=acc, accelerator_count=1, vcpus=8,
                       memory_gib=32.0, price_ondemand=price, price_spot=spot, zones=(),
                       fetched_at="2026-11-29")


def case(rng: random.Random) -> tuple[Spec, Profile, Catalog]:
    """One random case (the draws in this order keep seed 7's 400 cases those of the docs)."""
    ncls = rng.choice([2, 3])
    raw = [rng.uniform(0.1, 1) for _ in range(ncls)]
    classes = [{"name": f"c{j}", "share": round(s / sum(raw), 6)} for j, s in enumerate(raw)]
    classes[-1]["share"] = round(1 - sum(float(c["share"]) for c in classes[:-1]), 6)
    use = rng.sample(TYPES, rng.choice([2, 3]))
    pts = [_point(acc, rng.uniform(50, 500), str(c["name"])) for _, acc, _, _ in use
           for c in classes]
    f = rng.choice([0.0, 0.2, 0.5, 1.0])
    red = rng.choice(["none", "n+1", "zone"])
    sp = Spec.model_validate({
        "apiVersion": "scaleplan/v1", "kind": "InferenceService", "metadata": {"name": "svc"},
        "model": {"profile": "profile.yaml"},
        "traffic": {"peak_rps": rng.choice([300, 1000, 2500]), "headroom": 0.2,
                    "classes": classes},
        "slo": {"latency_ms": 100, "percentile": 95},
        "placement": {"providers": ["aws"], "regions": ["us-east-1"],
                      "min_replicas": rng.choice([0, 3]), "redundancy": red,
                      "spot": {"allowed": True, "max_fraction": f,
                               "survive_loss": rng.random() < 0.3}},
        "kubernetes": {"image": "example.com/svc:1.0", "routing": "gateway-api",
                       "gateway": {"name": "gw"}},
    })
    prof = Profile.model_validate({"metadata": {"model": "m"}, "measurements": pts})
    cat = Catalog(accelerators=load_accelerators(),
                  rows=tuple(_row(it, acc, p, s) for it, acc, p, s in use))
    return sp, prof, cat


def delivered_utilization(plan: Any, cands: Sequence[Candidate]) -> dict[str, float]:
    """Per backend Service, the worst utilization of its pods as the rendered class-blind
    HTTPRoute delivers one window's demand: its share W_b / sum W of every class over its
    pods at the candidate's per-class capacities, times (1 + headroom), and over the pods
    left after its n+1 / zone / survive_loss loss (inf: none left, or a class it does not
    serve). The tests' oracle too (tests/solve_helpers.delivered_utilization loads it)."""

    def cand(a: Any) -> Candidate:
        return next(
            c for c in cands
            if (c.row.instance_type, c.capacity_type, c.gpus_per_replica, c.row.region)
            == (a.instance_type, a.capacity_type, a.gpus_per_replica, a.region)
        )

    by = {a.name: a for a in plan.allocations}
    weights = backend_weights(plan)
    total, pl, (d,) = sum(weights.values()), plan.spec.placement, plan.demand.rps
    classes = plan.demand.classes or {"default": 1.0}
    out: dict[str, float] = {}
    for b in backends(plan):
        ms = [by[m] for m in b.members]
        pods = sum(a.replicas for a in ms)
        if pods == 0 or weights[b.service] == 0:
            continue
        c = cand(ms[0])  # one backend, one serving shape: one capacity per class
        share = weights[b.service] / total
        need = sum(share * d * s / c.cap(cl) if c.cap(cl) else float("inf")
                   for cl, s in classes.items())
        lost = []
        if pl.redundancy == "n+1":
            lost.append(max(min(a.replicas_per_node, a.replicas) for a in ms))
        if pl.redundancy == "zone":
            lost.append(sum(min(a.replicas_per_node, a.replicas - j * a.replicas_per_node)
                            for a in ms for j in range(0, a.nodes, max(len(a.zones), 1))))
        if pl.spot.survive_loss:
            lost.append(sum(a.replicas for a in ms if a.capacity_type == "spot"))
        worst = need / pods * (1 + plan.demand.headroom)
        for n in lost:
            worst = max(worst, need / (pods - n) if pods > n else float("inf"))
        out[b.service] = worst
    return out


def spot_request_share(plan: Any) -> float:
    """The share of requests the class-blind route sends to spot pods: sum_b W_b spot_b / pods_b
    (W_b / sum W: ``kube.backends.request_shares``)."""
    shares = request_shares(plan)
    by = {a.name: a for a in plan.allocations}
    share = 0.0
    for b in backends(plan):
        pods = sum(by[m].replicas for m in b.members)
        spot = sum(by[m].replicas for m in b.members if by[m].capacity_type == "spot")
        if pods:
            share += shares[b.service] * spot / pods
    return share


@dataclass
class Summary:
    cases: int = 0
    infeasible: int = 0
    overloaded: list[tuple[int, str, float]] = field(default_factory=list)  # case, backend, u
    worst: tuple[float, int, str] = (0.0, -1, "")  # utilization, case, backend
    spot_over: list[tuple[int, float, float]] = field(default_factory=list)  # case, share, max
    statuses: Counter[str] = field(default_factory=Counter)
    one_share: bool = True  # every allocation's routing is one share for all classes

    def lines(self) -> list[str]:
        solved = self.cases - self.infeasible
        not_optimal = sum(n for s, n in self.statuses.items() if s != "optimal")
        u, i, b = self.worst
        out = [
            f"cases {self.cases}: solved {solved}, infeasible {self.infeasible}",
            f"overloaded as delivered: {len(self.overloaded)} "
            f"(worst utilization {u:.4f}, case {i}, backend {b})",
            *[f"  case {i} backend {b}: {u:.4f}" for i, b, u in self.overloaded],
            f"spot share of requests over max_fraction: {len(self.spot_over)}",
            *[f"  case {i}: {s:.4f} > {f}" for i, s, f in self.spot_over],
            "statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(self.statuses.items())),
            f"not proven optimal: {not_optimal}",
            f"one routing share for all classes in every allocation: {self.one_share}",
        ]
        return out


def sweep(cases: int, seed: int) -> Summary:
    rng = random.Random(seed)
    s = Summary()
    for i in range(cases):
        sp, prof, cat = case(rng)
        s.cases += 1
        try:
            plan = solve(sp, prof, cat, options=FAST).plan
        except InfeasibleError:
            s.infeasible += 1
            continue
        s.statuses[plan.status] += 1
        cands, _ = build_candidates(sp, prof, cat)
        for b, u in delivered_utilization(plan, cands).items():
            if u > s.worst[0]:
                s.worst = (u, i, b)
            if u > 1 + 1e-6:
                s.overloaded.append((i, b, u))
        share, f = spot_request_share(plan), sp.placement.spot.max_fraction
        if share > f + 1e-9:
            s.spot_over.append((i, share, f))
        s.one_share &= all(len(set(a.routing.values())) == 1 for a in plan.allocations)
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    print(f"mixed_stream_sweep --cases {args.cases} --seed {args.seed}")
    for line in sweep(args.cases, args.seed).lines():
        print(line)


if __name__ == "__main__":
    main()
