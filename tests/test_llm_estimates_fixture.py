"""tests/data/llm-estimates (tests/llm_estimates.py): the estimates-only fixture's spec solves
to its golden plan.yaml (`pytest --update-golden` rewrites), whose profile calibrates nothing."""

from __future__ import annotations

from llm_estimates import PLAN, SPEC

from scaleplan.plan import dump_plan, read_plan


def test_the_fixture_plan_is_its_spec_solved(update_golden: bool) -> None:
    from scaleplan.inputs import load_inputs
    from scaleplan.solve import SolveOptions, solve

    inp = load_inputs(str(SPEC))
    opts = SolveOptions(inputs=inp.hashes)
    text = dump_plan(solve(inp.spec, inp.profile, inp.catalog, options=opts).plan)
    if update_golden:
        PLAN.write_text(text, encoding="utf-8")
    stale = f"{PLAN} is stale; rerun with --update-golden and review the diff"
    assert PLAN.read_text(encoding="utf-8") == text, stale
    plan = read_plan(PLAN)
    assert plan.spec.model.profile == "profile.yaml" and plan.metadata.inputs.profile
    assert plan.profile_unused == "estimates-only"
    assert any("model.profile holds no measured point, only estimates" in w for w in plan.warnings)
    assert all(a.estimated and a.llm for a in plan.allocations)
