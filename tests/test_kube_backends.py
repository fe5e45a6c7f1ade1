"""HTTPRoute backends per serving shape (``routing: gateway-api``): which allocations share one
Service (scaleplan.kube.backends), what render writes for a shared backend (one Service over
every member's pods, one backendRef with the summed weight, the members' pods labelled, the
request-rate autoscaler per member's share), and how the optimizer's spot warning and check's
``route-to-losable`` judge a spot loss behind a shared backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from render_helpers import HOURS, alloc, plan, spec, with_routing

from scaleplan import check
from scaleplan.catalog.model import Catalog
from scaleplan.kube import names
from scaleplan.kube.backends import (
    BACKEND_LABEL,
    backend_weights,
    backends,
    shape_key,
    spot_loss_share,
)
from scaleplan.kube.weights import route_weights
from scaleplan.plan import LlmServing, Plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import render, render_report
from scaleplan.solve.assemble import _spot_loss_warning

GATEWAY = {"name": "public", "namespace": "gateways", "hostnames": ()}


def _gw(allocations: list[dict[str, Any]], *, name: str = "chat", **spec_kw: Any) -> Plan:
    p = plan("backends", spec(name, **spec_kw), allocations)
    return with_routing(p, "gateway-api", GATEWAY)


def _od(**kw: Any) -> dict[str, Any]:
    return alloc("chat-g6-xlarge-od", **kw)


def _spot(name: str = "chat-g6-2xlarge-spot", **kw: Any) -> dict[str, Any]:
    base = {"instance_type": "g6.2xlarge", "capacity_type": "spot", "vcpus": 8, "memory": 32.0}
    return alloc(name, **{**base, **kw})


def _members(p: Plan) -> list[tuple[str, ...]]:
    return [b.members for b in backends(p)]


# --- grouping -------------------------------------------------------------------------------


def test_same_shape_shares_one_backend_named_after_the_shape() -> None:
    p = _gw([_od(), _spot()])
    (b,) = backends(p)
    assert b.members == ("chat-g6-xlarge-od", "chat-g6-2xlarge-spot") and b.shared
    assert b.service == "chat-l4-x1"
    assert shape_key(p.allocations[0]) == shape_key(p.allocations[1])


@pytest.mark.parametrize(
    "change",
    [
        {"capacity": 12.6},  # capacity per replica must be exactly equal
        {"accelerator": "A10G"},
        {"region": "us-west-2", "zones": ("us-west-2a",)},
        {"provider": "gcp", "instance_type": "g2-standard-8"},
        {"gpus_per_replica": 2, "accelerators_per_node": 2},
    ],
)
def test_a_different_shape_gets_its_own_backend(change: dict[str, Any]) -> None:
    p = _gw([_od(), _spot(**change)])
    assert _members(p) == [("chat-g6-xlarge-od",), ("chat-g6-2xlarge-spot",)]
    # a backend of one allocation keeps the allocation's own Service name
    assert [b.service for b in backends(p)] == ["chat-g6-xlarge-od", "chat-g6-2xlarge-spot"]


def _with_llm(p: Plan, **settings: Any) -> Plan:
    base = LlmServing(
        tensor_parallel=1,
        max_num_seqs=32,
        max_model_len=8192,
        gpu_memory_utilization=0.9,
        kv_cache_tokens=100_000,
        weights_gib_per_gpu=15.0,
    )
    a0, a1 = p.allocations
    a0 = a0.model_copy(update={"llm": base})
    a1 = a1.model_copy(update={"llm": base.model_copy(update=settings)})
    return p.model_copy(update={"allocations": (a0, a1)})


def test_llm_server_settings_must_match() -> None:
    p = _gw([_od(), _spot()])
    assert _members(_with_llm(p)) == [("chat-g6-xlarge-od", "chat-g6-2xlarge-spot")]
    for settings in (
        {"max_num_seqs": 48},
        {"max_model_len": 4096},
        {"gpu_memory_utilization": 0.85},
        {"kv_cache_tokens": 90_000},
    ):
        assert len(backends(_with_llm(p, **settings))) == 2, settings


def test_zero_replica_allocations_have_no_backend() -> None:
    p = _gw([_od(), _spot(per_hour=(0,) * HOURS)])
    p = p.model_copy(
        update={
            "allocations": (p.allocations[0], p.allocations[1].model_copy(update={"replicas": 0}))
        }
    )
    assert _members(p) == [("chat-g6-xlarge-od",)]


def test_shared_names_are_unique_and_dns_labels() -> None:
    # an allocation that already holds the shape's name, and a second L4 x1 shape
    taken = alloc("chat-l4-x1", accelerator="L4", capacity=30.0)
    other = [alloc("chat-b-od", capacity=14.0), _spot("chat-b-spot", capacity=14.0)]
    p = _gw([_od(), _spot(), taken, *other])
    got = {b.members: b.service for b in backends(p)}
    assert got == {
        ("chat-g6-xlarge-od", "chat-g6-2xlarge-spot"): "chat-l4-x1-3",
        ("chat-l4-x1",): "chat-l4-x1",
        ("chat-b-od", "chat-b-spot"): "chat-l4-x1-2",  # sorted member names decide the order
    }
    long = _gw(
        [_od(accelerator="AWS-Inferentia2"), _spot(accelerator="AWS-Inferentia2")], name="a" * 40
    )
    (b,) = backends(long)
    assert len(b.service) <= 63 and names.DNS_1035_LABEL.fullmatch(b.service), b.service
    digit = _gw([_od(), _spot()], name="7b")
    assert backends(digit)[0].service == "s-7b-l4-x1"


def test_route_weights_sum_the_capacity_of_a_backend() -> None:
    p = _gw(
        [
            _od(capacity=10.0, per_hour=(2,) * HOURS),
            _spot(capacity=10.0, per_hour=(1,) * HOURS),
            alloc("chat-a10g", accelerator="A10G", capacity=30.0, per_hour=(1,) * HOURS),
        ]
    )
    # 20 + 10 behind one backend, 30 behind the other: half each (overwriting gave 10 : 30)
    assert route_weights(p, {"chat-g6-xlarge-od": "x", "chat-g6-2xlarge-spot": "x"}) == {
        "x": 50,
        "chat-a10g": 50,
    }
    assert backend_weights(p) == {"chat-l4-x1": 50, "chat-a10g": 50}


# --- render ---------------------------------------------------------------------------------


def test_render_one_service_and_one_backend_ref_for_a_shared_backend(tables: Catalog) -> None:
    auto = {"type": "keda-prometheus", "prometheus": {"server_address": "http://prom:9090"}}
    p = _gw(
        [
            _od(),
            _spot(),
            alloc(
                "chat-g5-xlarge-od",
                instance_type="g5.xlarge",
                family="g5",
                accelerator="A10G",
                capacity=5.0,
            ),
        ],
        autoscaler=auto,
        service_monitor=True,
    )
    objs = render_report(p, tables).objects
    services = {o.name: o.obj for o in objs if o.kind == "Service"}
    assert set(services) == {"chat-l4-x1", "chat-g5-xlarge-od"}
    assert services["chat-l4-x1"]["spec"]["selector"] == {
        "app.kubernetes.io/name": "chat",
        BACKEND_LABEL: "chat-l4-x1",
    }
    assert services["chat-g5-xlarge-od"]["spec"]["selector"] == {
        "app.kubernetes.io/name": "chat",
        "app.kubernetes.io/instance": "chat-g5-xlarge-od",
    }
    (route,) = [o.obj for o in objs if o.kind == "HTTPRoute"]
    refs = {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}
    # peak hour 11: 4 + 4 L4 replicas x 12.5 rps against 4 A10G replicas x 5 rps
    assert refs == backend_weights(p) == {"chat-l4-x1": 83, "chat-g5-xlarge-od": 17}
    deps = {o.name: o.obj for o in objs if o.kind == "Deployment"}
    for name, dep in deps.items():
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        member = name != "chat-g5-xlarge-od"
        assert pod_labels.get(BACKEND_LABEL) == ("chat-l4-x1" if member else None), name
        # the Deployment still selects its own pods only
        assert dep["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "chat",
            "app.kubernetes.io/instance": name,
        }
        sel = services["chat-l4-x1"]["spec"]["selector"]
        assert all(pod_labels.get(k) == v for k, v in sel.items()) == member
    # each member scales on the shared Service's rate at its own share of the backend (half), of
    # its capacity over the traffic's headroom (20 %)
    assert p.demand.headroom == 0.2
    scaled = {
        o.name: o.obj["spec"]["triggers"][0]["metadata"] for o in objs if o.kind == "ScaledObject"
    }
    for name in ("chat-g6-xlarge-od", "chat-g6-2xlarge-spot"):
        assert 'service="chat-l4-x1"' in scaled[name]["query"] and float(
            scaled[name]["threshold"]
        ) == pytest.approx(25.0 / 1.2, abs=1e-3)
    assert 'service="chat-g5-xlarge-od"' in scaled["chat-g5-xlarge-od"]["query"] and float(
        scaled["chat-g5-xlarge-od"]["threshold"]
    ) == pytest.approx(5.0 / 1.2, abs=1e-3)
    # the recorded demand counts the shared Service's rate once
    (rule,) = [o.obj for o in objs if o.kind == "PrometheusRule"]
    demand = next(
        r["expr"]
        for g in rule["spec"]["groups"]
        for r in g["rules"]
        if r.get("record") == "scaleplan:demand_rps"
    )
    assert (
        demand.count('service="chat-l4-x1"') == 1
        and demand.count('service="chat-g5-xlarge-od"') == 1
    )
    # the ServiceMonitor selects both Services, so every pod is scraped once
    (sm,) = [o.obj for o in objs if o.kind == "ServiceMonitor"]
    for svc in services.values():
        assert all(
            svc["metadata"]["labels"].get(k) == v
            for k, v in sm["spec"]["selector"]["matchLabels"].items()
        )


def test_single_allocation_backends_render_as_before(tables: Catalog) -> None:
    p = _gw([_od(), _spot(capacity=14.0)])
    objs = render_report(p, tables).objects
    assert {o.name for o in objs if o.kind == "Service"} == {
        "chat-g6-xlarge-od",
        "chat-g6-2xlarge-spot",
    }
    for o in objs:
        if o.kind == "Deployment":
            assert BACKEND_LABEL not in o.obj["spec"]["template"]["metadata"]["labels"]


# --- spot loss: the optimizer's warning and check's route-to-losable ------------------------


def test_spot_loss_share_and_warning_count_only_all_spot_backends() -> None:
    shared = _gw([_od(), _spot()])
    assert spot_loss_share(shared) == 0.0 and _spot_loss_warning(shared) is None
    alone = _gw([_od(), _spot(accelerator="A10G")])
    assert spot_loss_share(alone) == pytest.approx(0.5)
    warning = _spot_loss_warning(alone)
    assert (
        warning is not None
        and "50% of requests" in warning
        and "chat-g6-2xlarge-spot (weight 50)" in warning
    )
    # two spot allocations of one shape: their backend is still lost whole
    both = _gw(
        [
            _od(accelerator="A10G"),
            _spot(),
            _spot("chat-g6-4xlarge-spot", instance_type="g6.4xlarge"),
        ]
    )
    assert spot_loss_share(both) == pytest.approx(2 / 3, abs=0.01)
    warning = _spot_loss_warning(both)
    assert (
        warning is not None and "chat-g6-2xlarge-spot + chat-g6-4xlarge-spot (weight 67)" in warning
    )


def _losable(tables: Catalog, tmp_path: Path, p: Plan) -> list[str]:
    eks = p.model_copy(
        update={
            "spec": p.spec.model_copy(
                update={"kubernetes": p.spec.kubernetes.model_copy(update={"flavor": "eks"})}
            )
        }
    )
    write_manifests(tmp_path, render(eks, tables))
    report = check.check_paths(
        [tmp_path], plan=eks, enabled_rules=["route-to-losable"], catalog=tables
    )
    return [f.message for f in report.findings if f.rule == "route-to-losable"]


def test_check_route_to_losable_spares_a_backend_shared_with_on_demand(
    tables: Catalog, tmp_path: Path
) -> None:
    # on eks spot pods are pinned to spot nodes: a Service of spot pods only is lost whole
    assert _losable(tables, tmp_path / "shared", _gw([_od(), _spot()])) == []
    (msg,) = _losable(tables, tmp_path / "alone", _gw([_od(), _spot(accelerator="A10G")]))
    assert "chat-g6-2xlarge-spot" in msg and "50% of requests" in msg


def test_the_backend_label_is_reserved_in_specs() -> None:
    from scaleplan.spec_checks import metadata_problems

    md = spec().metadata.model_copy(update={"labels": {BACKEND_LABEL: "chat-l4-x1"}})
    (problem,) = metadata_problems(md)
    assert "set by scaleplan" in problem.message
