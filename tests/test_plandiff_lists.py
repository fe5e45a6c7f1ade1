"""``scaleplan diff``'s text for a long list that changed in a few items (UX trial 37 F9): the
changed items with their positions, not all 24 hourly values before and after."""

from __future__ import annotations

from pathlib import Path

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import read_plan
from scaleplan.plandiff import diff_lines, diff_plans

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_a_curve_changed_in_a_few_hours_shows_those_hours() -> None:
    a = read_plan(EXAMPLES / "vision-daily" / "plan.yaml")
    hours = list(a.spec.traffic.hourly_rps or ())
    assert len(hours) == 24
    new = [*hours]
    new[2] = 700.0
    new[10:14] = [5000.0, 5100.0, 5200.0, 4900.0]
    traffic = a.spec.traffic.model_copy(update={"hourly_rps": tuple(new)})
    b = a.model_copy(update={"spec": a.spec.model_copy(update={"traffic": traffic})})
    diff = diff_plans(a, b, shipped_accelerators())
    lines = diff_lines(diff)
    i = next(k for k, ln in enumerate(lines) if "traffic.hourly_rps:" in ln)
    more = [ln.strip() for ln in lines[i + 1:i + 4] if ln.startswith(" " * 8)]
    shown = " ".join([lines[i].strip(), *more])
    old = ", ".join(f"{hours[k]:g}" for k in (2, 10, 11, 12, 13))
    assert shown == (
        f"traffic.hourly_rps: hours 2, 10-13: [{old}] -> [700, 5000, 5100, 5200, 4900]"
    ), lines
    assert len(more) == 1 and all(len(ln) <= 80 for ln in lines), lines
    # --json keeps both curves whole
    (f,) = [c for c in diff.to_dict()["spec"] if c["field"] == "traffic.hourly_rps"]
    assert len(f["before"]) == len(f["after"]) == 24
