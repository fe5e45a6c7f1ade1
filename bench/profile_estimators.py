"""Which statistic of per-call times repeats between profiles on a shared host, and how long a
sweep must be for it to: the evidence behind the profiler's slices and its service time.

    python bench/profile_estimators.py [--model torch|numpy] [--seconds 240] [--slice-ms 50]

Records one long trace the way the profiler's slices run (``--slice-ms`` slices taken in turn
over batch sizes 1..64, every call timed), then cuts it into consecutive stretches of 10, 15
and 20 s. Each stretch stands for one profile. For each statistic it prints the median and the
largest, over pairs of consecutive stretches, of the largest relative difference at any batch
size, and how many pairs stay within 10 %. Models are those of bench/profile_repeatability.py.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time
from collections.abc import Callable

SIZES = [1, 2, 4, 8, 16, 32, 64]
STATS: list[tuple[str, float | None]] = [("mean", None), ("median", 50), ("p5", 5), ("p1", 1), ("p0.1", 0.1), ("min", 0)]


def _runner(model: str) -> Callable[[int], Callable[[], object]]:
    if model == "torch":
        import torch

        torch.manual_seed(0)
        torch.set_num_threads(1)
        mod = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512)).eval()

        def make_t(bs: int) -> Callable[[], object]:
            x = torch.ones(bs, 512)

            def run() -> object:
                with torch.inference_mode():
                    return mod(x)

            return run

        return make_t
    import numpy as np

    w = np.random.default_rng(0).standard_normal((256, 256)).astype("float32")

    def make_n(bs: int) -> Callable[[], object]:
        x = np.ones((bs, 256), dtype="float32")
        return lambda: np.tanh(np.tanh(x @ w) @ w) @ w

    return make_n


def record(model: str, seconds: float, slice_s: float) -> list[tuple[float, int, list[float]]]:
    make = _runner(model)
    runs = {bs: make(bs) for bs in SIZES}
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
        med = worst[len(worst) // 2] if len(worst) % 2 else (worst[len(worst) // 2 - 1] + worst[len(worst) // 2]) / 2
        out[name] = (med, worst[-1], sum(w < 0.10 for w in worst), len(worst))
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
        res = evaluate(trace, stretch)
        pairs = next(iter(res.values()))[3]
        print(f"\nstretches of {stretch:g} s ({pairs} consecutive pairs): largest difference at any batch size")
        print(f"{'statistic':>10} {'median':>8} {'max':>8} {'within 10%':>11}")
        for name, (med, worst, ok, n) in res.items():
            print(f"{name:>10} {med:>8.1%} {worst:>8.1%} {ok:>5}/{n:<5}")


if __name__ == "__main__":
    main()
