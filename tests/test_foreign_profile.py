"""A profile of another model under an LLM spec (UX trial 31 F3). Measured points of another
model calibrate the spec's (a fine-tune's measurements rightly do): when no plan results, exit 4
names that calibration beside the budget, not only "raise placement.budget_per_hour". Estimated
points (``profile llm`` output) calibrate nothing: validate and optimize say so; they read
"ok (32 profile points ...)" and "capacity from estimated profile points", which the plan
ignored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from profile_helpers import FORMATS

ROOT = Path(__file__).resolve().parents[1]

SPEC = """apiVersion: scaleplan/v1
kind: InferenceService
metadata: {{name: chat}}
model:
  profile: profile.yaml
  architecture: llama-3.1-8b
  engine: vllm
traffic:
  peak_rps: 4
  classes:
    - {{name: chat, share: 1.0, input_tokens: 512, output_tokens: 256}}
slo: {{ttft_ms: 2000, tpot_ms: 60}}
placement:
  providers: [aws]
  regions: [us-east-1]
  accelerators: [H100, L40S]{budget}
kubernetes: {{image: vllm/vllm-openai:v0.11.0}}
"""


def test_exit_4_names_a_calibration_on_another_models_points(tmp_path: Path, cli) -> None:
    cli([
        "profile", "import", str(FORMATS / "vllm_bench_serve_v0.25.1.json"),
        "--accelerator", "H100", "--out", str(tmp_path / "profile.yaml"),
    ])
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(budget="\n  budget_per_hour: 0.01"), encoding="utf-8")
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--json"], exit_code=4)
    doc = json.loads(r.stdout)
    codes = [x["code"] for x in doc["reasons"]]
    assert codes == ["budget", "calibration"], codes
    why = doc["reasons"][1]
    assert why["where"] == "model.profile" and why["details"]["line"] == 5
    assert "calibrated on model.profile's measured points of 'facebook/opt-125m'" in why["message"]
    assert "step overhead x" in why["message"]
    assert "drop model.profile or give this model's measurements" in doc["hint"]
    # the same spec with no profile: the budget alone
    spec.write_text(
        SPEC.format(budget="\n  budget_per_hour: 0.01").replace("  profile: profile.yaml\n", ""),
        encoding="utf-8",
    )
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--json"], exit_code=4)
    assert [x["code"] for x in json.loads(r.stdout)["reasons"]] == ["budget"]


def test_estimated_points_of_another_model_are_said_to_calibrate_nothing(
    tmp_path: Path, cli
) -> None:
    shutil.copy(ROOT / "examples" / "llm-moe" / "profile.yaml", tmp_path / "profile.yaml")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(budget=""), encoding="utf-8")
    r = cli(["validate", str(spec)])
    err = " ".join(r.stderr.split())
    assert "32 profile points on 3 accelerators, none of which calibrates the model" in r.stdout
    assert (
        "warning: model.profile holds no measured point, only estimates (32 points of "
        "'qwen3-30b-a3b', not of the model planned ('llama-3.1-8b')), which calibrate nothing"
    ) in err
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out")])
    out = " ".join(r.stdout.split())
    assert "* capacity from the LLM model's estimates (no measured profile" in out
    assert "estimated profile points" not in out
    plan = " ".join(yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())["warnings"])
    assert "model.profile holds no measured point, only estimates (32 points of" in plan
    assert "rests on estimated or scaled profile points" not in plan
