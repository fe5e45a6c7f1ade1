"""Issue 19, group 7: CI output cannot be hijacked by names in the checked files or by
catalog data: control characters are escaped in text/github output, XML stays well-formed,
SARIF URIs are percent-encoded (docs/hardening.md)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from check_helpers import by_kind, mutated

ESC = "\x1b]0;pwned\x07\x1b[31m"


def _hostile(tmp_path: Path, file_name: str = "app.yaml") -> Path:
    def fn(docs):
        d = by_kind(docs, "Deployment")
        d["metadata"]["name"] = f"vision{ESC}\x00x"
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "vllm/vllm-openai:latest"

    f = tmp_path / file_name
    f.write_text(mutated(fn), encoding="utf-8")
    return f


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_text_and_github_formats_escape_control_characters(tmp_path: Path, cli, fmt: str) -> None:
    f = _hostile(tmp_path, "evil\x1b[2Jname.yaml")
    r = cli(["check", str(f), "--format", fmt], exit_code=1)
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\x00" not in r.stdout
    assert "\\x1b" in r.stdout


def test_junit_is_well_formed_with_control_characters(tmp_path: Path, cli) -> None:
    f = _hostile(tmp_path, "evil\x01name.yaml")
    r = cli(["check", str(f), "--format", "junit"], exit_code=1)
    root = ET.fromstring(r.stdout)  # raises on a document that is not well-formed
    assert root.tag == "testsuites"
    assert "\\x1b" in r.stdout


def test_sarif_uris_are_percent_encoded(tmp_path: Path, cli) -> None:
    f = _hostile(tmp_path, "my app #1 %.yaml")
    r = cli(["check", str(f), "--format", "sarif"], exit_code=1)
    doc = json.loads(r.stdout)
    uris = [res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in doc["runs"][0]["results"]]
    assert uris and all("my%20app%20%231%20%25.yaml" in u and " " not in u for u in uris)


def test_catalog_rows_with_escape_sequences_are_refused(tmp_path: Path, cli) -> None:
    """`catalog list` printed ESC/OSC sequences from catalog rows."""
    cat = tmp_path / "cat.yaml"
    cat.write_text(
        "apiVersion: scaleplan/v1\nkind: Catalog\nprovenance: {source: test}\ninstances:\n"
        "- provider: gcp\n  region: us-central1\n  instance_type: \"g2-standard-4\\e]0;pwned\\a\"\n  family: g2\n"
        "  accelerator: L4\n  accelerator_count: 1\n  vcpus: 4\n  memory_gib: 16\n  price_ondemand: 1.0\n",
        encoding="utf-8",
    )
    r = cli(["catalog", "list", "--catalog", str(cat)], exit_code=3)
    assert "\x1b" not in r.stdout + r.stderr and "control characters" in r.stderr
