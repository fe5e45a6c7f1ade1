"""CI that installs (issue 13, finding 5), run for real:

- a fresh virtualenv gets scaleplan's command line exactly as ``action.yml`` installs it (its own
  install step, run with bash), then the action's check step runs on a manifests folder and
  writes SARIF and annotations;
- the same command line installs from a git URL at a tag (the docs/ci.md command);
- the ``scaleplan-check`` hook runs under ``pre-commit try-repo`` on a folder holding manifests
  *and* a scaleplan spec, plan and profile, and checks only the manifests.

The source is a temporary git repository made of the working tree's files (tracked and new, not
ignored), so what is tested is what would be pushed. Needs pip to reach a package index (or
the local wheel mirror) and git; skipped without them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tables_helpers import shipped_tables

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "embedding-cpu-gpu"

pytestmark = pytest.mark.slow

# Three fresh installs (the action's venv, the hook's env twice): minutes, so only where asked
# for; .ci/run asks (CI runs it on every push).
if os.environ.get("SCALEPLAN_INSTALL_TESTS") != "1":
    pytest.skip("set SCALEPLAN_INSTALL_TESTS=1 to install scaleplan as the Action and the hook do", allow_module_level=True)
if shutil.which("git") is None or shutil.which("bash") is None:
    pytest.skip("needs git and bash", allow_module_level=True)


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))}
    env.update(kw.pop("env", {}) or {})  # type: ignore[call-overload]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False, **kw)  # type: ignore[call-overload]


def _git(cwd: Path, *args: str) -> None:
    proc = _run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args], cwd=cwd)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as a fresh git repository, tagged v0.0.0-test."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    src = tmp_path_factory.mktemp("src") / "scaleplan"
    for rel in filter(None, listed.stdout.split("\0")):
        f = ROOT / rel
        if f.is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, src / rel)
    _git(src, "init", "-q", "-b", "main")
    _git(src, "add", "-A")
    _git(src, "commit", "-q", "-m", "snapshot")
    _git(src, "tag", "v0.0.0-test")
    return src


def _step(name: str) -> dict[str, object]:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    return next(s for s in action["runs"]["steps"] if s.get("name") == name)


@pytest.fixture(scope="module")
def action_env(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Run action.yml's install step as GitHub would: bash, its env, RUNNER_TEMP, GITHUB_PATH."""
    runner_temp = tmp_path_factory.mktemp("runner")
    github_path = runner_temp / "github_path"
    github_path.write_text("")
    step = _step("Install scaleplan from the action's ref")
    env = {"SCALEPLAN_SRC": str(source), "RUNNER_TEMP": str(runner_temp), "GITHUB_PATH": str(github_path)}
    proc = _run(["bash", "-e", "-c", str(step["run"])], env=env)
    if proc.returncode != 0 and ("No matching distribution" in proc.stderr or "Could not find a version" in proc.stderr):
        pytest.skip("no package index reachable for the dependencies")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bindir = github_path.read_text().strip()
    assert bindir and (Path(bindir) / "scaleplan").exists()
    return {"PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "RUNNER_TEMP": str(runner_temp)}


def _manifests(dest: Path, *, bad: bool) -> None:
    """The example's rendered manifests, its spec, plan and profile, and (optionally) a bad Deployment."""
    from scaleplan.plan import read_plan
    from scaleplan.render import render

    dest.mkdir(parents=True, exist_ok=True)
    for rel, text in render(read_plan(EXAMPLE / "plan.yaml"), shipped_tables()).items():
        (dest / rel).write_text(text, encoding="utf-8")
    for f in ("spec.yaml", "plan.yaml", "profile.yaml"):
        shutil.copy(EXAMPLE / f, dest / f)
    if bad:
        (dest / "bad.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  selector: {matchLabels: {app: bad}}\n"
            "  template:\n    metadata: {labels: {app: bad}}\n    spec:\n      containers: [{name: c, image: 'x:latest'}]\n",
            encoding="utf-8",
        )


def test_action_installs_and_checks(action_env: dict[str, str], tmp_path: Path) -> None:
    _manifests(tmp_path / "deploy", bad=True)
    step = _step("scaleplan check")
    out = tmp_path / "github_output"
    out.write_text("")
    env = {
        **action_env,
        "GITHUB_OUTPUT": str(out),
        "SCALEPLAN_PATHS": "deploy/",
        "SCALEPLAN_PLAN": "",
        "SCALEPLAN_KUBE_VERSION": "1.37",
        "SCALEPLAN_FAIL_ON": "error",
        "SCALEPLAN_ARGS": "--disable cpu-limit-missing",
        "SCALEPLAN_SARIF": "scaleplan.sarif",
    }
    proc = _run(["bash", "-c", str(step["run"])], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the step records the code; "Result" fails
    assert "exit-code=1" in out.read_text()
    assert "::error file=deploy/bad.yaml" in proc.stdout
    assert "spec.yaml" not in proc.stdout and "unknown-kind" not in proc.stdout
    sarif = json.loads((tmp_path / "scaleplan.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"image-tag"}
    # the same paths without the bad file pass
    (tmp_path / "deploy" / "bad.yaml").unlink()
    out.write_text("")
    proc = _run(["bash", "-c", str(step["run"])], env=env, cwd=tmp_path)
    assert "exit-code=0" in out.read_text(), proc.stdout + proc.stderr


def test_install_from_git_url_at_a_tag(action_env: dict[str, str], source: Path) -> None:
    """docs/ci.md's command form, ``scaleplan @ git+URL@TAG``, with the venv's own (old) pip.

    A local URL needs a host (``file://localhost/...``): pip 23's requirement parser refuses
    ``name @ file:///path``; the https URLs in the docs have one. Dependencies are present.
    """
    py = Path(action_env["PATH"].split(os.pathsep)[0]) / "python"
    url = f"scaleplan @ git+file://localhost{source}@v0.0.0-test"
    proc = _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", url], env=action_env)
    assert proc.returncode == 0, proc.stderr
    ver = _run(["scaleplan", "--version"], env=action_env)
    assert ver.returncode == 0 and ver.stdout.startswith("scaleplan "), ver.stderr


def test_hook_checks_only_manifests_under_try_repo(action_env: dict[str, str], source: Path, tmp_path: Path) -> None:
    py = Path(action_env["PATH"].split(os.pathsep)[0]) / "python"
    proc = _run([str(py), "-m", "pip", "install", "-q", "pre-commit"], env=action_env)
    if proc.returncode != 0:
        pytest.skip(f"pre-commit cannot be installed: {proc.stderr[-300:]}")
    work = tmp_path / "work"
    _manifests(work / "deploy", bad=True)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    env = {**action_env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "SKIP": ""}
    cmd = ["pre-commit", "try-repo", str(source), "scaleplan-check", "--all-files", "--verbose"]
    proc = _run(cmd, env=env, cwd=work)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text
    assert "image-tag" in text and "bad.yaml" in text
    assert "unknown-kind" not in text and "has no apiVersion" not in text, text
    # scaleplan's own files are passed to the hook, and skipped by it
    assert "deploy/spec.yaml" in text or "spec.yaml" in text
    (work / "deploy" / "bad.yaml").unlink()
    _git(work, "add", "-A")
    proc = _run(cmd, env=env, cwd=work)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hook_definition_matches_the_docs() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert "--only-manifests" in hooks["scaleplan-check"]["entry"]
    assert hooks["scaleplan-check"]["types"] == ["yaml"]
    assert sys.version_info >= (3, 11)
