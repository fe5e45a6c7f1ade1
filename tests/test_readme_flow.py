"""The README's "whole flow on a shipped example", run as written (from a folder that holds
``examples/llm-chat``, as a user's clone does)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_block(title: str) -> list[str]:
    """The command lines of the first ```bash block after the heading `title` (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    start = text.index(title)
    m = re.search(r"```bash\n(.*?)```", text[start:], re.S)
    assert m is not None, f"no bash block after {title!r}"
    lines = []
    for raw in m.group(1).splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return lines


def test_readme_whole_flow_runs_as_written(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a copy: `optimize SPEC --json` also writes `out/` next to the spec
    shutil.copytree(ROOT / "examples" / "llm-chat", tmp_path / "examples" / "llm-chat", ignore=shutil.ignore_patterns("out"))
    monkeypatch.chdir(tmp_path)
    lines = readme_block("### The whole flow on a shipped example")
    ran = []
    for line in lines:
        first, *piped = [part.strip() for part in line.split("|")]
        argv = shlex.split(first)
        if argv[0] == "scaleplan":
            res = cli(argv[1:])  # exit 0 expected for every step
            if piped and piped[0].startswith("jq"):
                key = shlex.split(piped[0])[1].lstrip(".")
                assert json.loads(res.stdout)[key] > 0
            ran.append(argv[1])
        elif argv[0] == "kubectl" and argv[1] == "kustomize" and shutil.which("kubectl"):
            out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout
            assert "kind: Deployment" in out
    assert ran == ["validate", "optimize", "optimize", "simulate", "render", "check"]
    assert (tmp_path / "out" / "llm" / "plan.yaml").is_file()
