"""The optimizer plans on the sustained throughput, or on its lower CI bound when asked."""

from __future__ import annotations

from solve_helpers import catalog, point, profile, row, spec

from scaleplan.solve.candidates import build_candidates


def test_plans_on_sustained_not_quiet_and_conservative_takes_the_lower_bound() -> None:
    s = spec(placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0})
    prof = profile(point("L4", 4, 20.0, 200.0, throughput_quiet_rps=400.0, throughput_ci_rel=0.25, windows=6, stable=True))
    cands, _ = build_candidates(s, prof, catalog(row("g6.xlarge", "L4", 1, 0.8)))
    op = cands[0].points[0][1]
    # the quiet (fast-call) figure is never planned on
    assert op.throughput_rps == 200.0 and op.service_ms == 20.0
    s2 = spec(placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, "conservative": True})
    op2 = build_candidates(s2, prof, catalog(row("g6.xlarge", "L4", 1, 0.8)))[0][0].points[0][1]
    # conservative: 200 x (1 - 0.25) = 150 req/s, service time 4 / 150 s
    assert op2.throughput_rps == 150.0 and op2.service_ms == round(4000 / 150, 4)
    assert op2.capacity_rps < op.capacity_rps


def test_conservative_leaves_points_without_a_ci_alone() -> None:
    # no CI (imported or older profiles): the rate is used as is either way
    prof = profile(point("L4", 8, 30.0, 300.0))
    for conservative in (False, True):
        s = spec(placement={"providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0, "conservative": conservative})
        op = build_candidates(s, prof, catalog(row("g6.xlarge", "L4", 1, 0.8)))[0][0].points[0][1]
        assert op.throughput_rps == 300.0
