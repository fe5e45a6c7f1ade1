"""Every optional dependency, when missing, fails the same way: exit 5 (EXTERNAL) naming the
extra to install (docs/cli.md, "Exit codes"). boto3 and aiohttp exited 2, torch, onnxruntime
and matplotlib 3. Each guarded path runs in a real subprocess whose import system refuses the
module (a meta-path blocker installed before scaleplan starts), not a mock of scaleplan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scaleplan.errors import ExitCode
from scaleplan.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"

BLOCKER = """
import sys
BLOCKED = sys.argv.pop(1)
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name == BLOCKED or name.startswith(BLOCKED + "."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
for loaded in [m for m in sys.modules if m == BLOCKED or m.startswith(BLOCKED + ".")]:
    del sys.modules[loaded]
sys.argv[0] = "scaleplan"
from scaleplan.__main__ import main
main()
"""

# one command line per extra: the path that needs it (the module, then the arguments)
GUARDED = {
    "boto3": [
        "catalog", "refresh", "--provider", "aws", "--regions", "us-east-1",
        "--out", "{tmp}/aws.yaml", "--dry-run",
    ],
    "aiohttp": ["profile", "http://127.0.0.1:9/v1/x", "--out", "{tmp}/p.yaml"],
    "torch": ["profile", "{tmp}/m.pt", "--input-shape", "8", "-o", "{tmp}/p.yaml"],
    "onnxruntime": ["profile", "{tmp}/m.onnx", "--out", "{tmp}/p.yaml"],
    "matplotlib": ["simulate", str(PLAN), "--png", "{tmp}/s.png"],
}


def test_every_extra_has_a_guarded_path_here() -> None:
    assert set(GUARDED) == set(EXTRAS)


@pytest.mark.parametrize("module", sorted(GUARDED))
def test_missing_extra_exits_external_naming_the_extra(tmp_path: Path, module: str) -> None:
    (tmp_path / "m.pt").write_bytes(b"")
    (tmp_path / "m.onnx").write_bytes(b"")
    args = [a.replace("{tmp}", str(tmp_path)) for a in GUARDED[module]]
    res = subprocess.run(
        [sys.executable, "-c", BLOCKER, module, *args],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )
    said = " ".join(res.stderr.split())
    assert res.returncode == ExitCode.EXTERNAL, (res.returncode, said)
    assert f"needs {module}, which is not installed" in said, said
    assert f"pip install '/path/to/scaleplan[{EXTRAS[module]}]'" in said, said
    assert "Traceback" not in res.stderr and "Usage:" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.pt"]  # nothing written


# import guards that are not about an extra, by file
NOT_EXTRAS = {
    "scaleplan/profile/devices.py",  # torch absent: no GPU found, `--device cuda` says so (exit 5)
    "scaleplan/profile/targets.py",  # the user's own factory module (a target that fails: 3)
}


def test_every_import_guard_raises_the_one_missing_extra_error() -> None:
    """Each `except ImportError/ModuleNotFoundError` in scaleplan raises extras.missing()
    (exit 5) or is one of the documented non-extras above: a guard with its own error type
    (InputError, ProfileError, MissingExtra as 2) is the inconsistency this file is about."""
    import ast

    odd = []
    for path in sorted((ROOT / "scaleplan").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
            if not names & {"ImportError", "ModuleNotFoundError"}:
                continue
            calls = {
                c.func.id
                for c in ast.walk(node)
                if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
            }
            if "missing" not in calls and rel not in NOT_EXTRAS and rel != "scaleplan/extras.py":
                odd.append(f"{rel}:{node.lineno}")
    assert not odd, odd
