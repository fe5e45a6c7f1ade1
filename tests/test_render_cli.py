"""scaleplan render: files, --layout, --json, exit codes, atomic and safe output folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from render_helpers import PLANS

from scaleplan.catalog.model import Catalog
from scaleplan.errors import OptionError
from scaleplan.plan import dump_plan
from scaleplan.plan_outputs import render_plan_file
from scaleplan.render import HEADER, render


def plan_file(tmp_path: Path, name: str = "single-gpu") -> Path:
    f = tmp_path / "plan.yaml"
    f.write_text(dump_plan(PLANS[name]()), encoding="utf-8")
    return f


def test_render_files(tables: Catalog, cli: Any, tmp_path: Path) -> None:
    f = plan_file(tmp_path)
    out = tmp_path / "out"
    r = cli(["render", str(f), "--out", str(out)])
    assert "Deployment" in r.stdout and "resnet-g6-xlarge-on-demand" in r.stdout
    written = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert written == render(PLANS["single-gpu"](), tables)
    assert all(t.startswith(HEADER) for t in written.values())
    # rendering again into its own output replaces it
    cli(["render", str(f), "--out", str(out), "--layout", "single"])
    assert sorted(p.name for p in out.iterdir()) == ["kustomization.yaml", "manifests.yaml"]


def test_render_json(cli: Any, tmp_path: Path) -> None:
    f = plan_file(tmp_path, "spot-mix")
    r = cli(["render", str(f), "--out", str(tmp_path / "o"), "--json"])
    data = json.loads(r.stdout)
    assert data["layout"] == "files" and "kustomization.yaml" in data["files"]
    assert {o["kind"] for o in data["objects"]} >= {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert data["warnings"] and all(w in r.stderr for w in data["warnings"])


def test_bad_usage_and_input(cli: Any, tmp_path: Path) -> None:
    f = plan_file(tmp_path)
    r = cli(["render", str(f), "--out", str(tmp_path / "o"), "--layout", "zip"], exit_code=2)
    assert "--layout" in r.stderr
    r = cli(["render", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")], exit_code=3)
    assert "not found" in r.stderr
    spec = tmp_path / "spec.yaml"
    spec.write_text("apiVersion: scaleplan/v1\nkind: InferenceService\n", encoding="utf-8")
    r = cli(["render", str(spec), "--out", str(tmp_path / "o")], exit_code=3)
    assert "kind" in r.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    r = cli(["render", str(f), "--out", str(busy)], exit_code=3)
    assert "did not write: notes.txt" in r.stderr
    assert (busy / "notes.txt").read_text(encoding="utf-8") == "mine"
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    cli(["render", str(f), "--out", str(afile)], exit_code=3)
    infeasible = tmp_path / "inf.yaml"
    infeasible.write_text(f.read_text(encoding="utf-8").replace("status: optimal", "status: infeasible"), encoding="utf-8")
    r = cli(["render", str(infeasible), "--out", str(tmp_path / "o")], exit_code=3)
    assert "infeasible" in r.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = "import sys; from scaleplan.cli import app; import scaleplan.cli.render; print(sorted(m for m in ('kubernetes_validate', 'jsonschema', 'pulp', 'boto3', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_render_into_optimizes_folder_names_the_plan_not_the_lock(cli: Any, tmp_path: Path) -> None:
    """The folder holds optimize's plan.yaml (refused: render would replace it) and the output
    lock optimize leaves; the lock is scaleplan's, so the refusal names plan.yaml alone."""
    out = tmp_path / "o"
    spec = Path(__file__).resolve().parents[1] / "examples" / "embedding-cpu-gpu" / "spec.yaml"
    cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    assert (out / ".scaleplan.lock").is_file()
    r = cli(["render", str(out / "plan.yaml"), "--out", str(out)], exit_code=3)
    assert "did not write: plan.yaml" in " ".join(r.stderr.split())
    assert ".scaleplan.lock" not in r.stderr
    assert (out / "plan.yaml").is_file()


def test_render_plan_file_checks_options_first_then_writes(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-plan.yaml")
    with pytest.raises(OptionError) as err:  # before the (missing) plan is read
        render_plan_file(missing, str(tmp_path / "m"), "one-file", [])
    assert err.value.option == "--layout"
    with pytest.raises(OptionError) as err:
        render_plan_file(missing, " ", "files", [])
    assert err.value.option == "--out"
    done = render_plan_file(str(plan_file(tmp_path)), str(tmp_path / "m"), "single", [])
    assert done.layout == "single" and done.out == tmp_path / "m"
    assert sorted(p.name for p in done.out.iterdir()) == sorted(done.result.files)


def test_render_over_another_services_manifests_says_what_it_removes(
    cli: Any, tmp_path: Path
) -> None:
    plan = PLANS["single-gpu"]()
    out = tmp_path / "out"
    cli(["render", str(plan_file(tmp_path)), "--out", str(out)])
    kept = len(list(out.iterdir()))
    again = cli(["render", str(plan_file(tmp_path)), "--out", str(out)])  # its own: nothing said
    assert "another service" not in again.stderr
    meta = plan.spec.metadata.model_copy(update={"name": "other"})
    spec = plan.spec.model_copy(update={"metadata": meta})
    f = tmp_path / "other.yaml"
    f.write_text(dump_plan(plan.model_copy(update={"spec": spec})), encoding="utf-8")
    r = cli(["render", str(f), "--out", str(out), "--json"])
    said = [w for w in json.loads(r.stdout)["warnings"] if "another service" in w]
    assert len(said) == 1, said
    assert f"rendered for another service, {plan.spec.metadata.name} ({kept - 1} files)" in said[0]
    assert "for other;" in said[0] and "another service" in r.stderr
