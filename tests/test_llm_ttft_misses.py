"""bench/llm_ttft_misses.py: the training rows' TTFT misses taken apart (docs/benchmarks.md,
issue 15, "Why the TTFT misses miss")."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_script

BENCH = Path(__file__).resolve().parents[1] / "bench" / "llm_ttft_misses.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH)


def test_best_weight_counts_the_rows_a_single_weight_brings_within(bench: ModuleType) -> None:
    # TTFT = p0 + w (p1 - p0): the first row needs w = 2, the second w = 1, the third w = 2
    rows = [
        {"p0": 100.0, "p1": 150.0, "meas": 200.0},
        {"p0": 100.0, "p1": 200.0, "meas": 200.0},
        {"p0": 50.0, "p1": 60.0, "meas": 70.0},
    ]
    assert bench.best_weight(rows) == (3, 1.5)  # 1.5: 175 / 250 / 65, each within 30 %
    assert bench.best_weight(rows[:1]) == (1, 3.0)  # ties: the largest weight (100 + 50 w <= 260)


def test_the_training_rows_only_and_linear_in_the_clustering_weight(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = bench.collect(shared_dir / "data" / "llm")
    assert rows and not any(r["c"].test for r in rows)  # no held-out row is predicted
    closed = [r for r in rows if "p0" in r]
    assert len(closed) > 100 and all(r["p1"] >= r["p0"] for r in closed)
    # the per-weight counts interpolate between weight 0 and 1: they hold on every row
    assert bench.off_linear(rows) == []
