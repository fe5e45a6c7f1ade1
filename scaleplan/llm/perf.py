"""LLM performance: the time of one engine step, and TTFT / TPOT / throughput per request class.

One engine step (continuous batching, chunked prefill) runs ``prefill_tokens`` of prompts and
one token for each of ``decode_seqs`` running sequences. Its time on each GPU of a TP group:

    t_step = max(t_gemm_compute, t_weights) + max(t_attn_compute, t_kv) + t_allreduce + t_overhead

    t_gemm_compute = [2 · (N_active + N_routed (1/e_moe - 1)) · (P + D) + 2 · V·h · (D + prefill_seqs)]
                     / TP / (peak(dtype) · e_c)
    t_weights      = weights read (MoE: experts the step's tokens touch) / TP / (bandwidth · e_m)
    t_attn_compute = 4 · L · a · pairs / TP / (peak(16-bit) · e_c)
    t_kv           = [KV read (decode contexts) + KV written (prompt)] per GPU / (bandwidth · e_m)
    t_allreduce = 2 · L · all-reduce of (P + D) · h · 2 bytes among TP ranks (Hardware.allreduce_s)
    t_overhead  = fixed per step (engine, layers) + per-sequence host cost · (D + prefill_seqs)

where pairs = attention (query, key) pairs of the step: the decode sequences' contexts plus
each prompt chunk's causal triangle. ``e_compute``, ``e_memory`` and ``t_overhead`` are the
efficiency factors: one per architecture generation times one per engine (tables below), times
the calibration's scales when measured points were given. No factor is per accelerator.

A request class (input I, output O tokens) at concurrency N in steady state: each step carries
N decoding sequences and N·I/O prompt tokens (every sequence's prompt spread over the O steps
of its generation; more when the step budget forces extra steps), so
TPOT = t_step · steps/O; TTFT = the steps of the own prompt's chunks plus half a step of
waiting, the arrival-clustering wait and the request's path outside the engine; throughput = N / (TTFT + (O-1)·TPOT) requests/s (Little's law over the N slots).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

from scaleplan.catalog.peaks import proxy_band
from scaleplan.llm.arch import Architecture
from scaleplan.llm.hardware import Hardware
from scaleplan.llm.memory import (
    BYTES_PER_PARAM,
    ENGINES,
    EngineSettings,
    MemoryPlan,
    attention_bytes_per_param,
    kv_bytes_per_token_per_gpu,
)

# Efficiency factors per architecture generation: (compute = fraction of the dense tensor
# peak reached by a large GEMM step, memory = fraction of peak HBM bandwidth reached by a
# decode step). Set from vendor GEMM / STREAM-like figures and tuned on the *training* third
# of shared/data/llm (bench/llm_validation.py); docs/llm.md lists them.
GENERATION_EFFICIENCY: dict[str, tuple[float, float]] = {
    "volta": (0.55, 0.75),
    "turing": (0.50, 0.70),
    "ampere": (0.60, 0.80),
    "ada": (0.55, 0.80),
    "hopper": (0.55, 0.80),
    "blackwell": (0.45, 0.75),
}
# Per engine: (compute scale, memory scale, fixed overhead per scheduler step in ms for a
# 32-layer dense model; it scales with the layers, x1.5 for MoE layers).
REFERENCE_LAYERS = 32
MOE_KERNELS = 1.5
ENGINE_EFFICIENCY: dict[str, tuple[float, float, float]] = {
    "vllm": (1.0, 1.0, 1.5),
    "sglang": (1.0, 1.0, 1.2),
    "tgi": (0.9, 0.95, 2.0),
    "trtllm": (1.05, 1.05, 0.6),
}
# Per engine: host time per sequence in a step, µs (scheduling, sampling, detokenizing and
# streaming a token; grows with the batch), x the fitted overhead factor and the calibration's
# per_sequence scale (None: its overhead scale, one scale for both as calibrate fits them).
PER_SEQUENCE_US: dict[str, float] = {"vllm": 20.0, "sglang": 20.0, "tgi": 20.0, "trtllm": 20.0}
# Scales per (generation, engine) on the two tables above, fitted by
# `python bench/llm_validation.py --fit` on the TRAINING two thirds of shared/data/llm only
# (held-out rows never seen); (compute, memory, per-step overhead). Missing pairs: 1.0, also
# pairs with fewer than 10 training rows (the bench's MIN_FIT_ROWS: Ampere x SGLang has 2).
# Refitted 2026-12-07 with the all-reduce at NCCL's rate, each scale kept at its value before
# unless the training rows' 95 % profile-likelihood interval excludes it (the bench's refit;
# docs/llm.md, Efficiency factors): moved are Blackwell x TRT-LLM / vLLM compute and overhead
# and Hopper x vLLM overhead. Row counts: the deduplicated training rows.
FITTED_SCALES: dict[tuple[str, str], tuple[float, float, float]] = {  # FIT-BEGIN
    ("ada", "trtllm"): (1.228, 0.855, 0.210),  # 32 training rows
    ("ampere", "trtllm"): (1.535, 0.745, 1.190),  # 54 training rows
    ("ampere", "vllm"): (2.274, 1.228, 4.760),  # 20 training rows
    ("blackwell", "sglang"): (0.294, 1.228, 1.680),  # 53 training rows
    ("blackwell", "trtllm"): (1.455, 0.684, 1.188),  # 215 training rows
    ("blackwell", "vllm"): (1.455, 1.068, 0.840),  # 79 training rows
    ("hopper", "sglang"): (0.786, 1.228, 1.680),  # 48 training rows
    ("hopper", "trtllm"): (1.335, 0.684, 0.273),  # 327 training rows
    ("hopper", "vllm"): (2.086, 0.684, 1.297),  # 91 training rows
}
# Low-precision matmuls reach a smaller share of their (doubled) peak than 16-bit ones.
DTYPE_COMPUTE_SCALE = {"fp8": 0.8, "nvfp4": 0.6, "mxfp4": 0.6, "int4-awq": 0.8, "int4-gptq": 0.8, "int8": 0.9}
MIN_COMPUTE, MAX_COMPUTE = 0.10, 0.90
MIN_MEMORY, MAX_MEMORY = 0.55, 0.92
# Per engine: a request's own path outside the engine's steps, in ms, added once to its TTFT
# (the HTTP request, tokenizing the prompt, admission, detokenizing and streaming the first
# token); chosen per engine on the training rows (docs/llm.md): TensorRT-LLM's front ends
# (trtllm-serve, Triton's C++ server) 15 ms, vLLM's API server 20 ms, SGLang's 25 ms (its
# tokenizer and detokenizer run as separate processes: two more hops), TGI 25 ms (no rows).
REQUEST_OVERHEAD_MS: dict[str, float] = {"vllm": 20.0, "sglang": 25.0, "tgi": 25.0, "trtllm": 15.0}
# Routed-expert GEMMs (grouped, a few tokens per expert, with token permutation) reach this
# fraction of a dense GEMM's efficiency; chosen on the training rows (docs/llm.md).
MOE_GEMM_EFFICIENCY = 0.5
# Routed experts a decode step reads: the tokens of one step do not pick experts uniformly at
# random (top-k routing is skewed: some experts are hot for the batch at hand, which is why
# serving stacks balance expert load, e.g. DeepSeek's EPLB replicates heavy experts). Modelled
# as Zipf popularity p_i ~ i^-s over a layer's experts (each token's k picks at probability
# min(1, k p_i), the excess of hot experts spread over the others); the expected distinct
# experts of n tokens is sum_i 1 - (1 - q_i)^n. s = 0 is uniform routing, E (1 - (1 - k/E)^n).
# One token still reads k experts and a prefill of thousands nearly all; in between, fewer.
# Chosen on the training rows of both validation benches (0, 0.5-0.6, 0.8, 1.0, 1.2-1.3 tried;
# docs/llm.md "MoE decode: skewed expert routing"): the simulator's TensorRT-LLM MoE TPOT grew
# 21-35 % too fast with the batch under uniform routing while its dense TPOT was right.
ROUTING_SKEW = 1.0
# Per engine: weight of the arrival-clustering wait in a closed loop's TTFT (0 = independent
# arrivals). How long prompts that arrive together stay together depends on the scheduler:
# vLLM (V1) schedules the running decodes first and fills the rest of the step budget with
# waiting prompts, so a cohort's prompts spread over decode steps; TensorRT-LLM schedules
# whole contexts (chunked context off by default) into its in-flight batches; SGLang runs
# all waiting prompts as one prefill batch with the decodes paused (mixed chunks off by
# default), so cohorts that finish together are prefilled together again (cohort_wait: only
# as many as fit one prefill pass's budget). Chosen on the training rows (docs/llm.md).
CLUSTERING: dict[str, float] = {"vllm": 1.5, "tgi": 2.0, "trtllm": 2.0, "sglang": 3.0}
# The share of it kept where the client draws each request's lengths (InferenceX: [0.8 L, L]):
DRAWN_CLUSTERING = 0.8  # cohorts finish apart (docs/llm.md, "Cohorts with drawn lengths")
ACT_BYTES = 2  # activations and all-reduce payloads are 16-bit

# Uncertainty band on latency (low, high factors) by basis; docs/benchmarks.md shows what
# the validation set supports.
# (measured / predicted at the 5th and 95th percentile of the training rows; TPOT and
# throughput share one band, TTFT, whose queueing the model captures least, has its own).
# The calibrated TPOT / throughput band is the training rows' 2.5th-97.5th percentile: their
# 5th-95th (0.54-1.82) held 86 % of the held-out TPOT values, under the 90 % it must hold.
BAND_ARCHITECTURE = (0.54, 2.0)
TTFT_BAND_ARCHITECTURE = (0.5, 3.95)
BAND_CALIBRATED = (0.5, 2.04)
TTFT_BAND_CALIBRATED = (0.39, 2.52)


@dataclass(frozen=True)
class Efficiency:
    compute: float
    memory: float
    overhead_ms: float
    basis: str
    per_sequence_ms: float = 0.0


@dataclass(frozen=True)
class Calibration:
    """Scales on the efficiency factors, fitted from measured points (:mod:`scaleplan.llm.calibrate`)."""

    compute: float = 1.0
    memory: float = 1.0
    overhead: float = 1.0
    basis: str = ""
    points: int = 0
    band: tuple[float, float] = BAND_ARCHITECTURE
    ttft_band: tuple[float, float] = TTFT_BAND_ARCHITECTURE
    per_sequence: float | None = None  # on PER_SEQUENCE_US (its comment)

    @property
    def calibrated(self) -> bool:
        return self.points > 0


NO_CALIBRATION = Calibration()


def efficiency(hw: Hardware, engine: str, dtype: str, cal: Calibration = NO_CALIBRATION) -> Efficiency:
    gc, gm = GENERATION_EFFICIENCY[hw.generation]
    ec, em, eo = ENGINE_EFFICIENCY[engine]
    fc, fm, fo = FITTED_SCALES.get((hw.generation, engine), (1.0, 1.0, 1.0))
    # physical limits: decode kernels reach 55-92 % of HBM peak, GEMMs 10-90 % of tensor peak
    c = min(MAX_COMPUTE, max(MIN_COMPUTE, gc * ec * fc * DTYPE_COMPUTE_SCALE.get(dtype, 1.0) * cal.compute))
    m = min(MAX_MEMORY, max(MIN_MEMORY, gm * em * fm * cal.memory))
    basis = f"{hw.generation} x {engine} efficiency"
    if hw.peak_proxy:
        basis += f"; {hw.peak_proxy}"
    if cal.calibrated:
        basis += f", calibrated on {cal.basis}"
    per_seq = PER_SEQUENCE_US[engine] / 1000.0 * fo * (cal.per_sequence or cal.overhead)
    return Efficiency(compute=c, memory=m, overhead_ms=eo * fo * cal.overhead, basis=basis, per_sequence_ms=per_seq)


@dataclass(frozen=True)
class Deployment:
    """One replica's configuration: what the per-step and per-class functions need."""

    arch: Architecture
    hw: Hardware
    dtype: str
    kv_dtype: str
    settings: EngineSettings
    tp: int = 1
    pp: int = 1
    calibration: Calibration = field(default=NO_CALIBRATION)

    @property
    def gpus(self) -> int:
        return self.tp * self.pp

    def with_calibration(self, cal: Calibration) -> Deployment:
        return replace(self, calibration=cal)

    @functools.cached_property
    def efficiency(self) -> Efficiency:
        """:func:`efficiency` of this deployment, derived once (every step needs it)."""
        return efficiency(self.hw, self.settings.engine, self.dtype, self.calibration)

    @functools.cached_property
    def kv_bytes_per_token(self) -> float:
        """KV bytes per token of the whole model on one TP rank (all PP stages), once."""
        return kv_bytes_per_token_per_gpu(self.arch, self.kv_dtype, self.tp, self.pp) * self.pp


@dataclass(frozen=True)
class StepTime:
    ms: float
    compute_ms: float
    memory_ms: float
    allreduce_ms: float
    overhead_ms: float

    @property
    def bound(self) -> str:
        return "compute" if self.compute_ms >= self.memory_ms else "memory"


@functools.lru_cache(maxsize=64)
def _pick_probabilities(experts: int, k: int, skew: float) -> tuple[float, ...]:
    """Per-token probability that each expert is among a token's ``k`` picks under Zipf
    popularity of exponent ``skew`` (:data:`ROUTING_SKEW`), capped at 1 with the excess of the
    hot experts spread over the rest in proportion (they sum to ``k``)."""
    w = [(i + 1) ** -skew for i in range(experts)]
    total = sum(w)
    q = [k * x / total for x in w]
    for _ in range(experts):
        excess = sum(x - 1.0 for x in q if x > 1.0)
        if excess <= 1e-12:
            break
        free = sum(x for x in q if x < 1.0)
        q = [1.0 if x >= 1.0 else x + excess * x / free for x in q]
    return tuple(q)


def touched_experts(experts: int, k: int, tokens: float) -> float:
    """Expected distinct routed experts of one MoE layer that ``tokens`` tokens touch with top-``k``
    routing (:data:`ROUTING_SKEW`; uniform routing gives E (1 - (1 - k/E)^n))."""
    n = max(tokens, 1.0)
    if ROUTING_SKEW <= 0.0:
        return float(experts * (1.0 - (1.0 - k / experts) ** n))
    return _touched(experts, k, n, ROUTING_SKEW)


@functools.lru_cache(maxsize=8192)
def _touched(experts: int, k: int, n: float, skew: float) -> float:
    return float(sum(1.0 - (1.0 - q) ** n for q in _pick_probabilities(experts, k, skew)))


def _weights_read_bytes(arch: Architecture, dtype: str, tokens: float) -> float:
    """Weight bytes one step reads: all dense weights, the LM head, and for MoE the experts its
    ``tokens`` touch (expected distinct experts of skewed top-k routing, see
    :func:`touched_experts`)."""
    bpp = BYTES_PER_PARAM[dtype]
    attn_bpp = attention_bytes_per_param(dtype)
    b = arch.attention_params * attn_bpp + arch.vocab_size * arch.hidden_size * 2.0
    if arch.is_moe:
        touched = touched_experts(arch.num_experts, arch.experts_per_token, tokens)
        b += arch.dense_layers * arch.dense_ffn_params_per_layer * bpp
        b += arch.moe_layers * (touched + arch.shared_experts) * arch.expert_params * bpp
    else:
        b += arch.ffn_params * bpp
    return b


def step_time_ms(
    d: Deployment,
    *,
    prefill_tokens: float = 0.0,
    prefill_seqs: float = 0.0,
    prefill_pairs: float | None = None,
    decode_seqs: float = 0.0,
    context_tokens_total: float = 0.0,
) -> StepTime:
    """Time (ms) of one engine step on deployment ``d``.

    ``prefill_tokens`` prompt tokens from ``prefill_seqs`` sequences; ``prefill_pairs`` their
    attention (query, key) pairs (default: each chunk a whole prompt from scratch, P²/2 per
    sequence); ``decode_seqs`` sequences generating one token each over
    ``context_tokens_total`` tokens of context in all. Fractional values are allowed (steady
    state averages).
    """
    p, dseq = max(prefill_tokens, 0.0), max(decode_seqs, 0.0)
    pseqs = prefill_seqs if prefill_seqs > 0 else (1.0 if p > 0 else 0.0)
    pairs = prefill_pairs if prefill_pairs is not None else (p * p / (2.0 * pseqs) if pseqs else 0.0)
    micro = micro_batches(d, dseq + pseqs)
    if micro > 1.0:
        # PP: the engine keeps up to PP micro-batches in flight, one per stage; a step (every
        # sequence one token further) lasts as long as one micro-batch's pass through all
        # stages, the others overlapping it (docs/llm.md, "Pipeline parallel")
        one = _serial_step(
            d, p / micro, pseqs / micro, pairs / micro, dseq / micro, context_tokens_total / micro
        )
        # the host's per-sequence work is for every sequence of the step
        host = d.efficiency.per_sequence_ms * (dseq + pseqs) * (1.0 - 1.0 / micro)
        return replace(one, ms=one.ms + host, overhead_ms=one.overhead_ms + host)
    return _serial_step(d, p, pseqs, pairs, dseq, context_tokens_total)


def micro_batches(d: Deployment, sequences: float) -> float:
    """Micro-batches in flight in one step: one per pipeline stage, at most one per sequence."""
    return max(1.0, min(float(d.pp), sequences))


def _serial_step(
    d: Deployment,
    p: float,
    pseqs: float,
    pairs: float,
    dseq: float,
    context_tokens_total: float,
) -> StepTime:
    """One batch through every layer (all PP stages one after another)."""
    arch, hw, eff = d.arch, d.hw, d.efficiency  # derived once per deployment (it runs per step)
    tokens = p + dseq
    if tokens <= 0:
        return StepTime(0.0, 0.0, 0.0, 0.0, 0.0)
    attn_layers = arch.full_attention_layers + (arch.sliding_layers if not arch.sliding_window else 0)
    decode_pairs = context_tokens_total
    if arch.sliding_layers and arch.sliding_window and dseq > 0:
        avg = context_tokens_total / dseq
        frac = arch.sliding_layers / arch.num_layers
        decode_pairs = dseq * ((1 - frac) * avg + frac * min(avg, arch.sliding_window))
        attn_layers = arch.num_layers
    # GEMMs (weights) and attention (KV cache) are separate kernels: each is bound by its own
    # roofline, and their times add up
    routed = float(arch.moe_layers * arch.experts_per_token * arch.expert_params)
    gemm_flops = 2.0 * (arch.linear_params + routed * (1.0 / MOE_GEMM_EFFICIENCY - 1.0)) * tokens + 2.0 * arch.vocab_size * arch.hidden_size * (dseq + pseqs)
    attn_flops = 4.0 * attn_layers * arch.attention_dim() * (pairs + decode_pairs)
    peak = hw.compute_peak_tflops(d.dtype) * 1e12
    attn_peak = hw.compute_peak_tflops("fp16") * 1e12
    gpus = d.tp * d.pp
    bw = hw.bandwidth_gbs * 1e9 * eff.memory
    # PP stages run one after another: a step's latency is all layers' work on one rank's share
    gemm_c = gemm_flops / gpus * d.pp / (peak * eff.compute)
    gemm_m = _weights_read_bytes(arch, d.dtype, tokens) / d.tp / bw
    attn_c = attn_flops / gpus * d.pp / (attn_peak * eff.compute)
    attn_m = d.kv_bytes_per_token * (decode_pairs + p) / bw
    compute_s = gemm_c + attn_c
    memory_s = gemm_m + attn_m
    # two all-reduces a layer (attention, FFN) and one hop per stage boundary (hardware.py)
    ar_s = 2 * arch.num_layers * hw.allreduce_s(d.tp, gpus, tokens * arch.hidden_size * ACT_BYTES)
    if d.pp > 1:
        ar_s += (d.pp - 1) * hw.send_s(gpus, tokens * arch.hidden_size * ACT_BYTES)
    # fixed cost per step: scheduling, sampling and the kernels' minimum durations, which grow
    # with the layers (an MoE layer runs more kernels)
    overhead = eff.overhead_ms * arch.num_layers / REFERENCE_LAYERS * (MOE_KERNELS if arch.is_moe else 1.0)
    overhead += eff.per_sequence_ms * (dseq + pseqs)
    ms = (max(gemm_c, gemm_m) + max(attn_c, attn_m) + ar_s) * 1000.0 + overhead
    return StepTime(ms=ms, compute_ms=compute_s * 1000.0, memory_ms=memory_s * 1000.0, allreduce_ms=ar_s * 1000.0, overhead_ms=overhead)


@dataclass(frozen=True)
class ClassPerf:
    """Predicted mean TTFT / TPOT and throughput of one request class at one concurrency."""

    concurrency: int
    ttft_ms: float
    tpot_ms: float
    throughput_rps: float
    output_tokens_per_s: float
    bound: str
    band: tuple[float, float]
    basis: str
    output_tokens: int = 1
    ttft_band: tuple[float, float] = TTFT_BAND_ARCHITECTURE
    # serve_class(prompts=...): (prompt tokens, mean TTFT of such a prompt in the same steps)
    prompt_ttft: tuple[tuple[int, float], ...] = ()
    # a class with a length spread (llm.serving.predict): per percentile, the prompt and
    # completion at that percentile's length and the prompt's mean TTFT
    tail: tuple[tuple[int, int, int, float], ...] = ()
    # and per percentile its joint (TTFT, end-to-end) quantile: what the SLO is tested at
    joint: tuple[tuple[int, float, float], ...] = ()

    @property
    def e2e_ms(self) -> float:
        return self.ttft_ms + self.tpot_ms * (self.output_tokens - 1)

    def ttft_at(self, percentile: int) -> float:
        """Mean TTFT of the class's prompt at ``percentile``'s length (without a spread, of
        every prompt: ``ttft_ms``); the SLO is tested at its joint percentile (llm.serving)."""
        return next((t for p, _, _, t in self.tail if p == percentile), self.ttft_ms)

    def output_at(self, percentile: int) -> int:
        """The completion at ``percentile``'s length (without a spread, ``output_tokens``)."""
        return next((o for p, _, o, _ in self.tail if p == percentile), self.output_tokens)

    @classmethod
    def of(
        cls, d: Deployment, *, concurrency: int, output_tokens: int, ttft_ms: float,
        tpot_ms: float, throughput_rps: float, bound: str, basis: str,
    ) -> ClassPerf:
        """A prediction on deployment ``d``: output tokens/s from the request rate, the
        uncertainty bands from ``d``'s calibration."""
        return cls(
            concurrency=concurrency,
            ttft_ms=ttft_ms,
            tpot_ms=tpot_ms,
            throughput_rps=throughput_rps,
            output_tokens_per_s=throughput_rps * output_tokens,
            bound=bound,
            band=d.calibration.band,
            basis=basis,
            output_tokens=output_tokens,
            ttft_band=ttft_band(d),
        )


def ttft_band(d: Deployment) -> tuple[float, float]:
    """The TTFT band of a prediction on ``d``: its calibration's, widened when the 16-bit peak
    (which prefill runs at) is a proxy (:func:`scaleplan.catalog.peaks.proxy_band`). TPOT and
    throughput keep theirs: decode reads memory, whose bandwidth is published."""
    band = d.calibration.ttft_band
    return proxy_band(band, d.hw.name) if d.hw.peak_proxy else band


def serve_class(
    d: Deployment, input_tokens: int, output_tokens: int, concurrency: int, *,
    open_loop: bool = False, prompts: tuple[int, ...] = (), drawn: bool = False,
) -> ClassPerf:
    """Steady-state continuous batching of one class at ``concurrency`` sequences in flight
    (independent arrivals: each step carries every running sequence's decode and its share of
    the prompts). ``open_loop``: arrivals at a rate (Poisson), which do not cluster the way a
    closed loop's or a queue's do (requests that end together are replaced together).
    ``prompts``: other prompt lengths whose TTFT in the same steps (the class's mean load)
    ``prompt_ttft`` gives: a class's long prompts (traffic.classes[].lengths)."""
    n, i, o = max(concurrency, 1), max(input_tokens, 1), max(output_tokens, 1)
    budget = max(d.settings.max_num_batched_tokens, 1)
    ctx = i + o / 2.0
    # steps per generation cycle: O decode steps, or more when the prompts overflow the budget
    steps = max(float(o), n * i / budget) if o > 1 else max(1.0, n * i / budget)
    bg_prefill = n * i / steps
    decode = n * min(o, steps) / steps if o > 1 else 0.0
    st = step_time_ms(d, prefill_tokens=bg_prefill, prefill_seqs=n / steps, prefill_pairs=(n / steps) * i * i / 2.0, decode_seqs=decode, context_tokens_total=decode * ctx)
    # prompts arrive whole: the mean step over the Poisson count of the other sequences' prompts
    # (its own prompt is not in its decode steps; while the budget holds them)
    step_ms = st.ms
    if steps == float(o) > 1:
        step_ms = _decode_step_ms(d, st.ms, (n - 1) / steps, i, decode, ctx)
    tpot = step_ms * steps / o if o > 1 else st.ms
    # TTFT: the own prompt in budget-sized chunks, sharing each step with N-1 decoders and the
    # other sequences' prompt share that fits; plus half a step waiting for the running one
    mean_chunk = i / math.ceil(i / budget)
    others = max(n - 1, 0)

    def first_token(own: int) -> float:
        chunks = math.ceil(own / budget)
        chunk = own / chunks
        other_prefill = min(max(bg_prefill - mean_chunk / max(steps / n, 1.0), 0.0), max(budget - chunk, 0.0)) if others else 0.0
        ttft = 0.0
        for c in range(chunks):
            done = c * chunk
            pairs = chunk * done + chunk * chunk / 2.0
            t = step_time_ms(d, prefill_tokens=chunk + other_prefill, prefill_seqs=1.0 + (other_prefill / i), prefill_pairs=pairs + other_prefill * i / 2.0, decode_seqs=min(decode, others), context_tokens_total=min(decode, others) * ctx)
            ttft += t.ms
        if others:
            # the running step's half; a scheduler that polls for new requests only every K
            # decode steps while busy (SGLang --scheduler-recv-interval) takes it K/2 steps later
            ttft += 0.5 * max(d.settings.recv_interval, 1) * step_ms
        if others and not open_loop:
            # arrivals cluster: requests that finish in the same step come back together, so a
            # prompt waits for about (sqrt(N) - 1) / 2 others' prefills, weighted by how the
            # engine's scheduler keeps such cohorts together (CLUSTERING; docs/llm.md)
            alone = sum(step_time_ms(d, prefill_tokens=chunk, prefill_pairs=chunk * (c * chunk) + chunk * chunk / 2.0).ms for c in range(chunks))
            ttft += CLUSTERING[d.settings.engine] * (DRAWN_CLUSTERING if drawn else 1.0) * cohort_wait(n, i, budget, d.settings.engine) * alone
        return ttft

    ttft = first_token(i)
    more = [first_token(max(p, 1)) for p in prompts]
    held = 0.0
    if others and d.settings.batch_wait_iters > 0:
        held = held_back_ms(d.settings.batch_wait_iters * step_ms, n / (ttft + (o - 1) * tpot))
        ttft += held
    ttft += REQUEST_OVERHEAD_MS[d.settings.engine]
    extra = REQUEST_OVERHEAD_MS[d.settings.engine] + held  # every TTFT's, past its first token
    prompt_ttft = tuple((p, t + extra) for p, t in zip(prompts, more, strict=True))
    cycle_ms = ttft + (o - 1) * tpot
    rps = n / (cycle_ms / 1000.0)
    perf = ClassPerf.of(
        d, concurrency=n, output_tokens=o, ttft_ms=ttft, tpot_ms=tpot, throughput_rps=rps,
        bound=st.bound, basis=d.efficiency.basis,
    )
    return replace(perf, prompt_ttft=prompt_ttft) if prompts else perf


# prompts a step beyond which the count is taken at its mean (its spread is under 10 %)
MANY_PROMPTS = 100.0


def _decode_step_ms(
    d: Deployment, at_mean_ms: float, prompts: float, i: int, decode: float, ctx: float
) -> float:
    """Mean decode step (ms) of a sequence whose steps carry ``prompts`` of the other
    sequences' prompts of ``i`` tokens on average (none: a lone sequence decodes alone).

    Prompts arrive whole (independent arrivals: a Poisson count k a step), not as an even
    share of every step. The step time is not linear in its tokens (dense GEMMs: max(compute,
    weights read), convex; an MoE step's experts touched, concave), so the mean step is not
    the step at the mean load (docs/llm.md, "Prompts arrive whole"); the simulator's kernel
    runs such steps. k prompts that overflow the token budget run in budget-sized chunks over
    the next steps, each of which would otherwise have decoded without a prompt: they add
    their chunks' steps less as many prompt-free steps; so does a prompt longer than the
    budget (it kept the mean load until 2026-12-06: 88.4 for 108.3 ms, UX trial 21 F3)."""
    budget = max(d.settings.max_num_batched_tokens, 1)
    if prompts > MANY_PROMPTS:
        return at_mean_ms

    @functools.cache  # the same chunk sizes recur over k (a full budget, above all)
    def step(tokens: float) -> float:
        return step_time_ms(d, prefill_tokens=tokens, prefill_seqs=tokens / i,
                            prefill_pairs=tokens * i / 2.0, decode_seqs=decode,
                            context_tokens_total=decode * ctx).ms

    idle = step(0.0)
    mean, mass, pk, k = 0.0, 0.0, math.exp(-prompts), 0
    while mass < 1.0 - 1e-9 and k < 10_000:
        full, rest = divmod(k * i, budget)
        t = full * step(budget) + (step(rest) if rest or not full else 0.0)
        chunks = full + (1 if rest else 0)
        mean += pk * (t - max(chunks - 1, 0) * idle)
        mass += pk
        k += 1
        pk *= prompts / k
    return mean / mass


def cohort_wait(n: int, input_tokens: int, budget: int, engine: str) -> float:
    """Lone prefills a closed loop's prompt waits for the others of its cohort, per unit of
    the engine's clustering weight (CLUSTERING): a cohort of about sqrt(N) prompts arrives
    together and, served one prompt after another, waits (sqrt(N) - 1) / 2 prefills.

    An engine whose prefill passes carry no decodes (SGLang, mixed chunks off by default)
    runs every waiting prompt that fits the pass's token budget (--chunked-prefill-size) in
    one prefill batch, whose first tokens all come at its end: a cohort of m prompts that
    fits one pass waits m - 1 prefills, twice the serial (m - 1) / 2; SGLang's weight was
    chosen on prompts that fit (1-4K tokens in an 8K budget), so there the wait is as before.
    Where one prompt fills the budget each pass holds one prompt and the cohort is served one
    after another: half that wait; in between K = budget // I prompts a pass. TensorRT-LLM
    also packs whole contexts up to max_num_tokens but keeps the serial form: the same rule
    lost training rows there (docs/llm.md, "Cohorts in one prefill pass")."""
    m = math.sqrt(max(n, 1))
    serial = (m - 1.0) / 2.0
    if serial <= 0.0 or ENGINES[engine].mixed_passes:
        return serial
    k = max(1, budget // max(input_tokens, 1))
    full = math.floor(m / k)  # passes of k prompts, then one with the rest
    rest = m - full * k
    mean_done = (k * k * full * (full + 1) / 2.0 + rest * m) / m  # in lone prefills
    return (mean_done - 1.0) / 2.0


def held_back_ms(hold_ms: float, arrivals_per_ms: float) -> float:
    """Mean wait of a prompt that a delayed-batching scheduler holds back for ``hold_ms`` so that
    more prompts join its prefill batch (TensorRT-LLM ``batch_wait_timeout_iters``; its token
    threshold is not modelled, so the window always runs to its end): the first prompt of a
    window waits all of it, those that arrive during it (``arrivals_per_ms`` x ``hold_ms`` of
    them, Poisson) half of it on average."""
    joining = arrivals_per_ms * hold_ms
    return hold_ms * (1.0 + joining / 2.0) / (1.0 + joining)


def static_batch(d: Deployment, input_tokens: int, output_tokens: int, batch: int) -> tuple[float, float]:
    """Static batching (no in-flight batching): (time to first token ms, output tokens/s)."""
    b, i, o = max(batch, 1), max(input_tokens, 1), max(output_tokens, 1)
    pf = step_time_ms(d, prefill_tokens=b * i, prefill_seqs=b).ms
    dec = step_time_ms(d, decode_seqs=b, context_tokens_total=b * (i + o / 2.0)).ms
    total = pf + (o - 1) * dec
    return pf, b * o / (total / 1000.0)


def saturation_concurrency(d: Deployment, mem: MemoryPlan, input_tokens: int, output_tokens: int) -> int:
    """Sequences an engine keeps in flight when every request is queued at once: what the KV
    cache holds at the average sequence length (prompt + half the completion), or at the full
    length (prompt + completion) where the engine's admission reserves the whole completion
    (TensorRT-LLM's GUARANTEED_NO_EVICT), capped by max_num_seqs."""
    held = output_tokens if d.settings.reserves_completion else output_tokens / 2.0
    per_seq = (input_tokens + held) * kv_bytes_per_token_per_gpu(d.arch, d.kv_dtype, d.tp, d.pp)
    fits = int(mem.kv_gib_per_gpu * 2**30 // max(per_seq, 1.0))
    return max(1, min(fits, max_in_flight(d)))


def max_in_flight(d: Deployment) -> int:
    """Sequences the scheduler may run at once: max_num_seqs, per PP micro-batch where the
    engine bounds each micro-batch (:attr:`EngineDefaults.seqs_per_micro_batch`)."""
    return d.settings.max_num_seqs * ENGINES[d.settings.engine].batch_groups(d.pp)
