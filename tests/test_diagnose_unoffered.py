"""An LLM spec whose precision none of the offered accelerators runs, while the accelerators
that run it are named but not offered in the spec's region (UX trial 34 F3): Llama-3.1-8B in
fp8 on EKS in eu-west-1 with H100 and A10G allowed; the shipped AWS catalog has no H100 there.
The hint said only "set model.dtype ..., or allow in placement.accelerators one that runs
this one", though the user had: it now names the ones the region lacks and the fixes."""

from __future__ import annotations

from pathlib import Path

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat}
model: {architecture: llama-3.1-8b, dtype: fp8, engine: vllm}
traffic:
  peak_rps: 4
  classes:
    - {name: chat, share: 1.0, input_tokens: 800, output_tokens: 250}
slo: {ttft_ms: 600, tpot_ms: 40}
placement:
  regions: [eu-west-1]
  accelerators: [H100, A10G]
kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: eks}
"""
SAID = (
    "placement.accelerators also names H100, which no catalog row in aws eu-west-1 offers: "
    "plan a region that has it (placement.regions; `scaleplan catalog list --accelerator "
    "H100`), or give its rows in a catalog of your own"
)


def test_the_precision_hint_names_accelerators_the_region_lacks(cli, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-manifests"], exit_code=4)
    said = " ".join(r.stderr.split())
    assert "A10G (Ampere) has no FP8 tensor cores" in said, r.stderr
    assert SAID in said, r.stderr
    v = cli(["validate", str(spec)])  # the same reason and hint, as optimize's (exit 0)
    assert SAID in " ".join(v.stderr.split()), v.stderr
    ok = tmp_path / "use1.yaml"  # where H100 is offered nothing is added: it plans
    ok.write_text(SPEC.replace("eu-west-1", "us-east-1"))
    assert "also names" not in cli(["validate", str(ok)]).stderr
