"""Counts with their nouns and articles read right in what users see (UX review 3, #22):
'(15.0 GiB / 1 GPUs)', '1 profile points, 1 accelerators', 'the plan has 1 windows', 'it is a
aws region name', and a spec field that drives LLM sizing described as 'documentation'. One
helper (scaleplan.wording) makes the counts and articles."""

from __future__ import annotations

import shutil
from pathlib import Path

from llm_estimates import SPEC as ESTIMATES_SPEC

from scaleplan.wording import article, counted

ROOT = Path(__file__).resolve().parents[1]


def test_counted_and_article() -> None:
    assert [counted(1, "GPU"), counted(2, "GPU"), counted(1324, "replica")] == [
        "1 GPU", "2 GPUs", "1,324 replicas"
    ]
    assert counted(1, "class", "classes") == "1 class"
    assert counted(3, "class", "classes") == "3 classes"
    assert [article(w) for w in ("aws", "gcp", "azure", "H100", "T4", "Sample", "us-east-1")] == [
        "an aws", "a gcp", "an azure", "an H100", "a T4", "a Sample", "a us-east-1"
    ]


def test_one_gpu_weights_one_window_one_point(cli, tmp_path: Path) -> None:
    args = ["profile", "llm", "llama-3.1-70b", "--accelerators", "L4", "--gpus", "1,2"]
    one = cli([*args, "--out", "-"], exit_code=3)
    err = " ".join(one.stderr.split())
    assert "weights need 131.4 GiB per GPU + " in err and "1 GPUs" not in err, err
    assert "(131.4 GiB / 2 GPUs)" in err, err
    plan = str(ROOT / "examples/llm-chat/plan.yaml")
    sim = cli(["simulate", plan, "--windows", "3"], exit_code=2)
    assert "(the plan has 1 window)" in " ".join(sim.stderr.split())
    prof = tmp_path / "profile.yaml"
    args = ["profile", "llm", "llama-3.1-8b", "--accelerators", "L40S", "--gpus", "1"]
    cli([*args, "--concurrency", "1", "--out", str(prof)])
    spec = tmp_path / "spec.yaml"
    spec.write_text(ESTIMATES_SPEC.read_text())  # llm-chat's spec, naming profile.yaml
    res = cli(["validate", str(spec)])
    # an estimated point, which calibrates nothing, is said to (UX trial 31 F3)
    said = "ok (chat: 1 profile point on 1 accelerator, which does not calibrate the model"
    assert said in res.stdout, res.stdout


def test_another_clouds_region_takes_its_article(cli, tmp_path: Path) -> None:
    src = ROOT / "examples/llm-chat"
    shutil.copy(src / "profile.yaml", tmp_path / "profile.yaml")
    text = (src / "spec.yaml").read_text().replace("providers: [aws]", "providers: [gcp]")
    text = text.replace("flavor: eks-karpenter", "flavor: gke")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace("regions: [us-east-1, us-west-2]", "regions: [us-east-1]"))
    err = " ".join(cli(["validate", str(spec)], exit_code=3).stderr.split())
    said = "it has the form of an aws region name; placement.providers is [gcp]"
    assert said in err, err


def test_the_token_fields_are_not_called_documentation(cli) -> None:
    schema = cli(["schema", "spec"]).stdout
    assert "documentation; LLM services" not in schema
    assert "With model.architecture the LLM model sizes and predicts the class from it" in schema


def test_a_quota_of_one_reads_one_gpu_or_one_node() -> None:
    """'quota gcp/us-central1/a2 is 1 GPUs' (UX trial 19 F6): every quota message counts with
    QuotaScope.count, which puts the unit in the right number."""
    from scaleplan.solve.milp.window import QuotaScope

    gpus, nodes = QuotaScope("gcp/*/*", 1, ()), QuotaScope("onprem/*/*", 1, (), nodes=True)
    assert [gpus.count(1), gpus.count(8), nodes.count(1), nodes.count(3)] == [
        "1 GPU", "8 GPUs", "1 node", "3 nodes"
    ]
