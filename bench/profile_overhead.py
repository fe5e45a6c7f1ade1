"""Overhead: at batch 8, the throughput `scaleplan profile` reports vs a bare timing loop.

    python bench/profile_overhead.py [--seconds 3] [--repeats 3]

Model: a 3-layer torch MLP (512 wide) at batch 8 with 1 thread, the same module and input
for both. Target: within 5 %. Both are run alternately, ``repeats`` times, and the medians
compared, with each of the profile's two estimators against the same estimator on a bare loop:

- ``reported``: the profile's ``throughput_rps`` (batch / service time, the low percentile
  ``SERVICE_Q`` of per-call times) against a bare loop that times each call with one
  ``perf_counter`` pair and takes the same percentile (``timeit``-style: no warm-up logic,
  slices, rounds or Timer object);
- ``mean``: batch / the profile's mean latency against a bare loop of N back-to-back calls timed
  with one ``perf_counter`` pair (samples / total time).

On an idle machine the two estimators agree; under load the mean absorbs the other processes'
time and the low percentile does not, which is why each is compared only with itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import torch
    from profile_models import torch_mlp

    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SERVICE_Q, SweepOptions, run_sweep
    from scaleplan.profile.stats import percentile

    mod, wl = torch_mlp()
    x = torch.randn(8, 512)

    def bare_mean() -> float:
        with torch.inference_mode():
            for _ in range(20):
                mod(x)
            n = 0
            t0 = time.perf_counter()
            while True:
                mod(x)
                n += 1
                el = time.perf_counter() - t0
                if el >= args.seconds:
                    return 8 * n / el

    def bare_service() -> float:
        clock = time.perf_counter
        with torch.inference_mode():
            for _ in range(20):
                mod(x)
            times: list[float] = []
            end = clock() + args.seconds
            while True:
                t0 = clock()
                mod(x)
                t1 = clock()
                times.append(t1 - t0)
                if t1 >= end:
                    break
        return 8 / percentile(sorted(times), SERVICE_Q)

    def profiled() -> tuple[float, float]:
        res = run_sweep(wl, SweepOptions(devices=["cpu"], batch_sizes=[8], time_budget_s=args.seconds, target_ci=0.0001, threads=1), device_info=lambda d: cpu_info())
        m = res.measurements[0]
        return m.throughput_rps, 8 / (m.latency_ms.mean / 1000)

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    bm, bp, pr, pm = [], [], [], []
    for _ in range(args.repeats):
        bm.append(bare_mean())
        bp.append(bare_service())
        r, m = profiled()
        pr.append(r)
        pm.append(m)

    def runs(v: list[float]) -> str:
        return ", ".join(f"{x:,.0f}" for x in v)

    for label, bare, prof in ((f"reported (batch / p{SERVICE_Q:g})", bp, pr), ("mean (batch / mean)", bm, pm)):
        mb, mp = statistics.median(bare), statistics.median(prof)
        print(f"{label}:")
        print(f"  bare loop:  {mb:,.0f} samples/s  (runs: {runs(bare)})")
        print(f"  profiler:   {mp:,.0f} samples/s  (runs: {runs(prof)})")
        print(f"  difference: {(mp - mb) / mb:+.2%}  (target: within +-5%)")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
