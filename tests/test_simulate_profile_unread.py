"""``simulate --profile FILE`` on an LLM plan whose every allocation records its predictions
(llm.classes): the file is not read, and a note says so (UX trial 34 F4: another model's
profile was taken without a word; docs/simulate.md reads it only for allocations without
llm.classes)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "llm-chat" / "plan.yaml"


def test_a_profile_no_allocation_needs_is_noted_not_read() -> None:
    from scaleplan.llm_inputs import llm_profile_points
    from scaleplan.plan import read_plan

    plan = read_plan(PLAN)
    assert all(a.llm is not None and a.llm.classes for a in plan.allocations)
    other = "tests/data/observe/profile.yaml"  # another model's profile
    assert llm_profile_points(plan, str(PLAN), other) == (None, (
        f"--profile {other} is not read: every allocation of the plan records its LLM "
        "predictions (llm.classes), which the step times follow (docs/simulate.md)",
    ))
    assert llm_profile_points(plan, str(PLAN), None) == (None, ())  # nothing given: no note
