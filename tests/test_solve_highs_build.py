"""HiGHS's model built from PuLP's in a few highspy calls (solver.build_highs) is the one PuLP's
own pulp.HiGHS.buildSolverModel builds call by call: the same columns, rows, coefficients,
bounds and integer marks in the same order, and the same indices on PuLP's objects, so HiGHS
runs the same solve. Checked on real window models (routing: service and gateway-api, zone
and n+1) and on small LPs with the cases PuLP's build handles on the way (unsorted names, a
variable in no row, zero coefficients, an empty row, free and fixed columns, maximise)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import highspy
import pulp
import pytest

from scaleplan.inputs import load_inputs
from scaleplan.solve import SolveOptions
from scaleplan.solve.candidates import build_candidates
from scaleplan.solve.milp import WindowModel
from scaleplan.solve.milp.solver import build_highs, lp_solver, make_solver
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import search_windows, window_problem

ROOT = Path(__file__).resolve().parents[1]


def _arrays(h: Any) -> dict[str, list[Any]]:
    lp = h.getLp()
    a = lp.a_matrix_
    out = {
        name: list(getattr(lp, name))
        for name in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_")
    }
    out["integrality"] = [str(v) for v in lp.integrality_]
    out["matrix"] = [str(a.format_), list(a.start_), list(a.index_), list(a.value_)]
    out["shape"] = [lp.num_col_, lp.num_row_, str(lp.sense_), lp.offset_]
    return out


def _built(prob: Any, build: str) -> tuple[dict[str, list[Any]], list[int], list[int]]:
    """HiGHS's model of ``prob`` by PuLP's build ("pulp") or build_highs ("ours"), and the
    indices each left on PuLP's variables and rows."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    prob.solverModel = h
    if build == "pulp":
        pulp.HiGHS(msg=False).buildSolverModel(prob)
    else:
        build_highs(h, prob)
    cols = [v.index for v in prob.variables()]
    rows = [c.index for c in prob._constraints.values()]
    return _arrays(h), cols, rows


def _window_model(example: str, redundancy: str, routing: str | None = None) -> WindowModel:
    inp = load_inputs(str(ROOT / "examples" / example / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    data["placement"]["redundancy"] = redundancy
    data["placement"]["spot"] = {"allowed": True, "max_fraction": 0.5}
    if routing is not None:
        data["kubernetes"]["routing"] = routing
        data["kubernetes"]["gateway"] = {"name": "gw"}
    spec = type(inp.spec).model_validate(data)
    pb = Problem.of(spec, SolveOptions(time_limit=60))
    cands, _ = build_candidates(spec, inp.profile, inp.catalog)
    curve = [400.0, 1800.0, 3000.0]
    o = search_windows(pb, cands, curve, deadline=time.perf_counter() + 60)
    base, demands = window_problem(pb, o.cands, curve)
    model = WindowModel(base)
    model.solve(demands[0])  # a window's bounds and big-Ms written into PuLP's model
    return model


@pytest.mark.parametrize(
    ("example", "redundancy", "routing"),
    [
        ("vision-daily", "zone", None),
        ("vision-daily", "n+1", None),
        ("vision-daily", "zone", "gateway-api"),
        ("embedding-cpu-gpu", "none", None),
    ],
)
def test_a_window_model_builds_the_highs_model_pulp_builds(
    example: str, redundancy: str, routing: str | None
) -> None:
    model = _window_model(example, redundancy, routing)
    if routing == "gateway-api":
        assert not model.p.even
    else:
        assert model.p.even
    theirs = _built(model.prob, "pulp")
    ours = _built(model.prob, "ours")
    assert theirs[0]["integrality"].count("HighsVarType.kInteger") > 0
    assert ours == theirs


def _small_lp(sense: int) -> tuple[Any, list[Any]]:
    lp = pulp.LpProblem("small", sense)
    z = lp.add_variable("z_last", lowBound=0, upBound=4)
    a = lp.add_variable("a_first", lowBound=None, upBound=None)  # free
    m = lp.add_variable("m_mid", lowBound=2.5, upBound=2.5)  # fixed
    n = lp.add_variable("n_int", lowBound=0, upBound=9, cat="Integer")
    lp.add_variable("unused", lowBound=0)  # in no row and not in the objective
    lp.setObjective(pulp.LpAffineExpression([(z, 1.0), (a, 0.5), (n, -2.0)]))
    rows = [
        ("ge", [(z, 1.0), (a, 1.0)], pulp.LpConstraintGE, 1.0),
        ("le_zero_coef", [(a, 1.0), (m, 0.0), (n, 1.0)], pulp.LpConstraintLE, 7.0),
        ("eq", [(m, 1.0), (z, -1.0)], pulp.LpConstraintEQ, 0.5),
        ("empty", [(m, 0.0)], pulp.LpConstraintLE, 3.0),
    ]
    for name, terms, kind, rhs in rows:
        expr = pulp.LpAffineExpression(terms)
        lp.addConstraint(pulp.LpConstraint(expr, kind, name, rhs))
    return lp, [z, a, m, n]


@pytest.mark.parametrize("sense", [pulp.LpMinimize, pulp.LpMaximize])
def test_small_lps_build_and_solve_the_same(sense: int) -> None:
    lp, xs = _small_lp(sense)
    theirs = _built(lp, "pulp")
    ours = _built(lp, "ours")
    assert [v.name for v in lp.variables()] == ["a_first", "m_mid", "n_int", "z_last"]
    assert ours == theirs
    got = []
    for solver in (pulp.HiGHS(msg=False, timeLimit=60.0), lp_solver()):
        lp, xs = _small_lp(sense)
        lp.solve(solver)
        got.append((lp.status, lp.sol_status, [v.varValue for v in xs], pulp.value(lp.objective)))
    assert got[0] == got[1]
    assert got[0][0] == pulp.LpStatusOptimal


def test_window_and_routing_solvers_build_through_build_highs() -> None:
    for solver in (make_solver("highs", 1.0), lp_solver()):
        assert isinstance(solver, pulp.HiGHS)
        assert type(solver).buildSolverModel is not pulp.HiGHS.buildSolverModel
