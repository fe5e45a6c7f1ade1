"""The command-line process starts with the cyclic GC paused and runs its command with it on
(scaleplan.startup, issue 20)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scaleplan.startup import resume_gc

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import gc, json, os, sys
from scaleplan.__main__ import main
seen = {}
import scaleplan.plan_outputs as po
write = po.write_solved
def spy(*a, **k):  # the command's own work
    seen["work"] = [gc.isenabled(), gc.get_freeze_count()]
    seen["blas"] = [os.environ.get("OPENBLAS_NUM_THREADS"), len(os.listdir("/proc/self/task"))]
    return write(*a, **k)
po.write_solved = spy
sys.argv = ["scaleplan", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(seen), file=sys.stderr)
"""


_HELP = """
import gc, sys
from scaleplan.__main__ import main
sys.argv = ["scaleplan", "--help"]
try:
    main()
except SystemExit:
    print(gc.isenabled())
"""


Env = dict[str, str] | None


def _run(code: str, *args: str, env: Env = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", code, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def _optimize(tmp_path: Path, env: Env = None) -> dict[str, Any]:
    example = ROOT / "tests" / "data" / "melange" / "example.json"
    args = ["optimize", "--melange", str(example), "--out", str(tmp_path / "o"), "--json"]
    proc = _run(_PROBE, json.dumps(args), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_a_command_runs_with_the_collector_on_and_start_up_frozen(tmp_path: Path) -> None:
    enabled, frozen = _optimize(tmp_path)["work"]
    assert enabled
    assert frozen > 10_000  # the modules, classes and command tree built while starting


BLAS_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
NO_TASKS = not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2


@pytest.mark.skipif(NO_TASKS, reason="Linux's /proc and two CPUs (one: OpenBLAS starts no worker)")
def test_optimize_loads_numpy_without_blas_threads_and_leaves_no_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARS}
    assert _optimize(tmp_path, env)["blas"] == [None, 1]  # no OpenBLAS worker, nothing for children
    # a thread count the user set is kept: OpenBLAS starts its worker as asked
    assert _optimize(tmp_path, {**env, "OPENBLAS_NUM_THREADS": "2"})["blas"] == ["2", 2]


def test_help_runs_paused() -> None:
    proc = _run(_HELP)
    assert proc.stdout.strip().splitlines()[-1] == "False"  # paused for the whole of --help


def test_resume_without_a_pause_changes_nothing() -> None:
    frozen = gc.get_freeze_count()
    resume_gc()  # a test process calling the app: never paused
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


_REGISTERED = """
import sys
from scaleplan.__main__ import main
sys.argv = ["scaleplan", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    import scaleplan.cli as cli
    names = [i.name for i in (*cli.app.registered_commands, *cli.app.registered_groups)]
    print(exc.code, sorted(names), file=sys.stderr)
"""


def _registered(*args: str) -> tuple[str, str]:
    proc = _run(_REGISTERED, *args)
    return proc.stderr.strip().splitlines()[-1], proc.stdout + proc.stderr


def test_a_process_running_one_command_registers_its_module_alone() -> None:
    assert _registered("optimize", "--help")[0] == "0 ['optimize']"
    assert _registered("catalog", "--help")[0] == "0 ['catalog']"  # a group, and its subcommands
    assert _registered("validate", "--help")[0] == "0 ['schema', 'validate']"  # the first module


_NAMES = ["catalog", "check", "diff", "import", "observe", "optimize", "profile", "render"]
ALL = str([*_NAMES, "schema", "simulate", "validate"])


@pytest.mark.parametrize("args", [["--help"], ["importer"], ["optimise"]])
def test_anything_else_registers_every_module(args: list[str]) -> None:
    line, out = _registered(*args)
    assert line.endswith(ALL)
    if args == ["optimise"]:  # a misspelt command: the same error and suggestion as ever
        assert "No such command 'optimise'" in out
