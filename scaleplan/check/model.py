"""Data types of ``scaleplan check``: rules, findings, the parsed objects and the report.

Plain frozen dataclasses (not pydantic): a check of 1,000 manifests creates tens of thousands
of these, and they never come from untrusted input directly.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from scaleplan.yamlio import Document, PathKey, format_path

if TYPE_CHECKING:
    from scaleplan.plan import Plan

Severity = Literal["error", "warning"]
SEVERITY_RANK: dict[str, int] = {"warning": 1, "error": 2}
IGNORE_ANNOTATION = "scaleplan.dev/ignore"


@dataclass(frozen=True)
class Rule:
    """A check: stable id, default severity, the reason in one line and how to fix it."""

    id: str
    severity: Severity
    category: str  # schema, resources, image, probes, selectors, availability, autoscaling, monitoring, security, gpu, plan, pod-security
    reason: str
    hint: str
    default: bool = True  # enabled unless --disable; False: only with --enable
    needs_plan: bool = False
    polaris: tuple[
        str, ...
    ] = ()  # Polaris check ids this rule agrees with (tests/test_check_polaris.py)
    kube_linter: tuple[str, ...] = ()  # kube-linter checks it covers (documentation only)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "category": self.category,
            "reason": self.reason,
            "hint": self.hint,
            "default": self.default,
            "needs_plan": self.needs_plan,
            "polaris": list(self.polaris),
            "kube_linter": list(self.kube_linter),
        }


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    hint: str
    file: str
    line: int  # 1-based
    kind: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""  # YAML path inside the object, e.g. spec.template.spec.containers[0].image
    headline: bool = False  # explains the findings after it: reported first, whatever its file

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}" if self.kind else ""

    def sort_key(self) -> tuple[bool, str, int, str, str, str]:
        return (not self.headline, self.file, self.line, self.rule, self.object, self.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "path": self.path,
        }


@dataclass(frozen=True)
class K8sObject:
    """One Kubernetes object from a manifest file, with where it is."""

    data: Mapping[str, Any]
    doc: Document
    prefix: PathKey = ()  # path of the object inside its document (items of a kind: List)

    @property
    def file(self) -> str:
        return self.doc.file

    @functools.cached_property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @functools.cached_property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @functools.cached_property
    def group(self) -> str:
        api = self.api_version
        return api.split("/", 1)[0] if "/" in api else ""

    @functools.cached_property
    def metadata(self) -> Mapping[str, Any]:
        md = self.data.get("metadata")
        return md if isinstance(md, Mapping) else {}

    @functools.cached_property
    def name(self) -> str:
        n = self.metadata.get("name")
        if n is None:
            n = self.metadata.get("generateName", "")
        return str(n)

    @functools.cached_property
    def namespace(self) -> str:
        ns = self.metadata.get("namespace")
        return str(ns) if ns is not None else ""

    @functools.cached_property
    def ignored(self) -> frozenset[str]:
        ann = self.metadata.get("annotations")
        if not isinstance(ann, Mapping):
            return frozenset()
        raw = ann.get(IGNORE_ANNOTATION)
        if not isinstance(raw, str):
            return frozenset()
        return frozenset(p.strip() for p in raw.split(",") if p.strip())

    def line(self, path: PathKey = ()) -> int:
        return self.doc.lines.line_of((*self.prefix, *path))

    def finding(
        self, rule: Rule, message: str, path: PathKey = (), *, hint: str | None = None
    ) -> Finding:
        return Finding(
            rule=rule.id,
            severity=rule.severity,
            message=message,
            hint=rule.hint if hint is None else hint,
            file=self.file,
            line=self.line(path),
            kind=self.kind,
            name=self.name,
            namespace=self.namespace,
            path=format_path(path),
        )


@dataclass(frozen=True)
class CheckReport:
    """What ``check_paths`` found. ``failed(threshold)`` decides the exit code."""

    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    objects: int
    kube_version: str
    rules: tuple[Rule, ...]  # the rules that ran
    drift_checked: bool = False
    # the documents left out, each "FILE (document N): why" (scaleplan's own files; with
    # --only-manifests, anything that is not a Kubernetes object): the gate decides on these
    skipped: tuple[str, ...] = field(default=())
    # the plan drift was checked against, as read (None without --plan): check's warnings
    # about it (inputs.plan_warnings) use it instead of reading the file again
    plan: Plan | None = field(default=None, compare=False, repr=False)

    @property
    def notes(self) -> tuple[str, ...]:
        """The report's notes as written (text and JSON): one per skipped document."""
        return tuple(f"skipped {s}" for s in self.skipped)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def at_or_above(self, threshold: Severity) -> tuple[Finding, ...]:
        rank = SEVERITY_RANK[threshold]
        return tuple(f for f in self.findings if SEVERITY_RANK[f.severity] >= rank)

    def failed(self, threshold: Severity = "error") -> bool:
        return bool(self.at_or_above(threshold))

    def summary(self) -> dict[str, Any]:
        by_rule: dict[str, int] = {}
        for f in self.findings:
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        return {
            "files": len(self.files),
            "objects": self.objects,
            "findings": len(self.findings),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "by_rule": dict(sorted(by_rule.items())),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "kube_version": self.kube_version,
            "drift_checked": self.drift_checked,
            "summary": self.summary(),
            "findings": [f.to_json() for f in self.findings],
            "files": list(self.files),
            "rules": [r.id for r in self.rules],
            "notes": list(self.notes),
        }
