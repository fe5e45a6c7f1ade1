"""``model.dtype: mxfp4`` / ``nvfp4``: the precision of checkpoints shipped so (gpt-oss's own,
ModelOpt NVFP4), which the LLM model prices and names. Until 2026-12-07 a spec could not state
it: ``model.dtype: mxfp4`` was refused with "did you mean 'fp8'?" (an fp8 gpt-oss-120b plan
sizes 109.8 GiB of weights: TP2-8 on p5.48xlarge, 2.5x the cost), while optimize's own warning
on that fp8 plan told the user to "set model.dtype: mxfp4" (UX trial 38 F1)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: oss}
model:
  architecture: gpt-oss-120b
  engine: vllm
  source: {uri: openai/gpt-oss-120b}
  engine_config: {max_model_len: 8192}
DTYPE
traffic:
  peak_rps: 4
  classes:
    - {name: chat, share: 1, input_tokens: 1500, output_tokens: 350}
slo: {ttft_ms: 800, tpot_ms: 30}
placement:
  regions: [us-east-1]
  accelerators: [H100]
kubernetes:
  image: vllm/vllm-openai:v0.11.0
  flavor: eks-karpenter
"""


def _spec(tmp_path: Path, name: str, dtype: str | None) -> Path:
    path = tmp_path / f"{name}.yaml"
    line = f"  dtype: {dtype}" if dtype is not None else ""
    path.write_text(SPEC.replace("DTYPE\n", f"{line}\n" if line else ""))
    return path


def _allocations(out: Path) -> list[tuple[object, ...]]:
    plan = yaml.safe_load((out / "plan.yaml").read_text())
    return [
        (a["instance_type"], a["gpus_per_replica"], a["replicas"], a["llm"]["weights_gib_per_gpu"])
        for a in plan["allocations"]
    ] + [plan["cost_per_hour"]]


def test_the_advised_dtype_is_one_the_spec_takes_and_plans_the_checkpoints_precision(
    cli, tmp_path: Path
) -> None:
    fp8 = _spec(tmp_path, "fp8", "fp8")
    res = cli(["optimize", str(fp8), "--out", str(tmp_path / "o8"), "--no-alternatives"])
    warned = " ".join(res.stderr.split())
    advice = re.search(r"or set model\.dtype: (\S+) and run scaleplan optimize again", warned)
    assert advice is not None and advice.group(1) == "mxfp4", warned
    stated = _spec(tmp_path, "mx", advice.group(1))
    res = cli(["validate", str(stated)])
    assert "ok (oss" in res.stdout, res.stdout + res.stderr
    cli(["optimize", str(stated), "--out", str(tmp_path / "mx"), "--no-alternatives"])
    own = _spec(tmp_path, "own", None)
    cli(["optimize", str(own), "--out", str(tmp_path / "own"), "--no-alternatives"])
    mx = _allocations(tmp_path / "mx")
    assert mx == _allocations(tmp_path / "own")  # the checkpoint's own precision, stated
    assert all(w == 60.674 for *_, w in mx[:-1])  # MXFP4 experts, 16-bit attention and embeddings
    assert _allocations(tmp_path / "o8") != mx


def test_an_fp4_dtype_on_a_16bit_checkpoint_is_warned(cli, tmp_path: Path) -> None:
    """The other way: a 16-bit checkpoint planned as MXFP4 weights is said, as fp8 is."""
    spec = _spec(tmp_path, "llama", "mxfp4")
    text = spec.read_text().replace("gpt-oss-120b", "llama-3.1-70b")
    spec.write_text(text.replace("openai/llama-3.1-70b", "meta-llama/Llama-3.1-70B-Instruct"))
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--no-alternatives"])
    err = " ".join(res.stderr.split())
    assert "the plan sized mxfp4 weights" in err, err
    assert "point model.source.uri at an MXFP4 checkpoint" in err, err
    assert "or set model.dtype: bf16" in err, err


def test_profile_llm_takes_the_fp4_dtypes(cli) -> None:
    args = ["profile", "llm", "gpt-oss-120b", "--gpus", "1", "--concurrency", "1", "--out", "-"]
    out = cli([*args, "--accelerators", "H100", "--dtype", "mxfp4"]).stdout
    assert "dtype: mxfp4" in out
    res = cli([*args, "--accelerators", "H100", "--dtype", "nvfp4"], exit_code=2)
    nv = " ".join(res.stderr.split())
    assert "NVFP4 needs Blackwell" in nv and "int4-gptq, mxfp4))" in nv, nv


def test_a_precision_named_long_or_with_a_qualifier_gets_its_dtype(cli, tmp_path: Path) -> None:
    """UX trial 39 F6: ``model.dtype: fp8-dynamic`` (the checkpoint's name) and ``float8``
    (torch's) were refused with the list alone; 'FP8' got "did you mean 'fp8'?"."""
    for said, meant in (("fp8-dynamic", "fp8"), ("float8", "fp8"), ("bfloat16", "bf16"),
                        ("fp8_e4m3", "fp8"), ("int4", "int4-awq' or 'int4-gptq")):
        res = cli(["validate", str(_spec(tmp_path, "d", said))], exit_code=3)
        err = " ".join(res.stderr.split())
        assert f"got '{said}' (did you mean '{meant}'?)" in err, err
