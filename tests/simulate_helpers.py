"""Build Plan objects directly for the simulator tests (no optimizer needed)."""

from __future__ import annotations

from typing import Any

from scaleplan.plan import Plan

SPEC: dict[str, Any] = {
    "apiVersion": "scaleplan/v1",
    "kind": "InferenceService",
    "metadata": {"name": "sim-test"},
    "model": {"profile": "profile.yaml"},
    "traffic": {"peak_rps": 100, "headroom": 0.2},
    "slo": {"latency_ms": 100, "percentile": 95},
    "placement": {"redundancy": "n+1"},
    "kubernetes": {"image": "ghcr.io/example/server:1.0.0"},
}


def allocation(
    name: str = "svc-g6-xlarge-od",
    *,
    replicas: tuple[int, ...] = (2,),
    batch: int = 1,
    service_ms: float | None = 10.0,
    throughput_rps: float | None = None,
    p50: float | None = None,
    p99: float | None = None,
    capacity: float = 70.0,
    capacity_type: str = "on-demand",
    replicas_per_node: int = 1,
    zones: tuple[str, ...] = ("us-east-1a", "us-east-1b"),
    accelerator: str = "L4",
    routing: dict[str, float] | None = None,
) -> dict[str, Any]:
    svc = service_ms if service_ms is not None else 1000.0 * batch / (throughput_rps or 100.0)
    tput = throughput_rps if throughput_rps is not None else 1000.0 * batch / svc
    lo = p50 if p50 is not None else svc
    hi = p99 if p99 is not None else lo
    peak = max(replicas)
    nodes = tuple(-(-r // replicas_per_node) for r in replicas)
    op: dict[str, Any] = {
        "batch_size": batch,
        "latency_ms": {"p50": lo, "p90": lo + 0.6 * (hi - lo), "p95": lo + 0.8 * (hi - lo), "p99": hi},
        "throughput_rps": tput,
        "max_utilization": 0.7,
    }
    if service_ms is not None:
        op["service_ms"] = service_ms
    return {
        "name": name,
        "provider": "aws",
        "region": "us-east-1",
        "instance_type": "g6.xlarge",
        "family": "g6",
        "accelerator": accelerator,
        "accelerators_per_node": 1,
        "gpus_per_replica": 1,
        "replicas_per_node": replicas_per_node,
        "capacity_type": capacity_type,
        "vcpus_per_node": 4,
        "memory_gib_per_node": 16,
        "cpu_per_replica": 3,
        "memory_gib_per_replica": 12,
        "price_per_node_hour": 0.8,
        "capacity_rps_per_replica": capacity,
        "replicas": peak,
        "nodes": max(nodes),
        "replicas_per_window": list(replicas),
        "nodes_per_window": list(nodes),
        "routing": routing or {},
        "zones": list(zones),
        "operating_point": op,
        "cost_per_hour": 0.8 * max(nodes),
    }


def make_plan(
    allocations: list[dict[str, Any]],
    rps: tuple[float, ...] = (100.0,),
    *,
    slo_ms: float = 100.0,
    percentile: int = 95,
    redundancy: str = "n+1",
    status: str = "optimal",
    classes: dict[str, float] | None = None,
    window_hours: float | None = None,
) -> Plan:
    spec = {**SPEC, "slo": {"latency_ms": slo_ms, "percentile": percentile}, "placement": {"redundancy": redundancy}}
    windows = len(rps)
    data: dict[str, Any] = {
        "metadata": {"name": "sim-test", "scaleplan_version": "0.0.0", "plan_hash": "sha256:test", "inputs": {"spec": "x", "profile": "y"}},
        "status": status,
        "solver": "test",
        "cost_per_hour": 1.0,
        "cost_per_month": 730.0,
        "demand": {"windows": windows, "window_hours": window_hours or 24.0 / windows, "rps": list(rps), "headroom": 0.2, "classes": classes or {}},
        "allocations": allocations,
        "spec": spec,
    }
    return Plan.model_validate(data)


PROSE = ("note:", "failure ", "step times:", "LLM plan:", "warning:")


def is_prose(line: str) -> bool:
    """A line of prose around simulate's tables (the verdict line, notes, the failure line),
    printed whole in a pipe (docs/cli.md), never cut to the width like a table row."""
    return line.startswith(PROSE) or " -> holds" in line or " -> FAILS" in line


def table_lines(text: str) -> list[str]:
    """The lines of simulate's tables: everything but the prose lines."""
    return [line for line in text.splitlines() if not is_prose(line)]
