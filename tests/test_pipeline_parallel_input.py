"""UX review 20 F7: ``model.engine_config.pipeline_parallel`` that no replica the allowed nodes
offer divides is refused at input checking (exit 3, naming the field, the GPU counts and the
fix); before, validate said ok and optimize said "infeasible, memory" with a memory hint."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: rag-assistant}
model:
  architecture: llama-3.1-70b
  engine: vllm
traffic:
  peak_rps: 4
  classes:
    - {name: rag, share: 0.7, input_tokens: 6000, output_tokens: 400}
    - {name: chat, share: 0.3, input_tokens: 500, output_tokens: 150}
slo: {ttft_ms: 2000, tpot_ms: 80, percentile: 95}
placement:
  accelerators: [H100, H200, A100-80GB, L40S]
  max_gpus_per_replica: 8
kubernetes:
  image: vllm/vllm-openai:v0.11.0
  flavor: eks-karpenter
"""


def _write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "spec.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_pipeline_parallel_no_replica_divides_is_refused_at_input(cli, tmp_path: Path) -> None:
    d = yaml.safe_load(SPEC)
    d["model"]["engine_config"] = {"pipeline_parallel": 3}
    spec = _write(tmp_path, yaml.safe_dump(d, sort_keys=False))
    for cmd in (["validate", spec], ["optimize", spec, "--out", str(tmp_path / "out")]):
        res = cli(cmd, exit_code=3)
        said = " ".join((res.stdout + res.stderr).split())
        assert "model.engine_config.pipeline_parallel" in said, said
        assert "offer replicas of 1, 2, 4 or 8 GPUs" in said
        assert "set it to 2, 4 or 8" in said
        assert "Traceback" not in said
    assert not (tmp_path / "out" / "plan.yaml").exists()


def test_pipeline_parallel_on_one_gpu_replicas_is_refused_not_a_crash(cli, tmp_path: Path) -> None:
    """placement.max_gpus_per_replica 1: every replica is one GPU, no degree above 1 divides
    one (the hint's list of degrees that would was empty: an internal IndexError, exit 70)."""
    d = yaml.safe_load(SPEC)
    d["model"]["engine_config"] = {"pipeline_parallel": 2}
    d["placement"]["max_gpus_per_replica"] = 1
    res = cli(["validate", _write(tmp_path, yaml.safe_dump(d, sort_keys=False))], exit_code=3)
    said = " ".join((res.stdout + res.stderr).split())
    assert "offer replicas of 1 GPU (" in said, said
    fix = "leave it out (a replica of one GPU has no stages to split), or set "
    assert fix + "placement.max_gpus_per_replica to at least 2" in said
    assert "internal error" not in said


@pytest.mark.parametrize("pp", [2, 4])
def test_pipeline_parallel_that_divides_passes_validate(cli, tmp_path: Path, pp: int) -> None:
    d = yaml.safe_load(SPEC)
    d["model"]["engine_config"] = {"pipeline_parallel": pp}
    cli(["validate", _write(tmp_path, yaml.safe_dump(d, sort_keys=False))])
