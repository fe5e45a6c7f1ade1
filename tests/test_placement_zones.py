"""placement.zones: the zones a zone-redundant plan spreads over and survives losing one of,
instead of three assumed per region (UX trial 25 F14: a two-zone cluster was planned as if a
zone loss took a third of each allocation, not half)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES

from scaleplan.plan import read_plan

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
    for a in plan.allocations:  # at the peak the nodes left after the worse zone's loss hold
        assert a.nodes >= 2
    # a spec without zones writes none into the plan's copy (its hash is the same as before)
    text = (tmp_path / "three" / "plan.yaml").read_text(encoding="utf-8")
    assert "zones:" not in text.split("placement:")[1].split("kubernetes:")[0]


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
