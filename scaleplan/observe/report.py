"""The text reports of ``observe`` (what the service did; with ``--print-queries`` the queries
it would send, as lines or JSON) and ``optimize --observed`` (the new plan against the running
one), as lines for the command line to print (JSON: ``model.py``'s ``observed_to_dict`` and
``replan.py``'s ``replan_report``)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from scaleplan.observe.model import Observed, ObservedCapacity
from scaleplan.observe.slo import (
    e2e_limit,
    interpolated_capacity,
    latency_limit,
    token_slo_hours,
    unjudged,
)
from scaleplan.plan import Plan
from scaleplan.table import Line, Report
from scaleplan.wording import counted, sig4

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scaleplan.catalog.model import Accelerator
    from scaleplan.observe.queries import QuerySet


def queries_json(queries: QuerySet) -> dict[str, str]:
    """``observe --print-queries --json``: each query's name and the PromQL it would send."""
    return {q.name: q.promql for q in queries.queries}


def queries_lines(queries: QuerySet) -> list[Line]:
    """``observe --print-queries``: ``name: PromQL``, one line per query; whole in a pipe, on
    a terminal wrapped between words and after ``,``, ``(`` and ``{`` outside quoted strings
    (PromQL takes the line breaks there), continuations indented by two spaces."""
    return [Line(f"{q.name}: {q.promql}", hang=2, breaks=",({") for q in queries.queries]


def observed_notes(obs: Observed) -> list[str]:
    """``observe``'s notes (stderr): the analysis's, then the optional series without data."""
    missing = [f"no data for optional series: {', '.join(obs.missing)}"] if obs.missing else []
    return [*obs.notes, *missing]


def _days(obs: Observed) -> str:
    """The days the curve rests on, and of how many queried where the history covers fewer
    (the range printed below it is the one queried: '7 days' over a 14-day range read as a
    contradiction, UX trial 26 F8)."""
    import datetime as dt

    have = counted(obs.demand.days, "day")
    try:
        start = dt.datetime.fromisoformat(obs.metadata.start.replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(obs.metadata.end.replace("Z", "+00:00"))
    except ValueError:
        return have
    queried = round((end - start).total_seconds() / 86400, 1)
    if obs.demand.days >= queried:
        return have
    return f"{have} with data of the {queried:g} queried"


def observed_lines(obs: Observed, out: str | None) -> list[str]:
    """``observe``: demand per UTC hour, measured capacity against the plan's, SLO hours."""
    d = obs.demand
    c = obs.capacity
    s = obs.slo
    limit = latency_limit(obs.running_plan)  # the SLO, or a latency derived from TTFT/TPOT
    derived = " (derived)" if limit != "the SLO" else ""
    lines = [
        f"{obs.metadata.service} ({obs.metadata.namespace}), {_days(obs)}",
        f"  {obs.metadata.start} .. {obs.metadata.end}",
        f"demand (p{d.quantile * 100:g} across days), rps per UTC hour:",
    ]
    for row in range(0, 24, 4):
        lines.append(
            "  " + "  ".join(f"{h:02d}h {sig4(d.hourly_rps[h]):>9}" for h in range(row, row + 4))
        )
    if c.at_slos:  # the classes' e2e limits differ: read at the TTFT/TPOT SLOs they share
        lines += _token_capacity_lines(c, s.percentile)
        lines += _wrap_indented(interpolated_capacity(obs))  # an SLO inside a bucket
    elif c.rps_per_replica is not None:
        at = f"p{s.percentile} {c.at_latency_ms:g} ms{derived}"
        lines.append(f"capacity: {c.rps_per_replica:g} rps per replica at {at}")
        lines += _method_lines(c)
        if derived:  # the plan's capacity is at its TTFT/TPOT SLOs, not at this figure
            note = derived_capacity_note(c.planned_rps_per_replica, bool(obs.llm and obs.llm.hours))
            lines += textwrap.wrap(
                note, 80, initial_indent="  ", subsequent_indent="  ", break_long_words=False
            )
        else:
            lines.append(
                f"  the plan assumed {c.planned_rps_per_replica:g} ({(c.ratio or 0) - 1:+.0%})"
            )
    elif e2e_limit(obs.running_plan)[0] is None:  # class SLOs: no one limit (the notes say why)
        lines.append("capacity: not measured (the classes' end-to-end limits differ;")
        lines.append(f"  at most {c.max_rps_per_replica:g} rps per replica seen);")
        lines.append(f"  the plan assumed {c.planned_rps_per_replica:g}")
    else:
        if c.points_near_limit:  # near the SLO, in too thin a latency sliver to read it at
            lines.append("capacity: not measured (the latency near the limit spans too little")
            lines.append(f"  over its {c.points_near_limit} points to read it at the SLO)")
        elif c.ran_above_limit(s.latency_ms):
            lines.append("capacity: not measured (the service ran above its limit, never near it)")
        else:
            lines.append("capacity: not measured (the service never ran near its limit)")
        seen = f"at most {c.max_rps_per_replica:g} rps per replica seen"
        assumed = f"the plan assumed {c.planned_rps_per_replica:g}"
        if c.ran_above_limit(s.latency_ms):  # the load seen is no capacity either
            at = f"p{s.percentile} {c.latency_at_max_ms:g} ms"
            lines.append(f"  {seen}, at {at} (above {limit});")
            lines.append(f"  {assumed}")
        else:
            lines.append(f"  {seen}; {assumed}")
    slo = f"SLO p{s.percentile} {s.latency_ms:g} ms"
    if derived:  # no SLO: TTFT's and TPOT's follow
        slo = f"e2e p{s.percentile} {s.latency_ms:g} ms (derived, not an SLO)"
    if e2e_limit(obs.running_plan)[0] is not None:  # else unjudged() below says why
        lines.append(f"{slo}: above in {s.hours_above} of {s.hours_seen} observed hours,")
        lines.append(f"  {s.peak_hours_above} of {s.peak_hours_seen} peak hours")
    lines += _token_slo_lines(obs)  # LLM plans
    for note in unjudged(obs.running_plan):  # per-class targets a class-blind series cannot
        lines += textwrap.wrap(note, 80, subsequent_indent="  ", break_long_words=False)
    for w in obs.warnings:  # what the observation cannot tell, on stdout beside the figures
        lines += textwrap.wrap(
            f"warning: {w}", 80, subsequent_indent="  ", break_long_words=False
        )
    lines += _llm_lines(obs)
    if out is not None:
        lines.append(f"wrote {out}")
    return lines


def _wrap_indented(text: str) -> list[str]:
    """``text`` in 80 columns, indented under the line it qualifies (nothing for '')."""
    return textwrap.wrap(
        text, 80, initial_indent="  ", subsequent_indent="  ", break_long_words=False,
        break_on_hyphens=False,
    )


def _token_slo_lines(obs: Observed) -> list[str]:
    """LLM plans: TTFT and TPOT against their SLOs over the hours of the day, and the hours
    the histogram cannot tell (the SLO inside a bucket: :func:`token_slo_hours`)."""
    pct = obs.slo.percentile
    lines: list[str] = []
    for t in token_slo_hours(obs):
        slo_at = f"{t.what} p{pct} {t.target:g} ms"
        lines.append(f"{slo_at}: above in {t.above} of {t.hours} hours of the day")
        lines.append(f"  (median across days), worst {t.worst:g} ms")
        lines += _wrap_indented(t.inside_note(pct))
    return lines


def _method_lines(c: ObservedCapacity) -> list[str]:
    """How the capacity was read: the method and the points near the limit; a bracket also
    says between which loads (the band's points alone could not place it)."""
    if c.method != "bracket" or c.above_slo_from_rps_per_replica is None:
        return [f"  ({c.method}, {c.points_near_limit} points near the limit)"]
    text = (
        f"(bracket: every step up to {c.rps_per_replica:g} rps per replica held the SLO, "
        f"every step from {c.above_slo_from_rps_per_replica:g} was above {c.band[1]:g} x it; "
        f"{c.points_near_limit} points near the limit, too few or too alike to regress)"
    )
    return textwrap.wrap(
        text, 80, initial_indent="  ", subsequent_indent="  ", break_long_words=False
    )


def _token_capacity_lines(c: ObservedCapacity, percentile: int) -> list[str]:
    """The capacity lines where it was read at the TTFT/TPOT SLOs (``at_slos``): the plan
    sized its replicas at them, so its capacity compares."""
    at = c.read_at(percentile)
    assumed = f"the plan assumed {c.planned_rps_per_replica:g}"
    if c.rps_per_replica is not None:
        return [
            f"capacity: {c.rps_per_replica:g} rps per replica at {at}",
            *_method_lines(c),
            f"  {assumed} ({(c.ratio or 0) - 1:+.0%})",
        ]
    seen = f"at most {c.max_rps_per_replica:g} rps per replica seen"
    if c.points_near_limit:
        why = f"near {at} over {c.points_near_limit} points, spanning too little to read it there"
    elif c.ran_above_limit(0.0):
        why = f"the service ran above {at}, never near it"
    else:
        why = f"the service never ran near {at}"
    if c.share_of_slo_at_max is not None:
        seen += f", at {c.share_of_slo_at_max:.0%} of the SLO"
    text = f"capacity: not measured ({why}; {seen}); {assumed}"
    return textwrap.wrap(text, 80, subsequent_indent="  ", break_long_words=False)


def derived_capacity_note(planned: float, calibrated: bool) -> str:
    """What a capacity read at a derived end-to-end latency is not: the plan's capacity error.
    The plan sized its replicas at the TTFT/TPOT SLOs (the derived figure is no SLO, and a class
    mix's end-to-end p95 can pass it while TTFT and TPOT hold), and ``optimize --observed``
    re-plans capacity with the LLM model calibrated on the observed hours (``calibrated``:
    there are some). Until 2026-12-06
    the line read "the plan assumed 1.364 (-61%)" beside a re-plan at 0.616 (-55 %) from the
    same file: two numbers for one error (UX trial 26 F9)."""
    then = (
        "optimize --observed re-plans capacity with the LLM model calibrated on the observed hours"
        if calibrated else "no observed hour calibrates the LLM model (below), so optimize "
        "--observed keeps the model's capacity"
    )
    return (
        f"not the plan's capacity error: the plan's {planned:g} is at its TTFT/TPOT SLOs, "
        f"not at this figure; {then}"
    )


def _llm_lines(obs: Observed) -> list[str]:
    """LLM plans: mean tokens per request, and the hours the LLM model can be calibrated with."""
    from scaleplan.observe.replan import tpot_only

    llm = obs.llm
    if llm is None:
        return []
    lines = []
    if llm.prompt_tokens is not None and llm.output_tokens is not None:
        lines.append(f"tokens per request: prompt {llm.prompt_tokens:g}, output "
            f"{llm.output_tokens:g} (mean)")
    if llm.hours:
        shapes = sorted({f"{h.accelerator or llm.accelerator} "
            f"x{h.gpus_per_replica or llm.gpus_per_replica}" for h in llm.hours})
        why = tpot_only(obs)
        only = f" ({why})" if why else ""
        lines += textwrap.wrap(f"LLM model calibration points: {counted(len(llm.hours), 'hour')} "
            f"on {', '.join(shapes)}{only}", 80, subsequent_indent="  ", break_long_words=False)
    elif llm.note:
        lines += textwrap.wrap(f"LLM model calibration points: none; {llm.note}", 80,
            subsequent_indent="  ", break_long_words=False)
    return lines


def replan_lines(
    observed: Observed, plan: Plan, accelerators: Sequence[Accelerator]
) -> list[str]:
    """``optimize --observed``: the change against the running plan, hour by hour, the monthly
    cost and the risks seen in the running service (start-ups priced by ``accelerators``, the
    table of the catalog optimize solved with)."""
    from scaleplan.observe.replan import hourly_changes, monthly_delta, risks
    from scaleplan.plandiff import diff_lines, diff_plans

    running = observed.running_plan
    lines = [f"change against the running plan ({running.metadata.plan_hash[:12]}):"]
    lines += diff_lines(diff_plans(running, plan, accelerators), monthly=False)  # said below
    lines.append("replicas per UTC hour, running -> new:")
    for c in hourly_changes(running, plan):
        lines.append(f"  {c.key}")
        runs = c.runs()
        if all(b == a for _, _, b, a in runs):
            lines.append(
                f"      unchanged: {', '.join(f'{h0:02d}-{h1:02d}h {b}' for h0, h1, b, _ in runs)}"
            )
            continue
        for h0, h1, b, a in runs:
            mark = "~" if a != b else " "
            hours = f"{h0:02d}-{h1:02d}h" if h1 > h0 else f"{h0:02d}h   "
            lines.append(f"    {mark} {hours}  {b} -> {a} replicas")
    delta = monthly_delta(running, plan)
    sign = "+" if delta >= 0 else "-"
    change = f"{sign}${abs(delta):,.2f}/month"
    lines.append(
        f"monthly: ${running.cost_per_month:,.2f} -> ${plan.cost_per_month:,.2f} ({change})"
    )
    found = risks(observed)
    if found:
        lines.append("risks seen in the running service:")
        for r in found:  # wrapped between words, continuation lines indented under the text
            lines += textwrap.wrap(r, 80, initial_indent="  - ", subsequent_indent="    ",
                break_long_words=False)
    return lines


def queries_report(queries: QuerySet, as_json: bool) -> Report:
    """``observe --print-queries``: the queries as JSON, or :func:`queries_lines`."""
    if as_json:
        return Report(doc=queries_json(queries))
    return Report(lines=queries_lines(queries))


def observed_report(obs: Observed, out: str | None, as_json: bool) -> Report:
    """``observe``: its notes, then the Observed document as JSON, or :func:`observed_lines`."""
    notes = observed_notes(obs)
    if as_json:
        from scaleplan.observe.model import observed_to_dict

        return Report(doc=observed_to_dict(obs), notes=notes)
    return Report(lines=observed_lines(obs, out), whole=True, notes=notes)
