"""LLM plans for the simulator's tests and benchmark, built from the estimates-only fixture's plan
(tests/data/llm-estimates: examples/llm-chat's spec naming its architecture-only profile)."""

from __future__ import annotations

from pathlib import Path

from scaleplan.plan import Allocation, LlmClassPrediction, LlmServing, Plan, read_plan
from scaleplan.spec import RequestClass

ROOT = Path(__file__).resolve().parents[1]
BASE_PLAN = ROOT / "tests" / "data" / "llm-estimates" / "plan.yaml"


def optimized(d: Path, name: str, spec_text: str) -> Path:
    """``spec_text`` written to ``d/NAME.yaml`` and planned by the CLI (no manifests, no
    alternatives); the plan file. Files the spec names (a profile) are the caller's to put in
    ``d``."""
    from typer.testing import CliRunner

    from scaleplan.cli import app

    spec = d / f"{name}.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    args = ["optimize", str(spec), "--out", str(d / "out"), "--no-manifests", "--no-alternatives"]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return d / "out" / "plan.yaml"


def llm_plan(
    *,
    replicas: int = 1,
    rps: float = 1.0,
    classes: tuple[tuple[str, float, int, int, float, float, int], ...] = (("chat", 1.0, 1000, 300, 200.0, 30.0, 1),),
    max_num_seqs: int = 64,
    kv_cache_tokens: int = 200_000,
    max_model_len: int = 8192,
    budget: int | None = 2048,
    routing: str = "service",
    allocations: int = 1,
    ttft_slo: float | None = 2000.0,
    tpot_slo: float | None = 100.0,
    latency_ms: float = 120_000.0,
    percentile: int = 95,
    architecture: str | None = None,
    predictions: bool = True,
    accelerator: str | None = None,
) -> Plan:
    """A plan of ``allocations`` identical allocations with ``replicas`` each; ``classes`` are
    (name, share, input tokens, output tokens, TTFT ms, TPOT ms, concurrency of the prediction)."""
    base = read_plan(BASE_PLAN)
    a0 = base.allocations[0]
    llm = LlmServing(
        tensor_parallel=1, max_num_seqs=max_num_seqs, max_model_len=max_model_len, gpu_memory_utilization=0.9,
        block_size=16, max_num_batched_tokens=budget, kv_cache_tokens=kv_cache_tokens, weights_gib_per_gpu=15.0,
        classes={n: LlmClassPrediction(concurrency=c, ttft_ms=tt, tpot_ms=tp, throughput_rps=1.0, output_tokens_per_s=10.0) for n, _, _, _, tt, tp, c in classes} if predictions else {},
    )
    allocs: list[Allocation] = []
    for k in range(allocations):
        allocs.append(a0.model_copy(update={
            "name": f"llm-{k}", "replicas": replicas, "nodes": replicas, "replicas_per_window": (replicas,),
            "nodes_per_window": (replicas,), "routing": {}, "llm": llm, "capacity_type": "on-demand",
            "accelerator": accelerator or a0.accelerator,
        }))
    spec = base.spec
    traffic = spec.traffic.model_copy(update={"classes": tuple(RequestClass(name=n, share=s, input_tokens=i, output_tokens=o) for n, s, i, o, _, _, _ in classes)})
    slo = spec.slo.model_copy(update={"ttft_ms": ttft_slo, "tpot_ms": tpot_slo, "latency_ms": latency_ms, "percentile": percentile})
    kube = spec.kubernetes.model_copy(update={"routing": routing})
    model = spec.model.model_copy(update={"architecture": architecture})
    spec = spec.model_copy(update={"traffic": traffic, "slo": slo, "kubernetes": kube, "model": model})
    demand = base.demand.model_copy(update={"rps": (rps,), "classes": {n: s for n, s, *_ in classes}})
    return base.model_copy(update={"allocations": tuple(allocs), "spec": spec, "demand": demand})
