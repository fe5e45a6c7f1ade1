"""optimize --observed's "replicas per UTC hour, running -> new" block: replicas of different
shapes on one (instance type, capacity type, region) are counted apart, not added up (UX
trial 23 F15: a3-highgpu-8g spot ran TP2 x4 and the new plan TP4 x2; the block read one
sum). A pool of one shape keeps its key as before."""

from __future__ import annotations

from pathlib import Path

from scaleplan.observe.replan import hourly_changes
from scaleplan.plan import Allocation, Plan, read_plan

PLAN = Path(__file__).resolve().parents[1] / "examples" / "llm-70b-tp" / "plan.yaml"


def _with(plan: Plan, *allocs: tuple[str, int, int]) -> Plan:
    """``plan`` with allocations (name, GPUs per replica, replicas all day) on its first
    allocation's instance type and capacity type."""
    a0 = plan.allocations[0]
    n = plan.demand.windows

    def one(name: str, gpus: int, reps: int) -> Allocation:
        return a0.model_copy(update={
            "name": name, "gpus_per_replica": gpus,
            "replicas_per_node": max(1, a0.accelerators_per_node // gpus),
            "replicas": reps, "replicas_per_window": (reps,) * n,
        })

    return plan.model_copy(update={"allocations": tuple(one(*x) for x in allocs)})


def test_replicas_of_two_shapes_on_one_machine_type_are_not_added_up() -> None:
    plan = read_plan(PLAN)
    a0 = plan.allocations[0]
    assert a0.accelerators_per_node >= 4
    pool = f"{a0.instance_type} {a0.capacity_type} ({a0.provider}/{a0.region})"
    running = _with(plan, ("tp2", 2, 4))
    new = _with(plan, ("tp2", 2, 2), ("tp4", 4, 1))
    got = {c.key: (c.before[0], c.after[0]) for c in hourly_changes(running, new)}
    assert got == {
        f"{pool}, 2 x {a0.accelerator} per replica": (4, 2),
        f"{pool}, 4 x {a0.accelerator} per replica": (0, 1),
    }
    # one shape in both plans: one row under the pool's own name, as before
    same = _with(plan, ("tp2", 2, 3))
    got = {c.key: (c.before[0], c.after[0]) for c in hourly_changes(running, same)}
    assert got == {pool: (4, 3)}
