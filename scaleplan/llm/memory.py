"""LLM memory: weights per GPU, KV bytes per token, and how many sequences a replica holds.

All arithmetic is in bytes; GiB = 2**30 bytes. The accounting follows the engines:

* vLLM / SGLang / TGI: the engine may use ``gpu_memory_utilization`` x GPU memory; out of it
  come the weights (per GPU), a runtime reserve (CUDA graphs, activations of one
  ``max_num_batched_tokens`` step, NCCL buffers), and the rest is KV cache;
* TensorRT-LLM: the KV cache takes ``gpu_memory_utilization`` (its
  ``kv_cache_free_gpu_mem_fraction``) of what is *free* after weights and reserve.

A shape is refused (:class:`Refusal`, with the arithmetic in its message) when the weights do
not fit or when the KV cache cannot hold one full ``max_model_len`` sequence (vLLM refuses to
start then, too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from scaleplan.llm.arch import Architecture

GIB = float(2**30)
INT4_GROUP = 128  # AWQ / GPTQ group size: one fp16 scale and one 4-bit zero per 128 weights
BYTES_PER_PARAM = {
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4-awq": 0.5 + (2 + 0.5) / INT4_GROUP,
    "int4-gptq": 0.5 + (2 + 0.5) / INT4_GROUP,
    "mxfp4": 0.5 + 1 / 32,  # 4-bit values, one 8-bit scale per 32
    "nvfp4": 0.5 + 1 / 16,  # 4-bit values, one 8-bit scale per 16
}
KV_BYTES = {"bf16": 2, "fp16": 2, "fp8": 1}


def kv_precision(kv_cache_dtype: str | None) -> str:
    """What a spec's ``model.kv_cache_dtype`` stores in the KV cache, as the engines' flags
    tell it apart: "fp8" (one byte an element) or "16-bit" (auto, bf16, fp16: two bytes, every
    engine's default)."""
    return "fp8" if KV_BYTES.get(kv_cache_dtype or "auto", 2) == 1 else "16-bit"


@dataclass(frozen=True)
class EngineDefaults:
    """An engine's memory and scheduling defaults (docs/llm.md lists their sources)."""

    name: str
    gpu_memory_utilization: float
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    cuda_graph_reserve_gib: float
    fraction_of_free: bool = False  # TensorRT-LLM: KV fraction of the memory left after weights
    # TensorRT-LLM's capacity scheduler (GUARANTEED_NO_EVICT, the default of its executor,
    # trtllm-serve and trtllm-bench) admits a request only when the KV cache holds its prompt
    # plus its whole completion; so does TGI's v3 queue (backends/v3/src/queue.rs, next_batch:
    # it allocates blocks for the prompt + max_new_tokens before admitting a request, and a
    # request without max_new_tokens gets the rest of --max-total-tokens, router/src/
    # validation.rs; the model takes the class's completion, i.e. clients that send max_tokens);
    # vLLM and SGLang admit on the prompt and grow blocks as tokens come (preempting when the
    # cache runs out)
    reserves_completion: bool = False
    # the scheduler admits a prompt by the KV blocks of the chunk it schedules and, when the
    # cache is full, preempts the latest-admitted running request (vLLM V1); its blocks stay in
    # the prefix cache (on by default in V1), so it resumes where it stopped. The other engines
    # keep the count cap (TensorRT-LLM reserves the whole completion; SGLang admits against an
    # estimate of the completions). scaleplan.llm.burst replays it
    preempts: bool = False
    # requests in flight (queued and running) past which the server refuses a newcomer (HTTP
    # 429) instead of queueing it, when its flag is left out: TGI's --max-concurrent-requests
    # (router/src/infer/mod.rs; scaleplan.llm.engine_flags, which render and check read it
    # with); None: no such limit
    max_concurrent_requests: int | None = None
    # how the scheduler builds a pass (scaleplan.llm.closed_loop.SCHEDULER, the simulator's
    # kernel): prompts prefilled in chunks within the token budget (TensorRT-LLM: whole
    # prompts), and prefill passes that also carry the decodes (SGLang: a prefill pass stalls
    # them)
    chunked_prefill: bool = True
    mixed_passes: bool = True
    # with pipeline parallel, max_num_seqs bounds each micro-batch (TensorRT-LLM schedules one
    # batch per PP stage, each up to max_batch_size; trtllm-bench sizes it as the KV cache's
    # requests / PP) rather than every sequence in flight (vLLM's and SGLang's running queue)
    seqs_per_micro_batch: bool = False

    def batch_groups(self, pipeline_parallel: int) -> int:
        """How many groups max_num_seqs bounds one by one: the PP micro-batches where the engine
        bounds each (:attr:`seqs_per_micro_batch`), else 1 (every sequence in flight).
        perf.max_in_flight multiplies by it, engine_flags.batch_flag divides by it."""
        return max(pipeline_parallel, 1) if self.seqs_per_micro_batch else 1


ENGINES: dict[str, EngineDefaults] = {
    # vLLM (V1): --gpu-memory-utilization 0.9, --block-size 16, --max-num-seqs 256,
    # chunked prefill with an 8192-token step budget; CUDA graphs take ~0.5-1.5 GiB.
    "vllm": EngineDefaults("vllm", 0.9, 16, 256, 8192, 1.0, preempts=True),
    # SGLang: --mem-fraction-static ~0.88 on 80 GB parts, page size 1, --max-running-requests
    # bounded by the KV pool, --chunked-prefill-size 8192.
    "sglang": EngineDefaults("sglang", 0.88, 1, 1024, 8192, 1.0, mixed_passes=False),
    # TGI: --cuda-memory-fraction 1.0 with its warm-up measuring activations; block 16; its v3
    # queue reserves prompt + max_new_tokens at admission; --max-concurrent-requests 128.
    "tgi": EngineDefaults(
        "tgi", 0.95, 16, 128, 4096, 1.5, reserves_completion=True, max_concurrent_requests=128
    ),
    # TensorRT-LLM (trtllm-serve): kv_cache_free_gpu_mem_fraction 0.9, tokens_per_block 32,
    # max_batch_size 2048, max_num_tokens 8192; capacity scheduler GUARANTEED_NO_EVICT.
    "trtllm": EngineDefaults(
        "trtllm", 0.9, 32, 2048, 8192, 1.0, fraction_of_free=True, reserves_completion=True,
        chunked_prefill=False, seqs_per_micro_batch=True,
    ),
}

# what vLLM's and SGLang's servers start with where these flags are left out differs by GPU; a
# plan's server is told its values, so only the replay of measured runs needs those
# (bench/llm_sim_validation.py: vllm_server_batch_defaults, sglang_chunked_prefill_default)


# the settings a spec, a profile or a validation row may set on an engine's defaults
OVERRIDABLE = (
    "gpu_memory_utilization", "block_size", "max_num_seqs", "max_num_batched_tokens",
    "cuda_graph_reserve_gib", "recv_interval", "batch_wait_iters",
)


@dataclass(frozen=True)
class EngineSettings:
    """The settings one replica runs with: the engine's defaults with the spec's overrides."""

    engine: str
    gpu_memory_utilization: float
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    cuda_graph_reserve_gib: float
    fraction_of_free: bool
    max_num_seqs_set: bool = False  # the user fixed max_num_seqs
    reserves_completion: bool = False  # admission reserves KV for prompt + whole completion
    # decode steps between the scheduler's polls for new requests while it is busy (SGLang
    # --scheduler-recv-interval; 1 = every step, every engine's default)
    recv_interval: int = 1
    # decode steps a context request may be held back so that more prompts join its prefill
    # batch (TensorRT-LLM batch_wait_timeout_iters; 0 = off, the default)
    batch_wait_iters: int = 0

    @staticmethod
    def of(engine: str = "vllm", **overrides: float | int | None) -> EngineSettings:
        d = ENGINES[engine]
        s = EngineSettings(engine, d.gpu_memory_utilization, d.block_size, d.max_num_seqs, d.max_num_batched_tokens, d.cuda_graph_reserve_gib, d.fraction_of_free, reserves_completion=d.reserves_completion)
        upd = {k: v for k, v in overrides.items() if v is not None and k in OVERRIDABLE}
        if "max_num_seqs" in upd:
            upd["max_num_seqs_set"] = True
        return replace(s, **upd) if upd else s  # type: ignore[arg-type]


class Refusal(Exception):
    """A shape that cannot serve: the message carries the arithmetic. ``dtype``: the accelerator
    has no tensor cores for the model's dtype (the fix is another dtype or accelerator, not
    more memory). ``memory``: the weights or one sequence's KV cache do not fit (more GPUs a
    replica may fit them). ``weights``: the weights alone do not fit (a shorter
    max_model_len or an fp8 KV cache cannot help)."""

    def __init__(
        self, message: str, *, dtype: bool = False, memory: bool = False, weights: bool = False
    ) -> None:
        super().__init__(message)
        self.dtype = dtype
        self.memory = memory
        self.weights = weights


@dataclass(frozen=True)
class ShapeRefusal:
    """A :class:`Refusal` as data (the solver keeps the first of each): its message, and
    whether the dtype, not the memory, is the cause (or the weights alone)."""

    message: str
    dtype: bool = False
    memory: bool = False
    weights: bool = False

    @classmethod
    def of(cls, exc: Refusal) -> ShapeRefusal:
        return cls(str(exc), exc.dtype, exc.memory, exc.weights)


def splits(arch: Architecture, pp: int, gpus: int) -> bool:
    """Whether a replica of ``gpus`` GPUs splits the model at pipeline_parallel ``pp``: a
    multiple of it, the attention heads over the TP (gpus / pp). llm.serving.size refuses
    the others; the solver asks it of shapes past placement.max_gpus_per_replica."""
    tp = gpus // pp
    return gpus % pp == 0 and (tp == 1 or arch.num_heads % tp == 0)


def attention_bytes_per_param(dtype: str) -> float:
    """Bytes an attention weight takes under ``dtype``: the dtype's own, but 16-bit under MXFP4
    (gpt-oss's MXFP4 checkpoints quantize the experts only)."""
    return 2.0 if dtype == "mxfp4" else BYTES_PER_PARAM[dtype]


def weight_bytes(arch: Architecture, dtype: str) -> float:
    """Bytes of all weights. Linear layers take the dtype; embeddings and LM head stay 16-bit
    (AWQ, GPTQ, FP8 and MXFP4 checkpoints keep them so); MXFP4 quantizes experts only."""
    bpp, linear_attn = BYTES_PER_PARAM[dtype], attention_bytes_per_param(dtype)
    return arch.embedding_params * 2.0 + arch.attention_params * linear_attn + arch.ffn_params * bpp


def kv_bytes_per_token(arch: Architecture, kv_dtype: str) -> int:
    """KV-cache bytes one token takes in the whole model (full-attention layers).

    Llama-3.1-8B in bf16: 2 (K and V) x 32 layers x 8 KV heads x 128 x 2 bytes = 131,072.
    """
    return arch.num_layers * arch.kv_elements_per_token_layer() * KV_BYTES[kv_dtype]


def kv_bytes_per_token_per_gpu(arch: Architecture, kv_dtype: str, tp: int, pp: int = 1) -> float:
    """KV bytes per token on each GPU: layers split over PP stages, KV heads over TP ranks
    (a head is replicated when there are fewer KV heads than ranks; MLA's latent is replicated)."""
    layers = math.ceil(arch.num_layers / pp)
    per_layer = arch.kv_elements_per_token_layer()
    if not arch.is_mla:
        heads = max(1, math.ceil(arch.num_kv_heads / tp))
        per_layer = 2 * heads * arch.head_dim
    return float(layers * per_layer * KV_BYTES[kv_dtype])


def sequence_kv_bytes_per_gpu(arch: Architecture, kv_dtype: str, tokens: int, tp: int, pp: int = 1) -> float:
    """KV bytes one sequence of ``tokens`` holds per GPU (sliding-window layers keep at most
    the window)."""
    per_token = kv_bytes_per_token_per_gpu(arch, kv_dtype, tp, pp)
    if arch.sliding_layers and arch.sliding_window:
        frac = arch.sliding_layers / arch.num_layers
        return per_token * ((1 - frac) * tokens + frac * min(tokens, arch.sliding_window))
    return per_token * tokens


def activation_reserve_gib(arch: Architecture, settings: EngineSettings, tp: int) -> float:
    """Peak activations of one full scheduler step plus the sampler's logits (per GPU)."""
    tokens = settings.max_num_batched_tokens
    width = 4 * arch.hidden_size + 2 * max(arch.intermediate_size, arch.moe_intermediate_size * max(arch.experts_per_token, 1)) / tp
    logits = settings.max_num_seqs * arch.vocab_size * 4 / tp
    return (tokens * width * 2 + logits) / GIB


@dataclass(frozen=True)
class MemoryPlan:
    """How one replica's GPU memory is spent, per GPU."""

    tensor_parallel: int
    pipeline_parallel: int
    gpu_memory_gib: float
    weights_gib_per_gpu: float
    reserve_gib_per_gpu: float
    kv_gib_per_gpu: float
    kv_bytes_per_token_per_gpu: float
    kv_cache_tokens: int  # tokens of KV one replica holds (whole blocks)
    kv_blocks: int
    block_size: int
    max_model_len: int

    def max_sequences(self, tokens: int, arch: Architecture, kv_dtype: str) -> int:
        """Most sequences of ``tokens`` (prompt + completion) the KV cache holds at once."""
        per_seq = sequence_kv_bytes_per_gpu(arch, kv_dtype, tokens, self.tensor_parallel, self.pipeline_parallel)
        blocks = math.ceil(per_seq / (self.kv_bytes_per_token_per_gpu * self.block_size))
        return self.kv_blocks // max(blocks, 1)


def memory_plan(
    arch: Architecture,
    gpu_memory_gib: float,
    *,
    dtype: str,
    kv_dtype: str,
    settings: EngineSettings,
    tp: int,
    pp: int = 1,
    max_model_len: int,
    accelerator: str = "GPU",
) -> MemoryPlan:
    """Split one GPU's memory; raises :class:`Refusal` when the weights or one full-length
    sequence do not fit."""
    shape = f"{arch.name} {dtype} on {tp * pp}x {accelerator} (TP{tp}{f' PP{pp}' if pp > 1 else ''})"
    weights = weight_bytes(arch, dtype) / (tp * pp) / GIB
    reserve = settings.cuda_graph_reserve_gib + activation_reserve_gib(arch, settings, tp)
    budget = gpu_memory_gib * settings.gpu_memory_utilization
    if settings.fraction_of_free:
        kv = (gpu_memory_gib - weights - reserve) * settings.gpu_memory_utilization
        usable = f"{settings.gpu_memory_utilization:g} x ({gpu_memory_gib:g} - {weights:.1f} weights - {reserve:.1f} reserve) GiB"
    else:
        kv = budget - weights - reserve
        usable = f"{settings.gpu_memory_utilization:g} x {gpu_memory_gib:g} = {budget:.1f} GiB usable - {weights:.1f} weights - {reserve:.1f} reserve"
    if weights + reserve >= (gpu_memory_gib if settings.fraction_of_free else budget):
        raise Refusal(
            f"{shape} does not fit: weights need {weights:.1f} GiB per GPU"
            + (f" ({weight_bytes(arch, dtype) / GIB:.1f} GiB / {tp * pp} GPUs)" if tp * pp > 1 else "")
            + f" + {reserve:.1f} GiB runtime reserve, "
            f"but {settings.gpu_memory_utilization:g} x {gpu_memory_gib:g} GiB = {budget:.1f} GiB is usable",
            memory=True,
            weights=True,
        )
    per_tok = kv_bytes_per_token_per_gpu(arch, kv_dtype, tp, pp)
    tokens = int(kv * GIB // per_tok)
    blocks = tokens // settings.block_size
    seq = sequence_kv_bytes_per_gpu(arch, kv_dtype, max_model_len, tp, pp)
    need_blocks = math.ceil(seq / (per_tok * settings.block_size))
    if blocks < need_blocks:
        raise Refusal(
            f"{shape}: one {max_model_len:,}-token sequence needs {seq / GIB:.2f} GiB of KV cache per GPU "
            f"({per_tok:,.0f} bytes/token/GPU), but only {max(kv, 0.0):.2f} GiB is left ({usable}); "
            f"use more GPUs, a shorter max_model_len, an fp8 KV cache or a smaller dtype",
            memory=True,
        )
    return MemoryPlan(
        tensor_parallel=tp,
        pipeline_parallel=pp,
        gpu_memory_gib=gpu_memory_gib,
        weights_gib_per_gpu=weights,
        reserve_gib_per_gpu=reserve,
        kv_gib_per_gpu=kv,
        kv_bytes_per_token_per_gpu=per_tok,
        kv_cache_tokens=blocks * settings.block_size,
        kv_blocks=blocks,
        block_size=settings.block_size,
        max_model_len=max_model_len,
    )


MODEL_LEN_STEP = 1024  # the default max_model_len is a multiple of this


def default_max_model_len(longest_tokens: int, arch: Architecture | None = None) -> int:
    """The longest class's prompt + completion rounded up to a multiple of
    :data:`MODEL_LEN_STEP` (capped at the model's context)."""
    step = MODEL_LEN_STEP
    n = max(step, math.ceil(longest_tokens / step) * step)
    if arch is not None and arch.max_position_embeddings:
        n = min(n, arch.max_position_embeddings)
    return max(n, longest_tokens)
