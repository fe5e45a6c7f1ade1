"""Schema rules (``schema``, ``unknown-kind``): a thin adapter over
:mod:`scaleplan.check.schema_cache`, which holds the cached validators (kubernetes-validate's
strict schemas and the bundled CRDs)."""

from __future__ import annotations

from collections.abc import Iterable

from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.yamlio import format_path


def supported_versions() -> tuple[str, ...]:
    from scaleplan.check.schema_cache import supported_versions as sv

    return sv()


def schema_findings(
    objects: Iterable[K8sObject],
    kube_version: str,
    schema_rule: Rule | None,
    unknown_rule: Rule | None,
) -> list[Finding]:
    from scaleplan.check.schema_cache import schema_issues

    out: list[Finding] = []
    for o in objects:
        for issue in schema_issues(dict(o.data), kube_version):
            if issue.unknown_kind:
                if unknown_rule is not None:
                    out.append(
                        o.finding(
                            unknown_rule, f"{o.api_version} {o.kind}: {issue.message}", ("kind",)
                        )
                    )
                continue
            if schema_rule is None:
                continue
            where = format_path(issue.path)
            msg = f"{where}: {issue.message}" if where else issue.message
            out.append(o.finding(schema_rule, msg, issue.path))
    return out
