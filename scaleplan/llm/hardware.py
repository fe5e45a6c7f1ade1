"""Accelerator facts the LLM model needs, read from the shipped accelerator table.

Everything numeric comes from ``catalogs/accelerators.yaml`` (memory, bandwidth, FP16/BF16/INT8
peaks, interconnect). Two facts are derived here, both documented in docs/llm.md:

* the chip's **architecture generation** (Volta, Turing, Ampere, Ada, Hopper, Blackwell) from
  its catalog name (or an ``generation`` field, when the table carries one): it decides which
  dtypes run natively (FP8 needs Ada or newer; BF16 Ampere or newer) and which efficiency
  factors apply;
* the **FP8 peak**: the table's ``fp8_tflops`` when present, else twice the dense BF16 peak on
  FP8-capable generations (the data-sheet ratio on L4, L40S, H100, H200 and B200), and the
  **interconnect bandwidth** parsed from the table's interconnect text ("NVLink 4 (900 GB/s)").

An accelerator without a published 16-bit peak (the A10G) is modelled on the documented,
conservative stand-in of :data:`scaleplan.catalog.peaks.PEAK_PROXIES` (the one table the
profile estimator uses too): its :attr:`Hardware.peak_proxy` names it, every basis says so and
the TTFT band widens (:mod:`scaleplan.llm.perf`, docs/llm.md "Proxied peaks").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from scaleplan.catalog.model import Accelerator
from scaleplan.catalog.peaks import PEAK_PROXIES, PROXY_WIDEN, with_proxy

# chip -> architecture generation (a fact of the part, not a tuning factor)
_GENERATION_OF = {
    "V100": "volta", "V100-32GB": "volta",
    "T4": "turing", "T4g": "turing",
    "A10": "ampere", "A10G": "ampere", "A100": "ampere", "A100-80GB": "ampere", "A30": "ampere",
        "A40": "ampere",
    "L4": "ada", "L40": "ada", "L40S": "ada",
    "H100": "hopper", "H100-NVL": "hopper", "H200": "hopper", "GH200": "hopper", "H20": "hopper",
    "B200": "blackwell", "B300": "blackwell", "GB200": "blackwell", "RTXPRO6000": "blackwell",
}
# PCIe per-direction bandwidth (GB/s) by generation (x16 link, protocol overhead included)
_PCIE_GBS = {3: 12.0, 4: 25.0, 5: 50.0}
# An NVLink bridge joins the GPUs of a pair (H100 NVL, A100 PCIe): 600 GB/s both directions
# (NVIDIA's H100 NVL product brief; Azure's NC80adis_H100_v5 pair is bridged: NCCL finds the
# NVLink, azhpc-images issue 332); GPUs of different pairs talk over PCIe
_BRIDGE_GBS = 600.0
NVLINK_LATENCY_US = 16.0  # per all-reduce call over NVLink (docs/llm.md)
# The TP all-reduce of one step's activations (docs/llm.md, Performance): every engine has two
# paths and a message takes the faster. Its own one-/two-shot kernel (vLLM's custom
# all-reduce, TensorRT-LLM's AllReduce plugin) for small messages: :data:`CUSTOM_AR_EFFICIENCY`
# of the link's per-direction bandwidth plus the link's latency per call (both chosen on the
# training rows, docs/llm.md). NCCL's ring with its Simple protocol for large ones (prefill
# chunks: 100+ MB), priced by NCCL's own tuning model over NVLink (src/graph/tuning.cc,
# ring/Simple: 8.4 µs + 3.4 µs per each of the 2 (n - 1) steps; src/graph/topo.h: 20.6 GB/s
# per NVLink x 18 links = 371 of H100's 450 GB/s per direction, SM100 40.1 x 18 = 722 of 900,
# SM80 20 x 12 = 240 of 300; nccl-tests' all_reduce_perf reaches ~370 GB/s bus bandwidth on
# 8 x H100, NVIDIA/nccl-tests#212). Bus bandwidth is the rate of the 2 (n - 1)/n x S bytes
# each rank sends, so S bytes take lat + 2 (n - 1)/n x S / (fraction x link). Over PCIe NCCL's
# rings cross the CPUs' links (topo.h's QPI / Infinity Fabric rates), which the table does
# not state: the custom path's price stands there.
CUSTOM_AR_EFFICIENCY = 0.5
NCCL_NVLINK_BUS_FRACTION = 0.82
NCCL_RING_SIMPLE_BASE_US = 8.4
NCCL_RING_SIMPLE_NVLINK_STEP_US = 3.4


class UnsupportedDtype(Exception):
    """The accelerator cannot run a dtype (raised by :func:`compute_peak_tflops`)."""


@dataclass(frozen=True)
class Hardware:
    """One accelerator as the LLM model sees it."""

    name: str
    generation: str
    memory_gib: float
    bandwidth_gbs: float
    fp16_tflops: float
    fp8_tflops: float | None
    fp4_tflops: float | None
    int8_tops: float | None
    link_gbs: float  # per-direction GPU-to-GPU bandwidth used by all-reduce
    link_kind: str  # "nvlink" or "pcie"
    link_latency_us: float  # per all-reduce call
    peak_proxy: str | None = None  # the proxy note when the 16-bit peak is a stand-in
    pair_link_gbs: float | None = None  # per direction, within an NVLink-bridged pair

    def link(self, gpus: int) -> tuple[float, float]:
        """(per-direction GB/s, latency µs per all-reduce) among ``gpus`` GPUs of one replica:
        an NVLink-bridged pair talks over its bridge, more GPUs over :attr:`link_gbs`."""
        if gpus == 2 and self.pair_link_gbs is not None:
            return self.pair_link_gbs, NVLINK_LATENCY_US
        return self.link_gbs, self.link_latency_us

    def allreduce_s(self, tp: int, gpus: int, nbytes: float) -> float:
        """Seconds of one all-reduce of ``nbytes`` among ``tp`` ranks of a replica of ``gpus``
        GPUs: the faster of the engine's own kernel and NCCL's ring/Simple over NVLink
        (:data:`NCCL_NVLINK_BUS_FRACTION`; docs/llm.md, Performance)."""
        if tp <= 1:
            return 0.0
        link_gbs, link_us = self.link(gpus)
        sent = 2.0 * (tp - 1) / tp * nbytes  # bytes each rank sends (reduce-scatter + all-gather)
        custom = sent / (link_gbs * 1e9 * CUSTOM_AR_EFFICIENCY) + link_us * 1e-6
        if self.link_kind != "nvlink" and not (gpus == 2 and self.pair_link_gbs is not None):
            return custom  # PCIe: rings across the CPUs' links, which the table does not state
        lat_us = NCCL_RING_SIMPLE_BASE_US + 2 * (tp - 1) * NCCL_RING_SIMPLE_NVLINK_STEP_US
        return min(custom, sent / (link_gbs * 1e9 * NCCL_NVLINK_BUS_FRACTION) + lat_us * 1e-6)

    def send_s(self, gpus: int, nbytes: float) -> float:
        """Seconds of one point-to-point hop of ``nbytes`` (a PP stage boundary)."""
        link_gbs, link_us = self.link(gpus)
        return nbytes / (link_gbs * 1e9) + link_us * 1e-6

    def compute_peak_tflops(self, dtype: str) -> float:
        """Dense tensor peak the dtype's matrix multiplies run at (weight-only int4/int8
        dequantise to 16-bit and run at the FP16 peak)."""
        if dtype == "fp8":
            if self.fp8_tflops is None:
                raise UnsupportedDtype(f"{self.name} ({self.generation.title()}) has no FP8 tensor "
                    "cores; FP8 needs Ada, Hopper or Blackwell")
            return self.fp8_tflops
        if dtype in ("nvfp4", "mxfp4") and self.fp4_tflops is not None:
            return self.fp4_tflops
        if dtype == "nvfp4":
            raise UnsupportedDtype(f"{self.name} ({self.generation.title()}) has no FP4 tensor "
                "cores; NVFP4 needs Blackwell")
        if dtype == "int4-awq" and self.generation == "volta":
            # vLLM's and SGLang's AWQ kernels: AWQConfig.get_min_capability() is 75
            raise UnsupportedDtype(
                f"{self.name} (Volta) cannot run AWQ 4-bit weights: the engines' AWQ kernels "
                "need Turing or newer (compute capability 7.5); serve a GPTQ or 16-bit checkpoint"
            )
        if dtype == "bf16" and self.generation in ("volta", "turing"):
            raise UnsupportedDtype(f"{self.name} ({self.generation.title()}) has no BF16 tensor "
                "cores; serve it in fp16")
        return self.fp16_tflops

    def check_kv_dtype(self, kv_dtype: str) -> None:
        """Raise :class:`UnsupportedDtype` when the part cannot hold a KV cache of ``kv_dtype``
        (an fp8 KV cache before Ampere)."""
        if kv_dtype == "fp8" and self.fp8_tflops is None and self.generation in ("volta", "turing"):
            raise UnsupportedDtype(f"{self.name} cannot hold an fp8 KV cache")

    def runs(self, dtypes: Iterable[str] | None = None) -> list[str]:
        """Those of ``dtypes`` (default: every weight dtype a spec may name) the part runs
        (:meth:`compute_peak_tflops` takes them)."""
        if dtypes is None:
            from typing import get_args

            from scaleplan.spec import LlmDtype

            dtypes = get_args(LlmDtype)
        out = []
        for d in dtypes:
            try:
                self.compute_peak_tflops(d)
            except UnsupportedDtype:
                continue
            out.append(d)
        return out


def generation_of(acc: Accelerator) -> str | None:
    return acc.generation or _GENERATION_OF.get(acc.name)


def _link(interconnect: str | None) -> tuple[float, str, float]:
    """(per-direction GB/s, kind, latency µs per all-reduce) from the table's text."""
    text = (interconnect or "").lower()
    if "nvlink" in text and "bridge" not in text:
        m = re.search(r"([\d.]+)\s*(tb|gb)/s", text)
        total = float(m.group(1)) * (1000 if m.group(2) == "tb" else 1) if m else 300.0
        return total / 2, "nvlink", NVLINK_LATENCY_US
    m = re.search(r"gen\s*(\d)", text)
    gen = int(m.group(1)) if m else 4
    return _PCIE_GBS.get(gen, 25.0), "pcie", 25.0


def hardware(acc: Accelerator) -> Hardware | None:
    """The LLM view of an accelerator, or None when the table lacks what the model needs
    (bandwidth, a 16-bit peak or a known generation). A documented peak proxy fills a missing
    16-bit peak (:func:`scaleplan.catalog.peaks.with_proxy`)."""
    acc, proxy = with_proxy(acc)
    gen = generation_of(acc)
    fp16 = acc.fp16_tflops or acc.bf16_tflops
    if gen is None or acc.memory_bandwidth_gbs is None or fp16 is None:
        return None
    fp8 = acc.fp8_tflops
    if fp8 is None and gen in ("ada", "hopper", "blackwell"):
        fp8 = 2 * (acc.bf16_tflops or fp16)
    fp4 = (4 * (acc.bf16_tflops or fp16) if gen == "blackwell"
        else None)  # the table has no FP4 column
    link_gbs, kind, lat = _link(acc.interconnect)
    bridged = "nvlink bridge" in (acc.interconnect or "").lower()
    return Hardware(
        name=acc.name,
        generation=gen,
        memory_gib=acc.cuda_memory_gib or acc.memory_gib,
        bandwidth_gbs=acc.memory_bandwidth_gbs,
        fp16_tflops=float(fp16),
        fp8_tflops=float(fp8) if fp8 is not None else None,
        fp4_tflops=float(fp4) if fp4 is not None else None,
        int8_tops=acc.int8_tops,
        link_gbs=link_gbs,
        link_kind=kind,
        link_latency_us=lat,
        peak_proxy=proxy,
        pair_link_gbs=_BRIDGE_GBS / 2 if bridged else None,
    )


def proxy_warning(hw: Hardware) -> str | None:
    """The warning a plan or profile on ``hw`` carries when its 16-bit peak is a proxy."""
    if hw.peak_proxy is None:
        return None
    p = PEAK_PROXIES[hw.name]
    return (
        f"{hw.name}: modelled on a proxied peak: {hw.peak_proxy}; the TTFT band is widened, its "
        f"low end x{p.low_factor:.2f} (at the {p.upper_bound}'s peak prefill would be "
        f"{1 / p.low_factor:.2f}x faster), its high end x{PROXY_WIDEN:g} "
        "(docs/llm.md, Proxied peaks)"
    )


def missing_facts(acc: Accelerator) -> str:
    """Why :func:`hardware` returned None, for error messages."""
    gaps = []
    if generation_of(acc) is None:
        gaps.append("architecture generation")
    if acc.memory_bandwidth_gbs is None:
        gaps.append("memory_bandwidth_gbs")
    if (with_proxy(acc)[0].fp16_tflops or acc.bf16_tflops) is None:
        gaps.append("fp16_tflops")
    return ", ".join(gaps) or "nothing"
