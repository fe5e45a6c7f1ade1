"""``optimize``'s report of the plan it wrote: the summary for the terminal (a table that fits
80 columns, ``wide`` for every column, then cost, constraints, baselines, alternatives, the
changes against the previous plan and the files written) and the ``--json`` document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from scaleplan.plan import (
    GAP_FROM_BOUND,
    GAP_FROM_SEARCH,
    HOURS_PER_MONTH,
    SAME_COST_PER_HOUR,
)
from scaleplan.spec_class_slo import class_slo_text
from scaleplan.table import Column, Line, Report, table_text
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator
    from scaleplan.inputs import ObservedInputs
    from scaleplan.plan import Allocation, Alternative, Baseline, Plan, SpotLoss
    from scaleplan.plan_outputs import PlanOutputs
    from scaleplan.plandiff import PlanDiff
    from scaleplan.simulate.failures import StartupCost
    from scaleplan.solve import SolveResult


def plan_json(
    plan: Plan, result: SolveResult, wrote: PlanOutputs, obs: ObservedInputs | None,
    accelerators: Sequence[Accelerator],
) -> dict[str, Any]:
    """``optimize --json``: the plan, how it was solved, the files written, the changes against
    the previous plan and (``--observed``) against the running one. ``accelerators``: the
    table of the catalog optimize solved with, which prices the start-ups."""
    from scaleplan.plan import plan_to_dict

    doc = plan_to_dict(plan)
    # what binds each LLM allocation's max_num_seqs (not in plan.yaml: the optimizer's run)
    for a, out in zip(plan.allocations, doc.get("allocations", []), strict=True):
        if a.llm is not None and isinstance(out.get("llm"), dict):
            b = a.llm.bound
            out["llm"]["max_num_seqs_bound"] = None if b is None else b.to_dict()
    doc["solve_seconds"] = round(result.solve_seconds, 4)
    doc["solve_stats"] = result.stats_dict()
    # a one-cluster flavor's region and each region's cost (null: the spec named the regions,
    # or the flavor spans clusters)
    doc["region_choice"] = None if result.region_choice is None else result.region_choice.to_dict()
    doc["gap_reason"] = gap_reason(plan)  # null when optimal; the explanation's gap line
    doc["files"] = list(wrote.written)
    doc["render_warnings"] = list(wrote.render_warnings)
    doc["price_warnings"] = list(wrote.price_warnings)  # date-based: never in plan.yaml
    # null when --out held no plan: the key is there on every run, for a dashboard's reader
    doc["changes"] = None if wrote.changes is None else wrote.changes.to_dict()
    doc["startup_cost"] = startup_cost_doc(plan, accelerators)  # not in plan.yaml: derived
    doc["redundancy_warning"] = single_replica_warning(plan)  # null unless one replica at peak
    if obs is not None:  # scaleplan.observe is imported only for --observed
        from scaleplan.observe.replan import replan_report

        doc["observed"] = replan_report(obs.source, obs.observed, obs.labels, plan, accelerators)
    return doc


def summary_table(plan: Plan, *, wide: bool = False) -> str:
    """The plan's allocations, one per line, under a title with its status and gap (no solve
    time: identical inputs print identical bytes)."""
    cols = [
        Column("allocation", wide=True), Column("instance type"), Column("provider", wide=True),
        Column("region"), Column("per replica"), Column("capacity"), Column("replicas", "right"),
        Column("nodes", "right", wide=True), Column("rps/rep", "right", wide=True),
        Column("$/h", "right"),
    ]
    rows = []
    for a in plan.allocations:
        reps = str(a.replicas)
        if len(set(a.replicas_per_window)) != 1:
            reps = f"{min(a.replicas_per_window)}-{a.replicas}"
        nodes = str(a.nodes)
        if len(set(a.nodes_per_window)) != 1:
            nodes = f"{min(a.nodes_per_window)}-{a.nodes}"
        if a.gpus_per_replica:
            shape = f"{a.gpus_per_replica} x {a.accelerator}"
        else:
            shape = f"{a.cpu_per_replica:g} vCPU"
        if a.estimated:
            shape += "*"
        rows.append([
            a.name, a.instance_type, a.provider, a.region, shape, a.capacity_type, reps, nodes,
            f"{a.capacity_rps_per_replica:.4g}", f"{a.cost_per_hour:.4f}",
        ])
    # no solve time: the same inputs print the same bytes (--json's solve_seconds has it)
    title = f"Plan for {plan.metadata.name}: {plan.status}, gap {plan.gap or 0:.2%}"
    why = gap_reason(plan)
    if why:
        title += f"\n  gap: {why}"
    return table_text(cols, rows, wide=wide, title=title)


def gap_reason(plan: Plan) -> str | None:
    """A feasible plan's gap in a few words (under 80 columns), from its explanation's gap
    sentence (``scaleplan.solve.explain.gap_line``); None for an optimal plan."""
    if plan.status != "feasible":
        return None
    line = next((s for s in plan.explanation if s.startswith("Gap ")), "")
    if GAP_FROM_BOUND in line:
        return "heuristic vs a loose bound, not the time limit (see explanation)"
    if GAP_FROM_SEARCH in line:
        return "the MILP stopped at the time limit; a longer --time-limit may help"
    return None


def _tpot(ms: float) -> str:
    """A TPOT in ms to 3 significant digits, whole ms from 1,000 up (not 1.23e+03)."""
    return f"{ms:.3g}" if ms < 1000 else f"{ms:,.0f}"


def llm_lines(plan: Plan) -> list[Line]:
    """LLM plans: per serving shape (GPU, TP, sequences at once) the TTFT and TPOT the model
    predicts for each class at the planned concurrency, against the SLO (the plan's
    ``allocations[].llm.classes``; bands and KV cache in plan.yaml's explanation)."""
    slo = plan.spec.slo
    shapes: dict[str, None] = {}  # one line per serving shape, in plan order
    for a in plan.allocations:
        if a.llm is None or not a.llm.classes:
            continue
        x = a.llm
        per = "; ".join(
            f"{c} TTFT {p.ttft_ms:.0f} ms, TPOT {_tpot(p.tpot_ms)} ms"
            for c, p in x.classes.items()
        )
        shape = f"{a.accelerator} x{a.gpus_per_replica}, {x.max_num_seqs} seqs"
        shapes[f"  - {shape}: {per}"] = None
        if x.bound is not None:  # what binds max_num_seqs (optimize's own run; UX trial 29 F5)
            shapes[f"    {x.bound.text()}"] = None
    if not shapes:
        return []
    targets = (("TTFT", slo.ttft_ms), ("TPOT", slo.tpot_ms))
    limits = ", ".join(f"{name} {v:g} ms" for name, v in targets if v is not None)
    limits = limits or f"e2e {slo.latency_ms:g} ms"
    # the figures are the model's means (allocations[].llm.classes), not the SLO's percentile:
    # printed under "SLO p95" unlabelled, TPOT 71.1 ms read as 11 % under an 80 ms target whose
    # p95 prediction was 79.6 ms (UX trial 20, F4)
    head = "predicted per class at the planned concurrency, means"
    own = class_slo_text(plan.spec)  # classes with targets of their own
    limits += f"; {own}" if own else ""
    head = f"{head} (SLO p{slo.percentile}: {limits}):"
    return [Line(head), *(Line(t) for t in shapes)]


def _capacity_source(plan: Plan, estimated: Sequence[Allocation]) -> str:
    """What the table's starred capacities rest on, for its footnote."""
    # calibrated first: optimize --observed calibrates a plan whose spec names no profile
    # (it said "no profile: uncalibrated" under a calibrated plan, UX trial 22)
    if all(a.operating_point.source == "calibrated" for a in estimated):
        return "the LLM model's predictions, calibrated on measured points"
    if plan.spec.model.profile is None:  # an LLM planned from its architecture alone
        return "the LLM model's estimates (no profile: uncalibrated)"
    # typed (Plan.profile_unused), not read off the warnings' words (until 2026-12-07)
    if plan.profile_unused == "estimates-only":  # UX trial 31 F3
        return "the LLM model's estimates (no measured profile: uncalibrated)"
    if plan.profile_unused == "points-left-out":
        # a profile none of whose measured points calibrates the model (UX trial 23)
        return "the LLM model's estimates (the profile's points left out: uncalibrated)"
    return "estimated profile points"


def summary_lines(
    plan: Plan, written: Sequence[str], changes: PlanDiff | None = None, plan_file: str = "",
    *, accelerators: Sequence[Accelerator],
) -> list[Line]:
    """What follows the table: cost, utilization, binding constraints, savings against the
    baselines, the next-best plans, the changes against the previous plan, the files written.
    ``accelerators``: the table of the catalog optimize solved with (the start-ups' price)."""
    lines: list[Line] = []
    estimated = [a for a in plan.allocations if a.estimated]
    if estimated:
        lines.append(Line(f"* capacity from {_capacity_source(plan, estimated)}"))
    per_m = "n/a"
    if plan.cost_per_million_requests is not None:
        # cents where the figure is in the hundreds, grouped as the month's (UX trial 37 F5:
        # "$1439.1448 per million requests" beside "$23,243.99/month")
        m = plan.cost_per_million_requests
        per_m = f"${m:,.2f}" if m >= 100 else f"${m:.4f}"
    # what the figures are, where they are read: the mean of the windows (not the peak
    # hour), a 730-hour month, the nodes' prices and nothing else (docs/optimizer.md)
    month = f"${plan.cost_per_month:,.2f}/month ({HOURS_PER_MONTH:g} h)"
    free = _zero_priced(plan)  # owned nodes: what counts is how many of them the plan uses
    if free:
        lines.append(Line(f"cost: ${plan.cost_per_hour:.4f}/h averaged over the day, {month}:"))
        lines.append(Line("  every node is priced at $0/h"))
        lines += [Line(t) for t in quota_use_lines(plan)]
    else:
        lines += [
            Line(f"cost: ${plan.cost_per_hour:.4f}/h averaged over the day, {month},"),
            Line(f"  {per_m} per million requests; a row's $/h is its mean over the day"),
            Line("  instance prices only: no disks, load balancers, control plane, egress"),
        ]
    if any(a.capacity_type == "spot" for a in plan.allocations):  # docs/catalog.md, caveats
        lines.append(Line("  spot at the cheapest zone's price in the catalog; it changes hourly"))
    lines += startup_lines(plan, accelerators)
    lines += single_replica_lines(plan)
    # a plan out of proportion (scaleplan.solve.sanity) is said again under its cost
    lines += [Line(f"WARNING: {w}") for w in plan.warnings if w.startswith("out of proportion:")]
    # a one-cluster flavor's region (solve.core); why a plan that may use spot runs none (UX
    # trial 31: an Azure H100 plan, spot allowed, said it only in plan.yaml's explanation)
    said = ("Average utilization", "one region:", "Spot: allowed, but")
    lines += [Line(t) for t in plan.explanation if t.startswith(said)]
    lines += llm_lines(plan)
    if plan.binding_constraints:
        lines.append(Line("binding constraints:"))
        # wrapped on a terminal between words (a name is never split), whole in a pipe
        lines += [Line(f"  - {b}") for b in plan.binding_constraints]
    baselines = [b for b in plan.baselines if not (free and b.cost_per_hour == 0)]
    if baselines:
        lines.append(Line("savings against naive baselines:"))
        for bl in baselines:
            if bl.cost_per_hour is None:
                lines.append(Line(f"  - {bl.name}: {bl.description}"))
            else:
                saves = _saves(plan, bl)
                lines.append(Line(f"  - {bl.name}: ${bl.cost_per_hour:.4f}/h, {saves}"))
    alternatives = [a for a in plan.alternatives if not (free and a.cost_per_hour == 0)]
    lines += _alternative_lines(plan, alternatives)
    lines += unused_lines(plan, baselines, _shown(alternatives)[1])
    if plan.spot_loss is not None:
        lines += spot_loss_lines(plan.spot_loss, plan.cost_per_hour)
    if changes is not None:
        from scaleplan.plandiff import diff_lines

        lines.append(Line(f"changes against the previous {plan_file}:"))
        lines += [Line(t, whole=True) for t in diff_lines(changes)]
    lines += [Line(f"wrote {w}") for w in written]
    return lines


def single_replica_lines(plan: Plan) -> list[Line]:
    """The :func:`single_replica_warning` under the cost, when there is one."""
    warning = single_replica_warning(plan)
    return [Line(f"WARNING: {warning}")] if warning else []


def single_replica_warning(plan: Plan) -> str | None:
    """A plan that runs one replica in its busiest window, without redundancy (UX trial 30 F4:
    the cheapest chat plan was one replica, and only simulate --fail node showed 0 % served for
    ~16 minutes): every node drain, spot reclaim or failure is then an outage until a new pod
    serves; say so, and what keeps a spare. ``--json``: ``redundancy_warning``."""
    if plan.spec.placement.redundancy != "none" or not plan.allocations:
        return None
    windows = len(plan.demand.rps)
    peak = max(plan.replicas_at(w) for w in range(windows)) if windows else 0
    if peak != 1:
        return None
    return (
        "one replica at the busiest hour: a node drain, spot reclaim or failure stops "
        "all serving until a new pod serves (`simulate --fail node` shows how long); "
        "placement.redundancy: n+1 keeps a spare"
    )


def startup_cost_doc(plan: Plan, accelerators: Sequence[Accelerator]) -> dict[str, Any]:
    """``--json``'s ``startup_cost``: the new nodes' start-ups the cost leaves out
    (:func:`scaleplan.simulate.failures.startup_cost`, by the ``accelerators`` of the catalog
    optimize solved with) and the :func:`swap_warning`."""
    from scaleplan.simulate.failures import startup_cost

    c = startup_cost(plan, accelerators)
    return {
        "per_hour": round(c.per_hour, 4),
        "per_day": round(c.per_day, 2),
        "swaps_per_hour": round(c.swaps_per_hour, 4),
        "warning": swap_warning(plan, c),
    }


def startup_lines(plan: Plan, accelerators: Sequence[Accelerator]) -> list[Line]:
    """One line under the cost with what new nodes cost while their pods start (only when
    that is not $0; by the ``accelerators`` of the catalog optimize solved with), and the
    :func:`swap_warning`."""
    from scaleplan.simulate.failures import startup_cost

    c = startup_cost(plan, accelerators)
    if round(c.per_hour, 4) == 0:
        return []
    lines = [Line(f"  + start-ups, not in the cost: ${c.per_hour:.4f}/h (${c.per_day:,.2f}/day)")]
    warning = swap_warning(plan, c)
    return lines + ([Line(f"WARNING: {warning}")] if warning else [])


def swap_warning(plan: Plan, c: StartupCost) -> str | None:
    """A plan of more than one instance type whose start-ups in swaps (a window in which one
    allocation adds nodes while another sheds some) cost more per hour than it saves against
    the cheapest single type: a plan that swaps less may cost less. The baseline's own
    start-ups are not known here (plan.yaml keeps no baseline's nodes per window), so not
    counted, and the warning says so."""
    if len({a.instance_type for a in plan.allocations}) < 2:
        return None
    single = next((b for b in plan.baselines if b.name == "cheapest-single-type"), None)
    if single is None or single.cost_per_hour is None:
        return None
    saving = single.cost_per_hour - plan.cost_per_hour
    if c.swaps_per_hour <= saving:
        return None
    more = round(plan.cost_per_hour, 4) - round(single.cost_per_hour, 4)
    saves = (
        f"nothing: this plan costs ${more:.4f}/h more than"
        if more > 0
        else f"the ${saving:.4f}/h this plan saves against"
    )
    return (
        f"swaps of shapes between hours: the new nodes' start-ups in them (an allocation"
        f" grows while another shrinks) cost ${c.swaps_per_hour:.4f}/h, more than"
        f" {saves} the cheapest single type"
        f" (${single.cost_per_hour:.4f}/h, whose own start-ups are not counted), so a plan"
        " that swaps less may cost less: set placement.max_instance_types: 1 (one instance"
        " type; its shapes may still swap) or narrow placement.accelerators or"
        " placement.exclude to fewer shapes, and compare"
    )


# an alternative over this many times the plan's cost more is no choice a user takes: UX trial
# 21 F6 read "next best: 490 x Standard_NC80adis_H100_v5, +1315%" without a word
FAR_OFF = 1.0


def _alternative_lines(plan: Plan, alternatives: Sequence[Alternative]) -> list[Line]:
    """``next best:`` and ``then:`` with each one's extra cost. Those over twice the plan's cost
    (:data:`FAR_OFF`; alternatives come cheapest first) are counted on an indented line, not
    listed; where every one is, the next best is listed and the line says none comes close.
    plan.yaml keeps them all."""
    near, shown = _shown(alternatives)
    lines = []
    for i, alt in enumerate(shown):
        label = "next best" if i == 0 else "then"
        if alt.extra_cost_fraction is None:  # over a $0/h plan: the dollars, not "+0%"
            cost = f"+${alt.cost_per_hour - plan.cost_per_hour:.4f}/h"
        elif round(alt.cost_per_hour, 4) < round(plan.cost_per_hour, 4):
            cost = f"${alt.cost_per_hour:.4f}/h, {_less_than_plan(plan, alt.cost_per_hour)}"
        else:
            cost = f"{_share(alt.extra_cost_fraction, '+')} (${alt.cost_per_hour:.4f}/h)"
        lines.append(Line(f"{label}: {alt.description}, {cost}"))
    more = len(alternatives) - len(shown)
    if not near and alternatives:
        also = f"; {more} more in plan.yaml's alternatives" if more else ""
        lines.append(Line(f"  no single instance type comes within twice this plan's cost{also}"))
    elif more:
        types = counted(more, "more single instance type")
        lines.append(Line(f"  {types} at over twice this plan's cost: plan.yaml's alternatives"))
    return lines


def _shown(alternatives: Sequence[Alternative]) -> tuple[list[Alternative], list[Alternative]]:
    """The alternatives within :data:`FAR_OFF` of the plan's cost, and those listed: they, or
    the next best alone where none is."""
    near = [a for a in alternatives if (a.extra_cost_fraction or 0.0) <= FAR_OFF]
    return near, near or list(alternatives[:1])


def _said_above(
    baselines: Sequence[Baseline], shown: Sequence[Alternative]
) -> dict[tuple[str, float], str]:
    """The plans the baseline and alternative lines printed, by nodes and cost: what an
    accelerator the plan does not use refers to rather than say them again."""
    said = {(a.description, round(a.cost_per_hour, 4)): "the 'then:' plan" for a in shown[1:]}
    said.update({(a.description, round(a.cost_per_hour, 4)): "the next best" for a in shown[:1]})
    for bl in baselines:
        if bl.cost_per_hour is not None:
            nodes = bl.description.rpartition(": ")[2]
            said[nodes, round(bl.cost_per_hour, 4)] = f"the {bl.name} baseline"
    return said


def unused_lines(
    plan: Plan,
    baselines: Sequence[Baseline] = (),
    shown: Sequence[Alternative] = (),
) -> list[Line]:
    """One line per accelerator placement.accelerators names that the plan does not run on:
    what the cheapest plan on it alone costs, or why it has none (UX trial 37 F8). A proven
    plan that a line of ``baselines`` or ``shown`` (the alternatives listed) already said
    (the fastest-accelerator baseline is such a solve) is referred to, not said again."""
    if not plan.unused_accelerators:
        return []
    said = _said_above(baselines, shown)
    lines = [Line("allowed accelerators the plan does not use:")]
    for u in plan.unused_accelerators:
        if u.cost_per_hour is None:
            lines.append(Line(f"  - {u.accelerator}: {u.reason}"))
            continue
        same = said.get((u.description or "", round(u.cost_per_hour, 4)))
        if same is not None and u.gap is None:
            lines.append(Line(f"  - {u.accelerator} alone: {same} above"))
            continue
        most = "at most " if u.gap is not None else ""
        if u.extra_cost_fraction is None:  # over a $0/h plan: the dollars, not "+0%"
            cost = f"+${u.cost_per_hour - plan.cost_per_hour:.4f}/h"
        elif round(u.cost_per_hour, 4) < round(plan.cost_per_hour, 4):  # neither proven
            cost = f"{most}${u.cost_per_hour:.4f}/h, {_less_than_plan(plan, u.cost_per_hour)}"
        else:
            cost = f"{_share(u.extra_cost_fraction, '+')} ({most}${u.cost_per_hour:.4f}/h)"
        unproven = f", not proven the cheapest (gap {u.gap:.1%})" if u.gap is not None else ""
        lines.append(Line(f"  - {u.accelerator} alone: {u.description}, {cost}{unproven}"))
    return lines


def spot_loss_lines(s: SpotLoss, cost: float) -> list[Line]:
    """Spot without placement.spot.survive_loss: what losing all spot at the peak leaves and
    what the rule costs (the explanation's 'Spot loss' line, in two short lines)."""
    first = (
        f"spot loss at peak: {s.on_demand_replicas} of {counted(s.replicas, 'replica')} left "
        f"(on-demand), capacity for {s.on_demand_share:.0%} of demand"
    )
    on = s.survive_loss_cost_per_hour
    if on is None:
        second = f"  placement.spot.survive_loss: true: not priced ({s.not_priced})"
    elif on <= cost + SAME_COST_PER_HOUR:
        second = "  placement.spot.survive_loss: true holds the SLO at no extra cost"
    else:
        extra = f"{s.extra_cost_fraction or 0.0:+.1%}"
        more = f"+${on - cost:,.2f}/h ({extra})"
        if s.survive_loss_gap is not None:
            more = f"at most {more}, not proven the cheapest (gap {s.survive_loss_gap:.1%})"
        second = f"  placement.spot.survive_loss: true holds the SLO for {more}"
    return [Line(first), Line(second)]


def _zero_priced(plan: Plan) -> bool:
    """Whether every node of the plan is priced at $0/h (owned nodes: docs/catalog.md), where
    a cost per million requests, savings and extra cost say nothing (UX review 14, F8)."""
    return bool(plan.allocations) and all(a.price_per_node_hour == 0 for a in plan.allocations)


def quota_use_lines(plan: Plan) -> list[str]:
    """Nodes (``max_nodes``) and GPUs (``max_gpus``) the plan uses at peak in each quota's
    scope (:func:`scaleplan.quotas.quota_covers`, the solver's rule): "onprem/dc1/a100 6
    of 6 nodes"."""
    from scaleplan.quotas import quota_covers, quota_label
    from scaleplan.solve.milp.window import QuotaScope

    allocs = plan.allocations
    windows = max((len(a.nodes_per_window) for a in allocs), default=0)
    per_window = [[a.nodes_per_window[w] if w < len(a.nodes_per_window) else 0 for a in allocs]
                  for w in range(windows)]
    used: list[str] = []
    for q in plan.spec.placement.quotas:
        members = tuple(
            k for k, a in enumerate(allocs)
            if quota_covers(q, a.provider, a.region, a.family, a.accelerators_per_node)
        )
        for limit, nodes in ((q.max_nodes, True), (q.max_gpus, False)):
            if limit is not None:
                scope = QuotaScope(quota_label(q), limit, members, nodes=nodes)
                peak = max((scope.used(allocs, n) for n in per_window), default=0)
                used.append(f"{scope.label} {peak} of {limit} {'nodes' if nodes else 'GPUs'}")
    return [f"used at peak (placement.quotas): {', '.join(used)}"] if used else []


def _saves(plan: Plan, bl: Baseline) -> str:
    """What the plan saves against baseline ``bl``: "the same cost" where the baseline costs
    what the plan does (it read "saves 0%"), one decimal under 1 % (0.4 % is not 0 %)."""
    frac = bl.savings_fraction or 0.0
    cost = bl.cost_per_hour
    if cost is not None and round(cost, 4) == round(plan.cost_per_hour, 4):
        return f"the same cost as the plan ({bl.description})"
    if cost is not None and round(cost, 4) < round(plan.cost_per_hour, 4):
        return _less_than_plan(plan, cost, f" ({bl.description})")
    return f"saves {_share(frac)} ({bl.description})"


# UX trial 33 (F6): an "optimal, gap 0.00%" plan of 3,275 a3-highgpu-8g cost $0.0173/h more
# than its baseline of 6,551 a3-highgpu-4g (an 8g is $0.00001/h dearer than two 4g), and the
# report read "saves 0.0%" and "next best: ..., +0.0%". The cause, the MILP's tie-break charge
# per node, is gone (since 2026-12-07 the tie-break is a second solve with the cost held,
# milp.tiebreak); baselines and alternatives are plans of the same problem over fewer
# candidates, so what is left to make an optimal plan dearer than one of them is the solver's
# gap: each hour's plan is proven within MIP_GAP of its least cost. Say so, in dollars
# (milp.solver.MIP_REL_GAP; a test keeps them equal: the report does not import the solver)
MIP_GAP = 1e-7
GAP_NOTE = (
    f"the solver proves each hour's plan optimal to within {MIP_GAP:.5%} of its cost"
    " (its relative gap, docs/optimizer.md)"
)


def _less_than_plan(plan: Plan, cost: float, what: str = "") -> str:
    """A baseline or alternative that costs less than the plan (at the 4 decimals shown): by
    how much, ``what`` it is, and why: the solver's relative gap for an optimal plan; a
    feasible plan's gap (unfinished search or a heuristic step's bound, its Gap line says
    which), which the relative gap does not explain (r2 review)."""
    less = round(plan.cost_per_hour, 4) - round(cost, 4)
    why = GAP_NOTE
    if plan.status != "optimal":
        gap = f", gap {plan.gap:.2%}" if plan.gap is not None else ""
        why = f"the plan is not proven optimal (status {plan.status}{gap}: its Gap line says why)"
    return f"${less:.4f}/h less than the plan{what}: {why}"


def _share(frac: float, sign: str = "") -> str:
    """A percentage, whole, with one decimal under 1 % (0.4 % is not 0 %, "+0%" next to a
    baseline that "saves 0.4%")."""
    return f"{frac:{sign}.1%}" if abs(frac) < 0.01 else f"{frac:{sign}.0%}"


def optimize_report(
    plan: Plan, result: SolveResult, wrote: PlanOutputs, obs: ObservedInputs | None,
    accelerators: Sequence[Accelerator], *, as_json: bool, wide: bool,
) -> Report:
    """``optimize``: :func:`plan_json`, or the :func:`summary_table` and :func:`summary_lines`,
    then (``--observed``) the change against the running plan (long risk lines wrap).
    ``accelerators``: the table of the catalog optimize solved with."""
    if as_json:
        return Report(doc=plan_json(plan, result, wrote, obs, accelerators))
    lines: list[Line | str] = []
    lines += summary_lines(
        plan, wrote.written, wrote.changes, str(wrote.plan_file), accelerators=accelerators
    )
    if obs is not None:
        from scaleplan.observe.report import replan_lines

        lines += replan_lines(obs.observed, plan, accelerators)
    return Report(text=summary_table(plan, wide=wide), lines=lines)
