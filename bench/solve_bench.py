"""Optimizer benchmark: full shipped catalog x 24 windows x 3 classes x n+1 x spot.

Both routing modes (service: even split, the default; gateway-api: weighted). Prints the median
solve time (main plan only, no alternatives), wall and CPU (this process, HiGHS's threads
included: steadier than wall time on a busy machine), and its status, then how it grows with 1,
24 and 168 windows, with the catalog repeated x4 (copies in renamed regions) and with zone
redundancy instead of n+1.

    python bench/solve_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

from scaleplan.catalog.files import load_catalog
from scaleplan.catalog.model import Catalog
from scaleplan.profile.model import Profile
from scaleplan.solve import SolveOptions, solve_demand
from scaleplan.spec import Spec

CLASSES = (("short", 0.6, 1.0), ("medium", 0.3, 2.5), ("long", 0.1, 8.0))


def synthetic_profile(cat: Catalog) -> Profile:
    """One point per (accelerator, class, batch) scaled from each accelerator's FP16 TFLOPS."""
    ms = []
    for a in cat.accelerators:
        speed = (a.fp16_tflops or a.bf16_tflops or 50.0) / 100.0
        for cls, _, cost in CLASSES:
            for batch in (1, 8):
                lat = cost * 20.0 / speed * (1 + 0.4 * (batch - 1))
                ms.append({"device": "estimate", "accelerator": a.name, "batch_size": batch, "request_class": cls, "latency_ms": {"p50": lat, "p90": lat * 1.1, "p95": lat * 1.2, "p99": lat * 1.4}, "throughput_rps": 1000 * batch / lat, "source": "estimated"})
    return Profile.model_validate({"metadata": {"model": "bench"}, "measurements": ms})


def spec(redundancy: str = "n+1", routing: str = "service", flavor: str = "generic") -> Spec:
    # flavor eks-karpenter: aws only, one region per plan (a search per region, solve.core)
    providers = ["aws"] if flavor != "generic" else ["aws", "gcp", "azure"]
    return Spec.model_validate({
        "apiVersion": "scaleplan/v1", "kind": "InferenceService", "metadata": {"name": "bench"}, "model": {"profile": "p"},
        "traffic": {"peak_rps": 500, "headroom": 0.2, "classes": [{"name": c, "share": s} for c, s, _ in CLASSES]},
        "slo": {"latency_ms": 2000, "percentile": 95},
        "placement": {"providers": providers, "redundancy": redundancy, "spot": {"allowed": True, "max_fraction": 0.5}, "min_replicas": 2},
        "kubernetes": {"image": "example.com/bench:1", "flavor": flavor, "routing": routing, **({"gateway": {"name": "gw"}} if routing == "gateway-api" else {})},
    })


def curve(windows: int) -> list[float]:
    """Distinct demand per window: a daily sine with a slow weekly drift (no two equal)."""
    return [round(300 + 200 * math.sin(2 * math.pi * (w % 24) / 24) + 0.37 * w, 3) for w in range(windows)]


def times4(cat: Catalog) -> Catalog:
    rows = list(cat.rows)
    for i in range(1, 4):
        rows += [r.model_copy(update={"region": f"{r.region}-copy{i}"}) for r in cat.rows]
    return Catalog(accelerators=cat.accelerators, rows=tuple(rows))


def run(cat: Catalog, windows: int, repeat: int, redundancy: str = "n+1", routing: str = "service", flavor: str = "generic") -> tuple[float, float, str, int, float, float]:
    sp, prof = spec(redundancy, routing, flavor), synthetic_profile(cat)
    rps = curve(windows)
    times, cpus, status, cands, gap, cost = [], [], "", 0, 0.0, 0.0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = solve_demand(sp, prof, cat, rps, 24.0 / windows, options=SolveOptions(alternatives=False, time_limit=600))
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        status, cands, gap, cost = res.plan.status, res.candidates, res.plan.gap or 0.0, res.plan.cost_per_hour
    return statistics.median(times), statistics.median(cpus), status, cands, gap, cost


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cat = load_catalog()
    print(f"catalog rows: {len(cat.rows)}; load average before: {os.getloadavg()[0]:.2f}")
    print("routing | case | windows | candidates (after pruning) | median s | median CPU s | status | gap | mean $/h")
    x4 = times4(cat)
    cases = (
        ("full catalog, n+1", cat, 24, args.repeat, "n+1"),
        ("full catalog, n+1", cat, 1, args.repeat, "n+1"),
        ("full catalog, n+1", cat, 168, args.repeat, "n+1"),
        ("catalog x4, n+1", x4, 24, args.repeat, "n+1"),
        # routing: service counts zone losses per region: pruned per region (issue 20: < 2 s)
        ("full catalog, zone", cat, 24, args.repeat, "zone"),
    )
    for routing in ("service", "gateway-api"):
        for label, c, w, rep, red in cases:
            med, cpu, status, cands, gap, cost = run(c, w, rep, red, routing)
            print(f"{routing} | {label} | {w} | {cands} | {med:.2f} | {cpu:.2f} | {status} | {gap:.2e} | {cost:.4f}", flush=True)
    # a one-cluster flavor plans one region (UX review 20 F1): aws spread over its regions
    # (generic) against eks-karpenter's search per region, then the cheapest region's plan
    for flavor in ("generic", "eks-karpenter"):
        med, cpu, status, cands, gap, cost = run(cat, 24, args.repeat, "n+1", "service", flavor)
        label = f"aws only, {flavor}, n+1"
        row = f"{cands} | {med:.2f} | {cpu:.2f} | {status} | {gap:.2e} | {cost:.4f}"
        print(f"service | {label} | 24 | {row}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
