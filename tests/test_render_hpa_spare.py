"""An ``rps`` HPA targets each pod's SLO-safe capacity, so under load it runs pods for the
demand alone: at the peak it drops the plan's headroom and n+1 spare. render says so, with the
target that holds the plan's peak count (UX review 5, #4): a Mistral-7B plan of 3 H100 pods at
20 rps got an HPA at 10.17 rps a pod, which settles at 2."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: mistral}
model:
  architecture: mistral-7b-instruct-v0.2
  engine: vllm
  source: {uri: mistralai/Mistral-7B-Instruct-v0.2, secret: hf-token}
traffic:
  hourly_rps: [4,3,3,2,2,2,3,5,9,14,18,20,20,19,18,17,16,15,13,11,9,7,6,5]
  classes:
    - {name: chat, share: 0.8, input_tokens: 700, output_tokens: 300}
    - {name: summarize, share: 0.2, input_tokens: 3500, output_tokens: 150}
slo: {ttft_ms: 600, tpot_ms: 35}
placement:
  providers: [aws]
  regions: [us-east-1]
  accelerators: [H100]
  redundancy: n+1
kubernetes:
  image: vllm/vllm-openai:v0.11.0
  flavor: eks
  autoscaler: {type: hpa}
"""


def test_an_rps_hpa_that_drops_the_plans_spare_at_peak_is_warned(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(SPEC, encoding="utf-8")
    res = cli(["optimize", "s.yaml", "--out", "o"])
    plan = yaml.safe_load(Path("o/plan.yaml").read_text(encoding="utf-8"))
    (a,) = plan["allocations"]
    peak = max(a["replicas_per_window"])
    cap = a["capacity_rps_per_replica"]
    assert math.ceil(20 / cap) < peak  # the HPA's settled count at the 20 rps peak
    out = res.stdout + res.stderr
    said = re.search(r"warning: allocation mistral-p5-4xlarge-od: its HPA targets ([\d.]+) rps "
                     r"a pod .* at the peak's 20 rps it settles at (\d+) pods? where the plan runs "
                     r"(\d+) .*hpa.target: ([\d.]+)", out)
    assert said, out
    assert float(said[1]) == pytest.approx(cap, abs=1e-3)
    assert int(said[2]) == math.ceil(20 / cap) and int(said[3]) == peak
    target = float(said[4])
    assert math.ceil(20 / target) == peak  # the suggested target holds the plan's peak count
    # with that target given, nothing to say
    given = SPEC.replace("{type: hpa}", f"{{type: hpa, hpa: {{target: {target}}}}}")
    Path("t.yaml").write_text(given, encoding="utf-8")
    res = cli(["optimize", "t.yaml", "--out", "o2"])
    assert "its HPA targets" not in res.stdout + res.stderr
