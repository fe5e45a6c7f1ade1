"""Overhead: at batch 8, the throughput `scaleplan profile` reports vs a bare timing loop.

    python bench/profile_overhead.py [--seconds 3] [--repeats 3]

Model: a 3-layer torch MLP (512 wide) at batch 8 with 1 thread, the same module and input
for both. The bare loop times N back-to-back calls with one perf_counter pair; the profiler
uses its normal path (run_sweep: warm-up, per-iteration timing, stopping rule). Target: within 5 %.
Both are run alternately, `repeats` times, and the medians compared.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import torch

    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep
    from scaleplan.profile.targets import torch_module_workload

    torch.manual_seed(0)
    torch.set_num_threads(1)
    mod = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512)).eval()
    x = torch.randn(8, 512)
    wl = torch_module_workload(mod, name="mlp", target="bench", input_shape=(512,), dtype="float32")

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
                if el >= args.seconds:
                    return 8 * n / el

    def profiled() -> float:
        res = run_sweep(wl, SweepOptions(devices=["cpu"], batch_sizes=[8], time_budget_s=args.seconds, target_ci=0.0001, threads=1), device_info=lambda d: cpu_info())
        return res.measurements[0].throughput_rps

    b, p = [], []
    for _ in range(args.repeats):
        b.append(bare())
        p.append(profiled())
    mb, mp = statistics.median(b), statistics.median(p)
    print(f"bare loop:  {mb:,.0f} samples/s  (runs: {', '.join(f'{v:,.0f}' for v in b)})")
    print(f"profiler:   {mp:,.0f} samples/s  (runs: {', '.join(f'{v:,.0f}' for v in p)})")
    print(f"difference: {(mp - mb) / mb:+.2%}  (target: within +-5%)")


if __name__ == "__main__":
    main()
