"""An ``rps`` HPA's default target is each pod's SLO-safe capacity over the traffic's headroom,
so under load it runs the capacity the plan prices, headroom included (UX review 5, #4: a
Mistral-7B plan of 3 H100 pods at the 20 rps peak got an HPA at the full 10.17 rps a pod, which
settles at 2; 10.75 rps a pod since the review's fixes). Where the plan runs more than that at
the peak (an n+1 spare the headroom does not cover), render still says so, with the target that
holds the plan's peak count."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml

from scaleplan.render.resources import number_quantity

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: mistral}
model:
  architecture: mistral-7b-instruct-v0.2
  engine: vllm
  source: {uri: mistralai/Mistral-7B-Instruct-v0.2, secret: hf-token}
traffic:
  hourly_rps: [3,2,2,2,2,2,2,4,6,9,11,13,13,12,11,11,11,10,8,7,6,5,4,3]
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


def _optimize(cli, spec: str, out: str) -> tuple[dict, dict, str]:
    """The plan's one allocation, its HPA (as rendered) and what optimize printed."""
    Path(f"{out}.yaml").write_text(spec, encoding="utf-8")
    res = cli(["optimize", f"{out}.yaml", "--out", out])
    plan = yaml.safe_load(Path(f"{out}/plan.yaml").read_text(encoding="utf-8"))
    (a,) = plan["allocations"]
    (hpa_file,) = Path(f"{out}/manifests").glob("hpa-*.yaml")
    hpa = yaml.safe_load(hpa_file.read_text(encoding="utf-8"))
    return a, hpa, res.stdout + res.stderr


def _milli(q: str) -> float:
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def test_an_rps_hpa_keeps_the_plans_headroom_at_the_peak(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the 13 rps peak the plan runs 3 pods (13 x 1.2 / 6.894 = 2.3); the HPA's target is
    6.894 / 1.2, so the HPA asks for ceil(13 / 5.745) = 3, not ceil(13 / 6.894) = 2 (the old
    target, the capacity itself); nothing to warn about. (The day peaked at 16 rps at 8.31 rps
    a pod until 2026-12-07's table refit raised H100 x vLLM's step overhead, and its rates
    were scaled by 0.83 with the capacity; at 20 rps, 10.75 rps a pod, until a decode step
    carried whole prompts: docs/llm.md; 8.74 rps a pod until the replica was derated as one
    queue for its class mix, tests/test_llm_queue_slots.py.)"""
    monkeypatch.chdir(tmp_path)
    a, hpa, out = _optimize(cli, SPEC, "o")
    peak = max(a["replicas_per_window"])
    cap = a["capacity_rps_per_replica"]
    assert peak == 3 and math.ceil(13 / cap) == 2  # what the old target (the capacity) gave
    (metric,) = hpa["spec"]["metrics"]
    target = metric["pods"]["target"]["averageValue"]
    assert target == number_quantity(cap / 1.2)
    # in every hour the HPA asks for the pods demand x (1 + headroom) needs, never more than
    # the plan runs; where that is the plan's count (the peak among them) it asks for the
    # plan's count; below it only where n+1 needs a spare the headroom does not cover (11 rps:
    # 13.2 rps fits 2 pods, n+1 needs 3)
    held = []
    for w, n in enumerate(a["replicas_per_window"]):
        rps = yaml.safe_load(SPEC)["traffic"]["hourly_rps"][w]
        asks = max(hpa["spec"]["minReplicas"], math.ceil(rps / _milli(target) - 1e-9))
        assert asks == max(hpa["spec"]["minReplicas"], math.ceil(rps * 1.2 / cap - 1e-9)) <= n
        if asks < n:
            assert math.ceil(rps / cap) + 1 == n, (w, rps, asks, n)  # the n+1 spare
        held.append(asks == n)
    rates = yaml.safe_load(SPEC)["traffic"]["hourly_rps"]
    assert held[rates.index(13)] and held[rates.index(12)], held
    assert "its HPA targets" not in out
    # an explicit target still wins
    given = SPEC.replace("{type: hpa}", "{type: hpa, hpa: {target: 9.5}}")
    _, hpa2, _ = _optimize(cli, given, "o2")
    assert hpa2["spec"]["metrics"][0]["pods"]["target"]["averageValue"] == "9500m"


def test_an_rps_hpa_that_drops_an_n1_spare_the_headroom_does_not_cover_is_warned(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a 16 rps peak the headroom needs 3 pods (19.2 / 6.894) and n+1 4 (2 carry 13.8 < 16):
    the HPA, at 6.894 / 1.2 a pod, settles at 3 and render says so, naming the n+1 spare."""
    monkeypatch.chdir(tmp_path)
    spec = SPEC.replace("13,13,12", "16,13,12")
    a, _, out = _optimize(cli, spec, "o")
    peak = max(a["replicas_per_window"])
    cap = a["capacity_rps_per_replica"]
    assert math.ceil(16 * 1.2 / cap) == 3 and peak == 4
    said = re.search(r"warning: allocation mistral-p5-4xlarge-od: its HPA targets ([\d.]+) rps "
                     r"a pod \(the SLO-safe capacity over the 20% headroom\), so at the peak's 16 "
                     r"rps it settles at (\d+) pods? where the plan runs (\d+) \(the n\+1 spare\)"
                     r".*hpa.target: ([\d.]+)", out)
    assert said, out
    assert float(said[1]) == pytest.approx(cap / 1.2, abs=1e-3)
    assert int(said[2]) == 3 and int(said[3]) == peak
    target = float(said[4])
    # and names the fix that holds the spare at any rate: KEDA on the request rate, whose
    # formula adds it (a vLLM plan's KEDA default scales on the engine's metrics, which do not)
    assert ("or use KEDA (kubernetes.autoscaler.type: keda-prometheus with "
            "autoscaler.prometheus.query: the Service's request rate)") in " ".join(out.split())
    assert math.ceil(16 / target) == peak  # the suggested target holds the plan's peak count
    given = spec.replace("{type: hpa}", f"{{type: hpa, hpa: {{target: {target}}}}}")
    _, _, out2 = _optimize(cli, given, "o2")
    assert "its HPA targets" not in out2
