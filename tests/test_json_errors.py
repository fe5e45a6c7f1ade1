"""Failures under ``--json`` (docs/cli.md, "Failures under --json"): stdout holds exactly one
JSON object, ``{"error": {...}}`` (optimize's infeasible and validate's invalid documents with an
``error`` key beside their own), so that ``scaleplan ... --json | jq`` never reads an empty
stdout; stderr says what it said without ``--json``, and the exit code is the documented one.
A command that already printed its document adds no second object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from scaleplan.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
LLM_PLAN = str(ROOT / "examples" / "llm-chat" / "plan.yaml")
KEYS = {"exit_code", "kind", "message", "hint", "file", "option", "problems"}
USAGE, INPUT = int(ExitCode.USAGE), int(ExitCode.INVALID_INPUT)

# one bad command line per command that takes --json (added where marked): (argv, exit code)
CASES: dict[str, tuple[list[str], int]] = {
    "schema": (["schema", "manifest"], USAGE),
    "validate": (["validate", "missing.yaml"], INPUT),
    "catalog list": (["catalog", "list", "--catalog", "missing.yaml"], INPUT),
    "catalog show": (["catalog", "show", "no-such.type"], USAGE),
    "catalog accelerators": (["catalog", "accelerators", "--no-such-option"], USAGE),
    "catalog refresh": (["catalog", "refresh", "--regions", "us-east-1", "--out", "-"], USAGE),
    "profile run": (["profile", "missing.onnx"], INPUT),
    "profile estimate": (["profile", "estimate", "missing.yaml", "-a", "L4"], INPUT),
    "profile merge": (["profile", "merge", "missing.yaml"], INPUT),
    "profile import": (["profile", "import", "missing.json"], INPUT),
    "profile llm": (["profile", "llm", "no-such-preset"], INPUT),
    "optimize": (["optimize", "missing.yaml"], INPUT),
    "render": (["render", "missing.yaml", "--out", "d"], INPUT),
    "check": (["check", "missing.yaml"], INPUT),
    "simulate": (["simulate", "missing.yaml"], INPUT),
    "diff": (["diff", "missing.yaml", LLM_PLAN], INPUT),
    "import melange": (["import", "melange", "missing.json", "--out", "d"], INPUT),
    "observe": (
        ["observe", "--prometheus", "http://127.0.0.1:9", "--plan", "missing.yaml"], INPUT
    ),
}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_doc(stdout: str, code: int) -> dict[str, Any]:
    """The one JSON object on stdout, its ``error`` checked against the exit code."""
    doc: dict[str, Any] = json.loads(stdout)  # two objects, or a cut one, raise here
    err = doc["error"]
    assert set(err) >= KEYS, err
    assert err["exit_code"] == code
    assert err["kind"] == ExitCode(code).name.lower().replace("_", "-")
    return doc


def same_stderr(cli: Any, argv: list[str], with_json: list[str], code: int) -> Any:
    """``argv`` + ``with_json`` fails with ``code``: one error object on stdout; stderr as
    without them, and stdout empty then (the human run prints nothing on stdout)."""
    plain = cli(argv, exit_code=code)
    res = cli([*argv, *with_json], exit_code=code)
    assert res.stderr == plain.stderr
    assert plain.stdout == ""
    doc = error_doc(res.stdout, code)
    said = " ".join(res.stderr.split())
    assert " ".join(doc["error"]["message"].split()) in said, (doc, res.stderr)
    return doc


def test_every_command_with_json_has_a_case() -> None:
    """A command that gains --json gains a case here."""
    import typer.main

    from scaleplan.cli import app

    def walk(cmd: Any, path: list[str]) -> list[str]:
        subs = getattr(cmd, "commands", None)
        if subs is not None:
            return [p for name, sub in subs.items() for p in walk(sub, [*path, name])]
        has_json = any("--json" in getattr(p, "opts", ()) for p in cmd.params)
        return [" ".join(path)] if has_json else []

    found = walk(typer.main.get_command(app), [])
    assert sorted(found) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_failure_under_json_prints_one_error_object(cli: Any, here: Path, name: str) -> None:
    argv, code = CASES[name]
    doc = same_stderr(cli, argv, ["--json"], code)
    if code == INPUT:  # the problems as validate --json gives them, and the file if one
        assert doc["error"]["problems"][0]["message"] in doc["error"]["message"]
        assert doc["error"]["file"] in (None, *argv)
    assert not list(here.iterdir())  # nothing written: the object is on stdout only


def test_check_format_json_is_json_too(cli: Any, here: Path) -> None:
    for fmt in (["--format", "json"], ["-f", "json"], ["--format=json"]):
        same_stderr(cli, ["check", "missing.yaml"], fmt, INPUT)
        same_stderr(cli, ["check", "missing.yaml", "--no-such-option"], fmt, USAGE)
    # another format is not JSON: stdout stays as it was
    assert cli(["check", "missing.yaml", "-f", "sarif"], exit_code=INPUT).stdout == ""


def test_usage_errors_name_the_option(cli: Any, here: Path) -> None:
    """The parser's own errors (before the command runs: an unknown option, a bad choice, a
    bad number) and a value a command refused, each with the option it names."""
    cases = [
        (["optimize", "spec.yaml", "--no-such-option"], "--no-such-option"),
        (["optimize", "spec.yaml", "--solver", "glpk"], "--solver"),
        (["simulate", LLM_PLAN, "--seed", "-1"], "--seed"),
        (["catalog", "list", "--sort", "colour"], "--sort"),
        (["render", LLM_PLAN, "--out", "-"], "--json"),  # --json beside --out - is refused
    ]
    for argv, option in cases:
        json_argv = argv if "--json" in argv else [*argv, "--json"]
        res = cli(json_argv, exit_code=USAGE)
        err = error_doc(res.stdout, USAGE)["error"]
        assert option in err["option"], err
        assert err["message"] in " ".join(res.stderr.split()), (err, res.stderr)


def test_a_missing_argument_is_named_as_the_usage_line_names_it(cli: Any) -> None:
    """``option`` of a missing argument is its name on the usage line (``KIND``, ``PLAN``, as
    the message says), not the Python parameter behind it (``what``, ``plan_file``)."""
    cases = ((["schema"], "KIND"), (["simulate"], "PLAN"), (["diff", "a.yaml"], "PLAN_B"))
    for argv, name in cases:
        res = cli([*argv, "--json"], exit_code=USAGE)
        err = error_doc(res.stdout, USAGE)["error"]
        assert err["option"] == name and f"'{name}'" in err["message"], err


def test_unknown_command_under_json(cli: Any) -> None:
    res = cli(["no-such-command", "--json"], exit_code=USAGE)
    assert "No such command" in error_doc(res.stdout, USAGE)["error"]["message"]
    assert cli(["no-such-command"], exit_code=USAGE).stdout == ""


def test_infeasible_keeps_its_keys_and_adds_error(cli: Any, tmp_path: Path) -> None:
    from test_first_hour import write_spec

    spec = write_spec(tmp_path, placement="  budget_per_hour: 0.0001")
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--json"], exit_code=4)
    doc = error_doc(res.stdout, 4)
    assert {"status", "name", "message", "hint", "reasons"} <= set(doc)
    assert doc["status"] == "infeasible" and doc["reasons"][0]["fix"]
    assert doc["error"]["message"] == doc["message"] and doc["error"]["hint"] == doc["hint"]


def test_validate_keeps_its_keys_and_adds_error(cli: Any, here: Path) -> None:
    res = cli(["validate", "missing.yaml", "--json"], exit_code=INPUT)
    doc = error_doc(res.stdout, INPUT)
    assert doc["file"] == "missing.yaml" and doc["valid"] is False
    assert doc["problems"] == doc["error"]["problems"]


def test_no_second_object_after_the_report(cli: Any, tmp_path: Path) -> None:
    """simulate below target and check with findings printed their report: exit 1, that
    report alone; with the report in a file (check --output), the error object."""
    from check_helpers import container, mutated
    from simulate_helpers import allocation, make_plan

    from scaleplan.plan import dump_plan

    tight = tmp_path / "tight.yaml"
    tight.write_text(dump_plan(make_plan(
        [allocation(replicas=(2,), service_ms=10.0)], rps=(150.0,), slo_ms=60.0)))
    res = cli(["simulate", str(tight), "--duration", "20", "--replica-delta", "-1", "--json"],
              exit_code=1)
    assert "error" not in json.loads(res.stdout) and json.loads(res.stdout)["ok"] is False
    manifest = tmp_path / "m.yaml"
    manifest.write_text(mutated(lambda d: container(d).update(image="vllm")))  # one error
    res = cli(["check", str(manifest), "--json"], exit_code=1)
    assert "error" not in json.loads(res.stdout) and json.loads(res.stdout)["findings"]
    report = tmp_path / "report.json"
    res = cli(["check", str(manifest), "--json", "--output", str(report)], exit_code=1)
    assert json.loads(report.read_text())["findings"]
    assert error_doc(res.stdout, 1)["error"]["message"] in " ".join(res.stderr.split())


@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (RuntimeError("boom"), 70, "internal error: RuntimeError: boom"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_internal_error_and_ctrl_c_under_json(
    cli: Any, monkeypatch: pytest.MonkeyPatch, raised: BaseException, code: int, message: str
) -> None:
    import scaleplan.plandiff

    def diff_plans(*_: object) -> None:
        raise raised

    monkeypatch.setattr(scaleplan.plandiff, "diff_plans", diff_plans)
    doc = same_stderr(cli, ["diff", LLM_PLAN, LLM_PLAN], ["--json"], code)
    assert doc["error"]["message"] == message


def test_a_document_that_cannot_be_written_is_not_half_written(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value JSON cannot hold (NaN) in a report is a bug (exit 70): nothing of that report
    reaches stdout, only the error object."""
    import scaleplan.plandiff

    def diff_plans(*_: object) -> Any:
        return SimpleNamespace(to_dict=lambda: {"cost_change": float("nan")})

    monkeypatch.setattr(scaleplan.plandiff, "diff_plans", diff_plans)
    res = cli(["diff", LLM_PLAN, LLM_PLAN, "--json"], exit_code=70)
    assert "Out of range float values" in error_doc(res.stdout, 70)["error"]["message"]


def test_a_real_process_prints_the_object(tmp_path: Path) -> None:
    """Outside the test runner too: python -m scaleplan, a bad input and an unknown option."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv, code in ((["optimize", "missing.yaml"], INPUT), (["diff", "--bogus"], USAGE)):
        proc = subprocess.run(
            [sys.executable, "-m", "scaleplan", *argv, "--json"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert proc.returncode == code, proc.stderr
        assert error_doc(proc.stdout, code)["error"]["message"] in " ".join(proc.stderr.split())


@pytest.mark.parametrize(
    ("argv", "asked"),
    [
        (["optimize", "spec.yaml", "--json"], True),
        (["check", "a.yaml", "-fjson"], True),
        (["check", "a.yaml", "-f", "sarif"], False),
        (["check", "a.yaml", "--format"], False),  # no value: not json
        (["profile", "import", "r.json", "--format", "json"], False),  # another --format
        (["diff", "a.yaml", "--", "--json"], False),  # after --: a file named --json
        ([], False),
    ],
)
def test_which_command_lines_ask_for_json(argv: list[str], asked: bool) -> None:
    from scaleplan.option_values import json_requested

    assert json_requested(argv) is asked


def test_absent_values_are_null_not_empty(cli: Any, here: Path) -> None:
    """An error without a hint has ``hint: null``, as ``file`` and ``option`` are null where
    the failure names none (the hint was "" beside them)."""
    import scaleplan.plandiff

    def diff_plans(*_: object) -> None:
        raise RuntimeError("boom")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scaleplan.plandiff, "diff_plans", diff_plans)
        err = error_doc(cli(["diff", LLM_PLAN, LLM_PLAN, "--json"], exit_code=70).stdout, 70)
    assert err["error"]["hint"]  # internal errors have one
    err = error_doc(cli(["diff", "--bogus", "--json"], exit_code=USAGE).stdout, USAGE)["error"]
    assert err["hint"] is None and err["file"] is None and err["option"] == "--bogus"
    # an input error's problems: a problem without a hint has hint null too
    (here / "spec.yaml").write_text("apiVersion: scaleplan/v1\n", encoding="utf-8")
    res = cli(["validate", "spec.yaml", "--json"], exit_code=INPUT)
    problems = json.loads(res.stdout)["error"]["problems"]
    assert problems and all(p["hint"] is None or p["hint"] for p in problems)


def test_an_interrupted_endpoint_profile_says_what_it_kept(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during an endpoint sweep's second level: the first level is written to --out and
    the error object says so (its message was "", the sweep's log line on stderr the only
    word)."""
    from profile_helpers import serve

    import scaleplan.profile.endpoint as endpoint

    real, calls = endpoint._level, {"n": 0}

    def level(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(endpoint, "_level", level)
    body, out = tmp_path / "body.json", tmp_path / "ep.yaml"
    body.write_text(json.dumps({"inputs": [[0.1] * 64]}), encoding="utf-8")
    with serve("model") as url:
        res = cli(
            ["profile", f"{url}/predict", "--payload", str(body), "--concurrency", "1,2",
             "--time-budget", "0.3", "--accelerator", "cpu", "--out", str(out), "--json"],
            exit_code=130,
        )
    assert out.exists()
    message = error_doc(res.stdout, 130)["error"]["message"]
    assert message == f"interrupted: kept 1 measured level in {out}", message
    assert message in " ".join(res.stderr.split())


def test_a_full_device_elsewhere_still_gets_the_object(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the device refused that no output writer caught (exit 5, "a write failed"),
    before anything went to stdout: stdout was not that write, so it takes the object (it
    printed none: stdout "may be that file")."""
    import errno

    import scaleplan.plandiff

    def diff_plans(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(scaleplan.plandiff, "diff_plans", diff_plans)
    res = cli(["diff", LLM_PLAN, LLM_PLAN, "--json"], exit_code=5)
    err = error_doc(res.stdout, 5)["error"]
    assert err["message"] == "a write failed: No space left on device"
    assert err["message"] in " ".join(res.stderr.split())
