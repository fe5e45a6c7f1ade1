"""bench/mixed_stream_sweep.py: random one-window multi-class gateway-api cases (no
class_header) checked as the rendered HTTPRoute delivers them. Ten cases of the seed behind
docs/optimizer.md's figures: none overloaded as delivered, none over spot.max_fraction, every
allocation routed one share of every class; and its check catches a backend sent more than
its pods carry."""

from __future__ import annotations

from pathlib import Path

from conftest import load_script

from scaleplan.solve import solve
from scaleplan.solve.candidates import build_candidates

SWEEP = load_script(Path(__file__).resolve().parents[1] / "bench" / "mixed_stream_sweep.py")


def test_ten_cases_hold_as_delivered() -> None:
    s = SWEEP.sweep(10, 7)
    assert s.cases == 10 and s.infeasible == 0
    assert s.overloaded == [] and s.spot_over == []
    assert 0.5 < s.worst[0] <= 1 + 1e-6
    assert s.one_share
    assert sum(s.statuses.values()) == 10
    lines = "\n".join(s.lines())
    assert "overloaded as delivered: 0" in lines and "not proven optimal:" in lines


def test_the_check_sees_an_overloaded_backend() -> None:
    """The same plan with one replica per allocation (300 rps or more against at most 500 per
    pod of its best class): a backend's pods carry more than their capacity as delivered."""
    import random

    sp, prof, cat = SWEEP.case(random.Random(7))
    plan = solve(sp, prof, cat, options=SWEEP.FAST).plan
    cands, _ = build_candidates(sp, prof, cat)
    before = max(SWEEP.delivered_utilization(plan, cands).values())
    allocs = [a.model_copy(update={"replicas": 1, "replicas_per_window": (1,), "nodes": 1})
              for a in plan.allocations]
    short = plan.model_copy(update={"allocations": allocs})
    after = max(SWEEP.delivered_utilization(short, cands).values())
    assert before <= 1 + 1e-6 < after
