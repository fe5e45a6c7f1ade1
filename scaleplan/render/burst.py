"""Burst plans: allocations priced $0/h (owned nodes) beside priced ones (docs/render.md,
"Burst plans"). Render holds the owned ones at their peak count with no autoscaler
(:func:`~scaleplan.render.allocations.owned_at_peak`), so only the priced ones scale; this
module says so in warnings, gives the pods an ``rps`` HPA settles at beside them
(:func:`burst_pods`, which the spare warning and ``simulate --replicas autoscaler`` use), and
the KEDA formula that runs the plan's count at each planned rate on the whole Service's rate
(:func:`plan_curve`). Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scaleplan.plan import Allocation, Plan
from scaleplan.render.allocations import Alloc, owned_at_peak, owned_shared
from scaleplan.render.engine import REQUEST_RATE_TRIGGER
from scaleplan.render.metadata import Obj
from scaleplan.wording import counted


def owned_note(plan: Plan, owned: Sequence[Alloc], scaled: Sequence[Alloc]) -> str:
    """Say which allocations priced $0/h run their peak count all day, and why."""
    ks = plan.spec.kubernetes.autoscaler
    names = ", ".join(
        f"{al.name} ({al.max_replicas}; the plan's {min(al.a.replicas_per_window)} to "
        f"{al.max_replicas})"
        for al in owned
    )
    one = len(owned) == 1
    if not scaled:
        why = "and nothing in the plan costs money to scale down"
    elif plan.spec.kubernetes.routing == "gateway-api":
        why = (
            "so only the priced allocations scale, on their backends' weighted share of every "
            "hour's requests (the route's weights: no burst; docs/render.md, \"Burst plans\")"
        )
    else:
        why = (
            "so only the priced allocations scale, adding pods once the owned ones are at "
            "their target (docs/render.md, \"Burst plans\")"
        )
    return (
        f"{counted(len(owned), 'allocation')} priced $0/h {'runs' if one else 'run'} "
        f"{'its' if one else 'their'} peak replica count in every hour: {names}; "
        f"fixed replicas and no {ks.type} object (idle replicas on nodes you own cost nothing), "
        f"{why}; price {'its catalog row' if one else 'their catalog rows'} (e.g. the power "
        f"cost per node-hour) to have {'it' if one else 'them'} follow the plan's hours instead"
    )


def shared_note(plan: Plan, shared: Sequence[Alloc]) -> str:
    """Say which allocations priced $0/h keep their autoscalers because the plan moves their
    nodes between them by the hour."""
    ks = plan.spec.kubernetes.autoscaler
    groups: dict[tuple[str, str, str], list[Alloc]] = {}
    for al in shared:
        groups.setdefault((al.a.provider, al.a.region, al.a.family), []).append(al)
    parts = []
    for (prov, reg, fam), members in groups.items():
        got = owned_shared(plan, members[0].a)
        assert got is not None
        together, used = got
        names = ", ".join(al.name for al in members)
        parts.append(
            f"{names} on {prov}/{reg}/{fam} ({together} nodes at their peaks together, the "
            f"plan uses at most {used})"
        )
    return (
        "allocations priced $0/h whose plan moves the same nodes between them by the hour keep "
        f"their {ks.type} objects, as each at its peak would not fit: {'; '.join(parts)}; "
        "priced allocations beside them may scale up before these are full (docs/render.md, "
        "\"Burst plans\"); to hold them fixed, plan one serving shape per node type (set "
        "placement.max_gpus_per_replica to the fewest GPUs one replica serves on)"
    )


def burst_pods(
    routing: str, rate: float, target: float, al: Allocation, fixed: Sequence[tuple[int, float]],
    scaled: Sequence[Allocation],
) -> int:
    """The pods an ``rps`` HPA at ``target`` a pod settles at (steady state, before its bounds)
    for ``al``, one of the autoscaled allocations ``scaled``, beside allocations held at fixed
    counts (``fixed``: (pods, capacity per pod) each, e.g. owned ones at their peak,
    :func:`~scaleplan.render.allocations.owned_at_peak`), at the Service's ``rate``:

    - ``inference-pool``: the picker gives pods of one shape equal shares, taken here as in
      proportion to capacity (pods of several shapes get its KV-cache split instead,
      :mod:`scaleplan.llm.epp`, not modelled here), so a pod of ``al`` sees
      ``rate x c / C`` (``C`` all the capacity running); the HPA stops where that is at most
      ``target``: the autoscaled pods add ``rate x c / target`` less the fixed capacity,
      shared among them by their peak capacity;
    - ``service``: every pod gets ``rate / N``; the HPA stops at ``N >= rate / target``: the
      autoscaled pods are that less the fixed pods, shared by their peak count.

    So they add pods only once the fixed ones carry their share at ``target``. Not for
    ``gateway-api``, whose weights give each backend its share whatever the counts."""
    c = al.capacity_rps_per_replica
    if routing == "inference-pool":
        mine = al.replicas * c
        total = sum(a.replicas * a.capacity_rps_per_replica for a in scaled) or mine or 1.0
        need = rate * c / target - sum(n * cap for n, cap in fixed)
        return max(0, math.ceil(need * mine / total / c - 1e-9))
    total_n = sum(a.replicas for a in scaled) or al.replicas or 1
    need_n = rate / target - sum(n for n, _ in fixed)
    return max(0, math.ceil(need_n * al.replicas / total_n - 1e-9))


def burst_curve_applies(plan: Plan, trig: Obj) -> bool:
    """A priced allocation's one ungated request-rate trigger on the Service's whole rate
    (not gateway-api, whose weights give each backend its share whatever the counts) beside
    allocations render holds at their peak (priced $0/h): its threshold, a share of the whole
    rate, would ask for pods from the first request on, before the owned pods are full; its
    formula is then the plan's own count at each rate (:func:`plan_curve`)."""
    return (
        trig["type"] == "prometheus"
        and trig["name"] == REQUEST_RATE_TRIGGER
        and plan.spec.kubernetes.routing != "gateway-api"
        and any(owned_at_peak(plan, b) for b in plan.allocations)
    )


def plan_curve(plan: Plan, al: Alloc) -> list[tuple[float, int]]:
    """``(bound, count)`` pairs, bounds rising, for a KEDA formula on the Service's request
    rate that runs ``al``'s planned count at each of the plan's hourly rates: at a rate up to
    a planned hour's, the most the plan runs at that rate or below (so between two planned
    rates the higher one's count, never fewer than the plan), above the peak's
    maxReplicaCount. The first pair is (0, 0): no active trigger at no requests (KEDA then
    holds minReplicaCount). Bounds are the rates rounded up to KEDA's three decimals."""
    top = max(1, al.max_replicas, al.min_replicas)
    chain: list[tuple[float, int]] = [(0.0, 0)]
    most = 0
    for rate, n in sorted(zip(plan.demand.rps, al.a.replicas_per_window, strict=True)):
        most = max(most, n)
        bound = math.ceil(rate * 1000 - 1e-6) / 1000
        if bound <= 0:
            continue
        if chain[-1][1] == most or chain[-1][0] >= bound:
            chain[-1] = (max(bound, chain[-1][0]), most)
        else:
            chain.append((bound, most))
    chain.append((math.inf, top))
    return chain


def queue_burst_note(plan: Plan, al: Alloc, kind: str) -> list[str]:
    """Kafka's lag and RabbitMQ's queue length are no request rate: a priced allocation's
    share of them cannot wait for the owned pods; say so."""
    if plan.spec.kubernetes.routing == "gateway-api" or not any(
        owned_at_peak(plan, b) for b in plan.allocations
    ):
        return []
    return [
        f"allocation {al.name}: its {kind} trigger asks for its share of the whole backlog at "
        "any backlog, so it scales beside the owned allocations held at their peak rather than "
        "once they are full (docs/render.md, \"Burst plans\"); its cost may be above the "
        "plan's"
    ]
