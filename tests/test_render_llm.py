"""LLM serving: engine flags from the plan for every engine, model weights and caches, the
inference-pool routing mode, golden manifests, strict validation, check rules, and bad input
(exit 3, nothing written)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from llm_render_helpers import LLM_PLANS, with_spec
from render_helpers import GOLDEN, KUBE_VERSIONS
from tables_helpers import shipped_tables
from typer.testing import CliRunner

from scaleplan.catalog.model import Catalog
from scaleplan.check import RULES, Finding, check_paths, check_text
from scaleplan.check.schema_cache import validate_object
from scaleplan.cli import app
from scaleplan.errors import PlanError
from scaleplan.plan import Plan, dump_plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import render, render_report
from scaleplan.yamlio import dump_yaml_all

ALL_RULES = [r.id for r in RULES]


def _deployments(plan: Plan) -> dict[str, dict[str, Any]]:
    objects = render_report(plan, shipped_tables()).objects
    return {o.name: o.obj for o in objects if o.kind == "Deployment"}


def _args(dep: dict[str, Any]) -> list[str]:
    return list(dep["spec"]["template"]["spec"]["containers"][0].get("args", []))


def _flag(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


@pytest.mark.parametrize("name", list(LLM_PLANS))
def test_golden(tables: Catalog, name: str, update_golden: bool) -> None:
    files = render(LLM_PLANS[name](), tables, layout="single")
    text = files["manifests.yaml"] + "---\n" + files["kustomization.yaml"]
    path = GOLDEN / "llm" / f"{name}.yaml"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        return
    assert text == path.read_text(encoding="utf-8"), f"{path} differs; if intended, run with --update-golden and review the diff"


@pytest.mark.parametrize("name", list(LLM_PLANS))
def test_validates_and_passes_check(tables: Catalog, name: str, tmp_path: Path) -> None:
    plan = LLM_PLANS[name]()
    for o in render_report(plan, tables).objects:
        for v in KUBE_VERSIONS:
            assert validate_object(o.obj, v) == [], (o.kind, o.name, v)
    write_manifests(tmp_path / name, render(plan, tables))
    report = check_paths([tmp_path / name], plan=plan, enabled_rules=ALL_RULES, catalog=tables)
    assert report.drift_checked
    assert report.findings == (), [(f.rule, f.message) for f in report.findings]


def test_vllm_flags_follow_the_plan(tables: Catalog) -> None:
    plan = LLM_PLANS["vllm-70b"]()
    deps = _deployments(plan)
    for a in plan.allocations:
        assert a.llm is not None
        args = _args(deps[a.name])
        assert _flag(args, "--tensor-parallel-size") == str(a.llm.tensor_parallel) == "4"
        assert _flag(args, "--max-num-seqs") == str(a.llm.max_num_seqs)
        assert _flag(args, "--max-model-len") == str(a.llm.max_model_len)
        assert _flag(args, "--gpu-memory-utilization") == "0.9"
        assert _flag(args, "--model") == "meta-llama/Llama-3.1-70B-Instruct"
        c = deps[a.name]["spec"]["template"]["spec"]["containers"][0]
        assert c["resources"]["limits"]["nvidia.com/gpu"] == 4
        env = {e["name"]: e for e in c["env"]}
        assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "HF_TOKEN"}
        assert "value" not in env["HF_TOKEN"]
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        assert {"/dev/shm", "/cache", "/models", "/tmp"} <= mounts
    # p4de has NVMe instance store: the cache is an emptyDir there, the EC2NodeClass RAID0s it
    objs = render_report(plan, tables).objects
    vols = {v["name"]: v for v in deps[plan.allocations[0].name]["spec"]["template"]["spec"]["volumes"]}
    weights = 32.9 * 4
    assert vols["model-cache"]["emptyDir"]["sizeLimit"] == "147Gi" and weights * 1.1 <= 147
    nc = [o.obj for o in objs if o.kind == "EC2NodeClass"]
    assert nc and all(n["spec"]["instanceStorePolicy"] == "RAID0" for n in nc)


def test_engine_spellings() -> None:
    sg = _args(next(iter(_deployments(LLM_PLANS["sglang"]()).values())))
    # no llm section: TP = GPUs per replica, concurrency = the operating point's batch size
    assert _flag(sg, "--tp-size") == "2" and _flag(sg, "--max-running-requests") == "8"
    assert _flag(sg, "--host") == "0.0.0.0" and _flag(sg, "--model-path") == "/models/weights"
    tgi = _args(next(iter(_deployments(LLM_PLANS["tgi"]()).values())))
    # TGI: the batch is --max-batch-size; --max-concurrent-requests (queued + running) is 4x it
    assert _flag(tgi, "--num-shard") == "4" and _flag(tgi, "--max-batch-size") == "128"
    assert _flag(tgi, "--max-concurrent-requests") == "512" and _flag(tgi, "--max-input-tokens") == "4095"
    assert _flag(tgi, "--max-total-tokens") == "4096" and _flag(tgi, "--model-id") == "/models/mistral-7b"
    trt = _args(next(iter(_deployments(LLM_PLANS["trtllm"]()).values())))
    assert trt[:2] == ["trtllm-serve", "/models/weights"]
    assert _flag(trt, "--tp_size") == "8" and _flag(trt, "--max_batch_size") == "32" and _flag(trt, "--max_seq_len") == "16384"


def test_model_sources() -> None:
    # gs:// with a Secret: an init container copies the weights, the key comes from a Secret volume
    dep = next(iter(_deployments(LLM_PLANS["sglang"]()).values()))
    pod = dep["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert init["command"][:3] == ["gcloud", "storage", "rsync"] and "gs://models-bucket/qwen2.5-14b" in init["command"]
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["model-source-credentials"]["secret"]["secretName"] == "gcs-reader"
    # no NVMe on gke: a per-pod PVC (generic ephemeral volume) sized from the weights
    assert vols["model-cache"]["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"].endswith("Gi")
    # pvc:// is mounted read-only and never downloaded
    dep = next(iter(_deployments(LLM_PLANS["tgi"]()).values()))
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert vols["model"]["persistentVolumeClaim"] == {"claimName": "model-weights", "readOnly": True}
    assert "initContainers" not in dep["spec"]["template"]["spec"]
    # s3:// without a Secret: workload identity, no credentials in the pod
    dep = next(iter(_deployments(LLM_PLANS["trtllm"]()).values()))
    init = dep["spec"]["template"]["spec"]["initContainers"][0]
    assert init["command"][:3] == ["aws", "s3", "sync"] and all("valueFrom" not in e for e in init["env"])


def test_loader_init_containers_have_tmp_and_take_temporary_aws_credentials() -> None:
    """Under the read-only root filesystem the fetch-weights init container had no writable
    /tmp (the server has one), and an s3 Secret holding temporary credentials lost its
    AWS_SESSION_TOKEN: the copy failed with an invalid token (UX review 12, F7)."""
    for name in ("sglang", "trtllm"):  # gs:// and s3://
        dep = next(iter(_deployments(LLM_PLANS[name]()).values()))
        init = dep["spec"]["template"]["spec"]["initContainers"][0]
        assert init["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in init["volumeMounts"]
    plan = LLM_PLANS["trtllm"]()
    uri = plan.spec.model.source.uri
    plan = with_spec(plan, **{"model.source": {"uri": uri, "secret": "aws-reader"}})
    init = next(iter(_deployments(plan).values()))["spec"]["template"]["spec"]["initContainers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in init["env"] if "valueFrom" in e}
    assert refs["AWS_ACCESS_KEY_ID"] == {"name": "aws-reader", "key": "AWS_ACCESS_KEY_ID"}
    assert refs["AWS_SESSION_TOKEN"] == {
        "name": "aws-reader", "key": "AWS_SESSION_TOKEN", "optional": True
    }


def test_keda_engine_triggers(tables: Catalog) -> None:
    objs = render_report(LLM_PLANS["inference-pool"](), tables).objects
    sos = {o.name: o.obj for o in objs if o.kind == "ScaledObject"}
    trig = {t["name"]: t["metadata"] for t in sos["chat-g6e-2xlarge-spot"]["spec"]["triggers"]}
    assert "vllm:num_requests_waiting" in trig["in-flight"]["query"] and trig["in-flight"]["threshold"] == "96"
    assert "vllm:kv_cache_usage_perc" in trig["kv-cache"]["query"]
    trig = {t["name"]: t["metadata"] for t in sos["chat-g5-xlarge-on-demand"]["spec"]["triggers"]}
    assert trig["in-flight"]["threshold"] == "24"


def test_kafka_lag_from_capacity_and_drain_time(tables: Catalog) -> None:
    plan = LLM_PLANS["tgi"]()
    so = next(o.obj for o in render_report(plan, tables).objects if o.kind == "ScaledObject")
    a = plan.allocations[0]
    # one allocation (share 1): capacity 6 rps x 60 s drain = 360 messages per replica
    assert so["spec"]["triggers"][0]["metadata"]["lagThreshold"] == str(round(a.capacity_rps_per_replica * 60)) == "360"


def test_inference_pool_objects(tables: Catalog) -> None:
    objs = render_report(LLM_PLANS["inference-pool"](), tables).objects
    kinds = {(o.kind, o.name) for o in objs}
    assert {("InferencePool", "chat"), ("HTTPRoute", "chat"), ("Service", "chat-epp"), ("Deployment", "chat-epp"), ("Role", "chat-epp"), ("RoleBinding", "chat-epp"), ("ServiceAccount", "chat-epp")} <= kinds
    pool = next(o.obj for o in objs if o.kind == "InferencePool")
    assert pool["apiVersion"] == "inference.networking.k8s.io/v1"
    assert pool["spec"]["endpointPickerRef"]["name"] == "chat-epp" and pool["spec"]["targetPorts"] == [{"number": 8000}]
    # the pool selects the pods of every allocation
    for d in (o.obj for o in objs if o.kind == "Deployment" and o.name != "chat-epp"):
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in pool["spec"]["selector"]["matchLabels"].items())
    route = next(o.obj for o in objs if o.kind == "HTTPRoute")
    assert route["spec"]["rules"][0]["backendRefs"] == [{"group": "inference.networking.k8s.io", "kind": "InferencePool", "name": "chat"}]


def test_the_endpoint_picker_says_why_it_mounts_its_token(tables: Catalog) -> None:
    """The EPP is the one rendered workload that mounts its service account token (it watches
    the pods and the InferencePool through the API); a baseline that wants
    ``automountServiceAccountToken: false`` flagged it and nothing said why (UX review 12, F5).
    The Deployment and its pods say so in an annotation, naming the Role and its verbs, and
    the pod spec states the mount; every other workload keeps no token."""
    objs = render_report(LLM_PLANS["inference-pool"](), tables).objects
    epp = next(o.obj for o in objs if o.kind == "Deployment" and o.name == "chat-epp")
    role = next(o.obj for o in objs if o.kind == "Role" and o.name == "chat-epp")
    verbs = {v for r in role["rules"] for v in r["verbs"]}
    assert verbs == {"get", "list", "watch"}  # what the annotation says of it
    for where in (epp["metadata"], epp["spec"]["template"]["metadata"]):
        why = where["annotations"]["scaleplan.dev/why-token"]
        assert "Role chat-epp" in why and "get, list, watch" in why, why
    assert epp["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    for d in (o.obj for o in objs if o.kind == "Deployment" and o.name != "chat-epp"):
        assert d["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
        assert "scaleplan.dev/why-token" not in d["metadata"]["annotations"]


def test_loader_and_picker_images_take_a_digest(tables: Catalog) -> None:
    """A digest-requiring admission policy rejects the tag-pinned defaults of the loader and
    the endpoint picker (UX review 12, F6): ``model.source.loader_image`` and
    ``kubernetes.endpoint_picker_image`` take a digest, rendered as written, and the manifests
    still validate and pass check (docs/render.md, "Image digests"). The digests here are
    placeholders: scaleplan ships no digest it could not verify."""
    loader = "amazon/aws-cli:2.27.50@sha256:" + "a" * 64
    picker = "registry.k8s.io/gateway-api-inference-extension/epp@sha256:" + "b" * 64
    plan = LLM_PLANS["trtllm"]()
    source = {"uri": plan.spec.model.source.uri, "loader_image": loader}
    plan = with_spec(plan, **{"model.source": source})
    init = next(iter(_deployments(plan).values()))["spec"]["template"]["spec"]["initContainers"][0]
    assert init["image"] == loader
    plan = with_spec(LLM_PLANS["inference-pool"](), **{"kubernetes.endpoint_picker_image": picker})
    objs = render_report(plan, tables).objects
    epp = next(o.obj for o in objs if o.kind == "Deployment" and o.name == "chat-epp")
    assert epp["spec"]["template"]["spec"]["containers"][0]["image"] == picker
    assert _findings(_rendered_text(plan), tables, plan) == ()


def test_spot_pools_diversified_with_fallback(tables: Catalog) -> None:
    objs = render_report(LLM_PLANS["vllm-70b"](), tables).objects
    pools = {o.name: o.obj for o in objs if o.kind == "NodePool"}
    assert set(pools) == {"llama70b-p4de-on-demand", "llama70b-p4de-spot", "llama70b-p4de-spot-fallback"}
    assert pools["llama70b-p4de-spot"]["spec"]["weight"] > pools["llama70b-p4de-spot-fallback"]["spec"]["weight"]
    # limits leave room for one more node than the plan's peak (replace before the old one goes)
    spot = next(a for a in LLM_PLANS["vllm-70b"]().allocations if a.capacity_type == "spot")
    assert pools["llama70b-p4de-spot"]["spec"]["limits"]["nvidia.com/gpu"] == str((spot.nodes + 1) * 8)


# --- check rules on edited manifests ---------------------------------------------------------


def _rendered_text(plan: Plan) -> str:
    return dump_yaml_all([o.obj for o in render_report(plan, shipped_tables()).objects])


def _findings(text: str, tables: Catalog, plan: Plan | None = None) -> tuple[Finding, ...]:
    """Every rule over ``text`` (with ``plan``: the plan-aware rules and drift too)."""
    return check_text(text, plan=plan, enabled_rules=ALL_RULES, catalog=tables).findings


def test_changed_tensor_parallel_fails_check(tables: Catalog) -> None:
    plan = LLM_PLANS["vllm-70b"]()
    text = _rendered_text(plan)
    assert "- --tensor-parallel-size\n        - '4'" in text
    edited = text.replace("- --tensor-parallel-size\n        - '4'", "- --tensor-parallel-size\n        - '8'", 1)
    rules = {f.rule for f in _findings(edited, tables, plan)}
    assert {"engine-parallel-gpus", "engine-plan-flags"} <= rules
    # without the plan, the GPU rule alone still catches it
    report = check_text(edited, enabled_rules=ALL_RULES, catalog=tables)
    msgs = [f.message for f in report.findings if f.rule == "engine-parallel-gpus"]
    assert msgs and "--tensor-parallel-size 8 but requests 4 GPUs" in msgs[0]


def test_shm_and_concurrency_rules(tables: Catalog) -> None:
    plan = LLM_PLANS["vllm-70b"]()
    text = _rendered_text(plan)
    no_shm = text.replace("mountPath: /dev/shm", "mountPath: /dev/shm2")
    assert "shm-missing" in {f.rule for f in _findings(no_shm, tables)}
    seqs = text.replace("- --max-num-seqs\n        - '64'", "- --max-num-seqs\n        - '256'")
    found = [f for f in _findings(seqs, tables, plan) if f.rule == "engine-plan-flags"]
    assert found and "--max-num-seqs 256 but the plan has --max-num-seqs 64" in found[0].message


def test_server_without_a_model_fails_check(tables: Catalog) -> None:
    """A vLLM that names no model serves its default model (new-user trial of issue 16)."""
    plan = LLM_PLANS["vllm-70b"]()
    text = _rendered_text(plan)
    assert not [f for f in _findings(text, tables, plan) if f.rule == "engine-model-missing"]
    no_model = text.replace("        - --model\n        - meta-llama/Llama-3.1-70B-Instruct\n", "", 1)
    assert no_model != text
    found = [f for f in _findings(no_model, tables, plan) if f.rule == "engine-model-missing"]
    assert found and "names no model (no --model)" in found[0].message and found[0].severity == "error"
    # a positional model after `vllm serve` or a MODEL_ID variable names it too
    positional = text.replace("- --model\n        - meta-llama/Llama-3.1-70B-Instruct\n", "- serve\n        - meta-llama/Llama-3.1-70B-Instruct\n", 1)
    assert positional != text
    assert not [f for f in _findings(positional, tables, plan) if f.rule == "engine-model-missing"]


def test_weights_volume_too_small(tables: Catalog) -> None:
    plan = LLM_PLANS["vllm-70b"]()
    text = _rendered_text(plan).replace("sizeLimit: 147Gi", "sizeLimit: 100Gi")
    found = [f for f in _findings(text, tables, plan) if f.rule == "weights-volume-small"]
    assert found and "131.6 GiB of weights" in found[0].message and "100.0 GiB" in found[0].message


def test_weights_on_the_root_volume_counts_replicas_per_node(tables: Catalog) -> None:
    """An emptyDir without a size fills the node's root volume: the replicas on one node
    need their weights each, said with the verb agreeing ('1 replica per node needs')."""
    plan = LLM_PLANS["vllm-70b"]()
    text = _rendered_text(plan).replace("emptyDir:\n          sizeLimit: 147Gi", "emptyDir: {}")
    cases = ((2, "2 replicas per node need 263 GiB"), (1, "1 replica per node needs 132 GiB"))
    for rpn, words in cases:
        allocs = tuple(a.model_copy(update={"replicas_per_node": rpn}) for a in plan.allocations)
        found = [
            f.message
            for f in _findings(text, tables, plan.model_copy(update={"allocations": allocs}))
            if f.rule == "weights-volume-small"
        ]
        assert found and all("130 GiB root volume" in m and words in m for m in found), found


# --- bad input: exit 3, nothing written --------------------------------------------------------


def _render_cli(plan: Plan, tmp_path: Path) -> tuple[int, str, Path]:
    pf = tmp_path / "plan.yaml"
    pf.write_text(dump_plan(plan), encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["render", str(pf), "--out", str(out)])
    return r.exit_code, r.output, out


def test_contradiction_says_what_the_planned_value_comes_from(tables: Catalog) -> None:
    """A plan without an llm section takes --max-num-seqs from its operating point; the message
    said it contradicted "the plan's GPUs per replica" (new-user trial of issue 16)."""
    from llm_blackbox_helpers import blackbox_plan

    pool = with_spec(blackbox_plan(), **{"model.engine": "vllm", "kubernetes.args": []})
    with pytest.raises(PlanError) as e:
        render(with_spec(pool, **{"kubernetes.args": ["--max-num-seqs", "512"]}), tables)
    msgs = [p.message for p in e.value.problems if "--max-num-seqs 512" in p.message]
    assert msgs and all("contradicts the plan and the spec's model.engine_config" in m for m in msgs)
    assert not any("GPUs per replica" in m for m in msgs)
    with pytest.raises(PlanError) as e:
        render(with_spec(pool, **{"kubernetes.args": ["--tensor-parallel-size", "2"]}), tables)
    assert any("contradicts the plan's GPUs per replica" in p.message for p in e.value.problems)
    # the fix counts in the right number: '(1 GPU per replica)', not '(1 GPUs per replica)'
    hints = [p.hint or "" for p in e.value.problems if "--tensor-parallel-size" in p.message]
    assert hints and all("(1 GPU per replica)" in h for h in hints), hints


def test_contradicting_flag_exits_3(tables: Catalog, tmp_path: Path) -> None:
    plan = with_spec(LLM_PLANS["vllm-70b"](), **{"kubernetes.args": ["--tensor-parallel-size", "8"]})
    with pytest.raises(PlanError) as e:
        render(plan, tables)
    msg = str(e.value) + " ".join(p.message for p in e.value.problems)
    assert "--tensor-parallel-size 8" in msg and "--tensor-parallel-size 4" in msg
    code, out, dest = _render_cli(plan, tmp_path)
    assert code == 3 and "--tensor-parallel-size 8" in out and not dest.exists()
    # the same value is fine, and written once
    ok = with_spec(LLM_PLANS["vllm-70b"](), **{"kubernetes.args": ["--max-model-len=8192"]})
    args = _args(next(iter(_deployments(ok).values())))
    assert args.count("--max-model-len") == 0 and args.count("--max-model-len=8192") == 1


def test_tp_flag_without_engine_exits_3(tables: Catalog) -> None:
    """The issue's case: no engine named, the spec's --tensor-parallel-size 8 on 4-GPU replicas."""
    data = LLM_PLANS["vllm-70b"]().model_dump(mode="json", exclude_none=True)
    del data["spec"]["model"]["engine"]
    data["spec"]["kubernetes"]["args"] = ["--model", "/models/llama", "--tensor-parallel-size", "8"]
    with pytest.raises(PlanError) as e:
        render(Plan.model_validate(data), tables)
    assert any("--tensor-parallel-size 8" in p.message and "4 GPUs" in p.message for p in e.value.problems)


def test_literal_token_exits_3(tmp_path: Path) -> None:
    plan = with_spec(LLM_PLANS["vllm-70b"](), **{"kubernetes.env": {"HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"}})
    code, out, dest = _render_cli(plan, tmp_path)
    assert code == 3 and "HF_TOKEN" in out and "Secret" in out and not dest.exists()
    plan = with_spec(LLM_PLANS["vllm-70b"](), **{"kubernetes.env": {"MY_VAR": "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"}})
    (tmp_path / "b").mkdir()
    code, out, dest = _render_cli(plan, tmp_path / "b")
    assert code == 3 and "MY_VAR" in out and not dest.exists()


def test_unknown_engine_exits_3(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: x}\nmodel: {profile: p.yaml, engine: llamacpp}\n"
        "traffic: {peak_rps: 1}\nslo: {latency_ms: 100}\nkubernetes: {image: a/b:1}\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(app, ["validate", str(spec)])
    assert r.exit_code == 3 and "engine" in r.output and "llamacpp" in r.output


def test_examples_llm_chat_pool_and_kafka(tables: Catalog) -> None:
    """examples/llm-chat-pool renders an InferencePool over both allocations with vLLM flags;
    examples/embedding-kafka's lag thresholds follow capacity x drain_seconds / share."""
    from render_helpers import ROOT

    from scaleplan.plan import read_plan

    pool = read_plan(ROOT / "examples" / "llm-chat-pool" / "plan.yaml")
    objs = render_report(pool, tables).objects
    assert {o.kind for o in objs} >= {"InferencePool", "HTTPRoute", "Deployment", "Service"}
    for a in pool.allocations:
        args = _args(next(o.obj for o in objs if o.kind == "Deployment" and o.name == a.name))
        assert _flag(args, "--tensor-parallel-size") == str(a.gpus_per_replica)
        assert _flag(args, "--max-num-seqs") == str(a.operating_point.batch_size)
        assert _flag(args, "--model") == "meta-llama/Llama-3.1-8B-Instruct"
    kafka = read_plan(ROOT / "examples" / "embedding-kafka" / "plan.yaml")
    total = sum(a.replicas * a.capacity_rps_per_replica for a in kafka.allocations)
    sos = {o.name: o.obj for o in render_report(kafka, tables).objects if o.kind == "ScaledObject"}
    assert sos
    for a in kafka.allocations:
        if a.name not in sos:
            continue
        share = a.replicas * a.capacity_rps_per_replica / total
        lag = int(sos[a.name]["spec"]["triggers"][0]["metadata"]["lagThreshold"])
        assert lag == math.ceil(a.capacity_rps_per_replica * 60 / share - 1e-9)


# --- precision: the KV cache the plan sized, the weights the checkpoint holds -----------------

KV_FP8 = {"vllm": ("--kv-cache-dtype", "fp8"), "sglang": ("--kv-cache-dtype", "fp8_e4m3"), "tgi": ("--kv-cache-dtype", "fp8_e4m3fn")}


@pytest.mark.parametrize("name", list(LLM_PLANS))
def test_kv_cache_dtype_fp8_is_written_in_each_engines_words(tables: Catalog, name: str) -> None:
    """The plan sized an fp8 KV cache but the server ran the engine's default, a 16-bit one,
    holding half the sequences the plan counted on (new-user trial)."""
    plan = LLM_PLANS[name]()
    engine = plan.spec.model.engine
    assert engine is not None
    default = render_report(plan, tables)
    fp8 = render_report(with_spec(plan, **{"model.kv_cache_dtype": "fp8"}), tables)
    for report in (default, fp8):
        for o in report.objects:
            if o.kind == "Deployment" and o.name in {a.name for a in plan.allocations}:  # not the endpoint picker
                args = _args(o.obj)
                got = [a for a in args if a.startswith(("--kv-cache-dtype", "--kv_cache_dtype"))]
                want = [KV_FP8[engine][0]] if report is fp8 and engine in KV_FP8 else []
                assert got == want, (name, args)
                if want:
                    assert _flag(args, want[0]) == KV_FP8[engine][1]
                    assert args[-2:] == list(KV_FP8[engine])  # written last: other flags keep their place
    trt_note = "trtllm-serve takes the KV-cache precision from the checkpoint"
    assert any(trt_note in w for w in fp8.warnings) == (engine == "trtllm"), fp8.warnings
    assert not any(trt_note in w for w in default.warnings)


def test_kv_flag_that_contradicts_the_plan_exits_3(tables: Catalog, tmp_path: Path) -> None:
    fp8 = with_spec(LLM_PLANS["vllm-70b"](), **{"model.kv_cache_dtype": "fp8", "kubernetes.args": ["--kv-cache-dtype", "auto"]})
    with pytest.raises(PlanError) as e:
        render(fp8, tables)
    (p,) = e.value.problems  # one spec value, however many allocations
    assert p.message == "--kv-cache-dtype auto contradicts the plan's KV cache (model.kv_cache_dtype: fp8), which is sized for --kv-cache-dtype fp8: the server would hold half the sequences the plan counts on"
    assert p.where == "spec.kubernetes.args[0]" and p.path == ("spec", "kubernetes", "args", 0)
    assert "set model.kv_cache_dtype: auto" in p.hint
    code, out, dest = _render_cli(fp8, tmp_path)
    assert code == 3 and "--kv-cache-dtype auto contradicts the plan's KV cache" in out and not dest.exists()
    # the plan sized 16 bits (auto): an fp8 flag contradicts it the other way
    sixteen = with_spec(LLM_PLANS["vllm-70b"](), **{"kubernetes.args": ["--kv-cache-dtype=fp8"]})
    with pytest.raises(PlanError) as e:
        render(sixteen, tables)
    msg = e.value.problems[0].message
    assert "--kv-cache-dtype fp8 contradicts the plan's KV cache (model.kv_cache_dtype: auto)" in msg
    assert "sized for a 16-bit KV cache (no --kv-cache-dtype)" in msg and "twice the sequences" in msg
    assert "set model.kv_cache_dtype: fp8" in e.value.problems[0].hint
    # trtllm-serve's own flag is read where the user gives it
    trt = with_spec(LLM_PLANS["trtllm"](), **{"kubernetes.args": ["trtllm-serve", "/models/weights", "--kv_cache_dtype", "fp8"]})
    with pytest.raises(PlanError) as e:
        render(trt, tables)
    assert "--kv_cache_dtype fp8 contradicts the plan's KV cache" in e.value.problems[0].message


def test_kv_flag_that_stores_the_same_precision_is_kept_once(tables: Catalog) -> None:
    plan = with_spec(LLM_PLANS["vllm-70b"](), **{"model.kv_cache_dtype": "fp8", "kubernetes.args": ["--kv-cache-dtype=fp8_e5m2"]})
    for dep in _deployments(plan).values():
        args = _args(dep)
        assert args[0] == "--kv-cache-dtype=fp8_e5m2" and "--kv-cache-dtype" not in args
    sg = with_spec(LLM_PLANS["sglang"](), **{"model.kv_cache_dtype": "bf16", "kubernetes.args": ["--kv-cache-dtype", "bfloat16"]})
    args = _args(next(iter(_deployments(sg).values())))
    assert args.count("--kv-cache-dtype") == 1 and _flag(args, "--kv-cache-dtype") == "bfloat16"
    trt = with_spec(LLM_PLANS["trtllm"](), **{"model.kv_cache_dtype": "fp8", "kubernetes.args": ["trtllm-serve", "/models/weights", "--kv_cache_dtype", "fp8"]})
    report = render_report(trt, tables)
    assert not [w for w in report.warnings if "KV-cache precision" in w]


def test_checkpoint_named_with_another_precision_warns(tables: Catalog) -> None:
    from scaleplan.render.engine import named_precision

    assert named_precision("RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8") == "fp8"
    assert named_precision("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8") == "int8"
    assert named_precision("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4") == "int4"
    assert named_precision("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4") == "int4-awq"
    assert named_precision("s3://models-bucket/llama-3.1-405b-fp8/") == "fp8"
    assert named_precision("meta-llama/Llama-3.1-70B-Instruct") is None
    assert named_precision("pvc://model-weights/mistral-7b") is None
    base = LLM_PLANS["vllm-70b"]()
    cases = [
        ("fp8", "meta-llama/Llama-3.1-70B-Instruct", False),  # the name states nothing: not checked
        ("fp8", "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8", False),
        ("int4-awq", "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", False),
        ("bf16", "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8", True),
        ("fp8", "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", True),
        ("int4-gptq", "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", True),
    ]
    for dtype, uri, warned in cases:
        plan = with_spec(base, **{"model.dtype": dtype, "model.source": {"uri": uri, "secret": "hf-token"}})
        notes = [w for w in render_report(plan, tables).warnings if "config.json" in w]
        assert bool(notes) == warned, (dtype, uri, notes)
        if warned:
            assert f"model.dtype is {dtype} but the checkpoint {uri}" in notes[0]


def test_quantized_dtype_on_a_checkpoint_named_without_precision_warns(tables: Catalog) -> None:
    """model.dtype int4-awq served from Qwen/Qwen2.5-7B-Instruct (a bf16 checkpoint whose name
    states no precision): the server loads 14 GiB of bf16 weights where the plan sized ~5 GiB.
    Warned when the plan knows the architecture's own precision (a preset, or a config.json's
    record) and it differs; not for a natively quantized model named without one (DeepSeek-V3's
    fp8), nor when the plan does not know the architecture (the case above), nor when a
    --quantization flag takes charge of the weights."""
    base = LLM_PLANS["vllm-70b"]()

    def notes(arch: str | None, dtype: str, uri: str, args: list[str] | None = None) -> list[str]:
        source = {"uri": uri, "secret": "hf-token"}
        up: dict[str, object] = {"model.dtype": dtype, "model.source": source}
        if arch is not None:
            up["model.architecture"] = arch
        if args is not None:
            up["kubernetes.args"] = args
        shown = render_report(with_spec(base, **up), tables).warnings
        return [w for w in shown if "names no precision" in w]

    qwen = "Qwen/Qwen2.5-7B-Instruct"
    (warned,) = notes("qwen2.5-7b-instruct", "int4-awq", qwen)
    assert f"model.source.uri {qwen} names no precision and the architecture is bf16" in warned
    assert "the plan sized int4-awq weights" in warned
    assert "point model.source.uri at an AWQ checkpoint" in warned
    assert notes("llama-3.1-70b", "fp8", "meta-llama/Llama-3.1-70B-Instruct")
    assert not notes("deepseek-v3", "fp8", "deepseek-ai/DeepSeek-V3")  # natively fp8
    assert not notes(None, "int4-awq", qwen)  # the plan does not know the architecture
    assert not notes("qwen2.5-7b-instruct", "bf16", qwen)  # not quantized: what the name holds
    assert not notes("qwen2.5-7b-instruct", "int4-awq", "Qwen/Qwen2.5-7B-Instruct-AWQ")
    llama = "meta-llama/Llama-3.1-70B-Instruct"
    assert not notes("llama-3.1-70b", "fp8", llama, ["--quantization", "fp8"])
    # a config.json architecture: the plan's record of it says the precision
    up = {"model.dtype": "int8", "model.architecture": "./qwen/config.json",
          "model.source": {"uri": qwen, "secret": "hf-token"}}
    rec = with_spec(base, **up)
    from scaleplan.llm.arch import preset

    record = dataclasses.asdict(preset("qwen2.5-7b-instruct"))
    shown = render_report(rec.model_copy(update={"architecture": record}), tables).warnings
    assert any("names no precision and the architecture is bf16" in w for w in shown)
    assert not any("names no precision" in w for w in render_report(rec, tables).warnings)


def test_a_16_bit_dtype_on_a_quantized_architecture_named_without_precision_warns(
    tables: Catalog,
) -> None:
    """The other way round (UX review 15, F6): model.dtype bf16 over an AWQ checkpoint's own
    config.json (its quantization_config says int4-awq), served from a repository whose name
    states no precision: vLLM loads the AWQ weights, and the plan paid for bf16 ones (2 x H100
    a replica where one holds them: $48/h where $17.6/h serves). Also a preset whose own
    checkpoint is quantized (DeepSeek-V3, fp8) planned in bf16 from that checkpoint."""
    from scaleplan.llm.arch import architecture_from_config, preset

    base = LLM_PLANS["vllm-70b"]()
    cfg = {
        "model_type": "llama", "hidden_size": 8192, "intermediate_size": 28672,
        "num_attention_heads": 64, "num_hidden_layers": 80, "num_key_value_heads": 8,
        "vocab_size": 128256, "max_position_embeddings": 131072, "torch_dtype": "float16",
        "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128},
    }
    awq = architecture_from_config(cfg, "support", file="config.json", source="config.json")
    assert awq.native_dtype == "int4-awq"

    def notes(arch: str, record: object, dtype: str, uri: str) -> list[str]:
        up = {"model.dtype": dtype, "model.architecture": arch,
              "model.source": {"uri": uri, "secret": "hf-token"}}
        plan = with_spec(base, **up).model_copy(update={"architecture": record})
        return [w for w in render_report(plan, tables).warnings if "names no precision" in w]

    record = dataclasses.asdict(awq)
    (warned,) = notes("./config.json", record, "bf16", "acme/llama-3.1-70b-support")
    said = ("model.source.uri acme/llama-3.1-70b-support names no precision and the "
            "architecture is int4-awq; the plan sized bf16 weights")
    assert said in warned, warned
    assert "set model.dtype: int4-awq and run scaleplan optimize again" in warned
    assert not notes("./config.json", record, "int4-awq", "acme/llama-3.1-70b-support")
    assert not notes("./config.json", record, "bf16", "acme/llama-3.1-70b-support-bf16")
    assert notes("deepseek-v3", None, "bf16", "deepseek-ai/DeepSeek-V3")
    assert preset("deepseek-v3").native_dtype == "fp8"


def test_check_reads_the_kv_cache_precision_against_the_plan(tables: Catalog) -> None:
    plan = with_spec(LLM_PLANS["vllm-70b"](), **{"model.kv_cache_dtype": "fp8"})
    text = _rendered_text(plan)
    flag = "        - --kv-cache-dtype\n        - fp8\n"
    assert text.count(flag) == 2

    def kv_findings(manifests: str, against: Plan) -> list[str]:
        found = _findings(manifests, tables, against)
        return [f.message for f in found if f.rule == "engine-plan-flags" and "kv" in f.message.lower()]

    assert kv_findings(text, plan) == []
    auto = text.replace(flag, "        - --kv-cache-dtype\n        - auto\n")
    msgs = kv_findings(auto, plan)
    assert len(msgs) == 2 and all("runs --kv-cache-dtype auto but the plan has --kv-cache-dtype fp8 for allocation" in m for m in msgs)
    e5m2 = text.replace(flag, "        - --kv-cache-dtype=fp8_e5m2\n")
    assert kv_findings(e5m2, plan) == []  # fp8 either way
    missing = text.replace(flag, "")
    msgs = kv_findings(missing, plan)
    assert len(msgs) == 2 and all("has no --kv-cache-dtype; the plan sized the KV cache of allocation" in m and "half the sequences" in m for m in msgs)
    # against a plan that sized 16 bits, the fp8 manifests are the ones that disagree
    sixteen = LLM_PLANS["vllm-70b"]()
    msgs = kv_findings(text, sixteen)
    assert len(msgs) == 2 and all("runs --kv-cache-dtype fp8 but the plan has a 16-bit KV cache (no --kv-cache-dtype)" in m for m in msgs)
    assert kv_findings(missing, sixteen) == []


def test_optimize_names_the_spec_file_and_line_of_a_flag_that_contradicts_the_solved_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """optimize said '<plan>: ... spec.kubernetes.args[0]' for a flag in the spec it was given
    (new-user trial): the error names the spec file and the argument's line, as validate does,
    from the line numbers the inputs were read with (the spec is read once)."""
    import re
    import shutil

    from render_helpers import ROOT

    from scaleplan import yamlio

    read, real_load = [], yamlio.load_yaml

    def load_yaml(path, **kw):  # type: ignore[no-untyped-def]
        read.append(kw.get("what"))
        return real_load(path, **kw)

    monkeypatch.setattr(yamlio, "load_yaml", load_yaml)

    example = ROOT / "examples" / "llm-70b-tp"
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(example / name, tmp_path / name)
    spec = tmp_path / "spec.yaml"
    text = re.sub(r"\n  args: [^\n]*\n", "\n", spec.read_text(encoding="utf-8"))
    image = "  image: vllm/vllm-openai:v0.11.0\n"
    assert text.count(image) == 1
    args = "  args: [--tensor-parallel-size, '4']"
    text = text.replace(image, image + args + "\n")
    spec.write_text(text, encoding="utf-8")
    line = text.splitlines().index(args) + 1
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    assert r.exit_code == 3, r.output
    assert "<plan>" not in r.output and "solved plan" not in r.output
    assert f"{spec}:{line}: kubernetes.args[0]: --tensor-parallel-size 4 contradicts the plan" in r.output or (
        f"{spec}: " in r.output and f"line {line}: kubernetes.args[0]: --tensor-parallel-size 4 contradicts the plan" in r.output
    ), r.output
    assert not out.exists()
    assert read.count("spec") == 1, read


def test_validate_refuses_a_kv_flag_that_contradicts_the_spec(tmp_path: Path) -> None:
    """validate knows the KV-cache precision before the solve: the spec's own kv_cache_dtype."""
    import shutil

    from render_helpers import ROOT

    example = ROOT / "examples" / "llm-moe"  # vLLM, kv_cache_dtype unset (auto): a 16-bit KV cache
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(example / name, tmp_path / name)
    spec = tmp_path / "spec.yaml"
    text = spec.read_text(encoding="utf-8")
    assert "kv_cache_dtype" not in text and "\n  args:" not in text
    image = "  image: vllm/vllm-openai:v0.11.0\n"
    args = "  args: [--port, '8000', --kv-cache-dtype, fp8]"
    spec.write_text(text.replace(image, image + args + "\n"), encoding="utf-8")
    line = spec.read_text(encoding="utf-8").splitlines().index(args) + 1
    r = CliRunner().invoke(app, ["validate", str(spec)])
    assert r.exit_code == 3, r.output
    assert f"{spec}:{line}: kubernetes.args[2]: --kv-cache-dtype fp8 contradicts the plan's KV cache (model.kv_cache_dtype: auto)" in r.output, r.output
    for agrees in ("[--kv-cache-dtype, auto]", "[--kv-cache-dtype=bfloat16]"):
        spec.write_text(text.replace(image, image + f"  args: {agrees}\n"), encoding="utf-8")
        r = CliRunner().invoke(app, ["validate", str(spec)])
        assert r.exit_code == 0, r.output


def test_a_quantization_flag_that_loads_another_precision_warns(tables: Catalog) -> None:
    """The engines take the weights' precision from the checkpoint, or from --quantization
    (vLLM, SGLang) / --quantize (TGI) in args, never from model.dtype: render says so when the
    flag's method loads another precision than the plan sized."""
    cases = [
        ("vllm-70b", "bf16", ["--quantization", "fp8"], "--quantization fp8 in spec.kubernetes.args makes vllm load fp8 weights, but model.dtype is bf16"),
        ("vllm-70b", "fp8", ["--quantization=fp8"], None),  # quantize a 16-bit checkpoint on load: as planned
        ("vllm-70b", "fp8", ["--quantization", "compressed-tensors"], None),  # the checkpoint's precision
        ("vllm-70b", "int4-gptq", ["--quantization", "awq_marlin"], "makes vllm load int4-awq weights, but model.dtype is int4-gptq"),
        ("tgi", "int4-awq", ["--quantize", "awq"], None),
        ("tgi", "fp8", ["--quantize", "bitsandbytes-nf4"], "makes tgi load nf4 weights, but model.dtype is fp8: the plan sized fp8 weights per GPU and the KV cache in the memory left; remove --quantize, or plan another model.dtype"),
        ("vllm-70b", None, ["--quantization", "fp8"], None),  # model.dtype unset: the architecture's own, not known here
    ]
    for name, dtype, args, note in cases:
        updates: dict[str, Any] = {"kubernetes.args": args}
        if dtype is not None:
            updates["model.dtype"] = dtype
        report = render_report(with_spec(LLM_PLANS[name](), **updates), tables)
        warnings = [w for w in report.warnings if "weights, but model.dtype" in w]
        if note is None:
            assert warnings == [], (name, dtype, args, warnings)
        else:
            assert len(warnings) == 1 and note in warnings[0], (name, dtype, args, warnings)


def test_an_allocation_at_zero_on_its_own_pods_metrics_gets_the_plans_cron(tables: Catalog) -> None:
    """minReplicaCount 0 with triggers on the engine's own metrics (in flight, KV use): at 0
    pods there is no metric, KEDA never activates, and the allocation would never start again
    (new-user trial, 2026-12-05: an L4 allocation planned for two afternoon hours). Render adds
    the plan's cron triggers for it and says why; a user query that sees the demand needs none."""
    base = LLM_PLANS["vllm-70b"]()
    od, sp = base.allocations
    hours = tuple(0 if h < 8 else 2 for h in range(len(sp.replicas_per_window)))
    nodes = tuple(r // 2 for r in hours)
    sp = sp.model_copy(update={"replicas_per_window": hours, "nodes_per_window": nodes})
    plan = base.model_copy(update={"allocations": (od, sp)})
    report = render_report(plan, tables)
    sos = {o.name: o.obj["spec"] for o in report.objects if o.kind == "ScaledObject"}
    spot = sos[sp.name]
    assert spot["minReplicaCount"] == 0
    crons = [t["metadata"] for t in spot["triggers"] if t["type"] == "cron"]
    # 34 min before 08h: the pods' start-up (test_cron_triggers_start_a_70b_plan_early_...)
    daily = {"timezone": "Etc/UTC", "start": "26 7 * * *", "end": "0 0 * * *"}
    assert crons == [{**daily, "desiredReplicas": "2"}]
    assert od.name not in sos  # 2 replicas all day: fixed, no autoscaler
    assert any(w.startswith(f"allocation {sp.name}: minReplicaCount 0") for w in report.warnings)
    query = "sum(rate(gateway_requests_total[2m]))"
    own = with_spec(plan, **{"kubernetes.autoscaler.prometheus.query": query})
    report = render_report(own, tables)
    so = [o.obj["spec"] for o in report.objects if o.name == sp.name and o.kind == "ScaledObject"]
    assert not [t for t in so[0]["triggers"] if t["type"] == "cron"]
    assert not [w for w in report.warnings if "minReplicaCount 0" in w]


def test_allocations_the_plans_cron_starts_from_zero_are_said_once(tables: Catalog) -> None:
    """One 'minReplicaCount 0 ... cron triggers start it in time for the plan's hours' warning per
    allocation (five on an hourly LLM plan) buried the warnings that need action (UX trial 20
    F10): said once, with the count and the names; each ScaledObject still gets its crons."""
    base = LLM_PLANS["vllm-70b"]()
    hours = range(len(base.allocations[0].replicas_per_window))
    night = [
        al.model_copy(update={
            "replicas_per_window": tuple(0 if h < 8 else 2 for h in hours),
            "nodes_per_window": tuple(0 if h < 8 else 1 for h in hours),
        })
        for al in base.allocations
    ]
    report = render_report(base.model_copy(update={"allocations": tuple(night)}), tables)
    sos = {o.name: o.obj["spec"] for o in report.objects if o.kind == "ScaledObject"}
    for al in night:
        assert [t for t in sos[al.name]["triggers"] if t["type"] == "cron"], al.name
    said = [w for w in report.warnings if "minReplicaCount 0" in w]
    assert len(said) == 1, said
    names = ", ".join(al.name for al in night)
    assert said[0].startswith(f"2 allocations ({names}): minReplicaCount 0, and their triggers")
    assert "cron triggers start them in time for the plan's hours" in said[0]


def test_preset_without_source_warns_with_the_presets_repository(cli, tmp_path: Path) -> None:
    """A preset spec without model.source: the renderer's warning gives a source to copy, the
    repository the preset was read from (ux5 #12), and check still refuses the manifests."""
    example = Path(__file__).parent.parent / "examples" / "llm-chat"
    text = (example / "spec.yaml").read_text()
    source = "  source: {uri: meta-llama/Llama-3.1-8B-Instruct, secret: hf-token}\n"
    assert source in text
    (tmp_path / "spec.yaml").write_text(text.replace(source, ""))
    (tmp_path / "profile.yaml").write_text((example / "profile.yaml").read_text())
    out = tmp_path / "out"
    res = cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(out), "--no-alternatives"])
    err = " ".join(res.stderr.split())
    assert (
        "so vllm starts with its default model; set model.source, e.g. "
        "`model.source: {uri: meta-llama/Llama-3.1-8B}` (the preset's repository" in err
    )
    assert "a gated repository also needs `secret`" in err
    plan = str(out / "plan.yaml")
    res = cli(["check", str(out / "manifests"), "--plan", plan], exit_code=1)
    assert "engine-model-missing" in res.stdout


def test_preset_repository() -> None:
    from scaleplan.llm.arch import preset_repository

    assert preset_repository("mistral-7b-instruct-v0.2") == "mistralai/Mistral-7B-Instruct-v0.2"
    assert preset_repository("Meta-Llama-3.1-8B") == "meta-llama/Llama-3.1-8B"
    assert preset_repository("./config.json") is None
    assert preset_repository("no-such-model") is None


@pytest.mark.parametrize(
    ("source", "threshold", "copy"),
    [
        # the server downloads 131.6 GiB itself: 600 s + 131.6 x (10 s download + 1 s load)
        ({"uri": "meta-llama/Llama-3.1-70B-Instruct", "secret": "hf-token"}, 205, 0),
        # an init container copies them before the probe starts: the load alone, and the
        # rollout's deadline waits for the copy too (131.6 GiB at 100 MiB/s, 1,320 s)
        ({"uri": "s3://models/llama-70b"}, 74, 1320),
        ({"uri": "pvc://weights/llama-70b"}, 74, 0),
    ],
)
def test_default_startup_window_follows_the_weights(
    source: dict[str, str], threshold: int, copy: int
) -> None:
    """UX review 7, #24: a 70B spec without kubernetes.probes got the 600 s default, too short
    to download and load its weights (the pod restarts before it serves). An explicit
    startup_seconds is kept as given. progressDeadlineSeconds counts an init container's copy
    of the weights, which runs before the probe (review: it left it out, so a first rollout
    from s3:// passed its deadline while the pod was still on its way)."""
    from llm_render_helpers import with_spec

    updates = {"kubernetes.probes": {"path": "/health"}, "model.source": source}
    plan = with_spec(LLM_PLANS["vllm-70b"](), **updates)
    dep = next(iter(_deployments(plan).values()))
    probe = dep["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    assert (probe["periodSeconds"], probe["failureThreshold"]) == (10, threshold)
    assert dep["spec"]["progressDeadlineSeconds"] == 10 * threshold + copy + 300
    explicit = with_spec(plan, **{"kubernetes.probes": {"path": "/health", "startup_seconds": 900}})
    dep = next(iter(_deployments(explicit).values()))
    pod = dep["spec"]["template"]["spec"]
    assert pod["containers"][0]["startupProbe"]["failureThreshold"] == 90
    # the default can pass 2 h (a 405B model from Hugging Face): a hand-set value may too
    longer = with_spec(plan, **{"kubernetes.probes": {"path": "/health", "startup_seconds": 9000}})
    pod = next(iter(_deployments(longer).values()))["spec"]["template"]["spec"]
    assert pod["containers"][0]["startupProbe"]["failureThreshold"] == 900
    assert dep["spec"]["progressDeadlineSeconds"] == 900 + copy + 300


def test_secret_env_renders_secret_key_refs_and_wins() -> None:
    """There was no way to hand the server a credential besides the model download's (vLLM's
    VLLM_API_KEY): kubernetes.env takes only literal strings, which are refused for secrets,
    and a kustomize patch then showed as drift (UX review 12, F3). kubernetes.secret_env
    names a Secret and key per variable; it wins over a variable render sets itself."""
    plan = with_spec(
        LLM_PLANS["vllm-70b"](),
        **{
            "model.source": {"uri": "meta-llama/Llama-3.1-70B-Instruct", "secret": "hf-token"},
            "kubernetes.secret_env": {
                "VLLM_API_KEY": {"secret": "vllm-auth", "key": "api-key"},
                "HF_TOKEN": {"secret": "org-hf", "key": "token"},
            },
        },
    )
    pod = next(iter(_deployments(plan).values()))["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert len(env) == len(pod["containers"][0]["env"])  # each variable once
    ref = {"secretKeyRef": {"name": "vllm-auth", "key": "api-key"}}
    assert env["VLLM_API_KEY"] == {"name": "VLLM_API_KEY", "valueFrom": ref}
    assert env["HF_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "org-hf", "key": "token"}}


def test_a_left_out_dtype_is_the_architectures_own(cli, tmp_path: Path) -> None:
    """model.dtype left out is the architecture's own precision (Qwen3-30B-A3B: bf16), and the
    plan sizes it; a checkpoint named -FP8 or a --quantization fp8 in args loads fp8 weights.
    `dtype: bf16` written out warned, the same spec without it did not (UX review 17, F2)."""
    import shutil

    from render_helpers import ROOT

    example = ROOT / "examples" / "llm-moe"  # qwen3-30b-a3b, dtype: fp8, Qwen/Qwen3-30B-A3B-FP8
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(example / name, tmp_path / name)
    spec = tmp_path / "spec.yaml"
    text = spec.read_text(encoding="utf-8")
    assert "  dtype: fp8\n" in text and "Qwen/Qwen3-30B-A3B-FP8" in text
    spec.write_text(text.replace("  dtype: fp8\n", ""), encoding="utf-8")
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out")])
    err = " ".join(r.stderr.split())
    said = ("warning: model.dtype is not set (qwen3-30b-a3b's own bf16) but the checkpoint "
            "Qwen/Qwen3-30B-A3B-FP8 is named as fp8 weights")
    assert said in err, err
    bf16 = text.replace("Qwen/Qwen3-30B-A3B-FP8", "Qwen/Qwen3-30B-A3B")
    bf16 = bf16.replace("  dtype: fp8\n", "")
    image = "  image: vllm/vllm-openai:v0.11.0\n"
    quantized = bf16.replace(image, image + "  args: [--quantization, fp8]\n")
    spec.write_text(quantized, encoding="utf-8")
    err = " ".join(cli(["optimize", str(spec), "--out", str(tmp_path / "out2")]).stderr.split())
    said = ("--quantization fp8 in spec.kubernetes.args makes vllm load fp8 weights, but "
            "model.dtype is not set (qwen3-30b-a3b's own bf16): the plan sized bf16 weights")
    assert said in err, err
    spec.write_text(bf16, encoding="utf-8")  # the model's own checkpoint, as planned: no word
    err = cli(["optimize", str(spec), "--out", str(tmp_path / "out3")]).stderr
    assert "model.dtype is not set" not in err, err


def test_a_tp_split_a_block_fp8_checkpoint_cannot_load_warns(tables: Catalog) -> None:
    """Qwen3-30B-A3B in fp8 at TP 4 (the fixture's 4 GPUs a replica): each expert's 768
    columns split into 192 a GPU, which vLLM refuses for a block-scaled FP8 checkpoint such as
    Qwen/Qwen3-30B-A3B-FP8 (vllm-project/vllm#25292; UX review 17, F4). Quantized on load
    (--quantization fp8: per-tensor scales) it loads: no warning."""
    updates: dict[str, Any] = {
        "model.architecture": "qwen3-30b-a3b", "model.dtype": "fp8",
        "model.source": {"uri": "Qwen/Qwen3-30B-A3B-FP8"},
    }
    report = render_report(with_spec(LLM_PLANS["vllm-70b"](), **updates), tables)
    said = [w for w in report.warnings if "whole 128-wide blocks" in w]
    assert len(said) == 2, report.warnings  # the two allocations, each at TP 4
    assert said[0].startswith("allocation llama70b-p4de-24xlarge-on-demand: TP4 splits "), said
    assert "vllm refuses to load a block-scaled FP8 checkpoint" in said[0], said
    assert "placement.max_gpus_per_replica: 2" in said[0], said
    online = {
        **updates, "model.source": {"uri": "Qwen/Qwen3-30B-A3B"},
        "kubernetes.args": ["--quantization", "fp8"],
    }
    report = render_report(with_spec(LLM_PLANS["vllm-70b"](), **online), tables)
    assert not [w for w in report.warnings if "whole 128-wide blocks" in w], report.warnings
    bf16 = {**updates, "model.dtype": "bf16", "model.source": {"uri": "Qwen/Qwen3-30B-A3B"}}
    report = render_report(with_spec(LLM_PLANS["vllm-70b"](), **bf16), tables)
    assert not [w for w in report.warnings if "whole 128-wide blocks" in w], report.warnings
    # llm-compressor's FP8-dynamic checkpoints hold per-channel scales: no blocks, no warning
    # (UX trial 39: RedHatAI/Qwen2.5-72B-Instruct-FP8-dynamic drew one per allocation)
    dynamic = {**updates, "model.source": {"uri": "RedHatAI/Qwen3-30B-A3B-FP8-dynamic"}}
    report = render_report(with_spec(LLM_PLANS["vllm-70b"](), **dynamic), tables)
    assert not [w for w in report.warnings if "whole 128-wide blocks" in w], report.warnings


def test_expert_parallel_in_args_warns_the_plan_is_tensor_parallel(tables: Catalog) -> None:
    """--enable-expert-parallel in kubernetes.args was rendered without a word, though the
    plan's predictions are for MoE layers run tensor parallel over every expert (expert
    parallelism is not modelled: docs/llm.md); UX review 17, F3."""
    updates: dict[str, Any] = {
        "model.architecture": "mixtral-8x7b",
        "model.source": {"uri": "mistralai/Mixtral-8x7B-Instruct-v0.1"},
    }
    cases = [
        (["--enable-expert-parallel"], True),
        (["--enable-expert-parallel=true"], True),
        (["--max-num-seqs", "64"], False),
    ]
    for args, warned in cases:
        plan = with_spec(LLM_PLANS["vllm-70b"](), **{**updates, "kubernetes.args": args})
        said = [w for w in render_report(plan, tables).warnings if "expert parallel" in w]
        assert len(said) == int(warned), (args, said)
        if warned:
            assert said[0].startswith("--enable-expert-parallel in spec.kubernetes.args: "), said
            assert "tensor parallel over all 8 experts" in said[0], said


def _cron_plan(base: Plan) -> Plan:
    """``base`` at 0 replicas before 08h, 3 until 20h, 1 after: its cron triggers start it."""
    hours = range(len(base.allocations[0].replicas_per_window))
    counts = tuple(0 if h < 8 else 3 if h < 20 else 1 for h in hours)
    allocs = tuple(
        al.model_copy(update={
            "replicas_per_window": counts,
            "nodes_per_window": tuple(math.ceil(c / al.replicas_per_node) for c in counts),
        })
        for al in base.allocations
    )
    return base.model_copy(update={"allocations": allocs})


def _minute(cron: str) -> int:
    m, h = (int(x) for x in cron.split()[:2])
    return h * 60 + m


@pytest.mark.parametrize("startup", [None, 900])
def test_cron_triggers_start_a_70b_plan_early_by_its_start_up_time(
    tables: Catalog, startup: int | None
) -> None:
    """UX trial 23 F6: a cron trigger started a 70B LLM's pods at the hour, which then served
    only after node start, image pull and the weights' load. It starts them that long before
    the hour, simulate's replacement time rounded up to whole minutes (at least the rendered
    startup probe's window + node start + image pull); the scale-down stays at the hour, and
    kubernetes.probes.startup_seconds moves both."""
    from scaleplan.simulate.failures import replacement_delay

    plan = _cron_plan(LLM_PLANS["vllm-70b"]())
    if startup is not None:
        plan = with_spec(plan, **{"kubernetes.probes.startup_seconds": startup})
    report = render_report(plan, tables)
    deps = {o.name: o.obj for o in report.objects if o.kind == "Deployment"}
    sos = {o.name: o.obj["spec"] for o in report.objects if o.kind == "ScaledObject"}
    assert sos
    for al in plan.allocations:
        name = al.name
        crons = {t["name"]: t["metadata"] for t in sos[name]["triggers"] if t["type"] == "cron"}
        probe = deps[name]["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
        window = probe["periodSeconds"] * probe["failureThreshold"]
        if startup is not None:
            assert window == startup
        delay, _ = replacement_delay(plan, al)
        assert delay >= 90 + 120 + window
        lead = math.ceil(delay / 60)
        assert lead >= 15  # a 70B pod: many minutes
        assert _minute(crons["plan-0800"]["start"]) == 8 * 60 - lead
        assert crons["plan-0800"]["end"] == "0 20 * * *"  # the scale-down at the hour
        assert _minute(crons["plan-2000"]["start"]) == 20 * 60 - lead
        assert crons["plan-2000"]["end"] == "0 0 * * *"
    said = [w for w in report.warnings if w.startswith(
        "cron triggers and request-rate triggers gated to the plan's hours start each run")]
    assert len(said) == 1, report.warnings
    assert "so that the pods serve at the hour" in said[0]
    # the window the lead mostly is, when the spec sets none, is said to be the default (UX
    # trial 32 F7: "14 min (810 s)", 600 s of it the default window, not named as such)
    set_ = "kubernetes.probes.startup_seconds sets the window"
    assert set_ in said[0] and "the default" not in said[0], said[0]  # the plan's 1800, or 900
    unset = with_spec(plan, **{"kubernetes.probes.startup_seconds": None})
    (note,) = [w for w in render_report(unset, tables).warnings if w.startswith(said[0][:60])]
    assert note.endswith(
        "the startup window is the default, as kubernetes.probes.startup_seconds is not set: "
        "600 s of engine start-up, plus the weights' download and load where the plan knows "
        "them; set it to how long your server takes to serve"
    ), note
