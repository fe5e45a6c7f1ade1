"""A plan keeps a config.json architecture's facts, so `simulate` runs the LLM model it was
planned with from any folder (a relative config.json path resolves only next to the spec).

Before plans recorded it, `simulate` from another folder could not find the file and fell back,
silently, to step times through the plan's per-class predictions: on this spec it reported the
plan saturated (TPOT 365 ms against a planned 60) where the model says it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scaleplan.llm.arch import from_record, preset

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16", "head_dim": 128, "tie_word_embeddings": False,
}
SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat}
model:
  architecture: config.json
  dtype: bf16
  engine: vllm
  profile: profile.yaml
traffic:
  peak_rps: 4
  classes:
    - {name: short, share: 1.0, input_tokens: 512, output_tokens: 128}
slo: {latency_ms: 30000, percentile: 95, ttft_ms: 2000, tpot_ms: 80}
placement:
  providers: [aws]
  regions: [us-east-1]
  accelerators: [L40S]
kubernetes:
  image: vllm/vllm-openai:v0.11.0
  port: 8000
"""


@pytest.fixture
def planned(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """svc/spec.yaml + svc/config.json, optimized into svc/out/plan.yaml from tmp_path."""
    svc = tmp_path / "svc"
    svc.mkdir()
    (svc / "config.json").write_text(json.dumps(CONFIG))
    (svc / "spec.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    cli(["profile", "llm", "--spec", "svc/spec.yaml", "-a", "L40S", "--out", "svc/profile.yaml"])
    cli(["optimize", "svc/spec.yaml", "--out", "svc/out", "--no-alternatives", "--no-manifests"])
    return svc / "out" / "plan.yaml"


def _simulate(cli, plan: str, exit_code: int | None = None) -> dict:
    args = ["simulate", plan, "--windows", "peak", "--duration", "100", "--json"]
    r = cli(args, exit_code=exit_code)
    return json.loads(r.stdout)


def test_the_plan_records_the_config_and_simulate_uses_it_from_any_folder(
    cli, planned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = yaml.safe_load(planned.read_text())
    rec = doc["architecture"]
    assert rec["hidden_size"] == 4096 and rec["num_kv_heads"] == 8
    assert rec["source"] == "config.json: config.json"
    mine, llama = from_record(rec), preset("llama-3.1-8b")
    assert mine.kv_elements_per_token_layer() == llama.kv_elements_per_token_layer()
    assert mine.total_params == llama.total_params
    here = _simulate(cli, "svc/out/plan.yaml")  # from the folder above the spec
    assert here["allocations"][0]["step_source"] == "LLM model (L40S TP1, uncalibrated)"
    assert here["ok"] and not here["saturated"]
    monkeypatch.chdir(planned.parent)  # from the plan's own folder: the same run
    there = _simulate(cli, "plan.yaml")
    assert there["classes"] == here["classes"] and there["ok"]


def test_a_plan_without_the_record_says_why_the_model_was_not_used(
    cli, planned: Path, tmp_path: Path
) -> None:
    """A plan written before plans recorded the architecture: the config.json path resolves from
    the current folder; where it is not found, the step source says so (no silent fall-back)."""
    doc = yaml.safe_load(planned.read_text())
    doc.pop("architecture")
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(doc, sort_keys=False))
    res = _simulate(cli, str(old))
    src = res["allocations"][0]["step_source"]
    assert src.startswith("plan predictions (llm.classes) (the LLM model could not be used: ")
    assert "config.json not found" in src


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda r: r.update(bogus=1), "unknown field 'bogus'"),
        (lambda r: r.update(hidden_size="big"), "'hidden_size' must be int, not 'big'"),
        (lambda r: r.pop("num_layers"), "'num_layers' is missing"),
        (lambda r: r.update(tie_word_embeddings=1), "'tie_word_embeddings' must be bool, not 1"),
    ],
)
def test_a_bad_record_is_bad_input(cli, planned: Path, tmp_path: Path, edit, said: str) -> None:
    doc = yaml.safe_load(planned.read_text())
    edit(doc["architecture"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, sort_keys=False))
    r = cli(["simulate", str(bad), "--windows", "peak", "--duration", "100"], exit_code=3)
    said_all = " ".join(r.stderr.split())
    assert f"error: {bad}: architecture: is not an LLM architecture record: {said}" in said_all


def test_a_preset_plan_records_nothing() -> None:
    from scaleplan.plan import read_plan

    examples = Path(__file__).resolve().parents[1] / "examples"
    assert read_plan(examples / "llm-chat" / "plan.yaml").architecture is None


def test_a_changed_config_shows_in_the_plan_diff(cli, planned: Path) -> None:
    """The same path, another model: optimize's change list (and scaleplan diff) name the
    architecture fields that moved, beside the allocations they resized."""
    before = planned.with_name("before.yaml")
    before.write_text(planned.read_text())
    cfg = planned.parents[1] / "config.json"
    cfg.write_text(json.dumps({**CONFIG, "num_hidden_layers": 40}))
    spec = str(planned.parents[1] / "spec.yaml")
    r = cli(["optimize", spec, "--out", str(planned.parent), "--no-alternatives", "--no-manifests"])
    assert "architecture.num_layers: 32 -> 40" in r.stdout
    d = json.loads(cli(["diff", str(before), str(planned), "--json"]).stdout)
    assert {"field": "architecture.num_layers", "before": 32, "after": 40} in d["spec"]
