"""The shipped LLM examples deploy what they plan: every engine is told which model to serve
(model.source or a --model argument), and a vLLM image exports the metric names scaleplan
renders and queries (vllm:kv_cache_usage_perc: v0.10 and later; docs/render.md, docs/observe.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from scaleplan.catalog.model import Catalog
from scaleplan.plan import read_plan
from scaleplan.render import render_report

ROOT = Path(__file__).resolve().parents[1]
LLM_EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/plan.yaml") if "engine" in (yaml.safe_load((p.parent / "spec.yaml").read_text())["model"]))


def test_the_llm_examples_are_found() -> None:
    assert {"llm-70b-tp", "llm-chat", "llm-chat-pool", "llm-moe"} <= set(LLM_EXAMPLES)


@pytest.mark.parametrize("name", LLM_EXAMPLES)
def test_example_names_its_model_and_a_vllm_with_the_rendered_metric_names(
    tables: Catalog, name: str
) -> None:
    plan = read_plan(ROOT / "examples" / name / "plan.yaml")
    report = render_report(plan, tables)
    assert not [w for w in report.warnings if "default model" in w], report.warnings
    tag = plan.spec.kubernetes.image.rsplit(":", 1)[1]
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)*", tag)
    assert m is not None, tag
    assert (int(m.group(1)), int(m.group(2))) >= (0, 10), f"{name}: {plan.spec.kubernetes.image} exports vllm:gpu_cache_usage_perc, not vllm:kv_cache_usage_perc"
    if "kv_cache_usage_perc" in "".join(report.files.values()):
        assert plan.spec.model.engine == "vllm"


def test_70b_example_serves_the_fp8_checkpoint_with_the_token_from_a_secret(
    tables: Catalog,
) -> None:
    report = render_report(read_plan(ROOT / "examples" / "llm-70b-tp" / "plan.yaml"), tables)
    deployments = [d for text in report.files.values() for d in yaml.safe_load_all(text) if d and d.get("kind") == "Deployment"]
    assert deployments
    for d in deployments:
        c = d["spec"]["template"]["spec"]["containers"][0]
        args = c["args"]
        assert args[args.index("--model") + 1] == "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8"
        assert args[args.index("--kv-cache-dtype") + 1] == "fp8"  # from model.kv_cache_dtype: fp8
        env = {e["name"]: e for e in c["env"]}
        assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "HF_TOKEN"}
