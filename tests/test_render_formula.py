"""The KEDA expressions render writes are read back by one reader, scaleplan.render.formula
(simulate --replicas autoscaler, check --plan and the tests use it): a rendered formula reads
back to the chain render computed, byte for byte, and runs the plan's count at and just past
every bound; anything outside the subset render writes is refused, with the reason, by the
reader, by the replay (exit 3) and by check's drift finding, rather than evaluated by a guess."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tables_helpers import shipped_tables

from scaleplan.check import check_paths
from scaleplan.plan import Plan, read_plan
from scaleplan.render import render_report
from scaleplan.render.allocations import Alloc
from scaleplan.render.formula import (
    FormulaError,
    StepFormula,
    gate_runs,
    gated_query,
    parse_formula,
    step_formula,
)
from scaleplan.render.replay import Unreplayable, formula_count
from scaleplan.render.spare import planned_count, steps

ROOT = Path(__file__).resolve().parents[1]
KAFKA = ROOT / "examples" / "embedding-kafka" / "plan.yaml"
VISION = ROOT / "examples" / "vision-daily" / "plan.yaml"


def _keda(plan: Plan) -> Plan:
    k8s = plan.spec.kubernetes
    asc = k8s.autoscaler.model_copy(update={"type": "keda-prometheus"})
    spec = plan.spec.model_copy(update={"kubernetes": k8s.model_copy(update={"autoscaler": asc})})
    return plan.model_copy(update={"spec": spec})


def _scaled(plan: Plan) -> list[dict[str, Any]]:
    objs = render_report(plan, shipped_tables()).objects
    return [o.obj for o in objs if o.kind == "ScaledObject"]


@pytest.mark.parametrize("plan", [read_plan(KAFKA), _keda(read_plan(VISION))],
                         ids=["embedding-kafka", "vision-daily-keda"])
def test_rendered_formulas_read_back_and_run_the_plans_count_at_every_bound(plan: Plan) -> None:
    """Each rendered formula reads back to itself (byte for byte) and, at every bound and just
    past it, to the count of the chain render computed from the plan's rule (planned_count at
    the metric over the trigger's threshold), the last count above the last bound; the replay
    reads the same."""
    seen = 0
    for so in _scaled(plan):
        mods = so["spec"]["advanced"].get("scalingModifiers")
        if mods is None:
            continue
        seen += 1
        text = mods["formula"]
        f = parse_formula(text)
        assert f.text() == text
        (trig,) = so["spec"]["triggers"]
        assert f.var == trig["name"]
        hi = so["spec"]["maxReplicaCount"]
        counts = [n for _, n in f.steps] + [f.last]
        for i, b in enumerate(f.breakpoints()):
            for metric, want in ((b, counts[i]), (b + 1e-3, counts[i + 1])):
                got = f.count({f.var: metric})
                assert got == want == formula_count(text, {f.var: metric}), (b, metric)
                assert got <= hi
        assert f.count({f.var: 10 * max(f.breakpoints()) + 1}) == f.last == hi
        assert counts == sorted(counts)  # more load, never fewer pods
    assert seen


def test_the_chain_render_computes_is_the_one_read_back() -> None:
    """spare.steps (the plan's rule at each bound) -> the written text -> parse gives the same
    (bound, count) pairs, bounds to KEDA's three decimals; and each count is the plan's rule at
    its bound."""
    plan = read_plan(KAFKA)
    (so, *_) = _scaled(plan)
    f = parse_formula(so["spec"]["advanced"]["scalingModifiers"]["formula"])
    threshold = float(so["spec"]["triggers"][0]["metadata"]["lagThreshold"])
    al = next(a for a in _allocs(plan) if a.name == so["spec"]["scaleTargetRef"]["name"])
    chain = steps(plan, al, threshold, threshold)
    assert step_formula(f.var, chain) == f
    for b, n in f.steps[1:]:
        rule = planned_count(plan, al, b / threshold, b / threshold)
        assert n == min(so["spec"]["maxReplicaCount"], rule), (b, n, rule)


def _allocs(plan: Plan) -> list[Alloc]:
    from scaleplan.render.allocations import accelerator_table, derive_allocations

    live = [(i, a) for i, a in enumerate(plan.allocations) if a.replicas > 0]
    table = accelerator_table(shipped_tables().accelerators)
    return derive_allocations(plan, live, table, [], "<plan>")


REFUSED = [
    ("lag / 1000", "not wrapped in float"),
    ("float(lag / 1000)", "is not a step nor a last count"),
    ("float(lag <= 0 ? 0 : ceil(lag / 1000))", "is not a step nor a last count"),
    ("float(lag <= 0 ? 0 : lag <= 10 ? 2 : 3) + 1", "not wrapped in float"),
    ("float(lag <= 0 ? 0 : other <= 10 ? 2 : 3)", "reads 'lag' and 'other', not one trigger"),
    ("float(lag <= 20 ? 2 : lag <= 10 ? 3 : 4)", "bounds fall (20, then 10)"),
    ("float(lag <= 10 ? 2 : lag <= 10 ? 3 : 4)", "bounds repeat (10, then 10)"),
    ("float(lag <= 10 ? 2 : lag <= 10.000 ? 3 : 4)", "bounds repeat (10, then 10.000)"),
    ("float(lag < 10 ? 2 : 3)", "is not a step nor a last count"),
    ("float(lag <= 10 ? 2.5 : 3)", "is not a step nor a last count"),
    ("float(lag <= -1 ? 2 : 3)", "is not a step nor a last count"),
    ("float(lag <= 10 ? 2 : lag > 10 ? 3 : 4)", "is not a step nor a last count"),
    ("float(3)", "no step on a trigger"),
]


@pytest.mark.parametrize(("text", "why"), REFUSED)
def test_a_formula_outside_what_render_writes_is_refused(text: str, why: str) -> None:
    with pytest.raises(FormulaError, match="scaleplan reads only the chain render writes") as exc:
        parse_formula(text)
    assert why in str(exc.value)
    with pytest.raises(Unreplayable, match="scalingModifiers: cannot read the formula"):
        formula_count(text, {"lag": 5.0, "other": 5.0})


def test_a_formula_on_a_trigger_the_object_lacks_is_refused() -> None:
    with pytest.raises(FormulaError, match="reads 'lag', which names no trigger"):
        parse_formula("float(lag <= 0 ? 0 : 2)").count({"requests": 1.0})


def test_spacing_is_free_and_the_text_is_render_s() -> None:
    f = parse_formula(" float ( lag<=0?0 :lag <= 10.50 ?2:3 ) ")
    assert f == StepFormula("lag", ((0.0, 0), (10.5, 2)), 3)
    assert f.text() == "float(lag <= 0 ? 0 : lag <= 10.5 ? 2 : 3)"
    # a bound render would round is written back exactly, never rounded into another formula
    assert parse_formula("float(lag <= 10.12345 ? 2 : 3)").text() == (
        "float(lag <= 10.12345 ? 2 : 3)")


def test_hour_gates_read_back_and_an_edited_gate_is_refused() -> None:
    """Gates are minutes of the UTC day (runs open early by the pods' start-up time); the
    whole-hour gate render wrote until 2026-12-06 is not read (check: drift)."""
    runs = ((0, 360), (1074, 1440))
    q = gated_query("sum(rate(x[2m]))", runs)
    day = "hour() * 60 + minute()"
    assert q == f"(sum(rate(x[2m]))) and on() (({day} >= 0 and {day} < 360) or " \
        f"({day} >= 1074 and {day} < 1440))"
    assert gate_runs(q) == runs
    old = "(sum(rate(x[2m]))) and on() ((hour() >= 0 and hour() < 6))"
    for bad in ("sum(rate(x[2m]))", q.replace("< 360", "<= 360"), q.replace("< 1440", "< 1441"),
                q.replace(" or ", " and "), q + " > 0", old):
        with pytest.raises(FormulaError):
            gate_runs(bad)


def _check_with_formula(tmp_path: Path, edit: Callable[[str], str]) -> list[str]:
    """check --plan's drift messages for embedding-kafka's manifests with its first
    ScaledObject's formula edited by ``edit``."""
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.render import render
    from scaleplan.yamlio import dump_yaml_all

    plan = read_plan(KAFKA)
    out = tmp_path / "out"
    write_manifests(out, render(plan, shipped_tables()))
    (path, *_) = sorted(out.glob("scaledobject-*.yaml"))
    doc = yaml.safe_load(path.read_text())
    mods = doc["spec"]["advanced"]["scalingModifiers"]
    mods["formula"] = edit(mods["formula"])
    path.write_text(dump_yaml_all([doc]))
    report = check_paths([out], plan=plan, plan_file=str(KAFKA), catalog=shipped_tables())
    return [f.message for f in report.findings if f.rule == "drift"]


def test_check_reads_the_formula_spacing_is_not_drift(tmp_path: Path) -> None:
    """The same chain, spaced otherwise or with a trailing zero, is the plan's formula."""
    def respaced(text: str) -> str:
        return text.replace(" <= ", "<=").replace(" ? ", "?").replace(" : ", ":")

    assert _check_with_formula(tmp_path, respaced) == []


def test_check_says_why_an_edited_formula_is_not_read(tmp_path: Path) -> None:
    (msg,) = _check_with_formula(tmp_path, lambda _: "float(lag <= 0 ? 0 : ceil(lag / 1000))")
    assert msg.startswith("scalingModifiers.formula is 'float(lag <= 0 ? 0 : ceil(lag / 1000))' "
                          "(not read: 'ceil(lag / 1000)' is not a step nor a last count; "
                          "scaleplan reads only the chain render writes"), msg
    assert ", the plan renders 'float(lag <= 0 ? 0 : " in msg


def test_check_flags_a_formula_read_but_changed(tmp_path: Path) -> None:
    """A formula in the subset whose counts differ is drift, shown as render writes it."""
    def one_less(text: str) -> str:
        f = parse_formula(text)
        return StepFormula(f.var, f.steps, f.last - 1).text()

    (msg,) = _check_with_formula(tmp_path, one_less)
    assert msg.startswith("scalingModifiers.formula is 'float(lag <= 0 ? 0 : "), msg
    assert "not read" not in msg


def test_a_gate_that_covers_part_of_the_query_is_refused() -> None:
    """`(a) or (b) and on() (gate)` gates b only (PromQL's `and` binds tighter than `or`): a
    gate render does not write, read as gating the whole query (review). A parenthesis inside
    a quoted label value does not count."""
    gate = " and on() ((hour() * 60 + minute() >= 474 and hour() * 60 + minute() < 1080))"
    with pytest.raises(FormulaError):
        gate_runs("(sum(rate(a[2m]))) or (sum(rate(b[2m])))" + gate)
    quoted = '(sum(rate(x{path=~"/v1/(chat"}[2m])))' + gate
    assert gate_runs(quoted) == ((474, 1080),)


def test_bounds_equal_at_three_decimals_are_written_once_and_read_back() -> None:
    """Two rising bounds of a chain that KEDA's three decimals make equal (30 and 30 plus an
    ulp, from two thresholds' multiples): the second step is never reached, so it is not
    written, and the text reads back (a repeated bound is refused)."""
    chain = [(0.0, 0), (30.0, 2), (30.000000000000004, 3), (40.0002, 4), (40.0004, 5),
             (math.inf, 6)]
    f = step_formula("lag", chain)
    assert f.text() == "float(lag <= 0 ? 0 : lag <= 30 ? 2 : lag <= 40 ? 4 : 6)"
    assert parse_formula(f.text()) == f
