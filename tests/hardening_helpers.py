"""Helpers for the hardening tests (tests/test_hardening_*.py, docs/hardening.md).

Each case of issue 19 is one test; ``CASES`` in docs/hardening.md lists them with their exit
codes. CLI runs that could hang on a broken build run in a subprocess with a hard timeout,
so that a regression fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vision-daily"


def example_copy(dst: Path) -> Path:
    """A writable copy of examples/vision-daily (spec, profile, plan); returns the spec path."""
    for name in ("spec.yaml", "profile.yaml", "plan.yaml"):
        shutil.copy(EXAMPLE / name, dst / name)
    return dst / "spec.yaml"


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def sub(path: Path, pattern: str, repl: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    assert n, f"{pattern!r} not in {path}"
    path.write_text(new, encoding="utf-8")


def run(args: list[str], *, timeout: float = 120, cwd: Path | None = None, input: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``scaleplan ARGS`` in a fresh interpreter; fails the test (not the suite) on a hang."""
    e = {**os.environ, "COLUMNS": "100", **(env or {})}
    e.pop("SCALEPLAN_DEBUG", None)
    r = subprocess.run([sys.executable, "-m", "scaleplan", *args], capture_output=True, timeout=timeout, cwd=cwd, input=input, env=e, check=False)
    return subprocess.CompletedProcess(r.args, r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace"))


def assert_exit(r: subprocess.CompletedProcess[str], code: int) -> None:
    assert r.returncode == code, f"exit {r.returncode}, expected {code}\n--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr
