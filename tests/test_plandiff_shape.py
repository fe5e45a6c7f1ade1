"""diff's line for an added or removed allocation words its replicas and cost as optimize's
table does: a count that varies over the day is its range, and the cost the day's mean, said
so (UX trial 31 F7: "1 x H100-NVL, 12 replicas, $6.9800/h" put the peak's count beside the
mean's cost; 12 replicas cost $83.76/h). A count that holds all day reads as before."""

from __future__ import annotations

from pathlib import Path

from scaleplan.plan import read_plan

EX = Path(__file__).resolve().parents[1] / "examples"


def test_a_varying_count_is_its_range_beside_the_mean_cost(cli) -> None:  # type: ignore[no-untyped-def]
    old, new = EX / "embedding-kafka" / "plan.yaml", EX / "llm-moe" / "plan.yaml"
    out = " ".join(cli(["diff", str(old), str(new)]).stdout.split())
    for a in read_plan(old).allocations:  # removed: each varies over the day
        low = min(a.replicas_per_window)
        assert low < a.replicas
        assert f"{low}-{a.replicas} replicas, ${a.cost_per_hour:.4f}/h mean" in out, out
    (a,) = read_plan(new).allocations  # added: the same count all day
    assert len(set(a.replicas_per_window)) == 1
    assert f", {a.replicas} replicas, ${a.cost_per_hour:.4f}/h cost:" in out, out
