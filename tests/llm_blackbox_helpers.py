"""A black-box LLM plan for tests: tests/data/llm-blackbox (spec + synthetic TTFT/TPOT profile, no
model.architecture, no engine), solved once. The shipped LLM examples plan from the architecture;
this keeps the profile-only path covered."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from scaleplan.plan import Plan

ROOT = Path(__file__).resolve().parents[1]
BLACKBOX = ROOT / "tests" / "data" / "llm-blackbox"


@cache
def blackbox_plan() -> Plan:
    from scaleplan.inputs import load_inputs
    from scaleplan.solve import SolveOptions, solve

    inp = load_inputs(str(BLACKBOX / "spec.yaml"))
    plan = solve(inp.spec, inp.profile, inp.catalog, options=SolveOptions(inputs=inp.hashes)).plan
    assert not any(a.llm for a in plan.allocations), "the fixture must plan without the LLM model"
    return plan
