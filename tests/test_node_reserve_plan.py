"""spec.kubernetes.node_reserve reaches the optimizer, not only render: with a larger reserve the
real solver packs fewer CPU-only replicas per node, sizes GPU replicas' requests under it, and
the plan's cpu_per_replica / memory_gib_per_replica are what the manifests request (no capping),
which check --plan accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scaleplan.kube import capacity as kc
from scaleplan.plan import Plan, read_plan
from scaleplan.render.resources import cpu_quantity, memory_quantity
from scaleplan.yamlio import parse_yaml_documents

CATALOG = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {source: the lab's own nodes}
accelerators:
  - name: LAB1
    vendor: nvidia
    memory_gib: 48
    k8s_resource: nvidia.com/gpu
instances:
  - {provider: onprem, region: dc1, instance_type: lab-cpu, family: labc, accelerator: null,
     accelerator_count: 0, vcpus: 16, memory_gib: 64, price_ondemand: 0.5, zones: [dc1-a, dc1-b]}
  - {provider: onprem, region: dc1, instance_type: lab-gpu, family: labg, accelerator: LAB1,
     accelerator_count: 1, vcpus: 16, memory_gib: 64, price_ondemand: 2.0, zones: [dc1-a, dc1-b]}
"""

PROFILE = """\
apiVersion: scaleplan/v1
kind: Profile
metadata: {model: lab-model, kind: synthetic}
measurements:
  - device: cpu
    accelerator: CPU
    threads: 4
    batch_size: 1
    latency_ms: {p50: 40.0, p90: 45.0, p95: 48.0, p99: 55.0}
    throughput_rps: 10
    peak_memory_gib: 2.0
    source: measured
  - device: cuda:0
    accelerator: LAB1
    batch_size: 1
    latency_ms: {p50: 20.0, p90: 22.0, p95: 23.0, p99: 26.0}
    throughput_rps: 50
    peak_memory_gib: 6.0
    source: measured
"""

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {{name: lab}}
model: {{profile: profile.yaml}}
traffic: {{peak_rps: 60}}
slo: {{latency_ms: 200, percentile: 95}}
placement:
  providers: [onprem]
  catalogs: [lab.yaml]
  accelerators: [{accelerator}]
kubernetes:
  namespace: lab
  image: registry.example.com/lab/server:1.0.0
  flavor: generic
{reserve}"""

RESERVE = kc.NodeReserve(cpu=4.0, memory_gib=6.0)  # a node with heavy monitoring DaemonSets


def _optimize(
    cli: Any, tmp_path: Path, name: str, accelerator: str, reserve: bool
) -> tuple[Plan, Path, str]:
    """optimize a spec on the lab catalog (its plan, its folder, optimize's stderr)."""
    d = tmp_path / name
    d.mkdir()
    (d / "lab.yaml").write_text(CATALOG, encoding="utf-8")
    (d / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    own = (
        f"  node_reserve: {{cpu: {RESERVE.cpu}, memory_gib: {RESERVE.memory_gib}}}\n"
        if reserve
        else ""
    )
    (d / "spec.yaml").write_text(
        SPEC.format(accelerator=accelerator, reserve=own), encoding="utf-8"
    )
    res = cli(["optimize", str(d / "spec.yaml"), "--out", str(d / "out"), "--no-alternatives"])
    return read_plan(d / "out" / "plan.yaml"), d, res.stderr


def _requests(manifests: Path) -> dict[str, tuple[str, str]]:
    """Deployment name -> (cpu, memory) requests of its container."""
    out = {}
    for path in sorted(manifests.glob("deployment-*.yaml")):
        (doc,) = parse_yaml_documents(path.read_text(encoding="utf-8"), str(path), what="manifest")
        r = doc.data["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        out[doc.data["metadata"]["name"]] = (r["cpu"], r["memory"])
    return out


def _agrees(cli: Any, plan: Plan, d: Path, stderr: str) -> None:
    """The plan's requests are the manifests' (no capping) and check --plan passes."""
    assert "capped" not in stderr, stderr
    requests = _requests(d / "out" / "manifests")
    assert len(requests) == len(plan.allocations) >= 1
    for a in plan.allocations:
        (got,) = [v for k, v in requests.items() if a.name in k]
        assert got == (
            cpu_quantity(a.cpu_per_replica),
            memory_quantity(a.memory_gib_per_replica),
        ), a.name
    cli(
        [
            "check",
            str(d / "out" / "manifests"),
            "--plan",
            str(d / "out" / "plan.yaml"),
            "--catalog",
            str(d / "lab.yaml"),
        ]
    )


def test_large_node_reserve_packs_fewer_cpu_replicas_and_plan_matches_render(
    cli: Any, tmp_path: Path
) -> None:
    default, _, _ = _optimize(cli, tmp_path, "cpu-default", "cpu", reserve=False)
    mine, d, stderr = _optimize(cli, tmp_path, "cpu-reserve", "cpu", reserve=True)
    (a0,) = default.allocations
    (a1,) = mine.allocations
    assert a0.gpus_per_replica == a1.gpus_per_replica == 0
    assert a0.cpu_per_replica == a1.cpu_per_replica == 4  # a CPU replica requests its threads
    # 16 vCPU: 15.19 allocatable under the default 0.7 reserve (3 replicas of 4 threads), 11.89
    # under 4 CPU of DaemonSets (2): before, the plan kept 3 and render capped them to 3963m
    assert (a0.replicas_per_node, a1.replicas_per_node) == (3, 2)
    assert a1.replicas_per_node * a1.cpu_per_replica <= kc.allocatable_cpu(
        16, flavor="generic", reserve=RESERVE
    )
    assert a1.nodes > a0.nodes
    _agrees(cli, mine, d, stderr)


def test_gpu_replicas_are_planned_under_the_spec_node_reserve(cli: Any, tmp_path: Path) -> None:
    plan, d, stderr = _optimize(cli, tmp_path, "gpu-reserve", "LAB1", reserve=True)
    (a,) = plan.allocations
    assert a.gpus_per_replica == 1 and a.replicas_per_node == 1
    want = kc.allocatable_per_replica(16, 64, 1, flavor="generic", reserve=RESERVE)
    # 52.42 GiB before the page map (1/64 of 64 GiB)
    assert (a.cpu_per_replica, a.memory_gib_per_replica) == want == (11.89, 51.42)
    assert want != kc.allocatable_per_replica(
        16, 64, 1, flavor="generic"
    )  # not the flavor's estimate
    _agrees(cli, plan, d, stderr)
