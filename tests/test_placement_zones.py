"""placement.zones: the zones a zone-redundant plan spreads over and survives losing one of,
instead of three assumed per region (UX trial 25 F14: a two-zone cluster was planned as if a
zone loss took a third of each allocation, not half)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES

from scaleplan.catalog.model import zone_of_region
from scaleplan.plan import Plan, read_plan

SRC = EXAMPLES / "vision-daily"
pytestmark = pytest.mark.skipif(not SRC.is_dir(), reason="examples/vision-daily not there")


def spec_in(
    tmp_path: Path, extra: str, *, redundancy: str = "zone", regions: str | None = None
) -> Path:
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(SRC / name, tmp_path / name)
    f = tmp_path / "spec.yaml"
    text = f.read_text(encoding="utf-8")
    assert "  redundancy: zone\n" in text and "  regions: [us-central1]\n" in text
    text = text.replace("  redundancy: zone\n", f"  redundancy: {redundancy}\n{extra}")
    if regions is not None:
        text = text.replace("  regions: [us-central1]\n", regions)
    f.write_text(text, encoding="utf-8")
    return f


def optimize(cli: Any, spec: Path, out: str, exit_code: int = 0) -> Any:
    args = ["optimize", str(spec), "--out", str(spec.parent / out), "--json"]
    return cli(args, exit_code=exit_code)


def test_two_listed_zones_plan_for_losing_half(cli: Any, tmp_path: Path) -> None:
    three = optimize(cli, spec_in(tmp_path, ""), "three")
    assumed = [w for w in json.loads(three.stdout)["warnings"] if w.startswith("zones assumed")]
    assert assumed, "the example's catalog rows list no zones: three are assumed"
    two = optimize(cli, spec_in(tmp_path, "  zones: [us-central1-a, us-central1-b]\n"), "two")
    data = json.loads(two.stdout)
    assert not [w for w in data["warnings"] if w.startswith("zones assumed")]
    plan = read_plan(tmp_path / "two" / "plan.yaml")
    assert plan.spec.placement.zones == ("us-central1-a", "us-central1-b")
    assert {a.zones for a in plan.allocations} == {("us-central1-a", "us-central1-b")}
    # losing one of two zones loses half of each allocation's nodes, not a third: more spare
    before = read_plan(tmp_path / "three" / "plan.yaml")
    assert plan.cost_per_hour > before.cost_per_hour * 1.05, (plan, before.cost_per_hour)
    # at the peak, what is left after losing the worse of two zones carries the demand; the
    # three-zone plan, deployed on a two-zone cluster, would not
    assert left_after_a_zone(plan, 2) >= max(plan.demand.rps)
    assert left_after_a_zone(before, 2) < max(plan.demand.rps)
    # a spec without zones writes none into the plan's copy (its hash is the same as before)
    text = (tmp_path / "three" / "plan.yaml").read_text(encoding="utf-8")
    assert "zones:" not in text.split("placement:")[1].split("kubernetes:")[0]


def left_after_a_zone(plan: Plan, zones: int) -> float:
    """The peak window's capacity (rps) after losing the zone with most nodes (round-robin:
    ceil(n / zones) of an allocation's n nodes), every allocation at its own rate."""
    w = max(range(len(plan.demand.rps)), key=lambda i: plan.demand.rps[i])
    left = 0.0
    for a in plan.allocations:
        reps, nodes = a.replicas_per_window[w], a.nodes_per_window[w]
        lost = min(reps, a.replicas_per_node * math.ceil(nodes / zones))
        left += (reps - lost) * a.capacity_rps_per_replica
    return left


def test_a_provider_of_your_own_names_its_zones_in_its_catalog_rows(
    cli: Any, tmp_path: Path
) -> None:
    """r2 review 39 item 3: the on-prem inventory's dc1 rows list zones rack-a and rack-b (no
    region prefix): placement.zones takes them; one no row lists is refused."""
    onprem = EXAMPLES.parent / "tests" / "data" / "onprem"
    for f in ("inventory.yaml", "chat-70b.yaml"):
        shutil.copy(onprem / f, tmp_path / f)
    spec = tmp_path / "chat-70b.yaml"
    text = spec.read_text(encoding="utf-8")
    assert "  redundancy: n+1\n" in text
    spec.write_text(
        text.replace("  redundancy: n+1\n", "  redundancy: zone\n  zones: [rack-a, rack-b]\n")
    )
    cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--no-alternatives"])
    plan = read_plan(tmp_path / "o" / "plan.yaml")
    assert {a.zones for a in plan.allocations} == {("rack-a", "rack-b")}
    spec.write_text(spec.read_text(encoding="utf-8").replace("rack-b]", "rack-z]"))
    r = cli(["validate", str(spec)], exit_code=3)
    assert "'rack-z' is a zone of none of the regions the placement takes (onprem/dc1)" in (
        " ".join(r.stderr.split())
    )


def test_zones_the_rows_do_not_list_are_named_when_no_plan_survives(
    cli: Any, tmp_path: Path
) -> None:
    """UX trial 39: catalog rows listing us-central1-a/b/c and `zones: [us-central1-a,
    us-central1-f]` leave every type one zone; exit 4 said to "allow instance types in regions
    with several zones" (us-central1 has them). It names the field, the one zone left and the
    listed zone no row has."""
    rows = [
        {k: r[k] for k in ("provider", "region", "instance_type", "family", "accelerator",
                           "accelerator_count", "accelerator_memory_gib", "vcpus", "memory_gib",
                           "price_ondemand")}
        | {"zones": ["us-central1-a", "us-central1-b", "us-central1-c"]}
        for r in yaml.safe_load((EXAMPLES.parent / "catalogs" / "gcp.yaml").read_text())[
            "instances"]
        if r["region"] == "us-central1" and r.get("accelerator") == "A100"
    ]
    zoned = {"apiVersion": "scaleplan/v1", "kind": "Catalog", "provenance": {"source": "t"},
             "instances": rows}
    (tmp_path / "z.yaml").write_text(yaml.safe_dump(zoned), encoding="utf-8")
    extra = "  zones: [us-central1-a, us-central1-f]\n  catalogs: [z.yaml]\n"
    spec = spec_in(tmp_path, extra)
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        "accelerators: [T4, L4, A100]", "accelerators: [A100]"), encoding="utf-8")
    r = optimize(cli, spec, "o", exit_code=4)
    (reason,) = json.loads(r.stdout)["reasons"]
    assert "placement.zones names only one per region (us-central1-a)" in reason["message"]
    assert "us-central1-f is on none of their rows' zone lists" in reason["message"]
    assert "regions with several zones" not in reason["fix"], reason["fix"]
    details = reason["details"]
    assert (details["zones"], details["unlisted"]) == (["us-central1-a"], ["us-central1-f"])
    # known before any solve: validate says so (exit 0, as for its other no-plan warnings)
    said = " ".join(cli(["validate", str(spec)]).stderr.split())
    assert "optimize will find no plan (exit 4): no plan survives losing a zone:" in said, said


def test_zone_of_region() -> None:
    assert zone_of_region("aws", "us-east-1", "us-east-1a")
    assert zone_of_region("aws", "us-east-1", "us-east-1-lax-1a")  # a Local Zone
    assert not zone_of_region("aws", "us-east-1", "us-east-10a")
    assert not zone_of_region("aws", "us-east-1", "us-east-1")
    assert zone_of_region("gcp", "us-central1", "us-central1-f")
    assert not zone_of_region("gcp", "us-central1", "us-central1f")
    assert zone_of_region("azure", "eastus", "eastus-2")
    assert zone_of_region("onprem", "dc1", "rack-a", {"rack-a", "rack-b"})
    assert not zone_of_region("onprem", "dc1", "dc1-a")


def test_regions_without_listed_zones_are_left_out(cli: Any, tmp_path: Path) -> None:
    spec = spec_in(tmp_path, "  zones: [us-central1-b, us-central1-c]\n", regions="")
    optimize(cli, spec, "o")
    plan = read_plan(tmp_path / "o" / "plan.yaml")
    assert {a.region for a in plan.allocations} == {"us-central1"}
    assert {a.zones for a in plan.allocations} == {("us-central1-b", "us-central1-c")}


@pytest.mark.parametrize(
    ("extra", "redundancy", "needle"),
    [
        (
            "  zones: [us-central1-a, us-centrall-b]\n",
            "zone",
            "placement.zones[1]: 'us-centrall-b' is a zone of none of the regions the "
            "placement takes (gcp/us-central1)",
        ),
        (
            "  zones: [us-central1-a, us-east1-b]\n",
            "zone",
            "placement.zones[1]: 'us-east1-b' is a zone of none",
        ),
        (
            "  zones: [us-central1-a]\n",
            "zone",
            "placement.zones: no region has two of the zones listed (us-central1-a of "
            "gcp/us-central1)",
        ),
        ("  zones: [a-1, a-1]\n", "zone", "zone 'a-1' is listed twice"),
        ("  zones: [us-central1-a]\n", "n+1", "zones are listed but redundancy is 'n+1'"),
    ],
)
def test_bad_zones_are_refused_with_the_field_and_line(
    cli: Any, tmp_path: Path, extra: str, redundancy: str, needle: str
) -> None:
    spec = spec_in(tmp_path, extra, redundancy=redundancy)
    for args in (["validate", str(spec)], ["optimize", str(spec), "--out", str(tmp_path / "o")]):
        r = cli(args, exit_code=3)
        text = " ".join(r.stderr.split())
        assert needle in text, text
        assert "spec.yaml:22" in text or "line 22" in text, text
    assert not (tmp_path / "o").exists()
