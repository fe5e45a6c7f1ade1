"""Fit the model's efficiency scales to measured points.

A measured point (endpoint profile, vLLM / AIPerf / GenAI-Perf import) with its tokens,
concurrency and TTFT / TPOT / throughput tells how far the architecture-only prediction is off
on that GPU. :func:`calibrate` fits three scales (compute, memory, per-step overhead) that
minimise the squared log error over the usable points, on a fixed grid (deterministic), and
applies them to every accelerator: one measured GPU type calibrates the others. The scales
are per model and engine, never per accelerator.

Points that did not saturate the server (an open-loop run that achieved less than it offered,
``lower_bound: true``) say nothing about capacity: they are left out of the fit and reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scaleplan.llm.burst import burst
from scaleplan.llm.closed_loop import closed_loop
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
SATURATION = 0.95  # achieved / offered below this: the run did not saturate the server


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
    # how the point was measured: "steady" (``concurrency`` in flight, replaced as they end: a
    # closed loop or a full queue), "open_loop" (arrivals at a rate, ``concurrency`` in flight
    # on average), "closed_loop" (the scheduler replay of ``concurrency`` lockstep clients; at
    # most ``running`` sequences run at once), "static" (one fixed batch, no in-flight batching),
    # "burst" (``lengths``, (prompt, output) per request, all sent at once: the burst replay)
    kind: MeasuredAs = "steady"
    running: int | None = None
    lengths: tuple[tuple[int, int], ...] = ()


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
    if obs.kind == "closed_loop":
        p = closed_loop(d, obs.input_tokens, obs.output_tokens, obs.concurrency, cap=obs.running)
    else:
        p = serve_class(d, obs.input_tokens, obs.output_tokens, obs.concurrency, open_loop=obs.kind == "open_loop")
    return p.ttft_ms, p.tpot_ms, p.output_tokens_per_s


def unsaturated(throughput_rps: float, offered_rps: float | None) -> bool:
    """Whether an open-loop point achieved clearly less than it offered (a lower bound)."""
    return offered_rps is not None and math.isfinite(offered_rps) and throughput_rps < SATURATION * offered_rps


def _errors(obs: Observed, cal: Calibration) -> list[float]:
    ttft, tpot, tok_s = predicted(obs, cal)
    errs = []
    if obs.ttft_ms:
        errs.append(math.log(ttft / obs.ttft_ms))
    if obs.tpot_ms and obs.output_tokens > 1 and obs.kind != "static":
        errs.append(math.log(tpot / obs.tpot_ms))
    if obs.output_tokens_per_s:
        errs.append(math.log(obs.output_tokens_per_s / tok_s))
    return errs


def calibrate(points: Sequence[Observed], *, basis: str = "", prior: float = PRIOR) -> tuple[Calibration, tuple[str, ...]]:
    """Fitted scales and notes (lower bounds left out, and whether the fit still respects them);
    ``prior`` weighs the pull towards the documented factors (:data:`PRIOR`)."""
    usable = [p for p in points if not p.lower_bound and (p.ttft_ms or p.tpot_ms or p.output_tokens_per_s)]
    bounds = [p for p in points if p.lower_bound]
    notes: list[str] = []
    if bounds:
        notes.append(f"{counted(len(bounds), 'point')} did not saturate the server (achieved < {SATURATION:g} x offered): used as lower bounds on throughput, not as capacity")
    if not usable:
        if bounds:
            notes.append(
                "calibration: none; every measured point is a lower bound, so the estimates stay"
                " architecture-only (measure with a fixed --max-concurrency, a closed loop; an"
                f" open-loop run counts only when it serves at least {SATURATION:g} x the rate it"
                " offers; offering more than the server serves gives a lower bound again)"
            )
        return Calibration(), tuple(notes)

    def cost(c: float, m: float, o: float) -> float:
        cal = Calibration(compute=c, memory=m, overhead=o)
        # squared log error, capped per value (x4.5 off) so that one queueing-dominated point
        # cannot drag the fit
        sse = sum(min(e * e, CAP) for p in usable for e in _errors(p, cal))
        # the prior's pull towards 1 (the documented factors); PRIOR above
        return sse + prior * (math.log(c) ** 2 + math.log(m) ** 2 + math.log(o) ** 2)

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
    fitted = best[1]
    accs = sorted({p.deployment.hw.name for p in usable})
    what = basis or f"{counted(len(usable), 'measured point')} on {', '.join(accs)}"
    cal = Calibration(compute=fitted.compute, memory=fitted.memory, overhead=fitted.overhead, basis=what, points=len(usable), band=BAND_CALIBRATED, ttft_band=TTFT_BAND_CALIBRATED)
    for p in bounds:
        if p.output_tokens_per_s:
            pred = predicted(p, cal)[2]
            if pred < p.output_tokens_per_s:
                notes.append(f"{p.label or p.deployment.hw.name}: the calibrated capacity {pred:.0f} tok/s is below the lower bound {p.output_tokens_per_s:.0f} tok/s measured")
    notes.append(f"calibration: compute x{cal.compute:.2f}, memory x{cal.memory:.2f}, step overhead x{cal.overhead:.2f} from {what}")
    return cal, tuple(notes)
