"""Plans for the renderer tests, built directly (no solver), plus validation helpers.

``PLANS`` covers: CPU-only, a single GPU, a multi-GPU (TP=4) replica, a spot + on-demand mix,
and rows from aws, gcp (an N1 + attached-GPU row) and azure. ``example_plans()`` adds the
optimizer's ``examples/*/plan.yaml`` once they exist.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaleplan.plan import Plan
from scaleplan.spec import Spec

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "render"
FLAVORS = ("eks", "eks-karpenter", "gke", "aks", "generic")
KUBE_VERSIONS = ("1.35", "1.36", "1.37")
HOURS = 24


def spec(name: str = "chat", *, flavor: str = "generic", autoscaler: Any = "hpa", **k8s: Any) -> Spec:
    data: dict[str, Any] = {
        "apiVersion": "scaleplan/v1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": {"team": "ml-platform"}, "annotations": {"owner": "ml-platform@example.com"}},
        "model": {"profile": "profile.yaml"},
        "traffic": {"hourly_rps": [10 + 5 * (h % 12) for h in range(24)]},
        "slo": {"latency_ms": 500, "percentile": 95},
        "placement": {"redundancy": "n+1", "spot": {"allowed": True, "max_fraction": 0.5}},
        "kubernetes": {"namespace": "inference", "image": "ghcr.io/example/server:1.2.3", "port": 8000, "flavor": flavor, "autoscaler": autoscaler, **k8s},
    }
    return Spec.model_validate(data)


def alloc(
    name: str,
    *,
    provider: str = "aws",
    region: str = "us-east-1",
    instance_type: str = "g6.xlarge",
    family: str = "g6",
    accelerator: str = "L4",
    accelerators_per_node: int = 1,
    gpus_per_replica: int = 1,
    replicas_per_node: int = 1,
    capacity_type: str = "on-demand",
    vcpus: int = 4,
    memory: float = 16,
    cpu: float = 3.0,
    mem_replica: float = 12.0,
    price: float = 0.8,
    capacity: float = 12.5,
    per_hour: tuple[int, ...] | None = None,
    zones: tuple[str, ...] = ("us-east-1a", "us-east-1b"),
) -> dict[str, Any]:
    counts = per_hour or tuple(2 + (h % 12) // 4 for h in range(HOURS))
    nodes = tuple(-(-c // replicas_per_node) for c in counts)
    return {
        "name": name,
        "provider": provider,
        "region": region,
        "instance_type": instance_type,
        "family": family,
        "accelerator": accelerator,
        "accelerators_per_node": accelerators_per_node,
        "gpus_per_replica": gpus_per_replica,
        "replicas_per_node": replicas_per_node,
        "capacity_type": capacity_type,
        "vcpus_per_node": vcpus,
        "memory_gib_per_node": memory,
        "cpu_per_replica": cpu,
        "memory_gib_per_replica": mem_replica,
        "price_per_node_hour": price,
        "capacity_rps_per_replica": capacity,
        "replicas": max(counts),
        "nodes": max(nodes),
        "replicas_per_window": list(counts),
        "nodes_per_window": list(nodes),
        "routing": {"default": 1.0},
        "zones": list(zones),
        "operating_point": {"batch_size": 8, "latency_ms": {"p50": 100, "p90": 150, "p95": 180, "p99": 250}, "throughput_rps": 20.0, "max_utilization": 0.8, "source": "measured"},
        "estimated": False,
        "cost_per_hour": price * sum(nodes) / HOURS,
    }


def plan(name: str, the_spec: Spec, allocations: list[dict[str, Any]]) -> Plan:
    cost = sum(a["cost_per_hour"] for a in allocations)
    data = {
        "apiVersion": "scaleplan/v1",
        "kind": "Plan",
        "metadata": {"name": name, "scaleplan_version": "0.1.0", "plan_hash": "0" * 56 + name.encode().hex()[:8].ljust(8, "0"), "inputs": {"spec": "a" * 64, "profile": "b" * 64}},
        "status": "optimal",
        "solver": "test",
        "gap": 0.0,
        "cost_per_hour": cost,
        "cost_per_month": cost * 730,
        "demand": {"windows": HOURS, "window_hours": 1.0, "rps": [10.0 + 5 * (h % 12) for h in range(HOURS)], "headroom": 0.2, "classes": {"default": 1.0}},
        "allocations": allocations,
        "spec": the_spec.model_dump(mode="json", exclude_none=True),
    }
    return Plan.model_validate(data)


def _cpu_only() -> Plan:
    s = spec("embed", autoscaler={"type": "hpa", "hpa": {"metric": "cpu"}})
    a = alloc("embed-c7i-2xlarge-on-demand", instance_type="c7i.2xlarge", family="c7i", accelerator="CPU", accelerators_per_node=0, gpus_per_replica=0, replicas_per_node=2, vcpus=8, memory=16, cpu=3.5, mem_replica=6.0, capacity=40.0)
    return plan("cpu-only", s, [a])


def _single_gpu() -> Plan:
    s = spec("resnet", autoscaler={"type": "hpa", "hpa": {"metric": "rps"}}, service_monitor=True)
    return plan("single-gpu", s, [alloc("resnet-g6-xlarge-on-demand")])


def _multi_gpu() -> Plan:
    s = spec("llama70b", autoscaler={"type": "keda-prometheus", "cron": True}, probes={"path": "/health", "readiness_path": "/v1/models", "startup_seconds": 1800}, args=["--tensor-parallel-size", "4"], env={"HF_HOME": "/tmp/hf"})
    a = alloc("llama70b-g6e-12xlarge-on-demand", instance_type="g6e.12xlarge", family="g6e", accelerator="L40S", accelerators_per_node=4, gpus_per_replica=4, vcpus=48, memory=384, cpu=44, mem_replica=360, capacity=3.2)
    return plan("multi-gpu", s, [a])


def _spot_mix() -> Plan:
    s = spec("chat", autoscaler={"type": "hpa", "hpa": {"metric": "gpu"}})
    od = alloc("chat-g6-xlarge-on-demand")
    sp = alloc("chat-g6-2xlarge-spot", instance_type="g6.2xlarge", capacity_type="spot", vcpus=8, memory=32, cpu=7, mem_replica=28, price=0.4, per_hour=tuple(h % 3 for h in range(HOURS)))
    cpu = alloc("chat-m7i-xlarge-spot", instance_type="m7i.xlarge", family="m7i", accelerator="CPU", accelerators_per_node=0, gpus_per_replica=0, capacity_type="spot", vcpus=4, memory=16, cpu=3.5, mem_replica=14, capacity=2.0)
    return plan("spot-mix", s, [od, sp, cpu])


def _gcp() -> Plan:
    s = spec("vision", autoscaler={"type": "keda-kafka", "kafka": {"bootstrap_servers": "kafka.data.svc:9092", "topic": "images", "consumer_group": "vision"}})
    n1 = alloc("vision-n1-standard-4-1xt4-spot", provider="gcp", region="us-central1", instance_type="n1-standard-4+1xT4", family="n1", accelerator="T4", capacity_type="spot", vcpus=4, memory=15, cpu=3, mem_replica=11, zones=("us-central1-a", "us-central1-b"))
    g2 = alloc("vision-g2-standard-8-on-demand", provider="gcp", region="us-central1", instance_type="g2-standard-8", family="g2", accelerator="L4", vcpus=8, memory=32, cpu=7, mem_replica=28, zones=("us-central1-a",))
    return plan("gcp", s, [n1, g2])


def _azure() -> Plan:
    s = spec("ocr", autoscaler={"type": "keda-rabbitmq", "rabbitmq": {"queue_name": "ocr-jobs"}, "cron": True}, read_only_root_filesystem=False)
    a = alloc("ocr-standard-nc4as-t4-v3-spot", provider="azure", region="eastus", instance_type="Standard_NC4as_T4_v3", family="NCas_T4_v3", accelerator="T4", capacity_type="spot", vcpus=4, memory=28, cpu=3.5, mem_replica=24, zones=("eastus-1", "eastus-2"), per_hour=tuple(0 if h < 6 else 3 for h in range(HOURS)))
    return plan("azure", s, [a])


def _fixed_neuron() -> Plan:
    s = spec("bert", autoscaler="none")
    a = alloc("bert-inf2-xlarge-on-demand", instance_type="inf2.xlarge", family="inf2", accelerator="AWS-Inferentia2", vcpus=4, memory=16, cpu=3.5, mem_replica=14)
    return plan("neuron-fixed", s, [a])


def with_routing(p: Plan, routing: str, gateway: dict[str, Any] | None = None) -> Plan:
    """The same plan with another ``kubernetes.routing`` (and gateway), via model_copy (no
    validation: the renderer re-validates, which is what the hostile-input tests rely on)."""
    from scaleplan.spec import Gateway

    gw = Gateway.model_construct(**gateway) if gateway is not None else None
    k8s = p.spec.kubernetes.model_copy(update={"routing": routing, "gateway": gw})
    return p.model_copy(update={"spec": p.spec.model_copy(update={"kubernetes": k8s})})


def _gateway_mix() -> Plan:
    """routing: gateway-api: fast L40S replicas next to slow A10G and CPU replicas."""
    s = spec("llm", autoscaler={"type": "hpa", "hpa": {"metric": "rps"}}, service_monitor=True)
    fast = alloc("llm-g6e-2xlarge-spot", instance_type="g6e.2xlarge", family="g6e", accelerator="L40S", capacity_type="spot", vcpus=8, memory=64, cpu=7.5, mem_replica=56, price=0.84, capacity=4.8135, per_hour=tuple(1 + (h % 12) // 6 for h in range(HOURS)))
    # the A10G count moves with the L40S count (2:1), so the peak weights hold in every hour
    slow = alloc("llm-g5-xlarge-on-demand", instance_type="g5.xlarge", family="g5", accelerator="A10G", capacity=3.0633, per_hour=tuple(2 + 2 * ((h % 12) // 6) for h in range(HOURS)))
    cpu = alloc("7b-m7i-4xlarge-on-demand", instance_type="m7i.4xlarge", family="m7i", accelerator="CPU", accelerators_per_node=0, gpus_per_replica=0, vcpus=16, memory=64, cpu=15, mem_replica=60, capacity=0.4, per_hour=tuple(1 for _ in range(HOURS)))
    p = plan("gateway-mix", s, [fast, slow, cpu])
    return with_routing(p, "gateway-api", {"name": "public", "namespace": "gateways", "hostnames": ("llm.example.com", "*.llm.example.com")})


PLANS: dict[str, Callable[[], Plan]] = {
    "cpu-only": _cpu_only,
    "single-gpu": _single_gpu,
    "multi-gpu": _multi_gpu,
    "spot-mix": _spot_mix,
    "gcp": _gcp,
    "azure": _azure,
    "neuron-fixed": _fixed_neuron,
    "gateway-mix": _gateway_mix,
}


def with_flavor(p: Plan, flavor: str) -> Plan:
    """The same plan for another flavor (model_copy keeps everything else)."""
    k8s = p.spec.kubernetes.model_copy(update={"flavor": flavor})
    return p.model_copy(update={"spec": p.spec.model_copy(update={"kubernetes": k8s})})


def example_plans() -> dict[str, Path]:
    return {d.name: d / "plan.yaml" for d in sorted((ROOT / "examples").glob("*")) if (d / "plan.yaml").is_file()}
