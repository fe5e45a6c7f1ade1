"""``profile --emit-jobs`` selects GPU nodes as render does: by the accelerator's labels and
by the labels catalog rows state for their own machine type (GKE's A3 Mega, Azure's PCIe
parts; docs/catalog.md, "Node labels of a machine type")."""

from __future__ import annotations

from pathlib import Path

import yaml

from scaleplan.profile.jobs import render_jobs


def _values(accelerator: str) -> dict[str, list[str]]:
    files = render_jobs("m.py:factory", accelerators=[accelerator], image="r/p:1")
    job = yaml.safe_load(next(v for k, v in files.items() if k != "kustomization.yaml"))
    terms = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return {t["matchExpressions"][0]["key"]: t["matchExpressions"][0]["values"] for t in terms}


def test_an_h100_job_also_selects_gke_a3_mega_nodes() -> None:
    gke = _values("H100")["cloud.google.com/gke-accelerator"]
    assert gke == ["nvidia-h100-80gb", "nvidia-h100-mega-80gb"]


def test_an_a100_80gb_job_also_selects_azure_pcie_nodes() -> None:
    product = _values("A100-80GB")["nvidia.com/gpu.product"]
    assert product == ["NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"]


def test_a_job_without_row_labels_selects_its_accelerators_only() -> None:
    assert _values("L4")["nvidia.com/gpu.product"] == ["NVIDIA-L4"]


_USER_CATALOG = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {source: the team's on-prem inventory, build_date: '2026-11-20'}
accelerators:
- {name: RTX-6000-ADA, memory_gib: 48, gpu_product: NVIDIA-RTX-6000-Ada-Generation}
instances:
- {provider: onprem, region: dc1, instance_type: l4-box, family: box, accelerator: L4,
   accelerator_count: 4, accelerator_memory_gib: 24, vcpus: 48, memory_gib: 192,
   price_ondemand: 3.0,
   gpu_product: NVIDIA-L4-OEM}
- {provider: onprem, region: dc1, instance_type: ada-box, family: box,
   accelerator: RTX-6000-ADA,
   accelerator_count: 2, accelerator_memory_gib: 48, vcpus: 32, memory_gib: 256,
   price_ondemand: 2.0}
"""


def _emitted(cli, tmp_path: Path, accelerators: str) -> dict[str, dict[str, list[str]]]:
    (tmp_path / "mine.yaml").write_text(_USER_CATALOG)
    out = tmp_path / "jobs"
    cli(["profile", "m.py:factory", "--emit-jobs", str(out), "--accelerators", accelerators,
         "--image", "r/p:1", "--catalog", str(tmp_path / "mine.yaml")])
    jobs: dict[str, dict[str, list[str]]] = {}
    for f in sorted(out.glob("profile-*.yaml")):
        spec = yaml.safe_load(f.read_text())["spec"]["template"]["spec"]
        terms = spec["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        values = {t["matchExpressions"][0]["key"]: t["matchExpressions"][0]["values"]
                  for t in terms}
        values["command"] = spec["containers"][0]["command"]
        jobs[f.stem] = values
    return jobs


def test_emit_jobs_selects_the_labels_a_user_catalog_row_states(cli, tmp_path: Path) -> None:
    """A machine type only the user's ``--catalog`` has, with its own ``gpu_product``: its Job
    selects that label too (emit-jobs read the shipped catalogs only and kept the L4's label),
    and the Job's command does not carry ``--catalog`` (the file is not in the image)."""
    job = _emitted(cli, tmp_path, "L4")["profile-l4"]
    assert job["nvidia.com/gpu.product"] == ["NVIDIA-L4", "NVIDIA-L4-OEM"]
    assert "--catalog" not in job["command"][-1] and "mine.yaml" not in job["command"][-1]


def test_emit_jobs_writes_a_job_for_an_accelerator_a_user_catalog_defines(
    cli, tmp_path: Path,
) -> None:
    """An accelerator whose specs only the user's catalog has: a Job selecting its label
    (it was refused as unknown), and ``--json`` names it."""
    jobs = _emitted(cli, tmp_path, "rtx-6000-ada")
    assert jobs["profile-rtx-6000-ada"]["nvidia.com/gpu.product"] == [
        "NVIDIA-RTX-6000-Ada-Generation"]


def test_catalog_without_emit_jobs_is_a_usage_error(cli, tmp_path: Path) -> None:
    """``--catalog`` only says where Jobs' node labels come from: without ``--emit-jobs`` it is
    refused (exit 2), never silently ignored."""
    r = cli(["profile", "m.py:factory", "--catalog", "x.yaml"], exit_code=2)
    assert "--catalog" in r.stderr and "--emit-jobs" in r.stderr
