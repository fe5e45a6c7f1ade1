"""tools/observe_demo.py writes vLLM's histograms with the bucket edges render and observe
know (scaleplan.llm.engine_metrics), not a copy of its own: a bucket added or moved there
reaches the demo's history, which the observe tests read."""

from __future__ import annotations

from observe_helpers import VLLM_TPOT_BUCKETS

from scaleplan.llm.engine_metrics import E2E_HISTOGRAMS, TOKEN_HISTOGRAMS


def test_the_demo_uses_engine_metrics_buckets() -> None:
    import observe_demo

    assert observe_demo.VLLM_LATENCY_BUCKETS is E2E_HISTOGRAMS["vllm"][1]
    assert observe_demo.VLLM_TTFT_BUCKETS is TOKEN_HISTOGRAMS["vllm"]["ttft"][1]
    assert VLLM_TPOT_BUCKETS is TOKEN_HISTOGRAMS["vllm"]["tpot"][1]
