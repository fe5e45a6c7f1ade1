"""vLLM takes a KV block size of 1, 8, 16, 32, 64 or 128 tokens (256 in later releases) and
refuses any other at start-up; a spec's ``engine_config.block_size: 7`` validated, rendered
``--block-size 7`` and passed ``check`` (UX review 5, #14): every pod would crash-loop."""

from __future__ import annotations

from scaleplan.spec import parse_spec_text
from scaleplan.spec_checks import spec_problems

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: q}
model: {architecture: llama-3.1-8b, engine: ENGINE, engine_config: {block_size: BS}}
traffic:
  peak_rps: 1
  classes: [{name: chat, share: 1.0, input_tokens: 500, output_tokens: 100}]
slo: {ttft_ms: 1500, tpot_ms: 40}
placement: {providers: [aws], accelerators: [L40S]}
kubernetes: {image: IMAGE}
"""
IMAGES = {"vllm": "vllm/vllm-openai:v0.11.0", "sglang": "lmsysorg/sglang:v0.5.3-cu126"}


def _problems(engine: str, bs: int) -> list[str]:
    text = SPEC.replace("ENGINE", engine).replace("BS", str(bs)).replace("IMAGE", IMAGES[engine])
    return [p.message for p in spec_problems(parse_spec_text(text, "s.yaml"))]


def test_vllm_refuses_a_block_size_it_does_not_take() -> None:
    said = _problems("vllm", 7)
    assert len(said) == 1 and "block_size 7" in said[0] and "1, 8, 16, 32, 64, 128" in said[0]
    for ok in (1, 8, 16, 32, 64, 128, 256):
        assert _problems("vllm", ok) == []
    assert _problems("sglang", 7) == []  # SGLang's --page-size takes any size
