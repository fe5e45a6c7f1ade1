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


@pytest.mark.parametrize(
    ("slo", "where"),
    [
        ("ttft_ms: 1000ms, tpot_ms: 40", "slo.ttft_ms"),  # a unit in the value
        ("ttft_ms: -5, tpot_ms: 40", "slo.ttft_ms"),
        ("ttft_ms: 1000, tpot_ms: [40]", "slo.tpot_ms"),
        ("ttft_s: 1, tpot_ms: 40", "slo.ttft_s"),  # a misspelt key: its did-you-mean
        ("ttft_ms: 1000, tpot: 40", "slo.tpot"),
        ("ttft_ms: 1000, tpot_msx: 40", "slo.tpot_msx"),  # UX trial 20 F13: a typo'd key
    ],
)
def test_a_bad_ttft_or_tpot_is_the_only_problem(slo: str, where: str) -> None:
    """UX review 19: ``ttft_ms: 1000ms`` was also refused as ``slo.latency_ms: required field
    is missing (add 'latency_ms:' ...)``, a fix for a problem the spec does not have."""
    with pytest.raises(SpecError) as err:
        text = SPEC.replace("OUT", "300").replace("ttft_ms: TTFT, tpot_ms: 40", slo)
        parse_spec_text(text, "s.yaml")
    wheres = [p.where for p in err.value.problems]
    assert wheres == [where], wheres


def test_without_tpot_latency_ms_is_still_required() -> None:
    """A spec that states no TPOT target (nor a misspelt one) has no default: latency_ms is
    required, as before."""
    with pytest.raises(SpecError) as err:
        parse_spec_text(SPEC.replace("OUT", "300").replace("TTFT, tpot_ms: 40", "1000"), "s.yaml")
    assert [p.where for p in err.value.problems] == ["slo.latency_ms"]


@pytest.mark.parametrize("key", ["clases", "class", "classess"])
def test_a_misspelt_classes_key_is_the_only_problem(key: str) -> None:
    """UX trial 25: ``traffic.clases`` drew its did-you-mean and a second problem,
    ``slo.latency_ms: required field is missing`` with a 400-character field description:
    the default cannot be derived without the classes the typo hid."""
    text = SPEC.replace("OUT", "300").replace("TTFT", "1000").replace("  classes:", f"  {key}:")
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, "s.yaml")
    wheres = [p.where for p in err.value.problems]
    assert wheres == [f"traffic.{key}"], wheres
