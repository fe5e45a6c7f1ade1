"""A class whose prompt at the SLO percentile of its length spread is beyond the model's
context (UX review 16 F4): the server refuses every longer request, more than the SLO lets
miss, so validate and optimize refuse the spec at the class's lengths (exit 3) with the
numbers and the fix. Before, optimize priced the TTFT of a prompt the server must refuse and
ended in an exit 4 'relax slo.ttft_ms' hint."""

from __future__ import annotations

import json
import math
from pathlib import Path

from scaleplan.llm.lengths import Spread, quantile, refused_share, sigma_from_quantile

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: qwen-chat}
model:
  architecture: qwen3-14b
  engine: vllm
  source: {uri: Qwen/Qwen3-14B, secret: hf-token}
traffic:
  peak_rps: 2
  classes:
    - name: chat
      share: 0.733
      input_tokens: 786
      output_tokens: 262
      lengths: {input_tokens_p99: 2843, output_tokens_p99: 999}
    - name: rag
      share: 0.267
      input_tokens: 12000
      output_tokens: 382
      lengths: {input_tokens_p99: P99, output_tokens_p99: 1123}
slo: {ttft_ms: 1500, tpot_ms: 60, percentile: 95}
placement: {providers: [gcp], regions: [us-central1]}
kubernetes: {namespace: llm, image: vllm/vllm-openai:v0.11.0, flavor: gke}
"""
CONTEXT = 40_960  # qwen3-14b's max_position_embeddings


def _spec(tmp_path: Path, p99: int) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("P99", str(p99)), encoding="utf-8")
    return path


def test_a_p95_prompt_beyond_the_context_is_refused_at_the_class(cli, tmp_path: Path) -> None:
    spec = _spec(tmp_path, 100_000)
    sigma = sigma_from_quantile(12_000, 100_000)
    p95 = math.ceil(quantile(12_000, sigma, 0.95))  # 42,836 tokens, by hand
    assert p95 == 42_836 and p95 > CONTEXT
    spread = Spread(sigma, sigma_from_quantile(382, 1123))
    refused = refused_share(12_000, 382, spread, CONTEXT)  # prompt + completion over it
    assert 0.05 < refused < 0.06, refused  # more than a p95 SLO lets miss
    res = cli(["validate", str(spec)], exit_code=3)
    err = " ".join(res.stderr.split())
    assert (
        f"{spec}:20: traffic.classes[1].lengths: the p95 prompt of class 'rag' is 42,836 tokens"
        in err
    ), err
    assert "beyond qwen3-14b's context of 40,960" in err
    assert "about 5.5 % of the class, more than the 5 % a p95 SLO lets miss" in err
    # the p99 whose p95 prompt is the context, by hand: sigma from (12,000, 40,960 at p95)
    fits = int(quantile(12_000, sigma_from_quantile(12_000, CONTEXT, 0.95), 0.99))
    assert f"lower the class's p99 prompt to at most {fits:,} tokens" in err
    assert "a model of a longer context" in err and "split its long tail" in err
    res = cli(["optimize", str(spec), "--json", "--no-alternatives", "--out",
               str(tmp_path / "out")], exit_code=3)
    out = json.loads(res.stdout)["error"]
    assert out["kind"] == "invalid-input", out
    assert out["message"].startswith(f"{spec}:20: traffic.classes[1].lengths: the p95 prompt")
    assert "relax" not in json.dumps(out)
    # at that p99 the p95 prompt fits: the spec validates (the p99.9 tail is warned of)
    cli(["validate", str(_spec(tmp_path, fits))], exit_code=0)


def test_profile_llm_refuses_the_spec_as_optimize_does(cli, tmp_path: Path) -> None:
    """``profile llm --spec`` reads the spec's classes with their spread: a p95 prompt beyond
    the context is refused there too (exit 3, at the class's lengths), nothing written. Before,
    only a class whose mean is over the context was (over_context), and the profile of a
    spread optimize refuses was written."""
    spec = _spec(tmp_path, 100_000)
    out = tmp_path / "profile.yaml"
    res = cli(["profile", "llm", "--spec", str(spec), "--accelerators", "H100",
               "--out", str(out)], exit_code=3)
    err = " ".join(res.stderr.split())
    assert (
        f"{spec}:20: traffic.classes[1].lengths: the p95 prompt of class 'rag' is 42,836 tokens"
        in err
    ), err
    assert not out.exists()
    # at the p99 whose p95 prompt fits, the profile is written
    fits = int(quantile(12_000, sigma_from_quantile(12_000, CONTEXT, 0.95), 0.99))
    cli(["profile", "llm", "--spec", str(_spec(tmp_path, fits)), "--accelerators", "H100",
         "--out", str(out)], exit_code=0)
    assert out.exists()
