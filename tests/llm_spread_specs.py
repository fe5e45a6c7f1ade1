"""The LLM specs with a length spread that tests/test_llm_length_spread.py and
tests/test_derived_latency.py plan (Llama 3.1 8B, a short class and a long one with a spread)."""

from __future__ import annotations

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 6
  classes:
    - {name: short, share: 0.7, input_tokens: 512, output_tokens: 128}
    - name: long
      share: 0.3
      input_tokens: 3000
      output_tokens: 300
      lengths: {distribution: lognormal, sigma: 0.5}
slo: {ttft_ms: TTFT, tpot_ms: 60}
placement: {accelerators: [A100-80GB], providers: [gcp]}
kubernetes: {image: vllm/vllm-openai:v0.11.0}
"""


def b1_spec(slo_extra: str = "") -> str:
    """r5 B1's spec: SPEC at p50, TTFT 400 ms, TPOT 25 ms, sigma 1.0 on four accelerators, its
    slo ending in ``slo_extra`` (e.g. ', latency_ms: 4950'; none: the latency derived)."""
    return (SPEC.replace("TTFT", "400")
            .replace("tpot_ms: 60", f"tpot_ms: 25, percentile: 50{slo_extra}")
            .replace("sigma: 0.5", "sigma: 1.0")
            .replace("[A100-80GB]", "[L4, L40S, A100-80GB, H100]"))
