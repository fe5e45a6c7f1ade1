"""EC2 instance types -> :class:`TypeSpec`: which types scaleplan tracks and their accelerators.

Pure. A ``DescribeInstanceTypes`` entry becomes a :class:`TypeSpec` (vCPUs, memory, CPU
architecture, whole accelerators), or is skipped with a reason. The API's accelerator names are
mapped to the accelerator catalog with the fix-up table ``scaleplan/data/aws_fixups.yaml``
(family overrides, renames, memory variants such as A100 40 vs 80 GB) and a memory check that
refuses a different part reported under a known name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from scaleplan.catalog.model import Catalog, same_memory
from scaleplan.errors import InputError, Problem

# --------------------------------------------------------------------------------------------
# Fix-up table (data)


@dataclass(frozen=True)
class MemoryVariant:
    accelerator: str
    min_memory_gib: float
    use: str


@dataclass(frozen=True)
class Fixups:
    accelerator_patterns: tuple[str, ...]
    cpu_families: tuple[str, ...]
    cpu_sizes: tuple[str, ...]
    families: Mapping[str, str]
    names: Mapping[str, str]
    memory_variants: tuple[MemoryVariant, ...]

    def server_filter_patterns(self) -> list[str]:
        return [*self.accelerator_patterns, *(f"{f}.*" for f in self.cpu_families)]


def parse_fixups(data: Mapping[str, Any], name: str = "aws_fixups.yaml") -> Fixups:
    try:
        return Fixups(
            accelerator_patterns=tuple(str(p) for p in data["accelerator_patterns"]),
            cpu_families=tuple(str(p) for p in data["cpu_families"]),
            cpu_sizes=tuple(str(p) for p in data["cpu_sizes"]),
            families={str(k): str(v) for k, v in (data.get("families") or {}).items()},
            names={str(k): str(v) for k, v in (data.get("names") or {}).items()},
            memory_variants=tuple(MemoryVariant(str(m["accelerator"]), float(m["min_memory_gib"]),
                str(m["use"])) for m in data.get("memory_variants") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(name, [Problem("", f"invalid fix-up table: {exc}",
            hint="restore scaleplan/data/aws_fixups.yaml")]) from None


@functools.lru_cache(maxsize=1)
def load_fixups() -> Fixups:
    from scaleplan.yamlio import parse_yaml

    res = resources.files("scaleplan") / "data" / "aws_fixups.yaml"
    doc = parse_yaml(res.read_text(encoding="utf-8"), "scaleplan/data/aws_fixups.yaml",
        what="fix-up table")
    return parse_fixups(doc.data)



# --------------------------------------------------------------------------------------------
# Instance types


@dataclass(frozen=True)
class TypeSpec:
    instance_type: str
    family: str
    accelerator: str | None
    accelerator_count: int
    accelerator_memory_gib: float | None
    vcpus: int
    memory_gib: float
    cpu_arch: Literal["x86_64", "arm64"]



def split_type(instance_type: str) -> tuple[str, str]:
    family, _, size = instance_type.partition(".")
    return family, size


def accelerator_info(it: Mapping[str, Any]) -> tuple[str, int, float | None, float] | None:
    """(API name, whole device count, memory GiB per device, smallest partition) or None."""
    gpu = it.get("GpuInfo")
    if gpu and gpu.get("Gpus"):
        devs = gpu["Gpus"]
        count = sum(int(d.get("Count", 0)) for d in devs)
        part = min(float(d.get("GpuPartitionSize", 1.0)) for d in devs)
        mem = devs[0].get("MemoryInfo", {}).get("SizeInMiB")
        return str(devs[0].get("Name", "")), count, (mem / 1024 if mem else None), part
    neuron = it.get("NeuronInfo")
    if neuron and neuron.get("NeuronDevices"):
        devs = neuron["NeuronDevices"]
        mem = devs[0].get("MemoryInfo", {}).get("SizeInMiB")
        return str(devs[0].get("Name", "")), sum(int(d.get("Count", 0))
            for d in devs), (mem / 1024 if mem else None), 1.0
    inf = it.get("InferenceAcceleratorInfo")
    if inf and inf.get("Accelerators"):
        devs = inf["Accelerators"]
        mem = devs[0].get("MemoryInfo", {}).get("SizeInMiB")
        return str(devs[0].get("Name", "")), sum(int(d.get("Count", 0))
            for d in devs), (mem / 1024 if mem else None), 1.0
    return None


def resolve_accelerator(family: str, api_name: str, memory_gib: float | None, catalog: Catalog,
        fix: Fixups) -> tuple[str | None, str]:
    """Canonical accelerator for an API name, or (None, why)."""
    name = fix.families.get(family) or fix.names.get(api_name, api_name)
    canonical = catalog.resolve_product(name)
    if canonical is None or canonical == "CPU":
        return None, f"accelerator {api_name!r} has no specs in the accelerator catalog"
    for v in fix.memory_variants:
        if canonical == v.accelerator and memory_gib is not None and memory_gib >= v.min_memory_gib:
            canonical = v.use
    spec = catalog.accelerator(canonical)
    # the loader's own rule (catalog.model.same_memory): a row refresh writes, load accepts
    if spec is not None and memory_gib is not None and not same_memory(memory_gib, spec.memory_gib):
        return None, (f"accelerator {api_name!r} reports {memory_gib:.0f} GiB per device but "
            f"{canonical} has {spec.memory_gib:.0f} GiB (a different part?)")
    return canonical, ""


def type_spec(it: Mapping[str, Any], catalog: Catalog, fix: Fixups) -> TypeSpec | str | None:
    """A TypeSpec for a DescribeInstanceTypes entry; a warning string when it is skipped for a
    reason worth telling; None when it is simply not a family scaleplan tracks."""
    name = str(it["InstanceType"])
    family, size = split_type(name)
    archs = list(it.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
    arch: Literal["x86_64", "arm64"] | None = ("arm64" if "arm64" in archs else "x86_64"
        if "x86_64" in archs else None)
    vcpus = int(it.get("VCpuInfo", {}).get("DefaultVCpus", 0))
    mem_mib = float(it.get("MemoryInfo", {}).get("SizeInMiB", 0))
    acc = accelerator_info(it)
    if acc is None:
        if family not in fix.cpu_families or size not in fix.cpu_sizes:
            return None
        accelerator, count, acc_mem = None, 0, None
    else:
        api_name, count, acc_mem, part = acc
        if part < 1.0 or count < 1:
            return f"{name} is left out: fractional accelerator ({api_name} partition {part:g})"
        accelerator, why = resolve_accelerator(family, api_name, acc_mem, catalog, fix)
        if accelerator is None:
            return f"{name} is left out: {why}"
    if arch is None:
        return f"{name} is left out: unsupported architecture {archs}"
    if vcpus <= 0 or mem_mib <= 0:
        return f"{name} is left out: the API gives no vCPU or memory size"
    return TypeSpec(
        instance_type=name,
        family=family,
        accelerator=accelerator,
        accelerator_count=count,
        accelerator_memory_gib=round(acc_mem, 1) if acc_mem else None,
        vcpus=vcpus,
        memory_gib=round(mem_mib / 1024, 3),
        cpu_arch=arch,
    )
