"""The LLM simulator's report, assembled from the engine's result: each request's TTFT, TPOT
and end-to-end latency against the SLO, then per class (attainment, goodput, percentiles), per
window (queue, KV use, preemptions; a window whose queue grows without bound is SATURATED),
per allocation (engine settings, busy share, batch) and after the failure.

Pure: everything here depends only on the arguments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scaleplan.plan import Plan
from scaleplan.simulate import llm_engine as eng
from scaleplan.simulate.failures import Failure, claim_tested, outage_attainment, survives_spot_loss
from scaleplan.simulate.layout import Segment, lost_in, segment_of
from scaleplan.simulate.llm_results import (
    LlmAllocStats,
    LlmClassStats,
    LlmFailureStats,
    LlmWindowStats,
    at_pct,
    pcts,
)
from scaleplan.simulate.llm_workload import Workload

F64 = NDArray[np.float64]
B = NDArray[np.bool_]
SAMPLES_PER_WINDOW = 24


def sample_times(segments: Sequence[Segment]) -> F64:
    """SAMPLES_PER_WINDOW evenly spaced sample times per segment (queue, KV and preemptions)."""
    return np.concatenate([t0 + (np.arange(SAMPLES_PER_WINDOW) + 0.5) * (t1 - t0) / SAMPLES_PER_WINDOW for t0, t1, _ in segments])


@dataclass(frozen=True)
class Outcomes:
    """Per request: completed, TTFT, TPOT and end-to-end latency (ms), and whether each (and
    all) met the SLO; the SLO percentile and its target share."""

    ok: B
    ttft: F64
    tpot: F64
    e2e: F64
    good_ttft: B
    good_tpot: B
    good_e2e: B
    good: B
    pct: int
    target: float


def outcomes(plan: Plan, wl: Workload, res: eng.EngineResult) -> Outcomes:
    slo = plan.spec.slo
    pct = slo.percentile
    target = pct / 100.0
    ok = res.outcome == eng.OK
    ttft = (res.t_first - wl.times) * 1000.0
    e2e = (res.t_done - wl.times) * 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(wl.out > 1, (res.t_done - res.t_first) * 1000.0 / np.maximum(wl.out - 1, 1),
            0.0)
    # each request against its class's SLO (traffic.classes[].slo over the top-level slo); a
    # derived slo.latency_ms is not an SLO (Slo.tested_latency_ms): the optimizer does not
    # test it, so it judges no request here either; e2e is still reported
    slos = [plan.spec.slo_of(n) for n in wl.names]
    good_ttft = ok & _within(ttft, wl.cls, [s.ttft_ms for s in slos])
    good_tpot = ok & _within(tpot, wl.cls, [s.tpot_ms for s in slos])
    good_e2e = ok & _within(e2e, wl.cls, [s.tested_latency_ms for s in slos])
    good = good_ttft & good_tpot & good_e2e
    return Outcomes(ok, ttft, tpot, e2e, good_ttft, good_tpot, good_e2e, good, pct, target)


def _within(x_ms: F64, cls: NDArray[np.int_], limits: Sequence[float | None]) -> B:
    """Per request, whether ``x_ms`` is within its class's limit (``limits``, by class index;
    None: no target). A request that did not complete is judged by ``ok`` beside this."""
    lim = np.array([np.inf if v is None else v for v in limits] or [np.inf], dtype=np.float64)
    out: B = x_ms <= lim[cls]
    return out


def own_targets(plan: Plan, cname: str) -> dict[str, float] | None:
    """The targets class ``cname`` is judged against where it has SLO targets of its own
    (``traffic.classes[].slo``): ttft_ms, tpot_ms and latency_ms (a derived latency_ms left
    out: it judges nothing); None for a class held to the top-level slo."""
    if not any(c.name == cname and c.slo is not None for c in plan.spec.traffic.classes):
        return None
    s = plan.spec.slo_of(cname)
    got = {"ttft_ms": s.ttft_ms, "tpot_ms": s.tpot_ms, "latency_ms": s.tested_latency_ms}
    return {k: v for k, v in got.items() if v is not None}


Rate = Callable[[NDArray[np.bool_]], float]  # requests/s of the requests a mask picks


def window_rate(times: NDArray[np.float64], segs: Sequence[Segment]) -> Rate:
    """Requests/s of a mask over the simulated windows, as the day runs them: each window is
    simulated for about the same number of requests, so a quiet window runs longer simulated
    time; each window's own rate (its requests in the mask over its simulated seconds) is
    weighted by the hours it stands for, which are equal, so the mean over the windows. The
    mask's count over all simulated seconds let quiet hours dominate (UX review 5 #9: 5.46
    req/s for a day averaging 10 rps, 99.99 % within the SLO)."""
    spans = [((times >= t0) & (times < t1), t1 - t0) for t0, t1, _ in segs if t1 > t0]

    def rate(mask: NDArray[np.bool_]) -> float:
        return sum(float(mask[m].sum()) / dt for m, dt in spans) / len(spans) if spans else 0.0

    return rate


def span_rate(total_s: float) -> Rate:
    """Requests/s of a mask over ``total_s`` seconds (a trace: the time it ran)."""
    return lambda mask: float(mask.sum()) / total_s if total_s > 0 else 0.0


def class_attainment(
    plan: Plan, cname: str, o: Outcomes, m: np.ndarray,
) -> tuple[float | None, float | None, float | None, bool]:
    """Class ``cname``'s requests in mask ``m``: the share that met each of the class's own
    targets (TTFT, TPOT, end-to-end; None where it has no such target, TTFT and TPOT also None
    without requests) and whether the class holds (each at least ``o.target``; no requests:
    holds). The one rule the verdict and a surge's classes judge by."""
    slo = plan.spec.slo_of(cname)  # the class's own targets where it has them
    cnt = bool(m.any())
    att_t = float(o.good_ttft[m].mean()) if cnt and slo.ttft_ms is not None else None
    att_p = float(o.good_tpot[m].mean()) if cnt and slo.tpot_ms is not None else None
    e2e_slo = slo.tested_latency_ms is not None  # a derived one is not an SLO (outcomes)
    att_e = (float(o.good_e2e[m].mean()) if cnt else 1.0) if e2e_slo else None
    return att_t, att_p, att_e, not cnt or all(
        x is None or x >= o.target for x in (att_t, att_p, att_e)
    )


def class_stats(plan: Plan, wl: Workload, res: eng.EngineResult, o: Outcomes,
        rate: Rate) -> list[LlmClassStats]:
    stats: list[LlmClassStats] = []
    for k, cname in enumerate(wl.names):
        m = wl.cls == k
        cnt = int(m.sum())
        mo = m & o.ok
        att_t, att_p, att_e, holds = class_attainment(plan, cname, o, m)
        att = float(o.good[m].mean()) if cnt else 1.0
        stats.append(LlmClassStats(
            name=cname, input_tokens=float(wl.inp[m].mean()) if cnt else 0.0,
                output_tokens=float(wl.out[m].mean()) if cnt else 0.0,
            requests=cnt, completed=int(mo.sum()),
                failed=int((m & (res.outcome == eng.FAILED)).sum()),
            rejected=int((m & (res.outcome == eng.REJECTED)).sum()),
            ttft_ms=pcts(o.ttft[mo]), tpot_ms=pcts(o.tpot[mo & (wl.out > 1)]),
                e2e_ms=pcts(o.e2e[mo]),
            ttft_at_slo_pct_ms=at_pct(o.ttft[mo], o.pct),
                tpot_at_slo_pct_ms=at_pct(o.tpot[mo & (wl.out > 1)], o.pct),
            attainment_ttft=att_t, attainment_tpot=att_p, attainment_e2e=att_e, attainment=att,
            goodput_rps=rate(o.good & m), holds=holds, slo=own_targets(plan, cname),
        ))
    return stats


def window_stats(
    plan: Plan, wl: Workload, res: eng.EngineResult, o: Outcomes,
        serving: Sequence[tuple[float, frozenset[int]]],
    rps_scale: float | None, notes: list[str], failure: Replacement | None = None,
) -> list[LlmWindowStats]:
    """Per segment; ``rps_scale`` None: the rate offered (a trace: its requests over the part of
    the window its arrivals span, so a 10-minute trace reads its own rate, not the hour's mean),
    else the plan's rate times it. A note per saturated window. ``replicas``: those serving
    through the window, the ``failure``'s lost ones left out where it overlaps the window (the
    fewest serving in it, not the plan's count: UX trial 23 F13)."""
    lost = failure.lost_ids if failure is not None else frozenset()
    down_s = failure.at_s if failure is not None else math.inf
    up_s = failure.at_s + failure.delay_s if failure is not None else math.inf
    segs = wl.segments
    first, last = (float(wl.times[0]), float(wl.times[-1])) if len(wl.times) else (0.0, 0.0)
    seg_of = segment_of(segs, wl.times)
    done_t = np.where(o.ok, res.t_done, -1.0)
    stats: list[LlmWindowStats] = []
    for k, (t0, t1, w) in enumerate(segs):
        m = seg_of == k
        cnt = int(m.sum())
        sl = slice(k * SAMPLES_PER_WINDOW, (k + 1) * SAMPLES_PER_WINDOW)
        wq = res.sample_waiting[sl]
        kv = res.sample_kv_used[sl]
        pre = res.sample_preempted[sl]
        pre_before = (int(res.sample_preempted[k * SAMPLES_PER_WINDOW - 1]) if k > 0
            and len(res.sample_preempted) >= k * SAMPLES_PER_WINDOW else 0)
        served = int(((done_t >= t0) & (done_t < t1)).sum())
        growth = int(wq[-1]) - int(wq[0]) if len(wq) else 0
        sat = cnt > 0 and growth > max(20, 0.05 * cnt) and served < 0.95 * cnt
        # the seconds the window's rates are over: a trace's span within it (the whole window
        # when generated, or when the trace's span there is 0: one arrival)
        spanned = min(t1, last) - max(t0, first)
        dt = spanned if rps_scale is None and spanned > 0 else t1 - t0
        if sat:
            notes.append(
                f"window {w}: SATURATED, the queue grows without bound: offered {cnt / dt:.3g} "
                    f"req/s, served {served / dt:.3g} req/s, "
                f"waiting {int(wq[0])} -> {int(wq[-1])} requests over {t1 - t0:g} s"
            )
        standing = serving[k][1] - lost_in(t0, t1, lost, down_s, up_s)
        stats.append(LlmWindowStats(
            window=w, start_s=t0, end_s=t1,
                rps=plan.demand.rps[w] * rps_scale if rps_scale is not None else cnt / dt,
            replicas=len(standing), requests=cnt, completed_in_window=served,
            ttft_ms=pcts(o.ttft[m & o.ok]), tpot_ms=pcts(o.tpot[m & o.ok & (wl.out > 1)]),
            attainment=float(o.good[m].mean()) if cnt else None,
            waiting_mean=float(wq.mean()) if len(wq) else 0.0,
                waiting_max=int(wq.max()) if len(wq) else 0,
            kv_used_mean=float(kv.mean()) if len(kv) else 0.0,
                kv_used_max=float(kv.max()) if len(kv) else 0.0,
            preemptions=int(pre[-1]) - pre_before if len(pre) else 0, saturated=sat,
            worst=worst_classes(plan, wl, o, m),
        ))
    return stats


def worst_classes(
    plan: Plan, wl: Workload, o: Outcomes, m: NDArray[np.bool_]
) -> dict[str, dict[str, Any]] | None:
    """Where classes have targets of their own: per metric, the class of the requests in mask
    ``m`` (a window) whose SLO percentile is the largest share of its own target (UX trial
    31 F8: the window's TTFT p95 over every class, rag's 1305 ms, read as a miss of chat's
    800 ms target; rag's own is 4000 ms). None when every class is held to the top-level slo."""
    if not any(c.slo is not None for c in plan.spec.traffic.classes):
        return None
    out: dict[str, dict[str, Any]] = {}
    for metric, got, also in (("ttft", o.ttft, o.ok), ("tpot", o.tpot, o.ok & (wl.out > 1))):
        worst: tuple[str, float, float] | None = None
        for k, cname in enumerate(wl.names):
            target = getattr(plan.spec.slo_of(cname), f"{metric}_ms")
            v = at_pct(got[m & also & (wl.cls == k)], o.pct)
            if target and v is not None and (worst is None or v / target > worst[1] / worst[2]):
                worst = (cname, v, target)
        if worst is not None:
            out[metric] = {"class": worst[0], "ms": worst[1], "target_ms": worst[2]}
    return out or None


def alloc_stats(
    plan: Plan, segs: Sequence[Segment], serving: Sequence[tuple[float, frozenset[int]]],
        alloc_of: Sequence[int],
    cfgs: Sequence[eng.ReplicaConfig], sources: Sequence[str], res: eng.EngineResult,
) -> list[LlmAllocStats]:
    allocs = plan.allocations
    active_s = np.zeros(len(allocs))
    for k, (t0, t1, _) in enumerate(segs):
        for g in serving[k][1]:
            active_s[alloc_of[g]] += t1 - t0
    req_alloc = np.where(res.replica >= 0, np.array([*alloc_of, 0])[np.maximum(res.replica, 0)]
        if alloc_of else 0, -1)
    stats: list[LlmAllocStats] = []
    for ai, a in enumerate(allocs):
        reps = [g for g in range(len(alloc_of)) if alloc_of[g] == ai]
        busy = float(res.busy_s[reps].sum()) if reps else 0.0
        stats.append(LlmAllocStats(
            name=a.name, accelerator=a.accelerator, capacity_type=a.capacity_type,
                step_source=sources[ai],
            max_num_seqs=cfgs[ai].max_num_seqs,
                kv_cache_tokens=a.llm.kv_cache_tokens if a.llm else 0,
            token_budget=cfgs[ai].token_budget, requests=int((req_alloc == ai).sum()),
            busy=min(1.0, busy / active_s[ai]) if active_s[ai] > 0 else None,
            mean_batch=float(res.seq_steps[reps].sum()) / max(int(res.steps[reps].sum()), 1) if reps
                else None,
            steps=int(res.steps[reps].sum()) if reps else 0,
                preemptions=int(res.preemptions[reps].sum()) if reps else 0,
        ))
    return stats


@dataclass(frozen=True)
class Replacement:
    """A failure in the LLM simulator: when, what was lost, and when replacements serve."""

    mode: Failure
    at_s: float
    window: int
    lost_ids: frozenset[int]
    lost: dict[str, int]
    delay_s: float
    basis: str


def failure_stats(plan: Plan, wl: Workload, res: eng.EngineResult, o: Outcomes,
        rep: Replacement) -> LlmFailureStats:
    v = outage_attainment(wl.times, o.good, rep.at_s, rep.at_s + rep.delay_s, o.target)
    red = plan.spec.placement.redundancy
    return LlmFailureStats(
        mode=rep.mode, at_s=rep.at_s, window=rep.window, lost=rep.lost,
        replacement_s=rep.delay_s, replacement_basis=rep.basis, back_at_s=rep.at_s + rep.delay_s,
        requests_after=v.requests_after, failed_requests=int((res.outcome == eng.FAILED).sum()),
        attainment_after=v.attainment_after, redundancy=red,
        claim_tested=claim_tested(rep.mode, red, survives_spot_loss(plan)),
        holds=v.holds, requests_during=v.requests_during, attainment_during=v.attainment_during,
    )
