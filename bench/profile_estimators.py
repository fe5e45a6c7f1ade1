"""Which statistic of per-call times repeats between profiles on a shared host, and how long a
sweep must be for it to: the evidence behind the profiler's slices and its service time.

    python bench/profile_estimators.py [--model torch|numpy] [--seconds 240] [--slice-ms 50]

Records one long trace the way the profiler's slices run (``--slice-ms`` slices taken in turn
over batch sizes 1..64, every call timed), then cuts it into consecutive stretches of 10, 15
and 20 s. Each stretch stands for one profile. For each statistic it prints the median and the
largest, over pairs of consecutive stretches, of the largest relative difference at any batch
size, and how many pairs stay within 10 %. Models: bench/profile_models.py, timed through the
profiler's own runners.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time

from profile_models import workload

SIZES = [1, 2, 4, 8, 16, 32, 64]
STATS: list[tuple[str, float | None]] = [("mean", None), ("median", 50), ("p5", 5), ("p1", 1), ("p0.1", 0.1), ("min", 0)]


def record(model: str, seconds: float, slice_s: float) -> list[tuple[float, int, list[float]]]:
    wl = workload(model)
    runs = {bs: wl.prepare("cpu", bs) for bs in SIZES}
    for run in runs.values():
        for _ in range(50):
            run()
    clock = time.perf_counter
    trace: list[tuple[float, int, list[float]]] = []
    t_start = clock()
    while clock() - t_start < seconds:
        for bs in SIZES:
            run = runs[bs]
            run()  # re-warm, as the profiler's slices do
            times: list[float] = []
            end = clock() + slice_s
            while True:
                t0 = clock()
                run()
                t1 = clock()
                times.append(t1 - t0)
                if t1 >= end:
                    break
            trace.append((clock() - t_start, bs, times))
    return trace


def _stat(xs: list[float], q: float | None) -> float:
    from scaleplan.profile.stats import percentile

    if q is None:
        return sum(xs) / len(xs)
    return percentile(sorted(xs), q)


def evaluate(trace: list[tuple[float, int, list[float]]], stretch_s: float) -> dict[str, tuple[float, float, int, int]]:
    """Per statistic: (median worst, max worst, pairs within 10 %, pairs)."""
    n = int(trace[-1][0] // stretch_s)
    pooled: dict[tuple[int, int], list[float]] = {}
    for t, bs, times in trace:
        i = int(t // stretch_s)
        if i < n:
            pooled.setdefault((i, bs), []).extend(times)
    out = {}
    for name, q in STATS:
        vals = {key: _stat(xs, q) for key, xs in pooled.items()}
        worst = sorted(max(abs(vals[(i, b)] - vals[(i + 1, b)]) / min(vals[(i, b)], vals[(i + 1, b)]) for b in SIZES) for i in range(n - 1))
        out[name] = (statistics.median(worst), worst[-1], sum(w < 0.10 for w in worst), len(worst))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=("torch", "numpy"), default="torch")
    ap.add_argument("--seconds", type=float, default=240.0)
    ap.add_argument("--slice-ms", type=float, default=50.0)
    args = ap.parse_args()
    print(f"model {args.model}, {args.seconds:g} s trace, {args.slice_ms:g} ms slices over batch {SIZES[0]}..{SIZES[-1]}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    trace = record(args.model, args.seconds, args.slice_ms / 1000.0)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for stretch in (10.0, 15.0, 20.0):
        if trace[-1][0] < 2 * stretch:
            print(f"\nstretches of {stretch:g} s: skipped, the trace holds fewer than two (raise --seconds)")
            continue
        res = evaluate(trace, stretch)
        pairs = next(iter(res.values()))[3]
        print(f"\nstretches of {stretch:g} s ({pairs} consecutive pairs): largest difference at any batch size")
        print(f"{'statistic':>10} {'median':>8} {'max':>8} {'within 10%':>11}")
        for name, (med, worst, ok, n) in res.items():
            print(f"{name:>10} {med:>8.1%} {worst:>8.1%} {ok:>5}/{n:<5}")


if __name__ == "__main__":
    main()
