"""action.yml's check step run as GitHub runs a composite step with ``shell: bash``:
``bash --noprofile --norc -eo pipefail {0}`` (fail-fast). The scaleplan it calls is this
checkout's (the interpreter's bin folder), so no install is needed (tests/test_ci_install.py
installs for real, but only with SCALEPLAN_INSTALL_TESTS=1, and runs the step without -e)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from check_helpers import CLEAN, container, mutated

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ERROR = mutated(lambda d: container(d).update(image="vllm"))  # image-tag: one error

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or not (BIN / "scaleplan").exists(),
    reason="needs bash and the scaleplan command line next to the interpreter",
)


def _run_step(tmp_path: Path, paths: str) -> tuple[subprocess.CompletedProcess[str], str]:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("name") == "scaleplan check")
    assert step["shell"] == "bash"
    script = tmp_path / "step.sh"
    script.write_text(str(step["run"]), encoding="utf-8")
    out = tmp_path / "github_output"
    out.write_text("")
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "GITHUB_OUTPUT": str(out),
        "SCALEPLAN_PATHS": paths,
        "SCALEPLAN_PLAN": "",
        "SCALEPLAN_KUBE_VERSION": "1.37",
        "SCALEPLAN_FAIL_ON": "error",
        "SCALEPLAN_ARGS": "",
        "SCALEPLAN_SARIF": "scaleplan.sarif",
    }
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    return proc, out.read_text()


def _folders(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    shutil.copy(CLEAN, tmp_path / "good" / "app.yaml")
    (tmp_path / "bad" / "bad.yaml").write_text(ERROR)


def test_findings_still_write_sarif_and_the_exit_code_under_fail_fast_bash(tmp_path: Path) -> None:
    """With findings, the step must record exit-code=1 and write the SARIF the next step
    uploads; under GitHub's -e the first failing `scaleplan check` ended the step before."""
    _folders(tmp_path)
    proc, outputs = _run_step(tmp_path, "good/ bad/")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the "Result" step fails the job
    assert "exit-code=1" in outputs, (outputs, proc.stdout, proc.stderr)
    sarif = json.loads((tmp_path / "scaleplan.sarif").read_text())
    assert sarif["runs"][0]["results"], sarif


def test_paths_on_several_lines_are_all_checked(tmp_path: Path) -> None:
    """`paths: |` with one path a line (the usual YAML block) checks every line, not the first."""
    _folders(tmp_path)
    proc, outputs = _run_step(tmp_path, "good/\nbad/\n")
    assert "exit-code=1" in outputs, (outputs, proc.stdout, proc.stderr)
    assert "file=bad/bad.yaml" in proc.stdout, proc.stdout


def test_each_run_of_the_action_can_upload_under_its_own_category() -> None:
    """UX trial 21 F10: a repository with two services (one plan each) runs the action twice;
    the upload's category was fixed (scaleplan-check), so the second upload replaced the first's
    code scanning alerts for the commit. The category is an input now (default unchanged), and
    docs/ci.md lists it with the two-plan example."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["inputs"]["sarif-category"]["default"] == "scaleplan-check"
    upload = next(s for s in action["runs"]["steps"] if s.get("name") == "Upload SARIF")
    assert upload["with"]["category"] == "${{ inputs.sarif-category }}"
    ci = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    assert "`sarif-category` (default\n`scaleplan-check`)" in ci
    assert ci.count("sarif-category: scaleplan-") == 2
