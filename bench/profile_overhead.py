"""At batch 8: the profile's sustained ``throughput_rps`` against a bare loop, interleaved.

    python bench/profile_overhead.py [--bare-seconds 20] [--repeats 3] [--budget 6] [--sizes 8]

Model: the 3-layer torch MLP of bench/profile_models.py (512 wide, 1 thread), the same module
and input for both. The bare loop is what a replica doing nothing else sustains: N back-to-back
calls timed with one ``perf_counter`` pair, samples / elapsed. Runs alternate
``bare, profile, bare, profile, ..., bare`` so every profile has a bare loop just before and just
after it (the minute around it); each profile's ``throughput_rps`` at batch 8 is divided by the
mean of its two neighbours, and the mean of all profiles by the mean of all bare loops (pooled:
on a host whose load moves between runs, the single ratios scatter with it). Target (issue #14): within 0.95-1.10x. ``--sizes 1,8,64`` profiles a
sweep (windows interleaved across the sizes) and still compares batch 8.

Load averages are printed before and after: this host is shared, so read the ratios with them.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bare-seconds", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=None, help="profile: seconds per point (default: the profiler's)")
    ap.add_argument("--sizes", default="8")
    args = ap.parse_args()
    import torch
    from profile_models import torch_mlp

    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep

    mod, wl = torch_mlp()
    x = torch.randn(8, 512)
    sizes = [int(s) for s in args.sizes.split(",")]

    def bare() -> float:
        with torch.inference_mode():
            for _ in range(20):
                mod(x)
            n = 0
            t0 = time.perf_counter()
            while True:
                mod(x)
                n += 1
                el = time.perf_counter() - t0
                if el >= args.bare_seconds:
                    return 8 * n / el

    def profiled() -> tuple[float, float, bool, bool, int, float]:
        opts = SweepOptions(devices=["cpu"], batch_sizes=sizes, threads=1)
        if args.budget is not None:
            opts.time_budget_s = args.budget
        t0 = time.perf_counter()
        res = run_sweep(wl, opts, device_info=lambda d: cpu_info())
        m = next(m for m in res.measurements if m.batch_size == 8)
        return m.throughput_rps, m.throughput_ci_rel or 0.0, bool(m.stable), bool(m.contended), m.windows or 0, time.perf_counter() - t0

    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    bares = [bare()]
    ratios = []
    print(f"{'run':>3} {'bare before':>11} {'profile':>9} {'+-CI':>6} {'win':>4} {'stable':>6} {'cont.':>5} {'bare after':>10} {'ratio':>6}")
    for i in range(args.repeats):
        thr, ci, stable, cont, win, took = profiled()
        bares.append(bare())
        ref = (bares[-2] + bares[-1]) / 2
        ratios.append(thr / ref)
        print(f"{i + 1:>3} {bares[-2]:>11,.0f} {thr:>9,.0f} {ci:>6.1%} {win:>4} {stable!s:>6} {cont!s:>5} {bares[-1]:>10,.0f} {thr / ref:>6.3f}   (profile took {took:.1f} s)")
    ok = all(0.95 <= r <= 1.10 for r in ratios)
    profs = [r * (a + b) / 2 for r, a, b in zip(ratios, bares, bares[1:], strict=False)]
    pooled = statistics.fmean(profs) / statistics.fmean(bares)
    print(f"bare loop runs: {', '.join(f'{b:,.0f}' for b in bares)} samples/s (spread {max(bares) / min(bares) - 1:.1%})")
    print(f"ratios profile / bare: {', '.join(f'{r:.3f}' for r in ratios)}; median {statistics.median(ratios):.3f}; target 0.95-1.10 for each: {'met' if ok else 'NOT met'}")
    print(f"pooled: mean profile {statistics.fmean(profs):,.0f} / mean bare {statistics.fmean(bares):,.0f} = {pooled:.3f} (the whole interleaved run; target 0.95-1.10: {'met' if 0.95 <= pooled <= 1.10 else 'NOT met'})")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
