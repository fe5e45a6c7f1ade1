"""A scaleplan file of one kind given where another is read: one paragraph that names what it
is and what to pass, exit 3 (INVALID_INPUT, docs/cli.md "Exit codes"). A catalog may leave out
`kind:` (it defaults), and `diff` or `simulate` given such a catalog listed nine missing plan
fields and two unknown keys (note43); a document without `kind:` is now told by its top-level
keys (problems.KIND_KEYS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "llm-chat" / "plan.yaml"
SPEC = ROOT / "examples" / "llm-chat" / "spec.yaml"
CATALOG = ROOT / "tests" / "data" / "onprem" / "inventory.yaml"
PROFILE = ROOT / "examples" / "llm-chat" / "profile.yaml"
WANT_PLAN = "(pass the plan written by `scaleplan optimize`, OUT/plan.yaml; "


def _without_kind(src: Path, dst: Path) -> Path:
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    dst.write_text("".join(t for t in lines if not t.startswith("kind:")), encoding="utf-8")
    return dst


def _one_paragraph(err: str) -> str:
    (line,) = [t for t in err.splitlines() if t.strip()]
    assert "Traceback" not in err and "problems" not in line, err
    return line


@pytest.mark.parametrize("command", [["diff", str(PLAN)], ["simulate"], ["render", "-o", "OUT"]])
def test_a_catalog_without_kind_given_as_a_plan_is_said_to_be_a_catalog(
    cli: Callable[..., Any], tmp_path: Path, command: list[str]
) -> None:
    cat = _without_kind(CATALOG, tmp_path / "cat.yaml")
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    r = cli([*args, str(cat)], exit_code=3)
    line = _one_paragraph(r.stderr)
    assert line.startswith(
        f"error: {cat}:8: this is a catalog (it has instances: and no kind:), not a plan "
        f"{WANT_PLAN}a catalog: a spec lists it in placement.catalogs, or pass it with --catalog)"
    ), line
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_catalog_with_its_kind_says_what_to_pass(cli: Callable[..., Any]) -> None:
    line = _one_paragraph(cli(["simulate", str(CATALOG)], exit_code=3).stderr)
    assert f"this is a catalog (kind: Catalog), not a plan {WANT_PLAN}" in line, line


def test_other_swaps_across_commands(cli: Callable[..., Any], tmp_path: Path) -> None:
    prof = _without_kind(PROFILE, tmp_path / "prof.yaml")
    line = _one_paragraph(cli(["diff", str(prof), str(PLAN)], exit_code=3).stderr)
    assert "this is a profile (it has measurements: and no kind:), not a plan" in line, line
    # a plan given as a catalog, a catalog as a spec, a catalog as the observed file
    line = _one_paragraph(
        cli(["validate", str(SPEC), "--catalog", str(PLAN)], exit_code=3).stderr
    )
    assert "this is a plan (kind: Plan), not a catalog (pass a catalog, a file of " in line, line
    cat = _without_kind(CATALOG, tmp_path / "cat.yaml")
    line = _one_paragraph(cli(["validate", str(cat)], exit_code=3).stderr)
    assert "this is a catalog (it has instances: and no kind:), not a spec (pass a spec" in line
    line = _one_paragraph(
        cli(["optimize", str(SPEC), "--observed", str(cat), "-o", str(tmp_path / "o")],
            exit_code=3).stderr
    )
    assert "this is a catalog (it has instances: and no kind:), not an observed file" in line
    assert not (tmp_path / "o").exists()


def test_a_catalog_without_kind_still_reads_as_a_catalog(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """Its kind defaults: the guess refuses only where another kind is read. A catalog of
    extra accelerators alone (no instances:) is not taken for an accelerator table."""
    cat = _without_kind(CATALOG, tmp_path / "cat.yaml")
    cli(["validate", str(SPEC), "--catalog", str(cat)])
    accs = tmp_path / "accs.yaml"
    text = CATALOG.read_text(encoding="utf-8")
    accs.write_text(text[: text.index("instances:")].replace("kind: Catalog\n", ""), "utf-8")
    cli(["validate", str(SPEC), "--catalog", str(accs)])
