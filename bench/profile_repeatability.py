"""Repeatability: two profiles of the same model back to back, at every batch size.

    python bench/profile_repeatability.py [--budget S] [--models torch,numpy] [--pairs 1] [--noise off|bursts]

Each model is profiled twice back to back (a pair; ``--pairs N`` repeats that N times) with the
profiler's defaults (``run_sweep``: windows of 0.5 s interleaved across batch sizes 1..64, a
point stops once 3 windows agree within 10 % and its CI is within 5 %, or after 6 s), 1 thread:
the ``torch`` MLP and the ``numpy`` MLP of bench/profile_models.py (``--models cnn`` adds a CNN).

``--noise bursts`` adds a noisy neighbour for the whole run: a child process that spins on the
CPU for 0.2-3 s, sleeps 0.2-3 s, and so on (seeded), on top of whatever else the host runs.

Per batch it prints both runs' sustained ``throughput_rps`` with their 95 % intervals, the
relative difference, whether each run's interval covers the other's value, the contention flags,
the slowdown (quiet rate / sustained rate) and ``others_cpus`` (the CPUs other processes kept
busy while the point was measured).
Criteria (issue #14): quiet, the two runs within 10 % at every batch size; with the neighbour,
each run's interval covers the other's value at every batch size and the profile says it was
contended (at least one point ``contended``). The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os

# one BLAS / OpenMP thread (see profile_models.py)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from typing import Any

from profile_models import workload


def _rel(a: float, b: float) -> float:
    return abs(a - b) / min(a, b)


def _cpus(x: float | None) -> str:
    return f"{x:>4.2f}" if x is not None else " n/a"


def _spin_bursts(seed: int) -> None:
    """A noisy neighbour: busy for 0.2-3 s, idle for 0.2-3 s, until killed."""
    import random
    import time

    rng = random.Random(seed)
    while True:
        end = time.perf_counter() + rng.uniform(0.2, 3.0)
        x = 0
        while time.perf_counter() < end:
            x += 1
        time.sleep(rng.uniform(0.2, 3.0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=None, help="seconds per point (default: the profiler's)")
    ap.add_argument("--models", default="torch,numpy")
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--noise", choices=("off", "bursts"), default="off")
    args = ap.parse_args()
    import multiprocessing

    sizes = [1, 2, 4, 8, 16, 32, 64]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    verdicts: list[bool] = []
    neighbour = None
    if args.noise == "bursts":
        neighbour = multiprocessing.Process(target=_spin_bursts, args=(7,), daemon=True)
        neighbour.start()
        print("noisy neighbour: a process spinning in bursts of 0.2-3 s, idle 0.2-3 s")
    try:
        for kind in args.models.split(","):
            wl = workload(kind)
            for pair in range(1, args.pairs + 1):
                verdicts.append(_pair(wl, kind, pair, sizes, args.budget, args.noise == "bursts"))
    finally:
        if neighbour is not None:
            neighbour.terminate()
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"result: {'PASS' if all(verdicts) else 'FAIL'} ({sum(verdicts)} of {len(verdicts)} pairs met the criterion)")


def _pair(wl: Any, kind: str, pair: int, sizes: list[int], budget: float | None, noisy: bool) -> bool:
    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep

    opts = SweepOptions(devices=["cpu"], batch_sizes=sizes, threads=1)
    if budget is not None:
        opts.time_budget_s = budget
    runs = [run_sweep(wl, opts, device_info=lambda d: cpu_info()).measurements for _ in range(2)]
    worst, covered, contended = 0.0, True, 0
    print(f"\nmodel {kind}, pair {pair} ({'noisy neighbour' if noisy else 'no injected noise'})")
    print(f"{'batch':>5} {'thr 1':>9} {'+-':>6} {'thr 2':>9} {'+-':>6} {'diff':>6} {'covers':>6} {'cont.':>5} {'slow 1/2':>9} {'others':>9} {'win':>5}")
    for a, b in zip(runs[0], runs[1], strict=True):
        d = _rel(a.throughput_rps, b.throughput_rps)
        ca, cb = a.throughput_ci_rel or 0.0, b.throughput_ci_rel or 0.0
        cov = abs(a.throughput_rps - b.throughput_rps) <= min(a.throughput_rps * ca, b.throughput_rps * cb)
        worst = max(worst, d)
        covered = covered and cov
        contended += int(bool(a.contended)) + int(bool(b.contended))
        slow_a = (a.throughput_quiet_rps or a.throughput_rps) / a.throughput_rps
        slow_b = (b.throughput_quiet_rps or b.throughput_rps) / b.throughput_rps
        flags = ("C" if a.contended else "-") + ("C" if b.contended else "-")
        print(f"{a.batch_size:>5} {a.throughput_rps:>9.4g} {ca:>6.1%} {b.throughput_rps:>9.4g} {cb:>6.1%} {d:>6.1%} {'yes' if cov else 'NO':>6} {flags:>5} {slow_a:>4.2f}/{slow_b:<4.2f} {_cpus(a.others_cpus)}/{_cpus(b.others_cpus)} {a.windows:>2}/{b.windows:<2}")
    ok = (covered and contended > 0) if noisy else worst < 0.10
    print(f"pair {kind} {pair}: largest difference {worst:.1%}; intervals cover each other: {'all' if covered else 'NOT all'}; contended points: {contended}; criterion {'met' if ok else 'NOT met'}")
    return ok


if __name__ == "__main__":
    main()
