"""A GPU node label is a property of the machine type where the cloud says so (UX review 10):
GKE labels A3 Mega nodes `nvidia-h100-mega-80gb`, not A3 High's `nvidia-h100-80gb`, and GPU
feature discovery labels the PCIe parts of Azure NC A100 v4 and NCv3 with their PCIe product
names. A catalog row's own `gke_accelerator` / `gpu_product` wins over its accelerator's."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.catalog.model import Catalog
from scaleplan.yamlio import parse_yaml_documents

SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {{name: big}}
model:
  architecture: llama-3.1-8b
  engine: vllm
  dtype: fp16
  source: {{uri: meta-llama/Llama-3.1-8B-Instruct, secret: hf-token}}
traffic:
  peak_rps: 2
  classes:
    - {{name: short, share: 1, input_tokens: 512, output_tokens: 128}}
slo: {{ttft_ms: 2000, tpot_ms: 80}}
placement:
  providers: [{provider}]
  regions: [{region}]
  accelerators: [{accelerator}]
  include_flagged: true
  exclude: [{exclude}]
kubernetes:
  image: vllm/vllm-openai:v0.11.0
  flavor: {flavor}
"""


def _selectors(folder: Path) -> dict[str, dict[str, str]]:
    out = {}
    for path in sorted(folder.glob("deployment-*.yaml")):
        (doc,) = parse_yaml_documents(path.read_text(encoding="utf-8"), str(path), what="manifest")
        out[path.name] = doc.data["spec"]["template"]["spec"]["nodeSelector"]
    return out


@pytest.mark.parametrize(
    ("provider", "region", "accelerator", "exclude", "flavor", "key", "value", "machine"),
    [
        # GKE: A3 Mega's accelerator type (GKE docs, "About GPUs in GKE")
        ("gcp", "us-central1", "H100", "a3-highgpu*", "gke",
         "cloud.google.com/gke-accelerator", "nvidia-h100-mega-80gb", "a3-megagpu-8g"),
        # A3 High keeps H100's own
        ("gcp", "us-central1", "H100", "a3-megagpu*", "gke",
         "cloud.google.com/gke-accelerator", "nvidia-h100-80gb", "a3-highgpu-1g"),
        # GPU feature discovery on Azure's PCIe parts
        ("azure", "eastus", "A100-80GB", "Standard_ND96amsr_A100_v4", "generic",
         "nvidia.com/gpu.product", "NVIDIA-A100-80GB-PCIe", "Standard_NC24ads_A100_v4"),
        ("azure", "eastus", "V100", "Standard_ND40rs_v2", "generic",
         "nvidia.com/gpu.product", "Tesla-V100-PCIE-16GB", "Standard_NC6s_v3"),
        # GCP's A100 80GB are SXM4: the accelerator's own
        ("gcp", "us-central1", "A100-80GB", "none*", "generic",
         "nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB", "a2-ultragpu-1g"),
    ],
)
def test_a_machine_types_own_gpu_label(
    cli, tmp_path: Path, provider: str, region: str, accelerator: str, exclude: str,
    flavor: str, key: str, value: str, machine: str,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(provider=provider, region=region, accelerator=accelerator,
                                exclude=exclude, flavor=flavor), encoding="utf-8")
    out = tmp_path / "out"
    cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    sels = _selectors(out / "manifests")
    assert sels
    for name, sel in sels.items():
        assert sel[key] == value, name
        if flavor == "gke":
            assert sel["node.kubernetes.io/instance-type"] == machine
    cli(["check", str(out / "manifests"), "--plan", str(out / "plan.yaml")])


def test_the_shipped_rows_state_only_labels_that_differ(tables: Catalog) -> None:
    accs = {a.name: a for a in tables.accelerators}
    stated = {(r.provider, r.instance_type): (r.gke_accelerator, r.gpu_product)
              for r in tables.rows if r.gke_accelerator or r.gpu_product}
    assert stated[("gcp", "a3-megagpu-8g")] == ("nvidia-h100-mega-80gb", None)
    assert stated[("azure", "Standard_NC24ads_A100_v4")] == (None, "NVIDIA-A100-80GB-PCIe")
    for r in tables.rows:
        acc = accs.get(r.accelerator or "")
        if r.gke_accelerator is not None:
            assert r.provider == "gcp" and acc and r.gke_accelerator != acc.gke_accelerator
        if r.gpu_product is not None:
            assert acc and r.gpu_product != acc.gpu_product


def test_a_row_that_reprices_the_type_keeps_its_label(tmp_path: Path) -> None:
    from scaleplan.catalog.files import load_catalog

    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "apiVersion: scaleplan/v1\nkind: Catalog\nprovenance: {source: negotiated}\n"
        "instances:\n"
        "- {provider: gcp, region: us-central1, instance_type: a3-megagpu-8g, family: a3,\n"
        "   accelerator: H100, accelerator_count: 8, vcpus: 208, memory_gib: 1872,\n"
        "   price_ondemand: 60.0}\n",
        encoding="utf-8",
    )
    cat = load_catalog([mine], providers=["gcp"])
    (row,) = [r for r in cat.rows if r.key == ("gcp", "us-central1", "a3-megagpu-8g")]
    assert row.price_ondemand == 60.0
    assert row.gke_accelerator == "nvidia-h100-mega-80gb"
