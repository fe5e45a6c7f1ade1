"""How the optimize summary writes money it is not a table column of (UX trial 37 F5)."""

from __future__ import annotations

from pathlib import Path

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import read_plan
from scaleplan.plan_report import summary_lines

ACCS = shipped_accelerators()  # the accelerator table the report prices start-ups by

PLAN = Path(__file__).resolve().parents[1] / "examples" / "llm-chat" / "plan.yaml"


def _text(cost_per_million: float) -> str:
    plan = read_plan(PLAN).model_copy(update={"cost_per_million_requests": cost_per_million})
    return "\n".join(line.text for line in summary_lines(plan, [], accelerators=ACCS))


def test_a_cost_per_million_requests_in_the_hundreds_reads_as_dollars_and_cents() -> None:
    """A 14B model on A100s cost "$1439.1448 per million requests", four decimals and no
    thousands separator, one line under "$23,243.99/month"; it reads "$1,439.14" now, and a
    figure under $100 keeps its four decimals (a cheap model's $0.2753 would read $0.28)."""
    assert "$1,439.14 per million requests" in _text(1439.1448)
    assert "$0.2753 per million requests" in _text(0.2753)
    assert "$99.1234 per million requests" in _text(99.1234)
