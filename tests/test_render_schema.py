"""scaleplan.check.schema_cache: built-in kinds against kubernetes-validate's strict schemas, CRDs
against the bundled CRD schemas, unknown kinds and versions."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from scaleplan.check.schema_cache import (
    crd_kinds,
    newest_versions,
    resolve_version,
    schema_issues,
    supported_versions,
    validate_object,
)
from scaleplan.errors import InputError


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": {"a": "b"}},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:1", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}},
        },
    }


def nodepool() -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": "gpu"},
        "spec": {
            "template": {
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                    "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}],
                }
            },
            "limits": {"nvidia.com/gpu": "8"},
        },
    }


def scaled_object() -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x", "namespace": "n"},
        "spec": {"scaleTargetRef": {"name": "x"}, "maxReplicaCount": 4, "triggers": [{"type": "prometheus", "metadata": {"query": "q", "threshold": "5"}}]},
    }


def test_versions() -> None:
    assert newest_versions() == ("1.35", "1.36", "1.37")
    assert supported_versions()[0] == "1.25"
    assert resolve_version("v1.36.2") == "1.36"
    for bad in ("1.24", "1.40", "latest", ""):
        with pytest.raises(InputError, match="kube-version"):
            validate_object(deployment(), bad)


@pytest.mark.parametrize("version", ["1.35", "1.36", "1.37"])
def test_valid_builtin(version: str) -> None:
    assert validate_object(deployment(), version) == []


def test_strict_unknown_field_and_types() -> None:
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["gpuCount"] = 1
    d["spec"]["replicas"] = "two"
    errs = validate_object(d, "1.37")
    assert any("spec.template.spec.containers[0]" in e and "gpuCount" in e for e in errs), errs
    assert any(e.startswith("spec.replicas:") for e in errs), errs
    issues = schema_issues(d, "1.37")
    assert ("spec", "replicas") in [i.path for i in issues]


def test_agrees_with_kubernetes_validate() -> None:
    good, bad = deployment(), deployment()
    del bad["spec"]["selector"]
    kubernetes_validate.validate(good, "1.37", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.37", strict=True)
    assert validate_object(good, "1.37") == []
    assert any("'selector' is a required property" in e for e in validate_object(bad, "1.37"))


def test_crds_bundled() -> None:
    kinds = {k for _, k in crd_kinds()}
    assert kinds == {"ScaledObject", "TriggerAuthentication", "NodePool", "EC2NodeClass", "ServiceMonitor", "PodMonitor", "PrometheusRule", "HTTPRoute", "InferencePool"}


@pytest.mark.parametrize("make", [nodepool, scaled_object])
def test_valid_crd(make: Any) -> None:
    assert validate_object(make(), "1.37") == []


def test_crd_errors() -> None:
    so = scaled_object()
    so["spec"]["maxReplicaCount"] = "lots"
    so["spec"]["maxReplicas"] = 3  # unknown field: rejected like kubectl --validate=strict
    so["metadata"]["bogus"] = 1  # metadata is checked as ObjectMeta
    errs = validate_object(so, "1.36")
    assert "spec.maxReplicaCount: 'lots' is not of type 'integer'" in errs
    assert any("'maxReplicas' was unexpected" in e for e in errs)
    assert any(e.startswith("metadata:") and "bogus" in e for e in errs)
    np = nodepool()
    np["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Inside"
    del np["spec"]["template"]["spec"]["nodeClassRef"]
    errs = validate_object(np, "1.35")
    assert any("'Inside' is not one of" in e for e in errs), errs
    assert any("'nodeClassRef' is a required property" in e for e in errs), errs
    np = nodepool()
    np["spec"]["limits"]["cpu"] = "24 GB!"
    assert any(e.startswith("spec.limits.cpu") for e in validate_object(np, "1.37"))


def test_unknown_kinds() -> None:
    for obj in (
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}},
        {"apiVersion": "../../etc", "kind": "Passwd"},
        {"apiVersion": "v1", "kind": "PodSpec"},  # a sub-schema file, not a kind
        {"apiVersion": "apps.evil.io/v1", "kind": "Deployment", "spec": {}},
    ):
        errs = validate_object(copy.deepcopy(obj), "1.37")
        assert len(errs) == 1 and "cannot be validated" in errs[0], errs
    assert validate_object({"kind": "Deployment"}, "1.37") == ["apiVersion: 'apiVersion' is missing or not a string"]
    assert "must be a mapping" in validate_object([], "1.37")[0]  # type: ignore[arg-type]


def test_unknown_kind_is_decided_on_the_issues_flag_not_its_wording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check told unknown-kind from schema by the issue's message starting with 'no schema
    for kind': SchemaIssue.unknown_kind says it, so a reworded issue keeps its rule and a
    schema message that happens to start so stays schema's."""
    from scaleplan.check import schema_cache
    from scaleplan.check.loader import objects_from_documents
    from scaleplan.check.rules import RULES_BY_ID
    from scaleplan.check.schema import schema_findings
    from scaleplan.check.schema_cache import SchemaIssue
    from scaleplan.yamlio import parse_yaml_documents

    text = "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: x}\n"
    objs = objects_from_documents(parse_yaml_documents(text, "m.yaml", what="manifest"))

    def rules() -> list[str]:
        found = schema_findings(objs, "1.37", RULES_BY_ID["schema"], RULES_BY_ID["unknown-kind"])
        return [f.rule for f in found]

    assert rules() == ["unknown-kind"]
    (issue,) = schema_issues(dict(objs[0].data), "1.37")
    assert issue.unknown_kind and issue.path == ("kind",)
    reworded = SchemaIssue(("kind",), "this kind is known to no schema", unknown_kind=True)
    lookalike = SchemaIssue(("kind",), "no schema for kind values but these: Deployment")
    monkeypatch.setattr(schema_cache, "schema_issues", lambda obj, v: [reworded, lookalike])
    assert rules() == ["unknown-kind", "schema"]
