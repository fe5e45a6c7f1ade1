"""Repeatability: two profiles of the same model agree within 10 % at every batch size.

    python bench/profile_repeatability.py [--budget 2] [--models torch,numpy]

Two models, each profiled twice back to back with the profiler's defaults (``run_sweep``, per-
point budget ``--budget``, minimum time 1 s in 5 rounds) over batch sizes 1..64:

- ``torch``: a 3-layer torch MLP (512 wide, 1 thread), ~0.1-5 ms per batch: the realistic case;
- ``cnn`` (opt-in, ``--models cnn``): a small torch CNN on 3x64x64 images, 3-250 ms per batch;
- ``numpy``: the numpy (fn, make_batch) MLP of the tests (256 wide, 1 BLAS thread), 0.01-0.5 ms
  per batch: the hard case (calls under 0.1 ms are timed in groups).

For each batch it prints p50 and throughput of both runs and the relative differences of:
``thr`` (what the profile reports: batch / service time, the 5th percentile of per-call times),
``p50`` (the median latency), and, for comparison, ``b/mean`` (batch / mean call time, the
profiler's old throughput definition). The figure that must stay under 10 % is ``thr``; the p50
column shows how much the load moves the median. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os

# one BLAS / OpenMP thread: on a 2-core machine shared with other work, OpenBLAS's spinning
# worker threads make batch >= 8 swing by orders of magnitude (measured: 0.07 ms -> 48 ms)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from typing import Any


def _workload(kind: str) -> Any:
    if kind == "cnn":
        import torch

        from scaleplan.profile.targets import torch_module_workload

        torch.manual_seed(0)
        torch.set_num_threads(1)
        nn = torch.nn
        mod = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
        ).eval()
        return torch_module_workload(mod, name="cnn-torch", target="bench", input_shape=(3, 64, 64), dtype="float32")
    if kind == "torch":
        import torch

        from scaleplan.profile.targets import torch_module_workload

        torch.manual_seed(0)
        torch.set_num_threads(1)
        mod = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512)).eval()
        return torch_module_workload(mod, name="mlp-torch", target="bench", input_shape=(512,), dtype="float32")
    import numpy as np

    from scaleplan.profile.targets import fn_workload

    w = np.random.default_rng(0).standard_normal((256, 256)).astype("float32")

    def fn(x: np.ndarray) -> np.ndarray:
        return np.tanh(np.tanh(x @ w) @ w) @ w

    return fn_workload(fn, lambda bs: (np.ones((bs, 256), dtype="float32"),), name="mlp-numpy", target="bench", dtype=None)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / min(a, b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=2.0)
    ap.add_argument("--models", default="torch,numpy")
    args = ap.parse_args()
    from scaleplan.profile.devices import cpu_info
    from scaleplan.profile.measure import SweepOptions, run_sweep

    sizes = [1, 2, 4, 8, 16, 32, 64]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    verdicts = []
    for kind in args.models.split(","):
        wl = _workload(kind)
        opts = SweepOptions(devices=["cpu"], batch_sizes=sizes, time_budget_s=args.budget, threads=1)
        runs = [run_sweep(wl, opts, device_info=lambda d: cpu_info()).measurements for _ in range(2)]
        worst = {"thr": 0.0, "p50": 0.0, "b/mean": 0.0}
        print(f"\nmodel {kind}")
        print(f"{'batch':>5} {'p50 1 ms':>9} {'p50 2 ms':>9} {'thr 1':>9} {'thr 2':>9} {'d thr':>6} {'d p50':>6} {'d b/mean':>8} {'samples':>9}")
        for a, b in zip(runs[0], runs[1], strict=True):
            d = {
                "thr": _rel(a.throughput_rps, b.throughput_rps),
                "p50": _rel(a.latency_ms.p50, b.latency_ms.p50),
                "b/mean": _rel(a.batch_size / a.latency_ms.mean, b.batch_size / b.latency_ms.mean),
            }
            for k, v in d.items():
                worst[k] = max(worst[k], v)
            print(f"{a.batch_size:>5} {a.latency_ms.p50:>9.4g} {b.latency_ms.p50:>9.4g} {a.throughput_rps:>9.4g} {b.throughput_rps:>9.4g} {d['thr']:>6.1%} {d['p50']:>6.1%} {d['b/mean']:>8.1%} {a.samples:>4}/{b.samples:<4}")
        ok = worst["thr"] < 0.10
        verdicts.append(ok)
        print(f"largest difference ({kind}): throughput {worst['thr']:.1%} (target within 10%: {'met' if ok else 'NOT met'}); p50 {worst['p50']:.1%}, b/mean {worst['b/mean']:.1%}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("result:", "PASS" if all(verdicts) else "FAIL")


if __name__ == "__main__":
    main()
