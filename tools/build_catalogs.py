#!/usr/bin/env python3
"""Build catalogs/*.yaml from the shared data CSVs, keeping provenance.

    python tools/build_catalogs.py --data ../shared/data --out catalogs --date 2026-11-29

Inputs: gpu_instances.csv, cpu_instances.csv, gpu_specs.csv (their README documents sources,
commits and caveats), and tools/data/*.csv (dtype peaks, driver memory totals, and the
accelerators shared/data lacks, each from a vendor data sheet with its source). Outputs:
catalogs/aws.yaml, gcp.yaml, azure.yaml (instance rows) and catalogs/accelerators.yaml (specs
and aliases). Known-bad rows (GCP A3 H100/H200 prices) are kept but flagged ``suspect-price``,
and rows priced on demand below a row of the same region they contain (the rule of
scaleplan.catalog.consistency) are flagged ``price-inversion``, so the optimizer skips them
unless asked.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scaleplan.catalog.consistency import PRICE_INVERSION, price_inversions
from scaleplan.catalog.model import Accelerator, AcceleratorFile, CatalogFile, InstanceRow
from scaleplan.yamlio import atomic_write, dump_yaml

COMMITS = {
    "aws": {"skypilot-org/skypilot-catalog catalogs/v9/aws/vms.csv": "2c3d7ea7d76bf84cf80d382e946c1609571485fd"},
    "gcp": {"skypilot-org/skypilot-catalog catalogs/v9/gcp/vms.csv": "2c3d7ea7d76bf84cf80d382e946c1609571485fd"},
    "azure": {"skypilot-org/skypilot-catalog catalogs/v6/azure/vms.csv": "098741e70562f65d7af1cceb81e33b284f742604"},
}
CAVEATS = {
    "all": [
        "Prices are one snapshot of list prices (USD/hour, Linux, whole instance); spot prices change hourly. Refresh AWS with `scaleplan catalog refresh` before real decisions.",
        "Spot is the minimum over the region's zones, ignoring zones whose spot price is not below on-demand; empty when unknown.",
        "Boot disks, storage, egress and discounts (savings plans, reservations, committed use) are not included; use a user catalog with price_multiplier for negotiated prices.",
    ],
    "aws": [
        "eu-west-1 has no g6, g6e, g7e, gr6, p4de, p5, p5en, p6 or trn1 rows in the source.",
        "g5g, c7g and m7g run on arm64 (Graviton) hosts: images must support aarch64.",
        "p5e.48xlarge and trn2 are missing: the source has no on-demand price for them.",
    ],
    "gcp": [
        "Rows are VM price + attached GPU price in the same region; N1 + GPU rows are named <n1 type>+<N>x<GPU> and are not GCP machine-type names.",
        "GCP A3 (H100/H200) GPU prices in the source are internally inconsistent (a3-highgpu-8g: $43.07/h in us-central1 vs $111.82/h in europe-west4); those rows are flagged suspect-price and excluded unless placement.include_flagged is true.",
        "a4-highgpu-8g (B200) and g4-standard (RTX PRO 6000) were excluded: their source prices are ambiguous.",
        (
            "The source's A100 80GB GPU price looks wrong: a2-ultragpu = A2 VM part (which matches "
            "the A2 vCPU and memory rates) + A100 80GB GPU part, and that GPU part's on-demand "
            "price is below its own spot price in both regions (us-central1: $1.8462/h on-demand, "
            "$2.1604/h spot), while third-party pages quote about $5.07/h for a2-ultragpu-1g in "
            "us-central1. The us-central1 rows undercut the a2-highgpu rows they contain and are "
            "flagged price-inversion; the europe-west4 rows are priced above theirs and are not "
            "flagged, but rest on the same GPU row: verify them before use."
        ),
    ],
    "azure": [
        "The Azure source (SkyPilot catalog v6) is older than AWS/GCP (v9); on-demand prices may have changed.",
        "Azure spot prices in the source are very low (about 85-90% below on-demand; CPU spot exactly 11%/13% of on-demand): treat them as optimistic.",
        "Standard_NC*ads_A100_v4 uses A100 80GB PCIe; NCv3 uses V100 PCIe; specs list SXM numbers.",
    ],
}

# When the source observed each provider's prices, where the data shows it (provenance
# prices_as_of: the date optimize's price-age warnings read). The source's commit dates are
# not recorded (shared/data/README.md); AWS and GCP (catalog v9, seeded in July 2026) have
# no date of their own and keep the build date.
PRICES_AS_OF = {
    "azure": (
        "2024-08-27",
        "prices_as_of (2024-08-27) is an estimate, as the source's commit date is not recorded: "
        "the westus2 Standard_NC96ads_A100_v4 prices here (14.692/h on demand, 2.463848/h spot) "
        "are those of SkyPilot's v5 Azure catalog under review on 2024-08-27 "
        "(skypilot-catalog PR #79); catalog v6 began in December 2024 and no newer Azure "
        "file was available. "
        "optimize warns when a plan's spot capacity rests on prices older than 30 days.",
    ),
}

# Accelerator naming for Kubernetes and aliases. Data only; tests check every catalog row resolves.
ACCEL_META: dict[str, dict[str, object]] = {
    "T4": {"aliases": ["nvidia-tesla-t4", "Tesla T4", "NVIDIA T4", "t4"], "gpu_product": "Tesla-T4", "gke": "nvidia-tesla-t4", "karpenter": "t4"},
    "T4g": {"aliases": ["NVIDIA T4G", "t4g"], "gpu_product": "NVIDIA-T4G", "karpenter": "t4g"},
    "A10G": {"aliases": ["NVIDIA A10G", "a10g"], "gpu_product": "NVIDIA-A10G", "karpenter": "a10g"},
    "A10": {"aliases": ["NVIDIA A10", "a10"], "gpu_product": "NVIDIA-A10"},
    "L4": {"aliases": ["nvidia-l4", "NVIDIA L4", "l4"], "gpu_product": "NVIDIA-L4", "gke": "nvidia-l4", "karpenter": "l4"},
    "L40S": {"aliases": ["nvidia-l40s", "NVIDIA L40S", "l40s"], "gpu_product": "NVIDIA-L40S", "karpenter": "l40s"},
    "V100": {"aliases": ["nvidia-tesla-v100", "Tesla V100", "Tesla V100-SXM2-16GB", "v100-16gb"], "gpu_product": "Tesla-V100-SXM2-16GB", "gke": "nvidia-tesla-v100", "karpenter": "v100"},
    "V100-32GB": {"aliases": ["Tesla V100-SXM2-32GB", "v100-32gb"], "gpu_product": "Tesla-V100-SXM2-32GB", "karpenter": "v100"},
    "A100": {"aliases": ["nvidia-tesla-a100", "NVIDIA A100-SXM4-40GB", "a100-40gb", "a100-sxm4-40gb"], "gpu_product": "NVIDIA-A100-SXM4-40GB", "gke": "nvidia-tesla-a100", "karpenter": "a100"},
    "A100-80GB": {"aliases": ["a100-80gb", "nvidia-a100-80gb", "NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", "a100-sxm4-80gb"], "gpu_product": "NVIDIA-A100-SXM4-80GB", "gke": "nvidia-a100-80gb", "karpenter": "a100"},
    "H100": {"aliases": ["nvidia-h100-80gb", "NVIDIA H100 80GB HBM3", "h100-80gb", "h100-sxm", "nvidia-h100-mega-80gb", "H100-MEGA"], "gpu_product": "NVIDIA-H100-80GB-HBM3", "gke": "nvidia-h100-80gb", "karpenter": "h100"},
    "H100-NVL": {"aliases": ["NVIDIA H100 NVL", "h100nvl"], "gpu_product": "NVIDIA-H100-NVL"},
    "H200": {"aliases": ["nvidia-h200-141gb", "NVIDIA H200", "h200-141gb", "NVIDIA H200 NVL"], "gpu_product": "NVIDIA-H200", "gke": "nvidia-h200-141gb", "karpenter": "h200"},
    "B200": {"aliases": ["nvidia-b200", "NVIDIA B200"], "gpu_product": "NVIDIA-B200", "gke": "nvidia-b200", "karpenter": "b200"},
    "B300": {"aliases": ["nvidia-b300", "NVIDIA B300"], "gpu_product": "NVIDIA-B300", "karpenter": "b300"},
    "GH200": {"aliases": ["NVIDIA GH200 480GB", "nvidia-gh200", "gh200-480gb", "gh200"], "gpu_product": "NVIDIA-GH200-480GB"},
    "GB200": {"aliases": ["NVIDIA GB200", "nvidia-gb200", "gb200"], "gpu_product": "NVIDIA-GB200", "gke": "nvidia-gb200"},
    "RTXPRO6000": {"aliases": ["NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000", "rtx pro 6000"], "gpu_product": "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition", "karpenter": "rtx-pro-6000"},
    "AWS-Inferentia": {"aliases": ["inferentia", "inferentia1"], "vendor": "aws", "resource": "aws.amazon.com/neuron", "karpenter": "inferentia"},
    "AWS-Inferentia2": {"aliases": ["inferentia2"], "vendor": "aws", "resource": "aws.amazon.com/neuron", "karpenter": "inferentia2"},
    "AWS-Trainium": {"aliases": ["trainium", "trainium1"], "vendor": "aws", "resource": "aws.amazon.com/neuron", "karpenter": "trainium"},
}


def _num(s: str) -> float | None:
    s = s.strip()
    return float(s) if s else None


def _clean(v: float | None) -> float | int | None:
    if v is None:
        return None
    return int(v) if float(v).is_integer() else v


def family_of(provider: str, instance_type: str) -> str:
    if provider == "aws":
        return instance_type.split(".", 1)[0]
    if provider == "gcp":
        return instance_type.split("-", 1)[0]
    m = re.match(r"^Standard_([A-Z]+)\d+(-\d+)?([a-z]*)(_.*)?$", instance_type)
    if m:
        return f"{m.group(1)}{m.group(3)}{m.group(4) or ''}"
    return instance_type


PEAKS = Path(__file__).resolve().parent / "data" / "accelerator_peaks.csv"


CUDA_MEMORY = Path(__file__).resolve().parent / "data" / "accelerator_memory.csv"


EXTRA = Path(__file__).resolve().parent / "data" / "accelerators_extra.csv"
SHARED_SOURCE = "shared/data/gpu_specs.csv (see its README for per-accelerator sources)"


def _spec_rows(data: Path) -> list[tuple[dict[str, str], str]]:
    """Each accelerator's spec row and its source: shared/data/gpu_specs.csv, then the parts
    it lacks from tools/data/accelerators_extra.csv (the same columns plus a per-row vendor
    data-sheet source; GH200, GB200). A name in both is an error, not an override."""
    with (data / "gpu_specs.csv").open() as fh:
        rows = [(r, SHARED_SOURCE) for r in csv.DictReader(fh)]
    shared = {r["accelerator"] for r, _ in rows}
    with EXTRA.open() as fh:
        for r in csv.DictReader(fh):
            if r["accelerator"] in shared:
                raise SystemExit(f"{EXTRA.name}: {r['accelerator']} is already in gpu_specs.csv")
            rows.append((r, f"{r['source']} (tools/data/accelerators_extra.csv)"))
    return rows


def _cuda_memory() -> dict[str, dict[str, str]]:
    """The memory each accelerator's driver reports (nvidia-smi's total, MiB), from
    tools/data/accelerator_memory.csv: what an engine's memory fraction multiplies."""
    with CUDA_MEMORY.open() as fh:
        return {r["accelerator"]: r for r in csv.DictReader(fh)}


def _peaks() -> dict[str, dict[str, str]]:
    """Dtype peaks and generations from vendor data sheets (tools/data/accelerator_peaks.csv),
    filling what the shared specs leave blank; a shared value is never overridden."""
    with PEAKS.open() as fh:
        return {r["accelerator"]: r for r in csv.DictReader(fh)}


def build_accelerators(data: Path, date: str) -> dict[str, object]:
    out = []
    peaks = _peaks()
    cuda = _cuda_memory()
    for r, source in _spec_rows(data):
        name = r["accelerator"]
        meta = ACCEL_META[name]
        acc: dict[str, object] = {"name": name, "vendor": meta.get("vendor", "nvidia"), "aliases": meta["aliases"], "memory_gib": _clean(_num(r["memory_gib"]))}
        for key, col in (("memory_bandwidth_gbs", "memory_bandwidth_gbs"), ("fp16_tflops", "fp16_tflops_dense"), ("bf16_tflops", "bf16_tflops_dense"), ("int8_tops", "int8_tops_dense"), ("tdp_watts", "tdp_watts")):
            v = _num(r[col])
            if v is not None:
                acc[key] = _clean(v)
        extra = peaks.get(name, {})
        filled = []
        for key, col in (("fp16_tflops", "fp16_tflops_dense"), ("bf16_tflops", "bf16_tflops_dense"), ("fp8_tflops", "fp8_tflops_dense"), ("int8_tops", "int8_tops_dense")):
            v = _num(extra.get(col) or "")
            if v is not None and key not in acc:
                acc[key] = _clean(v)
                filled.append(key)
        if extra.get("generation"):
            acc["generation"] = extra["generation"]
        if filled:
            acc["peaks_source"] = f"{', '.join(filled)}: {extra['source']} (tools/data/accelerator_peaks.csv)"
        if name in cuda:
            acc["cuda_memory_gib"] = round(int(cuda[name]["cuda_memory_mib"]) / 1024, 3)
            src = cuda[name]["source"]
            acc["cuda_memory_source"] = f"{src} (tools/data/accelerator_memory.csv)"
        if r["interconnect"]:
            acc["interconnect"] = r["interconnect"]
        acc["k8s_resource"] = meta.get("resource", "nvidia.com/gpu")
        for key, mk in (("gpu_product", "gpu_product"), ("gke_accelerator", "gke"), ("karpenter_gpu_name", "karpenter")):
            if mk in meta:
                acc[key] = meta[mk]
        acc["source"] = source
        out.append(acc)
    doc = {
        "apiVersion": "scaleplan/v1",
        "kind": "AcceleratorSpecs",
        "provenance": {
            "source": "shared/data/gpu_specs.csv: vendor datasheets and third-party reproductions; dense (non-sparse) tensor throughput",
            "build_date": date,
            "builder": "tools/build_catalogs.py",
            "caveats": [
                "Empty fields mean unsupported or not found; nothing was guessed.",
                "V100 and A100 figures are SXM; Azure NC A100 v4 and NCv3 use PCIe parts.",
                "B200 memory is HGX B200's 180 GB per GPU.",
                (
                    "GH200 (the 96 GB HBM3 GPU of the GH200 480GB superchip) and GB200 (one GPU "
                    "of a GB200 NVL72: the rack's figures / 72) are not in shared/data; their "
                    "rows come from vendor data sheets in tools/data/accelerators_extra.csv, "
                    "each with its source."
                ),
                "generation, fp8_tflops and the peaks named in an entry's peaks_source come from tools/data/accelerator_peaks.csv (vendor data sheets, dense = half the sparse figure); shared/data values are never overridden.",
                (
                    "memory_gib is the vendor's figure (GB on the box); cuda_memory_gib is what "
                    "the driver reports (nvidia-smi's total, tools/data/accelerator_memory.csv), "
                    "what an engine's memory fraction multiplies and the LLM model sizes with."
                ),
            ],
        },
        "accelerators": out,
    }
    AcceleratorFile.model_validate(doc)
    return doc


# Node labels that belong to a machine type, not to its accelerator (UX review 10): GKE names
# A3 Mega's accelerator type nvidia-h100-mega-80gb (A3 High's is nvidia-h100-80gb; GKE docs,
# "About GPUs in GKE"), and Azure NC A100 v4 and NCv3 carry PCIe parts, which GPU feature
# discovery labels with the driver's PCIe product name (the accelerator specs are SXM's).
ROW_LABELS: tuple[tuple[str, str, str, str], ...] = (
    ("gcp", r"a3-megagpu-", "gke_accelerator", "nvidia-h100-mega-80gb"),
    ("azure", r"Standard_NC\d+ads_A100_v4$", "gpu_product", "NVIDIA-A100-80GB-PCIe"),
    ("azure", r"Standard_NC\d+r?s_v3$", "gpu_product", "Tesla-V100-PCIE-16GB"),
)


Found = dict[tuple[str, str, str], InstanceRow]


def _key(row: dict[str, object]) -> tuple[str, str, str]:
    return (str(row["provider"]), str(row["region"]), str(row["instance_type"]))


def _inversion_caveat(rows: list[dict[str, object]], found: Found) -> list[str]:
    """The caveat naming the rows flagged price-inversion and the rows they undercut."""
    named = []
    for row in rows:
        small = found.get(_key(row))
        if small is not None:
            named.append(
                f"{row['region']} {row['instance_type']} ${row['price_ondemand']}/h < "
                f"{small.instance_type} ${small.price_ondemand}/h"
            )
    if not named:
        return []
    return [
        "Rows priced on demand below a row of the same region that they contain (GPUs of the "
        "same generation, as many or more and as good on every spec figure, as many vCPUs and "
        "as much memory) are flagged price-inversion and excluded unless "
        "placement.include_flagged is true (docs/catalog.md): " + "; ".join(named) + "."
    ]


def _flag_inversions(rows: list[dict[str, object]], accs: dict[str, Accelerator]) -> Found:
    """Flag price-inversion on the rows priced below a row they contain (after any other
    flag, before ``source`` as every flagged row writes them)."""
    found = price_inversions([InstanceRow.model_validate(row) for row in rows], accs)
    for row in rows:
        if _key(row) in found:
            source = row.pop("source")
            prior = row.get("flags")
            row["flags"] = [*(prior if isinstance(prior, list) else []), PRICE_INVERSION]
            row["source"] = source
    return found


def build_provider(
    data: Path, provider: str, date: str, accs: dict[str, Accelerator]
) -> dict[str, object]:
    rows: list[dict[str, object]] = []
    with (data / "gpu_instances.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["provider"] != provider:
                continue
            it = r["instance_type"]
            flags = []
            if provider == "gcp" and r["accelerator"] in ("H100", "H200"):
                flags.append("suspect-price")
            arch = "arm64" if it.startswith("g5g.") else "x86_64"
            row: dict[str, object] = {
                "provider": provider,
                "region": r["region"],
                "instance_type": it,
                "family": family_of(provider, it),
                "accelerator": r["accelerator"],
                "accelerator_count": int(r["accelerator_count"]),
                "accelerator_memory_gib": _clean(_num(r["accelerator_memory_gib"])),
                "vcpus": int(float(r["vcpus"])),
                "memory_gib": _clean(_num(r["memory_gib"])),
                "cpu_arch": arch,
                "price_ondemand": _clean(_num(r["price_ondemand_usd_hour"])),
                "price_spot": _clean(_num(r["price_spot_usd_hour"])),
            }
            for prov, pattern, key, value in ROW_LABELS:
                if prov == provider and re.match(pattern, it):
                    row[key] = value
            if flags:
                row["flags"] = flags
            row["source"] = "shared/data/gpu_instances.csv"
            rows.append(row)
    with (data / "cpu_instances.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["provider"] != provider:
                continue
            it = r["instance_type"]
            rows.append(
                {
                    "provider": provider,
                    "region": r["region"],
                    "instance_type": it,
                    "family": family_of(provider, it),
                    "vcpus": int(float(r["vcpus"])),
                    "memory_gib": _clean(_num(r["memory_gib"])),
                    "cpu_arch": r["cpu_arch"],
                    "price_ondemand": _clean(_num(r["price_ondemand_usd_hour"])),
                    "price_spot": _clean(_num(r["price_spot_usd_hour"])),
                    "source": "shared/data/cpu_instances.csv",
                }
            )
    rows = [{k: v for k, v in row.items() if v is not None} for row in rows]
    found = _flag_inversions(rows, accs)
    rows.sort(key=lambda x: (str(x["region"]), str(x.get("accelerator", "")), str(x["family"]), float(x["vcpus"]), str(x["instance_type"])))  # type: ignore[arg-type]
    doc = {
        "apiVersion": "scaleplan/v1",
        "kind": "Catalog",
        "provenance": {
            "source": "github.com/skypilot-org/skypilot-catalog, via shared/data (gpu_instances.csv, cpu_instances.csv; see shared/data/README.md)",
            "commits": COMMITS[provider],
            "build_date": date,
            **({"prices_as_of": PRICES_AS_OF[provider][0]} if provider in PRICES_AS_OF else {}),
            "builder": "tools/build_catalogs.py",
            "caveats": [
                *CAVEATS["all"], *CAVEATS[provider], *_inversion_caveat(rows, found),
                *PRICES_AS_OF.get(provider, ())[1:],
            ],
        },
        "instances": rows,
    }
    CatalogFile.model_validate(doc)
    return doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "catalogs")
    ap.add_argument("--date", required=True, help="Build date to record (YYYY-MM-DD); explicit so rebuilds are reproducible.")
    args = ap.parse_args(argv)
    header = "# Generated by tools/build_catalogs.py from shared/data; do not edit by hand.\n"
    accelerators = build_accelerators(args.data, args.date)
    atomic_write(args.out / "accelerators.yaml", header + dump_yaml(accelerators))
    accs = {a.name: a for a in AcceleratorFile.model_validate(accelerators).accelerators}
    for provider in ("aws", "gcp", "azure"):
        doc = build_provider(args.data, provider, args.date, accs)
        atomic_write(args.out / f"{provider}.yaml", header + dump_yaml(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
