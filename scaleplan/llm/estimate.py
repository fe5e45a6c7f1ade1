"""Architecture-driven profile points (``scaleplan profile llm``): one per accelerator, GPU
count, request class and concurrency, each with its basis and uncertainty band."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scaleplan.catalog.model import Accelerator
from scaleplan.errors import InputError, Problem
from scaleplan.llm.calibrate import (
    LIGHT_PRIOR,
    PRIOR,
    Observed,
    OpenLoopReading,
    calibrate,
    open_loop_reading,
)
from scaleplan.llm.hardware import UnsupportedDtype, proxy_warning
from scaleplan.llm.memory import (
    BYTES_PER_PARAM,
    GIB,
    Refusal,
    attention_bytes_per_param,
    splits,
    weight_bytes,
)
from scaleplan.llm.mix import Mix, normalized
from scaleplan.llm.perf import Calibration, ClassPerf, Deployment
from scaleplan.llm.serving import (
    LlmSetup,
    Shape,
    TokenClass,
    hardware_for,
    max_concurrency,
    predict,
    size,
)
from scaleplan.llm.shards import FP8_BLOCK, fp8_checkpoint_split
from scaleplan.llm.tails import TailKey, tail_at
from scaleplan.profile.build import make_profile
from scaleplan.profile.model import Estimate, Measurement, Percentiles, Profile


def class_measurement(
    shape: Shape,
    cls: TokenClass,
    p: ClassPerf,
    *,
    basis: str,
    rounded: bool,
    peak_memory_gib: float | None = None,
    pipeline_parallel: int | None = None,
) -> Measurement:
    """One prediction (shape, class, concurrency) as a profile point: TTFT and TPOT percentiles
    from the mean and the tail factors, end-to-end latency = TTFT + TPOT x (output tokens - 1),
    and the uncertainty band. ``rounded`` for files (4 decimals in ms, 6 in req/s); the solver
    keeps full precision. The one place a prediction becomes a Measurement (profile llm, solve)."""

    def r(x: float, digits: int = 4) -> float:
        return round(x, digits) if rounded else x

    def pct(key: TailKey, mean: float) -> Percentiles:
        return Percentiles(**{f"p{q}": r(tail_at(key, mean, q)) for q in (50, 90, 95, 99)}, mean=r(mean))

    ttft, tpot = pct("ttft", p.ttft_ms), pct("tpot", p.tpot_ms)
    n = cls.output_tokens - 1
    lat = Percentiles(p50=r(ttft.p50 + tpot.p50 * n), p90=r(ttft.p90 + tpot.p90 * n), p95=r(ttft.p95 + tpot.p95 * n), p99=r(ttft.p99 + tpot.p99 * n), mean=r(p.ttft_ms + p.tpot_ms * n))
    if p.joint:  # a length spread: the joint percentiles of prompt, completion and
        # interference (llm.serving.predict)
        first = {q: r(t) for q, t, _ in p.joint}
        ttft = Percentiles(**{f"p{q}": t for q, t in first.items()}, mean=r(p.ttft_ms))
        ends = {f"p{q}": r(e) for q, _, e in p.joint}
        lat = Percentiles(**ends, mean=lat.mean)
    return Measurement(
        device="estimate",
        accelerator=shape.accelerator,
        batch_size=p.concurrency,
        concurrency=p.concurrency,
        latency_ms=lat,
        throughput_rps=r(p.throughput_rps, 6),
        peak_memory_gib=peak_memory_gib,
        source="calibrated" if shape.deployment.calibration.calibrated else "estimated",
        gpus=shape.gpus,
        pipeline_parallel=pipeline_parallel,
        request_class=cls.name,
        input_tokens=cls.input_tokens,
        output_tokens=cls.output_tokens,
        ttft_ms=ttft,
        tpot_ms=tpot,
        estimate=Estimate(basis=basis, bound="compute" if p.bound == "compute" else "memory", low=p.band[0], high=p.band[1], ttft_low=p.ttft_band[0], ttft_high=p.ttft_band[1]),
    )


@dataclass(frozen=True)
class EstimateResult:
    measurements: tuple[Measurement, ...]
    refusals: tuple[str, ...]  # shapes that cannot serve, with the arithmetic
    notes: tuple[str, ...]


def estimate_points(
    s: LlmSetup,
    accelerators: Sequence[Accelerator],
    gpus: Sequence[int],
    classes: Sequence[TokenClass],
    concurrencies: Sequence[int],
    *,
    calibrations: dict[str, Calibration] | None = None,
    node_gpus: Mapping[str, int] | None = None,
) -> EstimateResult:
    """Predict every (accelerator, GPUs, class, concurrency) that fits. ``calibrations`` maps an
    accelerator to its calibration (points then carry ``source: calibrated``); missing ones use
    the architecture-only factors. ``node_gpus``: the most of an accelerator one node holds; a
    replica of more would span nodes, which the model does not price (docs/llm.md, Limits)."""
    out: list[Measurement] = []
    refusals: list[str] = []
    notes: list[str] = []
    for acc in accelerators:
        cal = (calibrations or {}).get(acc.name)
        for g in gpus:
            too_many = beyond_one_node(acc.name, g, node_gpus)
            if too_many:
                refusals.append(f"{acc.name} x{g}: {too_many}")
                continue
            try:
                shape = size(s, acc, g, classes, calibration=cal)
            except Refusal as exc:
                refusals.append(str(exc))
                continue
            split = block_split_note(s, shape.tp)
            if split and split not in notes:
                notes.append(split)
            mem = shape.memory
            used = round(mem.weights_gib_per_gpu + mem.reserve_gib_per_gpu + max(mem.kv_gib_per_gpu, 0.0), 3)
            for cls in classes:
                cap = max_concurrency(shape, s, cls)
                skipped = [n for n in concurrencies if n > cap]
                if skipped:
                    left = ",".join(map(str, skipped))
                    why = _cap_reason(shape, s, cls, cap)
                    notes.append(f"{acc.name} x{g} class {cls.name}: concurrency {left} left out: {why}")
                for n in concurrencies:
                    if n > cap:
                        continue
                    p = predict(shape, cls, n)
                    basis = f"{s.arch.name} {s.dtype} on {acc.name} TP{shape.tp}{f' PP{shape.pp}' if shape.pp > 1 else ''}, {s.engine}: roofline step model ({p.basis}); KV cache {mem.kv_cache_tokens:,} tokens"
                    out.append(class_measurement(shape, cls, p, basis=basis, rounded=True, peak_memory_gib=used, pipeline_parallel=shape.pp if shape.pp > 1 else None))
    return EstimateResult(tuple(out), tuple(refusals), tuple(notes))


def block_split_note(s: LlmSetup, tp: int) -> str | None:
    """A note where an fp8 setup's TP splits an FFN width into shards that a block-scaled FP8
    checkpoint does not load on vLLM or SGLang (:mod:`scaleplan.llm.shards`; UX review 17, F4)."""
    split = fp8_checkpoint_split(s.arch, s.dtype, s.engine, tp)
    if split is None:
        return None
    return (
        f"TP{tp}: {split}: a block-scaled FP8 checkpoint (weight_block_size [{FP8_BLOCK}, "
        f"{FP8_BLOCK}], as Qwen's and DeepSeek's own FP8 releases are) does not load there on "
        f"{s.engine}; a per-channel one, or --quantization fp8 on the 16-bit checkpoint, does"
    )


def beyond_one_node(accelerator: str, gpus: int, node_gpus: Mapping[str, int] | None) -> str | None:
    """Why ``gpus`` of ``accelerator`` per replica is not modelled (more than any catalog node
    holds: the estimates leave the shape out, the calibration its points), or None."""
    most = (node_gpus or {}).get(accelerator)
    if most is None or gpus <= most:
        return None
    return (
        f"no instance in the catalogs holds more than {most} {accelerator}; a replica across "
        "nodes is not modelled (docs/llm.md, Limits)"
    )


def _cap_reason(shape: Shape, s: LlmSetup, cls: TokenClass, cap: int) -> str:
    """Why a replica runs at most ``cap`` sequences of the class: its KV cache, or the engine's
    ``max_num_seqs`` where the cache would hold more (it said "the KV cache holds 64" for a
    cache of 161 sequences under max_num_seqs 64)."""
    mem = shape.memory
    if mem.max_sequences(cls.tokens, s.arch, s.kv_dtype) > cap:
        return (
            f"the engine's max_num_seqs is {cap} (model.engine_config.max_num_seqs); the KV "
            f"cache ({mem.kv_cache_tokens:,} tokens) would hold more"
        )
    seqs = "sequence" if cap == 1 else "sequences"
    held = f"{cap} {seqs} of {cls.tokens:,} tokens ({mem.kv_cache_tokens:,} tokens)"
    return f"the KV cache holds {held}"


def point_reading(m: Measurement) -> OpenLoopReading:
    """How a profile point's rate and TTFT read (:func:`scaleplan.llm.calibrate.open_loop_reading`:
    a lower bound, a queued run, or neither): the calibration and the profile tables alike."""
    ttft = (m.ttft_ms.mean or m.ttft_ms.p50) if m.ttft_ms else None
    reading = open_loop_reading(m.throughput_rps, m.offered_rps, requests=m.samples, latency_ms=m.latency_ms.mean, ttft_ms=ttft)
    if m.lower_bound and not reading.lower_bound:
        return OpenLoopReading(lower_bound=True, queued=reading.queued, running=reading.running)
    return reading


def point_label(m: Measurement, index: int) -> str:
    """How the calibration's notes name a point: ``measurements[index]`` of the profile file,
    or, for a running service's hour ``optimize --observed`` adds (device ``observed``, no
    entry of any profile file), the hour by its figures. Until 2026-12-06 an observed hour
    was called "measurements[0] (H100 x64, ...)", index counting the points kept."""
    shape = f"{m.accelerator} x{m.gpus}"
    if m.device == "observed":
        return (
            f"an observed hour ({shape}, {m.concurrency or m.batch_size} requests running, "
            f"{m.throughput_rps:g} rps per replica)"
        )
    return f"measurements[{index}] ({shape}, concurrency {m.concurrency or m.batch_size})"


def observed_from_profile(
    s: LlmSetup,
    measured: Sequence[Measurement],
    accelerators: dict[str, Accelerator],
    classes: Sequence[TokenClass],
    node_gpus: Mapping[str, int] | None = None,
    positions: Sequence[int] | None = None,
) -> tuple[list[Observed], list[str]]:
    """Measured / imported profile points as calibration observations. Each needs its tokens
    (``input_tokens``/``output_tokens`` on the point, or its ``request_class`` among
    ``classes``, or the only class), an accelerator the table knows and, with ``node_gpus``,
    a GPU count one node holds (as :func:`estimate_points` leaves such shapes out).
    ``positions``: each point's index in its profile file's ``measurements`` (the skipped
    notes name it; None: its index in ``measured``)."""
    obs: list[Observed] = []
    skipped: list[str] = []
    by_name = {c.name: c for c in classes}
    for i, m in enumerate(measured):
        if m.source not in ("measured", "imported"):
            continue
        label = point_label(m, positions[i] if positions is not None else i)
        acc = accelerators.get(m.accelerator)
        if acc is None:
            skipped.append(f"{label} is left out: accelerator not in the table")
            continue
        too_many = beyond_one_node(acc.name, m.gpus, node_gpus)
        if too_many:
            # it calibrated as one 16-GPU NVLink node, a shape profile llm --gpus 16 leaves out
            skipped.append(f"{label} is left out: {too_many}")
            continue
        mix, served = class_mix(m, by_name)
        if m.class_shares and not mix:
            named = ", ".join(sorted(m.class_shares))
            skipped.append(
                f"{label} is left out: none of its classes ({named}) is a class of the spec "
                "with its tokens"
            )
            continue
        if mix:  # the classes' mix: its mean tokens, for the notes and the tok/s
            mean_in = max(1, round(sum(w * i for w, i, _ in mix)))
            cls = TokenClass("mix", mean_in, max(1, round(sum(w * o for w, _, o in mix))))
        elif m.input_tokens and m.output_tokens:
            cls = TokenClass(m.request_class or "measured", m.input_tokens, m.output_tokens)
        elif m.request_class in by_name:
            cls = by_name[m.request_class]
        elif len(classes) == 1:
            cls = classes[0]
        else:
            skipped.append(f"{label} is left out: its tokens are unknown (give input_tokens/output_tokens or a request_class of the spec)")
            continue
        try:
            shape = size(s, acc, m.gpus, served or [cls])
        except Refusal as exc:
            # a measurement cannot take the model's fix (more GPUs): a TP run imported as one
            one = (
                " (it was imported as a run on one GPU: a tensor-parallel run is imported with "
                "`scaleplan profile import --gpus N`)"
                if m.source == "imported" and m.gpus == 1
                else ""
            )
            skipped.append(f"{label} is left out: {exc}{one}")
            continue
        ttft = (m.ttft_ms.mean or m.ttft_ms.p50) if m.ttft_ms else None
        tpot = (m.tpot_ms.mean or m.tpot_ms.p50) if m.tpot_ms else None
        too_fast = faster_than_the_weights(shape.deployment, tpot) or beyond_the_peak(
            shape.deployment, cls.input_tokens, cls.output_tokens, m.throughput_rps)
        out_tokens = sum(w * o for w, _, o in mix) if mix else cls.output_tokens
        if too_fast:
            skipped.append(f"{label} is left out: {too_fast}")
            continue
        run = point_reading(m)
        obs.append(
            Observed(
                deployment=shape.deployment,
                input_tokens=cls.input_tokens,
                output_tokens=cls.output_tokens,
                # a queued run holds its running sequences in service, the rest wait
                concurrency=run.running or m.concurrency or m.batch_size,
                ttft_ms=ttft or None,
                tpot_ms=tpot or None,
                output_tokens_per_s=m.throughput_rps * out_tokens,
                lower_bound=run.lower_bound,
                queued=run.queued,
                label=label,
                # a sweep at an offered rate is open loop: its arrivals do not cluster (with a
                # queue, the engine's batch is refilled as sequences end: steady)
                kind="open_loop" if m.offered_rps is not None and not run.queued else "steady",
                mix=mix,
            )
        )
    return obs, skipped


def class_mix(m: Measurement, by_name: Mapping[str, TokenClass]) -> tuple[Mix, list[TokenClass]]:
    """A point that served several of the spec's classes (``class_shares``: an observed hour of
    a running service) as the calibration prices it, (share, prompt, output tokens) per class
    (:func:`scaleplan.llm.mix.serve_mix`), and those classes (its replica is sized for them);
    empty for a point of one class, or when none of its classes is the spec's."""
    named = [(w, by_name[c]) for c, w in sorted((m.class_shares or {}).items())
        if c in by_name and w > 0]
    if not named:
        return (), []
    mix = normalized([(w, c.input_tokens, c.output_tokens) for w, c in named])
    return mix, [c for _, c in named]


def faster_than_the_weights(d: Deployment, tpot_ms: float | None) -> str | None:
    """Why a measured TPOT cannot be of ``d``'s model on its GPUs, or None. Each decode step
    reads at least the weights one token passes through (embeddings aside; an MoE's active
    experts), split over the GPUs, at no more than the GPU's datasheet bandwidth: a mean TPOT
    below that is a run of another (smaller) model, on more GPUs than recorded, or with
    speculative decoding (UX trial 36: an opt-125m run calibrated a 70B plan)."""
    a, bpp = d.arch, BYTES_PER_PARAM[d.dtype]
    read = a.attention_params * attention_bytes_per_param(d.dtype) + a.active_ffn_params * bpp
    floor_ms = read / d.gpus / (d.hw.bandwidth_gbs * 1e9) * 1e3
    if tpot_ms is None or tpot_ms >= floor_ms:
        return None
    return (
        f"its TPOT {tpot_ms:.3g} ms is below {floor_ms:.3g} ms, the time to read {a.name}'s "
        f"{d.dtype} weights once on {d.gpus} x {d.hw.name} ({read / d.gpus / 1e9:.1f} GB per GPU "
        f"at {d.hw.bandwidth_gbs:,.0f} GB/s, the datasheet peak): no decode step of this model "
        "is that fast there, so the run was of a smaller model, on more GPUs than the profile "
        "records (profile import --gpus), or with speculative decoding"
    )


def beyond_the_peak(
    d: Deployment, input_tokens: int, output_tokens: int, rps: float | None
) -> str | None:
    """Why a measured rate cannot be of ``d``'s model on its GPUs, or None. Every prompt and
    generated token passes through the linear layers (an MoE's active experts; embeddings and
    attention aside), 2 FLOPs a weight, and no GPU multiplies faster than its dense tensor peak
    at the precision: a served rate needing more is a run whose prompts were not all computed
    (a prefix cache reusing repeated prompts), of a smaller model, or on more GPUs than
    recorded. aiconfigurator's Qwen3-32B NVFP4 runs of 15,000-token prompts at 416-448 clients
    on two B200 / GB200 (TTFT 0.7-1.0 s, TPOT 13-14 ms) need 3.0-3.1 x the peak."""
    a = d.arch
    linear = a.linear_params
    need = 2.0 * linear * (input_tokens + output_tokens) * (rps or 0.0)
    peak = d.hw.compute_peak_tflops(d.dtype) * 1e12 * d.gpus
    if need <= peak:
        return None
    return (
        f"its {rps:.3g} requests/s of {input_tokens:,} + {output_tokens:,} tokens need at least "
        f"{need / 1e15:.3g} PFLOP/s in {a.name}'s linear layers (2 FLOPs x {linear / 1e9:.1f} B "
        f"weights a token), above the {peak / 1e15:.3g} PFLOP/s {d.dtype} dense peak of "
        f"{d.gpus} x {d.hw.name}: its prompts were not all computed (a prefix cache reused "
        "repeated prompts), or the run was of a smaller model or on more GPUs than the profile "
        "records (profile import --gpus)"
    )


def calibration_from(
    s: LlmSetup,
    measured: Sequence[Measurement],
    accelerators: dict[str, Accelerator],
    classes: Sequence[TokenClass],
    node_gpus: Mapping[str, int] | None = None,
    positions: Sequence[int] | None = None,
    prior: float = PRIOR,
) -> tuple[Calibration | None, list[str]]:
    """The calibration the measured / imported points give (None when they give none), and
    notes: the points skipped and the fit (profile llm, the optimizer); ``prior``: the fit's
    pull towards the documented factors (:func:`fit_prior`)."""
    obs, skipped = observed_from_profile(s, measured, accelerators, classes, node_gpus, positions)
    notes = [f"calibration: {x}" for x in skipped]
    fitted, cal_notes = calibrate(obs, prior=prior)
    if prior == LIGHT_PRIOR and fitted.calibrated:
        notes.append(OWN_HOURS)
    notes.extend(cal_notes)
    return (fitted if fitted.calibrated else None), notes


def _no_shape(s: LlmSetup, gpus: Sequence[int], reasons: str) -> Problem:
    """Why no shape serves: --gpus where none of its counts splits the model (the fix is
    another count: those up to 8, or the largest asked, that split it), else MODEL."""
    pp = s.pipeline_parallel
    if any(splits(s.arch, pp, g) for g in gpus):
        return Problem("MODEL", "no shape can serve: " + reasons)
    fits = [str(g) for g in range(1, max(8, *gpus) + 1) if splits(s.arch, pp, g)]
    hint = f"give --gpus a count that splits {s.arch.name}: {', '.join(fits)}"
    return Problem("--gpus", "no shape can serve: " + reasons, hint=hint)


OWN_HOURS = (
    "calibration: every point is an hour of the running service on the GPUs the plan may buy"
    " (placement.accelerators), so the fit follows them: no prior holds its scales near the"
    " documented factors (that prior keeps a few points measured on one GPU from dragging"
    " other GPUs' estimates; docs/observe.md)"
)


def fit_prior(measured: Sequence[Measurement], placed: Sequence[str] | None) -> float:
    """The calibration's pull towards the documented factors: :data:`PRIOR`, which keeps a few
    points measured on one GPU (often in another mode) from dragging the estimates of the
    other GPUs the scales apply to; :data:`LIGHT_PRIOR` where every point is an hour of the
    running service (``optimize --observed``) and the plan may buy only the GPUs they ran on
    (``placed``: placement.accelerators), whose estimates the fit should follow. UX trial 29
    F2 (Mixtral-8x7B, A100 TP8, 24 hours served 1.2 x slower): with the prior the fit kept
    compute at x1.00 against a TTFT 14 % above its prediction in every hour (on A100 the
    compute scale acts only below x0.83, the prior charges it from x1) and re-planned 18 %
    more capacity per replica than the slower server holds."""
    own = {m.accelerator for m in measured}
    hours = bool(measured) and all(m.device == "observed" for m in measured)
    return LIGHT_PRIOR if hours and placed and set(placed) <= own else PRIOR


def llm_profile(
    s: LlmSetup,
    accelerators: Sequence[Accelerator],
    gpus: Sequence[int],
    classes: Sequence[TokenClass],
    concurrencies: Sequence[int],
    *,
    model_ref: str,
    measured: Sequence[Measurement] = (),
    table: dict[str, Accelerator] | None = None,
    command: str | None = None,
    node_gpus: Mapping[str, int] | None = None,
    positions: Sequence[int] | None = None,
) -> tuple[Profile, tuple[str, ...]]:
    """The whole ``scaleplan profile llm`` result: a Profile (estimated or calibrated points,
    plus the measured points it was calibrated on) and notes (refusals, skipped points).

    Raises InputError (exit 3) when an accelerator cannot run the dtype at all, or when no
    shape can serve (the model or one full-length sequence fits nowhere): nothing is written.
    """
    for acc in accelerators:
        try:
            hw = hardware_for(acc)
        except Refusal as exc:
            raise InputError(None, [Problem("--accelerators", str(exc), hint="add the missing specs in a --catalog file, or drop the accelerator")]) from None
        try:
            hw.compute_peak_tflops(s.dtype)
        except UnsupportedDtype as exc:
            # --dtype against --accelerators is refused before (a usage error): here the dtype
            # is the model's own precision or the spec's model.dtype
            runs = ", ".join(hw.runs())
            own = s.dtype == s.arch.native_dtype
            whose = f"{s.arch.name}'s own precision" if own else "the spec's model.dtype"
            hint = f"drop {acc.name} from --accelerators or pick a dtype it runs with --dtype ({runs})"
            problem = Problem("--accelerators", f"{s.dtype} ({whose}): {exc}", hint=hint)
            raise InputError(None, [problem]) from None
    cal, notes = calibration_from(s, measured, dict(table or {a.name: a for a in accelerators}), classes, node_gpus, positions)
    notes[:0] = [w for w in (proxy_warning(hardware_for(a)) for a in accelerators) if w]
    cals = {a.name: cal for a in accelerators} if cal else None
    result = estimate_points(s, accelerators, gpus, classes, concurrencies, calibrations=cals, node_gpus=node_gpus)
    if not result.measurements:
        # once each: a TP degree that splits no head count fails alike on every GPU
        reasons = dict.fromkeys(result.refusals or result.notes)
        raise InputError(None, [_no_shape(s, gpus, "; ".join(reasons))])
    notes.extend(result.refusals)
    notes.extend(result.notes)
    if any(c > 1 for c in concurrencies):
        notes.append(
            "TTFT is for requests arriving at a rate (Poisson), as plans are sized; a benchmark of "
            "N clients in a closed loop, whose requests end and return together, measures more at "
            "the same concurrency (docs/llm.md, arrival clustering)"
        )
    keep = [m for m in measured if m.source in ("measured", "imported")]
    prof = make_profile(
        model=s.arch.name,
        measurements=[*keep, *result.measurements],
        target=model_ref,
        kind="llm-estimate",
        dtype=s.dtype,
        command=command,
        notes=notes,
        weights_gib=round(weight_bytes(s.arch, s.dtype) / GIB, 3),
    )
    prof = prof.model_copy(update={"metadata": prof.metadata.model_copy(update={"architecture": model_ref})})
    return prof, tuple(notes)
