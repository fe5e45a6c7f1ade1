"""Repeatability: two profiles of the same model agree within 10 % at every batch size.

    python bench/profile_repeatability.py [--budget 2]

Model: the numpy (fn, make_batch) MLP of the tests (256 wide), batch sizes 1..64, run twice
with the profiler's defaults except the per-point budget. Prints p50 and throughput per batch
and the largest relative difference.
"""

from __future__ import annotations

import argparse
import os

# one BLAS thread: on a 2-core machine shared with other work, OpenBLAS's spinning worker
# threads make batch >= 8 swing by orders of magnitude (measured: 0.07 ms -> 48 ms)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=2.0)
    args = ap.parse_args()
    import numpy as np

    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep
    from scaleplan.profile.targets import fn_workload

    w = np.random.default_rng(0).standard_normal((256, 256)).astype("float32")

    def fn(x: np.ndarray) -> np.ndarray:
        return np.tanh(np.tanh(x @ w) @ w) @ w

    wl = fn_workload(fn, lambda bs: (np.ones((bs, 256), dtype="float32"),), name="mlp", target="bench", dtype=None)
    sizes = [1, 2, 4, 8, 16, 32, 64]
    runs = [run_sweep(wl, SweepOptions(devices=["cpu"], batch_sizes=sizes, time_budget_s=args.budget), device_info=lambda d: cpu_info()).measurements for _ in range(2)]
    worst_thr = worst_p50 = 0.0
    print(f"{'batch':>5} {'p50 run1 ms':>12} {'p50 run2 ms':>12} {'thr run1':>10} {'thr run2':>10} {'d thr':>7} {'d p50':>7}")
    for a, b in zip(runs[0], runs[1], strict=True):
        dt = abs(a.throughput_rps - b.throughput_rps) / min(a.throughput_rps, b.throughput_rps)
        dp = abs(a.latency_ms.p50 - b.latency_ms.p50) / min(a.latency_ms.p50, b.latency_ms.p50)
        worst_thr, worst_p50 = max(worst_thr, dt), max(worst_p50, dp)
        print(f"{a.batch_size:>5} {a.latency_ms.p50:>12.4g} {b.latency_ms.p50:>12.4g} {a.throughput_rps:>10.4g} {b.throughput_rps:>10.4g} {dt:>7.1%} {dp:>7.1%}")
    print(f"largest difference: throughput {worst_thr:.1%}, p50 {worst_p50:.1%} (target: within 10%)")


if __name__ == "__main__":
    main()
