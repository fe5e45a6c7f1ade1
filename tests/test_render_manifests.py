"""Rendered manifests: schema-valid for the three newest Kubernetes versions, CRDs valid,
scheduling per flavor, resources, probes, autoscaling, disruption budgets, kustomize."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from render_helpers import FLAVORS, HOURS, KUBE_VERSIONS, PLANS, alloc, plan, spec, with_flavor
from tables_helpers import shipped_tables

from scaleplan.catalog.model import Catalog
from scaleplan.check.schema_cache import validate_object
from scaleplan.plan import Plan
from scaleplan.render import render, render_report
from scaleplan.yamlio import parse_yaml_documents

CASES = [(p, f) for p in PLANS for f in FLAVORS]


def objects(plan: Plan) -> list[dict[str, Any]]:
    return [o.obj for o in render_report(plan, shipped_tables()).objects]


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def pod(d: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = d["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize(("name", "flavor"), CASES)
def test_every_manifest_validates(tables: Catalog, name: str, flavor: str) -> None:
    result = render_report(with_flavor(PLANS[name](), flavor), tables)
    for o in result.objects:
        for v in KUBE_VERSIONS:
            assert validate_object(o.obj, v) == [], (o.kind, o.name, v)
    # the YAML text parses back to exactly the objects
    files = result.files
    for o in result.objects:
        docs = parse_yaml_documents(files[o.file], o.file)
        assert [d.data for d in docs] == [o.obj]


@pytest.mark.parametrize(("name", "flavor"), CASES)
def test_semantics(name: str, flavor: str) -> None:
    p = with_flavor(PLANS[name](), flavor)
    objs = objects(p)
    deps = by_kind(objs, "Deployment")
    assert len(deps) == len([a for a in p.allocations if a.replicas > 0])
    hpas = {o["spec"]["scaleTargetRef"]["name"]: o for o in by_kind(objs, "HorizontalPodAutoscaler")}
    sos = {o["spec"]["scaleTargetRef"]["name"]: o for o in by_kind(objs, "ScaledObject")}
    pdbs = {o["metadata"]["name"]: o for o in by_kind(objs, "PodDisruptionBudget")}
    svc = by_kind(objs, "Service")
    gateway = p.spec.kubernetes.routing == "gateway-api"
    assert len(svc) == (len(deps) if gateway else 1)
    routes = by_kind(objs, "HTTPRoute")
    assert len(routes) == (1 if gateway else 0)
    backends = {r["name"] for route in routes for rule in route["spec"]["rules"] for r in rule["backendRefs"]}
    assert backends == ({s["metadata"]["name"] for s in svc} if gateway else set())
    allocs = {a.name: a for a in p.allocations}
    for d in deps:
        name_ = d["metadata"]["name"]
        a = allocs[name_]
        assert not (name_ in hpas and name_ in sos), "HPA and ScaledObject on one Deployment"
        kind = p.spec.kubernetes.autoscaler.type
        if (max(1, min(a.replicas_per_window)) if kind == "hpa" else min(a.replicas_per_window)) >= a.replicas:
            kind = "none"  # constant all day: fixed replicas
        assert (name_ in hpas) == (kind == "hpa") and (name_ in sos) == kind.startswith("keda-")
        assert ("replicas" in d["spec"]) == (kind == "none")
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert all(labels[k] == v for k, v in d["spec"]["selector"]["matchLabels"].items())
        selecting = [s for s in svc if all(labels.get(k) == v for k, v in s["spec"]["selector"].items())]
        assert len(selecting) == 1  # the shared Service, or this allocation's own one
        if gateway:  # a per-allocation Service selects only this Deployment's pods
            assert selecting[0]["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]
        ps = pod(d)
        (c,) = ps["containers"]
        res = c["resources"]
        assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"] == res["requests"]
        gpu_keys = {k for k in res["limits"] if k not in ("cpu", "memory")}
        tols = {t["key"] for t in ps.get("tolerations", [])}
        if a.gpus_per_replica:
            (k,) = gpu_keys
            assert res["limits"][k] == res["requests"][k] == a.gpus_per_replica
            assert k in tols
            # eks-karpenter spot pods select their NodePools (spot + on-demand fallback) by node affinity
            assert ps.get("nodeSelector") or flavor == "generic" or "nodeAffinity" in ps.get("affinity", {})
        else:
            assert not gpu_keys and not tols & {"nvidia.com/gpu", "aws.amazon.com/neuron", "sku"}
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        assert ("/dev/shm" in mounts) == (a.gpus_per_replica > 1)
        assert "/tmp" in mounts
        assert not c["image"].endswith(":latest") and (":" in c["image"].rsplit("/", 1)[-1] or "@" in c["image"])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert c[probe]["httpGet"]["port"] in {pt["name"] for pt in c["ports"]}
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"] and sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is p.spec.kubernetes.read_only_root_filesystem
        assert ps["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert ps["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        assert ps["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"
        ann = d["metadata"]["annotations"]
        assert ann["scaleplan.dev/plan-hash"] == p.metadata.plan_hash and "scaleplan.dev/version" in ann
        pdb = pdbs[name_]["spec"]
        assert pdb["maxUnavailable"] >= 1 and "minAvailable" not in pdb and pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert pdb["selector"] == d["spec"]["selector"]
        lo = min(a.replicas_per_window)
        if name_ in hpas:
            s = hpas[name_]["spec"]
            assert s["minReplicas"] == max(1, lo) and s["maxReplicas"] == a.replicas
        if name_ in sos:
            s = sos[name_]["spec"]
            assert s["minReplicaCount"] == lo and s["maxReplicaCount"] == a.replicas
            crons = [t for t in s["triggers"] if t["type"] == "cron"]
            assert bool(crons) == p.spec.kubernetes.autoscaler.cron
            assert all(lo < int(t["metadata"]["desiredReplicas"]) <= a.replicas for t in crons)


def test_flavor_scheduling() -> None:
    p = PLANS["spot-mix"]()
    sel = {f: {d["metadata"]["name"]: pod(d) for d in by_kind(objects(with_flavor(p, f)), "Deployment")} for f in FLAVORS}
    spot, od, cpu = "chat-g6-2xlarge-spot", "chat-g6-xlarge-on-demand", "chat-m7i-xlarge-spot"
    assert sel["eks"][spot]["nodeSelector"] == {"node.kubernetes.io/instance-type": "g6.2xlarge", "eks.amazonaws.com/capacityType": "SPOT"}
    assert sel["eks"][od]["nodeSelector"]["eks.amazonaws.com/capacityType"] == "ON_DEMAND"
    assert "nodeSelector" not in sel["eks-karpenter"][spot]
    terms = sel["eks-karpenter"][spot]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    exprs = {e["key"]: e["values"] for e in terms[0]["matchExpressions"]}
    assert exprs["karpenter.sh/nodepool"] == ["chat-g6-spot", "chat-g6-spot-fallback"]
    assert exprs["node.kubernetes.io/instance-type"][0] == "g6.2xlarge"
    assert sel["gke"][spot]["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4", "node.kubernetes.io/instance-type": "g6.2xlarge", "cloud.google.com/gke-spot": "true"}
    aks_tol = {(t["key"], t.get("value")) for t in sel["aks"][spot]["tolerations"]}
    assert ("kubernetes.azure.com/scalesetpriority", "spot") in aks_tol and ("sku", "gpu") in aks_tol
    assert ("sku", "gpu") not in {(t["key"], t.get("value")) for t in sel["aks"][cpu]["tolerations"]}
    assert sel["generic"][od]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert "nodeSelector" not in sel["generic"][cpu]


def test_gcp_n1_attached_gpu_and_neuron() -> None:
    objs = objects(with_flavor(PLANS["gcp"](), "gke"))
    n1 = next(d for d in by_kind(objs, "Deployment") if "n1" in d["metadata"]["name"])
    assert pod(n1)["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4", "node.kubernetes.io/instance-type": "n1-standard-4", "cloud.google.com/gke-spot": "true"}
    (d,) = by_kind(objects(PLANS["neuron-fixed"]()), "Deployment")
    assert pod(d)["containers"][0]["resources"]["limits"]["aws.amazon.com/neuron"] == 1
    assert d["spec"]["replicas"] == 4


def test_karpenter_pools_match_plan(tables: Catalog) -> None:
    p = with_flavor(PLANS["spot-mix"](), "eks-karpenter")
    objs = objects(p)
    pools = {o["metadata"]["name"]: o for o in by_kind(objs, "NodePool")}
    classes = {o["metadata"]["name"] for o in by_kind(objs, "EC2NodeClass")}
    # every spot pool has an on-demand fallback of lower weight on the same EC2NodeClass
    assert classes == {"chat-g6-on-demand", "chat-g6-spot", "chat-m7i-spot"}
    assert set(pools) == classes | {"chat-g6-spot-fallback", "chat-m7i-spot-fallback"}
    assert pools["chat-g6-spot"]["spec"]["weight"] > pools["chat-g6-spot-fallback"]["spec"]["weight"]
    fb = {r["key"]: r["values"] for r in pools["chat-g6-spot-fallback"]["spec"]["template"]["spec"]["requirements"]}
    assert fb["karpenter.sh/capacity-type"] == ["on-demand"]
    allocs = {a.name: a for a in p.allocations}
    spot = allocs["chat-g6-2xlarge-spot"]
    lim = pools["chat-g6-spot"]["spec"]["limits"]
    # limits: the plan's peak nodes plus one node of room to replace a node before the old one goes
    assert lim["nvidia.com/gpu"] == str((spot.nodes + 1) * spot.accelerators_per_node)
    assert lim["cpu"] == str((spot.nodes + 1) * spot.vcpus_per_node)
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"} in pools["chat-g6-spot"]["spec"]["template"]["spec"]["taints"]
    assert "nvidia.com/gpu" not in pools["chat-m7i-spot"]["spec"]["limits"]
    reqs = {r["key"]: r["values"] for r in pools["chat-g6-spot"]["spec"]["template"]["spec"]["requirements"]}
    assert reqs["karpenter.sh/capacity-type"] == ["spot"]
    # interchangeable types: same L4 x 1, at least the CPU and memory, spot price within the margin
    assert reqs["node.kubernetes.io/instance-type"][0] == "g6.2xlarge" or "g6.2xlarge" in reqs["node.kubernetes.io/instance-type"]
    assert all("namespace" not in o["metadata"] for o in pools.values())
    kust = render(p, tables)["kustomization.yaml"]
    assert "namespace:" not in kust  # kustomize would namespace the cluster-scoped pools


def test_requests_leave_room_for_system_reserved(tables: Catalog) -> None:
    p = PLANS["spot-mix"]()
    r = render_report(p, tables)
    d = next(o.obj for o in r.objects if o.name == "chat-m7i-xlarge-spot" and o.kind == "Deployment")
    mem = pod(d)["containers"][0]["resources"]["requests"]["memory"]
    assert mem.endswith("Mi") and int(mem[:-2]) < 14 * 1024
    assert any("chat-m7i-xlarge-spot" in w and "system-reserved" in w for w in r.warnings)


def test_rabbitmq_trigger_authentication() -> None:
    objs = objects(PLANS["azure"]())
    (auth,) = by_kind(objs, "TriggerAuthentication")
    (so,) = by_kind(objs, "ScaledObject")
    assert so["spec"]["triggers"][0]["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert so["spec"]["minReplicaCount"] == 0


def test_deterministic_and_layouts(tables: Catalog) -> None:
    for name in PLANS:
        p = PLANS[name]()
        a, b = render(p, tables), render(PLANS[name](), tables)
        assert a == b
        single = render(p, tables, layout="single")
        assert set(single) == {"manifests.yaml", "kustomization.yaml"}
        docs = [d.data for d in parse_yaml_documents(single["manifests.yaml"], "m")]
        per_file = [d.data for f, t in a.items() if f != "kustomization.yaml" for d in parse_yaml_documents(t, f)]
        assert docs == per_file


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("flavor", FLAVORS)
def test_kubectl_kustomize_builds(tables: Catalog, tmp_path: Path, flavor: str) -> None:
    """Each output builds with kustomize (one kubectl call per flavor: a parent
    kustomization includes every plan's output folder; layouts alternate)."""
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.yamlio import dump_yaml

    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    expected = 0
    for i, name in enumerate(PLANS):
        p = with_flavor(PLANS[name](), flavor)
        write_manifests(tmp_path / name, render(p, tables, layout="files" if i % 2 else "single"))
        expected += len(render_report(p, tables).objects)
    parent = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": list(PLANS)}
    (tmp_path / "kustomization.yaml").write_text(dump_yaml(parent), encoding="utf-8")
    proc = subprocess.run([kubectl, "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    built = [d.data for d in parse_yaml_documents(proc.stdout, "kustomize")]
    assert len(built) == expected
    for o in built:
        if o["kind"] in ("NodePool", "EC2NodeClass"):
            assert "namespace" not in o["metadata"]
        else:
            assert o["metadata"]["namespace"] == "inference"


REGIONS_WARNING = (
    "the plan puts replicas in 2 regions (us-east-1, us-west-2), but flavor {} renders for one "
    "cluster, which runs in one region, and the manifests select no region: every replica would "
    "run in the cluster's region, at its prices, not the plan's; set placement.regions to the "
    "cluster's region (one spec per cluster) and run scaleplan optimize again"
)


def test_plan_over_several_regions_on_one_cluster_is_warned(tables: Catalog) -> None:
    """An EKS/GKE/AKS cluster runs in one region and the manifests select none: a plan over
    two regions would run everything in the cluster's region, at prices the plan did not count."""
    s = spec("emb", autoscaler="none")
    cpu = {"family": "c7i", "accelerator": "CPU", "accelerators_per_node": 0, "gpus_per_replica": 0}
    east = alloc("emb-c7i-xlarge-us-east-1-od", instance_type="c7i.xlarge", cpu=3.5, **cpu)
    west = {**east, "name": "emb-c7i-xlarge-us-west-2-od", "region": "us-west-2"}
    west["zones"] = ["us-west-2a"]
    two = plan("two-regions", s, [east, west])

    def regions_warnings(p: Plan, flavor: str) -> list[str]:
        return [w for w in render_report(with_flavor(p, flavor), tables).warnings if "regions" in w]

    for flavor in ("eks", "eks-karpenter"):
        assert regions_warnings(two, flavor) == [REGIONS_WARNING.format(flavor)]
    assert regions_warnings(two, "generic") == []
    assert regions_warnings(plan("one-region", s, [east]), "eks") == []


def test_autoscaler_none_says_what_fixed_peak_replicas_cost(tables: Catalog) -> None:
    """autoscaler none renders replicas = the peak all day; the plan's cost follows its hourly
    counts, so a plan of 2-4 replicas priced at their average was deployed at 4 all day silently."""
    day = tuple(2 + 2 * (h >= 12) for h in range(HOURS))
    varying = alloc("emb-g6-xlarge-od", price=1.0, per_hour=day)
    p = plan("varying", spec("emb", autoscaler="none"), [varying])
    assert p.allocations[0].cost_per_hour == 3.0
    fixed = [w for w in render_report(p, tables).warnings if w.startswith("autoscaler none")]
    assert fixed == [
        "autoscaler none: every Deployment runs its peak replica count all day, $4.0000/h, but the "
        "plan's cost ($3.0000/h) has the replicas follow the hourly demand; choose an autoscaler "
        "(hpa, keda-prometheus) to get the plan's cost, or plan for a flat traffic.peak_rps"
    ]
    assert [d["spec"]["replicas"] for d in by_kind(objects(p), "Deployment")] == [4]

    def warned(q: Plan) -> list[str]:
        return [w for w in render_report(q, tables).warnings if "autoscaler none" in w]

    flat = alloc("emb-g6-xlarge-od", price=1.0, per_hour=(4,) * HOURS)
    assert warned(plan("flat", spec("emb", autoscaler="none"), [flat])) == []
    assert warned(plan("scaled", spec("emb", autoscaler="hpa"), [varying])) == []


def test_fixed_replicas_warning_says_what_render_did(tables) -> None:  # type: ignore[no-untyped-def]
    """'the plan keeps 2 replica(s) all day; fixed replicas, no hpa autoscaler' left a user
    asking whether something was missing (new-user trial, 2026-12-05): the warning says what
    render wrote, why, and how to say so in the spec (which silences it). One warning for the
    plan, and none for a plan of one demand window (every count is the same all day by
    construction: it was printed on every run of every peak_rps spec, review 3 #21)."""
    from scaleplan.plan import read_plan

    root = Path(__file__).resolve().parents[1]
    one_window = read_plan(root / "examples" / "llm-chat" / "plan.yaml")
    assert len(set(one_window.demand.rps)) == 1
    assert not [w for w in render_report(one_window, tables).warnings if "in every hour" in w]
    flat = alloc("emb-g6-xlarge-od", per_hour=(2,) * HOURS)
    flat2 = alloc("emb-g6-2xlarge-od", instance_type="g6.2xlarge", per_hour=(3,) * HOURS)
    p = plan("flat", spec("emb", autoscaler="hpa"), [flat, flat2])
    said = [w for w in render_report(p, tables).warnings if "in every hour" in w]
    assert len(said) == 1, said
    assert "emb-g6-2xlarge-od (3), emb-g6-xlarge-od (2)" in said[0]
    assert "Deployments have fixed replicas and no hpa object is written" in said[0]
    assert "kubernetes.autoscaler.type: none" in said[0]


def test_hpa_floor_above_the_plan_is_said_with_its_cost(tables: Catalog) -> None:
    """An allocation the plan takes from 0 to 1 replica by hour under an HPA was rendered
    fixed at 1 all day with 'the plan keeps 1 replica(s) in every hour' (false: its count
    varies), and one going 0..4 got minReplicas 1: the floors cost more than the plan, unsaid
    (review 3 #1). Plans now hold the floor; a plan that does not gets the cost."""
    hours = tuple(0 if h < 9 else 1 for h in range(HOURS))
    idle = alloc("emb-g6-xlarge-od", price=1.0, per_hour=hours)
    busy_hours = tuple(0 if h < 9 else 4 for h in range(HOURS))
    busy = alloc("emb-g6-2xlarge-od", instance_type="g6.2xlarge", price=2.0, per_hour=busy_hours)
    p = plan("idle", spec("emb", autoscaler="hpa"), [idle, busy])
    warnings = render_report(p, tables).warnings
    assert not [w for w in warnings if "in every hour:" in w], warnings  # not 'keeps 1 replica'
    floor = [w for w in warnings if "cannot scale below minReplicas 1" in w]
    assert len(floor) == 1 and "emb-g6-xlarge-od, emb-g6-2xlarge-od" in floor[0]
    planned = idle["cost_per_hour"] + busy["cost_per_hour"]
    rendered = planned + 9 / 24 * (1.0 + 2.0)  # 1 node of each in the 9 idle hours
    assert f"${rendered:.4f}/h against the plan's ${planned:.4f}/h" in floor[0]
    keda = plan("idle", spec("emb", autoscaler={"type": "keda-prometheus"}), [idle, busy])
    assert not [w for w in render_report(keda, tables).warnings if "minReplicas" in w]


def test_fixed_replicas_warning_advises_type_none_only_when_nothing_scales(tables: Catalog) -> None:
    """'set kubernetes.autoscaler.type: none to say so' on the one flat allocation of a plan
    whose others scale by the hour would pin every Deployment at its peak all day."""
    flat = alloc("emb-g6-xlarge-od", per_hour=(2,) * HOURS)
    hours = tuple(1 + h % 3 for h in range(HOURS))
    day = alloc("emb-g6-2xlarge-od", instance_type="g6.2xlarge", per_hour=hours)

    def said(allocations: list[dict[str, Any]]) -> list[str]:
        p = plan("mixed", spec("emb", autoscaler="hpa"), allocations)
        return [w for w in render_report(p, tables).warnings if "in every hour" in w]

    mixed = said([flat, day])
    assert len(mixed) == 1 and "autoscaler.type: none" not in mixed[0], mixed
    assert "emb-g6-xlarge-od (2)" in mixed[0] and "emb-g6-2xlarge-od" not in mixed[0]
    assert mixed[0].endswith("keep the hpa: the plan's other allocations scale by the hour")
    assert said([flat])[0].endswith("set kubernetes.autoscaler.type: none to say so")
