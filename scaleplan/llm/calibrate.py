"""Fit the model's efficiency scales to measured points.

A measured point (endpoint profile, vLLM / AIPerf / GenAI-Perf import) with its tokens,
concurrency and TTFT / TPOT / throughput tells how far the architecture-only prediction is off
on that GPU. :func:`calibrate` fits three scales (compute, memory, per-step overhead) that
minimise the squared log error over the usable points, on a fixed grid (deterministic), and
applies them to every accelerator: one measured GPU type calibrates the others. The scales
are per model and engine, never per accelerator.

An open-loop run (arrivals at an offered rate) is read by :func:`open_loop_reading`: one that
served what it offered is a steady point at its Little's-law concurrency; one that served less
is a lower bound on capacity (its drain tail, or a queue too short-lived to hold the rate down),
whose TTFT and TPOT still join the fit but whose rate does not, unless a queue held it at the
capacity for most of a long run; a queued run's TTFT (queueing) is left out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from scaleplan.llm.burst import burst
from scaleplan.llm.closed_loop import closed_loop
from scaleplan.llm.mix import Mix, serve_mix
from scaleplan.llm.perf import (
    BAND_CALIBRATED,
    TTFT_BAND_CALIBRATED,
    Calibration,
    Deployment,
    serve_class,
    static_batch,
)
from scaleplan.wording import counted

GRID = tuple(round(0.35 * 1.25**k, 4) for k in range(0, 9))  # 0.35 .. 2.09
OVERHEAD_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
FINE = (0.84, 0.92, 1.0, 1.09, 1.19)  # refinement steps around the coarse optimum
CAP = 1.5**2
# Weight of the prior that keeps each scale near the documented factors (a log-normal prior,
# maximum a posteriori): PRIOR x log(scale)^2 joins the squared log errors. With PRIOR = 2 a
# scale moves away from 1 only as far as about two values' worth of evidence pulls it: a few
# points measured on one GPU (often in another mode) cannot drag the other GPUs' estimates
# far. Chosen on the training rows of bench/llm_validation.py's calibrated-from-another-GPU
# estimate (0.1 .. 8 tried; docs/llm.md). LIGHT_PRIOR only keeps unconstrained scales at 1:
# for fits that must follow their points (the pooled per-(generation, engine) fit over up to
# 120 rows, the simulator reproducing a plan's own predictions).
PRIOR = 2.0
LIGHT_PRIOR = 1e-3
SATURATION = 0.95  # achieved / offered below this: the run served less than it offered
# An open-loop run that served less than it offered is overloaded (a queue grew) when its mean
# TTFT holds at least QUEUED x the mean wait its shortfall implies, and its rate is the capacity
# only when its drain tail (one request's time in service) is at most DRAIN of the run.
QUEUED = 0.25
DRAIN = 0.05


MeasuredAs = Literal["steady", "open_loop", "closed_loop", "static", "burst"]


@dataclass(frozen=True)
class Observed:
    """One measured point, reduced to what the fit needs (means or medians, in ms and req/s)."""

    deployment: Deployment
    input_tokens: int
    output_tokens: int
    concurrency: int
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens_per_s: float | None = None
    lower_bound: bool = False
    label: str = ""
    # the TTFT holds queueing (an overloaded open-loop run): left out of the fit
    queued: bool = False
    # how the point was measured: "steady" (``concurrency`` in flight, replaced as they end: a
    # closed loop or a full queue), "open_loop" (arrivals at a rate, ``concurrency`` in flight
    # on average), "closed_loop" (the scheduler replay of ``concurrency`` lockstep clients; at
    # most ``running`` sequences run at once), "static" (one fixed batch, no in-flight batching),
    # "burst" (``lengths``, (prompt, output) per request, all sent at once: the burst replay)
    kind: MeasuredAs = "steady"
    running: int | None = None
    lengths: tuple[tuple[int, int], ...] = ()
    # a closed loop ("steady") whose client drew each request's lengths (perf.DRAWN_CLUSTERING)
    drawn: bool = False
    # a replica serving several classes ("open_loop" / "steady"): (share of the requests,
    # prompt, output tokens) per class, its figures the mix's means (llm.mix.serve_mix);
    # input_tokens / output_tokens are then the mix's mean tokens, for the notes only
    mix: Mix = ()


def predicted(obs: Observed, cal: Calibration) -> tuple[float, float, float]:
    """(TTFT ms, TPOT ms, output tok/s) the model predicts for the point under ``cal``, by the
    way the point was measured."""
    d = obs.deployment.with_calibration(cal)
    if obs.kind == "static":
        first, tok_s = static_batch(d, obs.input_tokens, obs.output_tokens, obs.concurrency)
        return first, 0.0, tok_s
    if obs.kind == "burst":
        same = ((obs.input_tokens, obs.output_tokens),) * obs.concurrency
        b = burst(d, obs.lengths or same, cap=obs.running)
        return b.ttft_ms, b.tpot_ms, b.output_tokens_per_s
    if obs.mix and obs.kind in ("open_loop", "steady"):
        m = serve_mix(d, obs.mix, obs.concurrency, open_loop=obs.kind == "open_loop",
            drawn=obs.drawn)
        return m.ttft_ms, m.tpot_ms, m.output_tokens_per_s
    if obs.kind == "closed_loop":
        p = closed_loop(d, obs.input_tokens, obs.output_tokens, obs.concurrency, cap=obs.running)
    else:
        p = serve_class(d, obs.input_tokens, obs.output_tokens, obs.concurrency,
                        open_loop=obs.kind == "open_loop", drawn=obs.drawn)
    return p.ttft_ms, p.tpot_ms, p.output_tokens_per_s


@dataclass(frozen=True)
class OpenLoopReading:
    """How an open-loop run's figures read (:func:`open_loop_reading`)."""

    lower_bound: bool = False  # its rate is not the capacity (the server may serve more)
    queued: bool = False  # its TTFT holds queueing, not a service time
    running: int | None = None  # sequences in service (Little's law without the wait), when queued


def open_loop_reading(
    throughput_rps: float,
    offered_rps: float | None,
    *,
    requests: int | None = None,
    latency_ms: float | None = None,
    ttft_ms: float | None = None,
) -> OpenLoopReading:
    """What an open-loop run of ``requests`` at ``offered_rps`` that served ``throughput_rps``
    (completed / duration) with mean end-to-end latency and TTFT says of capacity.

    A run that served at least :data:`SATURATION` x its rate kept up: a steady point. One that
    served less either could not keep up (a queue grew: its TTFT holds the wait) or is short: its
    duration D = requests / served ends with a drain tail after the last arrival at A =
    requests / offered. Overloaded at capacity X, the backlog after the drain of one request's
    service S grows to D - A - S, and requests wait half of it on average: a mean TTFT under
    :data:`QUEUED` x that is no queue (the 70B run: 16 rps offered, 6.33 served over 200 prompts,
    D 31.6 s, A 12.5 s, S 6.8 s, wait implied 6.2 s, TTFT 60 ms: its rate is its drain tail).
    Only a queued run whose drain is at most :data:`DRAIN` of the run served at its capacity;
    anything else, or a run whose count or latency is unknown, is a lower bound."""
    if (offered_rps is None or not math.isfinite(offered_rps)
            or throughput_rps >= SATURATION * offered_rps):
        return OpenLoopReading()
    if not (requests and latency_ms and ttft_ms is not None):
        return OpenLoopReading(lower_bound=True)
    duration, arrivals = requests / throughput_rps, requests / offered_rps
    service = max(latency_ms - ttft_ms, 0.0) / 1000.0
    backlog = duration - arrivals - service
    if backlog <= 0 or ttft_ms / 1000.0 < QUEUED * backlog / 2:
        return OpenLoopReading(lower_bound=True)
    running = max(1, round(throughput_rps * service))
    return OpenLoopReading(lower_bound=service > DRAIN * duration, queued=True, running=running)


def unsaturated(throughput_rps: float, offered_rps: float | None,
        **run: float | int | None) -> bool:
    """Whether an open-loop point's rate is a lower bound on capacity, not the capacity
    (:func:`open_loop_reading`; ``run``: its requests, latency_ms and ttft_ms where known)."""
    return open_loop_reading(throughput_rps, offered_rps,
        **run).lower_bound  # type: ignore[arg-type]


def _errors(obs: Observed, cal: Calibration) -> list[float]:
    ttft, tpot, tok_s = predicted(obs, cal)
    errs = []
    # a lower bound's rate and a queued run's TTFT say nothing of the model's service times
    if obs.ttft_ms and not obs.queued:
        errs.append(math.log(ttft / obs.ttft_ms))
    if obs.tpot_ms and obs.output_tokens > 1 and obs.kind != "static":
        errs.append(math.log(tpot / obs.tpot_ms))
    if obs.output_tokens_per_s and not obs.lower_bound:
        errs.append(math.log(obs.output_tokens_per_s / tok_s))
    return errs


def _bound_notes(bounds: Sequence[Observed], usable: Sequence[Observed]) -> list[str]:
    """What :func:`calibrate` says of the lower-bound points (which of their values join)."""
    notes: list[str] = []
    if bounds:
        timed = [p for p in bounds if p in usable]
        # a queued run's TTFT holds its wait: only its TPOT joins (_errors)
        queued = sum(1 for p in timed if p.queued)
        what = (
            "TTFT and TPOT join" if not queued else "TPOT joins" if queued == len(timed)
            else "TPOT and, where no queue held them, TTFT join"
        )
        whose = ("its" if len(bounds) == 1 else "their" if len(timed) == len(bounds)
            else f"of {len(timed)}, the")
        kept = f"; {whose} {what} the fit" if timed else ""
        notes.append(
            f"{counted(len(bounds), 'open-loop point')} served less than offered without a queue at"
            " the capacity for most of the run (a drain tail, docs/llm.md): "
                f"{'a lower bound' if len(bounds) == 1 else 'lower bounds'} on"
            f" throughput, not the capacity{kept}"
        )
    return notes


def calibrate(points: Sequence[Observed], *, basis: str = "",
        prior: float = PRIOR) -> tuple[Calibration, tuple[str, ...]]:
    """Fitted scales and notes (lower bounds left out, and whether the fit still respects them);
    ``prior`` weighs the pull towards the documented factors (:data:`PRIOR`)."""
    def values(p: Observed) -> bool:  # anything left to fit once a bound's rate and a queue's TTFT are out
        tpot = p.tpot_ms and p.output_tokens > 1 and p.kind != "static"
        return bool((p.ttft_ms and not p.queued) or tpot
            or (p.output_tokens_per_s and not p.lower_bound))

    usable = [p for p in points if values(p)]
    bounds = [p for p in points if p.lower_bound]
    notes = _bound_notes(bounds, usable)
    if not usable:
        if bounds:
            notes.append(
                "calibration: none; every measured point is a lower bound, so the estimates stay"
                " architecture-only (measure with a fixed --max-concurrency, a closed loop; an"
                f" open-loop run counts when it serves at least {SATURATION:g} x the rate it"
                " offers, or offers more for long enough that a queue holds it at the capacity)"
            )
        return Calibration(), tuple(notes)

    def sse(c: float, m: float, o: float) -> float:
        cal = Calibration(compute=c, memory=m, overhead=o)
        # squared log error, capped per value (x4.5 off) so that one queueing-dominated point
        # cannot drag the fit
        return sum(min(e * e, CAP) for p in usable for e in _errors(p, cal))

    def cost(c: float, m: float, o: float) -> float:
        # the prior's pull towards 1 (the documented factors); PRIOR above
        return sse(c, m, o) + prior * (math.log(c) ** 2 + math.log(m) ** 2 + math.log(o) ** 2)

    # coarse grid, then a finer one around the coarse optimum (deterministic, no RNG)
    best: tuple[float, Calibration] | None = None
    for c, m, o in itertools.product(GRID, GRID, OVERHEAD_GRID):
        v = cost(c, m, o)
        if best is None or v < best[0] - 1e-12:
            best = (v, Calibration(compute=c, memory=m, overhead=o))
    assert best is not None
    b = best[1]
    for fc, fm, fo in itertools.product(FINE, FINE, FINE):
        c, m, o = round(b.compute * fc, 4), round(b.memory * fm, 4), round(b.overhead * fo, 4)
        v = cost(c, m, o)
        if v < best[0] - 1e-12:
            best = (v, Calibration(compute=c, memory=m, overhead=o))
    assert best is not None
    fitted, held, better = _held_at_one(best[1], sse)
    what = basis or measured_basis(usable)
    cal = Calibration(compute=fitted.compute, memory=fitted.memory, overhead=fitted.overhead,
        basis=what, points=len(usable), band=BAND_CALIBRATED, ttft_band=TTFT_BAND_CALIBRATED)
    for p in bounds:
        if p.output_tokens_per_s:
            pred = predicted(p, cal)[2]
            if pred < p.output_tokens_per_s:
                notes.append(f"{p.label or p.deployment.hw.name}: the calibrated capacity "
                    f"{pred:.0f} tok/s is below the lower bound {p.output_tokens_per_s:.0f} "
                    "tok/s measured")
    notes.append(f"calibration: compute x{cal.compute:.2f}, memory x{cal.memory:.2f}, step "
        f"overhead x{cal.overhead:.2f} from {what}{effective_note(usable, cal)}")
    notes += [held_note(held, usable)] if held else []
    notes += [better_note(better)] if better else []
    clustered = clustered_ttft(usable, cal)
    if clustered:
        notes.append(clustered)
    notes += as_measured(usable, cal, held=prior >= PRIOR)
    return cal, tuple(notes)


SCALES = ("compute", "memory", "overhead")
CLAMPED = 0.02  # a scale whose effect on the efficiency differs by more: a limit clamps it


def effective_note(usable: Sequence[Observed], cal: Calibration) -> str:
    """What the fitted compute and memory scales change on the measured GPU, where it differs
    from the scales themselves: the scales multiply the documented factors before the
    physical limits clamp them (GEMMs at most 90 % of the tensor peak, decode at most 92 %
    of HBM), and a factor documented above its limit (Ampere x vLLM's compute) moves only
    once the scale brings it below. UX trial 29 F2: "compute x0.55, memory x0.75" read as a
    server at half speed where its efficiency had moved x0.83 / x0.80 (A100 TP8, a history
    served 1.2 x slower). "" on several GPUs, or where nothing is clamped."""
    gpus = {
        (p.deployment.hw.name, p.deployment.settings.engine, p.deployment.dtype): p.deployment
        for p in usable
    }
    if len(gpus) != 1:
        return ""
    d = next(iter(gpus.values()))
    base = d.with_calibration(Calibration()).efficiency
    got = d.with_calibration(cal).efficiency
    c, m = got.compute / base.compute, got.memory / base.memory
    if abs(c - cal.compute) <= CLAMPED and abs(m - cal.memory) <= CLAMPED:
        return ""
    return (
        f"; on {d.hw.name} the documented factors sit at or near their physical limits, so "
        f"its efficiencies move compute x{c:.2f}, memory x{m:.2f}"
    )


def _held_at_one(
    fitted: Calibration, sse: Callable[[float, float, float], float]
) -> tuple[Calibration, tuple[str, ...], tuple[tuple[str, float], ...]]:
    """The fit with each scale the points cannot tell from 1 put at 1 (the prior's own value),
    and those scales; and each scale the points fit strictly better at 1 than at its fitted
    grid value, also put at 1, with that value (the points do tell it from 1, so the held
    note would be false of it: r2 review 39 item 14). A scale is held when setting it to 1
    leaves every point's prediction where it was (the squared error unchanged within
    ``SSE_TOL``): the documented factor it multiplies sits at
    its physical limit on the points' GPUs (Hopper x vLLM's decode bandwidth is 54.7 % of the
    peak against the 55 % floor: any memory scale below 1 gives 55 %). The grid holds no 1.0
    (0.35 x 1.25^k), so such a scale used to land on whichever grid value the prior liked best,
    memory x0.93 beside compute x0.68 (UX trial 26 F10), and carried it to GPUs where it does
    act (one GPU type calibrates the others)."""
    held: list[str] = []
    better: list[tuple[str, float]] = []
    base = sse(fitted.compute, fitted.memory, fitted.overhead)
    tol = base * SSE_TOL + 1e-15
    for name in SCALES:
        was = getattr(fitted, name)
        if was == 1.0:
            continue
        trial = Calibration(
            compute=1.0 if name == "compute" else fitted.compute,
            memory=1.0 if name == "memory" else fitted.memory,
            overhead=1.0 if name == "overhead" else fitted.overhead,
        )
        at_one = sse(trial.compute, trial.memory, trial.overhead)
        if at_one <= base + tol:
            fitted = trial
            if at_one < base - tol:
                better.append((name, was))
            else:
                held.append(name)
    return fitted, tuple(held), tuple(better)


# relative change of the squared error within which a scale at 1 leaves every point where it was
SSE_TOL = 1e-12
_NAMES = {"compute": "compute", "memory": "memory", "overhead": "step overhead"}


def held_note(held: Sequence[str], points: Sequence[Observed]) -> str:
    """What the calibration's notes say of the scales :func:`_held_at_one` held."""
    what = " and ".join(_NAMES[h] for h in held)
    accs = ", ".join(sorted({p.deployment.hw.name for p in points}))
    them, sits = ("them", "factors sit at their") if len(held) > 1 else ("it", "factor sits at its")
    return (
        f"calibration: {what} held at x1.00: no measured point tells {them} from 1 (on {accs} "
        f"the documented {sits} physical limit: docs/llm.md, Efficiency factors), so "
        "the other scales carry what the points say"
    )


def better_note(better: Sequence[tuple[str, float]]) -> str:
    """What the calibration's notes say of the scales :func:`_held_at_one` put at 1 because
    the points fit them better there than at the grid value the fit found."""
    what = " and ".join(_NAMES[n] for n, _ in better)
    was = ", ".join(f"{_NAMES[n]} x{v:.2f}" for n, v in better)
    them, values = ("them", "values") if len(better) > 1 else ("it", "value")
    return (
        f"calibration: {what} at x1.00: the measured points fit {them} better there than at "
        f"the fit's grid {values} ({was}; the grid holds no 1.0)"
    )


def measured_basis(points: Sequence[Observed]) -> str:
    """'6 measured points on H100 (TP2 and TP4, 8-64 sequences)': what a calibration rests on,
    as the plan's warning and the notes say it."""
    accs = sorted({p.deployment.hw.name for p in points})
    shapes = sorted({(p.deployment.tp, p.deployment.pp) for p in points})
    tps = [f"TP{t}" + (f" PP{q}" if q > 1 else "") for t, q in shapes]
    tp = tps[0] if len(tps) == 1 else f"{', '.join(tps[:-1])} and {tps[-1]}"
    lo, hi = min(p.concurrency for p in points), max(p.concurrency for p in points)
    seqs = f"{lo} sequences" if lo == hi else f"{lo}-{hi} sequences"
    return f"{counted(len(points), 'measured point')} on {', '.join(accs)} ({tp}, {seqs})"


def clustered_ttft(points: Sequence[Observed], cal: Calibration) -> str | None:
    """What the calibrated model says of the closed-loop points' TTFT, as measured (their
    clients send as requests end, so arrivals cluster and a prompt waits for the others'
    prefills) and for requests arriving at a rate at the same concurrency, as plans are sized
    (ux7: TP2 at 64 clients measured 415 ms, the plan's prediction at that concurrency is about
    100 ms; the fit reproduces the 415 as measured). None without such points."""
    rows: list[tuple[float, float, float, float]] = []
    top: Observed | None = None
    for p in points:
        if p.kind not in ("steady", "closed_loop") or not p.ttft_ms or p.queued:
            continue
        as_measured = predicted(p, cal)[0]
        at_rate = predicted(Observed(p.deployment, p.input_tokens, p.output_tokens, p.concurrency,
            kind="open_loop"), cal)[0]
        rows.append((p.concurrency, p.ttft_ms, as_measured, at_rate))
        if top is None or (p.concurrency, p.ttft_ms) > (top.concurrency, top.ttft_ms or 0.0):
            top = p
    if not rows or top is None:
        return None

    def span(i: int) -> str:
        lo, hi = min(r[i] for r in rows), max(r[i] for r in rows)
        return f"{lo:,.0f} ms" if round(lo) == round(hi) else f"{lo:,.0f}-{hi:,.0f} ms"

    n, meas, model, rate = max(rows, key=lambda r: (r[0], r[1]))
    where = f"{top.deployment.hw.name} TP{top.deployment.tp} at {n:.0f}"
    return (
        f"TTFT of the {counted(len(rows), 'closed-loop point')} (clients that send as their"
        f" requests end: arrivals cluster): measured {span(1)}, the calibrated model {span(2)}"
        f" as measured; for requests arriving at a rate, as plans are sized, it predicts"
        f" {span(3)} at the same concurrency ({where}: measured {meas:,.0f} ms, model"
        f" {model:,.0f} ms as measured, {rate:,.0f} ms at a rate; docs/llm.md, arrival clustering)"
    )


Predicted = tuple[float, float, float]  # TTFT ms, TPOT ms, output tok/s (:func:`predicted`)
CLOSE = 0.05  # a model within this of every measured throughput neither over- nor under-buys


def as_measured(points: Sequence[Observed], cal: Calibration, *, held: bool = True) -> list[str]:
    """Per measured shape (GPU, TP, tokens), the points' TPOT and output tok/s measured against
    what the calibrated model predicts for them as measured, and which way a plan on that shape
    errs. The fit weighs every value against the prior that holds each scale near the
    documented factors (:data:`PRIOR`), so it need not reproduce its own points: UX trial 36,
    Llama-3.1-70B fp8 H100 TP4 at 8 / 16 / 64 clients, TPOT 12.1 / 13.2 / 19.5 ms measured
    and 14.8 / 15.7 / 21.3 ms calibrated, 7-18 % fewer tok/s, said only for TTFT. ``held``:
    the fit had that prior (not a fit that follows its points: the verdict says no prior)."""
    shapes: dict[tuple[str, int, int, int, int], list[tuple[Observed, Predicted]]] = {}
    for p in points:
        if _has_tpot(p) or _has_rate(p):
            d = p.deployment
            key = (d.hw.name, d.tp, d.pp, p.input_tokens, p.output_tokens)
            shapes.setdefault(key, []).append((p, predicted(p, cal)))
    notes = []
    for (acc, tp, pp, inp, out), rows in sorted(shapes.items()):
        rows.sort(key=lambda r: (r[0].concurrency, r[0].label))
        parts = []
        tpots = [(p.tpot_ms or 0.0, m[1]) for p, m in rows if _has_tpot(p)]
        rates = [(p.output_tokens_per_s or 0.0, m[2]) for p, m in rows if _has_rate(p)]
        if tpots:
            meas, model = _slashed([a for a, _ in tpots]), _slashed([b for _, b in tpots])
            parts.append(f"TPOT measured {meas} ms, the model {model} ms ({_devs(tpots)})")
        if rates:
            meas = _slashed([a for a, _ in rates], whole=True)
            model = _slashed([b for _, b in rates], whole=True)
            parts.append(f"output tok/s measured {meas}, the model {model} ({_devs(rates)})")
        # which way a plan errs: by throughput, else by TPOT (a slower step serves less)
        devs = [b / a - 1.0 for a, b in rates] if rates else [a / b - 1.0 for a, b in tpots]
        lo, hi = min(devs), max(devs)
        why = (
            "; the fit holds its scales near the documented factors (a prior, so that a few"
            " points cannot drag other GPUs' estimates far) and leaves the rest (docs/llm.md,"
            " Calibration)"
        ) if held else (
            "; three scales cannot follow every point (the all-reduce and the request path"
            " are not scaled)"
        )
        if max(-lo, hi) <= CLOSE:
            verdict = f"the model is within {max(-lo, hi) * 100:.0f} % of the measured throughput"
        elif hi <= 0:
            verdict = (
                f"the model serves {_span(-hi, -lo)} less than measured: a plan on this shape"
                f" buys more than these points need (conservative){why}"
            )
        elif lo >= 0:
            verdict = (
                f"the model serves {_span(lo, hi)} more than measured: a plan on this shape"
                f" may fall short of what it plans{why}"
            )
        else:
            verdict = (
                f"the model serves from {-lo * 100:.0f} % less to {hi * 100:.0f} % more than"
                f" measured, by concurrency{why}"
            )
        seqs = " / ".join(str(p.concurrency) for p, _ in rows)
        toks = f"{inp:,}/{out:,} tokens"
        if any(p.mix for p, _ in rows):  # the hours of several classes: their mean tokens
            toks = f"the classes' mix ({inp:,}/{out:,} tokens on average)"
        shape = f"{acc} TP{tp}" + (f" PP{pp}" if pp > 1 else "") + f", {toks}"
        notes.append(
            f"TPOT and throughput of the {counted(len(rows), 'measured point')} on {shape} at"
            f" {seqs} sequences, as measured: {'; '.join(parts)}: {verdict}"
        )
    return notes


def _has_tpot(p: Observed) -> bool:  # a TPOT the fit reads (a static batch's is none)
    return bool(p.tpot_ms and p.output_tokens > 1 and p.kind != "static")


def _has_rate(p: Observed) -> bool:  # a throughput that is the capacity, not a lower bound
    return bool(p.output_tokens_per_s and not p.lower_bound)


def _slashed(values: Sequence[float], *, whole: bool = False) -> str:
    """'12.1 / 13.2 / 19.5' (three figures below 100, whole numbers above or ``whole``)."""
    return " / ".join(f"{v:,.0f}" if whole or v >= 100 else f"{v:.3g}" for v in values)


def _devs(pairs: Sequence[tuple[float, float]]) -> str:
    """'+22 / +19 / +9 %': the model against each measured value."""
    return " / ".join(f"{(b / a - 1.0) * 100:+.0f}" for a, b in pairs) + " %"


def _span(lo: float, hi: float) -> str:
    same = round(lo * 100) == round(hi * 100)
    return f"{lo * 100:.0f} %" if same else f"{lo * 100:.0f}-{hi * 100:.0f} %"
