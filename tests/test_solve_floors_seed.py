"""The floors' branch and bound seeds a zone window that has no start (``floorbranch.
_seed_start``): only HiGHS's start and cutoff change, so every plan, status and bound is the
one found without it: the random cases of test_solve_floors_exact, and whole solves of
bench/solve_bench.py's zone spec over the shipped catalog (where the seed is taken).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from test_solve_floors_exact import SEEDS, _random_case, assert_same_floor_plan

from scaleplan.solve import floorbranch
from scaleplan.solve.search import search_windows


def _counting(seen: list[object]) -> Any:
    seed = floorbranch._seed_start

    def counted(model: Any, d: Any, cutoff: Any, pool: Any, deadline: float) -> Any:
        s = seed(model, d, cutoff, pool, deadline)
        if s is not None:
            seen.append(s)
            # it keeps the node's rules and serves the window, under the cutoff
            assert all(s.nodes[k] == 0 for k in model.barred)
            assert all(s.nodes[k] >= n and s.replicas[k] >= r for k, (n, r) in model.held.items())
            assert model.reroute(s, d) is not None
            assert cutoff is None or model.objective(s) <= cutoff + 1e-6
        return s

    return counted


def test_seed_starts_change_no_floor_plan_on_random_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in SEEDS:
        pb, cands, rps = _random_case(seed)
        o = search_windows(pb, cands, rps, deadline=time.perf_counter() + 60)
        assert_same_floor_plan(pb, o, rps, monkeypatch, (floorbranch, "_seed_start"), _counting([]))


@pytest.mark.parametrize("windows", [24, 7])
def test_seed_starts_change_no_zone_plan(windows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The zone benchmark (its HPA floors held by the branch and bound, 18 nodes at 24
    windows, four of whose windows had no start): the same plan as without the seeds."""
    from conftest import load_script

    from scaleplan.catalog.files import load_catalog
    from scaleplan.solve import SolveOptions, solve_demand

    bench = load_script(Path(__file__).resolve().parents[1] / "bench" / "solve_bench.py")
    cat = load_catalog()
    sp, prof = bench.spec("zone"), bench.synthetic_profile(cat)
    rps = bench.curve(windows)
    opts = SolveOptions(alternatives=False, time_limit=600)
    seen: list[object] = []
    with monkeypatch.context() as m:
        m.setattr(floorbranch, "_seed_start", _counting(seen))
        got = solve_demand(sp, prof, cat, rps, 24.0 / windows, options=opts).plan
    with monkeypatch.context() as m:
        m.setattr(floorbranch, "_seed_start", lambda *a, **k: None)
        old = solve_demand(sp, prof, cat, rps, 24.0 / windows, options=opts).plan
    assert seen  # the seed was taken
    assert got.status == "optimal"
    assert got.model_dump() == old.model_dump()
