"""Estimate points for accelerators you do not have: a roofline transfer from measured points.

**From a GPU point.** The source's batch sweep calibrates a two-term roofline,
``t(b) ~ memory floor + b x per-sample compute``: the memory floor ``tm`` is the smallest
measured batch latency (weights stream through memory once per batch), the per-sample compute
time ``tc`` is the smallest ``latency / batch`` (the most efficient, compute-bound end). At
batch ``b`` the compute share is ``f = b*tc / (b*tc + tm)``: under 0.4 the point is
memory-bound, over 0.6 compute-bound, else mixed. Latency transfers as
``t' = t x ((1-f) x BW_src/BW_dst + f x PEAK_src/PEAK_dst)`` with bandwidth and dense tensor
peak (FP16, BF16 or INT8 by the profile's dtype) from the catalog. LLM TTFT (prefill) scales by
compute, TPOT (decode) by bandwidth.

**From CPU points only.** CPU and GPU efficiencies differ too much for a ratio, so the
transfer needs the model's FLOPs per sample (counted by the profiler for torch models, or
``--flops-per-sample``) and weights size: ``t(b) = max(b x FLOPs / (0.35 x PEAK),
weights / (0.6 x BW)) + 0.05 ms``, with a wide band (0.5x-3x). Without FLOPs it refuses.

Every estimated point says ``source: estimated`` and carries ``estimate: {basis, bound, low,
high}`` (``low``/``high`` multiply the latency: the uncertainty band).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from scaleplan.catalog.model import Accelerator, Catalog
from scaleplan.errors import InputError, Problem, ProfileError
from scaleplan.profile.build import sorted_measurements
from scaleplan.profile.model import Estimate, Measurement, Percentiles, Profile
from scaleplan.profile.stats import round_sig

BANDS = {"memory": (0.8, 1.35), "compute": (0.7, 1.5), "mixed": (0.7, 1.5), "unknown": (0.6, 1.8)}
CPU_BAND = (0.5, 3.0)
CPU_COMPUTE_EFF = 0.35
CPU_BW_EFF = 0.6
GPU_OVERHEAD_MS = 0.05


@dataclass
class EstimateResult:
    profile: Profile
    warnings: list[str] = field(default_factory=list)


def _peak(acc: Accelerator, dtype: str | None) -> tuple[float | None, str]:
    d = (dtype or "").lower()
    if d in ("int8", "uint8") and acc.int8_tops:
        return acc.int8_tops, "INT8"
    if d == "bfloat16" and (acc.bf16_tflops or acc.fp16_tflops):
        return acc.bf16_tflops or acc.fp16_tflops, "BF16"
    return acc.fp16_tflops, "FP16"


def _scale(p: Percentiles | None, s: float) -> Percentiles | None:
    if p is None:
        return None
    return Percentiles(p50=round_sig(p.p50 * s), p90=round_sig(p.p90 * s), p95=round_sig(p.p95 * s), p99=round_sig(p.p99 * s), mean=round_sig(p.mean * s) if p.mean is not None else None)


def _bound(f: float) -> str:
    return "memory" if f < 0.4 else "compute" if f > 0.6 else "mixed"


def _from_gpu(points: list[Measurement], src: Accelerator, dst: Accelerator, dtype: str | None, warnings: list[str]) -> list[Measurement]:
    bw_s, bw_d = src.memory_bandwidth_gbs, dst.memory_bandwidth_gbs
    pk_s, label = _peak(src, dtype)
    pk_d, _ = _peak(dst, dtype)
    if bw_s is None or bw_d is None:
        warnings.append(f"{dst.name}: no memory bandwidth for {src.name if bw_s is None else dst.name} in the catalog; not estimated")
        return []
    compute_known = pk_s is not None and pk_d is not None
    proxy = (dtype or "float32") not in ("float16", "bfloat16", "int8", "uint8")
    tm = min(p.latency_ms.p50 for p in points)
    tc = min(p.latency_ms.p50 / p.batch_size for p in points)
    out: list[Measurement] = []
    for p in sorted(points, key=lambda m: m.batch_size):
        c = p.batch_size * tc
        f = c / (c + tm) if c + tm > 0 else 0.5
        bound = _bound(f)
        r_mem = bw_s / bw_d
        if compute_known:
            assert pk_s is not None and pk_d is not None
            r_cmp = pk_s / pk_d
            how = f"bandwidth {bw_s:g}->{bw_d:g} GB/s, {label} peak {pk_s:g}->{pk_d:g} TFLOPS"
        else:
            r_cmp = r_mem
            how = f"bandwidth {bw_s:g}->{bw_d:g} GB/s (no {label} peak for {src.name if pk_s is None else dst.name} in the catalog: bandwidth ratio used for compute too)"
        s = (1 - f) * r_mem + f * r_cmp
        low, high = BANDS[bound] if compute_known and not proxy else BANDS["unknown"]
        if proxy and compute_known:
            how += f"; {dtype or 'float32'} compute approximated by the {label} tensor peak ratio"
        if p.peak_memory_gib is not None and p.peak_memory_gib > dst.memory_gib:
            warnings.append(f"{dst.name}: batch {p.batch_size} needs {p.peak_memory_gib:.3g} GiB, more than its {dst.memory_gib:g} GiB; left out")
            continue
        basis = f"roofline from {src.name} batch {p.batch_size} ({p.source} on {p.device}): {bound}-bound (compute share {f:.2f}); {how}; latency x{s:.3g}"
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


def _from_cpu(points: list[Measurement], dst: Accelerator, flops: float, weights_gib: float | None, dtype: str | None, warnings: list[str]) -> list[Measurement]:
    pk, label = _peak(dst, dtype)
    bw = dst.memory_bandwidth_gbs
    if pk is None or bw is None:
        warnings.append(f"{dst.name}: needs both {label} peak and memory bandwidth in the catalog to transfer CPU points; not estimated")
        return []
    wbytes = (weights_gib or 0.0) * 2**30
    out: list[Measurement] = []
    for p in sorted(points, key=lambda m: m.batch_size):
        t_c = p.batch_size * flops / (CPU_COMPUTE_EFF * pk * 1e12) * 1000.0
        t_m = wbytes / (CPU_BW_EFF * bw * 1e9) * 1000.0
        t = max(t_c, t_m) + GPU_OVERHEAD_MS
        f = t_c / (t_c + t_m) if t_c + t_m > 0 else 1.0
        bound = _bound(f)
        s = t / p.latency_ms.p50
        basis = (
            f"from CPU batch {p.batch_size} by counted FLOPs: {flops:.4g} FLOP/sample at {CPU_COMPUTE_EFF:.0%} of {pk:g} {label} TFLOPS, "
            f"weights {weights_gib or 0:.3g} GiB at {CPU_BW_EFF:.0%} of {bw:g} GB/s, +{GPU_OVERHEAD_MS} ms; CPU latency shape kept"
        )
        lat = _scale(p.latency_ms, s)
        assert lat is not None
        out.append(
            Measurement(
                device="estimate",
                accelerator=dst.name,
                batch_size=p.batch_size,
                latency_ms=lat,
                throughput_rps=round_sig(p.batch_size / (t / 1000.0)),
                peak_memory_gib=round_sig(weights_gib * 1.2, 4) if weights_gib else None,
                source="estimated",
                gpus=p.gpus,
                request_class=p.request_class,
                estimate=Estimate(basis=basis, bound=bound, low=CPU_BAND[0], high=CPU_BAND[1]),
            )
        )
    return out


def estimate_profile(profile: Profile, targets: list[str], catalog: Catalog, *, flops_per_sample: float | None = None) -> EstimateResult:
    """The input profile plus estimated points for each target accelerator (pure)."""
    if not targets:
        raise InputError(None, [Problem("--accelerators", "no accelerator given", hint="e.g. --accelerators L4,A10G,H100")])
    warnings: list[str] = []
    resolved: list[Accelerator] = []
    problems: list[Problem] = []
    for name in targets:
        canonical = catalog.resolve(name)
        acc = catalog.accelerator(name) if canonical and canonical != "CPU" else None
        if acc is None:
            hint = "estimates are for accelerators; measure the CPU instead" if canonical == "CPU" else "use a name from `scaleplan catalog accelerators`"
            problems.append(Problem("--accelerators", f"unknown accelerator {name!r}", hint=hint))
        else:
            resolved.append(acc)
    if problems:
        raise InputError(None, problems)
    basis_pts = [m for m in profile.measurements if m.source in ("measured", "imported")]
    gpu_groups: dict[str, list[Measurement]] = defaultdict(list)
    for m in basis_pts:
        if m.accelerator != "CPU" and catalog.accelerator(m.accelerator) is not None:
            gpu_groups[m.accelerator].append(m)
    cpu_pts = [m for m in basis_pts if m.accelerator == "CPU"]
    flops = flops_per_sample or profile.metadata.flops_per_sample
    if not gpu_groups and not cpu_pts:
        raise ProfileError(None, message="the profile has no measured point on a known accelerator or the CPU to estimate from", hint="profile the model on a GPU or the CPU first (scaleplan profile TARGET)")
    if not gpu_groups and flops is None:
        raise ProfileError(None, message="the profile has only CPU points and no FLOPs per sample: a CPU-to-GPU transfer needs the model's FLOPs", hint="profile on a GPU (one GPU point calibrates the roofline), profile a torch model (FLOPs are counted), or pass --flops-per-sample")
    src_name = sorted(gpu_groups, key=lambda a: (-len(gpu_groups[a]), a))[0] if gpu_groups else None
    new: list[Measurement] = []
    done: list[str] = []
    for dst in resolved:
        if any(m.accelerator == dst.name and m.source in ("measured", "imported") for m in profile.measurements):
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
                pts += _from_gpu(groups[key], src, dst, profile.metadata.dtype, warnings)
        else:
            assert flops is not None
            pts = _from_cpu(cpu_pts, dst, flops, profile.metadata.weights_gib, profile.metadata.dtype, warnings)
        if pts:
            done.append(dst.name)
        new += pts
    keep = [m for m in profile.measurements if not (m.source == "estimated" and m.accelerator in done)]
    notes = list(profile.metadata.notes)
    if done:
        notes.append(f"estimated {', '.join(done)} from {src_name or 'CPU points and counted FLOPs'} (roofline; see each point's estimate.basis)")
    meta = profile.metadata.model_copy(update={"notes": tuple(notes), "flops_per_sample": flops})
    if not new and not keep:
        raise ProfileError(None, message="no point could be estimated", hint="; ".join(warnings))
    return EstimateResult(profile=Profile(metadata=meta, measurements=sorted_measurements([*keep, *new])), warnings=warnings)
