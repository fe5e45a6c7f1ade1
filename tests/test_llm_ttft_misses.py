"""bench/llm_ttft_misses.py: the training rows' TTFT misses taken apart (docs/benchmarks.md,
issue 15, "Why the TTFT misses miss")."""

from __future__ import annotations

import json
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


def test_excess_prefills_reads_the_wait_in_lone_prefills(bench: ModuleType) -> None:
    # the clustering term at weight 1 is 50 ms = 0.5 lone prefills, so one prefill is 100 ms:
    # a measured 250 ms against 100 ms without clustering holds 1.5 prefills of wait
    row = {"p0": 100.0, "p1": 150.0, "meas": 250.0, "cohort": 0.5}
    assert bench.excess_prefills(row) == pytest.approx(1.5)
    assert bench.excess_prefills({**row, "meas": 80.0}) == pytest.approx(-0.2)  # under p0
    assert bench.excess_prefills({**row, "cohort": 0.0}) is None  # one client: no cohort
    assert bench.excess_prefills({**row, "p1": 100.0}) is None


def test_every_closed_loop_row_has_its_cohort_unit(bench: ModuleType, shared_dir: Path) -> None:
    rows = bench.collect(shared_dir / "data" / "llm")
    closed = [r for r in rows if "p0" in r]
    assert all(r["cohort"] >= 0.0 and isinstance(r["held"], bool) for r in closed)
    # the aiconfigurator fixed-length TensorRT-LLM rows at 8 clients (docs/benchmarks.md, issue
    # 15, session 41): their excess is about (8 - 1) / 2 lone prefills, twice the model's term
    fixed8 = [
        bench.excess_prefills(r)
        for r in closed
        if not r["ix"] and r["c"].engine == "trtllm" and r["c"].n == 8 and r["held"]
    ]
    assert len(fixed8) >= 10
    fixed8.sort()
    assert 3.0 < fixed8[len(fixed8) // 2] < 4.0


def test_verdicts_read_the_tpot_beside_the_ttft(bench: ModuleType) -> None:
    assert bench.verdict(100.0, 129.0) == "TPOT within"  # 100 / 129 - 1 = -22.5 %
    assert bench.verdict(100.0, 150.0) == "TPOT under"
    assert bench.verdict(140.0, 100.0) == "TPOT over"
    assert bench.verdict(None, 100.0) == "no TPOT"
    assert bench.direction({"pred": 60.0, "meas": 100.0}) == "under"
    assert bench.direction({"pred": 131.0, "meas": 100.0}) == "over"
    assert bench.direction({"pred": 129.0, "meas": 100.0}) == "within"


def test_calibrated_reads_training_rows_only(
    bench: ModuleType, shared_dir: Path, tmp_path: Path
) -> None:
    rows = bench.collect(shared_dir / "data" / "llm")[:3]
    ids = [r["c"].row["row_id"] for r in rows]
    cases = [
        {"row_id": ids[0], "split": "train", "calibrated_from": "H200",
         "calibrated": {"ttft": 123.0, "tpot": 4.5}},
        {"row_id": ids[1], "split": "held_out", "calibrated_from": "H200",
         "calibrated": {"ttft": 1.0}},  # a held-out record is never read
        {"row_id": ids[2], "split": "train"},  # no other GPU to calibrate from
    ]
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"cases": cases}))
    out = bench.calibrated(rows, path)
    assert [r["c"].row["row_id"] for r in out] == ids[:1]
    assert out[0]["pred"] == 123.0 and out[0]["tpot"][0] == 4.5
    assert out[0]["source_gpu"] == "H200" and out[0]["meas"] == rows[0]["meas"]


def test_every_row_says_its_statistic_and_all_reduce_share(
    bench: ModuleType, shared_dir: Path
) -> None:
    rows = bench.collect(shared_dir / "data" / "llm")
    assert {r["stat"] for r in rows} <= {"mean", "median", "not stated"}
    assert all(0.0 <= r["ar_share"] < 1.0 for r in rows)
    assert all(r["ar_share"] == 0.0 for r in rows if r["c"].tp == 1)  # no all-reduce at TP 1
    assert any(r["ar_share"] > 0.3 for r in rows if r["c"].tp == 8)
