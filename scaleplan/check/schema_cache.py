"""Offline schema validation of Kubernetes objects (built-in kinds and the CRDs scaleplan emits).

* Built-in kinds (Deployment, Service, HPA, PDB, ...) are checked against the **strict** JSON
  schemas bundled with ``kubernetes-validate`` (unknown fields are errors), for the requested
  Kubernetes minor version.
* KEDA ``ScaledObject`` / ``TriggerAuthentication``, Karpenter ``NodePool`` / ``EC2NodeClass``,
  Prometheus Operator ``ServiceMonitor``, Gateway API ``HTTPRoute`` and Gateway API Inference
  Extension ``InferencePool`` are checked against the ``openAPIV3Schema`` of the
  upstream CRDs bundled in ``scaleplan/data/crds/`` (see the README there). The OpenAPI schema is
  turned into JSON Schema with unknown fields forbidden (as ``kubectl --validate=strict`` does)
  and ``metadata`` checked as a Kubernetes ``ObjectMeta``. CEL rules
  (``x-kubernetes-validations``) are not evaluated.
* Any other kind gives one error string: it cannot be checked.

Validators are built once per (schema set, apiVersion, kind) and cached:
``kubernetes_validate.validate`` re-reads the 1.8 MB ``_definitions.json`` and rebuilds its
validator on every call, which is about 20x slower (docs/benchmarks/render.md).

API (stable; ``scaleplan check`` uses it)::

    validate_object(obj, "1.37") -> list[str]        # [] when valid; "path: message" strings
    schema_issues(obj, "1.37") -> list[SchemaIssue]  # the same with the path as a tuple
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from scaleplan.errors import InputError, Problem
from scaleplan.yamlio import format_path

__all__ = [
    "CRD_FILES",
    "SchemaIssue",
    "crd_kinds",
    "newest_versions",
    "resolve_version",
    "schema_issues",
    "supported_versions",
    "validate_object",
]

CRD_FILES = (
    "keda.sh_scaledobjects.yaml",
    "keda.sh_triggerauthentications.yaml",
    "karpenter.sh_nodepools.yaml",
    "karpenter.k8s.aws_ec2nodeclasses.yaml",
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_podmonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
    "gateway.networking.k8s.io_httproutes.yaml",
    "inference.networking.k8s.io_inferencepools.yaml",
)
_DEFS_URI = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META = f"{_DEFS_URI}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
_MAX_ISSUES = 50


@dataclass(frozen=True, order=True)
class SchemaIssue:
    """One schema violation: where (a path into the object) and what. ``unknown_kind``: no
    schema knows the object's kind (the ``unknown-kind`` rule's, not ``schema``'s)."""

    path: tuple[str | int, ...]
    message: str
    unknown_kind: bool = False

    def render(self) -> str:
        where = format_path(self.path)
        return f"{where}: {self.message}" if where else self.message


def _schema_root() -> Path:
    import kubernetes_validate

    return Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


@functools.lru_cache(maxsize=1)
def _strict_dirs() -> dict[str, Path]:
    """'1.37' -> the folder holding kubernetes-validate's strict schemas for 1.37."""
    out: dict[str, Path] = {}
    for d in _schema_root().iterdir():
        m = _VERSION_DIR.match(d.name)
        if m:
            out[f"{m.group(1)}.{m.group(2)}"] = d
    return out


def _key(v: str) -> tuple[int, int]:
    a, b = v.split(".")
    return int(a), int(b)


def supported_versions() -> tuple[str, ...]:
    """Kubernetes minor versions with bundled schemas, oldest first (e.g. '1.25' ... '1.37')."""
    return tuple(sorted(_strict_dirs(), key=_key))


def newest_versions(n: int = 3) -> tuple[str, ...]:
    """The ``n`` newest supported minor versions, oldest of them first."""
    return supported_versions()[-n:]


@functools.lru_cache(maxsize=64)
def resolve_version(kube_version: str) -> str:
    """Normalise '1.37', 'v1.37', '1.37.2' to a supported minor ('1.37'); InputError otherwise."""
    m = re.fullmatch(r"v?(\d{1,3})\.(\d{1,3})(?:\.\d+)?", kube_version.strip())
    versions = supported_versions()
    if not m:
        raise InputError(None, [Problem("kube-version", "not a Kubernetes version: "
            f"{kube_version!r}", hint=f"use a minor version such as {versions[-1]}")])
    want = f"{int(m.group(1))}.{int(m.group(2))}"
    if want not in _strict_dirs():
        raise InputError(
            None,
            [Problem("kube-version", f"Kubernetes {want} is not among the bundled schemas "
                f"({versions[0]} to {versions[-1]})", hint=f"use a version from {versions[0]} to "
                f"{versions[-1]}")],
        )
    return want


# --- built-in kinds -------------------------------------------------------------------------


def _builtin_file(api_version: str, kind: str) -> str:
    # kubernetes-validate's naming: rbac.authorization.k8s.io/v1 -> rbac-v1; v1 -> v1
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@functools.lru_cache(maxsize=32)
def _definitions_file(version: str) -> dict[str, Any]:
    """The version's parsed ``_definitions.json`` (read once, shared by the two users below)."""
    doc: dict[str, Any] = json.loads((_strict_dirs()[version] / "_definitions.json").read_text(encoding="utf-8"))
    return doc


@functools.lru_cache(maxsize=32)
def _registry(version: str) -> Any:
    """A referencing.Registry holding the version's ``_definitions.json``."""
    from referencing import Registry, Resource

    return Resource.from_contents(_definitions_file(version)) @ Registry()


def _definitions(version: str) -> dict[str, Any]:
    defs: dict[str, Any] = _definitions_file(version)["$defs"]
    return defs


def _inline(node: Any, defs: dict[str, Any], memo: dict[str, Any], stack: tuple[str, ...]) -> Any:
    """Replace ``$ref``s into ``_definitions.json`` by the definitions themselves.

    Resolving a ``$ref`` through ``referencing`` on every validation is what makes
    validation slow; the inlined schema shares one dict per definition (no copies).
    Recursive definitions (JSONSchemaProps) keep their ``$ref``, resolved by the registry.
    """
    if isinstance(node, list):
        return [_inline(x, defs, memo, stack) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if (isinstance(ref, str) and "#/$defs/" in ref
            and ref.split("#", 1)[0] in ("", "/api/_definitions.json")):
        name = ref.split("#/$defs/", 1)[1]
        if name in defs and name not in stack:
            if name not in memo:
                memo[name] = _inline(defs[name], defs, memo, (*stack, name))
            rest = {k: v for k, v in node.items() if k not in ("$ref", "description")}
            if not rest:
                return memo[name]
            return {"allOf": [memo[name]], **_inline(rest, defs, memo, stack)}
        return {**node, "$ref": f"{_DEFS_URI}#/$defs/{name}"}
    return {k: (_inline(v, defs, memo, stack) if k not in ("enum", "const", "default", "examples")
        else v) for k, v in node.items()}


@functools.lru_cache(maxsize=1024)
def _validator(version: str, api_version: str, kind: str) -> Any | None:
    """A cached Draft 2020-12 validator for (version, apiVersion, kind); None if no schema."""
    from jsonschema import Draft202012Validator

    crd = _crd_schemas().get((api_version, kind))
    if crd is not None:
        schema = copy.deepcopy(crd)
        props = schema.setdefault("properties", {})
        props["metadata"] = _inline({"$ref": _OBJECT_META}, _definitions(version), {}, ())
        return Draft202012Validator(schema, registry=_registry(version))
    if ("\\" in api_version or ".." in api_version or "\x00" in api_version or "/" in kind
            or "\\" in kind):
        return None
    fname = _builtin_file(api_version, kind)
    if "/" in fname:
        return None
    path = _strict_dirs()[version] / fname
    if not path.is_file() or path.name.startswith("_"):
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    gvks = schema.get("x-kubernetes-group-version-kind") or []
    if not any(_gvk_api_version(g) == api_version and g.get("kind") == kind for g in gvks):
        return None  # a sub-schema file (e.g. podspec-v1.json) or a group that only shares a prefix
    schema = _inline(schema, _definitions(version), {}, ())
    return Draft202012Validator(schema, registry=_registry(version))


def _gvk_api_version(g: dict[str, Any]) -> str:
    group, version = g.get("group", ""), g.get("version", "")
    return f"{group}/{version}" if group else str(version)


# --- CRDs -----------------------------------------------------------------------------------


def _crd_dir() -> Path:
    return Path(str(resources.files("scaleplan"))) / "data" / "crds"


def _to_json_schema(node: Any) -> Any:
    """OpenAPI v3 (structural CRD schema) -> JSON Schema, forbidding unknown fields."""
    if isinstance(node, list):
        return [_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("description", "x-kubernetes-validations", "x-kubernetes-list-type",
                "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
                "x-kubernetes-embedded-resource"):
            continue
        if k in ("properties", "patternProperties"):
            out[k] = {name: _to_json_schema(sub) for name, sub in v.items()}
        elif k in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[k] = _to_json_schema(v)
        else:
            out[k] = v
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.pop("x-kubernetes-int-or-string", False) and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=1)
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, for every served version of the bundled CRDs."""
    from scaleplan.yamlio import parse_yaml_documents, read_text

    out: dict[tuple[str, str], dict[str, Any]] = {}
    for name in CRD_FILES:
        path = _crd_dir() / name
        for doc in parse_yaml_documents(read_text(path, what="CRD"), str(path), what="CRD"):
            crd = doc.data
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for ver in crd["spec"]["versions"]:
                if not ver.get("served", True):
                    continue
                schema = _to_json_schema(ver["schema"]["openAPIV3Schema"])
                schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
                out[(f"{group}/{ver['name']}", kind)] = schema
    return out


def crd_kinds() -> tuple[tuple[str, str], ...]:
    """(apiVersion, kind) pairs checked against bundled CRD schemas."""
    return tuple(sorted(_crd_schemas()))


# --- public API -----------------------------------------------------------------------------


def _message(err: Any) -> str:
    msg = str(err.message)
    if len(msg) > 300:
        msg = msg[:297] + "..."
    return msg


def schema_issues(obj: Any, kube_version: str) -> list[SchemaIssue]:
    """Schema problems of one object (sorted, at most 50); [] when it validates."""
    version = resolve_version(kube_version)
    if not isinstance(obj, dict):
        return [SchemaIssue((), f"a Kubernetes object must be a mapping, got {type(obj).__name__}")]
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    missing = [k for k, v in (("apiVersion", api_version), ("kind", kind)) if not isinstance(v, str)
        or not v]
    if missing:
        return [SchemaIssue((k,), f"'{k}' is missing or not a string") for k in missing]
    assert isinstance(api_version, str) and isinstance(kind, str)
    validator = _validator(version, api_version, kind)
    if validator is None:
        return [SchemaIssue(("kind",), f"no schema for kind {kind} with apiVersion {api_version} "
            f"in Kubernetes {version} or the bundled CRDs; it cannot be validated",
            unknown_kind=True)]
    issues: list[SchemaIssue] = []
    for err in validator.iter_errors(obj):
        issues.append(SchemaIssue(tuple(err.absolute_path), _message(err)))
        if len(issues) >= 10 * _MAX_ISSUES:
            break
    return sorted(set(issues), key=lambda i: (tuple(str(p) for p in i.path), i.message))[:_MAX_ISSUES]


def validate_object(obj: dict[str, Any], kube_version: str) -> list[str]:
    """Validate one object; return error strings ("path: message"), [] when valid.

    Built-in kinds use kubernetes-validate's strict schemas for ``kube_version`` ('1.37',
    'v1.36', '1.35.2'); KEDA, Karpenter, ServiceMonitor, HTTPRoute and InferencePool kinds use the bundled
    upstream CRD schemas;
    any other kind gives one error. Raises InputError for an unsupported ``kube_version``.
    """
    return [i.render() for i in schema_issues(obj, kube_version)]
