"""Plan-aware checks: drift against `render(plan)`, spot-only capacity, rendered examples clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from check_helpers import Docs, by_kind, clean_docs, mutated, pod
from llm_blackbox_helpers import blackbox_plan
from tables_helpers import shipped_tables

from scaleplan.catalog.model import Catalog
from scaleplan.check import check_paths, check_text
from scaleplan.plan import Plan, read_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/plan.yaml"))
render_mod = pytest.importorskip(
    "scaleplan.render", reason="the renderer (scaleplan.render.render) is not there yet"
)


def _render(plan_path: Path, out: Path) -> Plan:
    from scaleplan.plan_outputs import write_manifests

    plan = read_plan(plan_path)
    write_manifests(out, render_mod.render(plan, shipped_tables()))
    return plan



EMBEDDING_PLAN = str(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")


def _overlaid(tables: Catalog, tmp_path: Path, edit: Callable[[str], str]) -> tuple[Any, list[str]]:
    """embedding-cpu-gpu's rendered manifests, each file through ``edit`` (an overlay's
    changes), checked against its plan: the report and its messages, every object found."""
    plan = _render(Path(EMBEDDING_PLAN), tmp_path / "out")
    for f in sorted((tmp_path / "out").glob("*.yaml")):
        f.write_text(edit(f.read_text()))
    report = check_paths([tmp_path / "out"], plan=plan, plan_file=EMBEDDING_PLAN, catalog=tables)
    msgs = [f.message for f in report.findings]
    assert not any("have none" in m for m in msgs), msgs  # not "the checked manifests have none"
    return report, msgs

@pytest.mark.skipif(not EXAMPLES, reason="no examples/*/plan.yaml yet")
@pytest.mark.parametrize("example", EXAMPLES)
def test_rendered_examples_pass_with_drift_check(
    tables: Catalog, tmp_path: Path, example: str
) -> None:
    plan_file = ROOT / "examples" / example / "plan.yaml"
    plan = _render(plan_file, tmp_path / "out")
    report = check_paths([tmp_path / "out"], plan=plan, plan_file=str(plan_file), catalog=tables)
    assert report.drift_checked and report.objects > 3
    assert not report.failed("error"), [(f.rule, f.file, f.message) for f in report.findings]
    assert report.findings == (), [(f.rule, f.message) for f in report.findings]


def _edit(folder: Path, glob: str, pattern: str, repl: str) -> tuple[Path, int] | None:
    """Apply a regex edit to every match in the first file matching ``glob``; return it and the first changed line."""
    import re

    for path in sorted(folder.glob(glob)):
        text = path.read_text()
        m = re.search(pattern, text, flags=re.M)
        if m is None:
            continue
        path.write_text(re.sub(pattern, repl, text, flags=re.M))
        return path, text[: m.start()].count("\n") + 1
    return None


@pytest.mark.skipif("llm-chat" not in EXAMPLES, reason="examples/llm-chat/plan.yaml not there yet")
@pytest.mark.parametrize(
    ("glob", "pattern", "repl", "label"),
    [
        (
            "deployment-*.yaml",
            r"(node\.kubernetes\.io/instance-type: )(\S+)",
            r"\1g5.2xlarge",
            "nodeSelector.node.kubernetes.io/instance-type",
        ),
        ("deployment-*.yaml", r"(nvidia\.com/gpu: )\d+$", r"\g<1>7", "nvidia.com/gpu"),
        ("deployment-*.yaml", r"(replicas: )\d+$", r"\g<1>17", "replicas"),
        ("deployment-*.yaml", r"(image: )\S+$", r"\1other/image:9.9.9", "image"),
        ("hpa-*.yaml", r"(maxReplicas: )\d+$", r"\g<1>99", "maxReplicas"),
        ("scaledobject-*.yaml", r"(maxReplicaCount: )\d+$", r"\g<1>99", "maxReplicaCount"),
        ("nodepool-*.yaml", r"(nvidia\.com/gpu: )(\S+)$", r"\g<1>999", "limits.nvidia.com/gpu"),
        ("scaledobject-*.yaml", r"(threshold: )'([\d.]+)'$", r"\g<1>'999'", "].threshold"),
        ("hpa-*.yaml", r"(averageValue: )\S+$", r"\g<1>99", "].target.averageValue"),
        ("ec2nodeclass-*.yaml", r"(volumeSize: )\S+$", r"\g<1>20Gi", "blockDeviceMappings[/dev/xvda].volumeSize"),
        ("ec2nodeclass-*.yaml", r"(alias: )\S+$", r"\g<1>bottlerocket@latest", "amiSelectorTerms"),
        ("inferencepool-*.yaml", r"(- number: )\d+$", r"\g<1>8081", "targetPorts"),
        ("inferencepool-*.yaml", r"(failureMode: )\S+$", r"\g<1>FailOpen", "endpointPickerRef.failureMode"),
    ],
    ids=[
        "instance-type", "gpus", "replicas", "image", "hpa-max", "keda-max", "nodepool-limit",
        "keda-threshold", "hpa-target", "root-volume", "ami", "pool-port", "pool-failure-mode",
    ],
)
def test_drift_names_file_and_line(
    tables: Catalog,
    tmp_path: Path, glob: str, pattern: str, repl: str, label: str
) -> None:
    for example in EXAMPLES:  # the first example whose rendering has such a field
        plan_file = ROOT / "examples" / example / "plan.yaml"
        out = tmp_path / example
        plan = _render(plan_file, out)
        edited = _edit(out, glob, pattern, repl)
        if edited is not None:
            break
    else:
        pytest.skip(f"no rendered example has a {glob} matching {pattern!r}")
    target, line = edited
    report = check_paths(
        [out],
        plan=plan,
        plan_file=str(plan_file),
        disabled_rules=["gpu-exceeds-instance", "gpu-nodepool-limit", "hpa-no-range", "shm-missing"],
        catalog=tables,
    )
    drift = [f for f in report.findings if f.rule == "drift"]
    assert {f.rule for f in report.findings} == {"drift"}, [
        (f.rule, f.message) for f in report.findings
    ]
    hit = [f for f in drift if label in f.message]
    assert hit, [f.message for f in drift]
    assert all(f.file == str(target) for f in drift)
    assert any(f.line == line for f in hit), ([f.line for f in hit], line)


@pytest.mark.skipif("llm-chat" not in EXAMPLES, reason="examples/llm-chat/plan.yaml not there yet")
def test_drift_missing_object_and_cli_exit_1(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    plan_file = ROOT / "examples" / "llm-chat" / "plan.yaml"
    _render(plan_file, tmp_path / "out")
    cli(["check", str(tmp_path / "out"), "--plan", str(plan_file)], exit_code=0)
    (tmp_path / "out" / "pdb-chat-g6e-xlarge-od.yaml").unlink()
    r = cli(
        ["check", str(tmp_path / "out"), "--plan", str(plan_file), "--format", "github"],
        exit_code=1,
    )
    assert (
        "PodDisruptionBudget/chat-g6e-xlarge-od" in r.stdout
        and f"file={plan_file}".replace(":", "%3A") in r.stdout
    )
    assert "drift from the plan" in r.stderr
    # drift's first advice is to re-render or re-plan, not to silence it (UX trial 24 F11)
    said = " ".join(r.stderr.split())
    assert "re-render the drifted manifests from the plan (scaleplan render PLAN" in said, said
    assert said.index("re-render") < said.index("scaleplan.dev/ignore"), said


def test_manifests_of_another_plan_say_so_first(tables: Catalog, tmp_path: Path) -> None:
    """Manifests checked against a plan they were not rendered from: one first finding names
    the two plan hashes (UX review 4, #11: 38 drift errors, none saying why), then the
    differences; against their own plan, nothing of the kind."""
    ex = ROOT / "examples"
    _render(ex / "llm-chat" / "plan.yaml", tmp_path / "out")
    other = read_plan(ex / "llm-chat-pool" / "plan.yaml")
    report = check_paths([tmp_path / "out"], plan=other, catalog=tables)
    first = report.findings[0]
    assert first.rule == "drift" and "rendered from another plan" in first.message, first
    assert other.metadata.plan_hash[:12] in first.message and len(report.findings) > 1
    mine = read_plan(ex / "llm-chat" / "plan.yaml")
    own = check_paths([tmp_path / "out"], plan=mine, catalog=tables)
    assert not any("another plan" in f.message for f in own.findings)
    # named by a plan file whose path sorts before the manifests' (the CLI passes it): the
    # plan's own findings ("the plan renders X but ...") are at that path, and the one finding
    # that explains them all still comes first
    label = str(tmp_path.parent / "0-plan.yaml")  # sorts before tmp_path / "out" / ...
    named = check_paths([tmp_path / "out"], plan=other, plan_file=label, catalog=tables)
    assert "rendered from another plan" in named.findings[0].message, named.findings[:2]
    assert any(f.file == label for f in named.findings[1:])


def test_manifests_of_another_service_say_so_first(cli, tmp_path: Path) -> None:
    """The chat service's manifests checked against the embedder's plan: the first line named
    only the two plan hashes (UX trial 28, F9); it now names both services and the fix, before
    the per-object findings. The exit code is drift's, as before."""
    ex = ROOT / "examples"
    _render(ex / "llm-chat" / "plan.yaml", tmp_path / "out")
    other = ex / "embedding-cpu-gpu" / "plan.yaml"
    r = cli(["check", str(tmp_path / "out"), "--plan", str(other)], exit_code=1)
    lines = r.stdout.splitlines()
    first = lines[0]
    assert "the checked manifests are of service 'chat' (their app.kubernetes.io/name), " in first
    assert "the plan of service 'embedder'" in first and "scaleplan.dev/plan-hash" in first
    assert "(fix: pass the plan the manifests were rendered from" in first, first
    assert "rendered from another plan" not in r.stdout
    assert any("the plan renders Deployment/embedder-" in ln for ln in lines[1:])


@pytest.mark.skipif("llm-chat-pool" not in EXAMPLES, reason="examples/llm-chat-pool not there")
@pytest.mark.parametrize(
    "name", ["inferencepool-chat.yaml", "ec2nodeclass-chat-g6e-on-demand.yaml"]
)
def test_drift_a_deleted_pool_or_node_class(tables: Catalog, tmp_path: Path, name: str) -> None:
    plan_file = ROOT / "examples" / "llm-chat-pool" / "plan.yaml"
    plan = _render(plan_file, tmp_path / "out")
    (tmp_path / "out" / name).unlink()
    report = check_paths([tmp_path / "out"], plan=plan, plan_file=str(plan_file), catalog=tables)
    kind = {"inferencepool": "InferencePool", "ec2nodeclass": "EC2NodeClass"}[name.split("-")[0]]
    obj = name.split("-", 1)[1].removesuffix(".yaml")
    drift = [f.message for f in report.findings if f.rule == "drift"]
    assert f"the plan renders {kind}/{obj} but the checked manifests have none" in drift, drift


@pytest.mark.skipif("embedding-cpu-gpu" not in EXAMPLES, reason="no embedding-cpu-gpu example")
@pytest.mark.parametrize(
    ("pattern", "repl", "needle"),
    [
        (None, None, "the plan renders Service/embedder but the checked manifests have none"),
        (
            r"(targetPort: )\S+$",
            r"\g<1>9999",
            "ports[http].targetPort is 9999, the plan renders 'http'",
        ),
        (r"(port: )8080$", r"\g<1>80", "ports[http].port is 80, the plan renders 8080"),
        (
            r"^(  selector:)$",
            r"\1\n    app.kubernetes.io/instance: embedder-g4dn-xlarge-od",
            "selector.app.kubernetes.io/instance is 'embedder-g4dn-xlarge-od',"
            " the plan renders none",
        ),
    ],
    ids=["deleted", "target-port", "port", "narrowed-selector"],
)
def test_drift_in_the_service_traffic_arrives_through(
    tables: Catalog, tmp_path: Path, pattern: str | None, repl: str | None, needle: str
) -> None:
    """Under routing: service every request arrives through the one Service: deleting it, or
    pointing it at another port or at some of the pods only, is drift (it passed before)."""
    plan_file = ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"
    plan = _render(plan_file, tmp_path / "out")
    if pattern is None:
        (tmp_path / "out" / "service-embedder.yaml").unlink()
    else:
        assert _edit(tmp_path / "out", "service-*.yaml", pattern, repl or "") is not None
    report = check_paths([tmp_path / "out"], plan=plan, plan_file=str(plan_file), catalog=tables)
    drift = [f.message for f in report.findings if f.rule == "drift"]
    assert any(needle in m for m in drift), drift
    assert report.failed("error")


# --- spot-only capacity: the hand-written clean set against a plan built from an example ------


def _plan_for_clean(capacity: str, *, spot_allowed: bool = True, max_fraction: float = 0.5) -> Plan:
    plan = blackbox_plan()  # no engine: the hand-written clean set runs a generic server
    a = plan.allocations[0].model_copy(
        update={"name": "llm-g6-xlarge", "capacity_type": capacity, "instance_type": "g6.xlarge"}
    )
    placement = plan.spec.placement.model_copy(
        update={
            "spot": plan.spec.placement.spot.model_copy(
                update={"allowed": spot_allowed, "max_fraction": max_fraction}
            )
        }
    )
    spec = plan.spec.model_copy(update={"placement": placement})
    return plan.model_copy(update={"allocations": (a,), "spec": spec})


def _spot_selector(docs: Docs) -> None:
    pod(docs)["nodeSelector"]["karpenter.sh/capacity-type"] = "spot"


def _spot_nodepool(docs: Docs) -> None:
    by_kind(docs, "NodePool")["spec"]["template"]["spec"]["requirements"][1]["values"] = ["spot"]


@pytest.mark.skipif("llm-chat" not in EXAMPLES, reason="examples/llm-chat/plan.yaml not there yet")
@pytest.mark.parametrize(
    "mutation", [_spot_selector, _spot_nodepool], ids=["node-selector", "nodepool"]
)
def test_spot_only_where_plan_wants_on_demand(
    tables: Catalog, mutation
) -> None:  # type: ignore[no-untyped-def]
    from scaleplan.yamlio import dump_yaml_all

    on_demand = _plan_for_clean("on-demand")
    assert (
        check_text(
            dump_yaml_all(clean_docs()),
            "c.yaml",
            plan=on_demand,
            disabled_rules=["drift"],
            catalog=tables,
        ).findings
        == ()
    )
    report = check_text(
        mutated(mutation), "c.yaml", plan=on_demand, disabled_rules=["drift"], catalog=tables
    )
    assert {f.rule for f in report.findings} == {"spot-only-capacity"}, [
        (f.rule, f.message) for f in report.findings
    ]
    # A spot allocation may run spot-only.
    assert (
        check_text(
            mutated(mutation),
            "c.yaml",
            plan=_plan_for_clean("spot"),
            disabled_rules=["drift"],
            catalog=tables,
        ).findings
        == ()
    )
    # Without a plan the rule does not run.
    assert check_text(mutated(mutation), "c.yaml", catalog=tables).findings == ()


def test_compare_scaled_object_bounds_and_unrendered_selector() -> None:
    """drift.compare directly (no renderer): KEDA bounds and an extra node selector are drift."""
    from scaleplan.check.drift import compare
    from scaleplan.check.loader import objects_from_documents
    from scaleplan.check.rules import RULES_BY_ID
    from scaleplan.yamlio import dump_yaml_all, parse_yaml_documents

    so = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "s", "namespace": "inference"},
        "spec": {
            "scaleTargetRef": {"name": "llm-g6-xlarge"},
            "minReplicaCount": 1,
            "maxReplicaCount": 4,
        },
    }

    def objs(docs: Docs) -> list:  # type: ignore[type-arg]
        return objects_from_documents(parse_yaml_documents(dump_yaml_all(docs), "x.yaml"))

    want = [*clean_docs(), so]
    have = [*clean_docs(), {**so, "spec": {**so["spec"], "maxReplicaCount": 8}}]
    pod(have)["nodeSelector"]["karpenter.sh/capacity-type"] = "spot"
    found = compare(objs(have), objs(want), RULES_BY_ID["drift"])
    msgs = sorted(f.message for f in found)
    assert msgs == [
        "maxReplicaCount is 8, the plan renders 4",
        "nodeSelector.karpenter.sh/capacity-type is 'spot', the plan renders none",
    ]
    assert compare(objs(want), objs(want), RULES_BY_ID["drift"]) == []


def _vision_docs(plan: Plan, tables: Catalog) -> Docs:
    return [dict(o.obj) for o in render_mod.render_report(plan, tables).objects]


def _zone_findings(docs: Docs, plan: Plan, tables: Catalog) -> list[str]:
    from scaleplan.yamlio import dump_yaml_all

    report = check_text(dump_yaml_all(docs), "z.yaml", plan=plan, catalog=tables)
    return [f.message for f in report.findings if f.rule == "zone-spread-not-enforced"]


@pytest.mark.skipif("vision-daily" not in EXAMPLES, reason="examples/vision-daily not there")
def test_zone_spread_not_enforced(tables: Catalog) -> None:
    """vision-daily survives a zone loss only with each allocation's replicas spread over its
    3 zones: its rendered manifests pass; a best-effort, skewed, domain-less or missing zone
    spread on a Deployment is flagged; the same manifests of an n+1 plan are not."""
    plan = read_plan(ROOT / "examples" / "vision-daily" / "plan.yaml")
    # one allocation since its plan holds the HPA's floor (solve/floors.py); two before
    assert plan.spec.placement.redundancy == "zone" and len(plan.allocations) >= 1
    assert _zone_findings(_vision_docs(plan, tables), plan, tables) == []

    def first_spread(docs: Docs) -> dict[str, object]:
        d: dict[str, object] = pod(docs)["topologySpreadConstraints"][0]
        return d

    edits = {
        "ScheduleAnyway": lambda c: c.update(whenUnsatisfiable="ScheduleAnyway"),
        "maxSkew: 2": lambda c: c.update(maxSkew=2),
        "minDomains: unset": lambda c: c.pop("minDomains"),
        "minDomains: 2": lambda c: c.update(minDomains=2),
        "no topologySpreadConstraint": lambda c: c.update(topologyKey="kubernetes.io/hostname"),
    }
    for words, edit in edits.items():
        docs = _vision_docs(plan, tables)
        edit(first_spread(docs))
        (msg,) = _zone_findings(docs, plan, tables)
        assert words in msg and "over its 3 zones (us-central1-a, us-central1-b, us-" in msg
    # an n+1 plan's best-effort spread is what render writes for it: not flagged
    n1 = plan.spec.placement.model_copy(update={"redundancy": "n+1"})
    n1_plan = plan.model_copy(update={"spec": plan.spec.model_copy(update={"placement": n1})})
    docs = _vision_docs(plan, tables)
    first_spread(docs).update(whenUnsatisfiable="ScheduleAnyway")
    assert _zone_findings(docs, n1_plan, tables) == []


def test_floor_above_plan_names_the_hours_and_the_cost(tables: Catalog, tmp_path: Path) -> None:
    """An hpa plan that takes an allocation to 0 in some hours (written before the optimizer
    held the HPA's floor): its HPA keeps minReplicas 1, which check --plan reports with the
    hours and what it adds (review 3 #1: check said 'passed' against the plan)."""
    from render_helpers import PLANS

    from scaleplan.plan_outputs import write_manifests

    plan = PLANS["spot-mix"]()
    idle = next(a for a in plan.allocations if min(a.replicas_per_window) == 0)
    write_manifests(tmp_path, render_mod.render(plan, tables))
    report = check_paths([tmp_path], plan=plan, catalog=tables)
    found = [f for f in report.findings if f.rule == "floor-above-plan"]
    assert [(f.kind, f.name) for f in found] == [("HorizontalPodAutoscaler", idle.name)]
    hours = sum(1 for r in idle.replicas_per_window if r == 0)
    extra = hours * idle.price_per_node_hour / len(idle.replicas_per_window)
    assert f"minReplicas 1 keeps 1 replica of {idle.name} in every hour" in found[0].message
    assert f"fewer in {hours} of 24 hours (as few as 0): about ${extra:.2f}/h" in found[0].message
    assert found[0].severity == "warning"
    # simulate replays the plan's counts, so it says that it does not see the floor pods
    from scaleplan.simulate.layout import hpa_floor_note

    (note,) = hpa_floor_note(plan)
    assert f"minReplicas 1 of {idle.name} in every hour" in note
    # a plan that holds the floor: nothing to say
    held = tuple(max(1, r) for r in idle.replicas_per_window)
    ok = plan.model_copy(update={"allocations": tuple(
        a.model_copy(update={"replicas_per_window": held, "nodes_per_window": held})
        if a is idle
        else a
        for a in plan.allocations
    )})
    write_manifests(tmp_path / "ok", render_mod.render(ok, tables))
    report = check_paths([tmp_path / "ok"], plan=ok, catalog=tables)
    assert not [f for f in report.findings if f.rule == "floor-above-plan"]
    assert hpa_floor_note(ok) == []


def test_drift_finds_objects_an_overlay_moved_to_another_namespace(
    tables: Catalog, tmp_path: Path
) -> None:
    """UX review 6, #1: `kustomize build overlays/prod | scaleplan check - --plan` with the
    usual prod overlay (`namespace: search-prod`, a new image tag) reported every object as
    "the checked manifests have none" and never the image change. The objects are found by kind
    and name (as ci.md says), the move is one drift finding each at metadata.namespace, and
    the other differences are compared as usual."""
    import re

    def edit(text: str) -> str:
        text = re.sub(r"^(  namespace: )search$", r"\1search-prod", text, flags=re.M)
        return text.replace("embedder:1.4.2", "embedder:1.4.3")

    report, msgs = _overlaid(tables, tmp_path, edit)
    moved = [f for f in report.findings if f.path == "metadata.namespace"]
    assert len(moved) == report.objects, msgs
    assert all(f.rule == "drift" and f.file != EMBEDDING_PLAN for f in moved)
    assert moved[0].message == "metadata.namespace is 'search-prod', the plan renders 'search'"
    assert "kubernetes.namespace: search-prod" in moved[0].hint
    images = [m for m in msgs if ".image is 'ghcr.io/example/embedder:1.4.3'" in m]
    assert len(images) == 3, msgs


def test_drift_finds_objects_an_overlay_renamed_with_a_prefix(
    tables: Catalog, tmp_path: Path
) -> None:
    """UX review 6, #12: an overlay's `namePrefix: prod-` made every object "the checked
    manifests have none". Each is found (one object of its kind whose name is the rendered one
    with a prefix), the rename is one drift finding at metadata.name, the rest is compared."""
    import re

    def edit(text: str) -> str:
        text = re.sub(r"^(  name: )(embedder)", r"\1prod-\2", text, flags=re.M)
        return text.replace("cpu: 3220m", "cpu: 3000m")

    report, msgs = _overlaid(tables, tmp_path, edit)
    renamed = [f for f in report.findings if f.path == "metadata.name"]
    assert len(renamed) == report.objects, msgs
    assert renamed[0].file != EMBEDDING_PLAN and "namePrefix" in renamed[0].hint
    assert any(
        m == "metadata.name is 'prod-embedder', the plan renders 'embedder'" for m in msgs
    ), msgs
    assert any("requests.cpu is '3000m', the plan renders '3220m'" in m for m in msgs), msgs


@pytest.mark.parametrize(
    ("prefix", "suffix", "namespace"),
    [("prod-", "-v2", "search"), ("prod-", "", "search-prod")],
)
def test_drift_finds_objects_an_overlay_renamed_and_moved(
    tables: Catalog, tmp_path: Path, prefix: str, suffix: str, namespace: str
) -> None:
    """An overlay that sets namePrefix and nameSuffix together, or namePrefix with `namespace:`
    (the usual prod overlay): every object is still found and compared, each change one drift
    finding, instead of every object "the checked manifests have none"."""
    import re

    def edit(text: str) -> str:
        text = re.sub(r"^(  name: )(embedder\S*)$", rf"\1{prefix}\2{suffix}", text, flags=re.M)
        return re.sub(r"^(  namespace: )search$", rf"\1{namespace}", text, flags=re.M)

    report, msgs = _overlaid(tables, tmp_path, edit)
    renamed = [f for f in report.findings if f.path == "metadata.name"]
    assert len(renamed) == report.objects, msgs
    assert f"metadata.name is '{prefix}embedder{suffix}', the plan renders 'embedder'" in msgs
    moved = [f for f in report.findings if f.path == "metadata.namespace"]
    assert len(moved) == (report.objects if namespace != "search" else 0), msgs


@pytest.mark.skipif("embedding-kafka" not in EXAMPLES, reason="examples/embedding-kafka not there")
@pytest.mark.parametrize("edit", ["drop", "threshold-only"])
def test_drift_flags_a_scaled_object_that_lost_the_spare(
    tables: Catalog, tmp_path: Path, edit: str
) -> None:
    """embedding-kafka (n+1) renders each ScaledObject a scalingModifiers formula that adds a
    node of replicas to the lag's count; a hand-edited manifest without it (or with a formula
    of the lag over its threshold alone, which drops the spare) is drift, at the formula."""
    import yaml

    from scaleplan.yamlio import dump_yaml_all

    plan_file = ROOT / "examples" / "embedding-kafka" / "plan.yaml"
    out = tmp_path / "out"
    plan = _render(plan_file, out)
    (path, *_) = sorted(out.glob("scaledobject-*.yaml"))
    doc = yaml.safe_load(path.read_text())
    mods = doc["spec"]["advanced"]["scalingModifiers"]
    if edit == "drop":
        del doc["spec"]["advanced"]["scalingModifiers"]
    else:
        (trig,) = doc["spec"]["triggers"]
        mods["formula"] = f"lag / {trig['metadata']['lagThreshold']}"
    path.write_text(dump_yaml_all([doc]))
    report = check_paths([out], plan=plan, plan_file=str(plan_file), catalog=tables)
    drift = [f for f in report.findings if f.rule == "drift"]
    labels = ["scalingModifiers.formula"]
    if edit == "drop":  # its target and metric type went with it
        labels += ["scalingModifiers.metricType", "scalingModifiers.target"]
    assert [f.message.split(" is ")[0] for f in drift] == labels, drift
    assert drift[0].file == str(path)
    if edit == "drop":
        said = "scalingModifiers.formula is (unset), the plan renders 'float(lag <= 0 ? 0"
        assert said in drift[0].message


def test_drift_a_replicas_field_added_to_an_autoscaled_deployment(
    tables: Catalog, tmp_path: Path
) -> None:
    """UX trial 32 F3: `replicas: 1` added by hand to a Deployment KEDA scales (the plan renders
    no replicas field there, 0-15 replicas by hour) passed `check --plan`; every `kubectl
    apply` would reset the count to 1 until the autoscaler scaled it back."""
    import re

    def add_replicas(text: str) -> str:
        if "kind: Deployment" not in text:
            return text
        return re.sub(r"^spec:\n", "spec:\n  replicas: 1\n", text, count=1, flags=re.M)

    report, msgs = _overlaid(tables, tmp_path, add_replicas)
    hit = [f for f in report.findings if f.rule == "drift" and f.kind == "Deployment"]
    said = "replicas is 1, the plan renders none: its autoscaler"
    assert hit and all(f.message.startswith(said) for f in hit), msgs
    assert len(hit) == sum(1 for a in report.findings if a.kind == "Deployment"), msgs
    assert report.failed("error")
    for f in hit:  # on the replicas line, not the file's top
        assert Path(f.file).read_text().splitlines()[f.line - 1] == "  replicas: 1", f
