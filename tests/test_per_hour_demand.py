"""Requests per hour typed into a requests-per-second field (UX trial 33: a Mixtral curve of
7,200 to 43,200 requests per hour planned 26,204 H100s). Until 2026-12-07 afternoon it was
said only when every value was a multiple of 3,600 (r2 review MED 4: counts from logs never
are; a flat [3600] * 24 req/s drew it falsely). It is now keyed on the plan's size: a plan
that needs more GPUs of one accelerator in one region than a project holds
(solve/sanity.REGION_GPUS) and a peak of at least 3,600 (1 req/s as requests per hour) get
the hint inside the one out-of-proportion warning, and in the budget's exit-4 reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.errors import InfeasibleError
from scaleplan.inputs import load_inputs
from scaleplan.plan import Plan
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.sanity import per_hour_hint
from scaleplan.spec import Spec, parse_spec_text

ROOT = Path(__file__).resolve().parents[1]
# requests per hour as a log query counts them: no value a multiple of 3,600
LOG_COUNTS = [
    52331, 47410, 41233, 38002, 36511, 39874, 48213, 67322, 89210, 112034, 128877, 139502,
    146221, 152331, 149876, 141009, 133412, 127650, 118203, 104332, 92117, 81004, 70228, 60119,
]
LLM = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: q}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  hourly_rps: CURVE
  classes: [{name: chat, share: 1.0, input_tokens: 500, output_tokens: 100}]
slo: {ttft_ms: 800, tpot_ms: 35}
placement: {providers: [aws], accelerators: [L40S]BUDGET}
kubernetes: {image: vllm/vllm-openai:v0.11.0}
"""
HINT = (
    "; traffic.hourly_rps is requests per second (peak 152,331 req/s): if it is requests per "
    "hour, divide each value by 3,600 (peak 42.3 req/s)"
)


def _plan(path: Path) -> Plan:
    inp = load_inputs(str(path))
    opts = SolveOptions(alternatives=False, relax=False, spec_dir=str(path.parent))
    return solve(inp.spec, inp.profile, inp.catalog, options=opts).plan


def test_request_counts_per_hour_from_logs_are_said_in_the_out_of_proportion_warning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(LLM.replace("CURVE", str(LOG_COUNTS)).replace("BUDGET", ""), "utf-8")
    (w,) = [w for w in _plan(path).warnings if w.startswith("out of proportion")]
    assert "L40S GPUs in aws/us-east-1, more than the 512" in w, w
    assert w.endswith(HINT), w


def test_request_counts_per_hour_are_said_when_the_budget_refuses_the_plan(
    tmp_path: Path,
) -> None:
    """UX trial 33: with a budget, exit 4 said only to raise it to $75,431/h."""
    path = tmp_path / "s.yaml"
    text = LLM.replace("CURVE", str(LOG_COUNTS)).replace("BUDGET", ", budget_per_hour: 80")
    path.write_text(text, "utf-8")
    with pytest.raises(InfeasibleError) as err:
        _plan(path)
    (r,) = err.value.reasons
    assert r.code == "budget" and r.message.endswith(HINT), r.message


def test_a_flat_realistic_rate_draws_no_unit_hint(tmp_path: Path) -> None:
    """3,600 req/s all day for the shipped embedding service is a plausible rate: its plan is
    in proportion and nothing is said (the digits rule warned of it)."""
    src = ROOT / "examples" / "embedding-cpu-gpu"
    for f in ("profile.yaml", "spec.yaml"):
        (tmp_path / f).write_text((src / f).read_text("utf-8"), "utf-8")
    spec = tmp_path / "spec.yaml"
    text = spec.read_text("utf-8")
    start = text.index("  hourly_rps:")
    end = text.index("  headroom:")
    spec.write_text(text[:start] + f"  hourly_rps: {[3600] * 24}\n" + text[end:], "utf-8")
    plan = _plan(spec)
    assert set(plan.demand.rps) == {3600}
    assert not [w for w in plan.warnings if "out of proportion" in w or "3,600" in w]


def test_the_hint_needs_a_plan_past_a_region_and_a_peak_of_an_hours_requests() -> None:
    def spec(curve: list[int]) -> Spec:
        return parse_spec_text(LLM.replace("CURVE", str(curve)).replace("BUDGET", ""), "s.yaml")

    assert per_hour_hint(spec(LOG_COUNTS), 513).endswith("(peak 42.3 req/s)")
    assert per_hour_hint(spec(LOG_COUNTS), 512) == ""
    big = per_hour_hint(spec([4_444_200] * 24), 100_000)
    assert big.endswith("divide each value by 3,600 (peak 1,234 req/s)"), big
    # under 3,600 a peak is under one request a second as per hour: not guessed
    assert per_hour_hint(spec([3599] * 24), 100_000) == ""
