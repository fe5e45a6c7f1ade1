"""simulate's default replacement delay (after --fail node / zone / spot) is what the rendered
pod budgets: node start + image pull + the init container's copy of s3:// / gs:// weights + the
startup probe's window, engine start-up (CUDA graphs, compilation) included. Both come from one
reckoning (scaleplan.render.serving.serving_after), so each case here reads the window and the
copy off the rendered Deployment itself: periodSeconds x failureThreshold of its startupProbe,
and progressDeadlineSeconds - max(600, window + 300) for the copy (docs/render.md, Probes).
Before, the delay left the engine's start-up out: llm-chat's lost spot pod served again after
375 s where its probe allows 900 s, vision-daily's after 213 s where it allows 600 s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tables_helpers import shipped_tables

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import Plan, read_plan
from scaleplan.render import render_report
from scaleplan.simulate.failures import FailureEvent, lost_replicas, recovery
from scaleplan.simulate.layout import topology

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

ROOT = Path(__file__).resolve().parents[1]
CHAT = ROOT / "examples" / "llm-chat" / "plan.yaml"
VISION = ROOT / "examples" / "vision-daily" / "plan.yaml"
NODE_START, IMAGE_PULL = 90, 120


def _edited(path: Path, startup: int | None = None, source: str | None = None) -> Plan:
    data = read_plan(path).model_dump(mode="json", exclude_none=True)
    probes = data["spec"]["kubernetes"].setdefault("probes", {})
    probes.pop("startup_seconds", None)
    if startup is not None:
        probes["startup_seconds"] = startup
    if source is not None:
        data["spec"]["model"]["source"] = {"uri": source}
    return Plan.model_validate(data)


def _rendered_start(plan: Plan, name: str) -> tuple[int, int]:
    """(startup probe window, init copy) seconds of ``name``'s rendered Deployment."""
    dep: dict[str, Any] = next(
        o.obj for o in render_report(plan, shipped_tables()).objects
        if o.kind == "Deployment" and o.name == name
    )
    pod = dep["spec"]["template"]["spec"]
    (server,) = [c for c in pod["containers"] if "startupProbe" in c]
    probe = server["startupProbe"]
    window = probe["periodSeconds"] * probe["failureThreshold"]
    copy = dep["spec"]["progressDeadlineSeconds"] - max(600, window + 300)
    return window, copy


CASES: dict[str, tuple[Path, dict[str, Any]]] = {
    "llm-chat (the spec's 900 s)": (CHAT, {}),
    "llm-chat, window by the weights (Hugging Face download)": (CHAT, {"startup": None}),
    "llm-chat from s3 (init copy)": (CHAT, {"startup": None, "source": "s3://bucket/llm"}),
    "llm-chat from a PVC": (CHAT, {"startup": None, "source": "pvc://weights/llm"}),
    "vision-daily (no engine, no source)": (VISION, {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_default_replacement_delay_is_the_rendered_pods_start(case: str) -> None:
    path, edit = CASES[case]
    plan = _edited(path, **edit) if edit else read_plan(path)
    topo = topology(plan, 0)
    w = max(range(plan.demand.windows), key=lambda k: plan.demand.rps[k])
    lost, _ = lost_replicas(plan, topo, "node", w)
    event = FailureEvent("node", 1.0, 0, w, frozenset(lost), ())
    back = recovery(plan, topo, event, None, ACCS)
    (alloc,) = {plan.allocations[int(topo.alloc_of[g])].name for g in event.struck(topo)}
    window, copy = _rendered_start(plan, alloc)
    assert back.delay_s == NODE_START + IMAGE_PULL + copy + window, (case, back.basis)
    assert f"startup probe's window {window} s" in back.basis
    assert ("init container's copy" in back.basis) == (copy > 0)
    if "s3" in case:
        assert copy == 150  # 15 GiB at 0.1 GiB/s
    if "startup" not in edit:
        assert window in (900, 600)
    # the request-level and token-level runs report the same
    assert recovery(plan, topo, event, 42.0, ACCS).delay_s == 42.0


def test_the_report_states_the_engine_start_up() -> None:
    """The failure line says where the delay comes from, engine start-up included."""
    from scaleplan.simulate import simulate

    res = simulate(read_plan(VISION), duration_s=60.0, seed=0, failure="node", accelerators=ACCS)
    f = res.failure
    assert f is not None and f.replacement_s == NODE_START + IMAGE_PULL + 600
    assert f.replacement_basis == (
        "node start 90 s + image pull 120 s + the rendered startup probe's window 600 s "
        "(engine start-up 600 s)"
    )
    chat = _edited(CHAT, startup=None)
    topo = topology(chat, 0)
    lost, _ = lost_replicas(chat, topo, "node", 0)
    back = recovery(chat, topo, FailureEvent("node", 1.0, 0, 0, frozenset(lost), ()), None, ACCS)
    assert back.basis == (
        "node start 90 s + image pull 120 s + the rendered startup probe's window 770 s "
        "(engine start-up 600 s + download 15 GiB at 0.1 GiB/s + weight load 15 GiB at "
        "1 GiB/s, rounded up to 10 s)"
    )


def test_a_lost_zone_is_not_replaced_while_the_rendered_spread_holds_it_down() -> None:
    """UX review 18: `--fail zone` on a zone-redundant plan said the lost replicas serve again
    after node start + pull + the startup window. Render enforces the zone spread of such a
    plan (maxSkew 1, DoNotSchedule, minDomains = its zones, affinity to those zones): with a
    zone down, its count is 0, so a replacement in a surviving zone would exceed the skew and
    stays Pending until the zone is back. The capacity comes back as for pinned spot: never,
    unless --replace-after says when."""
    import math

    from simulate_helpers import allocation, make_plan

    from scaleplan.simulate import simulate

    plan = make_plan(
        [allocation("od", replicas=(6,), zones=("z-a", "z-b", "z-c"))],
        rps=(50.0,), redundancy="zone",
    )
    topo = topology(plan, 0)
    lost, _ = lost_replicas(plan, topo, "zone", 0)
    event = FailureEvent("zone", 1.0, 0, 0, frozenset(lost), ())
    back = recovery(plan, topo, event, None, ACCS)
    assert back.delay_s == math.inf, back
    assert "zone spread" in back.basis and "--replace-after" in back.basis, back.basis
    assert recovery(plan, topo, event, 42.0, ACCS).delay_s == 42.0
    res = simulate(plan, duration_s=10, failure="zone", fail_at_s=1.0, accelerators=ACCS)
    assert res.failure is not None and res.failure.back_at_s == math.inf  # JSON: null
    # a node loss is replaced as before: the spread lets a pod into its own zone
    nlost, _ = lost_replicas(plan, topo, "node", 0)
    node = FailureEvent("node", 1.0, 0, 0, frozenset(nlost), ())
    assert recovery(plan, topo, node, None, ACCS).delay_s < math.inf
