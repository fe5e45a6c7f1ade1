"""The explanation's spot lines (``plan.explanation``, :mod:`scaleplan.solve.explain`): why a
plan that may use spot runs none, and what placement.spot.survive_loss holds and costs."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scaleplan.plan import SAME_COST_PER_HOUR, Allocation, SpotLoss
from scaleplan.solve.problem import Problem
from scaleplan.solve.search import Outcome
from scaleplan.wording import counted


def no_spot_line(
    max_fraction: float, allocs: Sequence[Allocation], spot_rows: frozenset[tuple[str, str, str]],
    even: bool = False,
) -> str:
    """Why a plan that may use spot runs none (UX trial 21 F5: an H100-only Azure plan said
    "on-demand replicas alone serve at least 40% ..." as if it ran spot): the types it runs
    have no spot price, or no plan with spot within max_fraction was found cheaper; under an
    even split (``even``) too few replicas for one on spot to stay within max_fraction."""
    used = {(a.provider, a.region, a.instance_type) for a in allocs}
    limit = f"spot.max_fraction {max_fraction:g}" if max_fraction < 1 else "spot allowed"
    why = f"no plan with spot replicas ({limit}) was found cheaper"
    pods = max(map(sum, zip(*(a.replicas_per_window for a in allocs), strict=True)), default=0)
    if even and pods and 0 < max_fraction * pods < 1 - 1e-9:
        why = _even_split_no_spot(max_fraction, pods)
    if used and not used & spot_rows:
        types = ", ".join(f"{t} ({p} {r})" for p, r, t in sorted(used, key=lambda u: u[2]))
        why = f"the catalogs give no spot price for {types}, and {why}"
    return f"Spot: allowed, but the plan runs no spot replica: {why}."


def _even_split_no_spot(max_fraction: float, pods: int) -> str:
    """routing: service gives every pod the same share of the requests (``milp.even``,
    R_spot <= f R), so at the plan's ``pods`` one spot replica would carry 1/``pods`` of them,
    over max_fraction (UX trial 35 MEDIUM-6: the line said only "no plan with spot replicas
    (spot.max_fraction 0.3) was found cheaper" of a plan of 2 replicas). The ways out: a
    max_fraction of one replica's share, or enough replicas for one on spot, which cost more."""
    share = math.ceil(100 / pods - 1e-9) / 100 if pods > 1 else 1.0
    least = math.ceil(1 / max_fraction - 1e-9)
    if pods > 1:
        split = (
            f"routing: service gives each of the plan's {pods} replicas an even share of the "
            f"requests, so one on spot would carry {1 / pods:.0%} of them"
        )
        allow = f"let one of {pods} run on spot"
    else:
        split = (
            "routing: service sends every request to the plan's one replica, so on spot it "
            "would carry 100% of them"
        )
        allow = "let it run on spot"
    return (
        f"{split}, over spot.max_fraction {max_fraction:g}, and no plan with spot of {least} "
        f"or more replicas was found cheaper; set placement.spot.max_fraction: {share:g} to "
        f"{allow}"
    )


def survive_loss_cost_line(pb: Problem, o: Outcome, base: float | None) -> str:
    """placement.spot.survive_loss: what the rule guarantees and what it costs."""
    per = (
        " (each Service's on-demand replicas its share, so a serving shape without on-demand "
        "replicas gets no traffic)"
        if pb.spec.kubernetes.routing == "gateway-api"
        else ""
    )
    if base is None:
        cost = "its cost was not priced (no plan without it was found within the time limit)"
    elif o.cost > base + SAME_COST_PER_HOUR:
        cost = f"${o.cost - base:.2f}/h more than without (${base:.2f}/h)"
    else:
        cost = "no more than without it here"
    return (
        "Spot loss (placement.spot.survive_loss): when every spot replica is lost at once, the "
        f"on-demand replicas alone carry the demand of every window at the SLO{per}; {cost}."
    )


def unproven(s: SpotLoss) -> str:
    """What a survive_loss price found before its search proved it the cheapest says of itself
    (UX trial 37 F3: +35.7 % on a loaded host where a longer limit found +14.6 %)."""
    if s.survive_loss_gap is None:
        return ""
    return (
        f"; not proven the cheapest such plan: gap {s.survive_loss_gap:.1%} to a lower bound"
    )


def spot_loss_exposure_line(s: SpotLoss, cost: float) -> str:
    """Spot without placement.spot.survive_loss: what a loss of all spot at the peak leaves
    and what the rule costs (:func:`scaleplan.solve.compare.spot_loss`); ``cost``: the
    plan's cost per hour."""
    on = s.survive_loss_cost_per_hour
    if on is None:
        price = f"survive_loss: true was not priced ({s.not_priced})"
    elif on <= cost + SAME_COST_PER_HOUR:
        price = (
            "placement.spot.survive_loss: true holds the SLO through it at no extra cost "
            f"(${on:.2f}/h)"
        )
    else:
        most = " at most" if s.survive_loss_gap is not None else ""
        price = (
            f"placement.spot.survive_loss: true holds the SLO through it for{most} "
            f"+${on - cost:.2f}/h ({s.extra_cost_fraction or 0.0:+.1%}, ${on:.2f}/h"
            f"{unproven(s)})"
        )
    return (
        "Spot loss (placement.spot.survive_loss is off): losing every spot replica at the peak "
        f"leaves {s.on_demand_replicas} of {counted(s.replicas, 'replica')} (the on-demand "
        f"ones), whose capacity at the SLO is {s.on_demand_share:.0%} of its demand (without "
        f"headroom); {price}."
    )
