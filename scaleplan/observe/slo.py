"""What observe and ``optimize --observed`` say of the running plan's SLOs, shared by the
report (:mod:`scaleplan.observe.report`), the analysis and the risks
(:mod:`scaleplan.observe.replan`): report arithmetic, kept out of the Observed model."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    """The SLOs observe reads capacity at where the classes' end-to-end limits differ
    (:func:`e2e_limit` None): the class-blind TTFT and TPOT targets, ``{"ttft": ms, "tpot":
    ms}``, those the classes share (:func:`scaleplan.spec_class_slo.class_blind_slo`: TPOT the
    tightest class's, TTFT only where every class has the same), empty where there is none or
    the limits agree. The derived end-to-end limits are no SLO (validate says so); until
    2026-12-07 a spec of a chat class and a long-prompt class with a looser TTFT (the
    commonest LLM shape) never had its capacity measured: "the classes' end-to-end limits
    differ (chat 24800 ms derived, rag 28000 ms derived)" (UX trial 29 F7)."""
    if e2e_limit(plan)[0] is not None:
        return {}
    blind, _ = class_blind_slo(plan.spec)
    return {k: v for k in ("ttft", "tpot") if (v := blind[k]) is not None}


def stated_e2e_differ(plan: Plan) -> bool:
    """Whether a class states an end-to-end latency SLO of its own (``latency_ms``) and the
    classes' limits differ: a target observe cannot judge (derived limits are no SLO)."""
    spec = plan.spec
    if e2e_limit(plan)[0] is not None:
        return False
    return any(slo_of(spec, c.name).tested_latency_ms is not None for c in spec.traffic.classes)


def token_slo_hours(observed: Observed) -> list[tuple[str, float, int, int, float]]:
    """LLM plans: TTFT and TPOT (each UTC hour's median across days of the SLO percentile)
    against the spec's ``ttft_ms`` / ``tpot_ms``: (what, target ms, hours above, hours seen,
    worst ms), for each with a target and data. The histograms have no class label: with
    per-class SLOs, the class-blind targets (:func:`scaleplan.spec_class_slo.class_blind_slo`;
    :func:`unjudged` says what is left out)."""
    blind, _ = class_blind_slo(observed.running_plan.spec)
    out = []
    for key, target, what in (("ttft", blind["ttft"], "TTFT"), ("tpot", blind["tpot"], "TPOT")):
        extra = observed.extras.get(key)
        hours = [v for v in extra.hourly if v is not None] if extra is not None else []
        if target is not None and hours:
            out.append((what, target, sum(1 for v in hours if v > target), len(hours), max(hours)))
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
