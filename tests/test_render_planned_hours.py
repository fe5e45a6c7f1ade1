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
    at a demand equal to the hour's planned capacity ceil(demand / threshold) is the plan's
    count."""
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
                if any(s <= hour < e for s, e in _ranges(t["metadata"]["query"]))
            ]
            assert len(answering) == (1 if n > 0 else 0), (a.name, hour, n, answering)
            if n > 0:
                wanted = math.ceil(cap[hour] / float(answering[0]["metadata"]["threshold"]) - 1e-3)
                assert wanted == n, (a.name, hour, n, wanted)


def _ranges(query: str) -> list[tuple[int, int]]:
    import re

    return [
        (int(s), int(e)) for s, e in re.findall(r"hour\(\) >= (\d+) and hour\(\) < (\d+)", query)
    ]


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
        t for t in trigs[cpu] if any(s <= 2 < e for s, e in _ranges(t["metadata"]["query"]))
    )
    exprs = {cpu: night["metadata"]["query"], gpu: trigs[gpu][0]["metadata"]["query"]}
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
