"""Shared test fixtures. Area-specific helpers live in tests/<area>_helpers.py."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ../shared next to the checkout; SCALEPLAN_SHARED points elsewhere (a worktree outside /work)
SHARED = Path(os.environ.get("SCALEPLAN_SHARED") or ROOT.parent / "shared")
EXAMPLES = ROOT / "examples"

# Deterministic rich output in CLI tests.
os.environ.setdefault("TERMINAL_WIDTH", "200")
os.environ.setdefault("COLUMNS", "200")
os.environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"
os.environ.pop("FORCE_COLOR", None)
# The parsed-file cache (scaleplan/cache.py) of a test run lives in a fresh folder, never in
# the user's ~/.cache: every test after the first that reads a file reads it from there.
_CACHE = tempfile.mkdtemp(prefix="scaleplan-test-cache-")
os.environ["SCALEPLAN_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False, help="Rewrite golden files instead of comparing.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture
def cli():
    """Run the CLI in-process: cli(["catalog", "list"], exit_code=0) -> result with .stdout/.stderr."""
    from typer.testing import CliRunner

    from scaleplan.cli import app

    runner = CliRunner()

    def run(args: list[str], exit_code: int | None = 0, input: str | None = None):
        result = runner.invoke(app, args, input=input, catch_exceptions=False)
        if exit_code is not None and result.exit_code != exit_code:
            raise AssertionError(
                f"scaleplan {' '.join(args)} exited {result.exit_code}, expected {exit_code}\n"
                f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def tables():  # type: ignore[no-untyped-def]
    """The shipped accelerator and instance tables that render and check take
    (scaleplan.inputs.load_tables), read once per session."""
    from tables_helpers import shipped_tables

    return shipped_tables()


def load_script(path: Path) -> ModuleType:
    """A script outside the package (bench/, tools/) as a module, registered under its file name
    (dataclasses look their module up)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod
