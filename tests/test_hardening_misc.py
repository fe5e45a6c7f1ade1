"""Issue 19, groups 9 and 10: options and imported files are bad input (exit 2 or 3), never a
bug report (exit 70) or minutes of work (docs/hardening.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hardening_helpers import EXAMPLE

MELANGE = Path(__file__).parent / "data" / "melange" / "example.json"


def test_simulate_negative_seed_is_usage_error(cli) -> None:
    """`simulate --seed -1` exited 3 (bad input) where bad options exit 2."""
    r = cli(["simulate", str(EXAMPLE / "plan.yaml"), "--seed", "-1"], exit_code=2)
    assert "--seed" in r.stderr


@pytest.mark.parametrize(("opt", "value", "said"), [("--name", "../../x", "DNS-1123 label"), ("--rate", "1e300", "at most 10,000,000")], ids=["name", "rate"])
def test_import_melange_bad_options_are_usage_errors(tmp_path: Path, cli, opt: str, value: str, said: str) -> None:
    """`--name ../../x` and `--rate 1e300` to `import melange` gave exit 70, then 3 (an invalid
    spec built from the file); bad option values, they are usage errors (2) now."""
    r = cli(["import", "melange", str(MELANGE), "--out", str(tmp_path / "o"), opt, value], exit_code=2)
    assert f"Invalid value for {opt}:" in r.stderr and said in " ".join(r.stderr.split())
    assert not (tmp_path / "o").exists()


def test_import_melange_deep_json_is_bad_input(tmp_path: Path, cli) -> None:
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    r = cli(["import", "melange", str(f), "--out", str(tmp_path / "o")], exit_code=3)
    assert "nested too deeply" in r.stderr


def test_did_you_mean_is_bounded_for_200000_unknown_keys() -> None:
    """200,000 unknown keys made `validate` spend minutes in did-you-mean."""
    code = (
        "from pydantic import ValidationError\n"
        "from scaleplan.spec import Spec\n"
        "from scaleplan.problems import problems_from_validation\n"
        "try:\n"
        "    Spec.model_validate({f'unknownkey{i}': 1 for i in range(200_000)})\n"
        "except ValidationError as exc:\n"
        "    ps = problems_from_validation(exc, Spec)\n"
        "    print(len(ps), ps[-1].message)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    n, _, last = r.stdout.strip().partition(" ")
    assert int(n) <= 51 and "more problems not listed" in last
