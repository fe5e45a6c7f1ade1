"""The layer boundaries are enforced by ruff (pyproject.toml, docs/architecture.md), not prose.

Each case feeds ruff a one-line module under a path inside the package and checks that the
rule fires where the library does not belong and stays quiet in the library's own room.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(path: str, source: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    return subprocess.run(
        [ruff, "check", "--no-cache", "--select", "TID251", "--stdin-filename", path, "-"],
        input=source, capture_output=True, text=True, cwd=ROOT, check=False,
    )


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("scaleplan/render/bad.py", "import typer\n"),
        ("scaleplan/solve/core_bad.py", "from rich.table import Table\n"),
        ("scaleplan/render/bad.py", "import pulp\n"),
        ("scaleplan/simulate/bad.py", "import pulp\n"),
        ("scaleplan/solve/milp/window.py", "import pulp\n"),
        ("scaleplan/solve/bad.py", "import boto3\n"),
        ("scaleplan/llm/bad.py", "import typer\n"),
    ],
)
def test_boundary_violation_fails(path: str, source: str) -> None:
    out = _ruff(path, source)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "TID251" in out.stdout


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("scaleplan/cli/ok.py", "import typer\n"),
        ("scaleplan/solve/milp/model.py", "import pulp\n"),
        ("scaleplan/catalog/aws.py", "import boto3\n"),
    ],
)
def test_library_allowed_in_its_room(path: str, source: str) -> None:
    out = _ruff(path, source)
    assert out.returncode == 0, out.stdout + out.stderr
