"""Report formats: text, JSON, JUnit XML, SARIF 2.1.0 and GitHub workflow commands.

All are pure functions of the report (JUnit takes its timestamp and hostname as arguments, the
only fields the JUnit XSD requires that are not in the report), sorted, and byte-identical for
identical input.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from scaleplan._version import __version__
from scaleplan.check.model import SEVERITY_RANK, CheckReport, Finding, Rule, Severity
from scaleplan.check.rules import RULES
from scaleplan.safetext import printable, xml_text
from scaleplan.wording import counted

FORMATS = ("text", "json", "junit", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def format_report(
    report: CheckReport,
    fmt: str,
    *,
    fail_on: Severity = "error",
    timestamp: str = "1970-01-01T00:00:00",
    hostname: str = "localhost",
) -> str:
    if fmt == "text":
        return text(report, fail_on=fail_on)
    if fmt == "json":
        return (
            json.dumps(
                {**report.to_json(), "fail_on": fail_on, "failed": report.failed(fail_on)},
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    if fmt == "junit":
        return junit(report, timestamp=timestamp, hostname=hostname)
    if fmt == "sarif":
        return json.dumps(sarif(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        return github(report)
    raise ValueError(fmt)


# --- text ---------------------------------------------------------------------------------


def text(report: CheckReport, *, fail_on: Severity = "error") -> str:
    """One compact, greppable line per finding (``file:line: severity [rule] Kind/name: ...``)."""
    lines = []
    for f in report.findings:
        obj = f" {printable(f.object)}:" if f.object else ""
        lines.append(f"{printable(f.file)}:{f.line}: {f.severity} [{f.rule}]{obj} "
            f"{printable(f.message)} (fix: {printable(f.hint)})")
    lines += [f"note: {printable(n)}" for n in report.notes]
    s = report.summary()
    verdict = "FAILED" if report.failed(fail_on) else "passed"
    drift = ", drift checked against the plan" if report.drift_checked else ""
    lines.append(
        f"{verdict}: {counted(s['errors'], 'error')}, {counted(s['warnings'], 'warning')} in "
            f"{counted(s['objects'], 'object')} from {counted(s['files'], 'file')} "
        # of how many: the SARIF's tool.driver.rules lists all, off by default too (UX trial 21 F9)
        f"(Kubernetes {report.kube_version}, {len(report.rules)} of {len(RULES)} rules run, "
        f"fail on {fail_on}{drift})"
    )
    return "\n".join(lines) + "\n"


# --- JUnit --------------------------------------------------------------------------------


def junit(report: CheckReport, *, timestamp: str, hostname: str) -> str:
    """Ant-style JUnit XML (validates against windyroad's JUnit.xsd): one testsuite per file,
    one testcase per (object, rule) that failed plus one passing testcase per clean object."""
    by_file: dict[str, list[Finding]] = {f: [] for f in report.files}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for sid, file in enumerate(sorted(by_file)):
        findings = by_file[file]
        cases: list[str] = []
        for f in findings:
            name = xml_text(f"{f.object or 'file'} {f.rule}")
            body = escape(xml_text(f"{f.file}:{f.line}: {f.message}\nfix: {f.hint}"))
            tag = "failure"
            cases.append(
                f'    <testcase name={quoteattr(name)} '
                    f'classname={quoteattr(xml_text(_classname(file)))} time="0">\n'
                f"      <{tag} message={quoteattr(xml_text(f'{f.file}:{f.line}: {f.message}'))} "
                    f"type={quoteattr(f'{f.severity}:{f.rule}')}>{body}</{tag}>\n"
                "    </testcase>"
            )
        if not findings:
            cases.append(
                f'    <testcase name={quoteattr("all rules")} '
                    f'classname={quoteattr(xml_text(_classname(file)))} time="0"/>'
            )
        attrs = (
            f'name={quoteattr(xml_text(file))} package={quoteattr("scaleplan.check")} id="{sid}" '
                f'timestamp={quoteattr(timestamp)} '
            f'hostname={quoteattr(hostname)} tests="{len(cases)}" failures="{len(findings)}" '
                'errors="0" time="0"'
        )
        out.append(f"  <testsuite {attrs}>")
        out.append("    <properties>")
        out.append(f'      <property name="kube_version" value={quoteattr(report.kube_version)}/>')
        out.append(f'      <property name="scaleplan_version" value={quoteattr(__version__)}/>')
        out.append("    </properties>")
        out.extend(cases)
        out.append("    <system-out/>")
        out.append("    <system-err/>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _classname(file: str) -> str:
    return PurePath(file).as_posix().replace("/", ".") if file != "-" else "stdin"


# --- SARIF --------------------------------------------------------------------------------

_LEVEL = {"error": "error", "warning": "warning"}


def _relpath(file: str) -> str:
    return "stdin" if file == "-" else PurePath(file).as_posix().removeprefix("./")


def _uri(file: str) -> str:
    # SARIF artifactLocation.uri is a URI reference (RFC 3986): percent-encode the path
    return quote(_relpath(file), safe="/")


def _rule_json(r: Rule) -> dict[str, Any]:
    props: dict[str, Any] = {"category": r.category, "tags": ["kubernetes", r.category]}
    if r.polaris:
        props["polaris"] = list(r.polaris)
    if r.kube_linter:
        props["kube-linter"] = list(r.kube_linter)
    return {
        "id": r.id,
        "name": "".join(p.capitalize() for p in r.id.split("-")),
        "shortDescription": {"text": r.reason},
        "fullDescription": {"text": r.reason},
        "help": {"text": f"Fix: {r.hint}", "markdown": f"**Fix:** {r.hint}"},
        "defaultConfiguration": {"level": _LEVEL[r.severity], "enabled": r.default},
        "properties": props,
    }


def sarif(report: CheckReport) -> dict[str, Any]:
    index = {r.id: i for i, r in enumerate(RULES)}
    results = []
    artifacts = sorted({_uri(f.file) for f in report.findings} | {_uri(f) for f in report.files})
    art_index = {a: i for i, a in enumerate(artifacts)}
    for f in report.findings:
        uri = _uri(f.file)
        loc: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": uri, "uriBaseId": "SRCROOT", "index": art_index[uri]},
                "region": {"startLine": max(1, f.line)},
            }
        }
        if f.object:
            loc["logicalLocations"] = [
                {
                    "name": f.name,
                    "fullyQualifiedName": f"{f.namespace + '/' if f.namespace else ''}{f.kind}/{f.name}",
                    "kind": "object",
                }
            ]
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _LEVEL[f.severity],
                "message": {
                    "text": f"{f.object + ': ' if f.object else ''}{f.message}. Fix: {f.hint}"
                },
                "locations": [loc],
                "partialFingerprints": {"scaleplanFinding/v1": _fingerprint(f)},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "scaleplan",
                        "semanticVersion": __version__,
                        "version": __version__,
                        "rules": [_rule_json(r) for r in RULES],
                    }
                },
                "originalUriBaseIds": {
                    "SRCROOT": {"description": {"text": "The folder scaleplan check ran in."}}
                },
                "artifacts": [{"location": {"uri": a, "uriBaseId": "SRCROOT"}} for a in artifacts],
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {
                    "kubeVersion": report.kube_version,
                    "driftChecked": report.drift_checked,
                    "rulesRun": [r.id for r in report.rules],  # the text's "N of M rules run"
                },
            }
        ],
    }


def _fingerprint(f: Finding) -> str:
    import hashlib

    return hashlib.sha256(
        f"{f.rule}|{f.file}|{f.kind}|{f.namespace}|{f.name}|{f.path}|{f.message}".encode()
    ).hexdigest()[:32]


# --- GitHub workflow commands ---------------------------------------------------------------


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")


def github(report: CheckReport) -> str:
    """``::error file=F,line=L,title=T::message`` per finding (warnings as ``::warning``)."""
    lines = []
    for f in report.findings:
        cmd = "error" if SEVERITY_RANK[f.severity] >= SEVERITY_RANK["error"] else "warning"
        title = f"{f.rule}" + (f" ({printable(f.object)})" if f.object else "")
        msg = f"{printable(f.message)}\nfix: {printable(f.hint)}"
        lines.append(
            f"::{cmd} file={_gh_prop(printable(_relpath(f.file)))},line={max(1, f.line)},title={_gh_prop(title)}::{_gh_data(msg)}"
        )
    s = report.summary()
    lines.append(
        f"scaleplan check: {counted(s['errors'], 'error')}, {counted(s['warnings'], 'warning')} in "
            f"{counted(s['objects'], 'object')}"
    )
    return "\n".join(lines) + "\n"


def rules_json() -> dict[str, Any]:
    """``check --list-rules --json``."""
    return {"rules": [r.to_json() for r in RULES]}


def rules_table(*, wide: bool = False) -> str:
    """``check --list-rules``: id, severity, default and category (``wide``: reason, fix and
    the Polaris checks each rule matches)."""
    from scaleplan.table import Column, table_text

    cols = [
        Column("rule"),
        Column("severity"),
        Column("default"),
        Column("category"),
        Column("reason", wide=True),
        Column("fix", wide=True),
        Column("polaris", wide=True),
    ]
    rows = [
        [
            r.id,
            r.severity,
            ("on" if r.default else "off") + (" (--plan)" if r.needs_plan else ""),
            r.category,
            r.reason,
            r.hint,
            ", ".join(r.polaris),
        ]
        for r in RULES
    ]
    text = table_text(cols, rows, wide=wide)
    if not wide:
        text += "(--wide for the reason and fix of each rule; docs/ci.md lists them too)\n"
    return text
