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

from scaleplan.inputs import shipped_accelerators
from scaleplan.simulate.llm import simulate_llm

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--replicas", type=int, default=16)
    ap.add_argument("--load", type=float, default=0.7, help="offered load as a fraction of capacity")
    ap.add_argument("--steps", choices=("points", "model"), default="points", help="points: a linear step through TTFT/TPOT points; model: the LLM performance model (Llama-3.1-8B bf16 on one H100)")
    args = ap.parse_args()
    # step = 20 ms + 0.25 ms per decoding sequence + 0.13 ms per prompt token; at 64 sequences a
    # request costs 300 * 36 / 64 + 1000 * 0.13 ms = 0.3 s of replica time: 3.3 req/s per replica
    # model: Llama-3.1-8B on an H100 at 64 sequences, ~10 ms steps: about 20 req/s per replica
    cap = (3.3 if args.steps == "points" else 20.0) * args.replicas
    rps = args.load * cap
    duration = args.requests / rps
    plan = llm_plan(
        replicas=args.replicas, rps=rps, max_num_seqs=64, kv_cache_tokens=200_000, budget=2048,
        classes=(("chat", 1.0, 1000, 300, 150.0, 20.25, 1), ("chat2", 0.0001, 1000, 300, 150.0, 36.0, 64)),
        architecture="llama-3.1-8b" if args.steps == "model" else None, accelerator="H100" if args.steps == "model" else None,
        predictions=args.steps == "points",
    )
    t0 = time.perf_counter()
    res = simulate_llm(plan, duration_s=duration, steps_source=args.steps, accelerators=ACCS)
    wall = time.perf_counter() - t0
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    steps = sum(a.steps for a in res.allocations)
    print(f"steps: {res.allocations[0].step_source}")
    print(f"requests {res.requests}, replicas {args.replicas}, steps {steps}, wall {wall:.2f} s, "
          f"peak RSS {rss_gib:.2f} GiB, mean batch {res.allocations[0].mean_batch:.1f}, "
          f"TTFT p50 {res.classes[0].ttft_ms.p50:.0f} ms, TPOT p50 {res.classes[0].tpot_ms.p50:.1f} ms, saturated {res.saturated}")


if __name__ == "__main__":
    main()
