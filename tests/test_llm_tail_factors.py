"""The tail factors (llm.tails TTFT_TAIL / TPOT_TAIL, in llm.serving until 2026-12-07) scale
a mean in one place, :func:`scaleplan.llm.tails.tail_at`: the LLM room owns that arithmetic;
llm/estimate's percentiles, render's planned tails (monitoring) and everything else go
through it. Until 2026-12-07 render/monitoring.py and llm/estimate.py indexed the tables
themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scaleplan.llm.tails import TPOT_TAIL, TTFT_TAIL, tail_at, tails_at

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"TTFT_TAIL", "TPOT_TAIL"}


def _indexes_a_table(node: ast.AST) -> bool:
    """A subscript whose indexed value names a tail table (``TTFT_TAIL[p]``,
    ``serving.TPOT_TAIL[p]``, ``(A if k else B)[p]``)."""
    if not isinstance(node, ast.Subscript):
        return False
    names = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(node.value) if isinstance(n, ast.Attribute)}
    return bool((names | attrs) & TABLES)


def _places(source: str) -> list[int]:
    return [n.lineno for n in ast.walk(ast.parse(source)) if _indexes_a_table(n)]


def test_the_tables_are_indexed_only_in_tail_at() -> None:
    found: dict[str, list[int]] = {}
    for top in ("scaleplan", "tools", "bench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            lines = _places(path.read_text(encoding="utf-8"))
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    src = (ROOT / "scaleplan/llm/tails.py").read_text(encoding="utf-8")
    fn = next(n for n in ast.walk(ast.parse(src))
              if isinstance(n, ast.FunctionDef) and n.name == "tail_at")
    assert found == {"scaleplan/llm/tails.py": [fn.body[-1].lineno]}, found


def test_the_check_sees_a_second_copy() -> None:
    assert _places("x = mean * TTFT_TAIL[95]\n") == [1]
    assert _places("v = m * (serving.TPOT_TAIL if k else serving.TTFT_TAIL)[p]\n") == [1]
    assert _places("for p in TTFT_TAIL: pass\n") == []


@pytest.mark.parametrize("pct", sorted(TTFT_TAIL))
def test_tail_at_is_the_mean_times_the_factor(pct: int) -> None:
    assert tail_at("ttft", 40.0, pct) == 40.0 * TTFT_TAIL[pct]
    assert tail_at("tpot", 12.5, pct) == 12.5 * TPOT_TAIL[pct]
    assert tails_at(40.0, 12.5, pct) == (tail_at("ttft", 40.0, pct), tail_at("tpot", 12.5, pct))


@pytest.mark.parametrize("key", ["TPOT", "latency", "e2e", ""])
def test_tail_at_refuses_a_key_without_a_table(key: str) -> None:
    """r2 review: any key but "tpot" read TTFT's factors ("TPOT" and "latency" too)."""
    with pytest.raises(ValueError, match="no tail table for"):
        tail_at(key, 10.0, 95)  # type: ignore[arg-type]
