"""Routing: ``routing: gateway-api`` renders per-allocation Services and a weighted HTTPRoute
(validated by the upstream Gateway API CRD, built by kustomize, clean under scaleplan check, drift on
weights); ``routing: service`` warns when a plan mixes replica types of very different speed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from render_helpers import KUBE_VERSIONS, PLANS, alloc, plan, spec, with_routing
from tables_helpers import shipped_tables

from scaleplan.catalog.model import Catalog
from scaleplan.check.model import Finding
from scaleplan.check.schema_cache import validate_object
from scaleplan.errors import PlanError
from scaleplan.plan import Plan, dump_plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import render, render_report
from scaleplan.render.routing import largest_remainder, peak_window, route_weights
from scaleplan.yamlio import parse_yaml_documents

GATEWAY = {"name": "public", "namespace": "gateways", "hostnames": ("llm.example.com",)}


def _objs(p: Plan, kind: str) -> list[dict[str, Any]]:
    return [o.obj for o in render_report(p, shipped_tables()).objects if o.kind == kind]


def _route(p: Plan) -> dict[str, Any]:
    (route,) = _objs(p, "HTTPRoute")
    return route


def _weights(route: dict[str, Any]) -> dict[str, int]:
    (rule,) = route["spec"]["rules"]
    return {b["name"]: b["weight"] for b in rule["backendRefs"]}


# --- weights --------------------------------------------------------------------------------


def test_largest_remainder() -> None:
    assert largest_remainder({"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}  # ties by key
    assert largest_remainder({"a": 2, "b": 1}) == {"a": 67, "b": 33}
    assert largest_remainder({"a": 1000, "b": 1, "z": 0}) == {
        "a": 99,
        "b": 1,
        "z": 0,
    }  # >= 1 if used, 0 if not
    assert largest_remainder({"a": 0.0}) == {"a": 0}
    many = largest_remainder({f"x{i:03d}": 1.0 + i for i in range(150)})
    assert sum(many.values()) == 150 and min(many.values()) == 1  # more backends than 100
    skew = largest_remainder({"big": 1e6, **{f"s{i}": 1.0 for i in range(30)}})
    assert (
        sum(skew.values()) == 100
        and skew["big"] == 70
        and all(skew[f"s{i}"] == 1 for i in range(30))
    )


def test_largest_remainder_ties_do_not_depend_on_names() -> None:
    """Backends of different capacity whose remainders tie (600 and 1000 rps: 37.5 and 62.5)
    are rounded the same whatever they are called: the optimizer rounds its candidate groups
    (solve.split.group_weights, keyed by group number) and render its Services (keyed by name),
    and they must agree on which backend gets the point. With ties by key, a T4 backend (group
    0, 'svc-g4dn-xlarge-od') and an A10G one shared by spot and on-demand pods (group 1,
    'svc-a10g-x1') at 600 and 1000 rps would get 38/62 in the optimizer's sizing and spot
    check, 37/63 in the HTTPRoute."""
    assert largest_remainder({"a": 600.0, "b": 1000.0}) == {"a": 37, "b": 63}
    assert largest_remainder({"a": 1000.0, "b": 600.0}) == {"a": 63, "b": 37}
    assert largest_remainder({"000000": 600.0, "000001": 1000.0}) == {"000000": 37, "000001": 63}


def test_gateway_route_weights_follow_peak_capacity(tables: Catalog) -> None:
    p = PLANS["gateway-mix"]()
    route = _route(p)
    weights = _weights(route)
    assert sum(weights.values()) == 100 and min(weights.values()) >= 1
    w = peak_window(p)
    assert w == max(range(24), key=lambda i: (p.demand.rps[i], -i))
    services = {
        o.obj["spec"]["selector"]["app.kubernetes.io/instance"]: o.name
        for o in render_report(p, tables).objects
        if o.kind == "Service"
    }
    cap = {
        services[a.name]: a.replicas_per_window[w] * a.capacity_rps_per_replica
        for a in p.allocations
    }
    total = sum(cap.values())
    for name, weight in weights.items():
        assert abs(weight - 100 * cap[name] / total) < 1, (name, weight, cap)
    assert weights == route_weights(p, services)
    # the hand-computed split: 2 x 4.8135 (L40S), 4 x 3.0633 (A10G), 1 x 0.4 (CPU) at hour 11
    assert weights == {
        "llm-g6e-2xlarge-spot": 43,
        "llm-g5-xlarge-on-demand": 55,
        "s-7b-m7i-4xlarge-on-demand": 2,
    }


def test_gateway_objects(tables: Catalog) -> None:
    p = PLANS["gateway-mix"]()
    result = render_report(p, tables)
    route = _route(p)
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["metadata"]["namespace"] == "inference"
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "public",
            "namespace": "gateways",
        }
    ]
    assert route["spec"]["hostnames"] == ["llm.example.com", "*.llm.example.com"]
    services = [o.obj for o in result.objects if o.kind == "Service"]
    deployments = {o.name: o.obj for o in result.objects if o.kind == "Deployment"}
    assert len(services) == len(deployments) == 3  # no shared Service that would spread evenly
    backends = set(_weights(route))
    for svc in services:
        name = svc["metadata"]["name"]
        assert name in backends
        assert name[0].isalpha() and len(name) <= 63  # Service names are DNS-1035 labels
        (dep,) = [
            d
            for d in deployments.values()
            if d["spec"]["selector"]["matchLabels"] == svc["spec"]["selector"]
        ]
        assert (
            svc["spec"]["ports"][0]["port"]
            == route["spec"]["rules"][0]["backendRefs"][0]["port"]
            == 8000
        )
        assert dep["metadata"]["name"] in name
    # HPAs scale each allocation on its own per-pod request rate, target = its capacity per
    # replica over the traffic's headroom (the headroom the plan holds)
    for hpa in _objs(p, "HorizontalPodAutoscaler"):
        a = next(x for x in p.allocations if x.name == hpa["spec"]["scaleTargetRef"]["name"])
        value = str(hpa["spec"]["metrics"][0]["pods"]["target"]["averageValue"])
        rps = float(value[:-1]) / 1000 if value.endswith("m") else float(value)
        assert rps == pytest.approx(
            a.capacity_rps_per_replica / (1 + p.demand.headroom), rel=1e-3
        )
    # ServiceMonitor scrapes through the per-allocation Services
    (sm,) = _objs(p, "ServiceMonitor")
    assert all(
        all(
            svc["metadata"]["labels"].get(k) == v
            for k, v in sm["spec"]["selector"]["matchLabels"].items()
        )
        for svc in services
    )
    for o in result.objects:
        for v in KUBE_VERSIONS:
            assert validate_object(o.obj, v) == [], (o.kind, o.name, v)
    assert render(p, tables) == render(PLANS["gateway-mix"](), tables)  # deterministic
    assert not [w for w in result.warnings if "routing: service" in w]


def test_gateway_keda_prometheus_scales_on_own_service() -> None:
    p = PLANS["gateway-mix"]()
    k8s = p.spec.kubernetes
    asc = k8s.autoscaler.model_copy(update={"type": "keda-prometheus"})
    p = p.model_copy(
        update={
            "spec": p.spec.model_copy(
                update={"kubernetes": k8s.model_copy(update={"autoscaler": asc})}
            )
        }
    )
    sos = _objs(p, "ScaledObject")
    assert sos
    for so in sos:
        a = next(x for x in p.allocations if x.name == so["spec"]["scaleTargetRef"]["name"])
        meta = so["spec"]["triggers"][0]["metadata"]
        assert f'service="{a.name}"' in meta["query"]
        assert float(meta["threshold"]) == pytest.approx(
            a.capacity_rps_per_replica / (1 + p.demand.headroom), rel=1e-3
        )


def test_schema_rejects_bad_routes() -> None:
    route = _route(PLANS["gateway-mix"]())
    bad = json.loads(json.dumps(route))
    bad["spec"]["rules"][0]["backendRefs"][0]["weight"] = 1000001
    bad["spec"]["rules"][0]["backendRefs"][1]["wieght"] = 3
    bad["spec"]["parentRefs"][0]["namespace"] = "Gateways"
    bad["spec"]["hostnames"].append("https://x")
    bad["spec"]["bogus"] = True
    errs = validate_object(bad, "1.37")
    assert any(
        e.startswith("spec.rules[0].backendRefs[0].weight") and "1000000" in e for e in errs
    ), errs
    assert any("'wieght' was unexpected" in e for e in errs), errs
    assert any(e.startswith("spec.parentRefs[0].namespace") for e in errs), errs
    assert any(e.startswith("spec.hostnames[2]") for e in errs), errs
    assert any("'bogus' was unexpected" in e for e in errs), errs
    assert not any(
        "no schema for kind" in e for e in validate_object({**route, "spec": {}}, "1.35")
    )


def test_schema_accepts_richer_user_routes() -> None:
    """Fields of the v1 specification scaleplan does not emit are accepted (shallowly), so
    scaleplan check does not flag valid hand-written routes."""
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "api", "namespace": "web"},
        "spec": {
            "parentRefs": [
                {"name": "public", "namespace": "gateways", "sectionName": "https", "port": 443}
            ],
            "hostnames": ["*.example.com"],
            "rules": [
                {
                    "name": "v1",
                    "matches": [
                        {
                            "path": {"type": "Exact", "value": "/v1/chat"},
                            "headers": [{"name": "x-tenant", "value": "a"}],
                            "method": "POST",
                        }
                    ],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"add": [{"name": "x-a", "value": "b"}]},
                        }
                    ],
                    "backendRefs": [
                        {"group": "", "kind": "Service", "name": "api", "port": 80, "weight": 0}
                    ],
                    "timeouts": {"request": "30s", "backendRequest": "1m30s"},
                }
            ],
        },
        "status": {"parents": []},
    }
    assert validate_object(route, "1.37") == []
    route["spec"]["rules"][0]["timeouts"]["request"] = "30 seconds"
    route["spec"]["rules"][0]["matches"][0]["method"] = "FETCH"
    errs = validate_object(route, "1.37")
    assert any(e.startswith("spec.rules[0].timeouts.request") for e in errs) and any(
        e.startswith("spec.rules[0].matches[0].method") for e in errs
    ), errs


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gateway", "where"),
    [
        ({"name": "Public"}, "gateway.name"),
        ({"name": "gw\nkind: Secret"}, "gateway.name"),
        ({"name": "g" * 300}, "gateway.name"),
        ({"name": "gw", "namespace": "ns/../kube-system"}, "gateway.namespace"),
        ({"name": "gw", "namespace": "ünïcode"}, "gateway.namespace"),
        ({"name": "gw", "hostnames": ("evil.example.com\n---\nkind: Secret",)}, "hostnames[0]"),
        ({"name": "gw", "hostnames": ("ok.example.com", "Example.COM")}, "hostnames[1]"),
        ({"name": "gw", "hostnames": ("https://api.example.com",)}, "hostnames[0]"),
        ({"name": "gw", "hostnames": ("10.0.0.1",)}, "hostnames[0]"),
        ({"name": "gw", "hostnames": ("a" * 300,)}, "hostnames[0]"),
        ({"name": "gw", "hostnames": ('"quoted"',)}, "hostnames[0]"),
        ({"name": "gw", "hostnames": tuple(f"h{i}.example.com" for i in range(17))}, "hostnames"),
    ],
)
def test_hostile_gateway_rejected(tables: Catalog, gateway: dict[str, Any], where: str) -> None:
    p = with_routing(
        PLANS["spot-mix"](), "gateway-api", {"namespace": None, "hostnames": (), **gateway}
    )
    with pytest.raises(PlanError) as exc:
        render(p, tables)
    text = str(exc.value) + " ".join(f"{pr.where} {pr.message}" for pr in exc.value.problems)
    assert where in text, text


def test_service_name_collision_rejected(tables: Catalog) -> None:
    # two shapes (capacity differs), so two backends of one allocation each, one name
    other = alloc("s-7b-g6", instance_type="g6.2xlarge", capacity=14.0)
    p = plan("collide", spec("x"), [alloc("7b-g6"), other])
    with pytest.raises(PlanError) as exc:
        render(with_routing(p, "gateway-api", GATEWAY), tables)
    assert "same Service name" in exc.value.problems[0].message


def test_gateway_api_without_gateway_rejected(tables: Catalog) -> None:
    with pytest.raises(PlanError) as exc:
        render(with_routing(PLANS["spot-mix"](), "gateway-api", None), tables)
    assert "gateway" in str(exc.value) + " ".join(pr.message for pr in exc.value.problems)


def test_hostile_gateway_via_cli(cli: Any, tmp_path: Path) -> None:
    p = with_routing(
        PLANS["single-gpu"](),
        "gateway-api",
        {"name": "gw", "namespace": None, "hostnames": ("x.example.com'\n  evil: 1",)},
    )
    src = tmp_path / "plan.yaml"
    src.write_text(dump_plan(p), encoding="utf-8")
    result = cli(["render", str(src), "--out", str(tmp_path / "out")], exit_code=3)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "hostnames[0]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# --- routing: service -----------------------------------------------------------------------


def test_service_routing_warns_on_uneven_mix(tables: Catalog, cli: Any, tmp_path: Path) -> None:
    mixed = PLANS["spot-mix"]()  # 12.5 rps GPU replicas next to 2 rps CPU replicas
    assert mixed.spec.kubernetes.routing == "service"
    (warn,) = [w for w in render_report(mixed, tables).warnings if "routing: service" in w]
    assert "gateway-api" in warn and "chat-m7i-xlarge-spot" in warn and "6.2x" in warn
    assert len(_objs(mixed, "Service")) == 1 and not _objs(mixed, "HTTPRoute")
    src = tmp_path / "plan.yaml"
    src.write_text(dump_plan(mixed), encoding="utf-8")
    result = cli(["render", str(src), "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.stderr
    assert any("routing: gateway-api" in w for w in json.loads(result.stdout)["warnings"])
    assert "routing: gateway-api" in result.stderr
    for name in ("single-gpu", "gcp", "cpu-only"):  # one type, or types of equal speed: quiet
        warnings = render_report(PLANS[name](), tables).warnings
        assert not [w for w in warnings if "routing: service" in w], name


def test_similar_speeds_do_not_warn(tables: Catalog) -> None:
    s = spec("mix")
    p = plan(
        "similar",
        s,
        [alloc("mix-a", capacity=10.0), alloc("mix-b", instance_type="g6.2xlarge", capacity=14.0)],
    )
    assert not [w for w in render_report(p, tables).warnings if "routing: service" in w]
    # 1.6x apart, but 8 pods at peak carry 78 rps evenly (8 x 10): what optimize plans, quiet
    p = plan(
        "wide",
        s,
        [alloc("mix-a", capacity=10.0), alloc("mix-b", instance_type="g6.2xlarge", capacity=16.0)],
    )
    assert not [w for w in render_report(p, tables).warnings if "routing: service" in w]
    two = tuple(2 for _ in range(24))  # 4 pods: an even split carries 40 rps of the peak's 78
    p = plan(
        "wide-short",
        s,
        [
            alloc("mix-a", capacity=10.0, per_hour=two),
            alloc("mix-b", instance_type="g6.2xlarge", capacity=24.0, per_hour=two),
        ],
    )
    (warn,) = [w for w in render_report(p, tables).warnings if "routing: service" in w]
    assert "overloads them" in warn and "2.4x slower" in warn, warn
    assert "re-optimize with routing: service" not in warn, warn


LLM_MIX = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: rag}
model: {architecture: llama-3.1-70b, engine: vllm}
traffic:
  hourly_rps: [0.5, 0.4, 0.3, 0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 3.6, 4.0, 4.0,
               4.0, 3.8, 3.6, 3.4, 3.0, 2.6, 2.0, 1.6, 1.2, 1.0, 0.8, 0.6]
  classes:
    - {name: rag, share: 0.7, input_tokens: 6000, output_tokens: 400}
    - {name: chat, share: 0.3, input_tokens: 500, output_tokens: 150}
slo: {ttft_ms: 2000, tpot_ms: 80}
placement:
  providers: [aws]
  accelerators: [H100, H200, A100-80GB]
  spot: {allowed: true, max_fraction: 0.5}
  redundancy: n+1
kubernetes: {namespace: rag, image: vllm/vllm-openai:v0.11.0, flavor: eks}
"""


def test_a_fresh_service_plan_that_mixes_types_is_not_warned(cli: Any, tmp_path: Path) -> None:
    """UX trial 20, F5: every plan optimize wrote under routing: service that mixed replica
    types more than 1.5x apart (here A100 TP4 at night beside H100 TP4 spot) drew a render
    warning whose second fix was "re-optimize with routing: service", the routing it had:
    optimize gives every window pods enough for the even split, so the warning now needs a
    window the even split overloads."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(LLM_MIX, encoding="utf-8")
    out = tmp_path / "out"
    res = cli(["optimize", str(spec_file), "--out", str(out), "--no-alternatives"])
    assert res.exit_code == 0, res.stderr
    p = Plan.model_validate(yaml.safe_load((out / "plan.yaml").read_text(encoding="utf-8")))
    spreads = []
    for w in range(p.demand.windows):
        caps = [a.capacity_rps_per_replica for a in p.allocations if a.replicas_per_window[w]]
        pods = sum(a.replicas_per_window[w] for a in p.allocations)
        need = p.demand.rps[w] * (1 + p.demand.headroom)
        assert need <= pods * min(caps) * (1 + 1e-9), (w, pods, caps)  # the even split holds
        spreads.append(max(caps) / min(caps))
    assert max(spreads) > 1.5, spreads  # the plan does mix types far apart
    assert "routing: service spreads" not in res.stderr, res.stderr


# --- kustomize and check --------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_keeps_gateway_namespace(tables: Catalog, tmp_path: Path) -> None:
    write_manifests(tmp_path, render(PLANS["gateway-mix"](), tables))
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    proc = subprocess.run(
        [kubectl, "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (route,) = [
        d.data
        for d in parse_yaml_documents(proc.stdout, "kustomize")
        if d.data["kind"] == "HTTPRoute"
    ]
    assert route["metadata"]["namespace"] == "inference"
    assert route["spec"]["parentRefs"][0]["namespace"] == "gateways"


def test_check_clean_then_drift_and_missing_backend(tables: Catalog, tmp_path: Path) -> None:
    from scaleplan.check import RULES, check_paths

    p = PLANS["gateway-mix"]()
    out = tmp_path / "out"
    write_manifests(out, render(p, tables))
    rules = [r.id for r in RULES]

    def findings(plan: Plan | None) -> tuple[Finding, ...]:
        report = check_paths(
            [out], plan=plan, kube_version="1.37", enabled_rules=rules, catalog=tables
        )
        return report.findings

    assert findings(p) == ()
    route_file = out / "httproute-llm.yaml"
    text = route_file.read_text(encoding="utf-8")
    assert "weight: 55" in text
    route_file.write_text(text.replace("weight: 55", "weight: 5"), encoding="utf-8")
    found = findings(p)
    assert [(f.rule, f.kind) for f in found] == [("drift", "HTTPRoute")]
    assert (
        "backendRefs[llm-g5-xlarge-on-demand].weight is 5, the plan renders 55" in found[0].message
    )
    route_file.write_text(text, encoding="utf-8")
    (out / "service-llm-g5-xlarge-on-demand.yaml").unlink()
    found = findings(None)
    assert [(f.rule, f.kind, f.name) for f in found] == [
        ("route-backend-missing", "HTTPRoute", "llm")
    ]
    assert "'llm-g5-xlarge-on-demand'" in found[0].message


def _gateway_pair(fast_hours: tuple[int, ...], slow_hours: tuple[int, ...]) -> Plan:
    """Demand is 10 + 5 x (hour % 12) rps (render_helpers.plan); 10 and 16 rps per replica."""
    s = spec("chat", autoscaler={"type": "hpa", "hpa": {"metric": "rps"}})
    fast = alloc("chat-g6e-2xlarge-spot", instance_type="g6e.2xlarge", family="g6e", accelerator="L40S", capacity_type="spot", capacity=10.0, per_hour=fast_hours)
    slow = alloc("chat-g5-xlarge-on-demand", instance_type="g5.xlarge", family="g5", accelerator="A10G", capacity=16.0, per_hour=slow_hours)
    return with_routing(plan("chat", s, [fast, slow]), "gateway-api", {"name": "gw"})


def test_static_weights_that_route_to_no_pods_are_refused(tables: Catalog) -> None:
    """A plan whose type mix changes hour by hour cannot be served by one static HTTPRoute: the
    peak weights would send requests to an allocation with no pods off-peak."""
    # peak (hour 11, 65 rps): 1 fast + 2 slow; before hour 6 only the slow type runs
    fast = tuple(0 if (h % 12) < 6 else 1 for h in range(24))
    slow = tuple(2 for _ in range(24))
    with pytest.raises(PlanError, match=r"weights are fixed at the peak .* no pods"):
        render(_gateway_pair(fast, slow), tables)


def test_static_weights_that_overload_warn_and_proportional_mixes_pass(tables: Catalog) -> None:
    # the L40S type shrinks from 4 to 1 replica off-peak while the A10G stays at 2: its fixed
    # 56 % share (40 of 72 rps at the peak) is 19.6 rps at hour 5 (35 rps) against 10 rps of pods
    fast = tuple(1 if (h % 12) < 6 else 4 for h in range(24))
    slow = tuple(2 for _ in range(24))
    report = render_report(_gateway_pair(fast, slow), tables)
    warns = [w for w in report.warnings if "weights are fixed" in w]
    assert len(warns) == 1 and "overloaded" in warns[0]
    # both types scale together: the peak weights hold in every hour
    prop = tuple(1 if (h % 12) < 6 else 2 for h in range(24))
    both = render_report(_gateway_pair(prop, tuple(2 * c for c in prop)), tables)
    assert not [w for w in both.warnings if "weights are fixed" in w]
