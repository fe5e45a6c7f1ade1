#!/usr/bin/env python3
"""`scaleplan profile llm` on 4 accelerators x 4 GPU counts x 8 concurrencies: wall time.

    python bench/llm_profile_bench.py [--repeat 5]

Runs the real command in a fresh interpreter each time (imports included), writing the
profile to a temporary file, and prints min / median CPU and wall seconds (target: under 2 s). On a shared, loaded host
the CPU time is the figure to read; wall time adds the wait for a core.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARGS = ["profile", "llm", "llama-3.1-8b", "--accelerators", "H100,L40S,L4,A100-80GB", "--gpus", "1,2,4,8", "--concurrency", "1,2,4,8,16,32,64,128", "--input-tokens", "1024", "--output-tokens", "256"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args(argv)
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "p.yaml"
        for _ in range(a.repeat):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "scaleplan", *ARGS, "--out", str(out)], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        points = out.read_text().count("device: estimate")
    load = os.getloadavg()[0]
    print(f"profile llm 4 accelerators x 4 GPU counts x 8 concurrencies: {points} points over {a.repeat} runs")
    print(f"  CPU time (user+sys) min {min(cpu):.2f} s, median {statistics.median(cpu):.2f} s; wall min {min(times):.2f} s, median {statistics.median(times):.2f} s (load average {load:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
