"""An output file never replaces an input of the same run, and a path ending in '/' is a
folder, not a file named like it (UX trial 26 F1-F3, docs/cli.md "-o/--out").

`check manifests/ --plan plan.yaml --format sarif --output plan.yaml` replaced the plan with
the SARIF report and exited 0; `--output manifests/deployment.yaml` replaced a checked manifest;
`--output reports/` (a folder not made yet) wrote a file named `reports`; `--output ''` said
"use '.' for the current folder", which check then refused as a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vision-daily"


@pytest.fixture()
def rendered(tmp_path: Path, cli) -> Path:
    """A copy of the vision-daily example with its manifests rendered from its plan."""
    shutil.copy(EXAMPLE / "plan.yaml", tmp_path / "plan.yaml")
    cli(["render", str(tmp_path / "plan.yaml"), "--out", str(tmp_path / "manifests")])
    return tmp_path


def _check(cli, d: Path, output: str, code: int, fmt: str = "sarif"):
    args = ["check", str(d / "manifests"), "--plan", str(d / "plan.yaml")]
    return cli([*args, "--format", fmt, "--output", output], exit_code=code)


def test_check_output_refuses_the_plan_it_reads(rendered: Path, cli) -> None:
    plan = rendered / "plan.yaml"
    before = plan.read_bytes()
    r = _check(cli, rendered, str(plan), 2)
    err = " ".join(r.stderr.split())
    assert "is an input of this run" in err and "check.sarif" in err
    assert plan.read_bytes() == before


@pytest.mark.parametrize("name", ["kustomization.yaml", None])
def test_check_output_refuses_a_file_in_a_checked_folder(
    rendered: Path, cli, name: str | None
) -> None:
    """A checked manifest (or the kustomization beside them) is not replaced by the report."""
    manifests = rendered / "manifests"
    target = manifests / (name or sorted(p.name for p in manifests.glob("deployment-*.yaml"))[0])
    before = target.read_bytes()
    r = _check(cli, rendered, str(target), 2, fmt="junit")
    assert "an input folder of this run" in " ".join(r.stderr.split())
    assert target.read_bytes() == before


def test_check_output_refuses_a_checked_file(rendered: Path, cli) -> None:
    target = sorted((rendered / "manifests").glob("deployment-*.yaml"))[0]
    before = target.read_bytes()
    cli(["check", str(target), "--format", "junit", "--output", str(target)], exit_code=2)
    assert target.read_bytes() == before


def test_check_output_with_a_trailing_slash_is_a_folder(rendered: Path, cli) -> None:
    out = rendered / "reports"
    r = _check(cli, rendered, f"{out}/", 3)
    err = " ".join(r.stderr.split())
    assert "ends in /" in err and "reports/check.sarif" in err
    assert not out.exists()


def test_check_output_empty_names_a_file(rendered: Path, cli) -> None:
    r = _check(cli, rendered, "", 2)
    err = " ".join(r.stderr.split())
    assert "must not be empty (give a file path such as check.sarif)" in err
    assert "current folder" not in err


def test_check_output_beside_the_inputs_is_written(rendered: Path, cli) -> None:
    """The refusals leave the ordinary case alone: a report next to the plan is written, and
    a report inside a checked folder, which check does not read (not YAML), is written again
    on the next run."""
    _check(cli, rendered, str(rendered / "check.sarif"), 0)
    assert '"version": "2.1.0"' in (rendered / "check.sarif").read_text(encoding="utf-8")
    for _ in range(2):
        cli(["check", str(rendered), "--only-manifests", "--output", str(rendered / "check.txt")])
    assert "passed" in (rendered / "check.txt").read_text(encoding="utf-8")


def test_observe_out_refuses_the_plan_and_a_folder_path(rendered: Path, cli) -> None:
    """observe checks --out before any query: the plan it reads is not replaced, and `obs/`
    is not written as a file (no Prometheus is reached: the port is closed)."""
    plan = rendered / "plan.yaml"
    before = plan.read_bytes()
    base = ["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(plan), "--out"]
    r = cli([*base, str(plan)], exit_code=2)
    assert "is an input of this run" in " ".join(r.stderr.split())
    assert plan.read_bytes() == before
    r = cli([*base, f"{rendered / 'obs'}/"], exit_code=3)
    assert "ends in /" in " ".join(r.stderr.split())
    assert not (rendered / "obs").exists()


@pytest.mark.parametrize("name", ["report.yaml", "reports/check.yml"])
def test_check_output_refuses_a_new_yaml_file_in_a_checked_folder(
    rendered: Path, cli, name: str
) -> None:
    """A new report whose name check reads in a folder (.yaml/.yml) is refused inside a checked
    folder: the run passed, and the next check of the folder read the report as a manifest and
    failed with exit 3 (UX trial 27 F1). Nothing is written; a hidden folder, which check does
    not read, and a report outside the folder stay writable."""
    manifests = rendered / "manifests"
    r = _check(cli, rendered, str(manifests / name), 2)
    err = " ".join(r.stderr.split())
    assert "--output" in err and f"inside {manifests}, an input folder" in err
    assert "the next check of" in err and f"e.g. {rendered / 'check.sarif'}" in err
    assert not (manifests / name).exists() and not (manifests / "reports").exists()
    cli(["check", str(manifests), "--plan", str(rendered / "plan.yaml")])  # still clean
    for ok in (manifests / ".reports" / "check.yaml", rendered / "check.yaml"):
        _check(cli, rendered, str(ok), 0)
        assert '"version": "2.1.0"' in ok.read_text(encoding="utf-8")
    cli(["check", str(manifests), "--plan", str(rendered / "plan.yaml")])


def test_optimize_out_refuses_a_folder_whose_plan_yaml_is_the_spec(tmp_path: Path, cli) -> None:
    """`optimize plan.yaml --out .` with the spec named plan.yaml replaced the spec with the
    plan and exited 0 (UX trial 27): exit 2 before the solve, the spec untouched, no
    manifests; another --out folder is written as ever."""
    spec = tmp_path / "plan.yaml"
    shutil.copy(EXAMPLE / "spec.yaml", spec)
    shutil.copy(EXAMPLE / "profile.yaml", tmp_path / "profile.yaml")
    before = spec.read_bytes()
    r = cli(["optimize", str(spec), "--out", str(tmp_path)], exit_code=2)
    err = " ".join(r.stderr.split())
    assert "--out" in err and f"{spec} is an input of this run" in err
    assert f"e.g. --out {tmp_path / 'out'}" in err
    assert spec.read_bytes() == before and not (tmp_path / "manifests").exists()
    cli(["optimize", str(spec), "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "plan.yaml").read_text(encoding="utf-8").count("kind: Plan") == 1
