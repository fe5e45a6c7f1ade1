"""Speed of the LLM simulator: 100,000 requests of 1,000 input / 300 output tokens over 16
replicas (docs/benchmarks.md, "LLM simulation"). Prints wall time and peak memory (RSS).

    python bench/llm_sim_bench.py [--requests 100000] [--replicas 16]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm_sim_helpers import llm_plan

from scaleplan.simulate.llm import simulate_llm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--replicas", type=int, default=16)
    ap.add_argument("--load", type=float, default=0.7, help="offered load as a fraction of capacity")
    args = ap.parse_args()
    # step = 20 ms + 0.25 ms per decoding sequence + 0.13 ms per prompt token; at 64 sequences a
    # request costs 300 * 36 / 64 + 1000 * 0.13 ms = 0.3 s of replica time: 3.3 req/s per replica
    cap = 3.3 * args.replicas
    rps = args.load * cap
    duration = args.requests / rps
    plan = llm_plan(
        replicas=args.replicas, rps=rps, max_num_seqs=64, kv_cache_tokens=200_000, budget=2048,
        classes=(("chat", 1.0, 1000, 300, 150.0, 20.25, 1), ("chat2", 0.0001, 1000, 300, 150.0, 36.0, 64)),
    )
    t0 = time.perf_counter()
    res = simulate_llm(plan, duration_s=duration)
    wall = time.perf_counter() - t0
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    steps = sum(a.steps for a in res.allocations)
    print(f"requests {res.requests}, replicas {args.replicas}, steps {steps}, wall {wall:.2f} s, "
          f"peak RSS {rss_gib:.2f} GiB, mean batch {res.allocations[0].mean_batch:.1f}, "
          f"TTFT p50 {res.classes[0].ttft_ms.p50:.0f} ms, TPOT p50 {res.classes[0].tpot_ms.p50:.1f} ms, saturated {res.saturated}")


if __name__ == "__main__":
    main()
