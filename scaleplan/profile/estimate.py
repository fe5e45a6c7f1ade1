"""Estimate points for accelerators you do not have: a roofline transfer from measured points.

**From a GPU point** (preferred). The source's batch sweep calibrates a two-term roofline,
``t(b) ~ memory floor + b x per-sample compute``: the memory floor ``tm`` is the smallest
measured batch latency (weights stream through memory once per batch), the per-sample compute
time ``tc`` is the smallest ``latency / batch`` (the most efficient, compute-bound end). At
batch ``b`` the compute share is ``f = b*tc / (b*tc + tm)``: under 0.4 the point is
memory-bound, over 0.6 compute-bound, else mixed. Latency transfers as
``t' = t x ((1-f) x BW_src/BW_dst + f x PEAK_src/PEAK_dst)`` with bandwidth and dense tensor
peak (FP16, BF16 or INT8 by the profile's dtype) from the catalog. LLM TTFT (prefill) scales by
compute, TPOT (decode) by bandwidth. The measured GPU already contains its launch and host
overheads, so the band stays tight (:data:`BANDS`).

**From CPU points only** (different architecture class: low confidence). CPU and GPU
efficiencies differ too much for a ratio, so the transfer is built from the model's FLOPs per
sample ``F`` (counted by the profiler, ``fn.flops_per_sample`` or ``--flops-per-sample``) and
the target's specs, with every assumption in :class:`TransferOptions`::

    t(b) = overhead + b x host_per_sample + transfer(b) + max(compute(b), memory)
    compute(b) = b x F / (eff(b) x PEAK),   eff(b) = E x b / (b + B_HALF)
    memory     = weights / (MEM_EFF x BW)
    transfer(b)= COPY_MS + b x input_bytes / PCIe

``overhead`` defaults to ``KERNELS_PER_FORWARD x LAUNCH_US + HOST_MS`` (150 kernels x 10 us +
0.5 ms = 2 ms, an eager PyTorch transformer with a few layers); ``E`` = 0.5 of dense peak at
large batch, ``B_HALF`` = 8 (batch 1 reaches ~6 %, batch 64 ~44 %); ``MEM_EFF`` = 0.75. The
band is 0.5x-4x, widened when the weights are unknown (memory term left out) or when the
target's peak is a proxy (:data:`scaleplan.catalog.peaks.PEAK_PROXIES`). The CPU's latency *shape* is not transferred
(a shared CPU's tail says nothing about a GPU): percentiles use :data:`GPU_TAIL`.

Every estimated point says ``source: estimated`` and carries ``estimate: {basis, bound, low,
high}`` (``low``/``high`` multiply the latency: the uncertainty band).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from scaleplan.catalog.model import Accelerator, Catalog
from scaleplan.catalog.peaks import FP8_DTYPES, PROXY_WIDEN, peak_with_proxy
from scaleplan.errors import Problem, ProfileError, option_error
from scaleplan.profile.build import sorted_measurements
from scaleplan.profile.model import Estimate, Measurement, Percentiles, Profile
from scaleplan.profile.stats import round_sig

# --- GPU -> GPU (calibrated on a measured GPU: tight bands) ---------------------------------
#: Latency bands by bound (low, high factors on the estimated latency). Compute and mixed: set
#: to what the validation's training pairs show (tests/data/estimate_validation, docs/
#: benchmarks.md); memory: not covered by the validation set, kept as before.
BANDS = {"memory": (0.8, 1.35), "compute": (0.75, 1.35), "mixed": (0.75, 1.35),
    "unknown": (0.6, 1.8)}
#: Fraction of the served dtype's dense peak a generation's parts reach on the same model,
#: relative to Ampere. Chosen on the training two-thirds of the validation set (published
#: MLPerf Offline results, see docs/benchmarks.md); one factor per architecture generation,
#: none per accelerator. Generations without validation data stay at 1.0 and widen the band.
GENERATION_EFFICIENCY: dict[str, float] = {"ampere": 1.0, "ada": 0.76, "hopper": 0.68}
#: Efficiency of generations the validation set does not cover (Volta, Turing, Blackwell).
UNCALIBRATED_EFFICIENCY = 1.0

# --- CPU -> GPU (no GPU measurement: every number below is an assumption) --------------------
#: Band on CPU-only transfers: the GPU may be 2x faster than the model says (fused kernels,
#: CUDA graphs, compiled model) or 4x slower (tokenization or Python inside ``fn``, FP32
#: kernels, small GEMMs far below the ramp).
CPU_BAND = (0.5, 4.0)
#: Extra factor on the band's high end when the weights size is unknown (memory term left out).
UNKNOWN_WEIGHTS_WIDEN = 1.25
#: Kernels one forward pass launches in eager mode: a 6-layer transformer encoder runs ~20-25
#: per layer (projections, matmuls, softmax, norms, activations, residual adds) + embeddings
#: and pooling, i.e. on the order of 150.
KERNELS_PER_FORWARD = 150
#: Launch + framework dispatch cost per kernel in eager PyTorch (5-10 us launch, plus Python
#: dispatch): the GPU idles between small kernels, so at small batch this is the latency.
LAUNCH_US = 10.0
#: Host work per batch outside the kernels: H2D/D2H copies' fixed cost, synchronisation,
#: framework and Python overhead of the call itself.
HOST_MS = 0.5
#: Fraction of dense tensor peak reachable by large GEMMs in practice (0.3-0.6 observed).
COMPUTE_EFF = 0.5
#: Batch at which the reachable fraction is half of COMPUTE_EFF: small GEMMs (batch 1 of a
#: small model) reach a few percent of peak.
EFF_HALF_BATCH = 8.0
#: Fraction of peak memory bandwidth reachable by streaming kernels.
MEMORY_EFF = 0.75
#: Fixed cost of one host->device copy (driver + DMA setup), ms.
COPY_MS = 0.01
#: Input bytes per sample when neither --input-bytes nor a parseable metadata.input_shape says
#: (e.g. 512 int64 token ids): for text models the transfer term is then negligible.
DEFAULT_INPUT_BYTES = 4096.0
#: Effective host->device bandwidth (GB/s) by PCIe generation (x16, ~75 % of the link rate).
PCIE_GBS = {3: 12.0, 4: 24.0, 5: 48.0, 6: 96.0}
#: When the catalog's interconnect names no PCIe generation: PCIe Gen3 x16, conservative.
DEFAULT_PCIE_GEN = 3
#: FP32 without tensor cores, as a fraction of the dense FP16 tensor peak: 1/4 on Ampere and
#: Ada (A10 31.2/125, L4 30.3/121 TFLOPS); Turing T4 is 1/8 (8.1/65), so optimistic there.
FP32_OF_FP16_TENSOR = 0.25
#: Percentile multipliers of p50 for estimated GPU points (a dedicated GPU replica's tail).
GPU_TAIL = {"p90": 1.1, "p95": 1.2, "p99": 1.5, "mean": 1.05}
_DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "int8": 1,
    "uint8": 1, "int64": 8, "long": 8, "int32": 4, "float64": 8}
GPU_DTYPES = ("float16", "bfloat16", "int8", "float8", "float32")


@dataclass(frozen=True)
class TransferOptions:
    """Assumptions of the CPU-to-GPU transfer; ``None`` = the documented default."""

    overhead_ms: float | None = None
    compute_efficiency: float = COMPUTE_EFF
    memory_efficiency: float = MEMORY_EFF
    weights_gib: float | None = None
    input_bytes_per_sample: float | None = None
    host_ms_per_sample: float = 0.0
    gpu_dtype: str | None = None

    def fixed_overhead_ms(self) -> float:
        return (self.overhead_ms if self.overhead_ms is not None
            else KERNELS_PER_FORWARD * LAUNCH_US / 1000.0 + HOST_MS)


@dataclass
class EstimateResult:
    profile: Profile
    warnings: list[str] = field(default_factory=list)


def generation_efficiency(acc: Accelerator) -> tuple[float, str | None, bool]:
    """(efficiency relative to Ampere, generation, calibrated?) of an accelerator."""
    from scaleplan.llm.hardware import generation_of

    gen = generation_of(acc)
    if gen in GENERATION_EFFICIENCY:
        return GENERATION_EFFICIENCY[gen], gen, True
    return UNCALIBRATED_EFFICIENCY, gen, False


def _scale(p: Percentiles | None, s: float) -> Percentiles | None:
    if p is None:
        return None
    return Percentiles(p50=round_sig(p.p50 * s), p90=round_sig(p.p90 * s), p95=round_sig(p.p95 * s),
        p99=round_sig(p.p99 * s), mean=round_sig(p.mean * s) if p.mean is not None else None)


def _bound(f: float) -> str:
    return "memory" if f < 0.4 else "compute" if f > 0.6 else "mixed"


def _from_gpu(points: list[Measurement], src: Accelerator, dst: Accelerator, dtype: str | None,
        warnings: list[str], *, flops: float | None = None,
        weights_gib: float | None = None) -> list[Measurement]:
    bw_s, bw_d = src.memory_bandwidth_gbs, dst.memory_bandwidth_gbs
    pk_s, label, proxy_s = peak_with_proxy(src, dtype)
    pk_d, label_d, proxy_d = peak_with_proxy(dst, dtype)
    if bw_s is None or bw_d is None:
        warnings.append(f"{dst.name}: no memory bandwidth for "
            f"{src.name if bw_s is None else dst.name} in the catalog; not estimated")
        return []
    compute_known = pk_s is not None and pk_d is not None
    fp_proxy = (dtype or "float32") not in ("float16", "bfloat16", "int8", "uint8", *FP8_DTYPES)
    peak_proxy = proxy_s or proxy_d
    mixed_dtype = compute_known and label != label_d
    if mixed_dtype:
        peak_proxy = (peak_proxy + "; " if peak_proxy else "") + (
            f"{src.name} has a {label} peak, {dst.name} only {label_d}: the ratio mixes dtypes")
    if not compute_known:
        warnings.append(f"{dst.name}: no {label} peak for {src.name if pk_s is None else dst.name} "
            "in the catalog and no documented proxy: compute scaled by the bandwidth "
            "ratio (wide band)")
    eff_s, gen_s, cal_s = generation_efficiency(src)
    eff_d, gen_d, cal_d = generation_efficiency(dst)
    calibrated = cal_s and cal_d
    tm = min(p.latency_ms.p50 for p in points)
    tc = min(p.latency_ms.p50 / p.batch_size for p in points)
    out: list[Measurement] = []
    for p in sorted(points, key=lambda m: m.batch_size):
        if flops and weights_gib and pk_s:
            # the split from the model's FLOPs and bytes on the source (reachable fractions of peak)
            c = p.batch_size * flops / (COMPUTE_EFF * eff_s * pk_s * 1e12)
            mem = weights_gib * 2**30 / (MEMORY_EFF * bw_s * 1e9)
            f = c / (c + mem)
            split = f"split from {flops:.3g} FLOP/sample and {weights_gib:.3g} GiB of weights"
        else:
            c = p.batch_size * tc
            f = c / (c + tm) if c + tm > 0 else 0.5
            split = "split from the measured sweep"
        bound = _bound(f)
        r_mem = bw_s / bw_d
        if compute_known:
            assert pk_s is not None and pk_d is not None
            r_cmp = (pk_s * eff_s) / (pk_d * eff_d)
            how = (f"bandwidth {bw_s:g}->{bw_d:g} GB/s, {label} peak {pk_s:g}->{pk_d:g} TFLOPS x "
                f"efficiency {eff_s:g} ({gen_s or '?'})->{eff_d:g} ({gen_d or '?'})")
        else:
            r_cmp = r_mem
            how = (f"bandwidth {bw_s:g}->{bw_d:g} GB/s (no {label} peak for "
                f"{src.name if pk_s is None else dst.name} in the catalog and no proxy: bandwidth "
                "ratio used for compute too)")
        s = (1 - f) * r_mem + f * r_cmp
        tight = compute_known and not fp_proxy and not peak_proxy and calibrated
        low, high = BANDS[bound] if tight else BANDS["unknown"]
        if fp_proxy and compute_known:
            how += f"; {dtype or 'float32'} compute approximated by the {label} tensor peak ratio"
        if peak_proxy:
            how += f"; {peak_proxy}"
        if not calibrated:
            how += (f"; generation {'/'.join(g for g in (gen_s, gen_d) if g) or 'unknown'} not in "
                "the validation set: efficiency 1, wide band")
        if p.peak_memory_gib is not None and p.peak_memory_gib > dst.memory_gib:
            warnings.append(f"{dst.name}: batch {p.batch_size} is left out: it needs "
                f"{p.peak_memory_gib:.3g} GiB, more than its {dst.memory_gib:g} GiB")
            continue
        basis = (f"roofline from {src.name} batch {p.batch_size} ({p.source} on {p.device}; GPU "
            f"calibration): {bound}-bound (compute share {f:.2f}, {split}); {how}; "
            f"latency x{s:.3g}")
        ttft = _scale(p.ttft_ms, r_cmp)
        tpot = _scale(p.tpot_ms, r_mem)
        lat = _scale(p.latency_ms, s)
        assert lat is not None
        out.append(
            Measurement(
                device="estimate",
                accelerator=dst.name,
                batch_size=p.batch_size,
                latency_ms=lat,
                throughput_rps=round_sig(p.throughput_rps / s),
                peak_memory_gib=p.peak_memory_gib,
                source="estimated",
                gpus=p.gpus,
                request_class=p.request_class,
                concurrency=p.concurrency,
                offered_rps=p.offered_rps,
                ttft_ms=ttft,
                tpot_ms=tpot,
                estimate=Estimate(basis=basis, bound=bound, low=low, high=high),
            )
        )
    return out


def pcie_gbs(interconnect: str | None) -> tuple[float, str]:
    """Effective host->device GB/s from the catalog's interconnect text, and how it was read."""
    m = re.search(r"pcie\s*gen\s*(\d)", (interconnect or "").lower())
    if m and int(m.group(1)) in PCIE_GBS:
        gen = int(m.group(1))
        return PCIE_GBS[gen], f"PCIe Gen{gen} ({PCIE_GBS[gen]:g} GB/s effective)"
    return PCIE_GBS[DEFAULT_PCIE_GEN], (f"PCIe Gen{DEFAULT_PCIE_GEN} x16 assumed "
        f"({PCIE_GBS[DEFAULT_PCIE_GEN]:g} GB/s effective; catalog interconnect "
        f"{interconnect or 'unknown'!r} names no generation)")


def input_bytes(input_shape: str | None, dtype: str | None) -> float | None:
    """Bytes per sample from ``metadata.input_shape`` like ``3x224x224`` (None if not parseable)."""
    if not input_shape or not re.fullmatch(r"\s*\d+(\s*x\s*\d+)*\s*", input_shape):
        return None
    n = math.prod(int(x) for x in input_shape.split("x"))
    return float(n * _DTYPE_BYTES.get((dtype or "float32").lower(), 4))


def compute_efficiency(batch: int, large_batch: float = COMPUTE_EFF) -> float:
    """Reachable fraction of dense peak at ``batch``: ``E x b / (b + EFF_HALF_BATCH)``."""
    return large_batch * batch / (batch + EFF_HALF_BATCH)


def cpu_transfer_latency_ms(batch: int, *, flops: float, peak_tflops: float, bw_gbs: float,
        pcie: float, opts: TransferOptions,
        in_bytes: float) -> tuple[float, float, float, float, float]:
    """(total, compute, memory, transfer, fixed) ms of one batch on the target (pure)."""
    t_c = batch * flops / (compute_efficiency(batch, opts.compute_efficiency) * peak_tflops * 1e12) * 1000.0
    t_m = (opts.weights_gib or 0.0) * 2**30 / (opts.memory_efficiency * bw_gbs * 1e9) * 1000.0
    t_x = COPY_MS + batch * in_bytes / (pcie * 1e9) * 1000.0
    fixed = opts.fixed_overhead_ms() + batch * opts.host_ms_per_sample
    return fixed + t_x + max(t_c, t_m), t_c, t_m, t_x, fixed


def _from_cpu(points: list[Measurement], dst: Accelerator, flops: float, dtype: str | None,
        opts: TransferOptions, warnings: list[str]) -> list[Measurement]:
    gpu_dtype = (opts.gpu_dtype or (dtype if (dtype or "").lower() in GPU_DTYPES else None)
        or "float16").lower()
    pk, label, proxy = peak_with_proxy(dst, "float16" if gpu_dtype == "float32" else gpu_dtype)
    bw = dst.memory_bandwidth_gbs
    if pk is None or bw is None:
        missing = " and ".join(x for x, v in ((f"{label} peak", pk), ("memory bandwidth", bw))
            if v is None)
        warnings.append(f"{dst.name}: no {missing} in the catalog and no documented proxy, so CPU "
            "points cannot be transferred; not estimated (add the figure with --catalog)")
        return []
    if gpu_dtype == "float32":
        pk, label = pk * FP32_OF_FP16_TENSOR, f"FP32 (= {FP32_OF_FP16_TENSOR:g} x {label} tensor)"
    if opts.weights_gib is not None and opts.weights_gib > dst.memory_gib:
        warnings.append(f"{dst.name}: weights {opts.weights_gib:g} GiB exceed its "
            f"{dst.memory_gib:g} GiB; not estimated")
        return []
    pcie, pcie_how = pcie_gbs(dst.interconnect)
    ib = opts.input_bytes_per_sample
    ib_how = "--input-bytes"
    if ib is None:
        ib = DEFAULT_INPUT_BYTES
        ib_how = "default (input size unknown)"
    low, high = CPU_BAND
    if opts.weights_gib is None:
        high *= UNKNOWN_WEIGHTS_WIDEN
    if proxy:
        high *= PROXY_WIDEN
    fixed_how = (f"--overhead-ms {opts.overhead_ms:g}" if opts.overhead_ms is not None
        else f"{KERNELS_PER_FORWARD} kernels x {LAUNCH_US:g} us + {HOST_MS:g} ms host")
    out: list[Measurement] = []
    for p in sorted(points, key=lambda m: m.batch_size):
        b = p.batch_size
        t, t_c, t_m, t_x, fixed = cpu_transfer_latency_ms(b, flops=flops, peak_tflops=pk, bw_gbs=bw,
            pcie=pcie, opts=opts, in_bytes=ib)
        f = t_c / (t_c + t_m) if t_c + t_m > 0 else 1.0
        bound = _bound(f)
        eff = compute_efficiency(b, opts.compute_efficiency)
        parts = [
            f"transfer from CPU: low confidence (batch {b} ({p.source} on {p.device}) gives only "
                "the batch; the GPU time is modelled from specs)",
            f"{flops:.4g} FLOP/sample at {eff:.1%} of {pk:g} {label} TFLOPS ({gpu_dtype} "
                f"assumed{'' if opts.gpu_dtype else '; --gpu-dtype to change'}) = {t_c:.3g} ms",
            f"weights {opts.weights_gib:g} GiB at {opts.memory_efficiency:.0%} of {bw:g} GB/s = "
                f"{t_m:.3g} ms" if opts.weights_gib is not None
                else "weights unknown: memory term left out, band widened (--weights-gib)",
            f"fixed {fixed:.3g} ms ({fixed_how}{f' + {opts.host_ms_per_sample:g} ms/sample host' if opts.host_ms_per_sample else ''}; {fixed / t:.0%} of the latency)",
            f"inputs {ib:g} B/sample ({ib_how}) over {pcie_how} = {t_x:.3g} ms",
            f"{bound}-bound device time; percentiles from the GPU tail model, not the CPU's",
        ]
        if proxy:
            parts.append(proxy)
        p50 = round_sig(t)
        lat = Percentiles(p50=p50, **{k: round_sig(t * v) for k, v in GPU_TAIL.items()})
        out.append(
            Measurement(
                device="estimate",
                accelerator=dst.name,
                batch_size=b,
                latency_ms=lat,
                throughput_rps=round_sig(b / (t / 1000.0)),
                peak_memory_gib=round_sig(opts.weights_gib * 1.2, 4) if opts.weights_gib else None,
                source="estimated",
                gpus=p.gpus,
                request_class=p.request_class,
                estimate=Estimate(basis="; ".join(parts), bound=bound, low=low,
                    high=round_sig(high, 3)),
            )
        )
    return out


ENDPOINT_WARNING = (
    "{done} estimated from an HTTP endpoint measured on {src}: its latency includes the network, "
    "HTTP and the server's own queueing and batching, and batch_size is the concurrency, yet the "
    "roofline scales all of it by the GPUs' ratio (optimistic on a faster GPU); measure the "
    "endpoint on {done} before relying on the plan"
)


def _endpoint_caveat(profile: Profile, src: str | None, done: list[str]) -> list[str]:
    """A roofline transfer of a black-box HTTP endpoint's points (not an LLM server's: their
    TTFT/TPOT transfer is docs/llm.md's) scales the whole request time."""
    if not done or src is None or profile.metadata.kind != "endpoint":
        return []
    return [ENDPOINT_WARNING.format(src=src, done=", ".join(done))]


# CPU points of a callable (no input_shape: the factory's own fn, not torch.randn into a
# module) time whatever host work fn does; the transfer counts FLOPs (UX trial 24: the MiniLM
# factory tokenizes in fn, and T4 estimated 2.9x faster than with --host-ms-per-sample)
HOST_WORK_WARNING = (
    "{done}: estimated from CPU points without --host-ms-per-sample: the CPU time includes "
    "any host work the measured callable does (tokenizing, decoding, pre-processing), the GPU "
    "estimate only the model's FLOPs, transfers and a fixed overhead, so where that work is "
    "large the GPU capacity is overstated; time it per sample on the CPU and pass "
    "--host-ms-per-sample (docs/profile.md, \"Checked on MiniLM\")"
)


def _host_work_caveat(
    profile: Profile, src: str | None, done: list[str], opts: TransferOptions
) -> list[str]:
    """The warning for a CPU transfer of a callable's points with no host time given."""
    if src is not None or not done or opts.host_ms_per_sample or profile.metadata.input_shape:
        return []
    return [HOST_WORK_WARNING.format(done=", ".join(done))]


def estimate_profile(profile: Profile, targets: list[str], catalog: Catalog, *,
        flops_per_sample: float | None = None,
        options: TransferOptions | None = None) -> EstimateResult:
    """The input profile plus estimated points for each target accelerator (pure)."""
    if not targets:
        raise option_error([Problem("--accelerators", "no accelerator given",
            hint="e.g. --accelerators L4,A10G,H100")])
    opts = options or TransferOptions()
    if opts.gpu_dtype is not None and opts.gpu_dtype.lower() not in GPU_DTYPES:
        raise option_error([Problem("--gpu-dtype", f"unknown dtype {opts.gpu_dtype!r}",
            hint=f"one of {', '.join(GPU_DTYPES)}")])
    for name, v in (("--compute-efficiency", opts.compute_efficiency),
            ("--memory-efficiency", opts.memory_efficiency)):
        if not 0 < v <= 1:
            raise option_error([Problem(name, f"{v:g} is not a fraction of peak",
                hint="a number in (0, 1], e.g. 0.5")])
    warnings: list[str] = []
    resolved: list[Accelerator] = []
    problems: list[Problem] = []
    for name in targets:
        canonical = catalog.resolve(name)
        acc = catalog.accelerator(name) if canonical and canonical != "CPU" else None
        if acc is None:
            from scaleplan.names import unknown_accelerator_hint

            hint = ("estimates are for accelerators; measure the CPU instead" if canonical == "CPU"
                else unknown_accelerator_hint(name, catalog.accelerator_names(),
                ", and give that file with --catalog"))
            problems.append(Problem("--accelerators", f"unknown accelerator {name!r}", hint=hint))
        else:
            resolved.append(acc)
    if problems:
        raise option_error(problems)
    basis_pts = [m for m in profile.measurements if m.source in ("measured", "imported")]
    gpu_groups: dict[str, list[Measurement]] = defaultdict(list)
    for m in basis_pts:
        if m.accelerator != "CPU" and catalog.accelerator(m.accelerator) is not None:
            gpu_groups[m.accelerator].append(m)
    cpu_pts = [m for m in basis_pts if m.accelerator == "CPU"]
    flops = flops_per_sample or profile.metadata.flops_per_sample
    if not gpu_groups and not cpu_pts:
        raise ProfileError(None, message="the profile has no measured point on a known accelerator "
            "or the CPU to estimate from", hint="profile the model on a GPU or the CPU first "
            "(scaleplan profile TARGET)")
    if not gpu_groups and flops is None:
        raise ProfileError(None, message="the profile has only CPU points and no FLOPs per sample: "
            "a CPU-to-GPU transfer needs the model's FLOPs", hint="profile on a GPU (one GPU point "
            "calibrates the roofline), profile a torch model (FLOPs are counted), or pass "
            "--flops-per-sample")
    weights = opts.weights_gib if opts.weights_gib is not None else profile.metadata.weights_gib
    in_bytes = (opts.input_bytes_per_sample if opts.input_bytes_per_sample is not None
        else input_bytes(profile.metadata.input_shape, profile.metadata.dtype))
    cpu_opts = TransferOptions(
        overhead_ms=opts.overhead_ms,
        compute_efficiency=opts.compute_efficiency,
        memory_efficiency=opts.memory_efficiency,
        weights_gib=weights,
        input_bytes_per_sample=in_bytes,
        host_ms_per_sample=opts.host_ms_per_sample,
        gpu_dtype=opts.gpu_dtype,
    )
    src_name = sorted(gpu_groups, key=lambda a: (-len(gpu_groups[a]), a))[0] if gpu_groups else None
    new: list[Measurement] = []
    done: list[str] = []
    for dst in resolved:
        if any(m.accelerator == dst.name and m.source in ("measured", "imported")
                for m in profile.measurements):
            warnings.append(f"{dst.name}: already measured in the profile; not estimated")
            continue
        pts: list[Measurement] = []
        if src_name is not None:
            src = catalog.accelerator(src_name)
            assert src is not None
            groups: dict[tuple[int, str | None], list[Measurement]] = defaultdict(list)
            for m in gpu_groups[src_name]:
                groups[(m.gpus, m.request_class)].append(m)
            for key in sorted(groups, key=lambda k: (k[0], k[1] or "")):
                pts += _from_gpu(groups[key], src, dst, profile.metadata.dtype, warnings,
                    flops=flops, weights_gib=weights)
        else:
            assert flops is not None
            pts = _from_cpu(cpu_pts, dst, flops, profile.metadata.dtype, cpu_opts, warnings)
        if pts:
            done.append(dst.name)
        new += pts
    warnings += _endpoint_caveat(profile, src_name, done)
    warnings += _host_work_caveat(profile, src_name, done, opts)
    keep = [m for m in profile.measurements
        if not (m.source == "estimated" and m.accelerator in done)]
    notes = list(profile.metadata.notes)
    if done:
        how = src_name or ("CPU points and counted FLOPs (transfer from CPU: low confidence; fixed "
            "overhead, efficiency ramp and PCIe inputs modelled)")
        notes.append(f"estimated {', '.join(done)} from {how} (roofline; see each point's "
            "estimate.basis)")
    meta = profile.metadata.model_copy(update={"notes": tuple(notes), "flops_per_sample": flops,
        "weights_gib": weights})
    if not new and not keep:
        raise ProfileError(None, message="no point could be estimated", hint="; ".join(warnings))
    return EstimateResult(profile=Profile(metadata=meta, measurements=sorted_measurements([*keep, *new])), warnings=warnings)
