"""Plans out of proportion, and what relaxing the SLO buys: the solver asked, not guessed.

A tight SLO can leave a plan that is feasible and absurd: at p95 TTFT 93 ms the UX review's
8B chat spec got 1,324 TP8 replicas at one sequence each, every replica at most 5 % busy,
10,592 A100s in one GCP region, $31,644.83/h, with no word. :func:`findings` names what is
out of proportion in a plan (thresholds below, docs/optimizer.md "Plans out of proportion");
:func:`relax_ladder` solves the spec again at relaxed values of one SLO field (no
alternatives, a few seconds at most) so that the warning and the infeasibility hint can say
what the plan costs at each value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from scaleplan.catalog.model import Catalog
from scaleplan.errors import InfeasibleReason
from scaleplan.plan import Allocation
from scaleplan.profile.model import Profile
from scaleplan.solve.candidates import Candidate
from scaleplan.solve.problem import SolveOptions
from scaleplan.spec import Spec
from scaleplan.wording import counted

# a replica whose SLO leaves it at most this busy (max_utilization of its operating point):
# the queueing wait the SLO allows is shorter than a slot frees, so replicas idle to keep it
LOW_UTILIZATION = 0.10
# an LLM replica that runs at most TINY_BATCH sequences where its KV cache holds BATCH_ROOM
# times as many of the longest class: the SLO, not the memory, sets the batch
TINY_BATCH = 2
BATCH_ROOM = 8
# GPUs of one accelerator in one provider/region beyond which a plan needs a quota no project
# holds without a reservation (cloud defaults are single or double digits); placement.quotas
# covering the region says what the project holds and silences it
REGION_GPUS = 512
# a demand of at least this many req/s (1 req/s as requests per hour) whose plan needs more than
# REGION_GPUS GPUs of one accelerator in one region is said to be plausible as requests per
# hour typed into a req/s field (UX trial 33; r2 review: keyed on the plan's size, not on
# every value being a multiple of 3,600, which counts from logs never are)
PER_HOUR = 3600.0
# what a relax ladder tries: the value times these, two significant figures up; it stops once
# the cost has flattened, or at LADDER_SECONDS
FACTORS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
LADDER_SECONDS = 5.0
FIELDS = {"ttft": "slo.ttft_ms", "tpot": "slo.tpot_ms", "latency": "slo.latency_ms"}


@dataclass(frozen=True)
class Probe:
    """The cheapest plan at one value of an SLO field."""

    value: float
    replicas: int
    cost: float
    busy: float  # the lowest max utilisation of its allocations
    sane: bool  # nothing out of proportion (:func:`findings` empty)

    def text(self) -> str:
        busy = f", each replica at most {self.busy:.0%} busy" if self.busy < LOW_UTILIZATION else ""
        return f"at {self.value:g} ms: {self.replicas:,} replicas, ${self.cost:,.0f}/h{busy}"


def nice_up(v: float) -> float:
    """``v`` rounded up to two significant figures (139.5 -> 140, 744 -> 750)."""
    if v <= 0:
        return v
    step = 10 ** (math.floor(math.log10(v)) - 1)
    return float(math.ceil(round(v / step, 9)) * step)


def _kv_sequences(spec: Spec, a: Allocation) -> int | None:
    """How many sequences of the spec's longest class the allocation's KV cache holds."""
    longest = max(
        ((c.input_tokens or 0) + (c.output_tokens or 0) for c in spec.traffic.classes), default=0
    )
    if a.llm is None or longest <= 0:
        return None
    return a.llm.kv_cache_tokens // longest


def per_hour_hint(spec: Spec, gpus: int) -> str:
    """'' or the hint that the demand may be requests per hour (:data:`PER_HOUR`): ``gpus``, the
    most GPUs of one accelerator the plan needs in one region, over REGION_GPUS, and a peak
    that is a plausible service as requests per hour (UX trial 33: a Mixtral curve of 7,200 to
    43,200 requests per hour planned 26,204 H100s)."""
    t = spec.traffic
    if gpus <= REGION_GPUS or t.peak < PER_HOUR:
        return ""
    field = "traffic.hourly_rps" if t.hourly_rps is not None else "traffic.peak_rps"
    each = "each value " if t.hourly_rps is not None else ""
    per_s = t.peak / PER_HOUR
    shown = f"{per_s:,.0f}" if per_s >= 100 else f"{per_s:.3g}"  # 1,234, not 1.23e+03
    return (
        f"; {field} is requests per second (peak {t.peak:,.0f} req/s): if it is requests per "
        f"hour, divide {each}by 3,600 (peak {shown} req/s)"
    )


RegionGpus = tuple[str, str, str]  # (provider, region, accelerator)


def busiest_gpus(
    rows: Iterable[tuple[RegionGpus, Sequence[int], int]],
) -> dict[RegionGpus, int]:
    """GPUs of one accelerator in one provider/region at its busiest window, per (provider,
    region, accelerator): ``rows`` of (that key, nodes per window, GPUs per node), summed per
    key window by window. A plan's allocations (:func:`_per_region`) and a solve's candidates
    (:func:`scaleplan.solve.diagnose.budget_reason`, the budget that a plan over a region's
    GPUs fails) are counted by it alike."""
    per: dict[RegionGpus, list[int]] = {}
    for key, nodes, gpus_per_node in rows:
        w = per.setdefault(key, [0] * len(nodes))
        for i, n in enumerate(nodes):
            w[i] += n * gpus_per_node
    return {k: max(gpus, default=0) for k, gpus in sorted(per.items())}


def _per_region(allocs: Sequence[Allocation]) -> dict[RegionGpus, int]:
    """GPUs at the busiest window per (provider, region, accelerator) of a plan."""
    return busiest_gpus(
        ((a.provider, a.region, a.accelerator), a.nodes_per_window, a.accelerators_per_node)
        for a in allocs if a.accelerators_per_node > 0
    )


def _region_gpus(spec: Spec, allocs: Sequence[Allocation]) -> list[tuple[str, str, str, int]]:
    """(provider, region, accelerator, GPUs at the busiest window) over REGION_GPUS, where no
    placement.quotas entry covers the region."""
    out = []
    for (prov, region, acc), gpus in _per_region(allocs).items():
        covered = any(
            q.provider == prov and q.region in (None, region) for q in spec.placement.quotas
        )
        if gpus > REGION_GPUS and not covered:
            out.append((prov, region, acc, gpus))
    return out


def findings(
    spec: Spec, allocs: Sequence[Allocation], used: Sequence[Candidate]
) -> tuple[list[str], str | None]:
    """What is out of proportion in a plan (``used``: the allocations' candidates, in order),
    and the SLO metric that drives it (None: none does, e.g. only the region's GPUs)."""
    out: list[str] = []
    metric: str | None = None
    pct = spec.slo.percentile
    # the queueing model's derating only: --max-utilization (queueing "none") is the user's
    low = [
        (a, pt)
        for a, c in zip(allocs, used, strict=True)
        if a.operating_point.max_utilization < LOW_UTILIZATION
        and (pt := c.point(a.operating_point.request_class or "") or c.points[0][1]).queueing
        != "none"
    ]
    if low:
        a, pt = min(low, key=lambda ap: ap[0].operating_point.max_utilization)
        metric = pt.wait_bound
        slo = spec.slo_of(a.operating_point.request_class)
        limit = slo.ttft_ms if metric == "ttft" else slo.latency_ms
        name = "TTFT" if metric == "ttft" else "latency"
        # a CPU replica by its vCPUs: it read 'each CPU x0 replica' (UX trial 25)
        shape = (
            f"{a.accelerator} x{a.gpus_per_replica}" if a.gpus_per_replica
            else f"{a.cpu_per_replica:g}-vCPU CPU"
        )
        out.append(
            f"the SLO leaves each {shape} replica at most "
            f"{a.operating_point.max_utilization:.0%} busy (p{pct} {name} {limit:g} ms leaves a "
            "request almost no time to wait for a free slot, so replicas idle to keep it)"
        )
    for a in allocs:
        seqs = _kv_sequences(spec, a)
        if (
            a.llm is not None
            and seqs is not None
            and a.llm.max_num_seqs <= TINY_BATCH
            and seqs >= BATCH_ROOM * a.llm.max_num_seqs
        ):
            out.append(
                f"{a.accelerator} x{a.gpus_per_replica} runs "
                f"{counted(a.llm.max_num_seqs, 'sequence')} at a "
                f"time where its KV cache holds {seqs:,}: the SLO, not the memory, sets the batch"
            )
            if metric is None:
                metric = "ttft" if spec.slo.ttft_ms is not None else "latency"
            break
    for prov, region, acc, gpus in _region_gpus(spec, allocs):
        out.append(
            f"it needs {gpus:,} {acc} GPUs in {prov}/{region}, more than the {REGION_GPUS} of one "
            "accelerator in one region that a project holds without a reservation (set "
            "placement.quotas to what it holds: the plan then fits it or says what it needs)"
        )
    return out, metric


def _with_slo(spec: Spec, values: dict[str, float]) -> Spec:
    return spec.model_copy(
        update={"slo": spec.slo.model_copy(update={f"{m}_ms": v for m, v in values.items()})}
    )


def probe(
    spec: Spec,
    profile: Profile | None,
    catalog: Catalog,
    rps: Sequence[float],
    options: SolveOptions,
    deadline: float,
) -> Probe | None:
    """The cheapest plan for ``spec`` (no alternatives, no relax ladder); None when none."""
    from scaleplan.errors import InfeasibleError
    from scaleplan.solve.after_search import solve_plan
    from scaleplan.solve.assemble import allocated_candidates, allocations
    from scaleplan.solve.candidates import build_candidates
    from scaleplan.solve.diagnose import serving_candidates
    from scaleplan.solve.problem import Problem

    pb = Problem.of(spec, options)
    cands, diag = build_candidates(
        spec, profile, catalog, max_util=options.max_utilization, spec_dir=options.spec_dir
    )
    if not cands or diag.unserved_classes:
        return None
    try:
        cands = serving_candidates(pb, cands, rps)
    except InfeasibleError:
        return None
    o = solve_plan(pb, cands, rps, deadline=deadline, tie_break=False)
    if not o.solved:
        return None
    allocs, _ = allocations(pb, o, rps)
    used = allocated_candidates(o)
    found, _ = findings(spec, allocs, used)
    busy = min((a.operating_point.max_utilization for a in allocs), default=1.0)
    peak = max(sum(s.replicas) for s in o.sols)
    return Probe(0.0, peak, o.cost, busy, not found)


def relax_ladder(
    spec: Spec,
    profile: Profile | None,
    catalog: Catalog,
    rps: Sequence[float],
    options: SolveOptions,
    metric: str,
    start: float,
    factors: Sequence[float] = FACTORS,
    base: dict[str, float] | None = None,
    deadline: float = math.inf,
) -> list[Probe]:
    """The cheapest plan at ``start`` x each factor (two significant figures up) of the SLO
    field ``metric`` (``base``: other fields set with it), until the cost flattens (a sane
    plan, then one that saves less than a quarter more), LADDER_SECONDS pass or the command's
    ``deadline`` (:func:`time.perf_counter`; --time-limit) comes."""
    t_end = min(time.perf_counter() + min(LADDER_SECONDS, options.time_limit), deadline)
    opts = replace(options, alternatives=False)
    out: list[Probe] = []
    seen: set[float] = set()
    for f in factors:
        v = nice_up(start * f) if f != 1.0 else start
        if v in seen:
            continue
        seen.add(v)
        now = time.perf_counter()
        if now >= t_end:
            break
        p = probe(_with_slo(spec, {**(base or {}), metric: v}), profile, catalog, rps, opts, t_end)
        if p is None:
            continue
        out.append(replace(p, value=v))
        sane = [q for q in out if q.sane]
        if len(sane) >= 2 and sane[-1].cost > 0.75 * sane[-2].cost:
            break
    return out


def shown(probes: Sequence[Probe]) -> list[Probe]:
    """The probes worth a line: the first, the first sane one, and where the cost flattens
    (the first within a third of the cheapest probe)."""
    if not probes:
        return []
    cheapest = min(p.cost for p in probes)
    picks = [probes[0]]
    picks += [p for p in probes if p.sane][:1]
    picks += [p for p in probes if p.sane and p.cost <= 1.34 * cheapest][:1]
    return list({p.value: p for p in picks}.values())


def ladder_text(probes: Sequence[Probe]) -> str:
    return "; ".join(p.text() for p in shown(probes))


def sanity_warning(
    spec: Spec,
    allocs: Sequence[Allocation],
    used: Sequence[Candidate],
    cost: float,
    profile: Profile | None,
    catalog: Catalog,
    rps: Sequence[float],
    options: SolveOptions,
    deadline: float = math.inf,
) -> str | None:
    """One loud warning when the plan is out of proportion (:func:`findings`): what drives
    its cost and what relaxing the SLO field behind it costs (solved, :func:`relax_ladder`),
    both solved by the command's ``deadline`` (:func:`time.perf_counter`; --time-limit, which
    the main search shares: until 2026-12-06 each started a fresh 5 s after it, up to about
    10 s past the limit)."""
    found, metric = findings(spec, allocs, used)
    if not found:
        return None
    reps = sum(a.replicas for a in allocs)
    head = f"out of proportion: {reps:,} replicas, ${cost:,.2f}/h: " + "; ".join(found)
    head += per_hour_hint(spec, max(_per_region(allocs).values(), default=0))
    head += _with_flagged(spec, profile, catalog, rps, options, cost, deadline)
    value = {
        "ttft": spec.slo.ttft_ms,
        "tpot": spec.slo.tpot_ms,
        "latency": spec.slo.latency_ms,
    }.get(metric or "")
    # the ladder relaxes the top-level slo, which a class with its own targets does not follow
    if metric is None or value is None or not options.relax or spec.has_class_slos:
        return head
    if time.perf_counter() >= deadline:  # nothing would be tried: not 'no plan found'
        return f"{head}. Relax {FIELDS[metric]} (not tried: --time-limit was spent)"
    probes = relax_ladder(
        spec, profile, catalog, rps, options, metric, value, FACTORS[1:], deadline=deadline
    )
    if not probes:
        top = nice_up(FACTORS[-1] * value)
        return f"{head}. Relax {FIELDS[metric]} (no plan found up to {top:g} ms in the time)"
    return f"{head}. Relax {FIELDS[metric]} (solved): {ladder_text(probes)}"


def _with_flagged(
    spec: Spec,
    profile: Profile | None,
    catalog: Catalog,
    rps: Sequence[float],
    options: SolveOptions,
    cost: float,
    deadline: float = math.inf,
) -> str:
    """What the plan costs with the catalog rows the placement leaves out for their flags
    (solved, :func:`probe`, by the command's ``deadline`` and in LADDER_SECONDS at most), where
    that is less: UX trial 27 F6, a GKE Mixtral spec planned 904 L4s at $685.23/h because
    every A100-80GB and H100 row of us-central1 is flagged, and only the flag warnings, far
    from the cost, said why. '' without SolveOptions.relax (no extra solves), when none is
    left out or the flagged rows do not make it cheaper; with the deadline already past, that
    they were not tried."""
    from scaleplan.solve.placement import flagged_rows

    if not options.relax or spec.placement.include_flagged or not flagged_rows(spec, catalog):
        return ""
    now = time.perf_counter()
    if now >= deadline:
        return (
            "; the rows left out for their flags were not tried (--time-limit was spent): "
            "placement.include_flagged: true plans with them"
        )
    opts = replace(options, alternatives=False)
    with_flags = spec.model_copy(
        update={"placement": spec.placement.model_copy(update={"include_flagged": True})}
    )
    end = min(now + min(LADDER_SECONDS, options.time_limit), deadline)
    p = probe(with_flags, profile, catalog, rps, opts, end)
    if p is None or p.cost >= cost * 0.99:
        return ""
    return (
        f"; with the rows left out for their flags (placement.include_flagged: true) it is "
        f"{p.replicas:,} replicas, ${p.cost:,.2f}/h ({p.cost / cost - 1:+.0%}): check their "
        "prices against your bill first (docs/catalog.md), or give your own in a catalog"
    )


def relax_costs(
    reasons: Sequence[InfeasibleReason],
    spec: Spec,
    profile: Profile | None,
    catalog: Catalog,
    rps: Sequence[float],
    options: SolveOptions,
) -> list[InfeasibleReason]:
    """``slo-unreachable`` reasons whose fix names a value to relax to ("relax slo.ttft_ms to at
    least 93 ms") with what the plan costs there and above (:func:`relax_ladder`): the least
    value any shape meets can still leave a plan out of proportion."""
    need = {
        str(r.details["metric"]): float(str(r.details["relax_to_ms"]))
        for r in reasons
        if r.code == "slo-unreachable" and "relax_to_ms" in r.details
    }
    if not need or not options.relax or spec.has_class_slos:  # as in probe
        return list(reasons)
    texts = {}
    for metric, v in need.items():
        probes = relax_ladder(spec, profile, catalog, rps, options, metric, v, base=need)
        if probes:
            texts[metric] = ladder_text(probes)
    out = []
    for r in reasons:
        m = str(r.details.get("metric", ""))
        if r.code == "slo-unreachable" and m in texts:
            # the words diagnose._slo_reason wrote (its int, as written: :g would print 1e6 ms
            # as 1e+06 and match nothing)
            at = f"to at least {r.details['relax_to_ms']} ms"
            r = replace(r, fix=r.fix.replace(at, f"{at} ({texts[m]})", 1))
        out.append(r)
    return out
