"""routing: inference-pool: the endpoint picker is class-blind, so every pool member serves
every class.

The picker chooses a pod by its queue and KV cache, never by the request's class, so a pod of
a shape that serves only some classes at their SLO receives the others too. Before, the
optimizer put such a shape in the pool (the MILP routed it the classes it serves), as it never
does under gateway-api without kubernetes.class_header (``diagnose.serving_candidates``): the
UX review 16 F10 plan held rag at 95.12 % against its 95 % with a 1 x A100-40GB pod predicted
for chat alone.
"""

from __future__ import annotations

import pytest

from scaleplan.catalog.files import load_catalog
from scaleplan.solve import SolveOptions, solve
from scaleplan.spec import Spec

FAST = SolveOptions(alternatives=False)


def _spec(routing: str) -> Spec:
    """The review's spec (qwen3-14b, chat and rag measured from a gateway log, one region),
    at one window of its +40 % peak."""
    k8s: dict[str, object] = {
        "namespace": "llm", "image": "vllm/vllm-openai:v0.11.0", "flavor": "gke",
        "routing": routing,
    }
    if routing != "service":
        k8s["gateway"] = {"name": "inference-gateway", "namespace": "gateway-system"}
    return Spec.model_validate({
        "apiVersion": "scaleplan/v1", "kind": "InferenceService",
        "metadata": {"name": "qwen-chat"},
        "model": {
            "architecture": "qwen3-14b", "engine": "vllm",
            "source": {"uri": "Qwen/Qwen3-14B", "secret": "hf-token"},
        },
        "traffic": {"peak_rps": 9.5, "headroom": 0.2, "classes": [
            {"name": "chat", "share": 0.733, "input_tokens": 786, "output_tokens": 262,
             "lengths": {"input_tokens_p99": 2843, "output_tokens_p99": 999}},
            {"name": "rag", "share": 0.267, "input_tokens": 6349, "output_tokens": 382,
             "lengths": {"input_tokens_p99": 17421, "output_tokens_p99": 1123}},
        ]},
        "slo": {"ttft_ms": 1500, "tpot_ms": 60, "percentile": 95},
        "placement": {"providers": ["gcp"], "regions": ["us-central1"]},
        "kubernetes": k8s,
    })


@pytest.mark.parametrize("routing", ["inference-pool", "gateway-api"])
def test_a_class_blind_pool_holds_only_shapes_that_serve_every_class(routing: str) -> None:
    """Before: the pool plan ($40.41/h) held 1 x a2-highgpu-1g and 2 x a2-highgpu-2g at one
    A100-40GB per replica, each predicted for chat alone (rag's p95 prompt misses the TTFT on
    one GPU). Now every allocation serves chat and rag (4 x A100 per replica, $44.08/h, since
    2026-12-07's all-reduce at NCCL's rate made TP4 the cheaper shape; 2 x A100, $51.43/h,
    before), as under gateway-api without a class header."""
    plan = solve(_spec(routing), None, load_catalog(providers=["gcp"]), options=FAST).plan
    served = {a.name: sorted(a.llm.classes) for a in plan.allocations if a.llm is not None}
    assert len(served) == len(plan.allocations), served
    assert all(cs == ["chat", "rag"] for cs in served.values()), served
    assert {a.gpus_per_replica for a in plan.allocations} == {4}

