"""Where a feasible plan's gap comes from (solve.explain.gap_line): the MILP stopped at the
time limit (a longer --time-limit may close it), or a heuristic step measured against a lower
bound that leaves something out (the gap is that bound's looseness; more time does not close
it). The user's case: routing: gateway-api with spot.survive_loss over a day read "feasible,
gap 5.70%" with nothing saying that --time-limit could not change it.

What the bound leaves out is recorded by the step that made the plan (``Outcome.omits``,
scaleplan.solve.omission) and the line renders that record: the tests below run each step and
check what it recorded, and that the line changes with the record."""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from solve_helpers import catalog, point, profile, row, spec

from scaleplan.catalog.files import load_catalog
from scaleplan.catalog.model import Catalog
from scaleplan.plan import GAP_FROM_BOUND, GAP_FROM_SEARCH
from scaleplan.plan_report import gap_reason
from scaleplan.profile.model import Profile, read_profile
from scaleplan.solve import solve
from scaleplan.solve.after_search import after_search
from scaleplan.solve.assemble import allocations
from scaleplan.solve.candidates import build_candidates
from scaleplan.solve.diagnose import serving_candidates
from scaleplan.solve.explain import bound_leaves_out, gap_line, routing_line
from scaleplan.solve.omission import Left, Omission
from scaleplan.solve.problem import Problem, SolveOptions, demand_windows
from scaleplan.solve.search import Outcome, search_windows
from scaleplan.spec import Spec, read_spec

ROOT = Path(__file__).resolve().parents[1]


def _example(tmp_path: Path, name: str, edits: dict[str, str]) -> Path:
    src = ROOT / "examples" / name
    text = (src / "spec.yaml").read_text(encoding="utf-8")
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    shutil.copy(src / "profile.yaml", tmp_path / "profile.yaml")
    return tmp_path / "spec.yaml"


VISION_SPOT_GATEWAY = {
    "  min_replicas: 2\n": (
        "  min_replicas: 2\n  spot: {allowed: true, max_fraction: 0.5, survive_loss: true}\n"
    ),
    "  flavor: gke\n": "  flavor: gke\n  routing: gateway-api\n  gateway: {name: gw}\n",
}


def _spec(tmp_path: Path, name: str, edits: dict[str, str]) -> Spec:
    sp, _ = read_spec(_example(tmp_path, name, edits))
    return sp


def _outcome(
    status: str = "feasible", cost: float = 2.0, bound: float = 1.5, **kw: object
) -> Outcome:
    return Outcome([], [], status, cost, bound, **kw)  # type: ignore[arg-type]


def _planned(
    sp: Spec, prof: Profile, cat: Catalog | None = None
) -> tuple[Problem, Outcome]:
    """The plan's outcome as solve makes it: the search, then the step after it
    (``static.after_search``), with what that step recorded."""
    pb = Problem.of(sp, SolveOptions(alternatives=False))
    rps, _ = demand_windows(sp)
    cands, _ = build_candidates(sp, prof, cat or load_catalog([]))
    cands = serving_candidates(pb, cands, rps)
    deadline = time.perf_counter() + pb.options.time_limit
    o = search_windows(pb, cands, rps, deadline=deadline)
    return pb, after_search(pb, o, rps, deadline)


def _example_planned(tmp_path: Path, name: str, edits: dict[str, str]) -> tuple[Problem, Outcome]:
    path = _example(tmp_path, name, edits)
    sp, _ = read_spec(path)
    return _planned(sp, read_profile(tmp_path / "profile.yaml"))


def test_user_case_says_the_gap_is_the_bounds_not_the_time_limits(tmp_path: Path) -> None:
    path = _example(tmp_path, "vision-daily", VISION_SPOT_GATEWAY)
    sp, _ = read_spec(path)
    plan = solve(sp, read_profile(tmp_path / "profile.yaml"), load_catalog([])).plan
    assert plan.status == "feasible" and plan.gap and plan.gap > 0.01
    lines = [s for s in plan.explanation if s.startswith("Gap ")]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith(f"Gap {plan.gap:.2%} (status feasible): ")
    assert GAP_FROM_BOUND in line and "does not close it" in line
    assert "HTTPRoute weights fixed over the day" in line
    assert "spot.survive_loss held at those fixed weights" in line
    assert GAP_FROM_SEARCH not in line
    why = gap_reason(plan)
    assert why is not None and why.startswith("heuristic vs a loose bound")
    # the time-limit warning does not claim the search was cut short
    assert not any(w.startswith("stopped by the time limit") for w in plan.warnings)


def test_milp_stopped_at_the_time_limit(tmp_path: Path) -> None:
    sp = _spec(tmp_path, "vision-daily", {})
    pb = Problem.of(sp, SolveOptions(time_limit=7))
    line = gap_line(pb, _outcome(proven=False))
    assert line is not None
    assert line.startswith("Gap 25.00% (status feasible): the MILP search stopped at the time")
    assert "(7 s)" in line and GAP_FROM_SEARCH in line and GAP_FROM_BOUND not in line


def test_optimal_has_no_gap_line(tmp_path: Path) -> None:
    sp = _spec(tmp_path, "vision-daily", VISION_SPOT_GATEWAY)
    assert gap_line(Problem.of(sp, SolveOptions()), _outcome("optimal", 2.0, 2.0)) is None


def test_static_weights_over_a_curve_record_the_fixed_weights(tmp_path: Path) -> None:
    """best_static (vision-daily, gateway-api, spot with survive_loss) records the route's
    weights fixed all day and survive_loss at those weights; the line names both. Its spec's
    hpa then holds minReplicas 1 of every allocation in every hour (solve/floors.py), whose
    plan is measured against the same bound: that is recorded too."""
    pb, o = _example_planned(tmp_path, "vision-daily", VISION_SPOT_GATEWAY)
    assert o.status == "feasible" and o.proven
    assert o.omits == (
        Omission(Left.WEIGHTS_FIXED_ALL_DAY),
        Omission(Left.WEIGHTS_SPOT_LOSS),
        Omission(Left.REPLICA_FLOOR),
    )
    line = gap_line(pb, o)
    assert line is not None and "HTTPRoute weights fixed over the day" in line
    assert "spot.survive_loss held at those fixed weights" in line
    assert "time limit" not in line  # the bound's search was proven
    unproven = gap_line(pb, replace(o, proven=False))
    assert unproven is not None and unproven.startswith(line)
    assert "search behind that bound also stopped at the time limit" in unproven


CURVE = "  hourly_rps: [" + ", ".join(["2"] * 12 + ["6"] * 12) + "]\n"
HEADER = {"  routing: gateway-api\n": "  routing: gateway-api\n  class_header: x-class\n"}
SURVIVE = {"    max_fraction: 0.5\n": "    max_fraction: 0.5\n    survive_loss: true\n"}


def test_class_rules_over_a_curve_record_the_rules_fixed_all_day(tmp_path: Path) -> None:
    """rulecurve.class_rules_day (llm-chat over a day with a class header, n+1) records the
    rules' one weight set and the redundancy its bound drops; with survive_loss, that too."""
    pb, o = _example_planned(tmp_path, "llm-chat", {"  peak_rps: 6\n": CURVE, **HEADER})
    rules, red = Omission(Left.RULES_FIXED_ALL_DAY), Omission(Left.RULES_REDUNDANCY, "n+1")
    assert o.status == "feasible" and o.omits == (rules, red)
    line = gap_line(pb, o)
    assert line is not None and GAP_FROM_BOUND in line
    assert "per-class rules that hold one set of weights all day" in line
    assert "redundancy n+1 (the per-class search keeps a spare per type" in line
    assert "survive_loss" not in line  # not asked for
    rps, _ = demand_windows(pb.spec)
    route = routing_line(pb, allocations(pb, o, rps)[0], o, rps)
    assert "each hour's classes routed on their own, redundancy n+1 left out" in route
    unrecorded = replace(o, omits=(rules,))  # the routing line reads the record too
    assert "left out" not in routing_line(pb, allocations(pb, o, rps)[0], unrecorded, rps)
    pb, held = _example_planned(
        tmp_path, "llm-chat", {"  peak_rps: 6\n": CURVE, **HEADER, **SURVIVE}
    )
    assert held.omits == (rules, red, Omission(Left.RULES_SPOT_LOSS))
    line = gap_line(pb, held)
    assert line is not None and "spot.survive_loss held at the rules' fixed weights" in line


def test_class_blind_route_over_a_curve_records_the_class_mix_and_spares(tmp_path: Path) -> None:
    """best_static with mix_bounded (llm-chat over a day, no header, n+1) records the fixed
    weights, the class mix every backend receives and the spare per backend Service."""
    pb, o = _example_planned(tmp_path, "llm-chat", {"  peak_rps: 6\n": CURVE})
    assert o.status == "feasible" and o.omits == (
        Omission(Left.WEIGHTS_FIXED_ALL_DAY),
        Omission(Left.CLASS_MIX),
        Omission(Left.SPARE_PER_BACKEND, "n+1"),
    )
    line = gap_line(pb, o)
    assert line is not None and GAP_FROM_BOUND in line
    assert "one class mix sent to every backend" in line
    assert "redundancy n+1 as one spare per backend Service" in line
    assert "survive_loss" not in line  # not asked for in llm-chat


def test_one_window_rounding_repair_records_the_integer_weights() -> None:
    """static.hold_rounded_spot (the toy of test_solve_spot_loss: the route's 70/30 weights
    send 35.0 % to spot against max_fraction 0.349) records the route's integer weights."""
    cat = catalog(
        row("g6.xlarge", "L4", 1, 1.0, spot=0.44), row("g5.xlarge", "A10G", 1, 1.37, spot=0.44)
    )
    prof = profile(point("L4", 8, 20.0, 304.0), point("A10G", 8, 20.0, 451.0))
    sp = spec(
        traffic={"peak_rps": 2230.0, "headroom": 0.0},
        slo={"latency_ms": 100, "percentile": 95},
        placement={
            "providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0,
            "redundancy": "zone", "spot": {"allowed": True, "max_fraction": 0.349},
        },
        kubernetes={"image": "example.com/svc:1.0", "routing": "gateway-api",
                    "gateway": {"name": "gw"}},
    )
    pb, o = _planned(sp, prof, cat)
    assert o.status == "feasible" and "integer weights put 35.0%" in o.note
    assert o.omits == (Omission(Left.INTEGER_WEIGHTS),)
    line = gap_line(pb, o)
    assert line is not None and GAP_FROM_BOUND in line
    assert "the HTTPRoute's integer weights" in line


def test_one_window_loss_repair_records_the_integer_weights() -> None:
    """delivered.hold_delivered_loss (test_solve_delivered_headroom's toy: the T4 Service's
    68.55 % rounds to 69, over its headroom; 4 T4 + 3 L4 hold it, feasible) records the
    route's integer weights."""
    cat = catalog(row("g6.xlarge", "L4", 1, 1.22), row("g4dn.xlarge", "T4", 4, 4.49))
    prof = profile(point("L4", 8, 20.0, 447.0), point("T4", 8, 20.0, 487.0))
    sp = spec(
        traffic={"peak_rps": 2454.0, "headroom": 0.1}, slo={"latency_ms": 100, "percentile": 95},
        kubernetes={"image": "example.com/svc:1.0", "routing": "gateway-api",
                    "gateway": {"name": "gw"}},
    )
    pb, o = _planned(sp, prof, cat)
    assert o.status == "feasible" and o.note.startswith("traffic.headroom as the HTTPRoute")
    assert o.omits == (Omission(Left.INTEGER_WEIGHTS),)
    line = gap_line(pb, o)
    assert line is not None and "the HTTPRoute's integer weights" in line


def test_the_line_renders_the_record(tmp_path: Path) -> None:
    """The line is the step's record, not recognised from the spec: the same outcome with
    another record reads that record, with none it is no heuristic's, and every omission has
    words of its own (in the record's order, the redundancy it names filled in)."""
    pb, o = _example_planned(tmp_path, "vision-daily", VISION_SPOT_GATEWAY)
    line = gap_line(pb, o)
    other = gap_line(pb, replace(o, omits=(Omission(Left.CLASS_MIX),)))
    assert line is not None and other is not None and other != line
    assert "one class mix sent to every backend" in other
    assert "HTTPRoute weights fixed over the day" not in other
    bare = gap_line(pb, replace(o, omits=()))
    assert bare is not None and "heuristic step" not in bare
    assert "which finished" in bare  # o.proven: the fallback for a step that recorded nothing
    words = {x: bound_leaves_out(_outcome(omits=(Omission(x, "zone"),))) for x in Left}
    assert all(w for w in words.values()) and len(set(words.values())) == len(Left)
    assert "redundancy zone" in (words[Left.SPARE_PER_BACKEND] or "")
    assert "redundancy zone" in (words[Left.RULES_REDUNDANCY] or "")
    two = (Omission(Left.WEIGHTS_SPOT_LOSS), Omission(Left.WEIGHTS_FIXED_ALL_DAY))
    assert bound_leaves_out(_outcome(omits=two)) == (
        f"{words[Left.WEIGHTS_SPOT_LOSS]}; {words[Left.WEIGHTS_FIXED_ALL_DAY]}"
    )
    assert bound_leaves_out(_outcome()) is None


def test_headline_reason_fits_80_columns(tmp_path: Path) -> None:
    path = _example(tmp_path, "vision-daily", VISION_SPOT_GATEWAY)
    sp, _ = read_spec(path)
    plan = solve(sp, read_profile(tmp_path / "profile.yaml"), load_catalog([])).plan
    slow = plan.model_copy(update={"explanation": tuple(
        replace_line(s) for s in plan.explanation
    )})
    for p in (plan, slow):
        why = gap_reason(p)
        assert why is not None and len(f"  gap: {why}") <= 80
    assert gap_reason(slow) == "the MILP stopped at the time limit; a longer --time-limit may help"
    assert gap_reason(plan.model_copy(update={"status": "optimal"})) is None
    assert math.isfinite(plan.cost_per_hour)


def replace_line(s: str) -> str:
    return f"Gap 1.00% (status feasible): ... {GAP_FROM_SEARCH}." if s.startswith("Gap ") else s


def test_optimize_report_and_json_say_the_reason(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = _example(tmp_path, "vision-daily", VISION_SPOT_GATEWAY)
    out = tmp_path / "out"
    text = cli(["optimize", str(spec), "--out", str(out), "--no-manifests"]).stdout.splitlines()
    head = next(i for i, s in enumerate(text) if s.startswith("Plan for vision: feasible, gap "))
    reason = "  gap: heuristic vs a loose bound, not the time limit (see explanation)"
    assert text[head + 1] == reason and len(reason) <= 80
    args = ["optimize", str(spec), "--out", str(out), "--json", "--no-manifests"]
    doc = json.loads(cli(args).stdout)
    assert doc["gap_reason"] == reason.removeprefix("  gap: ")
    assert any(s.startswith("Gap ") and GAP_FROM_BOUND in s for s in doc["explanation"])


def test_a_finished_search_is_never_blamed_on_the_time_limit(tmp_path: Path) -> None:
    """A feasible plan from a step that recorded nothing (a one-window plan, no repair note)
    whose search finished: the line says the search finished, never 'time limit'."""
    sp = _spec(tmp_path, "vision-daily", {})
    line = gap_line(Problem.of(sp, SolveOptions()), _outcome(proven=True))
    assert line is not None and "which finished" in line and GAP_FROM_BOUND in line
    assert "time limit (" not in line and GAP_FROM_SEARCH not in line


def test_the_milps_own_plan_stopped_at_the_time_limit_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan that is the search's own (vision-daily, routing: service, KEDA: no step after it),
    whose windows the MILP did not prove (the time limit; simulated: every window 'feasible'
    with a bound 10 % under its cost): the gap line and the report blame the time limit. The
    search's outcome said proven (the field's default), so the line read 'a step after the
    search, which finished ... a longer --time-limit does not close it'."""
    from scaleplan.solve import search

    real = search.solve_windows

    def stopped(*a: Any, **kw: Any) -> Any:
        return {
            d: replace(s, status="feasible", bound=0.9 * s.cost) if s.status == "optimal" else s
            for d, s in real(*a, **kw).items()
        }

    monkeypatch.setattr(search, "solve_windows", stopped)
    # under KEDA: with the default hpa the replica floor's step (solve/floors.py) follows
    path = _example(tmp_path, "vision-daily", {"    type: hpa\n": "    type: keda-prometheus\n"})
    sp, _ = read_spec(path)
    plan = solve(
        sp, read_profile(tmp_path / "profile.yaml"), load_catalog([]),
        options=SolveOptions(alternatives=False),
    ).plan
    assert plan.status == "feasible" and plan.gap == pytest.approx(0.1, abs=1e-6)
    line = next(s for s in plan.explanation if s.startswith("Gap "))
    assert "the MILP search stopped at the time limit" in line and GAP_FROM_SEARCH in line
    assert gap_reason(plan) == "the MILP stopped at the time limit; a longer --time-limit may help"
    warned = "stopped by the time limit: the plan is feasible"
    assert any(w.startswith(warned) for w in plan.warnings)


def test_one_window_mix_records_the_integer_weights_for_the_static_plan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """mixwindow.mixed_one_window, where the static re-plan undercuts the exact plan (whose
    loss step did not finish proven): the static plan, measured against the exact plan's bound,
    records the route's integer weights where that bound is proven, nothing where it is not
    (its gap is then the time limit's)."""
    from scaleplan.solve import mixwindow

    heur = _outcome(cost=2.5, bound=2.0, shares=[1.0])
    monkeypatch.setattr(mixwindow, "best_static", lambda *a: heur)
    for proven, omits in ((True, (Omission(Left.INTEGER_WEIGHTS),)), (False, ())):
        exact = _outcome(cost=3.0, bound=2.2, proven=proven, omits=(Omission(Left.CLASS_MIX),))
        monkeypatch.setattr(mixwindow, "_one_window_mix", lambda *a, e=exact: e)
        out = mixwindow.mixed_one_window(None, heur, [1.0], 0.0, True)  # type: ignore[arg-type]
        assert out.cost == 2.5 and out.bound == 2.2 and out.omits == omits
