"""slo.latency_ms's LLM default is worked out on the spec as read, before validation, so it must
read the values validation accepts (UX review 5, #15): ``output_tokens: 300.0`` or ``"300"``
(valid: the field takes them as 300) left it undefined and the spec was refused only with
``slo.latency_ms: required field is missing``; and ``output_tokens: 0`` got that second,
misleading problem beside its own."""

from __future__ import annotations

import pytest

from scaleplan.errors import SpecError
from scaleplan.spec import parse_spec_text

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: q}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 1
  classes:
    - {name: chat, share: 0.8, input_tokens: 500, output_tokens: OUT}
    - {name: long, share: 0.2, input_tokens: 2000, output_tokens: 200}
slo: {ttft_ms: TTFT, tpot_ms: 40}
placement: {providers: [aws], accelerators: [L40S]}
kubernetes: {image: vllm/vllm-openai:v0.11.0}
"""


def _spec(out: str, ttft: str = "1000"):
    return parse_spec_text(SPEC.replace("OUT", out).replace("TTFT", ttft), "s.yaml")


@pytest.mark.parametrize("out", ["300.0", '"300"', "300"])
def test_the_default_reads_what_validation_accepts(out: str) -> None:
    assert _spec(out).slo.latency_ms == 1000 + 40 * 300
    assert _spec(out, '"1000"').slo.latency_ms == 1000 + 40 * 300


def test_a_bad_output_tokens_is_the_only_problem() -> None:
    with pytest.raises(SpecError) as err:
        _spec("0")
    wheres = [p.where for p in err.value.problems]
    assert wheres == ["traffic.classes[0].output_tokens"], wheres
