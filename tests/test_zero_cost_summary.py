"""A plan whose every node is priced at $0/h (owned nodes, docs/catalog.md "Owned nodes")
prints no money lines that say nothing (UX review 14, F8): no "$0.0000 per million
requests", no baselines or next-best plans at the same $0/h; it says instead how many nodes
of each quota the plan uses at peak. Priced plans print as before (the goldens, docs)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ONPREM = ROOT / "tests" / "data" / "onprem"


def _optimize(cli: Any, tmp_path: Path, spec: str) -> str:
    for f in ("inventory.yaml", spec):
        shutil.copy(ONPREM / f, tmp_path / f)
    res = cli(["optimize", str(tmp_path / spec), "--out", str(tmp_path / "out")])
    return str(res.stdout)


def test_a_zero_cost_plan_prints_nodes_used_not_money(cli: Any, tmp_path: Path) -> None:
    out = _optimize(cli, tmp_path, "chat-8b.yaml")  # 4 owned l40s-4x nodes at $0/h
    assert "per million requests" not in out, out
    assert "savings against naive baselines" not in out and "the same cost" not in out, out
    assert "next best" not in out and "+0.0%" not in out, out
    assert "cost: $0.0000/h averaged over the day, $0.00/month (730 h)" in out, out
    assert "every node is priced at $0/h" in out, out
    assert "used at peak (placement.quotas): onprem/dc1/l40s 4 of 4 nodes" in out, out


def test_a_priced_plan_keeps_its_money_lines(cli: Any, tmp_path: Path) -> None:
    for f in ("inventory.yaml", "burst.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    # the owned rows at a chargeback rate: a priced plan, printed as before
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inv.read_text().replace("price_ondemand: 0\n", "price_ondemand: 16\n", 1))
    res = cli(["optimize", str(tmp_path / "burst.yaml"), "--out", str(tmp_path / "out")])
    assert "per million requests" in res.stdout and "used at peak" not in res.stdout
    assert "every node is priced" not in res.stdout


def test_too_few_owned_nodes_hint_names_renting_elsewhere(cli: Any, tmp_path: Path) -> None:
    """Exit 4 on the owned inventory (providers: [onprem]): the hint also names
    placement.providers, the way to rent the rest (UX review 14)."""
    for f in ("inventory.yaml", "chat-70b-launch.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    res = cli(["optimize", str(tmp_path / "chat-70b-launch.yaml"), "--out", str(tmp_path / "o")],
              exit_code=4)
    # 8 nodes until 2026-12-07's all-reduce at NCCL's rate (docs/catalog.md)
    assert ("hint: raise the quota onprem/dc1/a100 to 7 nodes, or allow other regions or "
            "families, or other providers (placement.providers)") in res.stderr, res.stderr


def test_quota_use_counts_nodes_and_gpus_at_each_quotas_peak() -> None:
    """examples/embedding-cpu-gpu: c7i CPU nodes (no GPUs) and g4dn nodes of one GPU each. A
    quota's nodes and GPUs at its peak window, as the solver counts them (QuotaScope.used):
    5 nodes at hours 7 and 19 (CPU ones count against max_nodes, 0 against max_gpus), 2 GPUs."""
    from scaleplan.plan import read_plan
    from scaleplan.plan_report import quota_use_lines
    from scaleplan.spec import Quota

    plan = read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")
    quotas = (
        Quota(provider="aws", region="us-east-1", max_nodes=6, max_gpus=4),
        Quota(provider="aws", family="g4dn", max_gpus=3),
        Quota(provider="gcp", max_nodes=2),
    )
    placement = plan.spec.placement.model_copy(update={"quotas": quotas})
    plan = plan.model_copy(update={"spec": plan.spec.model_copy(update={"placement": placement})})
    assert quota_use_lines(plan) == [
        "used at peak (placement.quotas): aws/us-east-1/* 5 of 6 nodes, aws/us-east-1/* 2 of 4 "
        "GPUs, aws/*/g4dn 2 of 3 GPUs, gcp/*/* 0 of 2 nodes"
    ]


def test_a_zero_cost_plans_dearer_alternatives_say_dollars_not_plus_zero(
    cli: Any, tmp_path: Path
) -> None:
    """UX review 18: the 8B service on 4 owned nodes at $0/h with the cloud allowed too: the
    next best plans rent, yet read 'next best: 9 x ..., +0.0% ($31.7008/h)' and plan.yaml said
    extra_cost_fraction: 0.0 (a fraction of $0/h is none). They say the dollars more, and the
    plan records no fraction (null)."""
    from scaleplan.plan import read_plan

    for f in ("inventory.yaml", "chat-8b.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    sp = tmp_path / "chat-8b.yaml"
    sp.write_text(sp.read_text().replace(
        "  providers: [onprem]\n", "  providers: [onprem, aws]\n  regions: [dc1, us-east-1]\n"
    ).replace("max_nodes: 4}", "max_nodes: 8}"))
    res = cli(["optimize", str(sp), "--out", str(tmp_path / "out")])
    plan = read_plan(tmp_path / "out" / "plan.yaml")
    assert plan.cost_per_hour == 0, res.stdout
    priced = [a for a in plan.alternatives if a.cost_per_hour > 0]
    assert priced, plan.alternatives
    assert all(a.extra_cost_fraction is None for a in priced), plan.alternatives
    lines = [x for x in res.stdout.splitlines() if x.startswith(("next best:", "then:"))]
    assert lines and not any("+0.0%" in x or "+0%" in x for x in lines), res.stdout
    a = priced[0]
    assert any(f"+${a.cost_per_hour:.4f}/h" in x for x in lines), res.stdout
    assert not any("+0%" in e for e in plan.explanation), plan.explanation
