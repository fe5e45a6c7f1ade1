"""The CLI shell: --version, --help, cheap start-up, exit codes, no ANSI when not a terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer
from spec_helpers import GOOD, ROOT, SPECS

import scaleplan
from scaleplan.cli._common import handle_errors
from scaleplan.errors import ExitCode, OptionError

HEAVY = ("pulp", "boto3", "botocore", "torch", "kubernetes_validate", "highspy", "onnxruntime", "moto")
ANSI = re.compile(r"\x1b\[")


def run(args: list[str], env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "SCALEPLAN_DEBUG", "_TYPER_FORCE_DISABLE_TERMINAL"}}
    return subprocess.run([sys.executable, "-m", "scaleplan", *args], capture_output=True, text=True, env={**base, **(env or {})}, timeout=60, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def test_version(cli) -> None:
    result = cli(["--version"])
    assert result.stdout == f"scaleplan {scaleplan.__version__}\n"


def test_help_lists_commands(cli) -> None:
    result = cli(["--help"])
    assert "Usage: scaleplan" in result.stdout
    for command in ("schema", "validate", "catalog"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    assert cli(["-h"]).stdout == result.stdout


def test_no_arguments_shows_help(cli) -> None:
    result = cli([], exit_code=None)
    assert result.exit_code in (0, 2)
    assert "Usage: scaleplan" in result.stdout + result.stderr


def test_python_dash_m_help_and_version() -> None:
    proc = run(["--help"])
    assert proc.returncode == 0, proc.stderr
    assert "Usage: scaleplan" in proc.stdout and proc.stderr == ""
    assert run(["--version"]).stdout.strip() == f"scaleplan {scaleplan.__version__}"


_PROBE = """
import json, sys
from scaleplan.cli import app, main
import typer.main
names = sorted(typer.main.get_command(app).commands)
leaked = {}
for args in [["--help"], *[[n, "--help"] for n in names]]:
    sys.argv = ["scaleplan", *args]
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), (args, exc.code)
    leaked[" ".join(args)] = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
print(json.dumps({"commands": names, "leaked": leaked}), file=sys.stderr)
"""


def test_help_imports_no_heavy_library() -> None:
    """`scaleplan --help` (and each command's --help) imports none of pulp, boto3, torch, kubernetes_validate."""
    code = f"HEAVY = {HEAVY!r}\n" + _PROBE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "validate" in report["commands"] and "schema" in report["commands"]
    assert report["leaked"]["--help"] == []
    assert {k: v for k, v in report["leaked"].items() if v} == {}


def test_importtime_of_help_names_no_heavy_module() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "scaleplan", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "typer" in imported  # the probe works
    assert imported.isdisjoint(HEAVY)


_OPTIMIZE_PROBE = """
import json, sys
from scaleplan.cli import main
sys.argv = ["scaleplan", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("json_out", [True, False], ids=["json", "table"])
def test_optimize_imports_only_what_it_uses(tmp_path, json_out: bool) -> None:
    """`optimize` without --observed imports no scaleplan.observe; into a pipe (JSON, or the
    summary lines rich would write unchanged) and with no warning, not rich either (start-up
    cost, issue 20)."""
    args = ["optimize", "--melange", str(ROOT / "tests" / "data" / "melange" / "example.json"), "--out", str(tmp_path / "o")]
    code = [sys.executable, "-c", _OPTIMIZE_PROBE, json.dumps([*args, *(["--json"] if json_out else [])])]
    proc = subprocess.run(code, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert "pulp" in modules and "scaleplan.render" in modules  # the probe ran the command
    assert not {m for m in modules if m.startswith("scaleplan.observe")}
    assert "rich" not in modules


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "xterm-256color"}], ids=["NO_COLOR", "non-tty"])
def test_no_ansi_when_not_a_terminal(env: dict[str, str]) -> None:
    outputs = [
        run(["--help"], env),
        run(["validate", str(SPECS / "bad-five-problems.yaml")], env),  # rich error text on stderr
        run(["schema", "nope"], env),
    ]
    assert [p.returncode for p in outputs] == [0, 3, 2]
    for proc in outputs:
        assert not ANSI.search(proc.stdout + proc.stderr), proc.args


def test_usage_errors_exit_2(cli) -> None:
    assert cli(["no-such-command"], exit_code=2).stdout == ""
    cli(["validate", "--no-such-flag", str(GOOD)], exit_code=2)
    cli(["validate"], exit_code=2)


def test_option_error_from_the_core_is_a_usage_error(cli) -> None:
    """A value the core refuses (catalog.query's --sort, table.py's -o) is printed as click
    prints its own usage errors: usage line, the option named, exit 2, nothing on stdout."""
    res = cli(["catalog", "list", "--sort", "cheapest"], exit_code=2)
    assert res.stdout == ""
    assert "Usage: scaleplan catalog list [OPTIONS]" in res.stderr
    assert "Invalid value for --sort: must be one of price, gpu-price, gpu-memory, name, region; got 'cheapest'" in res.stderr
    res = cli(["catalog", "accelerators", "-o", "tall"], exit_code=2)
    assert "Invalid value for -o/--output: must be 'wide' (or use --json); got 'tall'" in res.stderr
    with pytest.raises(typer.BadParameter) as info, handle_errors():
        raise OptionError("must be odd", option="--n")
    assert info.value.format_message() == "Invalid value for --n: must be odd"


def _float_options() -> list[tuple[list[str], str]]:
    """(command path, option) for every float option of every command, read from the CLI."""
    from typer.main import get_command

    from scaleplan.cli import app

    def walk(cmd: object, path: list[str]) -> list[tuple[list[str], str]]:
        subs = getattr(cmd, "commands", None)
        if subs is not None:
            return [o for name, sub in sorted(subs.items()) for o in walk(sub, [*path, name])]
        params = getattr(cmd, "params", [])
        return [(path, p.opts[0]) for p in params if _annotation(p) is float]

    return walk(get_command(app), [])


def _annotation(param: object) -> object:
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


FLOAT_OPTIONS = _float_options()
FLOAT_IDS = [f"{' '.join(p)} {o}" for p, o in FLOAT_OPTIONS]


def test_float_options_found() -> None:
    assert len(FLOAT_OPTIONS) >= 30
    assert (["optimize"], "--time-limit") in FLOAT_OPTIONS
    assert (["simulate"], "--fail-at") in FLOAT_OPTIONS


@pytest.mark.parametrize(("path", "option"), FLOAT_OPTIONS, ids=FLOAT_IDS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_float_options_refuse_nan_and_inf(cli, path: list[str], option: str, value: str) -> None:
    """nan and inf are usage errors that say what is wrong (not a failed range check such as
    'should be <= 86400', not a bad input file), on every float option of every command."""
    res = cli([*path, option, value], exit_code=ExitCode.USAGE)
    err = " ".join(res.stderr.split())
    what = "is not a finite" if "inf" in value else "is not a"
    assert f"Invalid value for {option}: {value} {what}" in err, err
    assert "; give e.g. " in err and "Input should" not in err and "Traceback" not in err


def _bounded_int_options() -> list[tuple[list[str], str, int]]:
    """(command path, option, lower bound) for every int option with a lower bound."""
    from typer.main import get_command

    from scaleplan.cli import app

    def walk(cmd: object, path: list[str]) -> list[tuple[list[str], str, int]]:
        if (subs := getattr(cmd, "commands", None)) is not None:
            return [o for name, sub in sorted(subs.items()) for o in walk(sub, [*path, name])]
        ints = [p for p in getattr(cmd, "params", []) if _annotation(p) in (int, int | None)]
        return [(path, p.opts[0], p.type_descriptor.parameter_info.min) for p in ints
                if getattr(p.type_descriptor.parameter_info, "min", None) is not None]

    return walk(get_command(app), [])


INT_OPTIONS = _bounded_int_options()


def test_int_options_found() -> None:
    assert (["simulate"], "--seed", 0) in INT_OPTIONS and len(INT_OPTIONS) >= 10


INT_IDS = [f"{' '.join(p)} {o}" for p, o, _ in INT_OPTIONS]


@pytest.mark.parametrize(("path", "option", "low"), INT_OPTIONS, ids=INT_IDS)
def test_int_options_say_what_is_wrong_in_plain_words(cli, path: list[str], option: str,
                                                      low: int) -> None:
    """An int option out of range or not a whole number is a usage error in the words the float
    options use, never pydantic's 'Input should be greater than or equal to 0'."""
    bad = (str(low - 1), f"got {low - 1}"), ("abc", "'abc' is not a whole number")
    for value, said in (*bad, ("1.5", "'1.5' is not a whole number")):
        res = cli([*path, option, value], exit_code=ExitCode.USAGE)
        err = " ".join(res.stderr.split())
        assert f"Invalid value for {option}: " in err and said in err, err
        assert "Input should" not in err and "Traceback" not in err, err


def test_float_option_messages(cli) -> None:
    def err(*args: str) -> str:
        return " ".join(cli(list(args), exit_code=2).stderr.split())

    nan = err("optimize", "spec.yaml", "--time-limit", "nan")
    assert "--time-limit: nan is not a number of seconds; give e.g. 60" in nan
    zero = err("optimize", "spec.yaml", "--time-limit", "0")
    assert "--time-limit: must be between 1 and 86400; got 0" in zero
    cheap = err("catalog", "list", "--max-price", "cheap")
    assert "--max-price: 'cheap' is not a price in $/hour; give e.g. 10" in cheap
    # a negative bound listed "0 instance types", exit 0, as if nothing were that cheap
    for option, value in (("--max-price", "-1"), ("--min-gpu-memory", "-5")):
        assert f"{option}: must be >= 0; got {value}" in err("catalog", "list", option, value)
    quantile = err("observe", "--quantile", "2", "--prometheus", "http://x", "--plan", "p.yaml")
    assert "--quantile: must be between 0.01 and 1; got 2" in quantile
    rates = err("profile", "run", "http://127.0.0.1:1/x", "--rate", "1,inf")  # a list of numbers
    assert "--rate: values must be finite numbers > 0; got '1,inf'" in rates


def _exit_of(exc: BaseException) -> int:
    with pytest.raises(typer.Exit) as info, handle_errors():
        raise exc
    return int(info.value.exit_code)


def test_handle_errors_maps_interrupt_and_internal_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_of(KeyboardInterrupt()) == ExitCode.INTERRUPTED == 130
    assert _exit_of(RuntimeError("boom")) == ExitCode.INTERNAL == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err
    assert "Traceback" not in err


def test_exit_codes_match_docs() -> None:
    """The exit-code table in docs/cli.md and the ExitCode enum agree, code by code."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|\s*`?(\d+)`?\s*\|\s*`?([A-Z_]+)`?\s*\|", section, re.M)
    assert rows, "no exit-code table under '## Exit codes' in docs/cli.md"
    assert {int(code): name for code, name in rows} == {e.value: e.name for e in ExitCode}
    assert [int(c) for c, _ in rows] == [0, 1, 2, 3, 4, 5, 70, 130]
    # every command that exits 1 is named in its row: check's findings and drift, and simulate's
    # plan that does not hold (TargetMissed; the row named check alone, UX review 13, F4)
    one = next(line for line in section.splitlines() if re.match(r"^\|\s*1\s*\|", line))
    assert "`check`" in one and "`simulate`" in one, one


def test_stdout_is_only_json_with_json_flag() -> None:
    proc = run(["validate", str(GOOD), "--json"])
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["valid"] is True
    assert proc.stderr == ""


def test_broken_pipe_is_quiet() -> None:
    base = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "SCALEPLAN_DEBUG"}}
    proc = subprocess.Popen([sys.executable, "-m", "scaleplan", "schema", "spec"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) in (0, 1, 120, -13)  # 141/-13: SIGPIPE; never a traceback
    assert "Traceback" not in err


def test_optimize_prints_the_same_bytes_for_the_same_inputs(cli, tmp_path) -> None:
    """The summary carries no solve time (a wall-clock figure differs run to run: 0.32 s then
    0.42 s in a new-user trial); --json's solve_seconds keeps it."""
    spec = str(ROOT / "examples" / "embedding-cpu-gpu" / "spec.yaml")
    outs = [
        cli(["optimize", spec, "--out", str(tmp_path / d)]).stdout.replace(str(tmp_path / d), "OUT")
        for d in ("a", "b")
    ]
    assert outs[0] == outs[1]
    title = next(line for line in outs[0].splitlines() if line.startswith("Plan for "))
    assert re.fullmatch(r"Plan for [\w.-]+: optimal, gap 0\.00%", title), title


@pytest.mark.parametrize("command", ["check", "optimize", "simulate", "render"])
def test_an_unknown_option_suggests_only_close_options(cli, command: str) -> None:
    """The parser's did-you-mean compares option names without their dashes: the shared ``--``
    alone made ``--bogus`` "close" to ``--out`` (difflib ratio 0.67 with it, 0.5 without), so
    an unrelated word got an unrelated suggestion; a near miss still gets its option."""
    bogus = cli([command, "--bogus"], exit_code=2).stderr
    assert "No such option: --bogus" in bogus and "Possible options" not in bogus, bogus
    near = cli([command, "--jsno"], exit_code=2).stderr
    assert "No such option: --jsno (Possible options: --json)" in near, near
    assert "(Possible options: --json)" in cli([command, "--JSON"], exit_code=2).stderr


@pytest.mark.parametrize("option", ["--flavor", "--target"])
def test_an_option_that_is_a_spec_field_says_where_it_is_set(cli, option: str) -> None:
    """UX trial 21 F7: `scaleplan render plan.yaml --out m --flavor aks` said only "No such
    option: --flavor"; the flavor is the spec's kubernetes.flavor, which the plan keeps. UX
    trial 31: `--target aks`, the same."""
    plan = str(ROOT / "examples" / "llm-chat" / "plan.yaml")
    res = cli(["render", plan, "--out", "-", option, "aks"], exit_code=2)
    said = " ".join(res.stderr.split())
    first = f"No such option: {option} (kubernetes.flavor is set in the spec, not on the command"
    assert first in said and "render, check and simulate read it from the plan)" in said, said
    args = ["render", plan, "--out", "-", option, "aks", "--json"]
    obj = json.loads(cli(args, exit_code=2).stdout)
    assert "kubernetes.flavor is set in the spec" in obj["error"]["message"], obj


def test_an_unknown_top_level_option_suggests_only_close_options(cli) -> None:
    assert "Possible options" not in cli(["--bogus"], exit_code=2).stderr
    assert "(Possible options: --version)" in cli(["--verison"], exit_code=2).stderr


@pytest.mark.parametrize("argv", [["--version", "--json"], ["--json", "--version"]])
def test_version_under_json_is_one_json_object(cli, argv: list[str]) -> None:
    """Under ``--json`` stdout holds one JSON document (docs/cli.md): ``--version --json``
    prints ``{"version": ...}``, exit 0, as ``--version`` alone prints its line."""
    result = cli(argv)
    assert json.loads(result.stdout) == {"version": scaleplan.__version__}
    assert result.stderr == ""
    assert cli(["--version"]).stdout == f"scaleplan {scaleplan.__version__}\n"


def test_top_level_json_without_version_is_refused(cli) -> None:
    """The top level's ``--json`` goes with ``--version``; before a command it would be ignored
    (the command's own ``--json`` comes after it), so it is a usage error saying where it goes."""
    result = cli(["--json", "catalog", "accelerators"], exit_code=2)
    err = json.loads(result.stdout)["error"]
    assert err["option"] == "--json" and "after the command" in err["message"], err
    assert "after the command" in result.stderr


def test_catalog_list_counts_types_and_rows(cli) -> None:  # type: ignore[no-untyped-def]
    """UX trial 23 F9: one row read "1 instance types", and 5 H100 types in 2 regions "10
    instance types" (the count was of rows)."""
    args = ["catalog", "list", "--provider", "gcp", "--accelerator", "H200"]
    one = cli([*args, "--region", "us-central1"])
    assert one.stdout.splitlines()[0] == "1 instance type", one.stdout
    two = cli(["catalog", "list", "--provider", "gcp", "--accelerator", "H100"]).stdout
    assert two.splitlines()[0] == "5 instance types, 10 rows (one per region)", two
