"""What observe and ``optimize --observed`` say of the running plan's SLOs, shared by the
report (:mod:`scaleplan.observe.report`), the analysis and the risks
(:mod:`scaleplan.observe.replan`): report arithmetic, kept out of the Observed model."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from scaleplan.llm.engine_metrics import E2E_HISTOGRAMS, TOKEN_HISTOGRAMS, slo_bucket
from scaleplan.spec_class_slo import class_blind_slo, slo_of

if TYPE_CHECKING:
    from scaleplan.observe.model import Observed
    from scaleplan.plan import Plan


def latency_limit(plan: Plan) -> str:
    """What observe calls the plan's ``slo.latency_ms``: "the SLO", or "the derived latency"
    where it was derived from the TTFT/TPOT SLOs (``Slo.tested_latency_ms`` None): no SLO."""
    return "the SLO" if plan.spec.slo.tested_latency_ms is not None else "the derived latency"


def e2e_limit(plan: Plan) -> tuple[float | None, str]:
    """The end-to-end latency observe reads the service's capacity and hours at (the latency
    histogram has no class label), and, where there is none, why. Without class SLOs the
    plan's ``slo.latency_ms`` (stated or derived); with them the one every class shares
    (its own, stated or derived from its TTFT/TPOT), else None: a mixed histogram cannot tell
    a summary within its 55 s from a chat request over its 25.5 s (until 2026-12-06 observe
    read capacity and hours at the top-level 25.5 s for tests/data/specs/class-slo.yaml)."""
    spec = plan.spec
    if not spec.has_class_slos:
        return spec.slo.latency_ms, ""
    per = {c.name: slo_of(spec, c.name) for c in spec.traffic.classes}
    limits = {s.latency_ms for s in per.values()}
    if len(limits) == 1:
        return limits.pop(), ""
    got = ", ".join(
        f"{n} {'none' if s.latency_ms is None else f'{s.latency_ms:g} ms'}"
        f"{' derived' if s.tested_latency_ms is None else ''}"
        for n, s in per.items()
    )
    return None, f"the classes' end-to-end latency limits differ ({got})"


def token_capacity_targets(plan: Plan) -> dict[str, float]:
    """The SLOs observe reads capacity at where no end-to-end SLO is stated (the classes'
    limits differ, :func:`e2e_limit` None, or the one limit is derived from TTFT and TPOT):
    the class-blind TTFT and TPOT targets, ``{"ttft": ms, "tpot": ms}``, those the classes
    share (:func:`scaleplan.spec_class_slo.class_blind_slo`: TPOT the tightest class's, TTFT
    only where every class has the same), empty where there is none or a stated limit holds.
    Until 2026-12-07 evening a one-SLO LLM spec had its capacity read at the derived figure
    (58,130 ms for a 30 ms TPOT: 'the service never ran near its limit' while its TPOT ran
    at its SLO, UX trial 38 F3). The derived end-to-end limits are no SLO (validate says so); until
    2026-12-07 a spec of a chat class and a long-prompt class with a looser TTFT (the
    commonest LLM shape) never had its capacity measured: "the classes' end-to-end limits
    differ (chat 24800 ms derived, rag 28000 ms derived)" (UX trial 29 F7)."""
    blind, _ = class_blind_slo(plan.spec)
    if blind["latency"] is not None:  # stated, so every class's limit is that one (e2e_limit)
        return {}  # a stated end-to-end SLO: capacity is read at it
    return {k: v for k in ("ttft", "tpot") if (v := blind[k]) is not None}


def stated_e2e_differ(plan: Plan) -> bool:
    """Whether a class states an end-to-end latency SLO of its own (``latency_ms``) and the
    classes' limits differ: a target observe cannot judge (derived limits are no SLO)."""
    spec = plan.spec
    if e2e_limit(plan)[0] is not None:
        return False
    return any(slo_of(spec, c.name).tested_latency_ms is not None for c in spec.traffic.classes)


class TokenHours(NamedTuple):
    """TTFT or TPOT against its SLO over the hours of the day (:func:`token_slo_hours`)."""

    what: str  # "TTFT" / "TPOT"
    target: float  # ms
    above: int  # hours whose percentile was above the SLO, as far as the histogram tells
    hours: int  # hours with data
    worst: float  # ms, the largest reading
    inside: int = 0  # hours read inside the bucket that holds the SLO: neither above nor within
    bucket: tuple[float, float] | None = None  # that bucket's bounds (ms)

    def inside_note(self, pct: int) -> str:
        """What the hours read inside the SLO's bucket are ('' where there are none)."""
        if not self.inside or self.bucket is None:
            return ""
        lo, hi = self.bucket
        return (
            f"{self.what} p{pct}: {self.inside} of {self.hours} hours of the day read inside "
            f"the histogram's {lo:g}-{hi:g} ms bucket, which holds the SLO ({self.target:g} "
            "ms): histogram_quantile interpolates linearly there, so whether they met it "
            "cannot be told"
        )


def slo_bracket(
    plan: Plan, key: str, target_ms: float, query: str | None = None
) -> tuple[float, float] | None:
    """The bounds (ms) of the bucket of the engine's ``key`` ("ttft" / "tpot" / "e2e")
    histogram that holds ``target_ms`` strictly inside, where scaleplan knows the buckets
    (vLLM's); None where the target is a bound (the test of
    :func:`scaleplan.llm.engine_metrics.slo_bucket`, the bound an alert's SLI counts against),
    lies beyond the largest one, or the buckets are unknown, also where ``query`` (the PromQL
    observe sent) reads another histogram (``--queries``: its buckets are not known). A
    percentile read in such a bucket is ``histogram_quantile``'s linear interpolation: vLLM's
    per-token buckets around a 40 ms TPOT SLO are 25 and 50 ms, and a service whose p95 is
    27 ms read 40.7 ms there (UX trial 34 F1); its e2e buckets around a 4 s SLO are 2.5 and
    5 s. (Named slo_bucket until 2026-12-07, beside monitoring's function of that name.)"""
    engine = plan.spec.model.engine or ""
    known = (
        E2E_HISTOGRAMS.get(engine) if key == "e2e" else TOKEN_HISTOGRAMS.get(engine, {}).get(key)
    )
    if known is None or known[1] is None or (query is not None and known[0] not in query):
        return None
    buckets, slo_s = known[1], target_ms / 1000.0
    bound, how = slo_bucket(slo_s, buckets)
    if how == "at" or slo_s > max(buckets):
        return None
    lo = bound if how == "below" else 0.0
    return round(lo * 1000.0, 9), round(min(b for b in buckets if b > slo_s) * 1000.0, 9)


K = TypeVar("K")


def hours_against(
    cells: Mapping[K, float],
    target: float,
    bucket: tuple[float, float] | None,
    clamped: Collection[K] = (),
) -> tuple[list[K], list[K]]:
    """The hours (keys of ``cells``, ms) above ``target`` and those read inside ``bucket``,
    the histogram's bucket that holds the target (:func:`slo_bracket`; None: the target is a
    bound or the buckets are unknown, and no hour is inside). Above: over the bucket's upper
    bound (over the target without one); inside: over its lower bound, up to its upper one,
    where ``histogram_quantile`` interpolates, so neither above nor within. ``clamped``: hours
    whose percentile fell beyond the largest finite bucket, read as that bound: above where
    that bound is at or over the target, never inside (the end-to-end latency's,
    :mod:`scaleplan.observe.analyze`)."""
    hi = bucket[1] if bucket is not None else target
    above = [k for k, v in cells.items() if v > hi or (k in clamped and v >= target)]
    inside = [
        k for k, v in cells.items()
        if bucket is not None and bucket[0] < v <= hi and k not in clamped
    ]
    return above, inside


def interpolated_capacity(observed: Observed) -> str:
    """Where the capacity was read at a TTFT/TPOT SLO that lies inside a bucket
    (:func:`slo_bracket`): what that reading is ('' otherwise). The percentile per step is
    ``histogram_quantile``'s linear interpolation inside the bucket, which reads a right-skewed
    spread high (docs/observe.md), so the capacity where it crosses the SLO reads low: UX
    trial 34's service, 1.2 x slower than planned, read -35 % at a 40 ms TPOT SLO."""
    c = observed.capacity
    if not c.at_slos or c.rps_per_replica is None:
        return ""
    pct = observed.running_plan.spec.slo.percentile
    plan, sent = observed.running_plan, observed.queries
    inside = [
        f"{k.upper()} p{pct} {ms:g} ms inside the histogram's {b[0]:g}-{b[1]:g} ms bucket"
        for k, ms in c.at_slos.items()
        if (b := slo_bracket(plan, k, ms, sent.get(f"{k}_latency"))) is not None
    ]
    if not inside:
        return ""
    return (
        f"the capacity was read at {' and '.join(inside)}: histogram_quantile interpolates "
        "linearly there, which reads a right-skewed spread's percentile high, so this capacity "
        "is an estimate that reads low, not a measurement (optimize --observed calibrates the "
        "LLM model on the hours' exact means instead)"
    )


def token_slo_hours(observed: Observed) -> list[TokenHours]:
    """LLM plans: TTFT and TPOT (each UTC hour's median across days of the SLO percentile)
    against the spec's ``ttft_ms`` / ``tpot_ms``, for each with a target and data. The
    histograms have no class label: with per-class SLOs, the class-blind targets
    (:func:`scaleplan.spec_class_slo.class_blind_slo`; :func:`unjudged` says what is left
    out). Where the SLO lies inside a bucket (:func:`slo_bracket`) an hour read in that bucket
    is ``inside``, not above: until 2026-12-07 a service whose TPOT p95 was 27-33 ms read
    "above in 24 of 24 hours" of a 40 ms SLO (UX trial 34 F1)."""
    plan = observed.running_plan
    blind, _ = class_blind_slo(plan.spec)
    out = []
    for key, target, what in (("ttft", blind["ttft"], "TTFT"), ("tpot", blind["tpot"], "TPOT")):
        extra = observed.extras.get(key)
        hours = [v for v in extra.hourly if v is not None] if extra is not None else []
        if target is None or not hours:
            continue
        bucket = slo_bracket(plan, key, target, observed.queries.get(key))
        above, inside = hours_against(dict(enumerate(hours)), target, bucket)
        out.append(
            TokenHours(what, target, len(above), len(hours), max(hours), len(inside), bucket)
        )
    return out


def unjudged(plan: Plan) -> list[str]:
    """The per-class targets observe cannot judge from class-blind histograms (the classes'
    TTFT or end-to-end targets differ: :func:`scaleplan.spec_class_slo.class_blind_slo`; their
    end-to-end limits differ and a class states its own: :func:`stated_e2e_differ`)."""
    _, differ = class_blind_slo(plan.spec)
    _, why = e2e_limit(plan)
    # derived limits are no SLO: capacity is read at the TTFT/TPOT SLOs then
    # (token_capacity_targets); a class's stated one is a target left unjudged
    if stated_e2e_differ(plan) and not any("end-to-end" in d for d in differ):
        differ = [*differ, why]
    return [f"not judged: {d}, and the server's histograms do not tell classes apart "
            "(scaleplan simulate judges each class against its own)" for d in differ]
