"""routing: service, zone: the cover, zone and spot rows through integer columns W.

``even.build_even`` puts an integer column between theta's side and the replicas' side of
those three rows ((1+h) theta <= W_0 <= R, theta <= W_1 <= R - L, F theta <= W_2 <=
R_on-demand): the same plans, a search with far fewer B&B nodes. Here the model with them and
the model without them (the rows as they were, ``whole_columns`` giving none) re-solve the
same windows and must reach the same plans and costs; and the full start HiGHS gets
(``highs.start_vector``, W's values included) must satisfy every row of the model.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from solve_helpers import candidate

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import WindowModel, WindowProblem, WindowSolution
from scaleplan.solve.milp import even as even_mod
from scaleplan.solve.milp.highs import start_vector


def _moved(c: Candidate, region: str) -> Candidate:
    return replace(c, row=c.row.model_copy(update={"region": region}))


def fleet() -> list[Candidate]:
    """Fast dear and slow cheap types, spot and on-demand, 2 or 3 zones, 2 and 4 replicas per
    node, in two regions: needs are fractional and a zone's loss rounds up."""
    return [
        candidate("fast", price=3.1, cap=13.7, rpn=2, zones=3),
        candidate("fastspot", price=1.2, cap=13.7, rpn=2, spot=True, zones=3),
        candidate("slow", price=0.9, cap=4.3, zones=2),
        _moved(candidate("slowspot", price=0.35, cap=4.3, spot=True, zones=2), "us-west-2"),
        _moved(candidate("mid", price=2.2, cap=8.9, rpn=4, zones=3), "us-west-2"),
    ]


def problem(spot_f: float | None, headroom: float, peak: float) -> WindowProblem:
    cands = fleet()
    if spot_f is None:
        cands = [c for c in cands if c.capacity_type == "on-demand"]
    return WindowProblem(
        candidates=cands, classes=("default",), demand=(peak,), headroom=headroom,
        redundancy="zone", spot_max_fraction=spot_f, even=True, min_replicas=2,
    )


def solve_all(p: WindowProblem, demands: list[float]) -> tuple[WindowModel, list[WindowSolution]]:
    model = WindowModel(p)
    return model, [model.solve((d,), time_limit=30) for d in demands]


CASES = [(0.5, 0.2, 61.3), (0.3, 0.5, 47.9), (None, 0.2, 38.1), (1.0, 0.0, 52.6)]


@pytest.mark.parametrize(("spot_f", "headroom", "peak"), CASES)
def test_integer_columns_keep_every_optimum(
    spot_f: float | None, headroom: float, peak: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = problem(spot_f, headroom, peak)
    demands = [peak, peak * 0.37, peak * 0.81, peak * 0.12, peak * 0.66]
    new_model, new = solve_all(p, demands)
    assert len(new_model.whole) == (3 if spot_f is not None and spot_f < 1 else 2)
    assert all(w.cat == "Integer" for w in new_model.whole)
    monkeypatch.setattr(even_mod, "whole_columns", lambda fm, count: [])
    old_model, old = solve_all(p, demands)
    assert old_model.whole == []
    assert [s.status for s in new] == ["optimal"] * len(demands)
    assert [s.status for s in old] == ["optimal"] * len(demands)
    assert [s.nodes for s in new] == [s.nodes for s in old]
    assert [s.cost for s in new] == pytest.approx([s.cost for s in old], abs=1e-9)
    if spot_f is not None and spot_f < 1:  # on-demand and spot together: plans mix types
        assert any(sum(1 for n in s.nodes if n) > 1 for s in new)


@pytest.mark.parametrize(("spot_f", "headroom", "peak"), CASES)
def test_full_start_satisfies_every_row(spot_f: float | None, headroom: float, peak: float) -> None:
    demands = [peak, peak * 0.81, peak * 0.5, peak * 0.37]
    model, sols = solve_all(problem(spot_f, headroom, peak), demands)
    # the plan with the most candidates in use (spot and on-demand ones where spot is allowed)
    i = max(range(len(sols)), key=lambda j: (sum(1 for n in sols[j].nodes if n), -j))
    cands = model.p.candidates
    if spot_f is not None and spot_f < 1:
        kinds = {c.capacity_type for c, n in zip(cands, sols[i].nodes, strict=True) if n}
        assert kinds == {"spot", "on-demand"}
    model._set((demands[i],), None)  # the window the plan is for (what solve points at)
    cols, vals = start_vector(model, sols[i])
    h = model._highs
    lp = h.getLp()
    assert len(cols) == lp.num_col_  # a full start: every column, W's included
    x = np.zeros(lp.num_col_)
    x[np.asarray(cols)] = vals
    a = lp.a_matrix_
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    act = np.zeros(lp.num_row_)
    for j in range(lp.num_col_):
        np.add.at(act, index[start[j]:start[j + 1]], value[start[j]:start[j + 1]] * x[j])
    tol = 1e-7 * max(1.0, float(np.abs(x).max()))
    assert (act >= np.asarray(lp.row_lower_) - tol).all()
    assert (act <= np.asarray(lp.row_upper_) + tol).all()
