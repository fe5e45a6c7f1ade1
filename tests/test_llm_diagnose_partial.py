"""An infeasible LLM spec's "the best is ..." and its relax hint come from every shape that
misses the class, including shapes that serve another class (UX review 5, #3): Qwen3-32B in
int4-awq on L4/A10G/L40S with a 6,000-token class was told 'the best is L4 at 6337 ms' and to
relax TTFT to 6,338 ms, the slowest shape's figure, because every L40S shape served the short
class and so never reported its miss of the long one (L40S x8: about 2 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: q}
model: {architecture: qwen3-32b, engine: vllm, dtype: int4-awq}
traffic:
  peak_rps: 10
  classes:
    - {name: chat, share: 0.75, input_tokens: 1500, output_tokens: 400}
    - {name: rag, share: 0.25, input_tokens: 6000, output_tokens: 250}
slo: {ttft_ms: 1500, tpot_ms: 40}
placement:
  providers: [aws]
  regions: [us-east-1]
  accelerators: [L4, A10G, L40S]
kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: eks}
"""


def test_the_best_miss_counts_shapes_that_serve_another_class(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(SPEC, encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o", "--json"], exit_code=4)
    reasons = json.loads(res.stdout)["reasons"]
    unreachable = [r["details"] for r in reasons if r["code"] == "slo-unreachable"]
    rag = [d for d in unreachable if d["class"] == "rag"]
    assert [d["metric"] for d in rag] == ["ttft"]  # an L40S x8 meets rag's TPOT and latency
    best = rag[0]
    assert best["accelerator"] == "L40S"
    assert 1500 < best["value_ms"] < 2500 and best["relax_to_ms"] < 2500


def test_an_unreachable_llm_latency_names_its_metric(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # beside 'p95 TTFT <= ...' and 'p95 TPOT <= ...' the third read 'p95 <= 610 ms' (UX 5, #7)
    monkeypatch.chdir(tmp_path)
    slo = "slo: {ttft_ms: 1500, tpot_ms: 40}"
    text = SPEC.replace(slo, slo[:-1] + ", latency_ms: 500}")
    Path("s.yaml").write_text(text, encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o"], exit_code=4)
    said = "no accelerator meets p95 end-to-end latency <= 500 ms for class"
    assert said in res.stderr + res.stdout
