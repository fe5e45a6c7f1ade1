"""The estimates-only LLM fixture: tests/data/llm-estimates, a spec (examples/llm-chat's, Llama
3.1 8B on vLLM, 3 classes, gateway-api, spot and n+1) that names a profile of ``scaleplan
profile llm`` estimates, which calibrate nothing (``profile_unused: estimates-only``), and its
golden plan.yaml (tests/test_llm_estimates_fixture.py keeps it fresh). The shipped examples
name no such profile since 2026-12-07; the tests of the estimates-only path read this."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ESTIMATES = ROOT / "tests" / "data" / "llm-estimates"
SPEC = ESTIMATES / "spec.yaml"
PROFILE = ESTIMATES / "profile.yaml"
PLAN = ESTIMATES / "plan.yaml"
