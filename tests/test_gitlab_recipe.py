"""docs/ci.md's GitLab CI job, run as GitLab's bash shell runs ``script`` (``set -eo
pipefail``) on rendered manifests that a hand edit broke: the job fails with check's exit code
and still leaves the JUnit report ``artifacts: when: always`` uploads, byte-identical on a
rerun under the job's SOURCE_DATE_EPOCH. (UX trial 35: docs/ci.md had GitHub Actions and
pre-commit only, and the persona's CI is GitLab.) The ``before_script`` install is not run:
the scaleplan called is this checkout's, next to the interpreter."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or not (BIN / "scaleplan").exists(),
    reason="needs bash and the scaleplan command line next to the interpreter",
)


def _job() -> dict:
    ci = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# \.gitlab-ci\.yml\n.*?)```", ci, re.S)
    assert len(blocks) == 1, "docs/ci.md: one ```yaml block starting '# .gitlab-ci.yml'"
    return yaml.safe_load(blocks[0])["scaleplan-check"]


def _run(job: dict, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(cwd),
        **{k: str(v) for k, v in job.get("variables", {}).items()},
    }
    script = "set -eo pipefail\n" + "\n".join(job["script"]) + "\n"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_the_gitlab_job_fails_on_a_hand_edit_and_keeps_its_junit_report(tmp_path: Path) -> None:
    job = _job()
    assert job["artifacts"]["when"] == "always"
    report = tmp_path / job["artifacts"]["reports"]["junit"]
    (tmp_path / "plans" / "chat").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "llm-chat" / "plan.yaml", tmp_path / "plans" / "chat")
    render = subprocess.run(
        [str(BIN / "scaleplan"), "render", "plans/chat/plan.yaml", "--out", "deploy"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )
    assert render.returncode == 0, render.stderr
    clean = _run(job, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "<failure" not in report.read_text(encoding="utf-8")

    # the hand edit: a memory request raised past its limit (drift, and the API server refuses it)
    deployment = sorted((tmp_path / "deploy").glob("deployment-*.yaml"))[0]
    doc = yaml.safe_load(deployment.read_text(encoding="utf-8"))
    res = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
    res["requests"]["memory"] = "4096Gi"
    deployment.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    report.unlink()
    failed = _run(job, tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    first = report.read_bytes()
    assert b'type="error:api-rejects"' in first and b'type="error:drift"' in first, first
    assert b'timestamp="1970-01-01T00:00:00"' in first
    assert _run(job, tmp_path).returncode == 1
    assert report.read_bytes() == first
