"""Infeasibility diagnosis: why no plan exists, in the spec's terms, with the smallest fix.

Each function returns (or raises with) :class:`InfeasibleReason` lists: no candidate survives
the filters (:func:`diagnose_candidates`), no candidate serves every class where routing needs
it (:func:`serving_candidates`), the MILP has no plan (:func:`diagnose_milp`, which re-solves
without the quotas or ``max_replicas`` to say what they cost), the time limit ran out, or the
cheapest plan is over the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.errors import InfeasibleError, InfeasibleReason
from scaleplan.solve.candidates import Candidate, Diagnostics
from scaleplan.solve.placement import CPU, placement_where, zones_left_reason
from scaleplan.solve.problem import Problem, quota_scopes
from scaleplan.solve.search import Outcome, describe, search_windows
from scaleplan.solve.typecap import cap_reason, uncapped
from scaleplan.spec import PROVIDER_OF_FLAVOR, Spec
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.profile.model import Profile


def _fmt_ms(v: float) -> str:
    """A time to 3 significant digits below 100 ms ('3.38 ms', not '3.37612 ms'), whole ms above."""
    return f"{v:.3g} ms" if v < 100 else f"{v:.0f} ms"


def diagnose_candidates(spec: Spec, diag: Diagnostics) -> list[InfeasibleReason]:
    """Why the candidate stage left nothing (or left a request class unserved)."""
    pl = spec.placement
    if diag.rows_after_placement == 0:
        bits = [f"providers {', '.join(pl.providers)}"]
        if pl.regions:
            bits.append(f"regions {', '.join(pl.regions)}")
        if pl.accelerators:
            bits.append(f"accelerators {', '.join(pl.accelerators)}")
        if pl.exclude:
            bits.append(f"exclude {', '.join(pl.exclude)}")
        said = f"no catalog row matches placement ({'; '.join(bits)})"
        fix = (
            "widen placement.providers, placement.regions or placement.accelerators, "
            "or add a catalog with --catalog"
        )
        if diag.rows_flagged:  # they exist: say why they are not used
            said += (
                f" except {diag.rows_flagged} flagged as suspect, which are left out "
                "(docs/catalog.md)"
            )
            # the user's own prices first: include_flagged plans on the doubtful ones (UX trial 23)
            fix = (
                "give the prices you pay for those rows in a catalog of your own (--catalog or "
                "placement.catalogs), set placement.include_flagged: true to plan on the flagged "
                "prices as they are, or widen placement.providers, placement.regions or "
                "placement.accelerators"
            )
        return [InfeasibleReason("no-candidates", said, fix)]
    if diag.llm_refusals and diag.shapes_fitting == 0:
        more = len(diag.llm_refusals) - 3
        shown = "; ".join(r.message for r in diag.llm_refusals[:3])
        shown += f"; and {more} more" if more > 0 else ""
        fix = (
            "allow larger accelerators or more GPUs per replica "
            "(placement.max_gpus_per_replica), shorten max_model_len, or use a smaller "
            "dtype / an fp8 KV cache"
        )
        if all(r.weights for r in diag.llm_refusals):  # the KV cache's fixes cannot help
            fix = (
                "allow larger accelerators or more GPUs per replica "
                "(placement.max_gpus_per_replica), or use a smaller dtype: the weights alone "
                "do not fit, so a shorter max_model_len or an fp8 KV cache cannot help"
            )
        if all(r.dtype for r in diag.llm_refusals):  # the dtype, not the memory
            fix = (
                "set model.dtype to a precision these accelerators run, or allow in "
                "placement.accelerators one that runs this one (the reason says which)"
            )
            if diag.unoffered:  # named, but not offered where the placement looks (UX trial 34)
                them, their = ("it", "its") if len(diag.unoffered) == 1 else ("them", "their")
                fix += (
                    f"; placement.accelerators also names {', '.join(diag.unoffered)}, which no "
                    f"catalog row in {placement_where(spec)} offers: plan a region that has "
                    f"{them} (placement.regions; `scaleplan catalog list --accelerator "
                    f"{diag.unoffered[0]}`), or give {their} rows in a catalog of your own"
                )
        return [InfeasibleReason("memory", f"no allowed shape can serve the model: {shown}", fix)]
    common = diag.placement_accelerators & diag.profile_accelerators
    if not common:
        prof = ", ".join(sorted(diag.profile_accelerators)) or "none"
        allowed = ", ".join(sorted(diag.placement_accelerators))
        return [
            InfeasibleReason(
                "no-candidates",
                f"the profile has points for {prof}, but placement allows only instance types "
                f"with {allowed}",
                f"profile the model on one of {allowed}, or allow {prof} in placement.accelerators",
            )
        ]
    if diag.shapes_fitting == 0 and diag.memory_required is not None:
        return [_memory_reason(diag, diag.memory_required)]
    reasons = _slo_reasons(spec, diag)
    if not reasons:
        reasons.append(
            InfeasibleReason(
                "no-candidates",
                "no candidate instance type remains after the filters",
                "widen placement",
            )
        )
    return reasons


def _memory_reason(diag: Diagnostics, required: float) -> InfeasibleReason:
    if diag.memory_best is not None:
        acc, gib, g = diag.memory_best
        have = (
            f"the largest allowed is {acc} with {gib:g} GiB x {counted(g, 'GPU')} per replica "
            f"= {gib * g:g} GiB"
        )
    else:
        have = "no allowed instance type has enough memory"
    return InfeasibleReason(
        "memory",
        f"the model needs {required:g} GiB per replica; {have}",
        "allow larger accelerators, raise placement.max_gpus_per_replica and profile a "
        "multi-GPU replica, or quantize the model",
        {"required_gib": required},
    )


def _slo_reasons(spec: Spec, diag: Diagnostics) -> list[InfeasibleReason]:
    """The unserved classes (or the first class) with the best point the profile offers."""
    reasons = []
    classes = diag.unserved_classes or tuple(diag.slo_best)
    # one SLO field serves every class that takes it: its fix is the largest such class's best
    # (a class with its own target has its own field; UX trial 39: a chat class's TTFT hint said
    # the 13 s a summarize class with its own slo.ttft_ms needed, not chat's own 1.2 s)
    need: dict[str, int] = {}
    # GPUs the allow list names that the profile has no point on: never tried, which the fix
    # should say (an empty allow list is every GPU of the catalogs: no list of those)
    listed = bool(spec.placement.accelerators)
    never = diag.placement_accelerators - diag.profile_accelerators - {CPU}
    unprofiled = sorted(never) if listed else []
    # allowed accelerators whose every row here is flagged: never tried (UX trial 25: a GKE
    # Qwen2.5-32B spec allowing A100-80GB and H100 in us-central1 was told "allow faster
    # accelerators" of an allow list that had them); an LLM spec's capacity model serves any
    flagged = untried_flagged(spec, diag)
    for cls in classes:
        for b in _bests(diag, cls):
            f = _slo_field(spec, cls, b[1])
            need[f] = max(need.get(f, 0), math.ceil(b[2]))
    for cls in classes:
        where = f" for class {cls}" if spec.traffic.classes else ""
        if not _bests(diag, cls):
            ok = sorted(diag.placement_accelerators & diag.profile_accelerators)
            reasons.append(
                InfeasibleReason(
                    "slo-unreachable",
                    f"no profiled point serves{where} on the allowed accelerators",
                    f"profile the model{where} on one of {', '.join(ok)}",
                )
            )
            continue
        for best in _bests(diag, cls):
            reasons.append(
                _slo_reason(spec, cls, where, best, need, diag.gpus_capped, unprofiled, flagged)
            )
        if not diag.unserved_classes:
            break
    return reasons


def _bests(diag: Diagnostics, cls: str) -> list[tuple[str, str, float, int, int]]:
    """The class's closest misses: the first metric, then (LLM) every other no shape meets."""
    best = diag.slo_best.get(cls)
    return [best, *diag.slo_more.get(cls, [])] if best is not None else []


def _slo_field(spec: Spec, cls: str, metric: str) -> str:
    """The spec field that holds ``metric``'s target for the class: its own where it has one."""
    field = {"latency": "slo.latency_ms", "ttft": "slo.ttft_ms", "tpot": "slo.tpot_ms"}[metric]
    at = [i for i, c in enumerate(spec.traffic.classes) if c.name == cls and c.slo is not None
          and getattr(c.slo, f"{metric}_ms") is not None]
    return f"traffic.classes[{at[0]}].{field}" if at else field


def _slo_reason(
    spec: Spec, cls: str, where: str, best: tuple[str, str, float, int, int],
    need: dict[str, int],
    gpus_capped: bool, unprofiled: Sequence[str], flagged: Sequence[str] = (),
) -> InfeasibleReason:
    """One metric no point meets for the class, with the closest point and the fix; more
    GPUs per replica only where a node holds more than max_gpus_per_replica lets a replica
    take (``gpus_capped``; UX review 18 F8: it was said with 8-GPU nodes at the default 8)."""
    pct = spec.slo.percentile
    acc, metric, val, batch, gpus = best
    slo = spec.slo_of(cls)  # the class's own targets where it has them
    target = {"latency": slo.latency_ms, "ttft": slo.ttft_ms, "tpot": slo.tpot_ms}[metric]
    field = _slo_field(spec, cls, metric)
    # an LLM spec has three metrics: its latency is end to end (a profile's is the only one)
    e2e = " end-to-end latency" if spec.model.architecture is not None else ""
    name = {"latency": f"p{pct}{e2e}", "ttft": f"p{pct} TTFT", "tpot": f"p{pct} TPOT"}[metric]
    # an LLM spec is sized on every GPU the catalog has: profiling changes nothing, placement does
    faster = "profile a faster accelerator"
    if unprofiled and spec.model.profile is not None:  # UX review 19: allowed L4, CPU points only
        names = ", ".join(unprofiled)
        faster += (
            f" ({names}: allowed, but the profile has no point on "
            f"{'it' if len(unprofiled) == 1 else 'them'}, so never tried; "
            f"`scaleplan profile estimate {spec.model.profile} --accelerators "
            f"{','.join(unprofiled)}` estimates from the measured points)"
        )
    if spec.model.architecture is not None:
        faster = "allow faster accelerators (placement.accelerators)"
        if gpus_capped:
            faster += " or more GPUs per replica (placement.max_gpus_per_replica)"
    if flagged:  # allowed, but their rows here are flagged: the first fix to try
        names = ", ".join(flagged)
        faster = (
            f"plan on {names} (allowed, but every catalog row of "
            f"{'it' if len(flagged) == 1 else 'theirs'} here is flagged, so never tried: give "
            "the prices you pay in a catalog of your own, --catalog or placement.catalogs, or "
            f"set placement.include_flagged: true), or {faster}"
        )
    tail = ""
    details: dict[str, object] = {
        "class": cls, "accelerator": acc, "metric": metric, "value_ms": val,
        "batch_size": batch, "relax_to_ms": need[field],
    }
    if spec.model.architecture is not None:
        from scaleplan.solve.llm_capacity import tail_prompt

        if metric == "ttft":
            tail = tail_prompt(spec, cls)  # a length spread: the joint percentile's TTFT
        # whether more GPUs per replica can help: at how many the best was reached (UX
        # trial 37 F11: 90.7 ms on A100 said no count, the hint said 'more GPUs')
        tail += f" at batch {batch} on {counted(gpus, 'GPU')} per replica"
        details["gpus_per_replica"] = gpus
    else:
        tail += f" at batch {batch}"
    return InfeasibleReason(
        "slo-unreachable",
        f"no accelerator meets {name} <= {_fmt_ms(target or 0)}{where}: "
        f"the best is {acc} at {_fmt_ms(val)}{tail}",
        f"relax {field} to at least {need[field]} ms, or {faster}",
        details,
    )


def serving_candidates(pb: Problem, cands: list[Candidate],
        rps: Sequence[float]) -> list[Candidate]:
    """The candidates that serve every request class where routing sends them every class.

    routing: service (one Service sends every replica every class), gateway-api with
    several classes (an HTTPRoute cannot tell them apart: every backend gets every class at its
    weight's share, :attr:`Problem.mixed_stream`) and inference-pool (the endpoint picker is
    class-blind: it sends any pod in the pool requests of every class) all need that; raises
    :class:`InfeasibleError` when no candidate does.
    """
    names = ", ".join(c for c, _ in pb.classes)
    if pb.even_split:
        cands = _serving(pb, cands, InfeasibleReason(
            "routing",
            f"kubernetes.routing is service: one Service sends every replica every request class "
            f"({names}), but no allowed instance type serves them all within the SLO",
            "set kubernetes.routing: gateway-api (a weighted Service per serving shape), or "
            "profile one accelerator that serves every class",
        ))
    if pb.static_weights(rps):
        cands = _serving(pb, cands, InfeasibleReason(
            "routing",
            "kubernetes.routing is gateway-api: an HTTPRoute cannot tell request classes apart, "
            "so every backend Service receives its weight's share of every request class "
            f"({names}), but no allowed instance type serves them all within the SLO",
            "profile one accelerator that serves every class within the SLO, or relax the SLO",
        ))
    if pb.spec.kubernetes.routing == "inference-pool":
        cands = _serving(pb, cands, InfeasibleReason(
            "routing",
            "kubernetes.routing is inference-pool: its endpoint picker chooses pods by queue "
            "and KV cache, not by class, so every pod in the pool receives every request class "
            f"({names}), but no allowed instance type serves them all within the SLO",
            "set kubernetes.routing: gateway-api with kubernetes.class_header (a rule per "
            "class), profile one accelerator that serves every class within the SLO, or relax "
            "the SLO",
        ))
    return cands


def _serving(pb: Problem, cands: list[Candidate], reason: InfeasibleReason) -> list[Candidate]:
    serving = [c for c in cands if pb.mixed_capacity(c) is not None]
    if not serving:
        raise InfeasibleError([reason])
    return serving


def cost_per_rps(pb: Problem, c: Candidate) -> float:
    """A candidate's price per request/s of the class mix one node serves (inf when a class
    has no point on it): what ranks the regions a narrower search keeps."""
    cap = pb.mixed_capacity(c)
    return c.price / (c.replicas_per_node * cap) if cap else math.inf


def time_limit_reason(
    pb: Problem, cands: Sequence[Candidate], rps: Sequence[float]
) -> InfeasibleReason:
    """No window found a plan in time: how big the search was (candidates, regions,
    providers, distinct windows, zone redundancy) and what narrows it, first the regions with
    the cheapest capacity per request/s."""
    pl, limit = pb.spec.placement, pb.options.time_limit
    best: dict[tuple[str, str], float] = {}
    for c in cands:
        key = (c.row.provider, c.row.region)
        best[key] = min(best.get(key, math.inf), cost_per_rps(pb, c))
    ranked = sorted((v, r) for (_, r), v in best.items() if math.isfinite(v))
    cheapest = list(dict.fromkeys(r for _, r in ranked))[:3]
    providers = len({p for p, _ in best})
    windows = len(set(rps))
    spot = sum(1 for c in cands if c.capacity_type == "spot")
    size = (
        f"{counted(len(cands), 'candidate')} (instance type, serving shape and capacity type) in "
        f"{counted(len(best), 'region')} of {counted(providers, 'provider')}, over "
        f"{counted(windows, 'distinct demand window')}"
        + (", with zone redundancy" if pl.redundancy == "zone" else "")
    )
    narrow = []
    if cheapest and len(best) > len(cheapest):
        narrow.append(
            f"placement.regions: [{', '.join(cheapest)}] (the cheapest capacity per request/s)"
        )
    if spot:
        narrow.append(f"placement.spot.allowed: false ({spot} of the candidates are spot)")
    narrow.append("fewer placement.accelerators or placement.providers")
    return InfeasibleReason(
        "time-limit",
        f"no plan was found within the time limit of {limit:g} s: the search held {size}",
        f"narrow the search: {'; '.join(narrow)}; or raise --time-limit",
        {
            "candidates": len(cands), "regions": len(best), "providers": providers,
            "windows": windows, "spot_candidates": spot, "cheapest_regions": cheapest,
        },
    )


def untried_flagged(spec: Spec, diag: Diagnostics) -> list[str]:
    """Allowed accelerators whose every row here is flagged, so never tried, that could have
    served: profiled ones (an LLM spec's capacity model serves any)."""
    return [
        a for a in diag.flagged_only
        if spec.model.architecture is not None or a in diag.profile_accelerators
    ]


def _most_gpus(o: Outcome) -> int:
    """The most GPUs of one accelerator in one provider/region in any window of ``o``
    (:func:`scaleplan.solve.sanity.busiest_gpus`, as a plan's are counted)."""
    from scaleplan.solve.sanity import busiest_gpus

    per = busiest_gpus(
        ((c.row.provider, c.row.region, c.row.accelerator), [s.nodes[k] for s in o.sols],
         c.row.accelerator_count)
        for k, c in enumerate(o.cands) if c.row.accelerator
    )
    return max(per.values(), default=0)


def budget_reason(
    budget: float, best: Outcome, flagged: Sequence[str] = (), spec: Spec | None = None
) -> InfeasibleReason:
    """The cheapest plan costs more than placement.budget_per_hour: both in $/h (the plan's
    cost averaged over the day, as the budget is) and the budget that holds it, in cents up.
    ``flagged``: allowed accelerators never tried for their rows' flags, which may cost less
    (UX trial 33: a GKE Mixtral spec allowing A100-80GB and H100 was told to raise its $80/h
    budget to $302.81/h for 47 L4 nodes; with the flagged rows it planned $43.51/h). With
    ``spec``, a plan of more GPUs than a region holds says that the demand may be requests per
    hour (:func:`scaleplan.solve.sanity.per_hour_hint`; UX trial 33 was told only to raise its
    budget to $75,431/h)."""
    from scaleplan.solve.sanity import per_hour_hint

    hint = per_hour_hint(spec, _most_gpus(best)) if spec is not None else ""
    need = math.ceil(round(best.cost * 100, 6)) / 100
    have = f"{budget:.2f}" if abs(budget - round(budget, 2)) < 1e-9 else f"{budget:g}"
    untried = ""
    if flagged:
        untried = (
            f", or plan on {', '.join(flagged)} (allowed, but every catalog row of "
            f"{'it' if len(flagged) == 1 else 'theirs'} here is flagged, so never tried: give "
            "the prices you pay in a catalog of your own, --catalog or placement.catalogs, or "
            "set placement.include_flagged: true)"
        )
    return InfeasibleReason(
        "budget",
        f"placement.budget_per_hour is ${have}/h, the cheapest plan costs ${best.cost:.2f}/h "
        f"averaged over the day ({describe(best)}){hint}",
        f"raise placement.budget_per_hour to at least {need:.2f} (${need:.2f}/h){untried}, or "
        "relax the SLO, headroom or redundancy",
        {"budget": budget, "cost": best.cost},
        where="placement.budget_per_hour",
    )


def foreign_calibration(
    spec: Spec, profile: Profile | None, catalog: Catalog, spec_dir: str | None
) -> InfeasibleReason | None:
    """Beside the reasons of an LLM spec that has no plan: its model was calibrated on
    model.profile's measured points of another model (UX trial 31 F3: Llama-3.1-70B's points
    put Qwen3-30B-A3B's step overhead at x2.38, and exit 4 said only "raise
    placement.budget_per_hour"). A reason, not a refusal: a fine-tune's measurements calibrate
    its base architecture rightly. None when no such calibration was made."""
    from scaleplan.llm.arch import another_model
    from scaleplan.llm.serving import served_names
    from scaleplan.llm_inputs import own_points
    from scaleplan.solve.llm_capacity import llm_context

    if profile is None or spec.model.architecture is None or not own_points(profile.measurements):
        return None
    base = Path(spec_dir) if spec_dir else None
    ctx = llm_context(spec, profile, catalog.accelerators, base, catalog.node_gpus())
    cal = ctx.calibration if ctx is not None else None
    if ctx is None or cal is None or not cal.calibrated:
        return None
    measured, arch = profile.metadata.model, ctx.setup.arch
    if another_model(measured, arch, served_names(spec.model)) is None:
        return None
    return InfeasibleReason(
        "calibration",
        f"the LLM model of {arch.name!r} is calibrated on model.profile's measured points "
        f"of {measured!r} (compute x{cal.compute:.2f}, memory x{cal.memory:.2f}, step "
        f"overhead x{cal.overhead:.2f}), another model's by its name",
        f"if those points are not of {arch.name} (or a fine-tune of it), drop model.profile "
        "or give this model's measurements",
        {"measured_model": measured, "planned_model": arch.name},
        where="model.profile",
    )


def diagnose_milp(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> list[InfeasibleReason]:
    """Why the MILP has no plan: spot.survive_loss, the quotas, max_replicas, spot, zones, or
    all together. survive_loss is named when the peak has a plan without it (with the quota
    or max_replicas reasons that also fix it, if any). placement.max_instance_types first: the
    only reason when the search without it has a plan; else the others without it."""
    if pb.spec.placement.max_instance_types is not None:
        free = uncapped(pb)
        relaxed = search_windows(free, cands, rps, deadline=deadline)
        if relaxed.solved:
            return [cap_reason(pb, relaxed)]
        pb = free
    survive = _survive_loss_reason(pb, cands, rps, deadline)
    reasons = _rule_reasons(pb, cands, rps, deadline)
    if survive is None:
        return reasons
    return [survive, *(r for r in reasons if r.code in ("quota", "max-replicas"))]


def _survive_loss_reason(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> InfeasibleReason | None:
    """placement.spot.survive_loss as the cause: the peak has a plan once it is off."""
    spot = pb.spec.placement.spot
    if not (spot.allowed and spot.survive_loss):
        return None
    peak = max(rps)
    relaxed = search_windows(
        pb.without_survive_loss(), cands, [peak], deadline=deadline
    )
    if not relaxed.solved:
        return None
    od = [c for c in cands if c.capacity_type == "on-demand"]
    why = (
        "no allowed instance type has an on-demand price"
        if not od
        else "the on-demand capacity the other placement rules allow cannot carry it"
    )
    per = (
        " (routing: gateway-api: per Service, so a serving shape needs its own on-demand "
        "replicas)"
        if pb.spec.kubernetes.routing == "gateway-api"
        else ""
    )
    return InfeasibleReason(
        "spot",
        f"placement.spot.survive_loss asks the on-demand replicas alone to carry {peak:g} rps "
        f"at peak{per}, and {why}; without it the cheapest plan is {describe(relaxed)}",
        "set placement.spot.survive_loss: false (a spot loss then fails requests until "
        "replacements serve), or allow on-demand instance types (placement, quotas, "
        "max_replicas)",
        {"peak_rps": peak, "without_survive_loss": describe(relaxed)},
        where="placement.spot.survive_loss",
    )


def _zone_reason(spec: Spec, cands: Sequence[Candidate]) -> InfeasibleReason:
    """No plan survives a zone loss: :func:`zones_left_reason`, else the generic reason."""
    return zones_left_reason(spec, [c.row.zones for c in cands]) or InfeasibleReason(
        "redundancy", "no plan survives losing a zone with the allowed instance types",
        "set placement.redundancy to n+1, or allow instance types in regions with several zones",
    )


def _rule_reasons(
    pb: Problem, cands: list[Candidate], rps: Sequence[float], deadline: float
) -> list[InfeasibleReason]:
    """The quotas, max_replicas, spot, zones, or all together."""
    pl = pb.spec.placement
    peak = max(rps)
    reasons: list[InfeasibleReason] = []
    if pl.quotas:
        # with the tie-break, as optimize plans: among plans of one cost (owned nodes at $0/h)
        # the fewest nodes, not whichever the solver meets first (UX review 14)
        relaxed = search_windows(pb, cands, [peak], deadline=deadline, quotas=False)
        # a generic cluster's spec that lists its providers (owned nodes: [onprem]) may rent
        # elsewhere; eks, gke and aks run their one cloud's nodes only
        listed = "providers" in pl.model_fields_set
        own = PROVIDER_OF_FLAVOR.get(pb.spec.kubernetes.flavor) is None and listed
        elsewhere = ", or other providers (placement.providers)" if own else ""
        if relaxed.solved:
            sol = relaxed.sols[0]
            for q in quota_scopes(pb.spec, cands):  # placement.quotas' order
                used = q.used(cands, sol.nodes)
                if used > q.limit:
                    reasons.append(
                        InfeasibleReason(
                            "quota",
                            f"quota {q.label} is {q.count(q.limit)}, the cheapest plan needs "
                            f"{used}",
                            f"raise the quota {q.label} to {q.count(used)}, or allow other "
                            f"regions or families{elsewhere}",
                            {"quota": q.label, "limit": q.limit, "needed": used},
                            where=q.where,
                        )
                    )
            if reasons:
                return reasons
    if pl.max_replicas is not None:
        relaxed = search_windows(pb, cands, [peak], deadline=deadline, max_replicas=False)
        if relaxed.solved:
            sol = relaxed.sols[0]
            need = sum(sol.nodes[k] * cands[k].replicas_per_node for k in range(len(cands)))
            need = min(need, sum(sol.replicas))
            return [
                InfeasibleReason(
                    "max-replicas",
                    f"placement.max_replicas is {pl.max_replicas}, the cheapest plan needs "
                    f"{need} replicas at peak ({peak:g} rps)",
                    f"raise placement.max_replicas to {need}, or relax the SLO or headroom",
                    {"limit": pl.max_replicas, "needed": need},
                    where="placement.max_replicas",
                )
            ]
    if pl.spot.allowed and not any(c.capacity_type == "on-demand" for c in cands):
        return [
            InfeasibleReason(
                "spot",
                "only spot prices are known for the candidates, but placement.spot.max_fraction "
                f"is {pl.spot.max_fraction:g}",
                "set placement.spot.max_fraction to 1 or add on-demand prices",
                where="placement.spot.max_fraction",
            )
        ]
    if pl.redundancy == "zone":
        return [_zone_reason(pb.spec, cands)]
    return [
        InfeasibleReason(
            "infeasible",
            "no plan satisfies all placement constraints together",
            "relax placement.quotas, max_replicas or redundancy",
        )
    ]
