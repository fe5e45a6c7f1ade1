"""Drift: do the checked manifests still say what the plan renders?

The plan is rendered in memory (:func:`scaleplan.render.render`) and each rendered object is
compared with the checked object of the same kind and name, field by field, on what decides
capacity and cost: replicas, images, GPU requests and limits, node selection (instance type,
capacity type, GPU labels, NodePool), autoscaler bounds, targets and triggers (KEDA trigger
queries and thresholds, cron triggers' start, end, timezone and desiredReplicas, a
ScaledObject's scalingModifiers formula, HPA metric targets),
NodePool limits/requirements and node class, EC2NodeClass root volumes and AMIs,
InferencePool selector, ports and endpoint picker,
HTTPRoute parents and backend weights, and each Service's selector and ports (whether traffic
arrives, and at which pods).
Formatting, ordering, comments and fields outside that list do not count as drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from scaleplan.check.drift_monitoring import MORE_FACTS, differs, no_facts, repeated
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    NODE_SELECTOR_TERMS_PATH,
    POD_SPEC_PATHS,
    as_list,
    as_map,
    get,
    is_gpu_resource,
    node_selector_terms,
    pod_spec_path,
    same_namespace,
    target_ref,
)
from scaleplan.yamlio import PathKey, format_path

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.plan import Plan

Facts = dict[str, tuple[PathKey, Any]]  # label -> (path in the object, value)
DRIFT_KINDS = frozenset(
    {
        *POD_SPEC_PATHS,
        "HorizontalPodAutoscaler",
        "ScaledObject",
        "NodePool",
        "PodDisruptionBudget",
        "HTTPRoute",
        "EC2NodeClass",
        "InferencePool",
        "Service",
        "PrometheusRule",
    }
)
NODE_REQUIREMENT_KEYS = frozenset(
    {
        "node.kubernetes.io/instance-type",
        "karpenter.sh/capacity-type",
        "karpenter.k8s.aws/instance-family",
        "karpenter.k8s.aws/instance-gpu-name",
        "karpenter.k8s.aws/instance-gpu-count",
        "topology.kubernetes.io/zone",
    }
)


def _put(
    facts: Facts, obj: Mapping[str, Any], label: str, path: PathKey, *, always: bool = False
) -> None:
    v = get(obj, path)
    if v is not None or always:
        facts[label] = (path, v)


def facts_of(kind: str, data: Mapping[str, Any]) -> Facts:
    """The capacity-relevant fields of one object, keyed by a stable label."""
    facts: Facts = {}
    if kind in POD_SPEC_PATHS:
        path = POD_SPEC_PATHS[kind]
        if kind != "Pod":
            _put(facts, data, "replicas", ("spec", "replicas"))
        spec = as_map(get(data, path))
        for key in ("containers", "initContainers"):
            for i, c in enumerate(as_list(spec.get(key))):
                cm = as_map(c)
                cname = str(cm.get("name", i))
                base = (*path, key, i)
                _put(facts, data, f"{key}[{cname}].image", (*base, "image"))
                res = as_map(cm.get("resources"))
                for section in ("requests", "limits"):
                    for r in as_map(res.get(section)):
                        if is_gpu_resource(str(r)) or r in ("cpu", "memory"):
                            _put(
                                facts,
                                data,
                                f"{key}[{cname}].resources.{section}.{r}",
                                (*base, "resources", section, str(r)),
                            )
        for k in as_map(spec.get("nodeSelector")):
            _put(facts, data, f"nodeSelector.{k}", (*path, "nodeSelector", str(k)))
        for ti, term in enumerate(node_selector_terms(spec)):
            for ei, expr in enumerate(as_list(as_map(term).get("matchExpressions"))):
                e = as_map(expr)
                key = str(e.get("key", ""))
                ep = (*path, *NODE_SELECTOR_TERMS_PATH, ti, "matchExpressions", ei)
                facts[f"nodeAffinity[{ti}].{key}"] = (
                    ep,
                    (e.get("operator"), sorted(str(v) for v in as_list(e.get("values")))),
                )
    elif kind == "HorizontalPodAutoscaler":
        _put(facts, data, "minReplicas", ("spec", "minReplicas"), always=True)
        _put(facts, data, "maxReplicas", ("spec", "maxReplicas"))
        _put(facts, data, "scaleTargetRef.name", ("spec", "scaleTargetRef", "name"))
        _hpa_metric_facts(facts, data)
    elif kind == "ScaledObject":
        _put(facts, data, "minReplicaCount", ("spec", "minReplicaCount"), always=True)
        _put(facts, data, "maxReplicaCount", ("spec", "maxReplicaCount"), always=True)
        _put(facts, data, "scaleTargetRef.name", ("spec", "scaleTargetRef", "name"))
        _put(facts, data, "fallback.replicas", ("spec", "fallback", "replicas"))
        _trigger_facts(facts, data)
        _modifier_facts(facts, data)
    elif kind == "EC2NodeClass":
        _node_class_facts(facts, data)
    elif kind == "InferencePool":
        _inference_pool_facts(facts, data)
    elif kind == "NodePool":
        ref = ("spec", "template", "spec", "nodeClassRef", "name")
        _put(facts, data, "nodeClassRef.name", ref)
        for r in as_map(get(data, ("spec", "limits"))):
            _put(facts, data, f"limits.{r}", ("spec", "limits", str(r)))
        for i, req in enumerate(as_list(get(data, ("spec", "template", "spec", "requirements")))):
            rq = as_map(req)
            key = str(rq.get("key", ""))
            if key in NODE_REQUIREMENT_KEYS or is_gpu_resource(key):
                facts[f"requirements.{key}"] = (
                    ("spec", "template", "spec", "requirements", i),
                    (rq.get("operator"), sorted(str(v) for v in as_list(rq.get("values")))),
                )
    elif kind == "HTTPRoute":
        _route_facts(facts, data)
    elif kind == "Service":
        _service_facts(facts, data)
    elif kind == "PodDisruptionBudget":
        _put(facts, data, "minAvailable", ("spec", "minAvailable"), always=True)
        _put(facts, data, "maxUnavailable", ("spec", "maxUnavailable"), always=True)
    MORE_FACTS.get(kind, no_facts)(facts, data)
    return facts


def _route_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """The HTTPRoute's parent Gateways and each rule's per-backend weights."""
    for i, ref in enumerate(as_list(get(data, ("spec", "parentRefs")))):
        pr = as_map(ref)
        facts[f"parentRefs[{i}]"] = (
            ("spec", "parentRefs", i),
            (pr.get("kind", "Gateway"), f"{pr.get('namespace', '')}/{pr.get('name')}"),
        )
    for i, rule in enumerate(as_list(get(data, ("spec", "rules")))):
        rule_key = _rule_key(as_map(rule))
        for j, ref in enumerate(as_list(as_map(rule).get("backendRefs"))):
            b = as_map(ref)
            path = ("spec", "rules", i, "backendRefs", j, "weight")
            facts[f"{rule_key}backendRefs[{b.get('name')}].weight"] = (path, b.get("weight", 1))


def _rule_key(rule: Mapping[str, Any]) -> str:
    """An HTTPRoute rule's name in drift facts: '' for a rule without header matches (the
    class-blind route, or kubernetes.class_header's fallback), else ``rules[Header=value]``
    (a rule per request class), so each class's weights are compared with its own rule's."""
    heads = sorted(
        f"{as_map(h).get('name')}={as_map(h).get('value')}"
        for m in as_list(rule.get("matches"))
        for h in as_list(as_map(m).get("headers"))
    )
    return f"rules[{','.join(heads)}]." if heads else ""


def _hpa_metric_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """Each metric's target (the value replicas are added at), keyed by the metric's name."""
    for i, m in enumerate(as_list(get(data, ("spec", "metrics")))):
        mtype = str(as_map(m).get("type", ""))
        src = as_map(as_map(m).get(mtype[:1].lower() + mtype[1:]))
        name = as_map(src.get("metric")).get("name") or src.get("name") or mtype
        for field in ("averageValue", "averageUtilization", "value"):
            path = ("spec", "metrics", i, mtype[:1].lower() + mtype[1:], "target", field)
            _put(facts, data, f"metrics[{name}].target.{field}", path)


_TRIGGER_FIELDS = (
    "threshold", "activationThreshold", "query", "metricName", "value",
    # a cron trigger's: when it holds how many pods
    "start", "end", "timezone", "desiredReplicas",
)
_SPACED = frozenset({"query", "start", "end"})  # compared whitespace-insensitive


def _trigger_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """Each KEDA trigger's type, threshold and query (whitespace-insensitive), and a cron
    trigger's start, end (whitespace-insensitive), timezone and desiredReplicas, keyed by
    name."""
    for i, t in enumerate(as_list(get(data, ("spec", "triggers")))):
        tm = as_map(t)
        name = tm.get("name") or f"{tm.get('type')}#{i}"
        facts[f"triggers[{name}].type"] = (("spec", "triggers", i, "type"), tm.get("type"))
        for field in _TRIGGER_FIELDS:
            path = ("spec", "triggers", i, "metadata", field)
            v = get(data, path)
            if v is not None:
                shown = " ".join(str(v).split()) if field in _SPACED else v
                facts[f"triggers[{name}].{field}"] = (path, shown)


def _modifier_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """The ScaledObject's scalingModifiers (the formula that runs the plan's count, its
    redundancy spare included, from the triggers' metrics): the formula (whitespace-insensitive,
    compared also where neither side has one, so that a manifest that lost it is drift),
    target, metric type and activation target. A formula is read as render writes it
    (:mod:`scaleplan.render.formula`): one that writes the same chain is the same however it is
    spaced; one outside that subset is shown with the reason it cannot be read."""
    base = ("spec", "advanced", "scalingModifiers")
    formula = get(data, (*base, "formula"))
    facts["scalingModifiers.formula"] = ((*base, "formula"), _formula_fact(formula))
    for field in ("target", "metricType", "activationTarget"):
        _put(facts, data, f"scalingModifiers.{field}", (*base, field))


def _formula_fact(formula: object) -> str | tuple[str, str] | None:
    """A formula as render writes it, or, outside that subset, its text (quoted) and why it
    cannot be read (:func:`_show` writes a pair as ``text (why)``)."""
    from scaleplan.render.formula import FormulaError, parse_formula

    if formula is None:
        return None
    try:
        return parse_formula(str(formula)).text()
    except FormulaError as exc:
        return repr(" ".join(str(formula).split())), f"(not read: {exc.reason})"


def _node_class_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """What an EC2NodeClass decides for the pods: root volumes (weights and images land there),
    AMI selection (the GPU driver), instance-store policy."""
    for i, bd in enumerate(as_list(get(data, ("spec", "blockDeviceMappings")))):
        dev = as_map(bd).get("deviceName", i)
        for field in ("volumeSize", "volumeType"):
            path = ("spec", "blockDeviceMappings", i, "ebs", field)
            _put(facts, data, f"blockDeviceMappings[{dev}].{field}", path)
    for i, term in enumerate(as_list(get(data, ("spec", "amiSelectorTerms")))):
        shown = ", ".join(f"{k}={v}" for k, v in sorted(as_map(term).items()))
        facts[f"amiSelectorTerms[{i}]"] = (("spec", "amiSelectorTerms", i), shown)
    _put(facts, data, "instanceStorePolicy", ("spec", "instanceStorePolicy"), always=True)


def _inference_pool_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """Which pods the pool routes to, on which ports, through which endpoint picker."""
    for k in as_map(get(data, ("spec", "selector", "matchLabels"))):
        _put(facts, data, f"selector.matchLabels.{k}", ("spec", "selector", "matchLabels", str(k)))
    for i, port in enumerate(as_list(get(data, ("spec", "targetPorts")))):
        facts[f"targetPorts[{i}]"] = (("spec", "targetPorts", i), as_map(port).get("number"))
    _put(facts, data, "endpointPickerRef.name", ("spec", "endpointPickerRef", "name"), always=True)
    _put(facts, data, "endpointPickerRef.port", ("spec", "endpointPickerRef", "port", "number"))
    _put(facts, data, "endpointPickerRef.failureMode", ("spec", "endpointPickerRef", "failureMode"))


def _service_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """Which pods the Service sends traffic to, and on which ports (keyed by port name)."""
    for k in as_map(get(data, ("spec", "selector"))):
        _put(facts, data, f"selector.{k}", ("spec", "selector", str(k)))
    for i, port in enumerate(as_list(get(data, ("spec", "ports")))):
        pm = as_map(port)
        name = pm.get("name") or i
        for field in ("port", "targetPort"):
            _put(facts, data, f"ports[{name}].{field}", ("spec", "ports", i, field), always=True)


def _norm(v: Any) -> Any:
    """Compare quantities by value: 1 == "1"."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int | float):
        return str(int(v)) if float(v).is_integer() else str(v)
    if isinstance(v, tuple):
        return tuple(_norm(x) for x in v)
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return str(v)


def _show(v: Any) -> str:
    if v is None:
        return "(unset)"
    if isinstance(v, tuple) and len(v) == 2:
        return f"{v[0]} {v[1]}"
    return repr(v) if isinstance(v, str) else str(v)


def rendered_objects(plan: Plan, catalog: Catalog) -> list[K8sObject]:
    """What ``plan`` renders with ``catalog``'s tables, as checked objects."""
    from scaleplan.check.loader import objects_from_documents
    from scaleplan.render import render
    from scaleplan.yamlio import parse_yaml_documents

    out: list[K8sObject] = []
    files: Mapping[str, str] = render(plan, catalog)
    for name in sorted(files):
        if name.rsplit("/", 1)[-1] in ("kustomization.yaml", "kustomization.yml"):
            continue
        out.extend(
            objects_from_documents(
                parse_yaml_documents(files[name], f"<rendered>/{name}", what="rendered manifest")
            )
        )
    return out


def _namespace_moved(act: K8sObject, exp: K8sObject, rule: Rule) -> Finding:
    return act.finding(
        rule,
        f"metadata.namespace is {act.namespace!r}, the plan renders {exp.namespace!r}",
        ("metadata", "namespace"),
        hint=f"set kubernetes.namespace: {act.namespace} in the spec and re-plan (the plan's"
        " Prometheus queries, and observe's, select the namespace it names), or keep the"
        " rendered namespace",
    )


def _renamed(
    exp: K8sObject, index: Mapping[tuple[str, str], list[K8sObject]], rendered: set[tuple[str, str]]
) -> list[K8sObject]:
    """The object of ``exp``'s kind whose name is ``exp``'s with a prefix, a suffix or both (a
    kustomize overlay's namePrefix/nameSuffix) and that the plan renders under no name of its
    own: in ``exp``'s namespace, else in any (the overlay's `namespace:` too); of several, the
    one with the least added (another rendered name may hold ``exp``'s: embedder in
    embedder-g4dn); none when that is not one object."""
    found = [
        o
        for (kind, name), objs in index.items()
        if kind == exp.kind
        and name != exp.name
        and exp.name in name
        and (kind, name) not in rendered
        for o in objs
    ]
    found = [o for o in found if same_namespace(o, exp)] or found
    least = min((len(o.name) for o in found), default=0)
    found = [o for o in found if len(o.name) == least]
    return found if len(found) == 1 else []


def _match(
    exp: K8sObject,
    index: Mapping[tuple[str, str], list[K8sObject]],
    rendered: set[tuple[str, str]],
    rule: Rule,
) -> tuple[list[K8sObject], list[Finding]]:
    """The checked object(s) standing for ``exp``: same kind and name in its namespace; else
    moved to another namespace (a kustomize overlay's `namespace:`) or renamed with a prefix or
    suffix (`namePrefix`/`nameSuffix`), each said as one drift finding and then compared as
    usual: the object is there, and the plan's queries and selectors name its namespace and
    names, so the move is drift but not a missing object."""
    same_name = index.get((exp.kind, exp.name), [])
    cands = [o for o in same_name if same_namespace(o, exp)]
    if cands:
        return cands, []
    if same_name:
        return same_name[:1], [_namespace_moved(same_name[0], exp, rule)]
    renamed = _renamed(exp, index, rendered)
    if renamed:
        act = renamed[0]
        msg = f"metadata.name is {act.name!r}, the plan renders {exp.name!r}"
        hint = (
            "render under the name you deploy (the spec's metadata.name) and re-plan, or drop the"
            " overlay's namePrefix/nameSuffix: the plan's queries and selectors use its names"
        )
        found = [act.finding(rule, msg, ("metadata", "name"), hint=hint)]
        if exp.namespace and act.namespace and act.namespace != exp.namespace:
            found.append(_namespace_moved(act, exp, rule))
        return renamed, found
    return [], []


def compare(
    actual: Iterable[K8sObject],
    expected: Iterable[K8sObject],
    rule: Rule,
    *,
    plan_file: str | None = None,
) -> list[Finding]:
    """Findings for every expected object missing from ``actual`` or differing from it."""
    index: dict[tuple[str, str], list[K8sObject]] = {}
    for o in actual:
        index.setdefault((o.kind, o.name), []).append(o)
    expected = list(expected)
    rendered = {(e.kind, e.name) for e in expected}
    out: list[Finding] = []
    for exp in expected:
        if exp.kind not in DRIFT_KINDS:
            continue
        cands, moved = _match(exp, index, rendered, rule)
        out.extend(moved)
        if not cands:
            out.append(
                Finding(
                    rule=rule.id,
                    severity=rule.severity,
                    message=f"the plan renders {exp.kind}/{exp.name} but the checked manifests have none",
                    hint=rule.hint,
                    file=plan_file or "<plan>",
                    line=1,
                    kind=exp.kind,
                    name=exp.name,
                    namespace=exp.namespace,
                )
            )
            continue
        act = cands[0]
        want, have = facts_of(exp.kind, exp.data), facts_of(act.kind, act.data)
        for label in sorted(want):
            _, wv = want[label]
            hp, hv = have.get(label, (want[label][0], None))
            if _norm(wv) == _norm(hv):
                continue
            if label not in have and pod_spec_path(act) is not None and "[" in label:
                hp = _nearest(act, want[label][0])
            out.append(
                act.finding(rule, differs(label, hv, wv, _show), hp)
            )
        for label in sorted(set(have) - set(want)):
            if (
                label.startswith(
                    (
                        "nodeSelector.",
                        "nodeAffinity",
                        "requirements.",
                        "limits.",
                        "backendRefs[",
                        "triggers[",
                        "scalingModifiers.",
                        "metrics[",
                        "selector.",
                        "blockDeviceMappings[",
                        "amiSelectorTerms[",
                        "targetPorts[",
                    )
                )
                or ".resources." in label
            ):
                hp, hv = have[label]
                out.append(act.finding(rule, f"{label} is {_show(hv)}, the plan renders none", hp))
            elif (again := repeated(have[label][1], want)) is not None:  # a rule defined twice
                out.append(act.finding(rule, again, have[label][0]))
            elif label == "replicas" and exp.kind in POD_SPEC_PATHS:  # the autoscaler's count
                hp, hv = have[label]
                said = (
                    f"replicas is {_show(hv)}, the plan renders none: its autoscaler sets the "
                    f"count, and a replicas field resets it to {_show(hv)} at every apply"
                )
                out.append(act.finding(rule, said, hp))
    out.extend(_unplanned_autoscalers(index, expected, rendered, rule))
    return out


def _unplanned_autoscalers(
    index: Mapping[tuple[str, str], Sequence[K8sObject]],
    expected: Sequence[K8sObject],
    rendered: set[tuple[str, str]],
    rule: Rule,
) -> list[Finding]:
    """An HPA or ScaledObject the plan does not render, scaling a workload the plan renders at
    fixed replicas (e.g. an owned allocation held at its peak, docs/render.md "Burst plans"):
    it would move the count the plan fixes, which the workload's own facts do not show."""
    fixed = {
        (e.kind, e.name, e.namespace): get(e.data, ("spec", "replicas"))
        for e in expected
        if e.kind in POD_SPEC_PATHS and get(e.data, ("spec", "replicas")) is not None
    }
    out: list[Finding] = []
    for (kind, name), objs in sorted(index.items()):
        if kind not in ("HorizontalPodAutoscaler", "ScaledObject") or (kind, name) in rendered:
            continue
        for o in objs:
            tkind, tname = target_ref(o)
            count = fixed.get((tkind, tname, o.namespace))
            if count is None:
                continue
            out.append(
                o.finding(
                    rule,
                    f"scales {tkind}/{tname}, which the plan renders at a fixed {count} replicas "
                    "with no autoscaler",
                    ("spec", "scaleTargetRef"),
                )
            )
    return out


def _nearest(obj: K8sObject, path: PathKey) -> PathKey:
    """The longest prefix of ``path`` that exists in ``obj`` (so the line points somewhere real)."""
    p = tuple(path)
    while p and get(obj.data, p) is None:
        p = p[:-1]
    return p


def drift_findings(
    objects: Iterable[K8sObject],
    plan: Plan,
    rule: Rule,
    catalog: Catalog,
    *,
    plan_file: str | None = None,
) -> list[Finding]:
    """Findings for the objects ``plan`` renders (with ``catalog``) that ``objects`` lack or
    hold differently; first, when the objects scaleplan stamped all carry another plan's hash,
    one finding that says so (manifests checked against a plan they were not rendered from
    otherwise read as dozens of unrelated differences)."""
    objs = list(objects)
    first = _other_plan(objs, plan, rule)
    return first + compare(objs, rendered_objects(plan, catalog), rule, plan_file=plan_file)


def _other_plan(objects: Sequence[K8sObject], plan: Plan, rule: Rule) -> list[Finding]:
    from scaleplan.render.metadata import ANN_PLAN_HASH

    path = ("metadata", "annotations", ANN_PLAN_HASH)
    stamped = [(o, str(h)) for o in objects if (h := get(o.data, path))]
    mine = plan.metadata.plan_hash
    if not stamped or any(h == mine for _, h in stamped):
        return []
    o, theirs = stamped[0]
    hashes = f"{ANN_PLAN_HASH} {theirs[:12]}, this plan's {mine[:12]}"
    services = _services(objects)
    svc = plan.spec.metadata.name
    if services and svc not in services:  # another service's manifests (UX trial 28, F9)
        theirs_svc = ", ".join(f"'{n}'" for n in services)
        return [
            dataclasses.replace(
                o.finding(
                    rule,
                    f"the checked manifests are of service {theirs_svc} (their "
                    f"app.kubernetes.io/name), the plan of service '{svc}' ({hashes}): the "
                    "differences below are against another service's plan",
                    path,
                    hint=f"pass the plan the manifests were rendered from (scaleplan check DIR "
                    f"--plan {services[0]}'s plan.yaml), or check {svc}'s manifests against "
                    "this plan",
                ),
                headline=True,
            )
        ]
    return [
        dataclasses.replace(
            o.finding(
                rule,
                f"the checked manifests were rendered from another plan ({hashes}): the "
                "differences below are against a plan they did not come from",
                path,
                hint="re-render them from this plan (scaleplan render PLAN --out DIR), or check "
                "them against the plan they were rendered from",
            ),
            headline=True,
        )
    ]


def _services(objects: Sequence[K8sObject]) -> list[str]:
    """The services (``app.kubernetes.io/name``) of the objects scaleplan rendered, sorted."""
    from scaleplan.render.metadata import MANAGED_BY

    names: set[str] = set()
    for o in objects:
        lab = get(o.data, ("metadata", "labels")) or {}
        ours = isinstance(lab, dict) and lab.get("app.kubernetes.io/managed-by") == MANAGED_BY
        if ours and (name := lab.get("app.kubernetes.io/name")):
            names.add(str(name))
    return sorted(names)


__all__ = ["compare", "drift_findings", "facts_of", "format_path", "rendered_objects"]
