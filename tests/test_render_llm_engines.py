"""Each engine's server command against the plan: the launcher and the model (trtllm-serve takes
it positionally), every planned flag in the engine's spelling and read back by check from the
same table, a hand-edited flag that contradicts the plan, and unreadable flag values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llm_render_helpers import LLM_PLANS, with_spec
from tables_helpers import shipped_tables
from typer.testing import CliRunner

from scaleplan.catalog.model import Catalog
from scaleplan.check import RULES, check_paths, check_text
from scaleplan.cli import app
from scaleplan.errors import PlanError
from scaleplan.llm.engine_flags import FLAGS, PLANNED, parse_flags, positional_model
from scaleplan.plan import Plan, dump_plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import engine as engines
from scaleplan.render import render, render_report
from scaleplan.yamlio import dump_yaml_all

ALL_RULES = [r.id for r in RULES]
ENGINE_PLANS = {"vllm": "vllm-70b", "sglang": "sglang", "tgi": "tgi", "trtllm": "trtllm"}


def _objects(plan: Plan) -> list[dict[str, Any]]:
    return [o.obj for o in render_report(plan, shipped_tables()).objects]


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return c


def _deployments(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == "Deployment"]


def _plan_findings(objs: list[dict[str, Any]], plan: Plan, tables: Catalog, rule: str) -> list[str]:
    report = check_text(dump_yaml_all(objs), plan=plan, enabled_rules=ALL_RULES, catalog=tables)
    return [f.message for f in report.findings if f.rule == rule]


def _set_flag(objs: list[dict[str, Any]], engine: str, setting: str, value: str | None) -> str:
    """Every Deployment's ``setting`` flag set to ``value`` (None: removed); the flag's name."""
    for dep in _deployments(objs):
        args = _container(dep)["args"]
        use = parse_flags(args, (engine,))[setting]
        if value is None:
            del args[use.index : use.index + 2]
        else:
            args[use.index + 1] = value
    return FLAGS[engine][setting][0]


def _trt(**spec: Any) -> Plan:
    return with_spec(LLM_PLANS["trtllm"](), **spec)


# --- trtllm-serve: the positional model -------------------------------------------------------


def test_trtllm_without_args_names_the_model_and_passes_check(
    tables: Catalog, tmp_path: Path
) -> None:
    """The defect: with no spec args, trtllm-serve got flags only and no model; check failed
    (engine-model-missing) until the user wrote `trtllm-serve <model>` into the args by hand."""
    plan = _trt(**{"kubernetes.args": []})
    report = render_report(plan, tables)
    assert not [w for w in report.warnings if "positional" in w]
    args = _container(_deployments([o.obj for o in report.objects])[0])["args"]
    assert args[:2] == ["trtllm-serve", "/models/weights"]
    flags = dict(zip(args[2::2], args[3::2], strict=True))
    assert flags == {
        "--host": "0.0.0.0", "--port": "8000", "--backend": "pytorch", "--tp_size": "8",
        "--max_batch_size": "32", "--max_seq_len": "16384",
        "--kv_cache_free_gpu_memory_fraction": "0.85", "--max_num_tokens": "8192",
    }
    write_manifests(tmp_path / "m", render(plan, tables))
    report = check_paths([tmp_path / "m"], plan=plan, enabled_rules=ALL_RULES, catalog=tables)
    found = report.findings
    assert found == (), [(f.rule, f.message) for f in found]


@pytest.mark.parametrize(
    ("user", "want"),
    [
        (["trtllm-serve"], ["trtllm-serve", "/models/weights"]),
        (["trtllm-serve", "serve"], ["trtllm-serve", "serve", "/models/weights"]),
        (
            ["/usr/local/bin/trtllm-serve", "--log_level", "info"],
            ["/usr/local/bin/trtllm-serve", "/models/weights", "--log_level", "info"],
        ),
        (["--backend", "tensorrt"], ["trtllm-serve", "/models/weights", "--backend", "tensorrt"]),
        (["trtllm-serve", "/models/weights"], ["trtllm-serve", "/models/weights"]),
    ],
)
def test_trtllm_launcher_and_model_placement(user: list[str], want: list[str]) -> None:
    args = _container(_deployments(_objects(_trt(**{"kubernetes.args": user})))[0])["args"]
    assert args[: len(want)] == want
    assert args.count("/models/weights") == 1 and sum(a.endswith("trtllm-serve") for a in args) == 1
    assert args.count("--backend") == 1  # a user's --backend is the user's choice, not a conflict


def test_trtllm_other_positional_model_exits_3(tables: Catalog, tmp_path: Path) -> None:
    plan = _trt(**{"kubernetes.args": ["trtllm-serve", "/models/other"]})
    with pytest.raises(PlanError) as e:
        render(plan, tables)
    [p] = [p for p in e.value.problems if "/models/other" in p.message]
    assert p.where == "spec.kubernetes.args[1]" and "/models/weights" in p.message
    assert "model.source" in p.hint
    pf = tmp_path / "plan.yaml"
    pf.write_text(dump_plan(plan), encoding="utf-8")
    r = CliRunner().invoke(app, ["render", str(pf), "--out", str(tmp_path / "out")])
    assert r.exit_code == 3 and "/models/other" in r.output and not (tmp_path / "out").exists()


def test_trtllm_without_model_fails_check(tables: Catalog) -> None:
    plan = LLM_PLANS["trtllm"]()
    objs = _objects(plan)
    assert not _plan_findings(objs, plan, tables, "engine-model-missing")
    for dep in _deployments(objs):
        _container(dep)["args"].remove("/models/weights")
    found = _plan_findings(objs, plan, tables, "engine-model-missing")
    assert found and "names no model (no model after trtllm-serve)" in found[0]
    # `trtllm-serve serve` is the subcommand, not a model
    for dep in _deployments(objs):
        _container(dep)["args"].insert(1, "serve")
    assert _plan_findings(objs, plan, tables, "engine-model-missing")


def test_positional_model_reader() -> None:
    assert positional_model("trtllm", ["trtllm-serve", "m", "--tp_size", "2"]) is not None
    assert positional_model("trtllm", ["trtllm-serve", "serve", "m"]).value == "m"  # type: ignore[union-attr]
    assert positional_model("trtllm", ["trtllm-serve", "serve", "--tp_size", "2"]) is None
    assert positional_model("trtllm", ["--tp_size", "2"]) is None
    assert positional_model("vllm", ["serve", "m"]) is None  # vLLM's model is its --model flag


def test_sglang_gets_its_launcher() -> None:
    """lmsysorg/sglang has no entrypoint that starts the server: render writes it."""
    args = _container(_deployments(_objects(LLM_PLANS["sglang"]()))[0])["args"]
    assert args[:5] == ["python3", "-m", "sglang.launch_server", "--model-path", "/models/weights"]
    user = ["python", "-m", "sglang.launch_server", "--trust-remote-code"]
    plan = with_spec(LLM_PLANS["sglang"](), **{"kubernetes.args": user})
    args = _container(_deployments(_objects(plan))[0])["args"]
    assert args[:4] == user and args.count("sglang.launch_server") == 1


# --- every engine: the flags are the plan's capacity, and check reads them back ---------------


@pytest.mark.parametrize("engine", list(ENGINE_PLANS))
def test_rendered_flags_are_the_plans_capacity(engine: str) -> None:
    """Each planned setting the engine has a flag for is written with the plan's value (the
    concurrency the plan sized = what the server is told), in the table's spelling."""
    plan = LLM_PLANS[ENGINE_PLANS[engine]]()
    deps = {d["metadata"]["name"]: d for d in _deployments(_objects(plan))}
    for a in plan.allocations:
        server = engines.server_settings(plan, a)
        assert server is not None and server.engine == engine
        got = parse_flags(_container(deps[a.name])["args"], (engine,))
        seqs = a.llm.max_num_seqs if a.llm is not None else a.operating_point.batch_size
        assert float(got["max_num_seqs"].value) == seqs
        assert got["max_num_seqs"].flag == FLAGS[engine]["max_num_seqs"][0]
        for setting in PLANNED:
            planned = server.value(setting)
            if planned is None or setting not in FLAGS[engine]:
                continue
            if setting == "pipeline_parallel" and planned == 1:
                continue
            assert float(got[setting].value) == pytest.approx(planned), setting


@pytest.mark.parametrize("engine", list(ENGINE_PLANS))
def test_lower_max_batch_fails_check_with_its_effect(tables: Catalog, engine: str) -> None:
    plan = LLM_PLANS[ENGINE_PLANS[engine]]()
    objs = _objects(plan)
    assert not _plan_findings(objs, plan, tables, "engine-plan-flags")
    flag = _set_flag(objs, engine, "max_num_seqs", "4")
    found = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert found and all(f"runs {flag} 4 but the plan has {flag} " in m for m in found)
    assert "serves at most 4 requests at once, fewer than the" in found[0]
    _set_flag(objs, engine, "max_num_seqs", "100000")
    assert "more than the" in _plan_findings(objs, plan, tables, "engine-plan-flags")[0]


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_step_token_budget_is_read_back(tables: Catalog, engine: str) -> None:
    plan = LLM_PLANS[ENGINE_PLANS[engine]]()
    if engine == "sglang":  # the profile-only plan states no budget: plan one in engine_config
        plan = with_spec(plan, **{"model.engine_config": {"max_num_batched_tokens": 4096}})
    objs = _objects(plan)
    flag = _set_flag(objs, engine, "max_num_batched_tokens", None)
    found = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert found and f"has no {flag}" in found[0]


def test_trtllm_memory_fraction_is_read_back(tables: Catalog) -> None:
    plan = LLM_PLANS["trtllm"]()
    objs = _objects(plan)
    _set_flag(objs, "trtllm", "gpu_memory_utilization", "0.5")
    found = _plan_findings(objs, plan, tables, "engine-plan-flags")
    flag = "--kv_cache_free_gpu_memory_fraction"
    assert found and f"{flag} 0.5 but the plan has {flag} 0.85" in found[0]
    assert "fewer sequences fit" in found[0]
    # the alias of later releases reads the same
    for dep in _deployments(objs):
        args = _container(dep)["args"]
        i = args.index("--kv_cache_free_gpu_memory_fraction")
        args[i : i + 2] = ["--free_gpu_memory_fraction=0.85"]
    assert not _plan_findings(objs, plan, tables, "engine-plan-flags")


# --- bad input: a flag value the engine cannot read ---------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [
        ("max_num_seqs", "lots", "'lots' is not a number"),
        ("max_num_seqs", "1.5", "'1.5' is not a whole number of at least 1"),
        ("gpu_memory_utilization", "85", "'85' is not a fraction in (0, 1]"),
    ],
)
def test_unreadable_flag_value_fails_check(
    tables: Catalog, setting: str, value: str, why: str
) -> None:
    plan = LLM_PLANS["trtllm"]()
    objs = _objects(plan)
    flag = _set_flag(objs, "trtllm", setting, value)
    found = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert found and f"runs {flag} {value}: {why}, so trtllm would not start" in found[0]


def test_unreadable_flag_value_in_spec_args_exits_3(tables: Catalog) -> None:
    plan = _trt(**{"kubernetes.args": ["--kv_cache_free_gpu_memory_fraction", "1.5"]})
    with pytest.raises(PlanError) as e:
        render(plan, tables)
    [p] = e.value.problems
    assert "'1.5' is not a fraction in (0, 1]" in p.message
    assert "--kv_cache_free_gpu_memory_fraction 0.85" in p.message
    assert p.where == "spec.kubernetes.args[0]"


def test_trtllm_says_the_revision_is_not_written(tables: Catalog) -> None:
    """A pinned Hugging Face revision has no flag scaleplan writes for trtllm-serve: say so
    instead of dropping it silently."""
    src = {"uri": "meta-llama/Llama-3.1-405B-Instruct-FP8", "revision": "v1.2"}
    report = render_report(_trt(**{"model.source": src, "kubernetes.args": []}), tables)
    args = _container(_deployments([o.obj for o in report.objects])[0])["args"]
    assert args[:2] == ["trtllm-serve", "meta-llama/Llama-3.1-405B-Instruct-FP8"]
    assert "v1.2" not in args
    assert any("model.source.revision v1.2 is not written" in w for w in report.warnings)
    vllm = render_report(with_spec(LLM_PLANS["vllm-70b"](), **{"model.source": src}), tables)
    assert not any("revision" in w for w in vllm.warnings)


# --- TGI: the running batch is --max-batch-size; --max-concurrent-requests queues past it ------


def _tgi_with_batch(seqs: int) -> Plan:
    data = LLM_PLANS["tgi"]().model_dump(mode="json", exclude_none=True)
    data["allocations"][0]["llm"]["max_num_seqs"] = seqs
    return Plan.model_validate(data)


@pytest.mark.parametrize(
    ("seqs", "in_flight"), [(24, "128"), (32, "128"), (33, "132"), (128, "512")]
)
def test_tgi_batch_is_max_batch_size_and_requests_queue_past_it(
    tables: Catalog, seqs: int, in_flight: str
) -> None:
    """The defect: the plan's batch went out as --max-concurrent-requests, TGI's limit on every
    request in flight, so a replica refused (HTTP 429) what the plan and the simulator queue.
    Now the batch is --max-batch-size and the in-flight limit is TGI's default 128 or 4x the
    batch, whichever is larger; check passes the rendered manifest."""
    plan = _tgi_with_batch(seqs)
    objs = _objects(plan)
    args = _container(_deployments(objs)[0])["args"]
    got = dict(zip(args[::2], args[1::2], strict=True))
    assert got["--max-batch-size"] == str(seqs) and got["--max-concurrent-requests"] == in_flight
    assert got["--max-input-tokens"] == "4095" and got["--max-total-tokens"] == "4096"
    assert args.count("--max-concurrent-requests") == 1
    assert not _plan_findings(objs, plan, tables, "engine-plan-flags")


def test_tgi_in_flight_limit_at_or_below_the_batch_fails_check(tables: Catalog) -> None:
    plan = _tgi_with_batch(24)
    objs = _objects(plan)
    _set_flag(objs, "tgi", "max_concurrent_requests", "24")
    [msg] = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert "runs --max-concurrent-requests 24, at or below the planned batch of 24" in msg
    assert "(--max-batch-size)" in msg
    assert "refuses every request past that many in flight (HTTP 429) instead of queueing it" in msg
    assert "the plan has --max-concurrent-requests 128" in msg
    _set_flag(objs, "tgi", "max_concurrent_requests", "25")  # any queue at all is the user's choice
    assert not _plan_findings(objs, plan, tables, "engine-plan-flags")
    _set_flag(objs, "tgi", "max_concurrent_requests", None)  # TGI's default, 128 > 24: queues
    assert not _plan_findings(objs, plan, tables, "engine-plan-flags")
    plan = _tgi_with_batch(128)  # ... but not above a batch of 128
    objs = _objects(plan)
    _set_flag(objs, "tgi", "max_concurrent_requests", None)
    [msg] = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert "has no --max-concurrent-requests (TGI's default is 128)" in msg
    assert "at or below the planned batch of 128" in msg
    _set_flag(objs, "tgi", "max_num_seqs", "12")  # a hand-lowered batch: as on every engine
    found = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert any("runs --max-batch-size 12 but the plan has --max-batch-size 128" in m for m in found)


def test_tgi_input_limit_is_read_back(tables: Catalog) -> None:
    plan = _tgi_with_batch(24)
    objs = _objects(plan)
    _set_flag(objs, "tgi", "max_input_tokens", None)
    [msg] = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert "has no --max-input-tokens; the plan has --max-input-tokens 4095" in msg
    for dep in _deployments(objs):
        _container(dep)["args"] += ["--max-input-tokens", "4096"]
    [msg] = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert "TGI refuses to start: its --max-input-tokens must be below --max-total-tokens" in msg
    _set_flag(objs, "tgi", "max_input_tokens", "1000")
    [msg] = _plan_findings(objs, plan, tables, "engine-plan-flags")
    assert "prompts longer than 1000 tokens are refused (HTTP 422)" in msg


def test_tgi_in_flight_limit_in_spec_args(tables: Catalog) -> None:
    """A user's --max-concurrent-requests above the batch is kept (the queue's depth is theirs
    to choose); at or below it, render refuses the spec (exit 3) and says what it would do."""
    base = _tgi_with_batch(24)
    plan = with_spec(base, **{"kubernetes.args": ["--max-concurrent-requests", "300"]})
    args = _container(_deployments(_objects(plan))[0])["args"]
    assert args[:2] == ["--max-concurrent-requests", "300"]
    assert args.count("--max-concurrent-requests") == 1
    plan = with_spec(base, **{"kubernetes.args": ["--max-concurrent-requests", "24"]})
    with pytest.raises(PlanError) as e:
        render(plan, tables)
    [p] = e.value.problems
    assert p.where == "spec.kubernetes.args[0]"
    assert "refuses every request past that many in flight (HTTP 429)" in p.message
    assert "needs --max-concurrent-requests 128" in p.message


def test_tgi_profile_only_plan_gets_a_prefill_budget() -> None:
    """Without a planned step budget TGI's launcher, given --max-batch-size, takes
    max_batch_size x max_input_tokens as its prefill budget: render writes the budget it takes
    without one (--max-input-tokens + 50)."""
    spec = {"model.engine": "tgi", "model.engine_config": {"max_model_len": 8192}}
    plan = with_spec(LLM_PLANS["sglang"](), **spec, **{"kubernetes.args": []})
    assert plan.allocations[0].llm is None
    args = _container(_deployments(_objects(plan))[0])["args"]
    got = dict(zip(args[::2], args[1::2], strict=True))
    assert got["--max-batch-prefill-tokens"] == "8241" and got["--max-input-tokens"] == "8191"
    assert got["--max-batch-size"] == "8" and got["--max-concurrent-requests"] == "128"


# --- the image of another engine (UX review 3, #5) --------------------------------------------

ENGINE_IMAGES = {
    "vllm": "vllm/vllm-openai:v0.11.0",
    "sglang": "lmsysorg/sglang:v0.5.3-cu126",
    "tgi": "ghcr.io/huggingface/text-generation-inference:3.3.5",
    "trtllm": "nvcr.io/nvidia/tensorrt-llm/release:1.0.0",
}


def test_engine_image_table() -> None:
    from scaleplan.llm.engine_flags import IMAGES, args_engine, image_engine

    assert set(IMAGES) == set(FLAGS)  # one entry per engine, next to its flags
    for engine, image in ENGINE_IMAGES.items():
        assert image_engine(image) == engine
    assert image_engine("docker.io/vllm/vllm-openai@sha256:" + "a" * 64) == "vllm"
    assert image_engine("docker.io/lmsysorg/sglang:latest-cu126") == "sglang"
    assert image_engine("ghcr.io/example/server:1.2.3") is None  # custom: not judged
    assert image_engine("registry.local/vllm/vllm-openai:v1") is None  # a mirror is a custom image
    assert args_engine(["python3", "-m", "sglang.launch_server", "--tp-size", "2"]) == "sglang"
    assert args_engine(["trtllm-serve", "/models/weights"]) == "trtllm"
    assert args_engine(["--model-id", "m", "--num-shard", "4"]) == "tgi"
    assert args_engine(["--model", "m", "--max-num-seqs", "8"]) == "vllm"
    assert args_engine(["--port", "8000"]) is None


@pytest.mark.parametrize("engine", ["sglang", "tgi", "trtllm"])
def test_another_engines_image_is_refused_and_fails_check(
    tables: Catalog, tmp_path: Path, engine: str
) -> None:
    """The vLLM image with model.engine sglang/tgi/trtllm ran `vllm serve python3 -m
    sglang.launch_server ...`: every pod crash-looped, and render and check passed."""
    plan = LLM_PLANS[ENGINE_PLANS[engine]]()
    good = with_spec(plan, **{"kubernetes.image": ENGINE_IMAGES[engine]})
    assert not _plan_findings(_objects(good), good, tables, "engine-image-mismatch")
    bad = with_spec(plan, **{"kubernetes.image": "vllm/vllm-openai:v0.11.0"})
    with pytest.raises(PlanError) as e:
        render(bad, tables)
    (p,) = e.value.problems
    assert p.where == "spec.kubernetes.image" and p.path == ("spec", "kubernetes", "image")
    assert f"model.engine is {engine}, but vllm/vllm-openai:v0.11.0 is the vllm image" in p.message
    assert "crash-loop" in p.message and ENGINE_IMAGES[engine].split(":")[0] in p.hint
    # manifests written with the wrong image (an old render, a hand edit): check finds it,
    # from the args alone and with the plan
    objs = _objects(good)
    for dep in _deployments(objs):
        _container(dep)["image"] = "vllm/vllm-openai:v0.11.0"
    text = dump_yaml_all(objs)
    report = check_text(text, enabled_rules=ALL_RULES, catalog=tables)
    found = [f for f in report.findings if f.rule == "engine-image-mismatch"]
    assert len(found) == len(_deployments(objs)) and all(f.severity == "error" for f in found)
    want = f"its args start {engine}, but vllm/vllm-openai:v0.11.0 is the vllm image"
    assert want in found[0].message
    assert _plan_findings(objs, good, tables, "engine-image-mismatch")


def test_vllm_args_in_another_engines_image_fail_check(tables: Catalog) -> None:
    plan = LLM_PLANS["vllm-70b"]()
    objs = _objects(plan)
    assert not _plan_findings(objs, plan, tables, "engine-image-mismatch")  # custom image
    for dep in _deployments(objs):
        _container(dep)["image"] = ENGINE_IMAGES["sglang"]
    found = _plan_findings(objs, plan, tables, "engine-image-mismatch")
    assert found and "it has no entrypoint: the args are run as the command" in found[0]


def test_validate_names_the_image_of_another_engine(tmp_path: Path) -> None:
    import shutil

    from render_helpers import ROOT

    example = ROOT / "examples" / "llm-moe"
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(example / name, tmp_path / name)
    spec = tmp_path / "spec.yaml"
    text = spec.read_text(encoding="utf-8")
    image = "  image: vllm/vllm-openai:v0.11.0"
    assert "engine: vllm" in text and image in text.splitlines()
    line = text.splitlines().index(image) + 1
    spec.write_text(text.replace("engine: vllm", "engine: sglang"), encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(spec)])
    assert r.exit_code == 3, r.output
    assert f"{spec}:{line}: kubernetes.image: model.engine is sglang" in r.output
    assert "set kubernetes.image to the sglang image (lmsysorg/sglang:<version>)" in r.output
    custom = text.replace("engine: vllm", "engine: sglang")
    spec.write_text(custom.replace(image, "  image: ghcr.io/acme/sglang:0.5.3"), encoding="utf-8")
    assert CliRunner().invoke(app, ["validate", str(spec)]).exit_code == 0  # a custom image passes


def test_trtllm_batch_flag_bounds_each_pipeline_micro_batch(tables: Catalog) -> None:
    """TensorRT-LLM's --max_batch_size bounds each of its PP micro-batches, not every sequence in
    flight (memory.ENGINES seqs_per_micro_batch): a replica planned to run 32 sequences at PP 2
    is told 16, which check reads back as the plan's; vLLM's --max-num-seqs stays the count."""
    from llm_render_helpers import alloc, llm, with_llm
    from llm_render_helpers import plan as make_plan

    base = _trt()
    node = {
        "instance_type": "p5.48xlarge", "family": "p5", "accelerator": "H100",
        "accelerators_per_node": 8, "gpus_per_replica": 8, "vcpus": 192, "memory": 2048,
        "cpu": 180, "mem_replica": 1800, "capacity": 1.5,
    }
    section = llm(4, pp=2, seqs=32, ctx=16384, gmu=0.85, weights_per_gpu=50.2)
    a = with_llm(alloc("llama405b-p5-48xlarge-on-demand", **node), section)
    pp2 = make_plan("trtllm", base.spec, [a])
    objs = _objects(pp2)
    got = parse_flags(_container(_deployments(objs)[0])["args"], ("trtllm",))
    assert (got["max_num_seqs"].value, got["pipeline_parallel"].value) == ("16", "2")
    assert not _plan_findings(objs, pp2, tables, "engine-plan-flags")
    _set_flag(objs, "trtllm", "max_num_seqs", "32")  # the count itself: twice the planned sequences
    found = _plan_findings(objs, pp2, tables, "engine-plan-flags")
    assert found and "--max_batch_size 32 but the plan has --max_batch_size 16" in found[0]
    assert engines.ServerSettings("vllm", 4, 2, 32).value("max_num_seqs") == 32
    assert engines.ServerSettings("trtllm", 8, 1, 32).value("max_num_seqs") == 32


def test_a_16_bit_checkpoint_quantized_by_the_args_is_not_warned() -> None:
    """``--quantization fp8`` quantizes a 16-bit checkpoint as vLLM loads it, which is how an
    fp8 plan serves Llama-3.1-8B-Instruct-FP16: since 3a7e8bf read -FP16 names as 16 bits, the
    plan was warned 'named as fp16 weights' though the flag loads the fp8 the plan sized.
    Without the flag the warning stands (the server loads the 16-bit weights)."""
    uri = "hf://acme/Llama-3.1-8B-Instruct-FP16"
    flagged = engines.precision_notes("vllm", "fp8", None, uri, ["--quantization", "fp8"])
    assert not any("named as" in n for n in flagged), flagged
    plain = engines.precision_notes("vllm", "fp8", None, uri, [])
    assert any("named as fp16 weights" in n for n in plain), plain
    awq = engines.precision_notes("vllm", "fp8", None, "hf://acme/x-AWQ", ["--quantization", "fp8"])
    assert any("named as int4-awq weights" in n for n in awq), awq
