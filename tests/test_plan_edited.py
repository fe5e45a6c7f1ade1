"""A plan edited after ``optimize`` wrote it is said to be so by every command that reads one
(render, check --plan, diff, simulate): its content no longer hashes to its
``metadata.plan_hash``. UX trial 24 F3: a hand-raised replica count and a misspelt instance
type (``g4dn.xlarg``, which no node can have) rendered, passed ``check --plan`` and diffed at
"+$0.0000/h" without a word."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"
SAID = "was edited after `scaleplan optimize` wrote it"


def _edited(tmp_path: Path) -> Path:
    text = PLAN.read_text()
    assert "instance_type: g4dn.xlarge\n" in text
    out = tmp_path / "hand.yaml"
    out.write_text(text.replace("instance_type: g4dn.xlarge\n", "instance_type: g4dn.xlarg\n"))
    return out


def _said(stderr: str) -> bool:
    return SAID in " ".join(stderr.split())


@pytest.mark.parametrize("edit", [True, False], ids=["edited", "as-written"])
def test_render_check_diff_and_simulate_say_a_plan_was_edited(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, edit: bool
) -> None:
    plan = _edited(tmp_path) if edit else Path(shutil.copy(PLAN, tmp_path / "plan.yaml"))
    m = tmp_path / "m"
    res = cli(["render", str(plan), "--out", str(m)])
    assert _said(res.stderr) is edit, res.stderr
    assert (m / "kustomization.yaml").exists()  # said, not refused
    res = cli(["check", str(m), "--plan", str(plan)], exit_code=None)
    assert _said(res.stderr) is edit, res.stderr
    res = cli(["diff", str(PLAN), str(plan)])
    assert _said(res.stderr) is edit, res.stderr
    res = cli(["simulate", str(plan), "--duration", "20", "--windows", "12"], exit_code=None)
    assert _said(res.stdout + res.stderr) is edit, res.stdout[-600:]
    if edit:
        assert "hand.yaml" in " ".join(res.stdout.split())


def test_the_hash_ignores_layout_and_comments(tmp_path: Path) -> None:
    from scaleplan.plan import content_hash, edited_warning, read_plan

    plan = tmp_path / "plan.yaml"
    plan.write_text("# reviewed by the platform team\n" + PLAN.read_text().replace("\n", "\n\n"))
    p = read_plan(plan)
    assert content_hash(p) == p.metadata.plan_hash
    assert edited_warning(p, plan) == []
    assert edited_warning(read_plan(_edited(tmp_path)), "x.yaml")[0].startswith("x.yaml " + SAID)


@pytest.mark.parametrize("edit", [True, False], ids=["edited", "as-written"])
def test_render_and_check_name_an_instance_type_no_catalog_has(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, edit: bool
) -> None:
    """UX trial 25: a plan edited to `instance_type: a2-highgpu-1gg` rendered a nodeSelector no
    node can match and passed `check --plan` with the generic edited warning only. render and
    check now name the type and say that no node of it can start; the plan as optimize wrote
    it draws nothing."""
    plan = _edited(tmp_path) if edit else Path(shutil.copy(PLAN, tmp_path / "plan.yaml"))
    said = "the plan's instance type g4dn.xlarg (aws us-east-1): in no catalog row"
    m = tmp_path / "m"
    res = cli(["render", str(plan), "--out", str(m)])
    assert (said in " ".join(res.stderr.split())) is edit, res.stderr
    res = cli(["check", str(m), "--plan", str(plan)], exit_code=None)
    assert (said in " ".join(res.stderr.split())) is edit, res.stderr
    assert ("no node of it can start" in res.stderr) is edit


def test_several_unknown_types_are_said_in_the_plural_and_a_given_catalog_is_no_skip(
    tmp_path: Path,
) -> None:
    """r1 review 38 item 9: two unknown types read 'the plan's instance type A (..), B (..):
    ... no node of it'; and a plan optimized with a catalog of the user's skipped the check
    even when that catalog was given with --catalog (only one not given is said otherwise)."""
    from scaleplan.inputs import load_tables, types_in_no_catalog
    from scaleplan.plan import read_plan

    text = PLAN.read_text()
    for old in ("c7i.large\n", "g4dn.xlarge\n"):
        assert f"instance_type: {old}" in text
        text = text.replace(f"instance_type: {old}", f"instance_type: {old[:-2]}\n")
    hand = tmp_path / "hand.yaml"
    hand.write_text(text)
    plan = read_plan(hand)
    tables = load_tables(providers=["aws"])
    (said,) = types_in_no_catalog(plan, tables, [])
    assert said.startswith(
        "the plan's instance types c7i.larg (aws us-east-1), g4dn.xlarg (aws us-east-1): in no "
        "catalog row (shipped or --catalog), so no node of them can start and their pods would "
        "stay Pending"
    ), said
    # optimized with a catalog of the user's: said when it is given, left to
    # catalogs_not_given when it is not
    own = tmp_path / "own.yaml"
    own.write_text("# the user's catalog\n")
    digest = hashlib.sha256(own.read_bytes()).hexdigest()
    cats = {**plan.metadata.inputs.catalogs, "spec/own.yaml": digest}
    inputs = plan.metadata.inputs.model_copy(update={"catalogs": cats})
    meta = plan.metadata.model_copy(update={"inputs": inputs})
    with_own = plan.model_copy(update={"metadata": meta})
    assert types_in_no_catalog(with_own, tables, [str(own)]) == [said]
    assert types_in_no_catalog(with_own, tables, []) == []
