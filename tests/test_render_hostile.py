"""Hostile and broken input: nothing from a plan can break the YAML or Kubernetes syntax.

Strings are either rejected with a message naming the plan field (exit 3 on the CLI) or, for
names scaleplan derives, sanitized and reported as a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from render_helpers import PLANS

from scaleplan.catalog.model import Catalog
from scaleplan.check.schema_cache import validate_object
from scaleplan.errors import PlanError
from scaleplan.kube.names import DNS_LABEL
from scaleplan.plan import Plan, dump_plan
from scaleplan.render import render, render_report
from scaleplan.yamlio import parse_yaml_documents


def base() -> Plan:
    return PLANS["spot-mix"]()


def with_spec(p: Plan, *, metadata: dict[str, Any] | None = None, kubernetes: dict[str, Any] | None = None, probes: dict[str, Any] | None = None) -> Plan:
    s = p.spec
    md = s.metadata.model_copy(update=metadata or {})
    k8s = s.kubernetes.model_copy(update=kubernetes or {})
    if probes:
        k8s = k8s.model_copy(update={"probes": k8s.probes.model_copy(update=probes)})
    return p.model_copy(update={"spec": s.model_copy(update={"metadata": md, "kubernetes": k8s})})


def with_alloc(p: Plan, i: int, **upd: Any) -> Plan:
    allocs = list(p.allocations)
    allocs[i] = allocs[i].model_copy(update=upd)
    return p.model_copy(update={"allocations": tuple(allocs)})


INJECT = 'x"\n  evil: true\n---\nkind: Secret'

REJECTED = {
    "service name with YAML": lambda p: with_spec(p, metadata={"name": INJECT}),
    "service name upper case": lambda p: with_spec(p, metadata={"name": "Chat"}),
    "service name 300 chars": lambda p: with_spec(p, metadata={"name": "a" * 300}),
    "service name unicode": lambda p: with_spec(p, metadata={"name": "chät"}),
    "namespace": lambda p: with_spec(p, kubernetes={"namespace": "prod: {}"}),
    "image with newline": lambda p: with_spec(p, kubernetes={"image": "repo/x:1\n---\nkind: Secret"}),
    "image latest": lambda p: with_spec(p, kubernetes={"image": "repo/x:latest"}),
    "image without tag": lambda p: with_spec(p, kubernetes={"image": "repo/x"}),
    "label value newline": lambda p: with_spec(p, metadata={"labels": {"team": "a\nb: c"}}),
    "label value colon": lambda p: with_spec(p, metadata={"labels": {"team": "a: b"}}),
    "label value 300 chars": lambda p: with_spec(p, metadata={"labels": {"team": "a" * 300}}),
    "label key spaces": lambda p: with_spec(p, metadata={"labels": {"bad key": "x"}}),
    "label key quotes": lambda p: with_spec(p, metadata={"labels": {'a"b': "x"}}),
    "label overrides selector": lambda p: with_spec(p, metadata={"labels": {"app.kubernetes.io/name": "other"}}),
    "annotation key unicode": lambda p: with_spec(p, metadata={"annotations": {"ünï": "x"}}),
    "annotation control char": lambda p: with_spec(p, metadata={"annotations": {"note": "a\x00b"}}),
    "env name": lambda p: with_spec(p, kubernetes={"env": {"BAD-NAME": "1"}}),
    "env literal secret": lambda p: with_spec(p, kubernetes={"env": {"DB_PASSWORD": "hunter2"}}),
    "probe path": lambda p: with_spec(p, probes={"path": '/health" onerror'}),
    "port": lambda p: with_spec(p, kubernetes={"port": 70000}),
    "instance type": lambda p: with_alloc(p, 0, instance_type="g6.xlarge\nevil: 1"),
    "zone": lambda p: with_alloc(p, 0, zones=("us-east-1a", "zone: {}")),
    "family": lambda p: with_alloc(p, 0, family="G 6"),
    "windows mismatch": lambda p: with_alloc(p, 0, replicas_per_window=(1, 2)),
    "cpu with gpus": lambda p: with_alloc(p, 0, accelerator="CPU"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_rejected(tables: Catalog, case: str) -> None:
    bad = REJECTED[case](base())
    with pytest.raises(PlanError) as exc:
        render(bad, tables)
    msg = str(exc.value)
    assert "\n---" not in msg.replace("\\n", "") or "evil" not in msg
    assert exc.value.problems and all(p.where for p in exc.value.problems), msg


def test_long_unicode_upper_allocation_names_are_sanitized(tables: Catalog) -> None:
    p = with_alloc(base(), 0, name="Ünïcode_" + "X" * 300)
    p = with_alloc(p, 1, name='spot"\n  evil: true')
    r = render_report(p, tables)
    deps = [o for o in r.objects if o.kind == "Deployment"]
    for d in deps:
        assert DNS_LABEL.match(d.name) and len(d.name) <= 63
    assert sum("is not a DNS-1123 label" in w for w in r.warnings) == 2
    for o in r.objects:
        assert validate_object(o.obj, "1.37") == []
    # stable: the same input gives the same sanitized names
    assert render(p, tables) == render(with_alloc(with_alloc(base(), 0, name="Ünïcode_" + "X" * 300), 1, name='spot"\n  evil: true'), tables)


def test_colliding_sanitized_names_are_rejected(tables: Catalog) -> None:
    p = with_alloc(with_alloc(base(), 0, name="a_b"), 1, name="a_b")
    with pytest.raises(PlanError, match="both give the name"):
        render(p, tables)


def test_free_text_cannot_inject_keys_or_documents(tables: Catalog) -> None:
    evil = "ok'\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"
    p = with_spec(base(), metadata={"annotations": {"note": evil, "quote": "it's \"quoted\": {a: [b]} # no comment"}}, kubernetes={"env": {"MSG": evil}, "args": ("--x", evil)})
    r = render_report(p, tables)
    for o in r.objects:
        docs = parse_yaml_documents(r.files[o.file], o.file)
        assert [d.data for d in docs] == [o.obj]
        assert o.obj["metadata"]["annotations"]["note"] == evil
    single = render(p, tables, layout="single")["manifests.yaml"]
    assert len(parse_yaml_documents(single, "m")) == len(r.objects)
    assert all(d.data["kind"] != "Secret" for d in parse_yaml_documents(single, "m"))


def test_infeasible_and_empty_plans(tables: Catalog) -> None:
    p = base()
    with pytest.raises(PlanError, match="infeasible"):
        render(p.model_copy(update={"status": "infeasible"}), tables)
    zero = tuple(a.model_copy(update={"replicas": 0}) for a in p.allocations)
    with pytest.raises(PlanError, match="no allocation"):
        render(p.model_copy(update={"allocations": zero}), tables)


def test_hostile_plan_file_cli(cli: Any, tmp_path: Path) -> None:
    text = dump_plan(base())
    cases = {
        "name": text.replace("  name: chat\n", '  name: "chat\\"\\n  evil: true"\n', 1),
        "label": text.replace("team: ml-platform", 'team: "a\\n---\\nkind: Secret"', 1),
        "image": text.replace("ghcr.io/example/server:1.2.3", "'ghcr.io/x:1 && rm -rf /'", 1),
        "unicode-ns": text.replace("namespace: inference", "namespace: prøduction", 1),
    }
    for case, body in cases.items():
        assert body != text, case
        f = tmp_path / f"{case}.yaml"
        f.write_text(body, encoding="utf-8")
        out = tmp_path / f"out-{case}"
        r = cli(["render", str(f), "--out", str(out)], exit_code=3)
        assert "error:" in r.stderr and str(f) in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
        assert not out.exists()
