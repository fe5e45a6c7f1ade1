"""Run the rules over a set of manifests: ``check_paths`` (files) and ``check_objects`` (parsed)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from scaleplan.check import (
    apiserver,
    autoscaling,
    containers,
    gpu,
    llm,
    monitoring,
    placement,
    pod_security,
    pss,
    selectors,
)
from scaleplan.check.context import DEFAULT_KUBE_VERSION, Context, InstanceTable, RuleFn
from scaleplan.check.model import CheckReport, Finding, K8sObject, Rule
from scaleplan.check.rules import RULES, RULES_BY_ID
from scaleplan.errors import InputError, Problem, option_error

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.plan import Plan



def _collect(*families: Mapping[str, RuleFn]) -> dict[str, RuleFn]:
    """One id -> function table from the rule families (an id implemented twice is a bug)."""
    out: dict[str, RuleFn] = {}
    for family in families:
        for rule_id, fn in family.items():
            assert rule_id not in out, rule_id
            out[rule_id] = fn
    return out


# schema/unknown-kind (check.schema) and drift (check.drift) run separately, below
IMPLS: dict[str, RuleFn] = _collect(
    apiserver.IMPLS,
    containers.IMPLS,
    selectors.IMPLS,
    autoscaling.IMPLS,
    pod_security.IMPLS,
    gpu.IMPLS,
    placement.IMPLS,
    llm.IMPLS,
    monitoring.IMPLS,
    pss.IMPLS,
)


def supported_kube_versions() -> tuple[str, ...]:
    from scaleplan.check.schema import supported_versions

    return supported_versions()


def normalise_kube_version(version: str) -> str:
    """``v1.33`` / ``1.33.0`` / ``1.33`` -> ``1.33``; InputError listing the supported ones otherwise."""
    v = version.strip().lstrip("vV")
    parts = v.split(".")
    ok = len(parts) in (2, 3) and all(p.isdigit() for p in parts)
    short = ".".join(parts[:2]) if ok else v
    supported = supported_kube_versions()
    if not ok or short not in supported:
        raise InputError(
            None,
            [
                Problem(
                    "--kube-version",
                    f"unsupported Kubernetes version {version!r}",
                    hint=f"use one of {', '.join(supported)}",
                )
            ],
        )
    return short


def select_rules(
    disabled: Iterable[str] = (), enabled: Iterable[str] = (), *, plan: bool = False
) -> tuple[Rule, ...]:
    """The rules that run: defaults, minus ``disabled``, plus ``enabled``; unknown ids are an error."""
    dis, en = set(disabled), set(enabled)
    unknown = sorted((dis | en) - set(RULES_BY_ID))
    if unknown:
        raise option_error(
            [
                Problem(
                    "--disable/--enable",
                    f"unknown rule {u!r}",
                    hint="see `scaleplan check --list-rules`",
                )
                for u in unknown
            ]
        )
    out = []
    for r in RULES:
        on = (r.default or r.id in en) and r.id not in dis
        if on and r.needs_plan and not plan:
            continue
        if on:
            out.append(r)
    return tuple(out)


def pod_security_level(level: str | None) -> str | None:
    """``--pod-security``: baseline or restricted (None: not given); a usage error otherwise."""
    if level is None or level in pss.LEVELS:
        return level
    message = f"must be baseline or restricted (the Pod Security Standards levels); got {level!r}"
    raise option_error([Problem("--pod-security", message)])


def _pss_enabled(
    objects: Sequence[K8sObject], pod_security: str | None, enabled: Iterable[str]
) -> list[str]:
    """``enabled`` plus every Pod Security Standards rule when --pod-security is given or a
    Namespace among ``objects`` enforces a level (they are off by default)."""
    extra = [r.id for r in RULES if r.category == "pod-security"]
    return [*enabled, *extra] if pod_security or pss.enforced(objects) else list(enabled)


def _lazy(catalog: Catalog | Callable[[], Catalog]) -> Callable[[], Catalog]:
    """``catalog``, or the one a function returns, asked for once and only when a rule or the
    drift check first needs it."""
    if callable(catalog):
        return functools.cache(catalog)
    return lambda: catalog


def check_objects(
    objects: Sequence[K8sObject],
    *,
    files: Sequence[str] = (),
    plan: Plan | None = None,
    plan_file: str | None = None,
    kube_version: str = DEFAULT_KUBE_VERSION,
    disabled_rules: Iterable[str] = (),
    enabled_rules: Iterable[str] = (),
    catalog: Catalog | Callable[[], Catalog],
    pod_security: str | None = None,
) -> CheckReport:
    """Run every selected rule over already-parsed objects. ``catalog`` holds the tables the
    rules and the drift check look up (instance types; the accelerators and AWS rows the plan
    renders with): a Catalog, or a function that returns one, called only when first needed
    (reading the shipped catalogs is the slow part of a small check; pass
    :func:`scaleplan.inputs.load_tables` itself). ``pod_security`` (baseline, restricted)
    checks every pod against that Pod Security Standard (:mod:`scaleplan.check.pss`)."""
    version = normalise_kube_version(kube_version)
    level = pod_security_level(pod_security)
    enabled_rules = list(enabled_rules)
    rules = select_rules(
        disabled_rules, _pss_enabled(objects, level, enabled_rules), plan=plan is not None
    )
    ids = {r.id for r in rules}
    tables = _lazy(catalog)
    ctx = Context(
        list(objects),
        plan=plan,
        instances=lambda: InstanceTable.from_catalog(tables()),
        pod_security=level,
        kube_version=version,
        enabled=frozenset(enabled_rules),
    )
    findings: list[Finding] = []
    if ids & {"schema", "unknown-kind"}:
        from scaleplan.check.schema import schema_findings

        findings.extend(
            schema_findings(
                ctx.objects,
                version,
                RULES_BY_ID["schema"] if "schema" in ids else None,
                RULES_BY_ID["unknown-kind"] if "unknown-kind" in ids else None,
            )
        )
    for r in rules:
        fn: Callable[[Context, Rule], Iterable[Finding]] | None = IMPLS.get(r.id)
        if fn is not None:
            findings.extend(fn(ctx, r))
    if plan is not None and "drift" in ids:
        from scaleplan.check.drift import drift_findings

        findings.extend(
            drift_findings(
                ctx.objects, plan, RULES_BY_ID["drift"], tables(), plan_file=plan_file
            )
        )
    ignored = _ignores(ctx.objects)
    kept = [
        f
        for f in findings
        if f.rule not in ignored.get((f.file, f.kind, f.namespace, f.name), frozenset())
    ]
    unique = sorted(set(kept), key=Finding.sort_key)
    return CheckReport(
        findings=tuple(unique),
        files=tuple(files) or tuple(sorted({o.file for o in objects})),
        objects=len(objects),
        kube_version=version,
        rules=rules,
        drift_checked=plan is not None and "drift" in ids,
        plan=plan,
    )


def _ignores(objects: Iterable[K8sObject]) -> dict[tuple[str, str, str, str], frozenset[str]]:
    out: dict[tuple[str, str, str, str], frozenset[str]] = {}
    for o in objects:
        ig = o.ignored
        if ig:
            key = (o.file, o.kind, o.namespace, o.name)
            out[key] = out.get(key, frozenset()) | ig
    return out


def check_paths(
    paths: Sequence[str | Path],
    *,
    plan: Plan | None = None,
    plan_file: str | None = None,
    kube_version: str = DEFAULT_KUBE_VERSION,
    disabled_rules: Iterable[str] = (),
    enabled_rules: Iterable[str] = (),
    catalog: Catalog | Callable[[], Catalog],
    stdin: IO[bytes] | None = None,
    only_manifests: bool = False,
    pod_security: str | None = None,
) -> CheckReport:
    """Check manifest files/folders (``-`` = stdin) with ``catalog``'s tables (as in
    :func:`check_objects`). Unreadable input raises ManifestError (exit 3)."""
    from scaleplan.check.loader import load_objects

    # Validate the options before reading anything (cheap errors first).
    normalise_kube_version(kube_version)
    pod_security_level(pod_security)
    select_rules(disabled_rules, enabled_rules, plan=plan is not None)
    skipped: list[str] = []
    files, objects = load_objects(paths, stdin=stdin, only_manifests=only_manifests,
        skipped=skipped)
    report = check_objects(
        objects,
        files=files,
        plan=plan,
        plan_file=plan_file,
        kube_version=kube_version,
        disabled_rules=disabled_rules,
        enabled_rules=enabled_rules,
        catalog=catalog,
        pod_security=pod_security,
    )
    if skipped:
        import dataclasses

        report = dataclasses.replace(report, skipped=(*report.skipped, *skipped))
    return report


def check_text(
    text: str,
    name: str = "<manifest>",
    *,
    catalog: Catalog | Callable[[], Catalog],
    **kwargs: object,
) -> CheckReport:
    """Check a YAML string (tests, library users) with ``catalog``'s tables."""
    from scaleplan.check.loader import objects_from_documents
    from scaleplan.yamlio import parse_yaml_documents

    objects = objects_from_documents(parse_yaml_documents(text, name, what="manifest"))
    return check_objects(objects, files=(name,), catalog=catalog,
        **kwargs)  # type: ignore[arg-type]
