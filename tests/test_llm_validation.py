"""bench/llm_validation.py: the harness settings it models rows with (docs/llm.md)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_script

BENCH = Path(__file__).resolve().parents[1] / "bench" / "llm_validation.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH)


def test_trtllm_bench_limits_follow_its_tuning_heuristic(bench: ModuleType) -> None:
    # the TensorRT-LLM perf-overview's own example (Llama-2-7B, 128/128 on one GPU: far more
    # than 4,096 requests fit) prints "Max Runtime Batch Size: 4096, Max Runtime Tokens: 8192"
    assert bench.trtllm_bench_limits(20_000, 128, 128, 1) == (4096, 8192)
    # few requests fit: at least 64, rounded up to 32; tokens = requests x (1 + I/O), at least 2,048
    assert bench.trtllm_bench_limits(40, 2048, 128, 1) == (64, 2048)
    assert bench.trtllm_bench_limits(300, 2048, 128, 1) == (384, 5120)  # 300 x 17 = 5,100 -> 512s
    assert bench.trtllm_bench_limits(1500, 5000, 500, 1) == (1536, 17408)  # 16,500 -> 1,024s
    assert bench.trtllm_bench_limits(5000, 20_000, 2000, 1) == (4096, 32768)  # both capped
    assert bench.trtllm_bench_limits(5000, 20_000, 2000, 2) == (2048, 22528)  # per PP stage


def test_offline_trtllm_rows_run_at_what_the_cache_holds_at_full_length(
    bench: ModuleType, shared_dir: Path
) -> None:
    import csv

    path = shared_dir / "data" / "llm" / "llm_serving_measurements.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        # Llama-3.1-70B FP8 on one H100, 128/4096 tokens, trtllm-bench
        row = next(r for r in csv.DictReader(fh) if r["row_id"] == "269")
    c = bench.classify(row)
    d, mem = bench.deployment(c)
    full = mem.max_sequences(c.i + c.o, d.arch, c.kv)
    limits = (d.settings.max_num_seqs, d.settings.max_num_batched_tokens)
    assert limits == bench.trtllm_bench_limits(full, 128, 4096, 1)
    # GUARANTEED_NO_EVICT: the prompt plus the whole completion is reserved per request
    assert bench.saturation_concurrency(d, mem, c.i, c.o) == pytest.approx(full, abs=1)
