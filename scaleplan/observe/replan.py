"""Feed an Observed file back into optimize, and compare the result with the running plan.

Pure functions: :func:`apply_observed` turns (spec, profile, observed) into the spec with the
observed demand curve and the profile calibrated with the observed capacity, each change
labelled; :func:`hourly_changes` and :func:`risks` describe the new plan against the running
one. The calibration scales the throughput of the profile points of the accelerators the
running plan used by observed / planned capacity per replica (latencies are kept); it is
stated in the plan's warnings and the profile's notes, never applied silently. LLM specs
(``model.architecture``) take their capacity from the LLM model, which reads only measured
points: there the observed hours join the profile as measured points and calibrate the model
(:func:`llm_calibration`), and token lengths far from the spec's classes are warned about.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scaleplan.errors import InputError, Problem
from scaleplan.observe.model import LlmHour, Observed
from scaleplan.observe.slo import e2e_limit, interpolated_capacity, token_slo_hours
from scaleplan.plan import Allocation, Plan
from scaleplan.profile.model import Measurement, Percentiles, Profile, ProfileMeta
from scaleplan.spec import Spec
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator

CAPACITY_TOLERANCE = 0.05  # |ratio - 1| below this: the profile is right, nothing to calibrate
TOKEN_TOLERANCE = 0.2  # |observed / spec mix - 1| above this: the spec's token lengths are off


@dataclass(frozen=True)
class Replan:
    spec: Spec
    profile: Profile | None  # None: an LLM spec without a profile, with nothing observed to add
    labels: tuple[str, ...]  # what was changed, and from where (goes into the plan's warnings)


def apply_observed(spec: Spec, profile: Profile | None, observed: Observed, *,
        source: str) -> Replan:
    """The spec with the observed curve, the profile calibrated by the observed capacity."""
    md = observed.metadata
    if md.service != spec.metadata.name:
        raise InputError(source, [Problem("metadata.service", f"observed service {md.service!r} is "
            f"not the spec's service {spec.metadata.name!r}", hint="observe the plan of this spec, "
            "or pass the matching spec")])
    curve = observed.demand.hourly_rps
    if max(curve) <= 0:
        raise InputError(source, [Problem("demand.hourly_rps",
            "the observed demand is 0 in every hour", hint="observe a range in which the "
            "service had traffic")])
    traffic = spec.traffic.model_dump(mode="python")
    traffic.update(peak_rps=None, hourly_rps=tuple(curve))
    data = spec.model_dump(mode="python")
    data["traffic"] = traffic
    new_spec = Spec.model_validate(data)
    labels = [f"demand: the observed hourly curve from {source} "
        f"(p{observed.demand.quantile * 100:g} across {counted(observed.demand.days, 'day')}, "
        f"{md.start} .. {md.end}; peak {observed.demand.peak_rps:g} rps) replaces the "
        "spec's traffic"]
    if spec.model.architecture is not None:
        new_profile, more = llm_calibration(spec, profile, observed, source)
    else:
        assert profile is not None  # a spec without model.architecture names one (ModelSpec)
        new_profile, more = _scaled_profile(profile, observed, source)
    labels += more
    labels += token_labels(spec, observed)
    return Replan(new_spec, new_profile, tuple(labels))


def _scaled_profile(profile: Profile, observed: Observed, source: str) -> tuple[Profile, list[str]]:
    """The profile's throughput scaled by observed / planned capacity per replica (plans whose
    capacity comes from the profile's points), and its label."""
    cap = observed.capacity
    factors, basis = calibration_factors(observed)
    if factors:
        points = [m.model_copy(update={"throughput_rps": m.throughput_rps * factors[m.accelerator]})
            if m.accelerator in factors else m for m in profile.measurements]
        label = ("capacity: profile throughput "
            f"{', '.join(f'{acc} x{f:.3f}' for acc, f in sorted(factors.items()))}, calibrated "
            f"with observed points from {source} ({basis})")
        meta = profile.metadata.model_copy(update={"notes": (*profile.metadata.notes, label)})
        new = Profile.model_validate({**profile.model_dump(mode="python"),
            "metadata": meta.model_dump(mode="python"), "measurements": [p.model_dump(mode="python")
            for p in points]})
        return new, [label]
    if cap.ratio is not None:
        return profile, [f"capacity: observed {cap.rps_per_replica:g} rps per replica is within "
            f"{CAPACITY_TOLERANCE:.0%} of the plan's {cap.planned_rps_per_replica:g}; the "
            "profile is kept"]
    return profile, ["capacity: not calibrated; the service "
        f"{cap.not_near_limit(observed.slo.latency_ms)} in {source} (at most "
        f"{cap.max_rps_per_replica:g} rps per replica seen)"]


def spec_token_mix(spec: Spec) -> tuple[float, float] | None:
    """The share-weighted mean (input, output) tokens per request of the spec's classes (None
    unless every class states both)."""
    cs = spec.traffic.classes
    if not cs or not all(c.input_tokens and c.output_tokens for c in cs):
        return None
    total = sum(c.share for c in cs)
    if total <= 0:
        return None
    return sum(c.share * (c.input_tokens or 0)
        for c in cs) / total, sum(c.share * (c.output_tokens or 0) for c in cs) / total


def class_shares(spec: Spec) -> dict[str, float] | None:
    """The spec's classes' shares of the requests, where it has several that state their
    tokens: an observed hour is then fitted as those classes, each at its own tokens
    (:func:`scaleplan.llm.mix.serve_mix`), not as one class at the mix's mean tokens, whose
    prefill and attention are not the classes' (UX trial 29 F2: the model's TTFT 5 % low, its
    TPOT 2 % high). The engine's series do not say an hour's class shares (vLLM labels them
    by model), so every hour is the spec's mix; its mean tokens are compared with the spec's
    (:func:`token_labels`). None: one class, or a class without its tokens."""
    cs = spec.traffic.classes
    if len(cs) < 2 or spec_token_mix(spec) is None:
        return None
    total = sum(c.share for c in cs)
    return {c.name: c.share / total for c in cs}


def token_labels(spec: Spec, observed: Observed) -> list[str]:
    """A warning per token length (prompt, output) whose observed mean differs from the spec's
    class mix by more than :data:`TOKEN_TOLERANCE` (the classes are never changed here)."""
    llm = observed.llm
    mix = spec_token_mix(spec)
    if llm is None or mix is None:
        return []
    out = []
    for what, seen, planned, key in (("prompt", llm.prompt_tokens, mix[0], "input_tokens"),
            ("output", llm.output_tokens, mix[1], "output_tokens")):
        if seen is None or abs(seen / planned - 1) <= TOKEN_TOLERANCE:
            continue
        out.append(
            f"tokens: the observed mean {what} was {seen:g} tokens per request, the spec's class "
                f"mix plans {planned:.4g} "
            f"({seen / planned - 1:+.0%}); this plan still uses traffic.classes: set their {key} "
                "(or shares) so that "
            f"the share-weighted mean is about {seen:.0f}, and optimize again"
        )
    return out


def llm_points(spec: Spec, observed: Observed) -> tuple[list[Measurement], str]:
    """The observed hours as measured profile points for the LLM model's calibration (read by
    :func:`scaleplan.llm.estimate.calibration_from`, as ``profile llm --calibrate`` points are),
    and how their tokens were known; no points and the reason when there are none.

    Each hour is an open-loop point (arrivals at the observed rate, achieved = offered): mean
    TTFT and TPOT at the mean requests running per replica, at that hour's mean tokens (else
    the range's, else the spec's class mix); where the spec has several classes, priced as
    those classes at the spec's shares (:func:`class_shares`). Only means are known: every
    percentile of a point is its mean (the calibration reads means), its latency the mean
    time in the server (requests running / requests per second, Little's law).
    """
    llm = observed.llm
    if llm is None:
        return [], (f"{observed.metadata.service}'s Observed file has no LLM series (observe asks "
            "the engine for them when the plan names one)")
    if not llm.hours:
        return [], llm.note or "no hour had the series the calibration needs"
    mix = spec_token_mix(spec)
    shares = class_shares(spec)
    out: list[Measurement] = []
    how: set[str] = set()
    for h in llm.hours:
        acc, gpus = h.accelerator or llm.accelerator, h.gpus_per_replica or llm.gpus_per_replica
        if acc is None or gpus is None:
            continue
        toks: tuple[float, float] | None = None
        for p, o, where in ((h.prompt_tokens, h.output_tokens, "observed tokens"),
                (llm.prompt_tokens, llm.output_tokens, "observed tokens"),
                (*(mix or (None, None)), "the spec's class mix")):
            if p and o:
                toks = (p, o)
                how.add(where)
                break
        if toks is None:
            return [], ("tokens per request are unknown: neither observed nor stated in "
                "traffic.classes")
        mean_s = h.concurrency_per_replica / h.rps_per_replica
        ttft = _engine_ttft(h)
        lat = _flat(mean_s * 1000)
        out.append(Measurement(
            device="observed", accelerator=acc, gpus=gpus,
                batch_size=max(1, round(h.concurrency_per_replica)),
            concurrency=max(1, round(h.concurrency_per_replica)), latency_ms=lat,
                throughput_rps=h.rps_per_replica, offered_rps=h.rps_per_replica,
            ttft_ms=_mean_only(ttft), tpot_ms=_mean_only(h.tpot_ms),
                input_tokens=max(1, round(toks[0])), output_tokens=max(1, round(toks[1])),
            class_shares=shares if shares and the_mix(toks, mix) else None,
        ))
    if not out:
        return [], "no hour names its serving shape"
    return out, " and ".join(sorted(how)) + as_classes(out)


def the_mix(tokens: tuple[float, float], mix: tuple[float, float] | None) -> bool:
    """Whether an hour's mean (prompt, output) tokens are the spec's class mix's, within
    :data:`TOKEN_TOLERANCE` (else the hour served another mix, and is fitted at its own
    mean tokens; :func:`token_labels` warns)."""
    return mix is not None and all(abs(t / m - 1) <= TOKEN_TOLERANCE
        for t, m in zip(tokens, mix, strict=True))


def as_classes(points: Sequence[Measurement]) -> str:
    """What :func:`llm_points` says of the hours fitted as the spec's classes."""
    n = sum(1 for m in points if m.class_shares)
    if not n:
        return ""
    what = ("each hour" if n == len(points) else f"{counted(n, 'hour')} of {len(points)} (the "
        f"others' mean tokens are more than {TOKEN_TOLERANCE:.0%} off the spec's mix: at "
        "their own)")
    return (f"; {what} fitted as the spec's classes at their shares of the requests, each at "
        "its own tokens")


QUEUE_DOMINATED = 0.5  # an hour whose admission wait is more than this share of its TTFT


def _engine_ttft(h: LlmHour) -> float | None:
    """An hour's TTFT without the wait for admission, which the model's prediction at the
    requests running does not hold: the mean wait is requests waiting / requests per second
    (Little's law). None (no TTFT point) when the wait is most of it: a queue-bound hour says
    little about prefill speed."""
    if h.ttft_ms is None:
        return None
    wait_ms = 1000.0 * (h.waiting_per_replica or 0.0) / h.rps_per_replica
    if wait_ms > QUEUE_DOMINATED * h.ttft_ms:
        return None
    return h.ttft_ms - wait_ms


def _flat(ms: float) -> Percentiles:
    """Only a mean is known: every percentile is the mean (the calibration reads means)."""
    return Percentiles(p50=ms, p90=ms, p95=ms, p99=ms, mean=ms)


def _mean_only(ms: float | None) -> Percentiles | None:
    return None if ms is None else _flat(ms)


def tpot_only(obs: Observed) -> str:
    """What to say when no calibration hour has a TTFT (TGI exports no TTFT histogram): the fit
    then sees decode only, and prefill speed (the compute scale) stays at its prior."""
    llm = obs.llm
    if llm is None or not llm.hours or any(h.ttft_ms is not None for h in llm.hours):
        return ""
    engine = obs.metadata.engine
    why = f"{engine} exports no TTFT histogram" if engine == "tgi" else "no hour had a mean TTFT"
    return (
        f"TPOT only: {why}, so the fit sees decode alone and prefill speed "
        "(the compute scale) stays near its prior"
    )


def llm_calibration(
    spec: Spec, profile: Profile | None, observed: Observed, source: str
) -> tuple[Profile | None, list[str]]:
    """An LLM plan's capacity comes from the LLM model (docs/llm.md), calibrated only by
    measured points: scaling the profile's throughput would change nothing (its estimated
    points are not read). The observed hours join the profile as measured points instead."""
    points, how = llm_points(spec, observed)
    if not points:
        cap = observed.capacity
        seen = (f"; observed {cap.rps_per_replica:g} rps per replica against the plan's "
            f"{cap.planned_rps_per_replica:g} (see the risks)" if cap.rps_per_replica is not None
            else "")
        return profile, ["capacity: not calibrated: an LLM plan's capacity comes from the LLM "
            "model (docs/llm.md), not from the profile's throughput, and observe calibrates it "
            "only with hourly mean TTFT/TPOT and requests running on one serving shape; "
            f"{how}{seen}"]
    shapes = ", ".join(sorted({f"{m.accelerator} x{m.gpus}" for m in points}))
    only = tpot_only(observed)
    means = (f"mean {'TPOT' if only else 'TTFT/TPOT'} at the mean requests running per "
        f"replica, {how}")
    means += f"; {only}" if only else ""
    # given, not claimed: the optimizer's calibration may leave hours out (a shape no catalog
    # node holds, a prompt the model refuses), and says so in its 'calibration:' warnings
    label = (
        f"capacity: the LLM model's calibration is given {counted(len(points), 'observed hour')} "
            f"on {shapes} from {source} "
        f"({means}; the 'calibration:' warnings say what it fit and what it left out); "
        "the profile's throughput is not scaled: an LLM plan's capacity comes from the model "
            "(docs/llm.md)"
    )
    if profile is None:  # the spec names none (architecture only): the observed hours are one
        arch = spec.model.architecture
        name = spec.model.name or arch or spec.metadata.name
        meta = ProfileMeta(model=name, kind="llm-endpoint", architecture=arch, notes=(label,))
        return Profile(metadata=meta, measurements=tuple(points)), [label]
    meta = profile.metadata.model_copy(update={"notes": (*profile.metadata.notes, label)})
    new = profile.model_copy(update={"metadata": meta, "measurements": (*profile.measurements,
        *points)})
    return Profile.model_validate(new.model_dump(mode="python")), [label]


def calibration_factors(observed: Observed) -> tuple[dict[str, float], str]:
    """Accelerator -> throughput factor, and what it rests on.

    Per allocation where its own pods' series gave a capacity (several allocations with the
    same accelerator: the median of their ratios); otherwise the service-wide ratio for every
    accelerator the running plan used. Factors within the tolerance of 1 are left out.
    """
    cap = observed.capacity
    per: dict[str, list[float]] = {}
    for a in cap.allocations:
        if a.ratio is not None:
            per.setdefault(a.accelerator, []).append(a.ratio)
    p = observed.slo.percentile
    if per:
        factors = {acc: statistics.median(rs) for acc, rs in per.items()}
        basis = "; ".join(f"{a.rps_per_replica:g} rps per replica at p{p} "
            f"{observed.slo.latency_ms:g} ms on {a.instance_type}, planned "
            f"{a.planned_rps_per_replica:g}" for a in cap.allocations if a.ratio is not None)
    elif cap.ratio is not None and cap.accelerators:
        factors = dict.fromkeys(cap.accelerators, cap.ratio)
        basis = (f"{cap.rps_per_replica:g} rps per replica at {cap.read_at(p)} on "
            f"{', '.join(cap.instance_types)}; the running plan assumed "
            f"{cap.planned_rps_per_replica:g}")
    else:
        return {}, ""
    return {acc: f for acc, f in factors.items() if abs(f - 1) >= CAPACITY_TOLERANCE}, basis


@dataclass(frozen=True)
class HourlyChange:
    """Replicas per UTC hour of one (instance type, capacity type, region) before and after."""

    key: str
    before: tuple[int, ...]
    after: tuple[int, ...]

    def runs(self) -> list[tuple[int, int, int, int]]:
        """(first hour, last hour, before, after) for consecutive hours with the same change."""
        out: list[tuple[int, int, int, int]] = []
        for h in range(24):
            b, a = self.before[h], self.after[h]
            if out and out[-1][1] == h - 1 and out[-1][2] == b and out[-1][3] == a:
                out[-1] = (out[-1][0], h, b, a)
            else:
                out.append((h, h, b, a))
        return out


def _pool(a: Allocation) -> str:
    return f"{a.instance_type} {a.capacity_type} ({a.provider}/{a.region})"


def _shape(a: Allocation) -> str:
    """A replica's shape on its node: its GPUs (an LLM's tensor parallelism), or for CPU
    replicas how many share a node."""
    if a.gpus_per_replica:
        return f"{a.gpus_per_replica} x {a.accelerator} per replica"
    return f"{a.replicas_per_node} per node"


def _hourly(plan: Plan, shaped: set[str]) -> dict[str, tuple[int, ...]]:
    """Replicas per UTC hour per pool (instance type, capacity type, region); a pool in
    ``shaped`` (replicas of more than one shape in either plan) counts each shape apart, as
    TP2 and TP4 replicas on one a3-highgpu-8g are not the same replicas (UX trial 23 F15)."""
    d = plan.demand
    out: dict[str, list[int]] = {}
    for a in plan.allocations:
        key = _pool(a)
        if key in shaped:
            key = f"{key}, {_shape(a)}"
        per = [a.replicas_per_window[min(int(h // d.window_hours), d.windows - 1)]
            for h in range(24)]
        prev = out.setdefault(key, [0] * 24)
        out[key] = [x + y for x, y in zip(prev, per, strict=True)]
    return {k: tuple(v) for k, v in out.items()}


def hourly_changes(before: Plan, after: Plan) -> list[HourlyChange]:
    shapes: dict[str, set[str]] = {}
    for a in (*before.allocations, *after.allocations):
        shapes.setdefault(_pool(a), set()).add(_shape(a))
    shaped = {k for k, v in shapes.items() if len(v) > 1}
    old, new = _hourly(before, shaped), _hourly(after, shaped)
    zero = (0,) * 24
    return [HourlyChange(k, old.get(k, zero), new.get(k, zero))
        for k in sorted(old.keys() | new.keys())]


def monthly_delta(before: Plan, after: Plan) -> float:
    """The change of cost per month as the two plans state it (``cost_per_month``), as ``diff``
    computes it: the report prints those two figures beside it."""
    return after.cost_per_month - before.cost_per_month


def risks(observed: Observed) -> list[str]:
    """What the observation says about the running plan (and the new plan's inputs)."""
    out: list[str] = []
    s = observed.slo
    e2e = f"p{s.percentile} was above the SLO ({s.latency_ms:g} ms)"
    if observed.running_plan.spec.slo.tested_latency_ms is None:  # derived from TTFT/TPOT
        e2e = (
            f"p{s.percentile} end-to-end latency was above the derived {s.latency_ms:g} ms "
            "(not an SLO; TTFT and TPOT are)"
        )
    if s.peak_hours_above:
        worst = f"{s.worst_hour_ms:g} ms"
        if s.worst_beyond_buckets:  # histogram_quantile's clamp: the hour was at least this slow
            worst = f">= {worst}, beyond the histogram's largest bucket"
        out.append(f"{e2e} in {s.peak_hours_above} of {s.peak_hours_seen} peak hours "
            f"(worst {worst})")
    elif s.hours_above:
        out.append(f"{e2e} in {s.hours_above} of {s.hours_seen} observed hours")
    out += observed.warnings  # hours the histogram cannot place against the SLO
    out += _capacity_risks(observed)
    pct = observed.running_plan.spec.slo.percentile
    for t in token_slo_hours(observed):
        if t.above:
            out.append(f"{t.what} p{pct} (median across days) was above the SLO ({t.target:g} ms) "
                f"in {t.above} of {t.hours} hours of the day (worst {t.worst:g} ms)")
        if note := t.inside_note(pct):
            out.append(note)
    planned = observed.demand.planned_rps
    if planned:
        over = [h for h in range(24) if observed.demand.hourly_rps[h] > planned[h] * 1.0001]
        if over:
            out.append(f"observed demand was above the running plan's demand in {len(over)} of 24 "
                f"hours (peak {observed.demand.peak_rps:g} vs {max(planned):g} rps)")
    few = min(observed.demand.days_seen)
    if few < 7:
        out.append(f"the curve rests on as few as {counted(few, 'day')} per hour; observe longer "
            "(--since 14d) before trusting it")
    return out


def _capacity_risks(observed: Observed) -> list[str]:
    """What the observed capacity says of the running plan's (:func:`risks`)."""
    out: list[str] = []
    s = observed.slo
    c = observed.capacity
    rated = [(a.instance_type, a.planned_rps_per_replica, a.rps_per_replica, a.ratio)
        for a in c.allocations if a.ratio is not None and a.rps_per_replica]
    if not rated and c.ratio is not None and c.rps_per_replica:
        rated = [(", ".join(c.instance_types) or "the running instance types",
            c.planned_rps_per_replica, c.rps_per_replica, c.ratio)]
    llm = observed.running_plan.spec.model.architecture is not None
    source = "the LLM model" if llm else "the profile"
    # read at a derived end-to-end latency: no capacity error (at the TTFT/TPOT SLOs it is one)
    derived = observed.running_plan.spec.slo.tested_latency_ms is None and not c.at_slos
    hours = observed.llm is not None and bool(observed.llm.hours)
    then = (
        "this plan's capacity is the LLM model's, calibrated on the observed hours" if hours
        else "no observed hour calibrates the LLM model: this plan keeps its capacity"
    )
    for where, planned_cap, seen, ratio in rated:
        assert seen is not None and ratio is not None
        if derived and abs(ratio - 1) >= CAPACITY_TOLERANCE:
            # no capacity error: the plan sized at the TTFT/TPOT SLOs (report.derived_capacity_note)
            out.append(
                f"at the derived end-to-end p{s.percentile} {s.latency_ms:g} ms (not an SLO) a "
                f"replica on {where} served {seen:g} rps; the running plan's {planned_cap:g} is at "
                f"the TTFT/TPOT SLOs, not at that figure ({then})"
            )
        elif ratio < 1 - CAPACITY_TOLERANCE:
            out.append(f"{source} over-states capacity by {planned_cap / seen - 1:.0%} on {where} "
                f"({planned_cap:g} planned, {seen:g} observed rps per replica)")
        elif ratio > 1 + CAPACITY_TOLERANCE:
            out.append(f"{source} under-states capacity by {1 - planned_cap / seen:.0%} on {where} "
                f"({planned_cap:g} planned, {seen:g} observed rps per replica)")
    if out and (note := interpolated_capacity(observed)):  # beside the risk it qualifies
        out.append(note)
    if c.ratio is None and not rated:
        _, why = e2e_limit(observed.running_plan)  # class SLOs: no one limit to read it at
        near = f"read ({why})" if why else "observed near the latency limit"
        if c.points_near_limit and not why:  # near it, in too thin a sliver (the report's words)
            near = (
                f"read from its {c.points_near_limit} points near the latency limit, too alike "
                "in latency to read it at the SLO"
            )
        if c.at_slos:  # read at the TTFT/TPOT SLOs: the service never ran near them
            near = f"observed near {c.read_at(s.percentile)}"
        unverified = "the profile's capacity is unverified"
        if llm:  # the observed hours calibrate the LLM model's capacity (or say why they cannot)
            unverified = (
                "the LLM model's capacity rests on its calibration with the observed hours "
                "(the 'calibration:' warnings)" if hours
                else "the LLM model's capacity is unverified (no observed hour calibrates it)"
            )
        out.append(f"capacity was not {near} (at most {c.max_rps_per_replica:g} rps per replica): "
            f"{unverified}")
    return out


def label_plan(plan: Plan, labels: tuple[str, ...]) -> Plan:
    """The plan with the re-plan's labels in its warnings (and its hash recomputed)."""
    from scaleplan.solve.assemble import hash_plan

    return hash_plan(plan.model_copy(update={"warnings": (*plan.warnings, *labels)}))


def replan_report(
    source: str, observed: Observed, labels: tuple[str, ...], plan: Plan,
    accelerators: Sequence[Accelerator],
) -> dict[str, object]:
    """``optimize --observed --json``: the change against the running plan, as JSON (the
    start-ups priced by ``accelerators``, the table of the catalog optimize solved with)."""
    from scaleplan.plandiff import diff_plans

    running = observed.running_plan
    return {
        "source": source,
        "diff": diff_plans(running, plan, accelerators).to_dict(),
        "running_plan_hash": running.metadata.plan_hash,
        "calibration": list(labels),
        "replicas_per_hour": [{"pool": c.key, "before": list(c.before), "after": list(c.after)}
            for c in hourly_changes(running, plan)],
        "cost_per_hour": {"before": running.cost_per_hour, "after": plan.cost_per_hour},
        "cost_per_month_delta": round(monthly_delta(running, plan), 2),
        "risks": risks(observed),
    }
