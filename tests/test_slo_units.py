"""A TTFT or TPOT SLO below 1 ms is seconds typed into a millisecond field (UX review 5, #8):
`tpot_ms: 0.035` validated `ok`, and only optimize's infeasibility (exit 4) hinted at it."""

from __future__ import annotations

from scaleplan.spec import parse_spec_text
from scaleplan.spec_checks import spec_warnings

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: q}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 1
  classes: [{name: chat, share: 1.0, input_tokens: 500, output_tokens: 100}]
slo: {SLO}
placement: {providers: [aws], accelerators: [L40S]}
kubernetes: {image: vllm/vllm-openai:v0.11.0}
"""


def _warnings(slo: str) -> list[str]:
    return spec_warnings(parse_spec_text(SPEC.replace("{SLO}", slo), "s.yaml"))


def test_a_sub_millisecond_ttft_or_tpot_is_said_to_look_like_seconds() -> None:
    said = _warnings("{ttft_ms: 0.8, tpot_ms: 0.035}")
    assert len(said) == 2
    assert said[0].startswith("slo.ttft_ms is 0.8 ms") and "did you mean 800 ms" in said[0]
    assert said[1].startswith("slo.tpot_ms is 0.035 ms") and "did you mean 35 ms" in said[1]
    assert _warnings("{ttft_ms: 800, tpot_ms: 35}") == []
