"""Allowing more regions never raises an optimal plan's cost, and the cheapest-single-type
baseline is the cheapest single type (docs/optimizer.md, "Pruning").

Under ``routing: gateway-api`` the allocations of one serving shape (its region included) share
one backend Service, and with n+1 / zone each Service absorbs its own loss. Pruning once merged
regions there when several request classes were planned class-blind: the same instance type
at the same on-demand price kept the first region by name and the cheaper spot row kept the
other region, so the on-demand and spot pods landed in two Services, each paying its own spare
node (examples/llm-chat without g6e.2xlarge: $5.44/h over two regions, $4.60/h and $4.58/h in
either one alone, all reported optimal)."""

from __future__ import annotations

from pathlib import Path

import pytest
from solve_helpers import GATEWAY, catalog, point, profile, row, spec

from scaleplan.inputs import load_inputs
from scaleplan.solve import solve

ROOT = Path(__file__).resolve().parents[1]
TWO = ("us-east-1", "us-west-2")


def _toy(
    regions: tuple[str, ...], redundancy: str, rps: float = 20
) -> tuple[float, str, float | None]:
    """Two classes half and half at ``rps``, spot up to half, one instance type in two regions
    at one on-demand price, spot cheaper in us-west-2: the plan's cost and status, and its
    cheapest-single-type baseline's cost."""
    sp = spec(
        traffic={
            "peak_rps": rps,
            "headroom": 0.2,
            "classes": [{"name": "short", "share": 0.5}, {"name": "long", "share": 0.5}],
        },
        placement={
            "providers": ["aws"],
            "regions": list(regions),
            "min_replicas": 0,
            "redundancy": redundancy,
            "spot": {"allowed": True, "max_fraction": 0.5},
        },
        kubernetes=GATEWAY,
    )
    prof = profile(
        point("L4", 1, 10, 30, request_class="short"),
        point("L4", 1, 10, 10, request_class="long"),
    )
    cat = catalog(
        row("g6.xlarge", "L4", 1, 1.0, spot=0.40, region="us-east-1"),
        row("g6.xlarge", "L4", 1, 1.0, spot=0.38, region="us-west-2"),
    )
    plan = solve(sp, prof, cat).plan
    single = next(b for b in plan.baselines if b.name == "cheapest-single-type")
    return plan.cost_per_hour, plan.status, single.cost_per_hour


# before the fix: n+1 $2.80 / $2.76 / $3.76 over both regions; zone $12.20 / $12.04 / $12.42
@pytest.mark.parametrize(("redundancy", "rps"), [("n+1", 4.0), ("zone", 20.0)])
def test_a_second_region_never_raises_the_optimal_cost(redundancy: str, rps: float) -> None:
    east, st_east, _ = _toy(TWO[:1], redundancy, rps)
    west, st_west, _ = _toy(TWO[1:], redundancy, rps)
    both, st_both, single = _toy(TWO, redundancy, rps)
    assert st_east == st_west == st_both == "optimal"
    assert both <= min(east, west) + 1e-6, (east, west, both)
    # one instance type: the baseline is the plan itself
    assert single is not None and abs(single - both) < 1e-6


def _llm_chat(tmp_path: Path, regions: str, exclude: bool) -> tuple[float, str, float | None]:
    """examples/llm-chat (3 classes, gateway-api, n+1, spot) over ``regions``, with
    g6e.2xlarge excluded when ``exclude``: cost, status and the cheapest-single-type cost."""
    ex = ROOT / "examples" / "llm-chat"
    text = (ex / "spec.yaml").read_text(encoding="utf-8")
    old = "  regions: [us-east-1, us-west-2]\n"
    assert old in text
    new = f"  regions: [{regions}]\n" + ('  exclude: ["g6e.2xlarge"]\n' if exclude else "")
    out = tmp_path / f"{regions.replace(', ', '_')}_{exclude}"
    out.mkdir()
    (out / "spec.yaml").write_text(text.replace(old, new), encoding="utf-8")
    (out / "profile.yaml").write_bytes((ex / "profile.yaml").read_bytes())
    inp = load_inputs(str(out / "spec.yaml"))
    plan = solve(inp.spec, inp.profile, inp.catalog).plan
    single = next(b for b in plan.baselines if b.name == "cheapest-single-type")
    return plan.cost_per_hour, plan.status, single.cost_per_hour


def test_llm_chat_over_two_regions_costs_no_more_than_over_one(tmp_path: Path) -> None:
    east, _, _ = _llm_chat(tmp_path, "us-east-1", True)
    west, _, _ = _llm_chat(tmp_path, "us-west-2", True)
    both, status, single = _llm_chat(tmp_path, "us-east-1, us-west-2", True)
    # 2 x g6e.xlarge + 1 x g6e.xlarge spot in either region ($4.6003/h, $4.5817/h)
    assert (round(east, 4), round(west, 4)) == (4.6003, 4.5817)
    assert status == "optimal"
    assert both <= min(east, west) + 1e-6, (east, west, both)
    assert single is not None and single <= west + 1e-6
    # the shipped example: its baseline is that g6e.xlarge plan, not 2 + 1 g6e.2xlarge ($5.32/h)
    full, _, full_single = _llm_chat(tmp_path, "us-east-1, us-west-2", False)
    assert full_single is not None and full <= full_single <= west + 1e-6
