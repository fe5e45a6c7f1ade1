"""LLM plans for the renderer and checker tests, built directly (no solver): one per serving
engine and routing mode, with the plan's ``llm`` section filled by hand (or absent, for a plan
from a profile alone)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from render_helpers import HOURS, alloc, plan, spec

from scaleplan.plan import Plan

GATEWAY = {"name": "inference-gateway", "namespace": "gateway-system"}


def llm(tp: int, *, pp: int = 1, seqs: int = 64, ctx: int = 8192, gmu: float = 0.9, weights_per_gpu: float = 32.9, kv: int = 400_000) -> dict[str, Any]:
    return {
        "tensor_parallel": tp,
        "pipeline_parallel": pp,
        "max_num_seqs": seqs,
        "max_model_len": ctx,
        "gpu_memory_utilization": gmu,
        "block_size": 16,
        "max_num_batched_tokens": 8192,
        "kv_cache_tokens": kv,
        "weights_gib_per_gpu": weights_per_gpu,
        "classes": {"default": {"concurrency": seqs, "ttft_ms": 400.0, "tpot_ms": 40.0, "throughput_rps": 2.0, "output_tokens_per_s": 900.0}},
    }


def llm_spec(name: str, engine: str, *, flavor: str, autoscaler: Any = "keda-prometheus", source: Any = None, args: tuple[str, ...] = (), **k8s: Any) -> Any:
    s = spec(name, flavor=flavor, autoscaler=autoscaler, args=list(args), probes={"path": "/health", "startup_seconds": 1800}, cluster_name="inference", **k8s)
    model: dict[str, Any] = {"profile": "profile.yaml", "engine": engine}
    if source is not None:
        model["source"] = source
    data = s.model_dump(mode="json", exclude_none=True)
    data["model"] = model
    return type(s).model_validate(data)


def with_llm(a: dict[str, Any], section: dict[str, Any] | None) -> dict[str, Any]:
    if section is not None:
        a["llm"] = section
    return a


def _vllm_70b() -> Plan:
    """The issue's 70B case: TP 4 on p4de (8 x A100-80GB), two replicas per node, spot + on-demand."""
    s = llm_spec("llama70b", "vllm", flavor="eks-karpenter", source={"uri": "meta-llama/Llama-3.1-70B-Instruct", "secret": "hf-token"})
    common = {"instance_type": "p4de.24xlarge", "family": "p4de", "accelerator": "A100-80GB", "accelerators_per_node": 8, "gpus_per_replica": 4, "replicas_per_node": 2, "vcpus": 96, "memory": 1152, "cpu": 44, "mem_replica": 500, "price": 40.97, "capacity": 2.1}
    od = with_llm(alloc("llama70b-p4de-24xlarge-on-demand", **common, per_hour=tuple(2 for _ in range(HOURS))), llm(4))
    sp = with_llm(alloc("llama70b-p4de-24xlarge-spot", **{**common, "price": 16.5}, capacity_type="spot", per_hour=tuple(2 + 2 * ((h % 12) // 6) for h in range(HOURS))), llm(4))
    return plan("vllm-70b", s, [od, sp])


def _sglang_profile_only() -> Plan:
    """SGLang from a profile alone (no llm section): TP = GPUs per replica, concurrency = batch size."""
    s = llm_spec("qwen", "sglang", flavor="gke", autoscaler={"type": "hpa", "hpa": {"metric": "rps"}}, source={"uri": "gs://models-bucket/qwen2.5-14b", "secret": "gcs-reader"})
    a = alloc("qwen-g2-standard-24-on-demand", provider="gcp", region="us-central1", instance_type="g2-standard-24", family="g2", accelerator="L4", accelerators_per_node=2, gpus_per_replica=2, vcpus=24, memory=96, cpu=20, mem_replica=80, zones=("us-central1-a",))
    return plan("sglang", s, [a])


def _tgi() -> Plan:
    s = llm_spec("mistral", "tgi", flavor="eks", autoscaler={"type": "keda-kafka", "kafka": {"bootstrap_servers": "kafka.data.svc:9092", "topic": "prompts", "consumer_group": "mistral", "drain_seconds": 60}}, source="pvc://model-weights/mistral-7b")
    a = with_llm(alloc("mistral-g5-12xlarge-on-demand", instance_type="g5.12xlarge", family="g5", accelerator="A10G", accelerators_per_node=4, gpus_per_replica=4, vcpus=48, memory=192, cpu=44, mem_replica=170, capacity=6.0), llm(4, seqs=128, ctx=4096, weights_per_gpu=3.4))
    return plan("tgi", s, [a])


def _trtllm() -> Plan:
    s = llm_spec("llama405b", "trtllm", flavor="generic", autoscaler={"type": "keda-rabbitmq", "rabbitmq": {"queue_name": "prompts"}}, source="s3://models-bucket/llama-3.1-405b-fp8", args=("trtllm-serve", "/models/weights"))
    a = with_llm(alloc("llama405b-p5-48xlarge-on-demand", instance_type="p5.48xlarge", family="p5", accelerator="H100", accelerators_per_node=8, gpus_per_replica=8, vcpus=192, memory=2048, cpu=180, mem_replica=1800, capacity=1.5), llm(8, seqs=32, ctx=16384, gmu=0.85, weights_per_gpu=50.2))
    return plan("trtllm", s, [a])


def _inference_pool() -> Plan:
    """routing: inference-pool over a mix of L40S and A10G replicas (vLLM)."""
    s = llm_spec("chat", "vllm", flavor="eks-karpenter", source="meta-llama/Llama-3.1-8B-Instruct", routing="inference-pool", gateway=dict(GATEWAY, hostnames=["chat.example.com"]))
    fast = with_llm(alloc("chat-g6e-2xlarge-spot", instance_type="g6e.2xlarge", family="g6e", accelerator="L40S", capacity_type="spot", vcpus=8, memory=64, cpu=7.5, mem_replica=56, capacity=4.8), llm(1, seqs=96, weights_per_gpu=15.0))
    slow = with_llm(alloc("chat-g5-xlarge-on-demand", instance_type="g5.xlarge", family="g5", accelerator="A10G", capacity=3.0), llm(1, seqs=24, ctx=4096, weights_per_gpu=15.0))
    return plan("inference-pool", s, [fast, slow])


LLM_PLANS: dict[str, Callable[[], Plan]] = {
    "vllm-70b": _vllm_70b,
    "sglang": _sglang_profile_only,
    "tgi": _tgi,
    "trtllm": _trtllm,
    "inference-pool": _inference_pool,
}


def with_spec(plan: Plan, **updates: Any) -> Plan:
    """The plan with spec fields replaced by dotted path (validated again, as a user's spec
    would be)."""
    data = plan.model_dump(mode="json", exclude_none=True)
    for path, value in updates.items():
        node = data["spec"]
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return Plan.model_validate(data)
