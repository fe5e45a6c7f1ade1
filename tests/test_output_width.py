"""Output for terminals and pipes (issue 13, finding 3): every table command, run with
``COLUMNS=80`` and stdout piped (not a terminal, as ``| cat`` or a CI log), prints every
identifier whole; the kubectl-style narrow default fits 80 columns, ``--wide`` shows the rest."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tty_helpers import on_terminal

from scaleplan.inputs import shipped_accelerators
from scaleplan.table import Line

ACCS = shipped_accelerators()  # the accelerator table the report prices start-ups by

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def piped(*args: str, cwd: Path | None = None) -> str:
    """Run ``scaleplan ARGS`` as a user would with ``| cat``: stdout is a pipe, COLUMNS=80."""
    env = {**os.environ, "COLUMNS": "80", "TERMINAL_WIDTH": "80"}
    env.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
    proc = subprocess.run([sys.executable, "-m", "scaleplan", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def tokens(text: str) -> set[str]:
    return set(text.split())


def assert_fits(text: str, width: int = 80) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert not long, f"{len(long)} line(s) over {width} columns, e.g. {long[0]!r}"


def test_catalog_list(cli) -> None:
    rows = json.loads(cli(["catalog", "list", "--json"]).stdout)["instances"]
    text = piped("catalog", "list")
    assert_fits(text)
    words = tokens(text)
    for r in rows:
        assert r["instance_type"] in words and r["region"] in words
    wide = piped("catalog", "list", "-o", "wide")
    assert wide == piped("catalog", "list", "--wide")
    assert {r["provider"] for r in rows} <= tokens(wide)
    assert "FLAGS" in wide and "FLAGS" not in text


def test_catalog_show() -> None:
    text = piped("catalog", "show", "n1-standard-4+1xT4")
    assert_fits(text)
    assert "n1-standard-4+1xT4" in tokens(text) and {"us-central1", "europe-west4"} <= tokens(text)


def test_catalog_accelerators(cli) -> None:
    accs = json.loads(cli(["catalog", "accelerators", "--json"]).stdout)["accelerators"]
    text = piped("catalog", "accelerators")
    assert_fits(text)
    assert {a["name"] for a in accs} <= tokens(text)
    wide = piped("catalog", "accelerators", "--wide")
    for a in accs:
        for alias in a.get("aliases", []):
            assert alias in wide


def test_check_list_rules(cli) -> None:
    rules = [r["id"] for r in json.loads(cli(["check", "--list-rules", "--json"]).stdout)["rules"]]
    text = piped("check", "--list-rules")
    assert_fits(text)
    assert set(rules) <= tokens(text)  # whole, so they can be copied into --disable
    wide = piped("check", "--list-rules", "--wide")
    assert set(rules) <= tokens(wide) and "REASON" in wide
    assert piped("check", "--list-rules", "-o", "wide") == wide  # as on the catalog commands


def test_check_list_rules_refuses_other_o_values(cli, tmp_path: Path) -> None:
    """`check --list-rules -o wide` printed the narrow table and `-o FILE` wrote nothing,
    silently: -o there is the wide table, and any other value is a usage error."""
    res = cli(["check", "--list-rules", "-o", str(tmp_path / "rules.txt")], exit_code=2)
    assert "-o takes only 'wide'" in " ".join(res.stderr.split())
    assert not (tmp_path / "rules.txt").exists()


def test_observe_takes_o_for_out(cli) -> None:
    """-o/--out on every command that writes a file, observe included."""
    assert "-o, --out FILE" in cli(["observe", "--help"]).stdout


def test_render(tmp_path: Path) -> None:
    for ex in ("llm-chat", "vision-daily", "embedding-cpu-gpu"):
        out = tmp_path / ex
        text = piped("render", str(EXAMPLES / ex / "plan.yaml"), "--out", str(out))
        assert_fits(text)
        files = {p.name for p in out.iterdir()} - {"kustomization.yaml"}
        assert files <= tokens(text)
        wide = piped("render", str(EXAMPLES / ex / "plan.yaml"), "--out", str(tmp_path / f"{ex}-w"), "--wide")
        assert "NAME" in wide


LONG = "a-rather-long-folder-name-for-the-production-deployment-of-chat"


def assert_no_trailing_spaces(text: str) -> None:
    bad = [line for line in text.splitlines() if line != line.rstrip()]
    assert not bad, f"{len(bad)} line(s) with trailing spaces, e.g. {bad[0]!r}"


def test_render_long_names_on_aks_fit(tmp_path: Path) -> None:
    """A 38-character service on aks: file names such as deployment-NAME-standard-nc4as-t4-v3-
    od.yaml made the KIND/FILE table 103 columns wide at COLUMNS=80. The objects are listed as
    records (the file whole at column 0, its kind below) when the table does not fit."""
    import yaml

    spec = yaml.safe_load((EXAMPLES / "vision-daily" / "spec.yaml").read_text())
    spec["metadata"]["name"] = "vision-classifier-production-eastus-01"
    spec["kubernetes"]["flavor"] = "aks"
    spec["placement"].pop("providers", None)
    spec["placement"]["regions"] = ["eastus"]
    spec["model"]["profile"] = str(EXAMPLES / "vision-daily" / spec["model"]["profile"])
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    piped("optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "o"), "--no-alternatives")
    out = tmp_path / "r"
    text = piped("render", str(tmp_path / "o" / "plan.yaml"), "--out", str(out))
    assert_fits(text.split("\n", 1)[1])  # below the title (which names the --out folder)
    files = {p.name for p in out.iterdir()} - {"kustomization.yaml"}
    assert files <= set(text.splitlines()), text  # each file name whole, on a line of its own
    assert max(len(f) for f in files) > 60
    assert "kind: Deployment" in text


def test_optimize_prose_is_whole_in_a_pipe(tmp_path: Path) -> None:
    """A long --out path and the alternatives: `wrote PATH` and each `next best:`/`then:` line
    are printed whole (they were folded at 80 columns, mid-path and before the price)."""
    import re

    out = tmp_path / LONG / "with-a-subfolder-too"
    text = piped("optimize", str(EXAMPLES / "vision-daily" / "spec.yaml"), "--out", str(out))
    lines = text.splitlines()
    assert f"wrote {out / 'plan.yaml'}" in lines and f"wrote {out / 'manifests'}" in lines, text
    alts = [line for line in lines if line.startswith(("next best:", "then:"))]
    assert alts and all(re.fullmatch(r"(next best|then): .*\(\$[\d.]+/h\)", a) for a in alts), alts
    assert_no_trailing_spaces(text)
    assert_fits(text.split("\ncost: ")[0])  # the table still fits COLUMNS


def test_optimize(tmp_path: Path) -> None:
    from scaleplan.plan import read_plan

    for ex in ("vision-daily", "llm-chat"):
        out = tmp_path / ex
        text = piped("optimize", str(EXAMPLES / ex / "spec.yaml"), "--out", str(out), "--no-alternatives")
        assert_fits(text.split("\ncost: ")[0])  # the table (prose lines are left whole, unwrapped)
        plan = read_plan(out / "plan.yaml")
        words = tokens(text)
        for a in plan.allocations:
            assert a.instance_type in words and a.region in words
        assert str(out / "plan.yaml") in text
        wide = piped("optimize", str(EXAMPLES / ex / "spec.yaml"), "--out", str(out), "--no-alternatives", "--wide")
        assert {a.name for a in plan.allocations} <= tokens(wide)


def test_simulate() -> None:
    from scaleplan.plan import read_plan

    plan_file = EXAMPLES / "vision-daily" / "plan.yaml"
    text = piped("simulate", str(plan_file), "--duration", "5", "--windows", "peak")
    names = {a.name for a in read_plan(plan_file).allocations}
    assert names <= tokens(text), text


def test_simulate_llm_plan_path_whole_and_tables_fit(tmp_path: Path) -> None:
    """The plan path in the LLM simulator's header is printed whole (it was split mid-word),
    prose lines are not wrapped, no line carries trailing spaces, and the tables fit COLUMNS."""
    import shutil

    plan = tmp_path / LONG / "with-a-subfolder-too" / "plan.yaml"
    plan.parent.mkdir(parents=True)
    shutil.copy(EXAMPLES / "llm-chat" / "plan.yaml", plan)
    text = piped("simulate", str(plan), "--duration", "20")  # its llm sections: no --profile needed
    lines = text.splitlines()
    assert any(line.startswith(f"{plan}: ") for line in lines), text
    assert_no_trailing_spaces(text)
    prose = ("LLM plan:", f"{plan}:", "step times:", "note:", "SATURATED")
    assert_fits("\n".join(line for line in lines if not line.startswith(prose)))


def test_diff_keeps_paths_whole(tmp_path: Path) -> None:
    import shutil

    a = tmp_path / LONG / "before" / "plan.yaml"
    b = tmp_path / LONG / "after" / "plan.yaml"
    for f, ex in ((a, "vision-daily"), (b, "embedding-cpu-gpu")):
        f.parent.mkdir(parents=True)
        shutil.copy(EXAMPLES / ex / "plan.yaml", f)
    text = piped("diff", str(a), str(b))
    assert str(a) in text and str(b) in text, text
    assert_no_trailing_spaces(text)


def test_check_findings_are_whole(tmp_path: Path) -> None:
    """A finding names the file, the object and the fix on one line, however long."""
    d = tmp_path / LONG / "manifests"
    d.mkdir(parents=True)
    (d / "a-deployment-with-a-rather-long-file-name-too.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a-deployment-with-a-long-name}\n"
        "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n"
        "    spec:\n      containers: [{name: c, image: 'x:1', resources: {limits: {nvidia.com/gpu: 1}}}]\n",
        encoding="utf-8",
    )
    text = piped("check", str(d))
    finding = [line for line in text.splitlines() if "gpu-node-selector" in line]
    assert finding and str(d / "a-deployment-with-a-rather-long-file-name-too.yaml") in finding[0], text
    assert "Deployment/a-deployment-with-a-long-name" in finding[0]
    assert_no_trailing_spaces(text)


def test_profile_summary(tmp_path: Path) -> None:
    from profile_helpers import write_numpy_factory

    target = write_numpy_factory(tmp_path / "m.py")
    out = tmp_path / "a-rather-long-folder-name-for-the-profile-output" / "profile.yaml"
    text = piped("profile", target, "--device", "cpu", "--batch-sizes", "1,2", "--time-budget", "0.05", "--out", str(out))
    assert str(out) in text, text  # the path in the table title is never cut


@pytest.mark.parametrize("args", [["catalog", "list", "-o", "json"], ["catalog", "accelerators", "-o", "yaml"]])
def test_output_format_other_than_wide_is_a_usage_error(cli, args: list[str]) -> None:
    res = cli(args, exit_code=2)
    assert "wide" in res.stderr


def _command_paths() -> list[list[str]]:
    import typer.main

    from scaleplan.cli import app

    def walk(cmd: object, path: list[str]) -> list[list[str]]:
        subs = getattr(cmd, "commands", {})  # a group (typer vendors its own click)
        return [path, *(p for name in sorted(subs) for p in walk(subs[name], [*path, name]))]

    return walk(typer.main.get_command(app), [])


def test_help_fits_80_columns_with_whole_words() -> None:
    """Every command's --help at COLUMNS=80: no line over 80, and no word cut at a hyphen
    across lines (``--time-`` / ``budget``, ``least-`` / ``outstanding``: an option name or a
    value the reader types must stay whole)."""
    paths = _command_paths()
    assert len(paths) > 15, paths
    for path in paths:
        text = piped(*path, "--help")
        assert_fits(text)
        cut = [line for line in text.splitlines() if re.search(r"\w-$", line)]
        assert not cut, f"scaleplan {' '.join(path)} --help cuts a word at a hyphen: {cut[0]!r}"


def test_profile_llm_table_is_plain_and_keeps_class_names_whole(tmp_path: Path) -> None:
    """profile's tables are kubectl-style like every other (docs/cli.md, Tables): no borders,
    and a request class is never cut (it was cut to 10 characters)."""
    spec = (EXAMPLES / "llm-moe" / "spec.yaml").read_text(encoding="utf-8")
    assert "{name: chat," in spec
    long = spec.replace("{name: chat,", "{name: chat-long-context,")
    (tmp_path / "spec.yaml").write_text(long, encoding="utf-8")
    args = ["--accelerators", "H100", "--concurrency", "1,8", "--out", str(tmp_path / "p.yaml")]
    text = piped("profile", "llm", "--spec", str(tmp_path / "spec.yaml"), *args)
    assert_fits(text.split("\n", 1)[1])  # the title holds the --out path, whole
    assert "chat-long-context" in tokens(text), text
    assert not re.search("[\u2500-\u257f]", text), text  # no box-drawing characters


def test_profile_llm_table_writes_long_times_in_whole_ms(tmp_path: Path) -> None:
    """A TTFT of 10 s or more read '1.055e+04' in the profile llm table (SGLang on one A100,
    6,000-token prompts, 32 at once; new-user trial, 2026-12-05): whole ms with separators.
    The estimates are Poisson traffic's (no closed-loop clustering wait, UX review 5, #11), so a
    64,000-token prompt gives the 10 s here."""
    args = ["llama-3.1-8b", "--engine", "sglang", "--accelerators", "A100-80GB", "--gpus", "1"]
    args += ["--input-tokens", "64000", "--output-tokens", "500", "--concurrency", "1,4"]
    text = piped("profile", "llm", *args, "--out", str(tmp_path / "p.yaml"))
    assert "e+" not in text, text
    slow = [line.split() for line in text.splitlines() if line.endswith("estimated") and " 4 " in line]
    assert slow and "," in slow[0][4], text  # TTFT ms, e.g. 10,845


def test_optimize_on_a_terminal_wraps_llm_classes_under_their_shape(tmp_path: Path) -> None:
    """On an 80-column terminal the LLM per-class line (three classes: ~120 characters) was
    wrapped by the terminal's soft wrap at column 0, leaving '34.2 ms; long TTFT ...' under
    the list's dash (new-user trial, 2026-12-05); continuation lines now start under the
    item's text and every wrapped line fits."""
    text = on_terminal("optimize", str(EXAMPLES / "llm-chat" / "spec.yaml"), "--out", str(tmp_path), "--no-manifests")
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("  - L40S x1, "))
    assert len(lines[i]) <= 80 and lines[i + 1].startswith("    ") and lines[i + 1].strip(), text
    shape = " ".join(line.strip() for line in lines[i:i + 3] if line.startswith("  "))
    assert "long TTFT 386 ms, TPOT 79 ms" in shape, text


def test_profile_llm_list_fits_80_columns() -> None:
    """profile llm --list printed one description per preset, up to 85 characters
    ('qwen3-235b-a22b: MoE GQA, 94 layers, 235.1B params (22.2B active, 8+0 of 128 experts)');
    it is a table now, every preset name whole (new-user trial, 2026-12-05)."""
    from scaleplan.llm.arch import preset_list

    text = piped("profile", "llm", "--list")
    assert_fits(text)
    assert {r["name"] for r in preset_list()} <= tokens(text), text


class _Terminal(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


def _captured(
    monkeypatch: pytest.MonkeyPatch, stream: str, call: Callable[[], None], *, terminal: bool
) -> str:
    """What ``call`` writes on ``sys.<stream>`` when it is an 80-column terminal or a pipe."""
    raw = io.BytesIO()
    out = (_Terminal if terminal else _Pipe)(raw, encoding="utf-8", newline="")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, stream, out)
    call()
    out.flush()
    monkeypatch.undo()
    return raw.getvalue().decode()


def _printed(monkeypatch: pytest.MonkeyPatch, lines: list[Line], *, terminal: bool) -> str:
    from scaleplan.cli import _common

    return _captured(monkeypatch, "stdout", lambda: _common.print_lines(lines), terminal=terminal)


class _Pipe(io.TextIOWrapper):
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("example", ["llm-chat", "llm-70b-tp", "embedding-cpu-gpu"])
def test_optimize_summary_fits_a_terminal_and_pipes_whole(
    monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    """optimize's binding-constraint and baseline lines were printed whole on an 80-column
    terminal (up to 136 columns: 'cheapest-single-type: $4.5817/h, saves 0.4% (... 2 x
    g6e.xlarge + 1 x g6e.xlarge spot)'), while the other prose lines wrap (UX trial 20 F8).
    On a terminal they wrap between words, continuations under the item's first word, no
    name split; in a pipe every line is still printed whole, as before."""
    from scaleplan.plan import read_plan
    from scaleplan.plan_report import summary_lines

    plan = read_plan(EXAMPLES / example / "plan.yaml")
    lines = summary_lines(plan, [], accelerators=ACCS)
    items = [f"  - {b}" for b in plan.binding_constraints]
    names = tuple(f"  - {b.name}: " for b in plan.baselines)
    items += [ln.text for ln in lines if ln.text.startswith(names)]
    assert items and max(len(t) for t in items) > 80  # the case the finding is about
    tty = _printed(monkeypatch, lines, terminal=True)
    assert_fits(tty)
    assert tokens(tty) == tokens("\n".join(ln.text for ln in lines))  # nothing split or lost
    shown = tty.splitlines()
    for item in (t for t in items if len(t) > 80):
        first = next(i for i, s in enumerate(shown) if item.startswith(s) and s.startswith("  - "))
        rest = list(itertools.takewhile(lambda s: s.startswith("    "), shown[first + 1 :]))
        assert rest and all(s[4] != " " for s in rest), rest  # under the item's first word
        assert " ".join([shown[first], *rest]).split() == item.split()  # each name whole
    assert _printed(monkeypatch, lines, terminal=False) == "".join(f"{ln.text}\n" for ln in lines)


def _warned(monkeypatch: pytest.MonkeyPatch, items: list[str], *, terminal: bool) -> str:
    from scaleplan.cli import _common

    return _captured(monkeypatch, "stderr", lambda: _common.warn(items), terminal=terminal)


def test_warnings_wrap_on_a_terminal_and_stay_whole_in_a_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stderr's warnings and notes were printed as one line each, up to 523 columns on an
    80-column terminal, which cut them mid-word at column 80 (UX trial 21 F8). On a terminal
    they wrap between words, continuations indented, a path whole; in a log, whole lines."""
    path = "/home/user/services/" + "x" * 70 + "/profile.yaml"
    item = ("A10G: modelled on a proxied peak: A10G FP16 peak proxy 70 TFLOPS (Baseten's A10 vs "
            f"A10G comparison; NVIDIA publishes none), read from {path}; the TTFT band is widened")
    tty = _warned(monkeypatch, [item, "short one"], terminal=True)
    lines = tty.splitlines()
    assert lines[0].startswith("warning: A10G:") and lines[-1] == "warning: short one", tty
    assert all(len(s) <= 80 for s in lines if path not in s), tty
    assert f"  {path};" in lines  # on a line of its own, whole (indented by 2)
    body = lines[1:-1]
    assert body and all(s.startswith("  ") and s[2] != " " for s in body), tty
    assert tty.split() == f"warning: {item} warning: short one".split()  # nothing split or lost
    assert _warned(monkeypatch, [item, "short one"], terminal=False) == (
        f"warning: {item}\nwarning: short one\n"
    )


def test_check_summary_wraps_on_a_terminal_findings_stay_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cli
) -> None:
    """UX trial 23 F8: check's text summary ran to 131 columns on an 80-column terminal
    ('passed: 0 errors, 0 warnings in 23 objects ... drift checked against the plan'). It now
    wraps between words there; a finding line (file:line: ..., what editors and log parsers
    read) stays whole, and a pipe gets every line whole."""
    from scaleplan.check.gate import tty_lines

    plan = str(EXAMPLES / "llm-chat" / "plan.yaml")
    cli(["render", plan, "--out", str(tmp_path / "m")])
    text = cli(["check", str(tmp_path / "m"), "--plan", plan]).stdout  # piped: whole
    assert len(text.splitlines()[-1]) > 80  # the summary: over 80 columns whole
    finding = "deploy/x.yaml:1: error [rule] Kind/name:" + " a long message" * 8
    lines = tty_lines(finding + "\n" + text)
    tty = _printed(monkeypatch, lines, terminal=True)
    assert finding in tty.splitlines()  # whole
    summary = [t for t in tty.splitlines() if t != finding]
    assert summary and max(len(t) for t in summary) <= 80, tty
    assert " ".join(" ".join(summary).split()) == " ".join(text.splitlines()[-1].split())
    assert _printed(monkeypatch, lines, terminal=False) == finding + "\n" + text


def _failed(monkeypatch: pytest.MonkeyPatch, err: Exception, *, terminal: bool) -> str:
    import typer

    from scaleplan.cli import _common

    def call() -> None:
        with pytest.raises(typer.Exit) as ei:
            _common.fail(err)  # type: ignore[arg-type]
        assert ei.value.exit_code == err.exit_code  # type: ignore[attr-defined]

    text = _captured(monkeypatch, "stderr", call, terminal=terminal)
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # NO_COLOR still prints the bold 'error:'


def test_errors_and_hints_wrap_on_a_terminal_as_warnings_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """UX trial 25 F19: on an 80-column terminal optimize's exit-4 ``error:`` and ``hint:``
    lines were printed whole (123 and 393 columns), cut mid-word by the terminal, while every
    warning wraps. They now wrap as warnings do (continuations indented by two spaces); each
    item of a multi-line message wraps under its first word; a log gets every line whole."""
    from solve_helpers import catalog, point, profile, row, spec

    from scaleplan.errors import InfeasibleError, InputError, Problem
    from scaleplan.solve import SolveOptions, solve

    cat = catalog(row("g6.xlarge", "L4", 1, 0.8), row("g5.xlarge", "A10G", 1, 1.0))
    prof = profile(point("L4", 1, 34, 30), point("A10G", 4, 41, 50))
    with pytest.raises(InfeasibleError) as ei:  # a real exit 4 from the real solver
        solve(spec(slo={"latency_ms": 20}), prof, cat, options=SolveOptions(alternatives=False))
    infeasible = ei.value
    whole = f"error: {infeasible}\nhint: {infeasible.hint}\n"
    assert max(len(s) for s in whole.splitlines()) > 80  # the case the finding is about
    tty = _failed(monkeypatch, infeasible, terminal=True)
    assert_fits(tty)
    lines = tty.splitlines()
    assert lines[0].startswith("error: no plan meets the spec")
    hint = next(i for i, s in enumerate(lines) if s.startswith("hint: "))
    rest = [s for i, s in enumerate(lines) if i not in (0, hint)]
    assert hint > 1 and all(s.startswith("  ") and s[2] != " " for s in rest), tty
    assert tty.split() == whole.split()  # nothing split or lost
    assert _failed(monkeypatch, infeasible, terminal=False) == whole

    path = "/home/user/services/" + "x" * 70 + "/spec.yaml"
    probs = [Problem("slo.latency_ms", "must be a number of ms above 0, got -5 " * 3, "use 250"),
             Problem("placement.accelerators", "names no accelerator of the catalogs", line=12)]
    bad = InputError(path, probs, hint="see docs/spec.md for every field; " * 4)
    tty = _failed(monkeypatch, bad, terminal=True)
    lines = tty.splitlines()
    assert all(len(s) <= 80 for s in lines if path not in s), tty
    assert lines[0] == "error:" and lines[1] == f"  {path}:"  # the path whole
    items = [i for i, s in enumerate(lines) if s.startswith("  - ")]
    below = lines[items[0] + 1]  # the first problem's continuation: under its first word
    assert len(items) == 2 and below.startswith("    ") and below[4] != " ", tty
    assert tty.split() == f"error: {bad}\nhint: {bad.hint}".split()
    assert _failed(monkeypatch, bad, terminal=False) == f"error: {bad}\nhint: {bad.hint}\n"
