"""Rendered manifests pass ``scaleplan check`` (every rule, warnings included, and the Pod
Security Standards at restricted) with zero findings, also with --plan (drift and plan-aware
rules), for every test plan, example and flavor."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_helpers import FLAVORS, KUBE_VERSIONS, PLANS, example_plans, with_flavor

from scaleplan.catalog.model import Catalog
from scaleplan.plan import read_plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import render
from scaleplan.spec import PROVIDER_OF_FLAVOR

check = pytest.importorskip("scaleplan.check")


def _all_rules() -> list[str]:
    return [r.id for r in check.RULES]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_rendered_manifests_pass_check(tables: Catalog, tmp_path: Path, flavor: str) -> None:
    plans = {name: with_flavor(make(), flavor) for name, make in PLANS.items()}
    for ex, path in example_plans().items():
        plans[f"example-{ex}"] = with_flavor(read_plan(path), flavor)
    for i, (name, plan) in enumerate(plans.items()):
        out = tmp_path / name
        write_manifests(out, render(plan, tables, layout="single" if i % 2 else "files"))
        version = KUBE_VERSIONS[i % len(KUBE_VERSIONS)]
        report = check.check_paths([out], plan=plan, kube_version=version, enabled_rules=_all_rules(), catalog=tables, pod_security="restricted")
        assert report.drift_checked
        pss = {r.id for r in check.RULES if r.category == "pod-security"}
        assert pss <= {r.id for r in report.rules}
        findings = list(report.findings)
        if name == "gateway-mix" and flavor in ("eks", "gke", "aks"):
            # a weighted route to spot-only pods: these flavors have no on-demand fallback pool,
            # so check names the share that fails once the spot capacity is reclaimed (llm-chat's
            # spot allocation shares its backend Service with the on-demand one of its shape,
            # so nothing fails there and its findings must stay empty)
            assert "route-to-losable" in {f.rule for f in findings}, findings
            findings = [f for f in findings if f.rule != "route-to-losable"]
        kind = plan.spec.kubernetes.autoscaler.type
        idle = any(
            min(a.replicas_per_window) < (a.replicas if kind == "none" else 1)
            for a in plan.allocations
        ) and kind in ("hpa", "none")
        if idle:
            # a hand-built hpa plan that takes an allocation to 0 (spot-mix): the HPA keeps
            # minReplicas 1 (optimize no longer writes such plans: solve/floors.py); type none
            # over a curve (neuron-fixed) runs the peak all day: check names the floor above
            # the plan (render warns of both)
            assert "floor-above-plan" in {f.rule for f in findings}, findings
            findings = [f for f in findings if f.rule != "floor-above-plan"]
        cloud = PROVIDER_OF_FLAVOR.get(flavor)
        if cloud is not None and any(a.provider != cloud for a in plan.allocations):
            # another cloud's instance types on this flavor: flagged by flavor-mismatch, only
            rules = {f.rule for f in findings}
            assert rules == {"flavor-mismatch"}, [(f.rule, f.file, f.message) for f in findings]
            continue
        assert findings == [], [(f.rule, f.file, f.message) for f in findings]


def test_every_golden_render_passes_pod_security_restricted(tables: Catalog) -> None:
    """What render writes for every test plan, example and flavor, the LLM goldens included
    (tests/golden/render/llm: the s3 and gs `fetch-weights` init containers, the inference
    pool's endpoint picker), passes the restricted Pod Security Standard: each file is
    byte-identical to render's output (test_render_golden.py)."""
    golden = Path(__file__).parent / "golden" / "render"
    files = sorted(golden.rglob("*.yaml"))
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert len(files) >= 70 and sum("initContainers:" in t for t in texts) >= 2
    assert any("kind: InferencePool" in t for t in texts)
    pss = {r.id for r in check.RULES if r.category == "pod-security"}
    workloads = 0
    for f in files:
        report = check.check_paths([f], catalog=tables, pod_security="restricted")
        assert pss <= {r.id for r in report.rules}
        assert [x for x in report.findings if x.rule in pss] == [], f
        workloads += sum(t in f.read_text() for t in ("kind: Deployment", "kind: Job"))
    assert workloads >= 70
