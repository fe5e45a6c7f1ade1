"""KEDA request-rate triggers of allocations the plan runs in some hours only (routing: service):
each answers only in its planned hours, so the Deployments scale in the hours the plan runs
them and no other (UX review 4, #1: the README's embedding example ran its night CPU pods
beside the day's GPU pods, each ScaledObject scaling on the Service's total rate, so the CPU
pods got their even share of the peak). The gate is evaluated by Prometheus's own engine
(``promtool test rules``), not by a reading of the text."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from observe_helpers import binaries
from tables_helpers import shipped_tables

from scaleplan.plan import read_plan
from scaleplan.render import render_report
from scaleplan.render.engine import REQUEST_RATE_TRIGGER

ROOT = Path(__file__).resolve().parents[1]
EMBED = ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"
needs_promtool = pytest.mark.skipif(
    binaries() is None,
    reason="prometheus/promtool not installed (Debian package 'prometheus'; .ci/run installs it)",
)


def _rate_triggers() -> dict[str, list[dict[str, Any]]]:
    """allocation -> its prometheus request-rate triggers, as rendered."""
    plan = read_plan(EMBED)
    out = {}
    for o in render_report(plan, shipped_tables()).objects:
        if o.kind == "ScaledObject":
            out[o.name] = [t for t in o.obj["spec"]["triggers"] if t["type"] == "prometheus"]
    return out


def test_each_allocation_answers_only_in_its_planned_hours_at_the_plans_replicas() -> None:
    """In every hour exactly the triggers of the allocations the plan runs answer, one each, and
    at the plan's own demand in that hour ceil(demand / threshold) is the plan's count, its
    headroom and n+1 spare included (UX review 5, #4: thresholds of the hour's capacity per
    replica asked for the demand's share of the capacity, e.g. 1 g4dn pod of the 2 the plan
    runs at 1,600 rps), and never above the hour's capacity over the headroom per replica."""
    plan = read_plan(EMBED)
    trigs = _rate_triggers()
    assert trigs and all(t["name"] != REQUEST_RATE_TRIGGER for ts in trigs.values() for t in ts)
    cap = [
        sum(a.replicas_per_window[w] * a.capacity_rps_per_replica for a in plan.allocations)
        for w in range(24)
    ]
    for a in plan.allocations:
        if a.name not in trigs:
            continue  # fixed replicas: no ScaledObject
        for hour, n in enumerate(a.replicas_per_window):
            answering = [
                t
                for t in trigs[a.name]
                if any(s <= hour * 60 < e for s, e in _ranges(t["metadata"]["query"]))
            ]
            assert len(answering) == (1 if n > 0 else 0), (a.name, hour, n, answering)
            if n > 0:
                threshold = float(answering[0]["metadata"]["threshold"])
                wanted = math.ceil(plan.demand.rps[hour] / threshold - 1e-9)
                assert wanted == n, (a.name, hour, n, wanted)
                assert threshold <= cap[hour] / (1 + plan.demand.headroom) / n + 1.1e-3


def _ranges(query: str) -> tuple[tuple[int, int], ...]:
    """The minutes of the UTC day [start, end) in which a gated query answers."""
    from scaleplan.render.formula import gate_runs

    return gate_runs(query)


def test_each_gate_opens_early_by_the_pods_start_up_time() -> None:
    """A gated trigger opens each run of its hours as early as the cron triggers start theirs:
    simulate's start-up time of a new pod (node start + image pull + the rendered startup
    window), rounded up to whole minutes, before the hour, so that the pods it adds serve at the
    hour; it closes at the hour. Checked at every minute of the day against the hours each
    trigger answers at their start: open at minute m iff m's hour is one of them or the hour
    the lead reaches into is (the lead is under an hour here). Until 2026-12-06 the gate opened
    at the hour (hour() >= H), and the CPU pods of 06:00 served 6 min after it."""
    from scaleplan.render.serving import new_pod_serving_after

    plan = read_plan(EMBED)
    trigs = _rate_triggers()
    for a in plan.allocations:
        if a.name not in trigs:
            continue
        after, _ = new_pod_serving_after(plan, a)
        lead = math.ceil(after / 60 - 1e-9)
        assert 0 < lead < 60, lead
        for t in trigs[a.name]:
            runs = _ranges(t["metadata"]["query"])
            hours = {h for h in range(24) if any(s <= h * 60 < e for s, e in runs)}
            assert hours, t
            for m in range(24 * 60):
                want = m // 60 in hours or ((m + lead) // 60) % 24 in hours
                assert any(s <= m < e for s, e in runs) == want, (a.name, t["name"], m, lead)


@needs_promtool
def test_the_gate_is_open_in_planned_hours_only_as_prometheus_evaluates_it(tmp_path: Path) -> None:
    """Each rendered query as a recording rule over a steady 100 req/s: at 02:30 (the night's
    CPU hours) the c7i.large query has a value and the g4dn one none; at 12:30 the reverse."""
    assert binaries() is not None
    _prom, promtool = binaries()  # type: ignore[misc]
    trigs = _rate_triggers()
    cpu = next(k for k in trigs if "c7i-large" in k)
    gpu = next(k for k in trigs if "g4dn" in k)
    night = next(
        t for t in trigs[cpu] if any(s <= 2 * 60 < e for s, e in _ranges(t["metadata"]["query"]))
    )
    noon = next(
        t for t in trigs[gpu] if any(s <= 12 * 60 < e for s, e in _ranges(t["metadata"]["query"]))
    )
    exprs = {cpu: night["metadata"]["query"], gpu: noon["metadata"]["query"]}
    rules = {
        "groups": [
            {
                "name": "gates",
                "interval": "1m",
                "rules": [
                    {"record": f"gate:{k.replace('-', '_')}", "expr": exprs[k]} for k in (cpu, gpu)
                ],
            }
        ]
    }
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    series = 'http_requests_total{namespace="search",service="embedder"}'

    def expect(name: str, on: bool) -> list[dict[str, Any]]:
        return [{"labels": f"gate:{name.replace('-', '_')}", "value": 100}] if on else []

    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                # a counter rising 6,000 a minute (100 req/s) for 14 hours from 00:00 UTC
                "input_series": [{"series": series, "values": "0+6000x840"}],
                "promql_expr_test": [
                    {
                        "expr": f"gate:{cpu.replace('-', '_')}",
                        "eval_time": "2h30m",
                        "exp_samples": expect(cpu, True),
                    },
                    {
                        "expr": f"gate:{gpu.replace('-', '_')}",
                        "eval_time": "2h30m",
                        "exp_samples": expect(gpu, False),
                    },
                    {
                        "expr": f"gate:{cpu.replace('-', '_')}",
                        "eval_time": "12h30m",
                        "exp_samples": expect(cpu, False),
                    },
                    {
                        "expr": f"gate:{gpu.replace('-', '_')}",
                        "eval_time": "12h30m",
                        "exp_samples": expect(gpu, True),
                    },
                    # the g4dn pods of 08:00 start 6 min early (their start-up, 330 s)
                    {
                        "expr": f"gate:{gpu.replace('-', '_')}",
                        "eval_time": "7h54m",
                        "exp_samples": expect(gpu, True),
                    },
                    {
                        "expr": f"gate:{gpu.replace('-', '_')}",
                        "eval_time": "7h53m",
                        "exp_samples": expect(gpu, False),
                    },
                    # the night's CPU pods: open from 22:54 (for 23:00) until 06:00
                    {
                        "expr": f"gate:{cpu.replace('-', '_')}",
                        "eval_time": "5h59m",
                        "exp_samples": expect(cpu, True),
                    },
                    {
                        "expr": f"gate:{cpu.replace('-', '_')}",
                        "eval_time": "6h",
                        "exp_samples": expect(cpu, False),
                    },
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    res = subprocess.run(
        [promtool, "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_at_any_demand_the_plan_covers_each_hour_asks_for_the_plans_count() -> None:
    """The same property over demands the plan's counts cover (each hour's rate drawn between a
    tenth and all of what the capacity holds with headroom, seeded): ceil(demand / threshold) is
    the plan's count in every planned hour, whether the hour's range is its own or shared with
    its neighbours', and the threshold is never above the capacity over the headroom."""
    import random

    base = read_plan(EMBED)
    h = base.demand.headroom
    rng = random.Random(5)
    for _ in range(20):
        cap = [base.capacity_rps_at(w) for w in range(24)]
        rps = tuple(round(c / (1 + h) * rng.uniform(0.1, 1.0), 3) for c in cap)
        plan = base.model_copy(update={"demand": base.demand.model_copy(update={"rps": rps})})
        trigs = {
            o.name: [t for t in o.obj["spec"]["triggers"] if t["type"] == "prometheus"]
            for o in render_report(plan, shipped_tables()).objects
            if o.kind == "ScaledObject"
        }
        for a in plan.allocations:
            for hour, n in enumerate(a.replicas_per_window if a.name in trigs else ()):
                if n == 0:
                    continue
                (t,) = [
                    t for t in trigs[a.name]
                    if any(s <= hour * 60 < e for s, e in _ranges(t["metadata"]["query"]))
                ]
                threshold = float(t["metadata"]["threshold"])
                assert math.ceil(rps[hour] / threshold - 1e-9) == n, (a.name, hour, rps[hour], n)
                assert threshold <= cap[hour] / (1 + h) / n + 1.1e-3


def test_a_spec_threshold_still_wins_in_planned_hours() -> None:
    """prometheus.threshold from the spec: the rate one replica is scaled for, times the hour's
    capacity over the allocation's own (at a demand that fills the capacity, the plan's count);
    neither the demand nor the headroom enters."""
    base = read_plan(EMBED)
    k8s = base.spec.kubernetes
    prom = k8s.autoscaler.prometheus.model_copy(update={"threshold": 30.0})
    auto = k8s.autoscaler.model_copy(update={"prometheus": prom})
    spec = base.spec.model_copy(
        update={"kubernetes": k8s.model_copy(update={"autoscaler": auto})}
    )
    plan = base.model_copy(update={"spec": spec})
    for o in render_report(plan, shipped_tables()).objects:
        if o.kind != "ScaledObject":
            continue
        a = next(x for x in plan.allocations if x.name == o.name)
        for t in o.obj["spec"]["triggers"]:
            if t["type"] != "prometheus":
                continue
            for s, _ in _ranges(t["metadata"]["query"]):
                h = math.ceil(s / 60) % 24  # the hour it opens (early) for
                n = a.replicas_per_window[h]
                want = 30.0 * plan.capacity_rps_at(h) / (n * a.capacity_rps_per_replica)
                assert float(t["metadata"]["threshold"]) == pytest.approx(want, abs=1e-3)


def test_check_takes_the_early_gate_and_flags_the_whole_hour_one(tmp_path: Path) -> None:
    """check --plan over the rendered manifests finds no drift; the same manifests with a gate
    opened at the whole hour, as render wrote it until 2026-12-06 (`hour() >= 8`), are drift at
    that trigger's query, the rendered early gate shown."""
    from scaleplan.check import check_paths
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.render import render
    from scaleplan.yamlio import dump_yaml_all

    plan = read_plan(EMBED)
    out = tmp_path / "out"
    write_manifests(out, render(plan, shipped_tables()))

    def drift() -> list[str]:
        report = check_paths([out], plan=plan, plan_file=str(EMBED), catalog=shipped_tables())
        return [f.message for f in report.findings if f.rule == "drift"]

    assert drift() == []
    (path,) = [p for p in sorted(out.glob("scaledobject-*.yaml")) if "g4dn" in p.name]
    doc = yaml.safe_load(path.read_text())
    (trig,) = [t for t in doc["spec"]["triggers"] if ">= 474 " in t["metadata"].get("query", "")]
    head = trig["metadata"]["query"].split(" and on() ")[0]
    trig["metadata"]["query"] = f"{head} and on() ((hour() >= 8 and hour() < 18))"
    path.write_text(dump_yaml_all([doc]))
    (msg,) = drift()
    assert "query" in msg and "hour() >= 8 and hour() < 18" in msg, msg
    assert "hour() * 60 + minute() >= 474 and hour() * 60 + minute() < 1080" in msg, msg


def test_check_compares_the_cron_triggers(tmp_path: Path) -> None:
    """A cron trigger that starts at the hour (as render wrote it before the early start) or
    holds fewer pods is drift at its start / desiredReplicas; respaced it is not. Until
    2026-12-06 check compared a cron trigger's type only, and passed both."""
    from scaleplan.check import check_paths
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.render import render
    from scaleplan.yamlio import dump_yaml_all

    plan = read_plan(EMBED)
    out = tmp_path / "out"
    write_manifests(out, render(plan, shipped_tables()))
    (path,) = [p for p in sorted(out.glob("scaledobject-*.yaml")) if "g4dn" in p.name]
    rendered = yaml.safe_load(path.read_text())

    def drift(edit: dict[str, str]) -> list[str]:
        doc = yaml.safe_load(dump_yaml_all([rendered]))
        (cron,) = [t for t in doc["spec"]["triggers"] if t["name"] == "plan-0800"]
        assert cron["metadata"]["start"] == "54 7 * * *"  # 6 min before 08:00
        cron["metadata"].update(edit)
        path.write_text(dump_yaml_all([doc]))
        report = check_paths([out], plan=plan, plan_file=str(EMBED), catalog=shipped_tables())
        return [f.message for f in report.findings if f.rule == "drift"]

    assert drift({"start": "54  7 * * *"}) == []
    assert drift({"start": "0 8 * * *"}) == [
        "triggers[plan-0800].start is '0 8 * * *', the plan renders '54 7 * * *'"
    ]
    (msg,) = drift({"desiredReplicas": "1"})
    assert msg.startswith("triggers[plan-0800].desiredReplicas is '1', the plan renders "), msg
