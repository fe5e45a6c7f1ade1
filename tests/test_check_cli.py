"""`scaleplan check` on the command line: exit codes, formats, rule listing, garbage input."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest
from check_helpers import CLEAN, container, mutated

BROKEN = mutated(lambda d: container(d).pop("livenessProbe"))  # one warning
ERROR = mutated(lambda d: container(d).update(image="vllm"))  # one error


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_clean_exits_0(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli(["check", str(CLEAN)])
    assert "passed: 0 errors, 0 warnings in 5 objects" in r.stdout


def test_error_exits_1_with_file_and_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, "a.yaml", ERROR)
    r = cli(["check", str(p)], exit_code=1)
    assert f"{p}:" in r.stdout and "[image-tag] Deployment/llm-g6-xlarge" in r.stdout
    assert "1 finding at or above error" in r.stderr


def test_fail_on_threshold(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, "w.yaml", BROKEN)
    cli(["check", str(p)], exit_code=0)
    cli(["check", str(p), "--fail-on", "warning"], exit_code=1)
    cli(["check", str(p), "--fail-on", "info"], exit_code=2)


def test_disable_and_enable(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, "a.yaml", ERROR)
    cli(["check", str(p), "--disable", "image-tag"], exit_code=0)
    cli(["check", str(p), "--disable", "cpu-limit-missing,image-tag"], exit_code=0)
    r = cli(["check", str(p), "--disable", "no-such-rule"], exit_code=2)  # usage, as --format's
    assert "unknown rule 'no-such-rule'" in r.stderr


def test_enabling_a_plan_rule_without_the_plan_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    """`--enable drift` without --plan passed (exit 0) with the drift check silently left out:
    a CI gate that asked for drift must not pass without it. Two options that cannot be
    combined: a usage error (2; it was 3, an input-file code)."""
    r = cli(["check", str(CLEAN), "--enable", "drift,image-tag"], exit_code=2)
    said = " ".join(r.stderr.split())
    assert "rule 'drift' compares the manifests with the plan, and no --plan was given" in said
    assert "add --plan PLAN, or drop --enable drift" in said
    cli(["check", str(CLEAN), "--enable", "drift", "--disable", "drift"])  # disabled wins
    cli(["check", str(CLEAN)])  # the plan rules are only skipped when nobody asked for them


def test_a_second_plan_is_refused_not_the_only_one_checked(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """UX review 19: two services' folders with `--plan chat --plan embedder` passed (exit 0,
    "drift checked against the plan") with the chat manifests' drift unchecked: the option
    kept the last plan alone. One plan per run: a second is a usage error naming both."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    plans = [examples / "llm-chat" / "plan.yaml", examples / "embedding-cpu-gpu" / "plan.yaml"]
    folders = [tmp_path / "chat", tmp_path / "embedder"]
    for plan, folder in zip(plans, folders, strict=True):
        cli(["render", str(plan), "--out", str(folder)])
    drifted = next(folders[0].glob("deployment-chat-*.yaml"))
    flag = "--max-num-seqs\n        - '"
    drifted.write_text(drifted.read_text().replace(flag, flag + "9"))
    cli(["check", str(folders[0]), "--plan", str(plans[0])], exit_code=1)  # the drift, alone
    args = ["check", *map(str, folders), "--plan", str(plans[0]), "--plan", str(plans[1])]
    said = " ".join(cli(args, exit_code=2).stderr.split())
    assert f"--plan given 2 times ({plans[0]}, {plans[1]})" in said, said
    assert "run check once per service" in said


def test_a_plan_given_as_the_manifests_says_where_it_goes(cli) -> None:  # type: ignore[no-untyped-def]
    """`scaleplan check plan.yaml` said only 'no Kubernetes objects found (pass the rendered
    manifests ...)': it now names what it skipped and that a plan goes with --plan."""
    plan = Path(__file__).resolve().parents[1] / "examples" / "embedding-cpu-gpu" / "plan.yaml"
    said = " ".join(cli(["check", str(plan)], exit_code=3).stderr.split())
    assert "no Kubernetes objects found" in said
    assert "scaleplan Plan, not a Kubernetes manifest; a plan goes with --plan PLAN" in said, said


def test_the_gate_decides_on_the_skipped_documents_not_the_notes_wording(
    monkeypatch: pytest.MonkeyPatch, tables
) -> None:  # type: ignore[no-untyped-def]
    """The gate named what it skipped by matching 'skipped ' at the start of the report's notes:
    it reads CheckReport.skipped, so the notes' wording does not steer it (nor --only-manifests'
    pass over nothing)."""
    from scaleplan.check.gate import gate_report
    from scaleplan.check.model import CheckReport
    from scaleplan.errors import InputError

    reworded = property(lambda r: tuple(f"left out: {s}" for s in r.skipped))
    monkeypatch.setattr(CheckReport, "notes", reworded)
    plan = Path(__file__).resolve().parents[1] / "examples" / "embedding-cpu-gpu" / "plan.yaml"

    def gate(only_manifests: bool) -> CheckReport:
        return gate_report(
            [str(plan)], plan_file=None, kube_version="1.31", disabled=(), enabled=(),
            only_manifests=only_manifests, catalog=tables,
        )

    with pytest.raises(InputError) as exc:
        gate(False)
    hint = exc.value.problems[0].hint
    assert hint.startswith(f"skipped {plan} (document 1): scaleplan Plan"), hint
    assert "a plan goes with --plan PLAN" in hint
    report = gate(True)  # the hook given no manifest: nothing to check, and it passes
    assert report.objects == 0 and report.skipped and report.notes[0].startswith("left out: ")


def test_list_rules_text_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    from scaleplan.check import RULES

    r = cli(["check", "--list-rules"])
    for rule in RULES:
        assert rule.id in r.stdout
    data = json.loads(cli(["check", "--list-rules", "--json"]).stdout)
    assert [x["id"] for x in data["rules"]] == [x.id for x in RULES]
    assert all(
        x["reason"] and x["hint"] and x["severity"] in ("error", "warning") for x in data["rules"]
    )


def test_list_rules_refuses_paths(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--list-rules checks nothing, so a PATH beside it is a mistake (docs/ci.md once showed
    `check --list-rules [--json]`, which listed the rules and ignored '[--json]'): exit 2."""
    p = _write(tmp_path, "a.yaml", ERROR)
    for extra in ([str(p)], ["[--json]"], ["--json", str(p)]):
        r = cli(["check", "--list-rules", *extra], exit_code=2)
        assert "--list-rules" in r.stderr and "checks nothing" in r.stderr
        if "--json" in extra:  # the usage error as JSON too (docs/cli.md)
            assert json.loads(r.stdout)["error"]["exit_code"] == 2
        else:
            assert r.stdout == ""


def test_list_rules_refuses_options_only_a_check_uses(cli) -> None:  # type: ignore[no-untyped-def]
    """`--list-rules --plan P --enable drift`, `--fail-on warning` or `--format sarif` listed the
    rules (exit 0) and ignored the options, while a PATH was refused: each is exit 2 now."""
    plan = str(Path(__file__).resolve().parents[1] / "examples" / "llm-chat" / "plan.yaml")
    for extra, named in (
        (["--plan", plan, "--enable", "drift"], "--plan, --enable are for a check"),
        (["--fail-on", "warning"], "--fail-on is for a check"),
        (["--format", "sarif"], "--format is for a check"),
        (["--kube-version", "1.30", "--only-manifests"], "--kube-version, --only-manifests are"),
    ):
        r = cli(["check", "--list-rules", *extra], exit_code=2)
        assert named in " ".join(r.stderr.split()) and r.stdout == "", r.stderr
    cli(["check", "--list-rules", "--format", "json", "-w"])  # json and wide still list


def test_json_output_only_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, "a.yaml", ERROR)
    r = cli(["check", str(p), "--format", "json"], exit_code=1)
    data = json.loads(r.stdout)
    assert data["findings"][0]["rule"] == "image-tag"
    assert (
        data["findings"][0]["line"]
        == ERROR.splitlines().index(next(x for x in ERROR.splitlines() if "image: vllm" in x)) + 1
    )


def test_output_file_atomic(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, "a.yaml", ERROR)
    out = tmp_path / "report.sarif"
    r = cli(["check", str(p), "--format", "sarif", "--output", str(out)], exit_code=1)
    assert r.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"
    # the report went to the file; its summary line (the text report's last) to stderr, whole
    summary = next(t for t in r.stderr.splitlines() if "objects from 1 file (Kubernetes" in t)
    assert summary.startswith("FAILED: 1 error")
    assert "error: 1 finding" in r.stderr.split(summary)[1]


def test_directory_recursion_and_stdin(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "m" / "sub"
    d.mkdir(parents=True)
    (d / "app.yml").write_text(CLEAN.read_text())
    (d / "kustomization.yaml").write_text("resources: [app.yml]\n")  # skipped: not a manifest
    (d / "notes.txt").write_text("not yaml")
    r = cli(["check", str(tmp_path / "m")])
    assert "5 objects from 1 file" in r.stdout
    r = cli(["check", "-"], input=ERROR, exit_code=1)
    assert "-:" in r.stdout


def test_unsupported_kube_version(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli(["check", str(CLEAN), "--kube-version", "1.20"], exit_code=2)  # a bad option is a usage error (issue 19)
    assert "1.25" in r.stderr and "1.37" in r.stderr
    cli(["check", str(CLEAN), "--kube-version", "v1.33"], exit_code=0)


def test_usage_errors(cli) -> None:  # type: ignore[no-untyped-def]
    cli(["check"], exit_code=2)
    cli(["check", str(CLEAN), "--format", "xml"], exit_code=2)


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{','.join(f'*a{i - 1}' for _ in range(10))}]")
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
        + "\n".join("  " + x for x in lines)
        + "\n"
    )


GARBAGE = {
    "binary.yaml": b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4,
    "truncated.yaml": b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template: {spec: {containers: [{name: a, image: 'b",
    "latin1.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n".encode("latin-1"),
    "bomb.yaml": _alias_bomb().encode(),
    "scalar.yaml": b"just a string\n",
    "list.yaml": b"- a\n- b\n",
    "no-kind.yaml": b"apiVersion: v1\nmetadata: {name: a}\n",
    "no-api-version.yaml": b"kind: Service\nmetadata: {name: a}\n",
    "second-doc-bad.yaml": CLEAN.read_bytes() + b"\n---\n42\n",
    "python-tag.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: !!python/object/apply:os.system ['true']\n",
    "tabs.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_exits_3(cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / name
    p.write_bytes(GARBAGE[name])
    r = cli(["check", str(p)], exit_code=3)
    assert str(p) in r.stderr and "Traceback" not in r.stderr


def test_50mb_file_exits_3_promptly_with_bounded_memory(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "big.yaml"
    chunk = CLEAN.read_text() + "\n---\n"
    with p.open("w") as fh:
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(chunk * 100)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    r = cli(["check", str(p)], exit_code=3)
    elapsed = time.perf_counter() - t0
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert "larger than the 16 MiB limit" in r.stderr
    assert elapsed < 30 and grown_kib < 200 * 1024  # generous: the file is never read


def test_50mb_stdin_exits_3(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli(["check", "-"], input="# " + "x" * (17 * 1024 * 1024) + "\n", exit_code=3)
    assert "16 MiB" in r.stderr


def test_missing_path_and_empty_folder(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli(["check", str(tmp_path / "nope.yaml")], exit_code=3)
    assert "not found" in r.stderr
    (tmp_path / "empty").mkdir()
    r = cli(["check", str(tmp_path / "empty")], exit_code=3)
    assert "no *.yaml" in r.stderr


def test_every_unreadable_file_reported_at_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.yaml").write_bytes(GARBAGE["scalar.yaml"])
    (tmp_path / "b.yaml").write_bytes(GARBAGE["no-kind.yaml"])
    r = cli(["check", str(tmp_path)], exit_code=3)
    assert "a.yaml" in r.stderr and "b.yaml" in r.stderr


def test_help_does_not_import_heavy_modules() -> None:
    import subprocess
    import sys

    code = "import sys; from scaleplan.cli import app; import scaleplan.cli.check; print(','.join(m for m in ('kubernetes_validate','pulp','boto3','torch','jsonschema') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_ci_md_exit_table_matches_rule_option_errors(cli) -> None:  # type: ignore[no-untyped-def]
    """docs/ci.md's exit-code table listed an unknown rule id and a plan rule enabled without
    --plan under 3 (input) after both became usage errors (2), as its own options paragraph and
    cli.md say; a CI script written from the table read the wrong code."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    rows = {line.split("|")[1].strip(): line for line in lines}
    assert "unknown rule id" in rows["2"] and "without `--plan`" in rows["2"]
    assert "unknown rule" not in rows["3"] and "without `--plan`" not in rows["3"]
    cli(["check", str(CLEAN), "--enable", "no-such-rule"], exit_code=int(rows["2"].split("|")[1]))
    cli(["check", str(CLEAN), "--enable", "drift"], exit_code=2)


def test_gate_report_refuses_no_path_then_a_bad_kube_version_first(tables) -> None:  # type: ignore[no-untyped-def]
    """Usage errors (exit 2) before any file is read: no PATH, then --kube-version."""
    from scaleplan.check.gate import gate_report
    from scaleplan.errors import OptionError

    kw = {"plan_file": None, "disabled": (), "enabled": (), "only_manifests": False}
    with pytest.raises(OptionError) as err:
        gate_report([], kube_version="9.9", catalog=tables, **kw)  # type: ignore[arg-type]
    assert err.value.option == "PATH"
    with pytest.raises(OptionError) as err:
        gate_report(["nothing.yaml"], kube_version="9.9", catalog=tables, **kw)  # type: ignore[arg-type]
    assert err.value.option == "--kube-version"
    assert "unsupported Kubernetes version" in err.value.message


def test_a_kustomize_overlay_folder_says_to_build_it(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """UX review 10: `check overlays/prod` (a folder holding only kustomization.yaml) said the
    folder "holds no *.yaml files"; it holds one, which check skips: say so, and how to check
    the overlay's output (docs/ci.md)."""
    overlay = tmp_path / "overlays" / "prod"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("resources: [../../base]\n", encoding="utf-8")
    r = cli(["check", str(overlay)], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "no *.yaml" not in said
    assert "holds only kustomization.yaml, which check does not build" in said
    assert f"kubectl kustomize {overlay} | scaleplan check -" in said



def test_rules_report_is_the_list_rules_output() -> None:
    """``check --list-rules``: the rules as JSON, or as a table (wide: every column)."""
    from scaleplan.check.gate import rules_report

    rules = rules_report("json", wide=False).doc
    assert isinstance(rules, dict) and rules["rules"]
    table, narrow = rules_report("text", wide=True), rules_report("text", wide=False)
    assert table.doc is None and table.text.splitlines()[0].split()[0] == "RULE"
    assert len(table.text.splitlines()[0]) > len(narrow.text.splitlines()[0])
