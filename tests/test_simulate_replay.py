"""``simulate --replicas autoscaler`` replays the counts the rendered autoscalers run at each
window's planned rate (scaleplan/render/replay.py), not the plan's: an rps HPA drops a zone
spare the plan runs, a ScaledObject with the spare formula holds it, hour-gated triggers with
cron floors give the plan's count; metrics the planned rate does not give are refused."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from tables_helpers import shipped_tables

from scaleplan.plan import Plan, dump_plan, read_plan
from scaleplan.render.replay import Unreplayable, autoscaled_counts, formula_count

ROOT = Path(__file__).resolve().parents[1]


def _with(plan: Plan, **autoscaler: Any) -> Plan:
    k8s = plan.spec.kubernetes
    if "hpa" in autoscaler:
        autoscaler["hpa"] = k8s.autoscaler.hpa.model_copy(update=autoscaler["hpa"])
    asc = k8s.autoscaler.model_copy(update=autoscaler)
    spec = plan.spec.model_copy(update={"kubernetes": k8s.model_copy(update={"autoscaler": asc})})
    return plan.model_copy(update={"spec": spec})


def _vision() -> Plan:
    return read_plan(ROOT / "examples" / "vision-daily" / "plan.yaml")


def test_an_rps_hpa_replays_fewer_pods_than_the_zone_plan_and_keda_the_plans() -> None:
    plan = _vision()
    (a,) = plan.allocations
    cap, rates = a.capacity_rps_per_replica, plan.demand.rps
    rps_hpa = _with(plan, hpa={"metric": "rps", "target": None})
    hpa = autoscaled_counts(rps_hpa, shipped_tables())[a.name]
    lo = 2  # the plan's lowest count, the HPA's minReplicas
    for w, n in enumerate(hpa):  # ceil(rate / (capacity / 1.2)), within [2, 5]
        assert n == max(lo, min(5, math.ceil(rates[w] * 1.2 / cap - 1e-6))), w
    peak = rates.index(max(rates))
    assert hpa[peak] == 3 and a.replicas_per_window[peak] == 5
    keda = autoscaled_counts(_with(plan, type="keda-prometheus"), shipped_tables())[a.name]
    assert keda == a.replicas_per_window


def test_gated_triggers_with_cron_floors_replay_the_plans_counts() -> None:
    plan = read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")
    counts = autoscaled_counts(plan, shipped_tables())
    assert {a.name: a.replicas_per_window for a in plan.allocations} == counts
    # without the cron floors, the gated thresholds alone still ask for the plan's count
    assert autoscaled_counts(_with(plan, cron=False), shipped_tables()) == counts


def test_a_gate_opened_over_an_hour_early_replays_in_the_hour_before() -> None:
    """The gated triggers open each run early by the pods' start-up time (docs/render.md,
    "Autoscaling"), and the replay reads the gate in minutes at each window's start, as KEDA
    would ask then: with a one-hour startup window (lead ceil((90 + 120 + 3,600) / 60) = 64
    min) the g4dn gate of 08:00-18:00 is open at 07:00, so window 7 replays the 07:00 rate
    over its threshold where the plan (and the default 6 min lead) runs none."""
    from scaleplan.render import render_report

    base = _with(read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"), cron=False)
    gpu = next(a.name for a in base.allocations if "g4dn" in a.name)
    assert base.allocations[[a.name for a in base.allocations].index(gpu)].replicas_per_window[
        7:9] == (0, 2)
    assert autoscaled_counts(base, shipped_tables())[gpu][7] == 0
    k8s = base.spec.kubernetes
    probes = k8s.probes.model_copy(update={"startup_seconds": 3600})
    spec = base.spec.model_copy(update={"kubernetes": k8s.model_copy(update={"probes": probes})})
    plan = base.model_copy(update={"spec": spec})
    (so,) = [o.obj for o in render_report(plan, shipped_tables()).objects
             if o.kind == "ScaledObject" and o.name == gpu]
    (trig,) = [t for t in so["spec"]["triggers"] if "(hour() * 60 + minute() >= 416 " in
               t["metadata"]["query"]]  # 08:00 - 64 min
    want = math.ceil(plan.demand.rps[7] / float(trig["metadata"]["threshold"]) - 1e-9)
    assert want >= 1
    counts = autoscaled_counts(plan, shipped_tables())[gpu]
    assert counts[7] == want
    assert counts[8:18] == autoscaled_counts(base, shipped_tables())[gpu][8:18]


@pytest.mark.parametrize(
    ("example", "update", "why"),
    [
        ("embedding-kafka", {}, "kafka"),
        ("vision-daily", {}, "gpu utilization"),
    ],
)
def test_metrics_the_planned_rate_does_not_give_are_refused(
    example: str, update: dict[str, Any], why: str
) -> None:
    plan = _with(read_plan(ROOT / "examples" / example / "plan.yaml"), **update)
    with pytest.raises(Unreplayable, match=why):
        autoscaled_counts(plan, shipped_tables())


def test_formula_count_reads_the_chain() -> None:
    f = "float(requests <= 0 ? 0 : requests <= 10.746 ? 2 : requests <= 21.492 ? 3 : 4)"
    assert [formula_count(f, {"requests": r}) for r in (0, 5, 10.746, 11, 21.5, 99)] == [
        0, 2, 2, 3, 4, 4]


def test_simulate_replays_the_autoscalers_counts(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """The CLI: the peak window of vision-daily under an rps HPA runs the HPA's 3 pods, says
    so in a note, and the plan's own counts are the default; a refused replay exits 3."""
    plan = _with(_vision(), hpa={"metric": "rps", "target": None})
    path = tmp_path / "plan.yaml"
    path.write_text(dump_plan(plan), encoding="utf-8")
    args = ["simulate", str(path), "--windows", "peak", "--duration", "20", "--json"]
    own = json.loads(cli(args, exit_code=None).stdout)
    rep = json.loads(cli([*args, "--replicas", "autoscaler"], exit_code=None).stdout)
    (note,) = [n for n in rep["notes"] if n.startswith("replicas:")]
    assert "vision-g2-standard-4-od in " in note and "3 where the plan runs 5" in note, note
    assert not [n for n in own["notes"] if n.startswith("replicas:")]
    assert json.dumps(own) != json.dumps(rep)
    kafka = ROOT / "examples" / "embedding-kafka" / "plan.yaml"
    res = cli(["simulate", str(kafka), "--replicas", "autoscaler"], exit_code=3)
    assert "--replicas autoscaler cannot replay a ScaledObject on kafka" in " ".join(
        (res.stdout + res.stderr).split())
    cli(["simulate", str(kafka), "--replicas", "hpa"], exit_code=2)
    assert yaml.safe_load(path.read_text())["allocations"][0]["replicas_per_window"][12] == 5


def test_rps_hpas_beside_each_other_settle_where_kubernetes_would() -> None:
    """UX trial 29 F3: rps HPAs beside other autoscaled allocations were refused ("each pod's
    rate depends on every allocation's count") while a surge runs them. The replay now runs
    the HPAs' syncs from the plan's counts until none moves: behind one Service every pod
    sees rate / N, so at each window every HPA asks for the count it has (within its 10 %
    tolerance, ceil(n x rate / N / target), or a bound).
    On embedding-cpu-gpu that shows what such a render does: the CPU pods, whose target is
    low, scale to their maximum and the GPU pods, which see far less than theirs, fall to
    their floor of 1 where the plan runs 2 (docs/simulate.md)."""
    from scaleplan.render.replay import hpa_proposal, quantity, rendered_scalers

    plan = _with(
        read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"),
        type="hpa", hpa={"metric": "rps", "target": None},
    )
    counts = autoscaled_counts(plan, shipped_tables())
    scalers, _ = rendered_scalers(plan, shipped_tables())
    hpas = {a.name: scalers[a.name]["spec"] for a in plan.allocations}
    for w, rate in enumerate(plan.demand.rps):
        per_pod = rate / sum(c[w] for c in counts.values())
        for name, spec in hpas.items():
            n = counts[name][w]
            target = quantity(spec["metrics"][0]["pods"]["target"]["averageValue"])
            asks = hpa_proposal(n, n * per_pod, target)  # what it asks for at the next sync
            assert max(spec["minReplicas"], min(spec["maxReplicas"], asks)) == n, (w, name, n)
    gpu = "embedder-g4dn-xlarge-od"
    peak = plan.demand.rps.index(max(plan.demand.rps))
    planned = next(a for a in plan.allocations if a.name == gpu).replicas_per_window[peak]
    assert (planned, counts[gpu][peak]) == (2, 1)
    # by hand at the peak: 3 + 15 + 1 pods behind one Service; each CPU HPA sees rate / 19 a
    # pod over its target and is at its maximum, the GPU HPA far under its target at its floor
    assert [counts[n][peak] for n in sorted(counts)] == [3, 15, 1]
    assert all(counts[n][peak] == hpas[n]["maxReplicas"] for n in sorted(counts)[:2])
