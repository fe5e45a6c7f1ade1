"""The three examples: each spec solves to its golden plan.yaml (`pytest --update-golden` rewrites)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaleplan.plan import dump_plan, read_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NAMES = ("embedding-cpu-gpu", "embedding-kafka", "llm-chat", "llm-chat-pool", "vision-daily", "llm-70b-tp", "llm-moe")


def _plan_text(name: str) -> str:
    from scaleplan.inputs import load_inputs
    from scaleplan.solve import SolveOptions, solve

    inp = load_inputs(str(EXAMPLES / name / "spec.yaml"))
    return dump_plan(solve(inp.spec, inp.profile, inp.catalog, options=SolveOptions(inputs=inp.hashes)).plan)


@pytest.mark.parametrize("name", NAMES)
def test_example_matches_golden(name: str, update_golden: bool) -> None:
    golden = EXAMPLES / name / "plan.yaml"
    text = _plan_text(name)
    if update_golden:
        golden.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text, f"{golden} is stale; rerun with --update-golden and review the diff"
    plan = read_plan(golden)
    # vision-daily (hpa over a curve): its plan holds the HPA's minReplicas floor in every
    # hour (solve/floors.py), measured against the per-window optimum that idles allocations
    floor = any("minReplicas is at least 1" in w for w in plan.warnings)
    assert plan.status == "optimal" or (name == "vision-daily" and floor)
    assert plan.metadata.inputs.spec
    # a profile is hashed where the spec names one; the LLM examples sized from the
    # architecture alone name none (their profile.yaml, estimates only, calibrates nothing)
    assert bool(plan.metadata.inputs.profile) == (plan.spec.model.profile is not None)
    if name in ("llm-chat", "llm-chat-pool", "llm-moe"):
        assert plan.spec.model.profile is None and plan.profile_unused is None
        assert not any("calibrate nothing" in w for w in plan.warnings), plan.warnings


def test_examples_show_what_they_promise() -> None:
    emb = read_plan(EXAMPLES / "embedding-cpu-gpu" / "plan.yaml")
    assert "CPU" in {a.accelerator for a in emb.allocations} or any("c7" in b.description for b in emb.baselines)
    assert emb.spec.kubernetes.flavor == "eks"
    llm = read_plan(EXAMPLES / "llm-chat" / "plan.yaml")
    assert len(llm.demand.classes) == 3 and llm.spec.placement.redundancy == "n+1"
    assert llm.spec.kubernetes.autoscaler.type == "keda-prometheus" and llm.spec.kubernetes.flavor == "eks-karpenter"
    assert all(a.estimated for a in llm.allocations)
    vis = read_plan(EXAMPLES / "vision-daily" / "plan.yaml")
    assert vis.demand.windows == 24 and vis.spec.placement.redundancy == "zone"
    assert len({sum(a.replicas_per_window[w] for a in vis.allocations) for w in range(24)}) > 1  # follows the curve


def test_plan_is_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    outs = []
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = tmp_path / seed
        subprocess.run([sys.executable, "-m", "scaleplan", "optimize", str(EXAMPLES / "vision-daily" / "spec.yaml"), "--out", str(out), "--no-manifests", "--json"], check=True, env=env, capture_output=True)
        outs.append((out / "plan.yaml").read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] == (EXAMPLES / "vision-daily" / "plan.yaml").read_bytes()
