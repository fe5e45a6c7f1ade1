"""placement.quotas[].max_nodes: the nodes a scope may use (the nodes you own of a type), GPU
and CPU-only alike (UX review 14: a fixed inventory could cap GPU node types only through
max_gpus, and its CPU-only nodes not at all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from solve_helpers import catalog, point, profile, row, spec

from scaleplan.errors import InfeasibleError
from scaleplan.solve import SolveOptions, solve

FAST = SolveOptions(alternatives=False, max_utilization=1.0)


def _nodes(plan: object, itype: str) -> int:
    """The most nodes of ``itype`` in use in any window."""
    allocs = [a for a in plan.plan.allocations if a.instance_type == itype]  # type: ignore[attr-defined]
    return max(map(sum, zip(*(a.nodes_per_window for a in allocs), strict=True)), default=0)


def test_cpu_nodes_capped() -> None:
    """Owned CPU nodes at $0/h: without a cap the plan takes as many as it likes."""
    cat = catalog(row("cpu-8", None, 0, 0.0, family="cpu", vcpus=8, mem=32.0))
    prof = profile(point("CPU", 1, 20, 40, device="cpu", threads=2))
    pl = {"accelerators": ["cpu"]}
    free = solve(spec(traffic={"peak_rps": 400}, placement=pl), prof, cat, options=FAST)
    assert _nodes(free, "cpu-8") > 3
    q = [{"provider": "aws", "region": "us-east-1", "family": "cpu", "max_nodes": 3}]
    with pytest.raises(InfeasibleError) as ei:
        solve(spec(traffic={"peak_rps": 400}, placement={**pl, "quotas": q}), prof, cat,
              options=FAST)
    r = ei.value.reasons[0]
    assert r.code == "quota" and r.where == "placement.quotas.0.max_nodes"
    need = _nodes(free, "cpu-8")
    assert f"quota aws/us-east-1/cpu is 3 nodes, the cheapest plan needs {need}" in str(ei.value)
    assert f"raise the quota aws/us-east-1/cpu to {need} nodes" in ei.value.hint
    fits = solve(spec(traffic={"peak_rps": 100}, placement={**pl, "quotas": q}), prof, cat,
                 options=FAST)
    assert _nodes(fits, "cpu-8") <= 3


def test_node_cap_keeps_the_large_node_that_fewer_small_ones_would_replace() -> None:
    """Pruning: 4 one-GPU nodes ($0.8/h each) replace one 4-GPU node ($4.6/h) under a GPU
    quota, but not under a node quota: with max_nodes 1 only the large node holds 3
    replicas. Without the node rule in pruning the large node was dropped: no plan."""
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8), row("g6.12xlarge", "L4", 4, 4.6))
    q = [{"provider": "aws", "region": "us-east-1", "family": "g6", "max_nodes": 1}]
    plan = solve(spec(traffic={"peak_rps": 90}, placement={"quotas": q}),
                 profile(point("L4", 4, 40, 30)), cat, options=FAST)
    assert [a.instance_type for a in plan.plan.allocations] == ["g6.12xlarge"]
    assert _nodes(plan, "g6.12xlarge") == 1


def test_quota_limits(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sp = spec(placement={"quotas": [{"provider": "aws", "family": "g6", "max_nodes": 2}]})
    assert sp.placement.quotas[0].max_gpus is None and sp.placement.quotas[0].max_nodes == 2
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        spec(placement={"quotas": [{"provider": "aws", "max_nodes": -1}]})
    (tmp_path / "profile.yaml").write_text(
        "apiVersion: scaleplan/v1\nkind: Profile\nmetadata: {model: m}\nmeasurements:\n"
        "- {device: cuda:0, accelerator: L4, batch_size: 1, latency_ms: {p50: 30, p90: 32, "
        "p95: 34, p99: 40}, throughput_rps: 30}\n")
    (tmp_path / "spec.yaml").write_text(
        "apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: s}\n"
        "model: {profile: profile.yaml}\ntraffic: {peak_rps: 10}\nslo: {latency_ms: 50}\n"
        "placement:\n  providers: [aws]\n  quotas:\n  - {provider: aws, family: g6}\n"
        "kubernetes: {image: 'example.com/s:1'}\n")
    res = cli(["validate", str(tmp_path / "spec.yaml")], exit_code=3)
    assert "spec.yaml:10: placement.quotas[0]: a quota with no limit limits nothing" in res.stderr
    assert "max_nodes" in res.stderr


def test_a_quota_outside_the_plans_regions_or_rows_is_refused() -> None:
    """UX review 18 F4: a reserved pool's quota in a region placement.regions leaves out (or a
    family that region has no row of) limited nothing and was silently inert, as a quota of a
    provider the plan does not use is refused: the same refusal, at the quota's region."""
    from scaleplan.precheck import placement_problems

    cat = catalog(
        row("g6.xlarge", "L4", 1, 0.8, region="us-east-1"),
        row("g6.xlarge", "L4", 1, 0.8, region="us-west-2"),
        row("p5.48xlarge", "H100", 8, 55.0, region="us-east-1"),
    )

    def said(regions: list[str], **quota: Any) -> list[str]:
        q = {"provider": "aws", "max_nodes": 4, **quota}
        sp = spec(placement={"regions": regions, "quotas": [q]})
        return [f"{p.where}: {p.message} ({p.hint})" for p in placement_problems(sp, cat)]

    assert said(["us-east-1"], region="us-west-2", family="g6") == [
        "placement.quotas[0].region: quota for region 'us-west-2', which the plan does not "
        "use (placement.regions is [us-east-1]), so it would limit nothing (remove the quota, "
        "or add 'us-west-2' to placement.regions)"
    ]
    assert said([], region="us-west-2", family="p5") == [
        "placement.quotas[0].family: quota for family 'p5' in region us-west-2, where the "
        "catalogs have no instance type of it, so it would limit nothing (the family's "
        "regions: us-east-1; see `scaleplan catalog list --provider aws`)"
    ]
    assert said(["us-east-1"], region="us-east-1", family="p5") == []
    assert said([], region="us-west-2", family="g6") == []
    assert said(["us-east-1"], family="g6") == []


def test_a_quota_of_another_provider_names_a_fix_that_validates() -> None:
    """UX review 19: on a gke spec, a quota of provider 'google' was told to "add 'google' to
    placement.providers", which the flavor refuses (and no catalog has 'google'). A cloud
    flavor's quota names its cloud; a generic one a known provider, or adds one it knows."""
    from scaleplan.precheck import placement_problems

    g2 = row("g2-standard-4", "L4", 1, 0.7, region="us-central1")
    gcp = g2.model_copy(update={"provider": "gcp"})
    cat = catalog(gcp, row("g6.xlarge", "L4", 1, 0.8, region="us-east-1"))

    def hints(flavor: str, provider: str, providers: list[str]) -> list[str]:
        quota = {"provider": provider, "max_gpus": 4}
        placement = {"providers": providers, "regions": [], "quotas": [quota]}
        sp = spec(placement=placement, kubernetes={"image": "example.com/s:1", "flavor": flavor})
        return [f"{p.where}: {p.hint}" for p in placement_problems(sp, cat)]

    gke_fix = "a gke cluster runs gcp nodes only: write provider: gcp, or remove the quota"
    assert hints("gke", "google", ["gcp"]) == [f"placement.quotas[0].provider: {gke_fix}"]
    assert hints("gke", "aws", ["gcp"]) == [f"placement.quotas[0].provider: {gke_fix}"]
    assert hints("generic", "awz", ["gcp"]) == [
        "placement.quotas[0].provider: did you mean 'aws'?; or remove the quota"
    ]
    assert hints("generic", "aws", ["gcp"]) == [
        "placement.quotas[0].provider: remove the quota, or add 'aws' to placement.providers"
    ]


def test_owned_nodes_at_zero_cost_over_a_curve_with_alternatives_do_not_crash() -> None:
    """UX review 18: reserved nodes re-priced at $0/h under a node quota, a daily curve, zone
    redundancy and the HPA's replica floor: pricing the alternatives (no tie-break) divided
    a $0 price by a $0 charge (floors.hold_jointly's bound), exit 70. A $0 node adds nothing
    to cost or objective, so it is left out of that ratio. Three owned nodes, one per zone:
    two would hold only one replica each under the zone spread (2026-12-07), which the zone
    rows, counting 8 lost with a node, never use."""
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    curve = [1.0] * 6 + [20, 40] + [60] * 7 + [50, 40, 30, 20, 10, 5, 3, 2, 1]
    cat = catalog(
        row("own.8x", "L4", 8, 0.0, family="own", vcpus=96, mem=1900, zones=zones),
        row("g6.xlarge", "L4", 1, 0.8, vcpus=8, mem=32, zones=zones),
    )
    sp = spec(
        traffic={"peak_rps": None, "hourly_rps": curve},
        placement={"redundancy": "zone", "quotas": [
            {"provider": "aws", "region": "us-east-1", "family": "own", "max_nodes": 3}]},
    )
    plan = solve(sp, profile(point("L4", 1, 40, 30)), cat, options=SolveOptions()).plan
    assert {a.instance_type for a in plan.allocations} >= {"own.8x"}
    assert all(a.cost_per_hour >= plan.cost_per_hour for a in plan.alternatives)
