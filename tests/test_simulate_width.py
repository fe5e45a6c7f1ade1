"""``scaleplan simulate`` at 80 columns (issue 13, finding 3): piped with ``COLUMNS=80``, the
tables fit and no number, allocation or class name is cut ("4459…", "100.…", "summar…") or
wrapped (the capacity type included); free text (the sparkline labels) folds instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from simulate_helpers import is_prose, table_lines

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def simulate(*args: str, columns: int = 80) -> str:
    """``scaleplan simulate ARGS | cat`` at ``COLUMNS=columns``."""
    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.run([sys.executable, "-m", "scaleplan", "simulate", *args], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.parametrize("example", ["embedding-cpu-gpu", "vision-daily"])
def test_request_level_tables_keep_numbers_whole_at_80_columns(example: str) -> None:
    args = (str(EXAMPLES / example / "plan.yaml"), "--duration", "5", "--fail", "node")
    text = simulate(*args)
    data = json.loads(simulate(*args, "--json"))
    assert all(len(line) <= 80 for line in table_lines(text)), text
    # the verdict line is prose: whole in a pipe (not folded at 80 columns), one line
    verdict = [line for line in text.splitlines() if is_prose(line) and "attainment" in line]
    assert verdict and verdict[0].rstrip().endswith(("holds", "FAILS")), text
    assert "…" not in text, text
    words = set(text.split())
    for a in data["allocations"]:
        assert {a["name"], str(a["requests"]), str(a["batch_size"]), f"{100 * a['attainment']:.2f}%", f"{100 * a['utilization']:.2f}%"} <= words, (a, text)
        # the capacity type is a spec value users copy: whole, never folded over lines ("on-")
        assert any(a["capacity_type"] in line.split() or f"capacity: {a['capacity_type']}" in line for line in text.splitlines()), (a, text)
    for w in data["windows"]:
        assert {str(w["requests"]), f"{w['rps']:g}"} <= words
    # what fits stays as it was: the same table at 200 columns is one header line, edges padded
    wide = simulate(*args, columns=200)
    assert " allocation " in wide and " avg batch" in wide


def test_llm_tables_keep_class_names_and_numbers_whole_at_80_columns() -> None:
    args = (str(EXAMPLES / "llm-70b-tp" / "plan.yaml"), "--duration", "30")
    text = simulate(*args)
    data = json.loads(simulate(*args, "--json"))
    assert all(len(line) <= 80 for line in table_lines(text)), text
    assert "…" not in text, text
    words = set(text.split())
    assert {c["name"] for c in data["classes"]} <= words, text
    for a in data["allocations"]:
        assert {a["name"], str(a["kv_cache_tokens"]), str(a["token_budget"]), str(a["requests"])} <= words


def test_a_table_too_wide_for_any_layout_prints_its_rows_one_by_one() -> None:
    from rich.console import Console

    from scaleplan.simulate.report import FittedTable

    name = "an-allocation-name-far-longer-than-any-that-optimize-writes-x"
    table = FittedTable("Per replica type", [("allocation", "whole"), ("capacity", "fold"), ("reqs", "number"), ("attain", "number"), ("avg batch", "number")],
                        [(name, "on-demand", "266009", "99.98%", "19.19"), ("b", "spot", "12", "100.00%", "1.19")])
    con = Console(width=80, record=True, highlight=False)
    con.print(table)
    out = con.export_text()
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert name in out.split() and "reqs: 266009" in out and "avg batch: 19.19" in out and "attain: 100.00%" in out
    con = Console(width=200, record=True, highlight=False)
    con.print(table)
    wide = con.export_text()
    assert name in wide.split() and "266009" in wide.split() and "reqs:" not in wide


def test_simulate_md_says_which_example_goes_row_by_row() -> None:
    """UX review 6, #7: simulate.md said vision-daily's tables list their rows one by one at
    80 columns; they fit compact there (a header row), and go row by row at 60."""
    doc = " ".join((ROOT / "docs" / "simulate.md").read_text().split())
    assert "vision-daily at 80 columns" not in doc and "vision-daily at 60 columns" in doc
    args = (str(EXAMPLES / "vision-daily" / "plan.yaml"), "--duration", "2", "--windows", "0-1")
    assert "\nallocation " in simulate(*args, columns=80)
    assert "  capacity: on-demand" in simulate(*args, columns=60)
