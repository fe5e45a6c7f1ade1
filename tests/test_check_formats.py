"""Report formats: SARIF against the OASIS schema, JUnit against the XSD, GitHub commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from check_helpers import Docs, container, mutated, pod
from tables_helpers import shipped_tables

from scaleplan.catalog.model import Catalog
from scaleplan.check import check_paths, check_text
from scaleplan.check.formats import format_report, github, junit, sarif

FORMATS = Path(__file__).parent / "data" / "check" / "formats"
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"


def _broken(docs: Docs) -> None:
    del container(docs)["readinessProbe"]
    container(docs)["image"] = "vllm/vllm-openai:latest"
    container(docs)["securityContext"]["readOnlyRootFilesystem"] = False
    pod(docs)["hostIPC"] = True


@pytest.fixture
def broken_report(tmp_path: Path):  # type: ignore[no-untyped-def]
    # A multi-document file with a leading comment and a clean document first, so the line
    # numbers of the broken Deployment are well inside the file.
    clean = (Path(__file__).parent / "data" / "check" / "clean" / "app.yaml").read_text()
    f = tmp_path / "multi.yaml"
    f.write_text(
        clean
        + "---\n# second copy, broken\n"
        + mutated(_broken)
        .replace("name: llm-g6-xlarge", "name: llm-two", 1)
        .replace("name: llm\n", "name: llm-b\n")
    )
    return check_paths([f], catalog=shipped_tables()), f


def test_sarif_validates_against_oasis_schema(tables: Catalog, broken_report) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    report, _ = broken_report
    assert report.findings
    doc = sarif(report)
    schema = json.loads((FORMATS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == len(report.findings)
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    # scaleplan is not published at a URL: no link points to one (the rule's fix is inline)
    assert "informationUri" not in doc["runs"][0]["tool"]["driver"]
    assert not any("helpUri" in rule for rule in rules)
    assert "github.com" not in json.dumps(doc)
    assert all(rule["help"]["text"].startswith("Fix: ") for rule in rules)
    # the rules that ran, of all: the text's "N of M rules run" and the SARIF agree (UX trial
    # 21 F9: "51 rules" in the text, 67 in tool.driver.rules, without saying what each counts)
    ran = [r.id for r in report.rules]
    assert doc["runs"][0]["properties"]["rulesRun"] == ran and 0 < len(ran) < len(rules)
    said = f"{len(ran)} of {len(rules)} rules run, fail on error)"
    assert format_report(report, "text").splitlines()[-1].endswith(said)
    # an empty report validates too
    jsonschema.Draft4Validator(schema).validate(
        sarif(check_text(CONFIG_MAP, "c.yaml", catalog=tables))
    )


def test_sarif_invalid_document_is_rejected_by_the_schema() -> None:
    """The validation above can fail: a result without a message is not SARIF."""
    import jsonschema

    schema = json.loads((FORMATS / "sarif-schema-2.1.0.json").read_text())
    bad = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "a"}]}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(bad)


def test_junit_validates_against_xsd(tables: Catalog, broken_report) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    report, _ = broken_report
    xsd = etree.XMLSchema(etree.parse(str(FORMATS / "JUnit.xsd")))
    xml = junit(report, timestamp="2026-01-02T03:04:05", hostname="ci")
    doc = etree.fromstring(xml.encode())
    assert xsd.validate(doc), xsd.error_log
    assert len(doc.findall(".//failure")) == len(report.findings)
    clean = check_text(CONFIG_MAP, "c.yaml", catalog=tables)
    assert xsd.validate(
        etree.fromstring(junit(clean, timestamp="2026-01-02T03:04:05", hostname="ci").encode())
    ), xsd.error_log
    # and the XSD does reject a broken report (the check can fail)
    assert not xsd.validate(
        etree.fromstring(xml.replace(' timestamp="2026-01-02T03:04:05"', "").encode())
    )


def test_github_commands_point_at_lines_in_multi_document_file(broken_report) -> None:  # type: ignore[no-untyped-def]
    report, f = broken_report
    lines = f.read_text().splitlines()
    out = github(report).splitlines()
    cmds = [line for line in out if line.startswith("::")]
    assert len(cmds) == len(report.findings) >= 4
    expect = {
        "image-tag": "image: vllm/vllm-openai:latest",
        "writable-root-fs": "readOnlyRootFilesystem: false",
        "host-ipc": "hostIPC: true",
    }
    for finding, cmd in zip(report.findings, cmds, strict=True):
        assert cmd.startswith(f"::{finding.severity} file=")
        line = int(cmd.split(",line=")[1].split(",")[0])
        assert line > 100  # in the second half of the file
        if finding.rule in expect:
            assert expect[finding.rule] in lines[line - 1], (finding.rule, lines[line - 1])


def test_github_escaping(tables: Catalog) -> None:
    from scaleplan.check.formats import _gh_data, _gh_prop

    assert _gh_data("50% a\r\nb") == "50%25 a%0D%0Ab"
    assert _gh_prop("a:b,c%") == "a%3Ab%2Cc%25"
    text = mutated(lambda d: container(d).update(image="x"))
    report = check_text(text, "dir,1/a:b.yaml", catalog=tables)
    cmd = github(report).splitlines()[0]
    assert cmd.startswith("::error file=dir%2C1/a%3Ab.yaml,line=")
    assert "\n" not in cmd and "%0Afix: " in cmd


def test_formats_are_deterministic(broken_report) -> None:  # type: ignore[no-untyped-def]
    report, _ = broken_report
    for fmt in ("text", "json", "sarif", "github", "junit"):
        assert format_report(report, fmt) == format_report(report, fmt)
    data = json.loads(format_report(report, "json"))
    assert data["summary"]["findings"] == len(report.findings)
    assert data["failed"] is True
    assert {"rule", "severity", "message", "hint", "file", "line", "kind", "name"} <= set(
        data["findings"][0]
    )


def test_formats_carry_the_pod_security_rules(tables: Catalog, tmp_path: Path) -> None:
    """--pod-security findings in SARIF (their rule in the driver, the result pointing at it),
    JUnit (a failure typed error:RULE; the XSD still validates) and GitHub (an ::error at the
    line of the field) as for any rule."""
    import jsonschema
    from lxml import etree

    def unsafe(docs: Docs) -> None:
        container(docs)["securityContext"].pop("allowPrivilegeEscalation")
        pod(docs)["securityContext"]["sysctls"] = [{"name": "kernel.msgmax", "value": "1"}]

    f = tmp_path / "dep.yaml"
    f.write_text(mutated(unsafe))
    report = check_paths([f], catalog=tables, pod_security="restricted")
    pss = [x for x in report.findings if x.rule.startswith("pss-")]
    assert {x.rule for x in pss} == {"pss-privilege-escalation", "pss-sysctls"}
    doc = sarif(report)
    schema = json.loads((FORMATS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["pss-sysctls"]["defaultConfiguration"] == {"level": "error", "enabled": False}
    assert by_id["pss-sysctls"]["properties"]["category"] == "pod-security"
    results = [r for r in doc["runs"][0]["results"] if r["ruleId"].startswith("pss-")]
    assert len(results) == 2
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"] and r["level"] == "error"
        assert "Pod Security restricted rejects the pod" in r["message"]["text"]
    xsd = etree.XMLSchema(etree.parse(str(FORMATS / "JUnit.xsd")))
    xml = junit(report, timestamp="2026-01-02T03:04:05", hostname="ci")
    assert xsd.validate(etree.fromstring(xml.encode())), xsd.error_log
    assert 'type="error:pss-sysctls"' in xml and 'type="error:pss-privilege-escalation"' in xml
    lines = f.read_text().splitlines()
    cmds = [c for c in github(report).splitlines() if "title=pss-" in c]
    assert len(cmds) == 2 and all(c.startswith("::error file=") for c in cmds)
    sysctl = next(c for c in cmds if "title=pss-sysctls" in c)
    assert "name: kernel.msgmax" in lines[int(sysctl.split(",line=")[1].split(",")[0]) - 1]
