"""LLM capacity per candidate shape, from the LLM room (:mod:`scaleplan.llm`).

When the spec sets ``model.architecture``, a GPU shape's capacity per request class comes from
the class's tokens: the replica is sized (weights, KV cache; shapes that cannot hold the model
or one full-length sequence are refused), every TP degree that divides the node is tried (not
only the profiled ones), and the concurrency is the highest that holds the TTFT / TPOT /
latency SLO at the spec's percentile with the upper end of the uncertainty band. One replica
runs one ``max_num_seqs``: the smallest of the classes' concurrencies, and every class is
predicted at it. Measured points in the profile calibrate the model (one calibration for all
accelerators; an open-loop point that served less than it offered is a lower bound, never
the capacity, unless a queue held it there).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.catalog.model import Accelerator
from scaleplan.llm.arch import another_model
from scaleplan.llm.cobatch import cobatched, routed_mix
from scaleplan.llm.estimate import calibration_from, class_measurement, fit_prior
from scaleplan.llm.memory import Refusal, ShapeRefusal
from scaleplan.llm.perf import Calibration, ClassPerf
from scaleplan.llm.seqbound import SeqBound, alone_bound, cobatched_bound
from scaleplan.llm.serving import (
    LlmSetup,
    Shape,
    TokenClass,
    best_concurrency,
    predict,
    queue_fed_rates,
    served_names,
    setup_from_spec,
    size,
    slo_verdict,
    token_classes_of,
)
from scaleplan.plan import Allocation, LlmClassPrediction, LlmServing
from scaleplan.profile.model import Measurement, Profile
from scaleplan.spec import Slo, Spec
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.llm.arch import Architecture
    from scaleplan.solve.candidates import Diagnostics


@dataclass(frozen=True)
class LlmContext:
    """What the candidate stage needs to size LLM shapes."""

    setup: LlmSetup
    classes: tuple[TokenClass, ...]
    calibration: Calibration | None
    notes: tuple[str, ...]


def token_classes(spec: Spec) -> tuple[TokenClass, ...] | None:
    """The spec's classes by tokens (None when a class lacks them)."""
    if not spec.traffic.classes:
        return None
    if not all(c.input_tokens and c.output_tokens for c in spec.traffic.classes):
        return None
    return tuple(token_classes_of(spec.traffic.classes))


def architecture_record(spec: Spec, ctx: LlmContext) -> dict[str, object] | None:
    """What the plan records of a config.json architecture (``Plan.architecture``): its facts,
    with the path as the spec gives it, so that ``simulate`` needs neither the file nor the
    spec's folder. None for a preset (the spec's name resolves it from the shipped table)."""
    import dataclasses

    from scaleplan.llm.arch import is_config_path

    ref = spec.model.architecture
    if ref is None or not is_config_path(ref):
        return None
    return dataclasses.asdict(dataclasses.replace(ctx.setup.arch, source=f"config.json: {ref}"))


def llm_context(
    spec: Spec,
    profile: Profile | None,
    accelerators: Sequence[Accelerator],
    base: Path | None,
    node_gpus: Mapping[str, int] | None = None,
) -> LlmContext | None:
    """None unless the spec names an architecture. Raises InputError (bad architecture, a
    class without tokens). ``node_gpus``: the most of an accelerator one catalog instance
    holds (measured points of more calibrate nothing)."""
    if spec.model.architecture is None:
        return None
    s = setup_from_spec(spec.model, base)
    # no profile (an architecture-only spec): nothing measured, the model is uncalibrated;
    # points of another precision than the plan's are left out (llm_inputs)
    from scaleplan.llm_inputs import calibrating_points, file_positions

    points, precision = calibrating_points(profile, s)
    classes = token_classes(spec)
    if classes is None:
        from scaleplan.errors import Problem, SpecError

        if spec.traffic.classes:
            raise SpecError(None, [Problem("traffic.classes", "with model.architecture every class "
                "needs input_tokens and output_tokens", hint="give each class its typical prompt "
                "and completion length")])
        # one class from the profile's tokens (every point's: another precision's runs still
        # say what the traffic is), else a chat-like default
        every = profile.measurements if profile is not None else ()
        toks = [(m.input_tokens, m.output_tokens) for m in every if m.input_tokens
            and m.output_tokens]
        i, o = toks[0] if toks else (1024, 256)
        classes = (TokenClass("default", i, o),)
    too_long = s.context_problem(classes, spec.traffic.classes, spec.slo.percentile)
    if too_long is not None:
        from scaleplan.errors import SpecError

        raise SpecError(None, [too_long])
    # the skipped-point notes name each point's index in the profile file
    measured = [m for m in points if m.source in ("measured", "imported")]
    cal, notes = calibration_from(
        s, measured, {a.name: a for a in accelerators}, classes, node_gpus,
        file_positions(profile, measured), fit_prior(measured, spec.placement.accelerators),
    )
    given = sum(1 for m in measured if m.device == "observed")  # optimize --observed's hours
    out = sum(1 for n in notes if n.startswith("calibration: an observed hour ("))
    if given and out == given:  # replan's label says they were given, not that they calibrate
        notes.append(
            f"calibration: every one of the {counted(given, 'observed hour')} optimize "
            "--observed gave is left out (each 'calibration: an observed hour' warning says "
            "why): the plan is not "
            "calibrated with the running service"
        )
    other = None
    # the profile's own points only: optimize --observed adds the running service's hours, of
    # the model planned, beside points of another precision left out (UX trial 23)
    if profile is not None and any(m.device != "observed" for m in measured):
        other = another_model(profile.metadata.model, s.arch, served_names(spec.model))
    default_len = s.default_len_note(classes)  # the server refuses longer requests
    unused = estimates_only(profile, s.arch, served_names(spec.model))
    notes = [*([other] if other else []), *([unused] if unused else []), *precision, *notes]
    notes += [default_len] if default_len else []
    return LlmContext(setup=s, classes=classes, calibration=cal, notes=tuple(notes))


# how the warning of an LLM plan begins when model.profile holds estimates only
ESTIMATES_ONLY = "model.profile holds no measured point"


def estimates_only(
    profile: Profile | None, arch: Architecture, served: Sequence[str]
) -> str | None:
    """A note when ``model.profile`` holds no measured point, only estimates (``profile llm``
    output): the LLM model sizes the plan from model.architecture and nothing calibrates it,
    whichever model the estimates were of (UX trial 31 F3: another model's 74 estimated points
    read "ok (74 profile points ...)" and the plan said "capacity from estimated profile
    points", which it ignored). None when the profile has a measured point or no point."""
    from scaleplan.llm_inputs import own_points

    if profile is None or own_points(profile.measurements):
        return None
    est = [m for m in profile.measurements if m.device != "observed"]
    if not est:
        return None
    of = profile.metadata.architecture or profile.metadata.model
    other = another_model(of, arch, served)
    whose = f" of {of!r}, not of the model planned ({arch.name!r})" if other else ""
    return (
        f"{ESTIMATES_ONLY}, only estimates ({counted(len(est), 'point')}"
        f"{whose}), which calibrate nothing: the LLM model sizes the plan from "
        "model.architecture alone, as with no profile (give measured points, `scaleplan "
        "profile import`, to calibrate it; docs/llm.md, Calibration)"
    )


@dataclass(frozen=True)
class LlmShapePoints:
    """One sized shape: per class the measurement-like point the SLO check and queueing
    derating run on, and the server configuration the plan records."""

    points: tuple[tuple[str, Measurement], ...]
    serving: LlmServing
    # the classes the shape cannot serve even one at a time, with that prediction (the
    # diagnosis of an infeasible spec weighs them with every other shape's misses)
    misses: tuple[tuple[str, ClassPerf], ...] = ()
    # per class, requests/s with 1 ... max_num_seqs sequences in flight (queue_fed_rates)
    rates: tuple[tuple[str, tuple[float, ...]], ...] = ()


def slo_miss(spec: Spec, p: ClassPerf, cls: str | None = None) -> tuple[str, float]:
    """Which SLO metric a concurrency-1 prediction of class ``cls`` misses and its value as the
    check saw it (:func:`scaleplan.llm.serving.slo_verdict`, the test the shapes were sized
    with), against the class's SLO (:meth:`scaleplan.spec.Spec.slo_of`)."""
    slo = spec.slo_of(cls)
    miss, value = slo_verdict(
        p, ttft_ms=slo.ttft_ms, tpot_ms=slo.tpot_ms, latency_ms=slo.tested_latency_ms,
        percentile=slo.percentile, conservative=spec.placement.conservative,
    )
    return miss or "latency", value


SLO_METRICS = ("ttft", "tpot", "latency")


def slo_misses(spec: Spec, p: ClassPerf, cls: str | None = None) -> dict[str, float]:
    """Every SLO metric a concurrency-1 prediction of class ``cls`` misses, with its value as
    tested: each metric alone through :func:`scaleplan.llm.serving.slo_verdict` (which stops at
    the first miss; the diagnosis needs to know which metrics no shape meets)."""
    slo, out = spec.slo_of(cls), {}
    limits = {"ttft": slo.ttft_ms, "tpot": slo.tpot_ms, "latency": slo.tested_latency_ms}
    for metric, limit in limits.items():
        if limit is None:
            continue
        one = {k: (limit if k == metric else None) for k in limits}
        miss, value = slo_verdict(
            p, ttft_ms=one["ttft"], tpot_ms=one["tpot"], latency_ms=one["latency"],
            percentile=slo.percentile, conservative=spec.placement.conservative,
        )
        if miss is not None:
            out[metric] = value
    return out


def shape_points(ctx: LlmContext, spec: Spec, acc: Accelerator, gpus: int,
        gpu_memory_gib: float | None) -> LlmShapePoints | ShapeRefusal | dict[str, ClassPerf]:
    """The shape's points; the refusal when it cannot serve; or, when some class
    misses the SLO even at concurrency 1, the concurrency-1 predictions of those classes."""
    if spec.has_class_slos:
        targets = tuple(_targets(spec.slo_of(c.name)) for c in ctx.classes)
        return _class_shape_points(
            ctx, targets, spec.slo.percentile, acc, gpus, gpu_memory_gib,
            spec.placement.conservative, routed_mix(spec, ctx.classes),
        )
    return _shape_points(ctx, spec.slo.ttft_ms, spec.slo.tpot_ms, spec.slo.tested_latency_ms,
        spec.slo.percentile, acc, gpus, gpu_memory_gib, spec.placement.conservative)


Targets = tuple[float | None, float | None, float | None]  # TTFT, TPOT, tested latency (ms)


def _targets(slo: Slo) -> Targets:
    return slo.ttft_ms, slo.tpot_ms, slo.tested_latency_ms


@functools.lru_cache(maxsize=4096)
def _class_shape_points(
    ctx: LlmContext, targets: tuple[Targets, ...], pct: int, acc: Accelerator, gpus: int,
    gmem: float | None, conservative: bool = False, mix: tuple[float, ...] | None = None,
) -> LlmShapePoints | ShapeRefusal | dict[str, ClassPerf]:
    """:func:`_shape_points` for a spec whose classes have SLOs of their own (``targets``, in
    ``ctx.classes``' order): every class the shape serves is tested against its own targets as
    co-batched with the others (:func:`scaleplan.llm.cobatch.cobatched`; ``mix``: the shares
    every replica is sent, None where routing decides), and ``max_num_seqs`` is the most
    sequences at which all of them hold. Each class alone bounds it first (its own targets;
    with ``mix`` None the tightest TPOT of the classes served, which any batch's steps must
    then hold); a bisection below that finds the most at which the co-batched predictions
    hold. Under the blend a heavier class runs faster co-batched than alone, so where its alone
    bound is the least it caps ``max_num_seqs`` conservatively (not on
    tests/data/specs/class-slo.yaml: chat's co-batched TPOT binds at 9-25 sequences, the
    summaries alone at 20-45)."""
    try:
        shape = size(
            ctx.setup, acc, gpus, ctx.classes, gpu_memory_gib=gmem, calibration=ctx.calibration
        )
    except Refusal as exc:
        return ShapeRefusal.of(exc)
    mine = dict(zip((c.name for c in ctx.classes), targets, strict=True))

    def best(cls: TokenClass, t: float | None, o: float | None, e: float | None) -> int | None:
        p = best_concurrency(shape, ctx.setup, cls, ttft_ms=t, tpot_ms=o, latency_ms=e,
                             percentile=pct, conservative=conservative)
        return None if p is None else p.concurrency

    alone = {c.name: best(c, *mine[c.name]) for c in ctx.classes}  # each class alone
    # a class the shape cannot serve even alone, one at a time
    misses = {c.name: predict(shape, c, 1) for c in ctx.classes if alone[c.name] is None}
    served = [c for c in ctx.classes if c.name not in misses]
    if not served:
        return misses
    tightest = min((o for c in served if (o := mine[c.name][1]) is not None), default=None)
    share = None if mix is None else dict(zip((c.name for c in ctx.classes), mix, strict=True))
    bound = []
    for cls in served:
        t, o, e = mine[cls.name]
        if share is None and o != tightest:  # its own bound, at the tightest TPOT served
            bound.append(best(cls, t, tightest, e) or 1)
        else:  # at its own targets: the search above
            bound.append(alone[cls.name] or 1)
    served_mix = None if share is None else [share[c.name] for c in served]

    def holds(n: int) -> dict[str, ClassPerf] | None:
        perf = cobatched(shape, served, n, pct, served_mix)
        for c in served:
            t, o, e = mine[c.name]
            miss, _ = slo_verdict(perf[c.name], ttft_ms=t, tpot_ms=o, latency_ms=e,
                                  percentile=pct, conservative=conservative)
            if miss is not None:
                return None
        return perf

    held, missed = 1, min(bound)
    kept = holds(1) or cobatched(shape, served, 1, pct, served_mix)  # one at a time: alone
    top = holds(missed) if missed > 1 else None
    if top is not None:
        held, kept = missed, top
    else:
        while missed - held > 1:
            mid = (held + missed) // 2
            at = holds(mid)
            if at is None:
                missed = mid
            else:
                held, kept = mid, at
    # what binds: the co-batched predictions one above, else the class whose bound alone is
    # the least (at the targets that bound was searched at)
    used = {c.name: (mine[c.name] if share is not None or mine[c.name][1] == tightest
                     else (mine[c.name][0], tightest, mine[c.name][2])) for c in served}
    why: SeqBound | None = None
    if held < min(bound):
        why = cobatched_bound(shape, served, held, mine, pct, served_mix, conservative)
    if why is None:
        first = served[bound.index(min(bound))]
        of = None if used[first.name][1] == mine[first.name][1] else next(
            c.name for c in served if mine[c.name][1] == tightest)  # another class's TPOT
        why = alone_bound(shape, ctx.setup, first, held, used[first.name], pct, conservative,
                          tpot_of=of)
    return _points_at(ctx, shape, served, held, kept, pct, misses, why)


def _points_at(
    ctx: LlmContext, shape: Shape, served: Sequence[TokenClass], n: int,
    perf: Mapping[str, ClassPerf], pct: int, misses: Mapping[str, ClassPerf],
    bound: SeqBound | None = None,
) -> LlmShapePoints:
    """The shape's points, serving and rates at ``n`` sequences, from the predictions ``perf``
    of the classes it serves (``misses``: those it cannot, with their concurrency-1 ones;
    ``bound``: what binds ``n``, attached to the serving, not written to plan.yaml)."""
    points, rates = [], []
    preds: dict[str, LlmClassPrediction] = {}
    for cls in served:
        p = perf[cls.name]
        rates.append((cls.name, queue_fed_rates(shape, cls, n)))
        points.append((cls.name, class_measurement(shape, cls, p, basis=p.basis, rounded=False)))
        preds[cls.name] = LlmClassPrediction(
            concurrency=n, ttft_ms=round(p.ttft_ms, 3), tpot_ms=round(p.tpot_ms, 4),
            throughput_rps=round(p.throughput_rps, 6),
            output_tokens_per_s=round(p.output_tokens_per_s, 3), **_slo_prompt(p, pct),
        )
    mem = shape.memory
    st = ctx.setup.settings
    serving = LlmServing(
        tensor_parallel=shape.tp,
        pipeline_parallel=shape.pp,
        max_num_seqs=n,
        max_model_len=mem.max_model_len,
        gpu_memory_utilization=st.gpu_memory_utilization,
        block_size=st.block_size,
        max_num_batched_tokens=st.max_num_batched_tokens,
        kv_cache_tokens=mem.kv_cache_tokens,
        weights_gib_per_gpu=round(mem.weights_gib_per_gpu, 3),
        classes=preds,
    ).with_bound(bound)
    return LlmShapePoints(
        points=tuple(points), serving=serving, misses=tuple(misses.items()), rates=tuple(rates)
    )


@functools.lru_cache(maxsize=4096)
def _shape_points(ctx: LlmContext, ttft: float | None, tpot: float | None, latency: float | None,
        pct: int, acc: Accelerator, gpus: int, gmem: float | None,
        conservative: bool = False) -> LlmShapePoints | ShapeRefusal | dict[str, ClassPerf]:
    try:
        shape = size(ctx.setup, acc, gpus, ctx.classes, gpu_memory_gib=gmem,
            calibration=ctx.calibration)
    except Refusal as exc:
        return ShapeRefusal.of(exc)
    best: dict[str, ClassPerf] = {}
    misses: dict[str, ClassPerf] = {}
    for cls in ctx.classes:
        p = best_concurrency(shape, ctx.setup, cls, ttft_ms=ttft, tpot_ms=tpot, latency_ms=latency,
            percentile=pct, conservative=conservative)
        if p is None:
            misses[cls.name] = predict(shape, cls, 1)
        else:
            best[cls.name] = p
    if not best:
        return misses
    n = min(p.concurrency for p in best.values())
    served = [c for c in ctx.classes if c.name in best]
    first = next(c for c in served if best[c.name].concurrency == n)  # the class that binds
    why = alone_bound(shape, ctx.setup, first, n, (ttft, tpot, latency), pct, conservative)
    return _points_at(ctx, shape, served, n, {c.name: predict(shape, c, n) for c in served}, pct,
        misses, why)


def _slo_prompt(p: ClassPerf, pct: int) -> dict[str, float | int]:
    """A class with a length spread: the plan's record of the prompt its TTFT was tested at."""
    at = next(((i, t) for q, i, _, t in p.tail if q == pct), None)
    return {} if at is None else {"slo_input_tokens": at[0], "slo_ttft_ms": round(at[1], 3)}


def band_rates(spec: Spec, m: Measurement, rates: Sequence[float]) -> list[float]:
    """``rates`` (a class's requests/s with 1, 2, ... sequences in flight, at point ``m``) as
    capacity reads them: scaled by the low end of ``m``'s rate band over its central rate
    under placement.conservative, else as they are; zeros for a point with no rate.
    :func:`queue_derating` derates on them, and the pod the endpoint picker sees
    (``scaleplan.solve.llm_candidates._pool_member``) is made of them, so that a pool's split
    and its pods' capacities are on one basis."""
    if m.throughput_rps <= 0:
        return [0.0] * len(rates)
    base = m.throughput_low_rps() if spec.placement.conservative else m.throughput_rps
    return [t * base / m.throughput_rps for t in rates]


def queue_derating(spec: Spec, res: LlmShapePoints) -> dict[str, float]:
    """Per class, how busy (of its predicted throughput) one replica may run so that the
    p-th percentile wait for a slot fits the room the SLO leaves: one queue for the spec's
    class mix, on the replica's own rates.

    The replica is a birth-death chain (:func:`scaleplan.solve.queueing.max_rate_slots`)
    whose departure rate with n sequences in flight is the LLM model's at n
    (:func:`scaleplan.llm.serving.queue_fed_rates`: a replica that has queued keeps the
    cohorts its queue admitted together, so its rates are the queue-fed ones), for the
    class mix (a waiting request of any class waits for a slot any class frees) and within
    the smallest room any class leaves (TTFT or latency), its wait spread by how much the
    classes' holding times of a slot differ (M/G/c). Where routing decides a replica's mix
    (``kubernetes.class_header``: the MILP routes each class; inference-pool: the picker
    routes by queue and KV cache) it may see any mix: there the utilisation is a proven lower
    bound over every mix (:func:`scaleplan.solve.worstmix.worst_mix_utilization`; the spec's
    mix and a class alone were not the worst: 97/3 on a two-class H100 took 0.6 % less), and
    each class alone bounds it too. Until 2026-12-06 each class was derated alone as M/D/c
    slots at its open-loop rate: chat-aks's replica, planned at 5.40 req/s, attained
    93.0-95.8 % of its p95 in ``simulate`` (four seeds, 15,000 requests a class);
    docs/optimizer.md. A class with no positive rate with every slot busy (or no rate at
    all) is left out, as one the shape has no point for (the shape then does not serve it);
    a class at rate 0 at some count makes the mix's rate 0 there (the limit of 1 / sum
    share / rate), so no rate of 0 divides (before 2026-12-06: ZeroDivisionError)."""
    from scaleplan.solve.oppoints import slo_room
    from scaleplan.solve.queueing import max_rate_slots
    from scaleplan.solve.worstmix import worst_mix_utilization

    shares = {c.name: c.share for c in spec.traffic.classes}
    rooms = {c: slo_room(spec, m) for c, m in res.points}
    by_class = dict(res.rates)
    # the low end of a point's rate (placement.conservative) scales its rates alike
    scaled = {c: band_rates(spec, m, by_class.get(c, ())) for c, m in res.points}
    kept = [(c, m) for c, m in res.points if rooms[c] >= 0 and scaled[c] and scaled[c][-1] > 0]
    if not kept:
        return {}
    rates = {c: scaled[c] for c, _ in kept}
    weight = {c: shares.get(c, 1.0) for c, _ in kept}
    whole = sum(weight.values())
    slots = min(len(rates[c]) for c, _ in kept)
    mix = [
        0.0
        if any(rates[c][k] <= 0 for c, _ in kept)
        else whole / sum(weight[c] / rates[c][k] for c, _ in kept)
        for k in range(slots)
    ]
    # a slot's holding time per class (its sequences' cycle at the slots), spread over the mix
    hold = {c: slots / rates[c][-1] for c, _ in kept}
    mean = sum(weight[c] * hold[c] for c, _ in kept) / whole
    cs2 = sum(weight[c] * hold[c] ** 2 for c, _ in kept) / whole / mean**2 - 1.0
    pct = spec.slo.percentile
    u = max_rate_slots(mix, min(rooms[c] for c, _ in kept), pct, cs2) / mix[-1]
    k8s = spec.kubernetes
    apart = k8s.routing == "inference-pool" or (
        k8s.routing == "gateway-api" and k8s.class_header is not None
    )
    if apart and len(kept) > 1:  # any mix, not only the spec's (solve.worstmix)
        room = min(rooms[c] for c, _ in kept)
        u = min(u, worst_mix_utilization([rates[c] for c, _ in kept], room, pct))
    busy = {
        c: min(u, max_rate_slots(rates[c], rooms[c], pct) / rates[c][-1]) if apart else u
        for c, _ in kept
    }
    # of the point's own (open-loop) throughput, as every max_utilization is
    return {
        c: math.floor(busy[c] * by_class[c][-1] / m.throughput_rps * 10_000) / 10_000
        for c, m in kept
    }


def llm_explanation(spec: Spec, allocations: Sequence[Allocation]) -> list[str]:
    """One line per LLM allocation: why its replicas run the concurrency they do."""
    if spec.model.architecture is None:
        return []
    toks = {c.name: (c.input_tokens, c.output_tokens) for c in spec.traffic.classes}
    lines = []
    pct = spec.slo.percentile
    band = (" with the upper end of the model's uncertainty band" if spec.placement.conservative
        else " by the model's central prediction (placement.conservative: true plans on the "
        "band's upper end)")
    for a in allocations:
        if a.llm is None:
            continue
        x = a.llm
        per = ", ".join(
            f"{cls} ({toks[cls][0]:,}/{toks[cls][1]:,} tokens) TTFT {p.ttft_ms:.0f} "
                f"ms{_at_slo(p, pct)}, TPOT {p.tpot_ms:.1f} ms, {p.throughput_rps:.3g} req/s"
            if cls in toks and toks[cls][0] and toks[cls][1]
            else f"{cls} TTFT {p.ttft_ms:.0f} ms, TPOT {p.tpot_ms:.1f} ms, "
                f"{p.throughput_rps:.3g} req/s"
            for cls, p in x.classes.items()
        )
        lines.append(
            f"{a.name}: {a.accelerator} x{a.gpus_per_replica} (TP{x.tensor_parallel}) holds "
                f"{x.weights_gib_per_gpu:.1f} GiB of weights per GPU and "
            f"{x.kv_cache_tokens:,} tokens of KV cache (max_model_len {x.max_model_len:,}); it "
                f"runs {x.max_num_seqs} sequences at once, "
            f"the most that keep the p{pct} SLO{band}: {per} (mean predictions)."
        )
    return lines


def _at_slo(p: LlmClassPrediction, pct: int) -> str:
    """`` (893 ms at its p95 prompt, 8,228 tokens)`` for a class with a length spread."""
    if p.slo_ttft_ms is None or p.slo_input_tokens is None:
        return ""
    return f" ({p.slo_ttft_ms:.0f} ms at its p{pct} prompt, {p.slo_input_tokens:,} tokens)"


def tail_prompt(spec: Spec, cls: str) -> str:
    """`` at the joint p95 of its spread prompts (the p95 prompt: 6,026 tokens)`` for a class
    with a length spread, whose TTFT the SLO test takes at the joint percentile of prompt length
    and interference (:func:`scaleplan.llm.serving.at_percentile`); else empty."""
    pct = spec.slo.percentile
    named = [r for r in spec.traffic.classes if r.name == cls]  # its spread only, not every one's
    c = next((t for t in token_classes_of(named) if t.spread is not None), None)
    if c is None:
        return ""
    return (f" at the joint p{pct} of its spread prompts"
            f" (the p{pct} prompt: {c.input_at(pct):,} tokens)")


def left_out(
    spec: Spec, used: set[str], why_not: dict[str, str],
    missed: dict[str, tuple[int, str, str, float]],
) -> list[str]:
    """A warning for each accelerator the spec names in ``placement.accelerators`` that no
    candidate runs on (``used``: those some candidate runs on), with the LLM room's reason:
    the first refusal of its shapes (memory, dtype), or the SLO its shape nearest to holding it
    misses even with one request at a time. (An infeasible plan explains itself; a feasible
    one used to drop such an accelerator without a word.)"""
    notes: list[str] = []
    for acc in spec.placement.accelerators or ():
        if acc in used:
            continue
        if acc in missed:
            g, cls, metric, val = missed[acc]
            own = spec.slo_of(cls)  # the class's own targets where it has them
            slo = {"ttft": own.ttft_ms, "tpot": own.tpot_ms, "latency": own.tested_latency_ms}
            name = {"ttft": "TTFT", "tpot": "TPOT", "latency": "latency"}[metric]
            pct = spec.slo.percentile
            notes.append(
                f"{acc} is left out: no shape holds the SLO even with one request at a time "
                f"({counted(g, 'GPU')}, class {cls}: p{pct} {name} {val:.0f} ms"
                f"{tail_prompt(spec, cls) if metric == 'ttft' else ''} against {slo[metric]:g} ms)"
            )
        elif acc in why_not:
            notes.append(f"{acc} is left out: {why_not[acc]}")
    return notes


@dataclass
class LlmMisses:
    """Per class, the SLO metrics each LLM shape misses with one sequence, so that the
    diagnosis names a metric no shape meets. It named the first metric the first shape missed:
    'no accelerator meets p95 TTFT <= 1500 ms for class rag: the best is L4 at 1829 ms' (relax
    slo.ttft_ms to 1,830) when an H100 met that TTFT and every shape missed the TPOT."""

    # class -> metric -> (accelerator, ms, GPUs per replica) of the shape nearest it
    best: dict[str, dict[str, tuple[str, float, int]]] = field(default_factory=dict)
    met: dict[str, set[str]] = field(default_factory=dict)

    def note(self, cls: str, acc: str, gpus: int, missed: dict[str, float]) -> None:
        """One shape's (``gpus`` of ``acc``) misses for ``cls`` (empty: it serves the class)."""
        self.met.setdefault(cls, set()).update(m for m in SLO_METRICS if m not in missed)
        per = self.best.setdefault(cls, {})
        for metric, value in missed.items():
            if metric not in per or value < per[metric][1]:
                per[metric] = (acc, value, gpus)

    def diagnose(self, diag: Diagnostics) -> None:
        """``diag.slo_best`` (and ``slo_more``) per class: the metrics no shape meets, best
        value first; a class whose every metric some shape meets keeps the first miss."""
        for cls, per in self.best.items():
            out = [m for m in SLO_METRICS if m in per and m not in self.met.get(cls, set())]
            found = [(per[m][0], m, per[m][1], 1, per[m][2]) for m in out]
            if found:
                diag.slo_best[cls], diag.slo_more[cls] = found[0], found[1:]
