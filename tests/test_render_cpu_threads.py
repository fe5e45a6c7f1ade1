"""CPU-only replicas get their math libraries' threads at the pod's CPU limit (UX trial 30
F16: PyTorch, ONNX Runtime and BLAS start one thread per node core, which a 1-CPU limit
throttles far below the rate the profile measured). Real render of the shipped example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scaleplan.inputs import load_tables
from scaleplan.plan import read_plan
from scaleplan.render import render_report

ROOT = Path(__file__).resolve().parents[1]


def _deployments(plan: Any) -> dict[str, dict[str, Any]]:
    objs = render_report(plan, load_tables([])).objects
    return {o.name: o.obj["spec"]["template"]["spec"]["containers"][0]
            for o in objs if o.kind == "Deployment"}


def test_cpu_pods_get_threads_at_their_limit_and_gpu_pods_none() -> None:
    plan = read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")
    seen = set()
    for name, c in _deployments(plan).items():
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        if "g4dn" in name:
            assert "OMP_NUM_THREADS" not in env, name
            continue
        limit = str(c["resources"]["limits"]["cpu"])
        cores = float(limit[:-1]) / 1000 if limit.endswith("m") else float(limit)
        want = str(max(1, int(cores)))
        assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == want, (name, env, limit)
        seen.add(name)
    assert len(seen) == 2


def test_the_specs_own_thread_count_wins() -> None:
    plan = read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")
    k8s = plan.spec.kubernetes.model_copy(update={"env": {"OMP_NUM_THREADS": "4"}})
    plan = plan.model_copy(update={"spec": plan.spec.model_copy(update={"kubernetes": k8s})})
    for name, c in _deployments(plan).items():
        omp = [e for e in c.get("env", []) if e["name"] == "OMP_NUM_THREADS"]
        if "g4dn" not in name:
            assert omp == [{"name": "OMP_NUM_THREADS", "value": "4"}], (name, omp)
