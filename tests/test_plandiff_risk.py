"""``scaleplan diff`` says what a cheaper plan buys beside its cost (UX trial 29 F8: a spot-only
plan read -36.7 % and nothing of the capacity left when spot goes, nor of the start-ups the
cost leaves out). Real optimize runs on tests/data/surge's spec with spot allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "surge" / "spec.yaml"
REDUNDANCY = "  redundancy: n+1\n"


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from typer.testing import CliRunner

    from scaleplan.cli import app

    d = tmp_path_factory.mktemp("risk")
    text = SPEC.read_text(encoding="utf-8")
    assert REDUNDANCY in text
    out = {}
    for name, spot, extra in (
        ("od", "", []), ("spot60", "  spot: {allowed: true, max_fraction: 0.6}\n", []),
        ("spot100", "  spot: {allowed: true, max_fraction: 1.0}\n", []),
        ("unpriced", "  spot: {allowed: true, max_fraction: 1.0}\n", ["--no-alternatives"]),
    ):
        spec = d / f"{name}.yaml"
        spec.write_text(text.replace(REDUNDANCY, REDUNDANCY + spot), encoding="utf-8")
        args = ["optimize", str(spec), "--out", str(d / name), "--no-manifests", *extra]
        res = CliRunner().invoke(app, args, catch_exceptions=False)
        assert res.exit_code == 0, res.stderr
        out[name] = d / name / "plan.yaml"
    return out


def test_diff_says_the_spot_capacity_left_and_the_start_ups(
    cli: Any, plans: dict[str, Path],
) -> None:
    """60 % spot -> all spot: the on-demand replicas that carried the whole peak alone are
    gone (100 % -> 0 % of demand), and the start-ups the cost leaves out move; both in the
    text and in --json. A diff of a plan with itself says neither."""
    text = cli(["diff", str(plans["spot60"]), str(plans["spot100"])]).stdout
    assert "spot lost at the peak, capacity left: 100% of demand -> 0% of demand" in text
    assert "start-ups, not in the cost: $0.0239/h -> $0.0108/h (-$0.0131/h)" in text
    doc = json.loads(cli(["diff", str(plans["spot60"]), str(plans["spot100"]), "--json"]).stdout)
    assert doc["spot_loss_on_demand_share"] == {"before": 1.0, "after": 0.0}
    assert doc["startup_cost_per_hour"] == {"before": 0.0239, "after": 0.0108, "delta": -0.0131}
    same = cli(["diff", str(plans["spot60"]), str(plans["spot60"])]).stdout
    assert "spot lost" not in same and "start-ups" not in same


def test_a_plan_without_spot_or_without_its_price_is_said_as_such(
    cli: Any, plans: dict[str, Path],
) -> None:
    text = cli(["diff", str(plans["od"]), str(plans["spot100"])]).stdout
    assert "spot lost at the peak, capacity left: no spot -> 0% of demand" in text
    text = cli(["diff", str(plans["od"]), str(plans["unpriced"])]).stdout
    assert "capacity left: no spot -> not in the plan" in " ".join(
        text.split()
    )
    doc = json.loads(cli(["diff", str(plans["od"]), str(plans["unpriced"]), "--json"]).stdout)
    assert doc["spot_loss_on_demand_share"] == {"before": None, "after": None}


def test_all_spot_allowed_is_no_binding_constraint(plans: dict[str, Path]) -> None:
    """UX trial 29 F14: a plan allowed 100 % spot listed 'spot.max_fraction = 1: on-demand
    replicas carry exactly 0% of demand' among its binding constraints; it binds nothing."""
    from scaleplan.plan import read_plan

    binding = read_plan(plans["spot100"]).binding_constraints
    assert binding and not [b for b in binding if "spot.max_fraction" in b], binding


def test_a_one_replica_plan_warns_of_its_outages(cli: Any, tmp_path: Path) -> None:
    """UX trial 30 F4: the cheapest plan for a flat 0.5 rps was one replica and nothing said a
    node drain stops all serving; optimize now warns and names n+1. The n+1 plans of the
    fixture (3 replicas at the peak) say nothing."""
    text = SPEC.read_text(encoding="utf-8")
    for old, new in (("  redundancy: n+1\n", "  redundancy: none\n"),
                     ("  min_replicas: 2\n", "  min_replicas: 1\n")):
        assert old in text
        text = text.replace(old, new)
    text = "\n".join(
        "  peak_rps: 0.5" if t.startswith("  hourly_rps:") else t for t in text.splitlines()
    ) + "\n"
    spec = tmp_path / "one.yaml"
    spec.write_text(text, encoding="utf-8")
    out = cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--no-alternatives"]).stdout
    assert "WARNING: one replica at the busiest hour: a node drain, spot reclaim or failure" \
        in " ".join(out.split())
    assert "placement.redundancy: n+1 keeps a spare" in " ".join(out.split())
    two = cli(["optimize", str(SPEC), "--out", str(tmp_path / "t"), "--no-alternatives"]).stdout
    assert "one replica at the busiest hour" not in " ".join(two.split())
    # --json carries the same warning (a pipeline reading only JSON saw none), null otherwise
    one_json = json.loads(cli(["optimize", str(spec), "--out", str(tmp_path / "j"),
                               "--no-alternatives", "--json"]).stdout)
    assert one_json["redundancy_warning"].startswith("one replica at the busiest hour")
    two_json = json.loads(cli(["optimize", str(SPEC), "--out", str(tmp_path / "k"),
                               "--no-alternatives", "--json"]).stdout)
    assert two_json["redundancy_warning"] is None
