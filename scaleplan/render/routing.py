"""Request routing between allocations (docs/render.md, "Routing").

Pure functions on a :class:`~scaleplan.plan.Plan`:

* :func:`route_weights`: the integer ``backendRefs[].weight`` of each allocation in the
  ``routing: gateway-api`` HTTPRoute, proportional to the allocation's **capacity at the plan's
  peak window** (replicas in that window x ``capacity_rps_per_replica``), scaled to sum
  :data:`WEIGHT_TOTAL` with largest-remainder rounding; every allocation with replicas at the
  peak gets at least 1.
* :func:`uneven_mix`: for ``routing: service``, the first window in which the plan mixes
  replica types whose per-replica capacity differs by more than :data:`MIX_RATIO` and an even
  split over all pods overloads the slow ones (an old or hand-edited plan: a plan optimize
  wrote under ``routing: service`` has pods enough for its slowest type in every window).

Capacity-proportional weights give every pod the same utilization (demand / capacity) at the
peak, which is below 1 whenever the plan covers its demand; the optimizer's per-class
``routing`` shares describe the same split class by class, but an HTTPRoute cannot tell request
classes apart, so the weights use the class-blind capacity split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scaleplan.kube.backends import backend_weights, backends, request_shares
from scaleplan.kube.weights import WEIGHT_TOTAL, class_routed, largest_remainder
from scaleplan.kube.weights import peak_window as _peak_window
from scaleplan.kube.weights import route_weights as _route_weights
from scaleplan.plan import Plan

__all__ = [
    "MIX_RATIO",
    "WEIGHT_TOTAL",
    "UnevenMix",
    "largest_remainder",
    "peak_window",
    "route_weights",
    "static_weight_shortfalls",
    "uneven_mix",
]

MIX_RATIO = 1.5


def peak_window(plan: Plan) -> int:
    """Index of the window with the highest demand (the first one on ties; 0 without demand)."""
    return _peak_window(plan.demand.rps)


def route_weights(plan: Plan, names: dict[str, str] | None = None) -> dict[str, int]:
    """Allocation name (or ``names[allocation name]``) -> HTTPRoute weight (``scaleplan.kube.weights``,
    shared with the optimizer and the simulator)."""
    return _route_weights(plan, names)


@dataclass(frozen=True)
class UnevenMix:
    window: int
    slow: str
    slow_rps: float
    fast: str
    fast_rps: float

    @property
    def ratio(self) -> float:
        return self.fast_rps / self.slow_rps

    def message(self, plan: Plan) -> str:
        w = self.window
        where = f"in window {w} " if plan.demand.windows > 1 else ""
        pods = plan.replicas_at(w)
        planned = plan.capacity_rps_at(w)
        even_cap = pods * self.slow_rps
        need = plan.demand.rps[w] * (1 + plan.demand.headroom)
        effect = f"; this window's demand plus headroom ({need:.3g} rps) overloads them"
        # the second fix was "re-optimize with routing: service", which the plan already had
        # (UX trial 20, F5): optimize under routing: service sizes every window for the even
        # split, so a plan that fails it was written by hand or by an older scaleplan
        return (
            f"routing: service spreads requests evenly over all pods, but {where}the plan mixes "
                f"{self.fast} "
            f"({self.fast_rps:g} rps per replica) with {self.slow} ({self.slow_rps:g} rps per "
                f"replica, {self.ratio:.1f}x slower). "
            f"An even split saturates the {self.slow} pods once the {pods} pods get {even_cap:.3g} "
                "rps in total, "
            f"while the plan counts on {planned:.3g} rps of capacity{effect}. "
            "Set spec.kubernetes.routing: gateway-api (with spec.kubernetes.gateway) and run "
                "scaleplan optimize again, "
            "or run scaleplan optimize again as it is (under routing: service it gives "
                "every window "
            "pods enough for an even split)"
        )


def uneven_mix(plan: Plan, ratio: float = MIX_RATIO) -> UnevenMix | None:
    """The first window (peak window first, then in order) whose allocations with replicas
    differ in per-replica capacity by more than ``ratio`` and whose demand plus headroom an
    even split over its pods cannot carry (pods x the slowest capacity). A mix an even split
    carries is what optimize plans under routing: service: until 2026-12-06 it was warned of
    too, on every fresh plan that mixed types (UX trial 20, F5)."""
    peak = peak_window(plan)
    order = [peak, *[i for i in range(plan.demand.windows) if i != peak]]
    for w in order:
        live = sorted(
            (a for a in plan.allocations if a.replicas_per_window[w] > 0),
            key=lambda a: (a.capacity_rps_per_replica, a.name),
        )
        if len(live) < 2:
            continue
        slow, fast = live[0], live[-1]
        pods = plan.replicas_at(w)
        need = plan.demand.rps[w] * (1 + plan.demand.headroom)
        carried = need <= pods * slow.capacity_rps_per_replica * (1 + 1e-9)
        if fast.capacity_rps_per_replica > ratio * slow.capacity_rps_per_replica and not carried:
            return UnevenMix(
                w,
                slow.name,
                slow.capacity_rps_per_replica,
                fast.name,
                fast.capacity_rps_per_replica,
            )
    return None


@dataclass(frozen=True)
class WeightShortfall:
    """A window in which the HTTPRoute's static (peak) weights send a backend more requests than
    its replicas in that window can serve (``capacity_rps`` 0: it has no pods at all).
    ``allocation``: the backend's allocation, or, when several share it, its Service (and
    ``shared_by`` the allocations behind it)."""

    window: int
    allocation: str
    load_rps: float
    capacity_rps: float
    shared_by: tuple[str, ...] = ()
    class_rules: bool = False  # kubernetes.class_header: the rules' weights, one per class

    @property
    def no_pods(self) -> bool:
        return self.capacity_rps <= 0

    def message(self) -> str:
        effect = "has no pods in that window, so those requests fail" if self.no_pods else ("its "
            f"replicas in that window serve {self.capacity_rps:.4g} rps, so they are overloaded")
        who = f"allocation {self.allocation}"
        if self.shared_by:
            who = f"backend {self.allocation} ({', '.join(self.shared_by)})"
        fixed = ("its rules' per-class weights are fixed all day" if self.class_rules
            else "weights are fixed at the peak window's capacity mix")
        return (
            f"the HTTPRoute's {fixed}, but in window {self.window} "
            f"they send {who} {self.load_rps:.4g} rps while {effect}"
        )


def static_weight_shortfalls(plan: Plan) -> list[WeightShortfall]:
    """For ``routing: gateway-api``: per window, the backends that the rendered (static, peak)
    weights would overload compared with the plan's own routing in that window.

    An HTTPRoute cannot change its weights by hour, so a plan whose type mix changes over the day
    is only deployable when every hour's replicas behind each backend cover that backend's fixed
    share. A backend counts as overloaded when its load under the static weights exceeds both its
    capacity and what the plan itself loads its capacity with in that window, by more than 5 % plus
    one weight unit (so rounding the weights to integers, or a plan that is tight everywhere,
    raises no false alarm). A backend with weight but no pods in a window is always reported.
    With ``kubernetes.class_header`` a backend's share is what the class rules send it
    (:func:`scaleplan.kube.backends.request_shares`), not the header-less rule's."""
    weights = backend_weights(plan)
    total = sum(weights.values())
    shares = request_shares(plan)  # weights / total, or the class rules' shares
    rules = class_routed(plan)
    out: list[WeightShortfall] = []
    if total <= 0:
        return out
    by_name = {a.name: a for a in plan.allocations}
    groups = [(b, [by_name[m] for m in b.members]) for b in backends(plan)]
    for w in range(plan.demand.windows):
        demand = plan.demand.rps[w]
        if demand <= 0:
            continue
        planned = plan.capacity_rps_at(w)
        plan_util = demand / planned if planned > 0 else math.inf
        for b, members in groups:
            load = shares.get(b.service, 0.0) * demand
            if load <= 1e-12:
                continue
            cap = sum(a.replicas_per_window[w] * a.capacity_rps_per_replica for a in members)
            # slack: 5 % and one weight unit's worth of traffic (integer weights round shares)
            if cap <= 0 or load > cap * max(1.0, plan_util) * 1.05 + demand / total:
                if b.shared:
                    out.append(WeightShortfall(w, b.service, load, cap, b.members, rules))
                else:
                    out.append(WeightShortfall(w, b.members[0], load, cap, class_rules=rules))
    return out
