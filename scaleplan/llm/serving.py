"""The LLM room's public face: set up a model, size a replica, predict it per class.

``profile llm``, the optimizer, render and simulate call these functions; none of them repeats
the arithmetic of :mod:`~scaleplan.llm.memory` or :mod:`~scaleplan.llm.perf`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from scaleplan.catalog.model import Accelerator
from scaleplan.errors import InputError, Problem
from scaleplan.llm.arch import Architecture, is_config_path, load_architecture
from scaleplan.llm.hardware import Hardware, UnsupportedDtype, hardware, missing_facts
from scaleplan.llm.lengths import (
    MODEL_LEN_QUANTILE,
    OUTPUT_STEP,
    P99,
    PROMPT_STEP,
    Spread,
    cells,
    joint_quantiles,
    quantile,
    refused_share,
    sigma_from_quantile,
    tail_atoms,
    tokens_at,
)
from scaleplan.llm.memory import (
    ENGINES,
    MODEL_LEN_STEP,
    EngineSettings,
    MemoryPlan,
    Refusal,
    default_max_model_len,
    memory_plan,
    splits,
)
from scaleplan.llm.perf import (
    NO_CALIBRATION,
    Calibration,
    ClassPerf,
    Deployment,
    max_in_flight,
    serve_class,
)
from scaleplan.llm.tails import TPOT_TAIL, TTFT_TAIL, tails_at
from scaleplan.spec import EngineConfig, ModelSpec, RequestClass
from scaleplan.wording import counted

CONCURRENCY_LADDER = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)


@dataclass(frozen=True)
class TokenClass:
    """A request class by its tokens: the means, and how they spread (None: fixed lengths)."""

    name: str
    input_tokens: int
    output_tokens: int
    spread: Spread | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def input_at(self, percentile: float) -> int:
        """The prompt at ``percentile`` (0-100) of the class's lengths: the mean without a
        spread, else its lognormal's quantile rounded up (:mod:`scaleplan.llm.lengths`)."""
        sigma = self.spread.input_sigma if self.spread else 0.0
        return tokens_at(self.input_tokens, sigma, percentile / 100.0)

    def output_at(self, percentile: float) -> int:
        """The completion at ``percentile`` (as :meth:`input_at`)."""
        sigma = self.spread.output_sigma if self.spread else 0.0
        return tokens_at(self.output_tokens, sigma, percentile / 100.0)

    @property
    def longest(self) -> int:
        """The longest request the server is sized for: prompt + completion, each at
        :data:`~scaleplan.llm.lengths.MODEL_LEN_QUANTILE` of its lengths (the means without a
        spread): the sum of the two quantiles, at or above the quantile of the sum."""
        q = MODEL_LEN_QUANTILE * 100.0
        return self.input_at(q) + self.output_at(q) if self.spread else self.tokens


def token_classes_of(classes: Sequence[RequestClass]) -> list[TokenClass]:
    """A spec's classes that give their tokens, with their spread
    (``traffic.classes[].lengths``)."""
    from scaleplan.spec_lengths import spread_of

    return [
        TokenClass(c.name, c.input_tokens, c.output_tokens, spread_of(c))
        for c in classes
        if c.input_tokens and c.output_tokens
    ]


CONTEXT_HINT = "shorten the class, or pick a model with a longer context"


@dataclass(frozen=True)
class LlmSetup:
    """A model as it will be served: architecture, precision, engine and its settings."""

    arch: Architecture
    dtype: str
    kv_dtype: str
    settings: EngineSettings
    max_model_len: int | None = None  # None: from the classes
    pipeline_parallel: int = 1
    calibration: Calibration = field(default=NO_CALIBRATION)

    @property
    def engine(self) -> str:
        return self.settings.engine

    def over_context(
        self, classes: Sequence[TokenClass], where: str = "traffic.classes"
    ) -> Problem | None:
        """The problem, at ``where``, when the model cannot take the longest class (its prompt
        and completion exceed the architecture's context, ``max_position_embeddings``); None
        when every class fits. A spec's classes, which may have a spread, are checked by
        :meth:`context_problem` (validate, optimize and ``profile llm --spec`` alike)."""
        ctx = self.arch.max_position_embeddings
        longest = max(classes, key=lambda c: c.tokens, default=None)
        if not ctx or longest is None or longest.tokens <= ctx:
            return None
        why = (
            f"class {longest.name!r} needs {longest.tokens:,} tokens ({longest.input_tokens:,}"
            f" prompt + {longest.output_tokens:,} completion), more than {self.arch.name}'s"
            f" context of {ctx:,}: the server would reject every such request"
        )
        return Problem(where, why, hint=CONTEXT_HINT)

    def context_problem(
        self, classes: Sequence[TokenClass], spec_classes: Sequence[RequestClass], percentile: int
    ) -> Problem | None:
        """What a spec's classes ask beyond the model's context: :meth:`over_context`, else
        :meth:`tail_over_context` at each class's place in ``spec_classes``."""
        index = {c.name: i for i, c in enumerate(spec_classes)}
        return self.over_context(classes) or self.tail_over_context(classes, percentile, index)

    def tail_over_context(
        self, classes: Sequence[TokenClass], percentile: int, index: dict[str, int]
    ) -> Problem | None:
        """The problem, at the class's ``lengths`` (``index``: each class's place in
        ``traffic.classes``), when a class's prompt
        at the SLO ``percentile`` of its spread is beyond the model's context: the server
        refuses every such request, more than the SLO lets miss, so no plan serves the class
        at that percentile (pricing its TTFT would price a prompt the server refuses)."""
        ctx = self.arch.max_position_embeddings
        for c in classes:
            prompt = c.input_at(percentile)
            if not ctx or c.spread is None or prompt <= ctx or c.input_tokens >= ctx:
                continue  # a class whose mean is over the context: over_context
            refused = refused_share(c.input_tokens, c.output_tokens, c.spread, ctx)
            # the spread whose p-th percentile prompt is the context, at its p99
            fits = quantile(c.input_tokens, sigma_from_quantile(
                c.input_tokens, ctx, percentile / 100.0), P99)
            why = (
                f"the p{percentile} prompt of class {c.name!r} is {prompt:,} tokens "
                f"({c.spread.label()} around {c.input_tokens:,}), beyond {self.arch.name}'s "
                f"context of {ctx:,}: the server refuses every request over it, about "
                f"{100 * refused:.2g} % of the class, more than the {100 - percentile} % a "
                f"p{percentile} SLO lets miss, so the spread as stated cannot be served at "
                f"p{percentile}"
            )
            hint = (
                "serve the class with a model of a longer context, or split its long tail into "
                f"a class of its own (on such a model); or, if the logs allow, lower the "
                f"class's p99 prompt to at most {int(fits):,} tokens (input_tokens_p99), where "
                f"its p{percentile} prompt fits"
            )
            return Problem(f"traffic.classes[{index.get(c.name, 0)}].lengths", why, hint=hint)
        return None

    def model_len(self, classes: Sequence[TokenClass]) -> int:
        if self.max_model_len is not None:
            return self.max_model_len
        n = default_max_model_len(max((c.longest for c in classes), default=2048), self.arch)
        ctx = self.arch.max_position_embeddings
        # a spread's tail beyond the context is not served (said: default_len_note); a class
        # whose means exceed it is refused (over_context)
        return min(n, max(ctx, *(c.tokens for c in classes))) if ctx and classes else n

    def default_len_note(self, classes: Sequence[TokenClass]) -> str | None:
        """What a spec without ``engine_config.max_model_len`` is told: the server refuses every
        request longer than the default (:meth:`model_len`), though real requests vary around
        their class's length. None when the spec sets it, or when the default is the model's
        whole context (nothing longer could be served)."""
        longest = max(classes, key=lambda c: c.longest, default=None)
        ctx = self.arch.max_position_embeddings
        n = self.model_len(classes)
        if longest is not None and longest.spread is not None:
            return self._spread_len_note(classes, longest, n)
        if self.max_model_len is not None or longest is None or (ctx and n >= ctx):
            return None
        return self._unset_len_note(
            n, longest, f"{longest.input_tokens:,} + {longest.output_tokens:,}"
        )

    def _unset_len_note(self, n: int, longest: TokenClass, lengths: str) -> str:
        """The note of a spec without max_model_len whose default, ``n``, is below the model's
        context: ``lengths``, the longest class's lengths as the note shows them."""
        ctx = self.arch.max_position_embeddings
        takes = f" ({self.arch.name} takes up to {ctx:,})" if ctx else ""
        return (
            f"model.engine_config.max_model_len is not set: the server will refuse requests "
            f"longer than {n:,} tokens (the longest class, {longest.name!r}: {lengths}, rounded"
            f" up to a multiple of {MODEL_LEN_STEP:,}); set it to the longest request you "
            f"serve{takes}"
        )

    def _spread_len_note(
        self, classes: Sequence[TokenClass], longest: TokenClass, n: int
    ) -> str | None:
        """:meth:`default_len_note` where the longest class spreads: what the default covers
        (each side's p99.9), or, where max_model_len (set, or capped at the model's context)
        is below that, the share of each class's requests the server refuses."""
        ctx = self.arch.max_position_embeddings
        q = MODEL_LEN_QUANTILE * 100.0
        cut = [(c.name, refused_share(c.input_tokens, c.output_tokens, c.spread, n))
               for c in classes if c.spread is not None and c.longest > n]
        if cut:
            shares = ", ".join(f"{100 * x:.2g} % of class {name!r}" for name, x in cut)
            what = (
                f"model.engine_config.max_model_len {n:,}" if self.max_model_len is not None
                else f"max_model_len, by default {self.arch.name}'s whole context ({n:,} tokens),"
            )
            raise_to = default_max_model_len(longest.longest)
            fix = (
                f"raise max_model_len to {raise_to:,}" if not ctx or raise_to <= ctx
                else ("" if n >= ctx else f"raise max_model_len to {ctx:,}; ")
                + f"{self.arch.name} serves no request over {ctx:,} tokens: send the longer "
                "ones to a model with a longer context, or check the class's lengths against "
                "your logs"
            )
            return (
                f"{what} is below what the classes with a length spread reach at the p{q:g} of "
                f"their lengths ({longest.name!r}: {longest.input_at(q):,} + "
                f"{longest.output_at(q):,} tokens): the server refuses every longer request "
                f"(about {shares}); {fix}"
            )
        if self.max_model_len is not None:
            return None
        s = longest.spread
        assert s is not None
        return self._unset_len_note(n, longest, (
            f"{longest.input_at(q):,} + {longest.output_at(q):,} at the p{q:g} of its lengths "
            f"({s.label()} around {longest.input_tokens:,} + {longest.output_tokens:,})"
        ))


def setup(
    architecture: str | Architecture,
    *,
    dtype: str | None = None,
    kv_cache_dtype: str | None = None,
    engine: str | None = None,
    base: Path | None = None,
    gpu_memory_utilization: float | None = None,
    block_size: int | None = None,
    max_num_seqs: int | None = None,
    max_model_len: int | None = None,
    max_num_batched_tokens: int | None = None,
    cuda_graph_reserve_gib: float | None = None,
    pipeline_parallel: int | None = None,
) -> LlmSetup:
    """Resolve an architecture reference and the engine defaults plus overrides."""
    arch = architecture if isinstance(architecture, Architecture) else load_architecture(architecture, base)
    eng = engine or "vllm"
    if eng not in ENGINES:
        raise InputError(None, [Problem("engine", f"unknown engine {eng!r}", hint=f"use one of: {', '.join(ENGINES)}")])
    d = dtype or arch.native_dtype
    kv = kv_cache_dtype if kv_cache_dtype not in (None, "auto") else ("fp16" if d == "fp16" else "bf16")
    assert kv is not None
    settings = EngineSettings.of(
        eng,
        gpu_memory_utilization=gpu_memory_utilization,
        block_size=block_size,
        max_num_seqs=max_num_seqs,
        max_num_batched_tokens=max_num_batched_tokens,
        cuda_graph_reserve_gib=cuda_graph_reserve_gib,
    )
    if max_model_len is not None and arch.max_position_embeddings and max_model_len > arch.max_position_embeddings:
        raise InputError(None, [Problem("engine_config.max_model_len", f"{max_model_len:,} tokens is longer than {arch.name}'s context of {arch.max_position_embeddings:,}", hint="lower max_model_len")])
    return LlmSetup(arch=arch, dtype=d, kv_dtype=kv, settings=settings, max_model_len=max_model_len, pipeline_parallel=pipeline_parallel or 1)


def setup_from_spec(
    model: ModelSpec, base: Path | None = None, arch: Architecture | None = None
) -> LlmSetup:
    """:func:`setup` from a spec's ``model`` section (``architecture`` set); ``arch``: the
    architecture already read (a plan's recorded facts), instead of resolving the reference."""
    assert model.architecture is not None
    ec = model.engine_config or EngineConfig()
    try:
        if arch is None and is_config_path(model.architecture):
            # a config.json names no model (its folder does): the spec's name of what it serves
            arch = load_architecture(model.architecture, base)
            served = served_names(model)
            arch = replace(arch, name=served[-1]) if served else arch
        return setup(
            arch or model.architecture,
            dtype=model.dtype,
            kv_cache_dtype=model.kv_cache_dtype,
            engine=model.engine,
            base=base,
            gpu_memory_utilization=ec.gpu_memory_utilization,
            block_size=ec.block_size,
            max_num_seqs=ec.max_num_seqs,
            max_model_len=ec.max_model_len,
            max_num_batched_tokens=ec.max_num_batched_tokens,
            cuda_graph_reserve_gib=ec.cuda_graph_reserve_gib,
            pipeline_parallel=ec.pipeline_parallel,
        )
    except InputError as exc:
        if exc.file is not None:  # the config.json's own fields (UX trial 37 F2: not model.X)
            raise
        raise InputError(exc.file, [Problem(f"model.{p.where}" if p.where else "model.architecture", p.message, hint=p.hint) for p in exc.problems]) from None


def served_names(model: ModelSpec) -> tuple[str, ...]:
    """What a spec calls the model it serves besides its architecture's name: ``model.name``
    and a Hugging Face ``model.source`` id (a benchmark's model_id is the id the server
    loaded), that one last."""
    src = model.source
    hf = src.uri.removeprefix("hf://") if src is not None and src.kind == "hf" else None
    return tuple(n for n in (model.name, hf) if n)


def hardware_for(acc: Accelerator) -> Hardware:
    hw = hardware(acc)
    if hw is None:
        raise Refusal(f"{acc.name}: the accelerator table lacks {missing_facts(acc)}, which the LLM model needs")
    return hw


@dataclass(frozen=True)
class Shape:
    """One sized replica: its memory plan and its deployment (hardware, TP x PP)."""

    accelerator: str
    memory: MemoryPlan
    deployment: Deployment

    @property
    def hw(self) -> Hardware:
        return self.deployment.hw

    @property
    def tp(self) -> int:
        return self.deployment.tp

    @property
    def pp(self) -> int:
        return self.deployment.pp

    @property
    def gpus(self) -> int:
        return self.deployment.gpus


def size(s: LlmSetup, acc: Accelerator, gpus: int, classes: Sequence[TokenClass], *, gpu_memory_gib: float | None = None, calibration: Calibration | None = None) -> Shape:
    """Size one replica of ``gpus`` accelerators (TP = gpus / PP); raises :class:`Refusal` when
    the dtype cannot run there, the weights do not fit or one full-length sequence does not."""
    hw = hardware_for(acc)
    pp = s.pipeline_parallel
    if gpus % pp:
        raise Refusal(f"{counted(gpus, 'GPU')} is not a multiple of pipeline_parallel {pp}")
    tp = gpus // pp
    try:
        hw.compute_peak_tflops(s.dtype)
    except UnsupportedDtype as exc:  # no tensor cores for the dtype
        raise Refusal(f"{s.arch.name} in {s.dtype}: {exc}", dtype=True) from None
    try:
        hw.check_kv_dtype(s.kv_dtype)
    except UnsupportedDtype as exc:
        raise Refusal(f"{s.arch.name} in {s.dtype}: {exc}") from None
    if not splits(s.arch, pp, gpus):  # the heads over the TP (gpus % pp is refused above)
        raise Refusal(f"TP{tp}: {s.arch.name}'s {s.arch.num_heads} attention heads do not split over {tp} GPUs")
    mem = memory_plan(
        s.arch,
        gpu_memory_gib or hw.memory_gib,
        dtype=s.dtype,
        kv_dtype=s.kv_dtype,
        settings=s.settings,
        tp=tp,
        pp=pp,
        max_model_len=s.model_len(classes),
        accelerator=acc.name,
    )
    d = Deployment(s.arch, hw, s.dtype, s.kv_dtype, s.settings, tp=tp, pp=pp, calibration=calibration or s.calibration)
    return Shape(acc.name, mem, d)


def max_concurrency(shape: Shape, s: LlmSetup, cls: TokenClass) -> int:
    """Most sequences of the class one replica runs: KV cache at full length, max_num_seqs (per
    PP micro-batch where the engine bounds each one: :func:`~scaleplan.llm.perf.max_in_flight`)."""
    held = shape.memory.max_sequences(cls.tokens, s.arch, s.kv_dtype)
    return min(held, max_in_flight(shape.deployment))


def predict(shape: Shape, cls: TokenClass, concurrency: int) -> ClassPerf:
    """The class at ``concurrency`` sequences in flight as a plan serves it: traffic planned at a
    rate (Poisson arrivals), so the open-loop form without the closed-loop clustering wait
    (``serve_class(open_loop=True)``); queueing is the planner's (solve/queueing.py). Until
    2026-12-05 (UX review 5, #11) the optimizer kept the closed-loop wait, which sized SGLang
    plans at twice what the simulator of those plans needed."""
    d = shape.deployment
    if cls.spread is None:
        return serve_class(d, cls.input_tokens, cls.output_tokens, concurrency, open_loop=True)
    # a length spread: the steps carry the mean load; each percentile's prompt is priced in them,
    # and each prompt cell's upper edge (joint_percentiles)
    at = tuple((p, cls.input_at(p), cls.output_at(p)) for p in TTFT_TAIL)
    pp, edges, _ = cells(cls.input_tokens, cls.spread.input_sigma, PROMPT_STEP)
    perf = serve_class(
        d, cls.input_tokens, cls.output_tokens, concurrency, open_loop=True,
        prompts=tuple(i for _, i, _ in at) + tuple(sorted(set(edges))),
    )
    ttft_of = dict(perf.prompt_ttft)
    tail = tuple((p, i, o, ttft_of[i]) for p, i, o in at)
    joint = joint_percentiles(cls, perf.tpot_ms, pp, [ttft_of[i] for i in edges])
    return replace(perf, tail=tail, joint=joint)


def joint_percentiles(
    cls: TokenClass, tpot_ms: float, prompt_probs: Sequence[float],
    prompt_ttft_ms: Sequence[float],
) -> tuple[tuple[int, float, float], ...]:
    """Per percentile of TTFT_TAIL, (percentile, TTFT, end-to-end latency) of a class with a
    length spread at that joint percentile: prompt and completion lengths and the interference
    tails together (:func:`scaleplan.llm.lengths.joint_quantiles`; docs/llm.md, "Length
    spread"), ``prompt_ttft_ms`` the model's mean TTFT at each prompt cell's upper edge
    (:func:`scaleplan.llm.lengths.cells`) in the steps of the class's mean load. The share of
    prompts and completions above the cells' last edge counts as endless."""
    op, outs, _ = cells(cls.output_tokens, cls.spread.output_sigma if cls.spread else 0.0,
                        OUTPUT_STEP)
    xp, xf, _ = tail_atoms(TTFT_TAIL)
    _, yf, _ = tail_atoms(TPOT_TAIL)
    at = joint_quantiles([p / 100.0 for p in TTFT_TAIL], prompt_probs, prompt_ttft_ms, op, outs,
                         tpot_ms, (xp, xf), yf)
    return tuple((p, t, e) for p, (t, e) in zip(TTFT_TAIL, at, strict=True))


def queue_fed(shape: Shape, cls: TokenClass, concurrency: int) -> ClassPerf:
    """The class at ``concurrency`` sequences while requests wait for a slot: each sequence
    that ends admits a waiting one in the same step, so the replica runs as a closed loop
    (requests that end together start together, their prompts clustered:
    ``serve_class(open_loop=False)``). Its throughput is what drains a queue; the open-loop
    :func:`predict` is the replica below its slots (docs/optimizer.md, "LLM replicas")."""
    d = shape.deployment
    return serve_class(d, cls.input_tokens, cls.output_tokens, concurrency, open_loop=False)


# sequence counts at which queue_fed_rates evaluates the model exactly; between them the
# throughput is interpolated (it is smooth and concave in the count)
RATE_POINTS = 64


def queue_fed_rates(shape: Shape, cls: TokenClass, concurrency: int) -> tuple[float, ...]:
    """Requests/s the replica completes with 1, 2, ..., ``concurrency`` sequences of the class
    in flight, each the :func:`queue_fed` throughput: the departure rates of the replica's
    birth-death chain (:func:`scaleplan.solve.queueing.max_rate_slots`). Exact at up to
    :data:`RATE_POINTS` counts (every count up to that many), linear in between."""
    n = max(concurrency, 1)
    if n <= RATE_POINTS:
        at = list(range(1, n + 1))
    else:
        at = sorted({1 + round(k * (n - 1) / (RATE_POINTS - 1)) for k in range(RATE_POINTS)})
    known = [queue_fed(shape, cls, k).throughput_rps for k in at]
    out: list[float] = []
    for j in range(len(at) - 1):
        k0, k1, t0, t1 = at[j], at[j + 1], known[j], known[j + 1]
        out.extend(t0 + (t1 - t0) * (k - k0) / (k1 - k0) for k in range(k0, k1))
    out.append(known[-1])
    return tuple(out)


def at_percentile(perf: ClassPerf, percentile: int) -> tuple[float, float]:
    """(TTFT, TPOT) at a percentile, from the mean prediction and the tail factors; with a
    length spread, the TTFT at the joint percentile of the prompt's length and the tail
    (:func:`joint_percentiles`; docs/llm.md, "Length spread")."""
    t, o = tails_at(perf.ttft_ms, perf.tpot_ms, percentile)
    joint = _joint_at(perf, percentile)
    return (t if joint is None else joint[0]), o


def _joint_at(perf: ClassPerf, percentile: int) -> tuple[float, float] | None:
    """A class with a length spread: (TTFT, end-to-end latency) at ``percentile``'s joint
    quantile (:func:`joint_percentiles`); None without a spread."""
    return next(((t, e) for p, t, e in perf.joint if p == percentile), None)


def values_as_tested(
    perf: ClassPerf, *, percentile: int, conservative: bool = False
) -> dict[str, float]:
    """TTFT, TPOT and end-to-end latency (``"ttft"``, ``"tpot"``, ``"latency"``, ms) of a
    prediction at ``percentile`` as :func:`slo_verdict` tests them (with ``conservative``, at
    the upper ends of the bands)."""
    t, o = at_percentile(perf, percentile)
    if conservative:
        t, o = t * perf.ttft_band[1], o * perf.band[1]
    joint = _joint_at(perf, percentile)
    e2e = t + o * (perf.output_tokens - 1)
    if joint is not None:  # a length spread: the joint percentile, scaled by the larger band
        e2e = joint[1] * (max(perf.ttft_band[1], perf.band[1]) if conservative else 1.0)
    return {"ttft": t, "tpot": o, "latency": e2e}


def slo_verdict(
    perf: ClassPerf,
    *,
    ttft_ms: float | None,
    tpot_ms: float | None,
    latency_ms: float | None,
    percentile: int,
    conservative: bool = False,
) -> tuple[str | None, float]:
    """The one SLO test of a prediction: the first metric it misses (``"ttft"``, ``"tpot"`` or
    ``"latency"``) and that metric's value as tested, or ``(None, end-to-end latency)`` when it
    meets them all. Values are at ``percentile``; with ``conservative``
    (``placement.conservative``) TTFT is first inflated by the upper end of its own band and
    TPOT by the upper end of the model's band, and the end-to-end latency is built from those."""
    v = values_as_tested(perf, percentile=percentile, conservative=conservative)
    t, o, e2e = v["ttft"], v["tpot"], v["latency"]
    if ttft_ms is not None and t > ttft_ms:
        return "ttft", t
    if tpot_ms is not None and o > tpot_ms:
        return "tpot", o
    if latency_ms is not None and e2e > latency_ms:
        return "latency", e2e
    return None, e2e


def best_concurrency(
    shape: Shape,
    s: LlmSetup,
    cls: TokenClass,
    *,
    ttft_ms: float | None,
    tpot_ms: float | None,
    latency_ms: float | None,
    percentile: int,
    conservative: bool = False,
) -> ClassPerf | None:
    """The highest-throughput concurrency (up to what the KV cache holds) whose prediction
    meets the SLO (:func:`slo_verdict`). None when even one sequence misses it.

    A ladder finds the first concurrency that misses; between it and the last one that holds,
    a bisection finds the most that hold (latency rises with concurrency). Until 2026-12-05
    (UX review 5) the ladder's rung was the answer: 4 sequences where 7 held the SLO, a plan
    at 2.2x the cost."""
    cap = max_concurrency(shape, s, cls)
    if cap < 1:
        return None
    ladder = [n for n in CONCURRENCY_LADDER if n <= cap]
    if s.settings.max_num_seqs_set or cap not in ladder:
        ladder.append(cap)

    def meets(n: int) -> ClassPerf | None:
        p = predict(shape, cls, n)
        miss, _ = slo_verdict(p, ttft_ms=ttft_ms, tpot_ms=tpot_ms, latency_ms=latency_ms, percentile=percentile, conservative=conservative)
        return p if miss is None else None

    kept: list[ClassPerf] = []  # the predictions that meet the SLO, in the order tried
    held, missed = 0, 0
    for n in sorted(set(ladder)):
        p = meets(n)
        if p is None:
            missed = n
            break  # latency rises with concurrency: no higher N meets it either
        held = n
        kept.append(p)
    while missed - held > 1:  # the SLO breaks between two rungs: find where
        mid = (held + missed) // 2
        p = meets(mid)
        if p is None:
            missed = mid
            continue
        held = mid
        kept.append(p)
    return max(kept, key=lambda p: p.throughput_rps, default=None)
