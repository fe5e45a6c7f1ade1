"""The rendered autoscaler's replica floor is part of the plan (scaleplan/solve/floors.py).

An HPA cannot go below minReplicas 1, so an allocation the plan uses in any hour runs at least
1 replica in every hour as rendered. Before, the optimizer idled allocations at 0 in quiet hours
(examples/vision-daily: T4 by night, L4 by day, $1.82/h), and the manifests ran both all day
($2.41/h); now one L4 type all day, $1.91/h as planned and as rendered. Real solver throughout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scaleplan.inputs import load_inputs
from scaleplan.plan import Plan
from scaleplan.solve import SolveOptions, solve

ROOT = Path(__file__).resolve().parents[1]


def _plan(**k8s: Any) -> Plan:
    inp = load_inputs(str(ROOT / "examples" / "vision-daily" / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    data["kubernetes"].update(k8s)
    spec = type(inp.spec).model_validate(data)
    return solve(spec, inp.profile, inp.catalog, options=SolveOptions(time_limit=30)).plan


def _rendered_cost(plan: Plan) -> float:
    """The plan's cost as its manifests run it: an HPA keeps minReplicas >= 1 all day."""
    hpa = plan.spec.kubernetes.autoscaler.type == "hpa"
    total = 0.0
    for a in plan.allocations:
        floor = -(-1 // a.replicas_per_node) if hpa and any(a.nodes_per_window) else 0
        nodes = [max(n, floor) for n in a.nodes_per_window]
        total += a.price_per_node_hour * sum(nodes) / len(nodes)
    return total


@pytest.mark.parametrize("routing", ["service", "gateway-api", "inference-pool"])
def test_hpa_plan_costs_what_its_manifests_run(routing: str) -> None:
    gw = {"gateway": {"name": "gw", "namespace": "infra"}} if routing != "service" else {}
    plan = _plan(routing=routing, **gw)
    for a in plan.allocations:  # every allocation in use holds the HPA's floor in every hour
        assert min(a.replicas_per_window) >= 1, (a.name, a.replicas_per_window)
    assert plan.cost_per_hour == pytest.approx(_rendered_cost(plan), abs=1e-4)
    # dearer than the per-window optimum that idles allocations, and says why (gateway-api's
    # static weights already chose one type all day: the floor step had nothing to do); the
    # floor held exactly (service, inference-pool: floors.hold_jointly) is proven optimal
    if routing == "gateway-api":
        assert plan.status == "feasible" and plan.gap > 0
    else:
        assert plan.status == "optimal" and plan.gap == 0
        assert any("minReplicas is at least 1" in w for w in plan.warnings)


def test_keda_may_idle_an_allocation() -> None:
    """KEDA scales to 0 (minReplicaCount 0): the per-window optimum stands, allocations idle."""
    plan = _plan(autoscaler={"type": "keda-prometheus"})
    assert plan.status == "optimal"
    assert any(min(a.replicas_per_window) == 0 for a in plan.allocations)
    hpa = _plan()
    assert plan.cost_per_hour < hpa.cost_per_hour
    # as rendered the idle allocations' HPA floors would have cost more than the floored plan
    assert _rendered_cost(plan.model_copy(update={"spec": hpa.spec})) > hpa.cost_per_hour


def test_single_window_has_no_floor_step() -> None:
    inp = load_inputs(str(ROOT / "examples" / "vision-daily" / "spec.yaml"))
    data = inp.spec.model_dump(mode="json", exclude_none=True)
    data["traffic"].pop("hourly_rps")
    data["traffic"]["peak_rps"] = 2000
    spec = type(inp.spec).model_validate(data)
    plan = solve(spec, inp.profile, inp.catalog, options=SolveOptions(time_limit=30)).plan
    assert plan.status == "optimal"
    assert not any("minReplicas" in w for w in plan.warnings)


@pytest.mark.parametrize("routing", ["service", "inference-pool"])
def test_autoscaler_none_plans_the_peak_all_day(routing: str, tables: Any) -> None:
    """autoscaler none renders each Deployment at its peak count all day; the plan's hourly
    counts (vision-daily: $1.82/h, T4 by night, L4 by day) were what render warned about
    ($3.5+/h as rendered). The plan is now the peak hour's plan in every hour: one count all
    day, proven optimal (any plan with one count all day serves the peak), and it costs what
    render writes, so render has nothing to warn about."""
    from scaleplan.render import render_report

    gw = {"gateway": {"name": "gw", "namespace": "infra"}} if routing != "service" else {}
    plan = _plan(routing=routing, autoscaler={"type": "none"}, **gw)
    assert plan.status == "optimal"
    for a in plan.allocations:
        assert len(set(a.replicas_per_window)) == 1, (a.name, a.replicas_per_window)
    fixed = sum(a.price_per_node_hour * a.nodes for a in plan.allocations)
    assert plan.cost_per_hour == pytest.approx(fixed, abs=1e-4)
    assert any("autoscaler.type none: every Deployment runs its peak" in w for w in plan.warnings)
    warnings = render_report(plan, tables).warnings
    assert not [w for w in warnings if "autoscaler none" in w or "in every hour" in w], warnings


def test_no_floor_note_when_holding_it_costs_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Owned nodes at $0/h (UX trial 22): the plan held the HPA's floor on both owned types and
    said "($0.00/h against $0.00/h for a plan that idles allocations at 0 replicas, which needs
    ... keda-prometheus)", a change of autoscaler for nothing. The floor is still held (both
    types keep a replica in every hour); the note is left out when it costs no cent."""
    import shutil

    import yaml

    shutil.copy(ROOT / "tests" / "data" / "onprem" / "inventory.yaml", tmp_path / "inventory.yaml")
    (tmp_path / "spec.yaml").write_text("""\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: qwen-chat}
model: {architecture: qwen2.5-7b-instruct, engine: vllm, source: {uri: Qwen/Qwen2.5-7B-Instruct}}
traffic:
  hourly_rps: [4, 3, 2, 2, 2, 3, 6, 12, 20, 30, 38, 42, 44, 42, 40, 38, 34, 28, 20, 14, 10, 8, 6, 5]
  classes:
    - {name: chat, share: 0.8, input_tokens: 800, output_tokens: 250}
    - {name: rag, share: 0.2, input_tokens: 4000, output_tokens: 300}
slo: {ttft_ms: 800, tpot_ms: 50}
placement:
  providers: [onprem]
  catalogs: [inventory.yaml]
  accelerators: [A100-80GB, L40S]
  redundancy: n+1
  quotas:
    - {provider: onprem, region: dc1, family: a100, max_nodes: 2}
    - {provider: onprem, region: dc1, family: l40s, max_nodes: 3}
kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: generic, autoscaler: hpa}
""")
    out = ["--out", str(tmp_path / "out"), "--no-alternatives", "--no-manifests"]
    res = cli(["optimize", str(tmp_path / "spec.yaml"), *out])
    plan = yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())
    assert plan["cost_per_hour"] == 0 and len(plan["allocations"]) == 2, plan["allocations"]
    for a in plan["allocations"]:
        assert min(a["replicas_per_window"]) >= 1, (a["name"], a["replicas_per_window"])
    assert not any("minReplicas is at least" in w for w in plan["warnings"]), plan["warnings"]
    assert "$0.00/h against $0.00/h" not in res.stderr
