"""bench/llm_data_repeatability.py: which rows of the public measurements count as repeats of one
another, and how far they agree (docs/benchmarks.md, "How far the measurements repeat")."""

from __future__ import annotations

import csv
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_script

BENCH = Path(__file__).resolve().parents[1] / "bench" / "llm_data_repeatability.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(BENCH)


def _row(bench: ModuleType, row_id: str, ttft: str, tpot: str, notes: str = "") -> dict[str, str]:
    row = dict.fromkeys(bench.CONDITIONS, "x")
    row.update(row_id=row_id, ttft_ms_mean=ttft, tpot_ms_mean=tpot, notes=notes)
    return row


def test_repeats_are_equal_conditions_with_other_values(bench: ModuleType) -> None:
    a = _row(bench, "1", "100", "10", "silicon: measured=2026-03-25T16:34:14Z; image=a#b")
    b = _row(bench, "2", "150", "10", "silicon: measured=2026-03-25T00:00:00Z; image=a/b")
    copy = _row(bench, "3", "100", "10", "silicon: image=a/b")
    other_server = _row(bench, "4", "300", "10", "silicon: image=a/b --cuda-graph-max-bs 8")
    pairs, copies = bench.repeat_pairs([a, b, copy, other_server])
    assert copies == 1  # rows 1 and 3: one run stored twice
    assert sorted(tuple(p["rows"]) for p in pairs) == [("1", "2"), ("2", "3")]
    s = bench.shares(pairs)
    assert s["pairs"] == 2 and s["ttft_within_30"] == 0 and s["tpot_within_20"] == 2
    assert s["both_within_20"] == 0


def test_the_shared_measurements_repeat_poorly(bench: ModuleType, shared_dir: Path) -> None:
    with (shared_dir / "data" / "llm" / "llm_serving_measurements.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    pairs, copies = bench.repeat_pairs(rows)
    s = bench.shares(pairs)
    assert (s["pairs"], copies) == (10, 10)
    assert s["both_within_20"] == 1 and s["ttft_within_30"] == 7 and s["tpot_within_30"] == 5
    ratios = {tuple(p["rows"]): p["ttft_ratio"] for p in pairs}
    assert ratios[("1279", "1280")] == pytest.approx(409.98 / 199.429)
