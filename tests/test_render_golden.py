"""Golden files: the rendered manifests of every test plan and example, for every flavor.

Regenerate after an intended change with ``pytest tests/test_render_golden.py --update-golden``
and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from render_helpers import FLAVORS, GOLDEN, PLANS, example_plans, with_flavor
from tables_helpers import shipped_tables

from scaleplan.catalog.model import Catalog
from scaleplan.plan import Plan, read_plan
from scaleplan.render import render


def check(path: Path, plan: Plan, update: bool) -> None:
    files = render(plan, shipped_tables(), layout="single")
    text = files["manifests.yaml"] + "---\n" + files["kustomization.yaml"]
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    assert path.exists(), f"{path} is missing; run pytest {__file__} --update-golden and review it"
    assert text == path.read_text(encoding="utf-8"), f"{path} differs; if intended, run with --update-golden and review the diff"


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("name", list(PLANS))
def test_golden(name: str, flavor: str, update_golden: bool) -> None:
    check(GOLDEN / name / f"{flavor}.yaml", with_flavor(PLANS[name](), flavor), update_golden)


EXAMPLES = example_plans()


@pytest.mark.skipif(not EXAMPLES, reason="no examples/*/plan.yaml yet")
@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("example", list(EXAMPLES) or ["none"])
def test_golden_examples(example: str, flavor: str, update_golden: bool) -> None:
    plan = with_flavor(read_plan(EXAMPLES[example]), flavor)
    check(GOLDEN / "examples" / example / f"{flavor}.yaml", plan, update_golden)


@pytest.mark.skipif(not EXAMPLES, reason="no examples/*/plan.yaml yet")
@pytest.mark.parametrize("example", list(EXAMPLES) or ["none"])
def test_examples_validate(tables: Catalog, example: str) -> None:
    from render_helpers import KUBE_VERSIONS

    from scaleplan.check.schema_cache import validate_object
    from scaleplan.render import render_report

    base = read_plan(EXAMPLES[example])
    for flavor in FLAVORS:
        for kind in ("hpa", "keda-prometheus", "none"):
            k8s = base.spec.kubernetes
            asc = k8s.autoscaler.model_copy(update={"type": kind})
            plan = base.model_copy(update={"spec": base.spec.model_copy(update={"kubernetes": k8s.model_copy(update={"flavor": flavor, "autoscaler": asc})})})
            for o in render_report(plan, tables).objects:
                for v in KUBE_VERSIONS:
                    assert validate_object(o.obj, v) == [], (example, flavor, kind, o.kind, o.name, v)
