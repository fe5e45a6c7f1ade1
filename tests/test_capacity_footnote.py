"""The footnote under an LLM plan's table says what its starred capacities rest on. Until
2026-12-07 it was chosen by matching the words of the plan's warnings ("model.profile holds
no measured point", "architecture-only estimates"): a warning reworded, or dropped by a
hand-edited plan, changed the footnote. It is now read from the typed Plan.profile_unused."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_estimates import PLAN as ESTIMATES_PLAN

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import Plan, ProfileUnused, dump_plan, read_plan
from scaleplan.plan_report import summary_lines

ACCS = shipped_accelerators()  # the accelerator table the report prices start-ups by

ROOT = Path(__file__).resolve().parents[1]


def _footnote(plan: Plan) -> str:
    said = summary_lines(plan, [], accelerators=ACCS)
    (line,) = [t.text for t in said if t.text.startswith("* capacity from")]
    return line


@pytest.mark.parametrize(
    ("unused", "said"),
    [
        ("estimates-only", "the LLM model's estimates (no measured profile: uncalibrated)"),
        ("points-left-out",
         "the LLM model's estimates (the profile's points left out: uncalibrated)"),
        (None, "estimated profile points"),
    ],
)
def test_the_footnote_is_read_from_the_typed_field_not_the_warnings(
    unused: ProfileUnused | None, said: str
) -> None:
    plan = read_plan(ESTIMATES_PLAN)
    assert plan.profile_unused == "estimates-only"  # a profile of `profile llm` estimates
    # the warnings' words no longer decide it: none of them, or all of them, the same footnote
    for warnings in ((), (*plan.warnings, "capacity on X rests on architecture-only estimates")):
        shown = plan.model_copy(update={"profile_unused": unused, "warnings": warnings})
        assert _footnote(shown) == f"* capacity from {said}"


def test_the_field_is_left_out_of_a_plan_while_unset() -> None:
    """Plans whose profile calibrates (or that name none) are byte-identical to before."""
    plan = read_plan(ROOT / "examples" / "llm-70b-tp" / "plan.yaml")
    assert plan.profile_unused is None
    assert "profile_unused" not in dump_plan(plan)
    llm = read_plan(ESTIMATES_PLAN)
    assert dump_plan(llm).endswith("profile_unused: estimates-only\n")
