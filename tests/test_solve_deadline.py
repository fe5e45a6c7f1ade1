"""Baselines and alternatives that --time-limit left no time for (issue 19: one limit per command).

A baseline the deadline cut short used to read "(infeasible)", a false statement about the
user's options; it now says the time limit stopped it, and only a baseline with no plan reads
"(infeasible)".
"""

from __future__ import annotations

import math
from pathlib import Path

from scaleplan.inputs import load_inputs
from scaleplan.solve.candidates import build_candidates
from scaleplan.solve.compare import compare
from scaleplan.solve.diagnose import serving_candidates
from scaleplan.solve.problem import Problem, SolveOptions, demand_windows
from scaleplan.solve.search import search_windows

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "vision-daily" / "spec.yaml"


def _compare_with_deadline(deadline: float) -> tuple[list, list]:
    inp = load_inputs(str(EXAMPLE))
    options = SolveOptions(inputs=inp.hashes)
    pb = Problem.of(inp.spec, options)
    rps, _ = demand_windows(inp.spec)
    cands, diag = build_candidates(inp.spec, inp.profile, inp.catalog)
    cands = serving_candidates(pb, cands, rps)
    best = search_windows(pb, cands, rps, deadline=math.inf)
    assert best.solved
    alts, baselines = compare(pb, cands, diag.unpruned, rps, best, deadline)
    return alts, baselines


def test_baselines_cut_by_the_time_limit_say_so() -> None:
    alts, baselines = _compare_with_deadline(0.0)  # the deadline has passed before comparing
    by_name = {b.name: b for b in baselines}
    assert alts == []
    for name in ("cheapest-single-type", "fastest-accelerator"):
        assert by_name[name].cost_per_hour is None
        assert by_name[name].description.endswith("(not solved: time limit reached)"), by_name[name]
        assert "infeasible" not in by_name[name].description


def test_baselines_with_time_are_solved_or_infeasible() -> None:
    alts, baselines = _compare_with_deadline(math.inf)
    by_name = {b.name: b for b in baselines}
    assert alts  # single-type plans exist for this example
    assert by_name["cheapest-single-type"].cost_per_hour is not None
    assert "time limit" not in " ".join(b.description for b in baselines)


def test_a_plan_with_an_unsolved_baseline_reads_back(tmp_path: Path) -> None:
    """UX trial 37 F1: a baseline the time limit cut (or one with no plan) has no cost, which
    the written plan leaves out (None is not written); optimize exited 0 with that plan.yaml
    and render, check, simulate and diff then refused it, exit 3 'baselines[2].cost_per_hour:
    required field is missing'. The plan optimize writes must read back."""
    from simulate_helpers import allocation, make_plan

    from scaleplan.plan import dump_plan, read_plan

    _, baselines = _compare_with_deadline(0.0)
    assert any(b.cost_per_hour is None for b in baselines)
    plan = make_plan([allocation()]).model_copy(update={"baselines": tuple(baselines)})
    f = tmp_path / "plan.yaml"
    f.write_text(dump_plan(plan), encoding="utf-8")
    written = f.read_text(encoding="utf-8").split("baselines:")[1].split("warnings:")[0]
    assert "cost_per_hour" not in written
    back = read_plan(f)
    assert [b.name for b in back.baselines] == [b.name for b in baselines]
    assert [b.cost_per_hour for b in back.baselines] == [None] * len(baselines)
