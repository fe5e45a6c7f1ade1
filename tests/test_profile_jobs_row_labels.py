"""``profile --emit-jobs`` selects GPU nodes as render does: by the accelerator's labels and
by the labels catalog rows state for their own machine type (GKE's A3 Mega, Azure's PCIe
parts; docs/catalog.md, "Node labels of a machine type")."""

from __future__ import annotations

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
