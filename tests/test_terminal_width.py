"""Every command's output on an 80-column terminal fits 80 columns (README: "output that fits 80
columns and pipes"; UX trial 31 F9). Each shipped example with a spec, the per-class-SLO spec
of tests/data and a long service name on AKS (allocation names of 60 characters) run through
validate, optimize, render, check, simulate, diff, observe --print-queries and profile llm
--spec, plus the catalog, --list-rules and --list commands, with the real solver and files.

The terminal is ``COLUMNS=80`` with ``TTY_COMPATIBLE=1`` (rich's forced terminal, which stdout
counts as a terminal too: scaleplan.table.stdout_is_terminal); one test runs the commands that
printed whole lines before through a real pseudo-terminal. The one line allowed past 80
columns is a single word no break can shorten (a file name, a path, a PromQL selector), which is
never cut. A pipe keeps its documented whole lines (tests/test_output_width.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from tty_helpers import on_terminal

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LLM = ("llm-70b-tp", "llm-chat", "llm-chat-pool", "llm-moe", "class-slo", "long-name")
CASES = [*sorted(p.parent.name for p in EXAMPLES.glob("*/spec.yaml")), "class-slo", "long-name"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROMETHEUS = "http://127.0.0.1:9"


def over_80(text: str) -> list[str]:
    """The lines wider than 80 columns that a break between words could have shortened."""
    lines = ANSI.sub("", text).splitlines()
    return [line for line in lines if len(line) > 80 and len(line.split()) > 1]


class Terminal:
    """``scaleplan ARGS`` in-process on an 80-column terminal, stdout and stderr; each command
    line runs once per module (optimize's plans feed render, simulate, diff and observe)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.runs: dict[tuple[str, ...], str] = {}

    def __call__(self, *args: str) -> str:
        if args not in self.runs:
            from typer.testing import CliRunner

            from scaleplan.cli import app

            env = {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
            res = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
            assert res.exit_code in (0, 1), (args, res.stdout, res.stderr)
            self.runs[args] = res.stdout + res.stderr
        return self.runs[args]

    def spec(self, case: str) -> Path:
        if case == "class-slo":
            return ROOT / "tests" / "data" / "specs" / "class-slo.yaml"
        if case == "long-name":  # the trial's case: a long service name on AKS
            path = self.tmp / "long-name.yaml"
            text = self.spec("class-slo").read_text(encoding="utf-8")
            long = "{name: mixtral-8x7b-chat-production-eastus}"
            path.write_text(text.replace("{name: mixtral}", long), encoding="utf-8")
            return path
        return EXAMPLES / case / "spec.yaml"

    def optimize(self, case: str) -> tuple[str, Path]:
        out = self.tmp / case / "optimized"
        return self("optimize", str(self.spec(case)), "--out", str(out)), out / "plan.yaml"

    def plan(self, case: str) -> Path:
        shipped = EXAMPLES / case / "plan.yaml"
        return shipped if shipped.exists() else self.optimize(case)[1]


@pytest.fixture(scope="module")
def term(tmp_path_factory: pytest.TempPathFactory) -> Terminal:
    return Terminal(tmp_path_factory.mktemp("terminal-width"))


def _render(t: Terminal, case: str) -> str:
    return t("render", str(t.plan(case)), "--out", str(t.tmp / case / "manifests"))


def _check(t: Terminal, case: str) -> str:
    _render(t, case)
    return t("check", str(t.tmp / case / "manifests"), "--plan", str(t.plan(case)))


def _simulate(t: Terminal, case: str) -> str:
    return t("simulate", str(t.plan(case)), "--duration", "5", "--windows", "peak")


def _diff(t: Terminal, case: str) -> str:
    return t("diff", str(t.plan(case)), str(t.optimize(case)[1]))


def _queries(t: Terminal, case: str) -> str:
    return t("observe", "--prometheus", PROMETHEUS, "--plan", str(t.plan(case)), "--print-queries")


def _profile(t: Terminal, case: str) -> str:
    return t("profile", "llm", "--spec", str(t.spec(case)), "--out", str(t.tmp / case / "p.yaml"))


COMMANDS: dict[str, Callable[[Terminal, str], str]] = {
    "validate": lambda t, case: t("validate", str(t.spec(case))),
    "optimize": lambda t, case: t.optimize(case)[0],
    "render": _render,
    "check": _check,
    "simulate": _simulate,
    "diff": _diff,
    "observe --print-queries": _queries,
    "profile llm --spec": _profile,
}


@pytest.mark.parametrize(
    ("case", "command"),
    [(c, cmd) for c in CASES for cmd in COMMANDS if c in LLM or not cmd.startswith("profile")],
)
def test_every_line_fits_80_columns(term: Terminal, case: str, command: str) -> None:
    text = COMMANDS[command](term, case)
    assert text.strip(), (case, command)
    long = over_80(text)
    assert not long, f"{command} ({case}): {len(long)} line(s) over 80 columns, e.g. {long[0]!r}"


@pytest.mark.parametrize(
    "args",
    [["catalog", "list"], ["catalog", "accelerators"], ["catalog", "show", "g6e.xlarge"],
     ["check", "--list-rules"], ["profile", "llm", "--list"]],
)
def test_listings_fit_80_columns(term: Terminal, args: list[str]) -> None:
    long = over_80(term(*args))
    assert not long, f"{' '.join(args)}: {len(long)} line(s) over 80 columns, e.g. {long[0]!r}"


def test_wrapped_lines_lose_no_word(term: Terminal) -> None:
    """What a terminal wraps is what a pipe prints whole: the same words in the same order (the
    plan's per-class shapes, savings, the simulator's header, the queries, diff's files)."""
    from typer.testing import CliRunner

    from scaleplan.cli import app

    chat, pool = (str(EXAMPLES / ex / "plan.yaml") for ex in ("llm-chat", "llm-chat-pool"))
    long, profile = str(term.plan("long-name")), f"{term.tmp}/{'x' * 60}.yaml"
    for args in (
        ("simulate", chat, "--duration", "5", "--windows", "peak"),
        ("observe", "--prometheus", PROMETHEUS, "--plan", long, "--print-queries"),
        ("diff", chat, pool),
        ("profile", "llm", "--spec", str(term.spec("long-name")), "--out", profile),
    ):
        env = {"COLUMNS": "80", "NO_COLOR": "1"}
        res = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
        piped = res.stdout + res.stderr
        shown = ANSI.sub("", term(*args))
        assert max(len(s) for s in piped.splitlines()) > 80  # a pipe gets them whole
        drawn, whole = (re.sub(r"[─━]+", "", t) for t in (shown, piped))  # a terminal's rules
        if args[0] == "observe":  # PromQL breaks after ',', '(' and '{' too: the same characters
            drawn, whole = ("".join(t.split()) for t in (drawn, whole))
        assert drawn.split() == whole.split(), args


def test_a_real_terminal_wraps_queries_and_the_diff_header(term: Terminal) -> None:
    """On a tty, observe --print-queries printed each query on one line (up to 500 columns) and
    diff its 'BEFORE -> AFTER' header whole; both now wrap between words, the continuation
    indented by two spaces, each file whole."""
    plan = term.plan("long-name")
    args = ("--prometheus", PROMETHEUS, "--plan", str(plan), "--print-queries")
    text = on_terminal("observe", *args)
    assert not over_80(text), text
    names = [s.split(":")[0] for s in text.splitlines() if not s.startswith(" ")]
    assert "demand" in names and all(re.fullmatch(r"[\w@-]+", n) for n in names), names
    before, after = (EXAMPLES / ex / "plan.yaml" for ex in ("vision-daily", "embedding-cpu-gpu"))
    lines = on_terminal("diff", str(before), str(after)).splitlines()
    assert lines[:2] == [f"{before} ->", f"  {after}"], lines[:3]


def test_promql_breaks_outside_quoted_strings_only() -> None:
    """A query wraps after ',', '(' and '{' but never inside a quoted label value (a pod regex
    holds '(' and '|'); a value wider than the terminal stays whole on its own line."""
    from scaleplan.table import Line

    pods = "(" + "|".join(f"chat-{'x' * 20}-{i}" for i in range(3)) + ")-.*"
    query = f'avg(DCGM_FI_DEV_GPU_UTIL{{namespace="llm",pod=~"{pods}",le="+Inf"}}) by (pod, gpu)'
    lines = Line(f"gpu_utilization: {query}", hang=2, breaks=",({").wrapped(40).split("\n")
    assert len(lines) > 3 and all(s.startswith("  ") for s in lines[1:]), lines
    assert all(s.count('"') % 2 == 0 for s in lines), lines  # no string split
    assert f'pod=~"{pods}",' in [s.strip() for s in lines], lines
    assert "".join(lines).replace(" ", "") == f"gpu_utilization:{query}".replace(" ", "")
