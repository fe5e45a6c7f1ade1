"""render and check take the accelerator table the plan was optimized with: a user catalog's own
accelerator (placement.catalogs, --catalog) reaches the manifests through scaleplan.inputs, and
neither render nor check reads a catalog file itself."""

from __future__ import annotations

import shutil
from pathlib import Path

from scaleplan.catalog.model import Catalog
from scaleplan.yamlio import parse_yaml_documents

LAB_CATALOG = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {source: the lab's own nodes}
accelerators:
  - name: LAB1
    vendor: amd
    memory_gib: 64
    k8s_resource: amd.com/gpu
instances:
  - {provider: onprem, region: dc1, instance_type: lab-node, family: lab, accelerator: LAB1,
     accelerator_count: 1, vcpus: 16, memory_gib: 64, price_ondemand: 2.0, zones: [dc1-a, dc1-b]}
"""

PROFILE = """\
apiVersion: scaleplan/v1
kind: Profile
metadata: {model: lab-model, kind: synthetic}
measurements:
  - device: cuda:0
    accelerator: LAB1
    batch_size: 1
    latency_ms: {p50: 20.0, p90: 22.0, p95: 23.0, p99: 26.0}
    throughput_rps: 50
    peak_memory_gib: 6.0
    source: measured
"""

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: lab}
model: {profile: profile.yaml}
traffic: {peak_rps: 60}
slo: {latency_ms: 200, percentile: 95}
placement:
  providers: [onprem]
  catalogs: [lab.yaml]
kubernetes:
  namespace: lab
  image: registry.example.com/lab/server:1.0.0
  flavor: generic
"""


def _spec(tmp_path: Path) -> Path:
    (tmp_path / "lab.yaml").write_text(LAB_CATALOG, encoding="utf-8")
    (tmp_path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    return spec


def _gpu_limits(folder: Path) -> dict[str, object]:
    """The accelerator limits of the one Deployment in ``folder``."""
    (path,) = folder.glob("deployment-*.yaml")
    (doc,) = parse_yaml_documents(path.read_text(encoding="utf-8"), str(path), what="manifest")
    limits = doc.data["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    return {k: v for k, v in limits.items() if k not in ("cpu", "memory")}


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def test_a_user_catalogs_accelerator_reaches_render(cli, tmp_path: Path, tables: Catalog) -> None:
    from scaleplan.inputs import load_inputs
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    spec = _spec(tmp_path)
    out = tmp_path / "out"
    res = cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    assert "not in the accelerator specs" not in res.stderr
    # optimize renders with the catalog it solved with: the spec's own catalog, LAB1 included
    assert _gpu_limits(out / "manifests") == {"amd.com/gpu": 1}
    plan = read_plan(out / "plan.yaml")
    assert {a.accelerator for a in plan.allocations} == {"LAB1"}
    inputs = load_inputs(str(spec))
    report = render_report(plan, inputs.catalog)
    assert report.files == _files(out / "manifests")
    assert not [w for w in report.warnings if "LAB1" in w]

    # render PLAN with the catalog: the same manifests, byte for byte
    lab = str(tmp_path / "lab.yaml")
    cli(["render", str(out / "plan.yaml"), "--out", str(tmp_path / "m"), "--catalog", lab])
    assert _files(tmp_path / "m") == _files(out / "manifests")

    # without it, from the plan beside its spec: found there with the plan's recorded content
    cli(["render", str(out / "plan.yaml"), "--out", str(tmp_path / "m2")])
    assert _files(tmp_path / "m2") == _files(out / "manifests")
    # without it and away from the spec, the shipped table does not know LAB1: the warning
    # says so and names the fix
    away = tmp_path / "ci" / "lab" / "plan.yaml"
    away.parent.mkdir(parents=True)
    shutil.copy(out / "plan.yaml", away)
    res = cli(["render", str(away), "--out", str(tmp_path / "shipped")])
    warning = " ".join(res.stderr.split())
    assert "'LAB1' is not in the accelerator specs; requesting nvidia.com/gpu" in warning
    assert "--catalog" in warning
    assert _gpu_limits(tmp_path / "shipped") == {"nvidia.com/gpu": 1}
    assert render_report(plan, tables).files == _files(tmp_path / "shipped")


def test_check_drift_uses_the_catalog_it_is_given(cli, tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    out = tmp_path / "out"
    cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    manifests, plan = str(out / "manifests"), str(out / "plan.yaml")
    cli(["check", manifests, "--plan", plan, "--catalog", str(tmp_path / "lab.yaml")])
    cli(["check", manifests, "--plan", plan])  # the spec's lab.yaml, found beside the plan
    # with the shipped tables alone the plan renders nvidia.com/gpu: the manifests "drift"
    away = tmp_path / "ci" / "lab" / "plan.yaml"
    away.parent.mkdir(parents=True)
    shutil.copy(plan, away)
    res = cli(["check", manifests, "--plan", str(away)], exit_code=1)
    assert "drift" in res.stdout and "nvidia.com/gpu" in res.stdout


def test_render_and_check_import_no_file_reader() -> None:
    """render/ and check/ import neither the catalog's file reader nor the input assembly: the
    tables are passed in (scaleplan.inputs assembles them at the edge)."""
    import ast

    readers = {"scaleplan.catalog.files", "scaleplan.inputs", "scaleplan.cache"}
    root = Path(__file__).resolve().parents[1] / "scaleplan"
    for package in ("render", "check"):
        for path in sorted((root / package).rglob("*.py")):
            nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
            imported = {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
            imported |= {n.module or "" for n in nodes if isinstance(n, ast.ImportFrom)}
            assert not imported & readers, (path, imported & readers)
