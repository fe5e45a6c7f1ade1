"""Issue 19, groups 4 and 8: ``check`` is a CI gate that never passes nothing, flags what the
API server would reject (names with a trailing newline, int32 overflow), and takes only
valid options (docs/hardening.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_helpers import by_kind, mutated
from hardening_helpers import example_copy, sub


@pytest.mark.parametrize("text", ["", "---\n", "---\n---\n# nothing\n"], ids=["empty", "dashes", "comments"])
def test_check_on_zero_objects_fails(cli, text: str) -> None:
    """Empty stdin and a file of only '---' passed with '0 object(s)', exit 0."""
    r = cli(["check", "-"], exit_code=3, input=text)
    assert "no Kubernetes objects found" in r.stderr


def _set_replicas(n: int):
    def fn(docs):
        by_kind(docs, "Deployment")["spec"]["replicas"] = n

    return fn


@pytest.mark.parametrize("n", [10**12, 2**31], ids=["1e12", "2^31"])
def test_check_flags_int32_overflow(tmp_path: Path, cli, n: int) -> None:
    f = tmp_path / "app.yaml"
    f.write_text(mutated(_set_replicas(n)), encoding="utf-8")
    r = cli(["check", str(f), "--format", "json"], exit_code=1)
    assert "api-rejects" in r.stdout and "beyond int32" in r.stdout


def test_check_flags_name_with_trailing_newline(tmp_path: Path, cli) -> None:
    def fn(docs):
        by_kind(docs, "Deployment")["metadata"]["name"] = "vision\n"

    f = tmp_path / "app.yaml"
    f.write_text(mutated(fn), encoding="utf-8")
    r = cli(["check", str(f), "--format", "json"], exit_code=1)
    assert "api-rejects" in r.stdout and "not a valid Kubernetes object name" in r.stdout


def test_check_bad_kube_version_is_usage_error(tmp_path: Path, cli) -> None:
    """`check --kube-version abc` exited 3 (bad input) where bad options exit 2."""
    f = tmp_path / "app.yaml"
    f.write_text(mutated(lambda d: None), encoding="utf-8")
    r = cli(["check", str(f), "--kube-version", "abc"], exit_code=2)
    assert "--kube-version" in r.stderr


@pytest.mark.parametrize(
    ("pattern", "repl"),
    [
        (r"^  name: vision$", '  name: "vision\\\\n"'),
        (r"^  namespace: vision$", '  namespace: "vision\\\\n"'),
        (r"^  image: (.*)$", '  image: "\\1\\\\n"'),
    ],
    ids=["name", "namespace", "image"],
)
def test_spec_names_with_trailing_newline_are_refused(tmp_path: Path, cli, pattern: str, repl: str) -> None:
    """`re.match(...$)` accepted a final newline: `name: "vision\\n"` validated and rendered."""
    spec = example_copy(tmp_path)
    sub(spec, pattern, repl)
    cli(["validate", str(spec)], exit_code=3)


@pytest.mark.parametrize(
    ("pattern", "repl"),
    [
        (r"^      path: /health$", '      path: "/health\\\\n"'),
        (r"^  region: us-central1$", '  region: "us-central1\\\\n"'),
    ],
    ids=["probe-path", "region"],
)
def test_plan_values_with_trailing_newline_are_refused(tmp_path: Path, cli, pattern: str, repl: str) -> None:
    example_copy(tmp_path)
    plan = tmp_path / "plan.yaml"
    sub(plan, pattern, repl)
    cli(["render", str(plan), "--out", str(tmp_path / "m")], exit_code=3)
    assert not (tmp_path / "m").exists()
