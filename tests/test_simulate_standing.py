"""After a failure, simulate's per-window replica count is the replicas serving through the
window (the fewest in it: the lost ones left out while they are down), not the plan's count
(UX trial 23 F13: after a spot loss the 70B plan's windows read 12 where 8 served). Both
simulators; real plans, real runs."""

from __future__ import annotations

from pathlib import Path

from llm_sim_helpers import llm_plan

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import read_plan
from scaleplan.simulate import simulate
from scaleplan.simulate.llm import simulate_llm

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

VISION = Path(__file__).resolve().parents[1] / "examples" / "vision-daily" / "plan.yaml"


def test_request_level_windows_count_the_replicas_still_serving() -> None:
    plan = read_plan(VISION)
    rps = plan.demand.rps
    peak = max(range(len(rps)), key=lambda w: rps[w])
    after = peak + 1 if peak + 1 < len(rps) else peak - 1
    wins = (peak, after)
    planned = [sum(a.replicas_per_window[w] for a in plan.allocations) for w in wins]
    base = simulate(plan, windows=wins, duration_s=60.0, accelerators=ACCS)
    assert [sum(w.replicas.values()) for w in base.windows] == planned
    # lost 10 s into the first window, never back within the run: both windows run without them
    res = simulate(
        plan, windows=wins, duration_s=60.0, failure="node", fail_at_s=10.0, replace_after_s=1e4,
        accelerators=ACCS
    )
    assert res.failure is not None
    lost = sum(res.failure.lost.values())
    assert lost > 0
    counts = [sum(w.replicas.values()) for w in res.windows]
    assert counts[0] == planned[0] - lost
    assert counts[1] < planned[1]
    for w in res.windows:  # per allocation, never above the plan's
        for name, n in w.replicas.items():
            a = next(x for x in plan.allocations if x.name == name)
            assert n <= a.replicas_per_window[w.window]
    # back 20 s later, inside the first window: the second window runs the plan's count
    res = simulate(
        plan, windows=wins, duration_s=60.0, failure="node", fail_at_s=10.0, replace_after_s=20.0,
        accelerators=ACCS
    )
    assert [sum(w.replicas.values()) for w in res.windows] == [planned[0] - lost, planned[1]]


def test_llm_windows_count_the_replicas_still_serving_after_a_spot_loss() -> None:
    plan = llm_plan(rps=4.0, replicas=2, allocations=2, routing="gateway-api")
    a1 = plan.allocations[1].model_copy(update={"capacity_type": "spot"})
    k8s = plan.spec.kubernetes.model_copy(update={"flavor": "eks"})  # spot pods pinned: never back
    spec = plan.spec.model_copy(update={"kubernetes": k8s})
    plan = plan.model_copy(update={"allocations": (plan.allocations[0], a1), "spec": spec})
    assert simulate_llm(plan, duration_s=300.0, accelerators=ACCS).windows[0].replicas == 4
    res = simulate_llm(plan, duration_s=300.0, failure="spot", fail_at_s=100.0, accelerators=ACCS)
    assert res.failure is not None and res.failure.lost == {a1.name: 2}
    assert res.windows[0].replicas == 2
    assert res.to_dict()["windows"][0]["replicas"] == 2
