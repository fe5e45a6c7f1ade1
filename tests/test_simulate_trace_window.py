"""A vLLM serving-benchmark result has no arrival times: simulate replays its requests as
Poisson arrivals at its rate. They started at the plan's midnight (window 0) whatever
``--windows`` said, so a 16 req/s benchmark was judged against the night's replicas and read
"holds" with ``--windows peak`` (UX trial 22, F5). It now starts at the first window
``--windows`` selects, else at the peak window, and a note names that window; a trace with
times keeps them, and ``--windows`` beside it is noted as not applying."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import SHARED
from llm_sim_helpers import optimized

ROOT = Path(__file__).resolve().parents[1]
VLLM = SHARED / "data" / "formats" / "vllm_benchmark_serving_llama33_70b_tp8_qps16.json"
CURVE = "  hourly_rps: [1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1]\n"


@pytest.fixture(scope="module")
def day_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The llm-chat example over a day whose peak is window 10 (the first of equals)."""
    d = tmp_path_factory.mktemp("day")
    src = ROOT / "examples" / "llm-chat"
    text = (src / "spec.yaml").read_text(encoding="utf-8")
    assert "  peak_rps: 6\n" in text
    shutil.copy(src / "profile.yaml", d / "profile.yaml")
    return optimized(d, "spec", text.replace("  peak_rps: 6\n", CURVE))


def _replayed(cli, plan: Path, trace: Path, *extra: str) -> tuple[list[int], list[str]]:  # type: ignore[no-untyped-def]
    res = cli(["simulate", str(plan), "--trace", str(trace), "--json", *extra], exit_code=None)
    assert res.exit_code in (0, 1), res.stderr
    doc = json.loads(res.stdout)
    return doc["windows_simulated"], [n for n in doc["notes"] if "window" in n]


@pytest.mark.skipif(not VLLM.exists(), reason="the shared vLLM result file is not here")
def test_a_vllm_result_replays_in_the_selected_window_else_the_peak(cli, day_plan: Path) -> None:  # type: ignore[no-untyped-def]
    windows, notes = _replayed(cli, day_plan, VLLM)
    assert windows == [10], windows  # the peak (was [0]: midnight)
    assert "replayed from the start of window 10 (the peak window)" in notes
    windows, notes = _replayed(cli, day_plan, VLLM, "--windows", "peak")
    assert windows == [10], windows
    windows, notes = _replayed(cli, day_plan, VLLM, "--windows", "3-5")
    assert windows == [3], windows
    assert "replayed from the start of window 3 (the first window --windows selects)" in notes


def test_a_trace_with_times_keeps_them_and_says_windows_does_not_apply(  # type: ignore[no-untyped-def]
    cli, day_plan: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n7205,300,100\n7210,900,200\n")
    windows, notes = _replayed(cli, day_plan, trace, "--windows", "peak")
    assert windows == [2], windows  # 02:00 UTC, its own time of day
    assert any("--windows does not apply to a trace with arrival times" in n for n in notes)
    windows, notes = _replayed(cli, day_plan, trace)
    assert windows == [2] and not any("--windows" in n for n in notes), notes
