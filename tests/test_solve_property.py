"""Property: on small random instances, exhaustive enumeration and the MILP agree on the optimum.

The enumerator is written independently of the MILP, from the definitions in docs/optimizer.md:
it tries every node-count vector, places rpn replicas per node (under zone the most that the
rendered even zone spread fits on them, :func:`spread_pods`), and checks each constraint
directly (coverage with headroom, spot share on on-demand capacity, quotas, min/max replicas,
n+1 after losing any node, zone after losing the fullest zone of the even pod spread of every
candidate in the region (:func:`worst_zone`), and spot.survive_loss: after losing every spot
replica at once the on-demand ones carry the demand without headroom).

All three routings, as WindowProblem expresses them:
* service (even): one Service gives every replica D(1+h)/R with the traffic's class mix, so
  every type in use must take that share; after losing a node, a zone or all spot, the
  survivors split evenly too; the share of requests on spot is spot pods / pods, at most
  max_fraction. These instances also have two request classes and types that
  serve only one of them.
* inference-pool (weighted, no backend groups): capacity adds up and the endpoint picker moves
  a lost node's, zone's or spot's load to any replica left.
* gateway-api (weighted, backend groups from Candidate.serving_shape): the HTTPRoute weights
  are static, so after a loss a group's share stays in its group: the group's own survivors
  carry its routed load (n+1, zone, one class), and after a spot loss its on-demand members do
  (a group without on-demand members gets no traffic). With one demand window
  (spot_by_capacity) the route weighs each group by its capacity and its Service spreads
  that over its pods, so spot capacity is at most max_fraction of the capacity.
Candidates often share a serving shape (a spot and an on-demand variant of one type, or another
type with the same accelerator and operating point), so groups have several members. Each
routing runs twice: on all instances, and on ones focused on survive_loss. The fixed-count
check every window's plan re-use goes through (the routing LP, even_feasible) is compared with
the same rules on node counts next to the optimum.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solve_helpers import candidate

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.milp import QuotaScope, WindowModel, WindowProblem, WindowSolution

ROUTINGS = ("service", "inference-pool", "gateway-api")
EPS = 1e-9


def two_class(c: Candidate, cap2: float | None) -> Candidate:
    """``c`` also serving class "big" at ``cap2`` rps (None: it cannot)."""
    if cap2 is None:
        return c
    big = replace(c.points[0][1], capacity_rps=cap2, throughput_rps=cap2)
    return replace(c, points=(*c.points, ("big", big)))


def backend_groups(cands: Sequence[Candidate]) -> tuple[int, ...]:
    """gateway-api: candidates of one serving shape share one backend Service."""
    ids: dict[tuple[object, ...], int] = {}
    return tuple(ids.setdefault(c.serving_shape, len(ids)) for c in cands)


@st.composite
def fleet(draw: st.DrawFn, k: int, spot_ok: bool, rpn1: bool, mixed: bool) -> list[Candidate]:
    """k candidates; each after the first is often a variant of an earlier one: the same type in
    the other capacity type, or another type of the same serving shape (same capacity).
    ``mixed``: the first is on-demand, the second spot."""
    cands: list[Candidate] = []
    for i in range(k):
        j = draw(st.integers(0, i))  # j < i: share candidate j's serving shape
        price = draw(st.integers(20, 500)) / 100
        rpn = 1 if rpn1 else draw(st.integers(1, 2))
        spot = i == 1 if mixed and i < 2 else spot_ok and draw(st.booleans())
        name, zones = f"t{i}", draw(st.integers(2, 3))
        cap = float(draw(st.integers(5, 40)))
        if j < i:
            twin = cands[j]
            cap = twin.cap("default") or cap
            if spot_ok and draw(st.booleans()):  # the same type, other capacity type
                name, zones = twin.row.instance_type.split(".")[0], twin.zones
                rpn = twin.replicas_per_node
                spot = twin.capacity_type == "on-demand"
                discount = draw(st.integers(20, 70)) / 100  # spot is cheaper
                price = round(twin.price * discount if spot else twin.price / discount, 2)
        cands.append(candidate(name, price=price, cap=cap, rpn=rpn, spot=spot, zones=zones))
    return cands


@st.composite
def instances(draw: st.DrawFn, routing: str, loss: bool) -> tuple[WindowProblem, int]:
    """A random window. ``loss``: focused on survive_loss (on, spot and on-demand candidates,
    spot allowed some traffic, headroom for spot to carry, no quotas or replica cap)."""
    even = routing == "service"
    k = draw(st.integers(2 if loss else 1, 3))
    max_rep = draw(st.integers(1, 8)) if not loss and draw(st.integers(0, 3)) == 0 else None
    spot_f = draw(st.sampled_from([0.5, 1.0] if loss else [None, 0.0, 0.5, 1.0]))
    cands = draw(fleet(k, spot_f is not None, max_rep is not None, loss))
    # even: keep the brute force small (its bound grows with demand / slowest capacity)
    demand_t: tuple[float, ...] = (float(draw(st.integers(1, 25 if even else 60))),)
    classes: tuple[str, ...] = ("default",)
    if even and draw(st.booleans()):
        classes = ("default", "big")
        cap2 = st.one_of(st.none(), st.integers(5, 40).map(float))
        cands = [two_class(c, draw(cap2)) for c in cands]
        demand_t = (demand_t[0], float(draw(st.integers(0, 8))))
    headroom = draw(st.sampled_from([0.2, 0.5] if loss else [0.0, 0.2, 0.5]))
    quotas: tuple[QuotaScope, ...] = ()
    if not loss and draw(st.integers(0, 3)) == 0:
        t0 = tuple(i for i, c in enumerate(cands) if c.row.instance_type == "t0.x")
        quotas = (QuotaScope("aws/us-east-1/t0", draw(st.integers(0, 6)), t0),)
    prob = WindowProblem(
        candidates=cands,
        classes=classes,
        demand=demand_t,
        headroom=headroom,
        redundancy=draw(st.sampled_from(["none", "n+1", "zone"])),
        spot_max_fraction=spot_f if any(c.capacity_type == "spot" for c in cands) else None,
        quotas=quotas,
        min_replicas=draw(st.integers(0, 3)),
        max_replicas=max_rep,
        even=even,
        survive_spot_loss=loss or draw(st.booleans()),
        backend_groups=backend_groups(cands) if routing == "gateway-api" else (),
        spot_by_capacity=routing == "gateway-api" and draw(st.booleans()),
        delivered_util=draw(st.sampled_from(DELIVERED)) if routing == "gateway-api" else None,
    )
    slowest = min(min(c.cap(x) or 1 for x in classes) for c in cands)
    ub = math.ceil(2 * sum(demand_t) * (1 + headroom) / slowest) + 3
    return prob, max(ub, prob.min_replicas + 2)


def spread_pods(p: WindowProblem, ns: Sequence[int]) -> list[int]:
    """The replicas node counts ``ns`` run: rpn per node, but under zone the most that a
    maxSkew-1 spread over the zones fits on them when a node holds only its own zone's pods
    (tried one count at a time: R pods are R // Z in every zone and one more in R mod Z)."""
    pairs = zip(ns, p.candidates, strict=True)
    if p.redundancy != "zone":
        return [n * c.replicas_per_node for n, c in pairs]
    return [_spread_fit(n, c.replicas_per_node, c.zones) for n, c in pairs]


def worst_zone(r: int, z: int) -> int:
    """The pods the fullest of ``z`` zones holds when ``r`` pods are spread with maxSkew 1
    (r // z in every zone, one more in r mod z of them): what losing a zone takes."""
    return max(r // z + (i < r % z) for i in range(z))


@functools.cache
def _spread_fit(n: int, q: int, z: int) -> int:
    fits = [
        r for r in range(n * q + 1)
        if sum(-(-(r // z + (i < r % z)) // q) for i in range(z)) <= n
    ]
    return max(fits)


def even_ok(p: WindowProblem, ns: Sequence[int]) -> bool:
    """routing: service, by brute force: every replica gets an even share of each class.

    With R' replicas left carrying s times the demand, a replica of type i is loaded
    s sum_c D_c / (R' a_ic) <= 1: R' >= s theta, theta the largest sum_c D_c / a_ic of a type
    in use (every type in use must take the share, even after its own nodes are lost)."""
    cands = p.candidates
    act = [(cls, d) for cls, d in zip(p.classes, p.demand, strict=True) if d > 0]
    used = [i for i, n in enumerate(ns) if n]
    if not act:
        return True
    if not used:
        return False
    theta = 0.0
    for i in used:
        caps = [cands[i].cap(cls) for cls, _ in act]
        if not all(caps):
            return False
        theta = max(theta, sum(d / (a or 1) for (_, d), a in zip(act, caps, strict=True)))

    def fits(survivors: int, scale: float) -> bool:
        return survivors > 0 and scale * theta <= survivors * (1 + EPS)

    reps = spread_pods(p, ns)
    R = sum(reps)
    od = sum(r for r, c in zip(reps, cands, strict=True) if c.capacity_type == "on-demand")
    f = p.spot_max_fraction
    checks = [fits(R, 1 + p.headroom)]
    if f is not None and f < 1:
        checks.append(fits(od, (1 - f) * (1 + p.headroom)))
        # as delivered: the Service gives every pod the same share, so spot pods <= f x pods
        checks.append(R - od <= f * R + EPS)
    if p.survive_spot_loss:  # every spot replica lost: the on-demand ones split the demand
        checks.append(fits(od, 1.0))
    if p.redundancy == "n+1":
        checks += [fits(R - cands[i].replicas_per_node, 1.0) for i in used]
    if p.redundancy == "zone":
        lost = sum(worst_zone(r, c.zones) for r, c in zip(reps, cands, strict=True))
        checks.append(fits(R - lost, 1.0))
    return all(checks)


def group_limit(p: WindowProblem, ns: Sequence[int], ks: Sequence[int]) -> tuple[float, float]:
    """The most load (rps) candidates ``ks`` can be routed when their share stays among them
    after a loss, and the most of it their on-demand replicas can take with headroom."""
    cands, cls = p.candidates, p.classes[0]
    pods = spread_pods(p, ns)
    cap = {k: pods[k] * (cands[k].cap(cls) or 0.0) for k in ks}
    total = sum(cap.values())
    od = sum(cap[k] for k in ks if cands[k].capacity_type == "on-demand")
    limits = [total / (1 + p.headroom)]  # coverage with headroom
    if p.redundancy == "n+1":  # any one node of the group lost, no headroom
        limits += [total - cap[k] / ns[k] for k in ks if ns[k]]
    if p.redundancy == "zone":  # the fullest zone of every member's pod spread
        worst = [worst_zone(pods[k], cands[k].zones) * (cands[k].cap(cls) or 0.0) for k in ks]
        limits.append(total - sum(worst))
    if p.survive_spot_loss:  # all spot lost: the on-demand members carry the load
        limits.append(od)
    top = max(0.0, min(limits))
    return top, min(top, od / (1 + p.headroom))


# WindowProblem.delivered_util drawn for gateway-api instances: (lo, hi, margin) of the
# branch and bound over u = demand / capacity (scaleplan.solve.delivered)
DELIVERED = [None, (0.0, 1.0, 0.0), (0.3, 0.7, 0.0), (0.5, 0.9, 0.05), (0.2, 0.5, -0.05)]


def delivered_rows_ok(p: WindowProblem, ns: Sequence[int]) -> bool:
    """The delivered_util rows by hand: capacity x hi >= D, and per backend group what is left
    of (1 - lo) of its capacity, less margin x D when in use (always when margin < 0, where
    the solver may take it), at least each loss: a node of any member in use (n+1), the worst
    zone's pods of every member (zone, :func:`worst_zone`), its spot capacity (survive_loss);
    a group without those rules has none."""
    if p.delivered_util is None:
        return True
    lo, hi, margin = p.delivered_util
    cands, d = p.candidates, p.demand[0]
    node = [c.replicas_per_node * (c.cap(p.classes[0]) or 0.0) for c in cands]
    pods = spread_pods(p, ns)
    cap = [r * (c.cap(p.classes[0]) or 0.0) for r, c in zip(pods, cands, strict=True)]
    if hi * sum(cap) < d - EPS:
        return False
    for g in set(p.backend_groups):
        ks = [k for k in range(len(ns)) if p.backend_groups[k] == g]
        used = any(ns[k] for k in ks)
        left = (1 - lo) * sum(cap[k] for k in ks) - (margin * d if used or margin < 0 else 0.0)
        lost = []  # the rows of the group: n+1 one per member (u_k = 0 when not in use)
        if p.redundancy == "n+1":
            lost += [0.0, *(node[k] for k in ks if ns[k])]
        if p.redundancy == "zone":
            one = [c.cap(p.classes[0]) or 0.0 for c in cands]
            lost.append(sum(worst_zone(pods[k], cands[k].zones) * one[k] for k in ks))
        spot = [k for k in ks if cands[k].capacity_type == "spot"]
        if p.survive_spot_loss and spot:
            lost.append(sum(cap[k] for k in spot))
        if any(left < v - EPS for v in lost):
            return False
    return True


def weighted_ok(p: WindowProblem, ns: Sequence[int]) -> bool:
    """gateway-api / inference-pool, one class: is there a routing of the demand for ``ns``?

    inference-pool moves any lost load anywhere: one pool (the candidates share one region).
    gateway-api: per backend group. Groups take loads L_g <= top_g summing to D; the on-demand
    share is largest when each group first fills its on-demand replicas, so the spot rule
    (on-demand routed >= (1-f) D) holds iff min(D, sum_g min(top_g, od_g)) >= (1-f) D."""
    assert len(p.demand) == 1  # the weighted instances have one class
    d, K = p.demand[0], len(ns)
    groups = p.backend_groups or (0,) * K
    members = [[k for k in range(K) if groups[k] == g] for g in sorted(set(groups))]
    limits = [group_limit(p, ns, ks) for ks in members]
    if sum(top for top, _ in limits) < d - EPS or not delivered_rows_ok(p, ns):
        return False
    f = p.spot_max_fraction
    if f is not None and p.spot_by_capacity:  # as the route delivers it: by capacity, per pod
        per = zip(spread_pods(p, ns), p.candidates, strict=True)
        caps = [r * (c.cap(p.classes[0]) or 0.0) for r, c in per]
        spot = sum(a for a, c in zip(caps, p.candidates, strict=True) if c.capacity_type == "spot")
        if spot > f * sum(caps) + EPS:
            return False
    return f is None or min(d, sum(od for _, od in limits)) >= (1 - f) * d - EPS


def routing_ok(p: WindowProblem, ns: Sequence[int]) -> bool:
    """Node counts ``ns`` (rpn replicas per node) serve the demand under every routing rule."""
    return even_ok(p, ns) if p.even else weighted_ok(p, ns)


def feasible(p: WindowProblem, ns: Sequence[int]) -> bool:
    cands = p.candidates
    R = sum(spread_pods(p, ns))
    if not p.min_replicas <= R <= (p.max_replicas if p.max_replicas is not None else R):
        return False
    if any(sum(cands[i].gpus_per_node * ns[i] for i in q.members) > q.limit for q in p.quotas):
        return False
    return routing_ok(p, ns)


def enumerate_best(p: WindowProblem, ub: int) -> tuple[float, tuple[int, ...]] | None:
    """The cheapest feasible node counts (0..ub of each candidate) with their cost, or None."""
    prices = np.array([c.price for c in p.candidates])
    every = np.indices((ub + 1,) * len(prices)).reshape(len(prices), -1).T
    costs = every @ prices
    for i in np.argsort(costs, kind="stable"):  # the first feasible one in cost order
        ns = tuple(int(n) for n in every[i])
        if feasible(p, ns):
            return float(costs[i]), ns
    return None


@pytest.mark.parametrize("loss", [False, True], ids=["all", "loss"])
@pytest.mark.parametrize("routing", ROUTINGS)
@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data())
def test_enumeration_agrees_with_solver(routing: str, loss: bool, data: st.DataObject) -> None:
    """The MILP's optimum is the enumerated one, and its plan meets every rule. The fixed-count
    check (the routing LP, or even_feasible) agrees with the rules on counts near the optimum:
    it re-uses and re-routes every window's plan."""
    prob, ub = data.draw(instances(routing, loss))
    want = enumerate_best(prob, ub)
    model = WindowModel(prob, tie_break=False)
    got = model.solve(prob.demand)
    if want is None:
        assert got.status == "infeasible"
    else:
        assert got.status == "optimal"
        assert abs(got.cost - want[0]) < 1e-6, (got.nodes, got.cost, want)
        assert feasible(prob, got.nodes), got.nodes  # the solver's plan meets every rule
    base = want[1] if want is not None else (ub // 2,) * len(prob.candidates)
    near = [max(0, n + data.draw(st.integers(-1, 1))) for n in base]
    reps = spread_pods(prob, near)
    if sum(reps) >= prob.min_replicas:  # replica bounds and quotas are the caller's
        fixed = WindowSolution(status="optimal", nodes=near, replicas=reps)
        assert (model.reroute(fixed, prob.demand) is not None) == routing_ok(prob, near), near


def _pair(groups: tuple[int, ...], **kw: object) -> WindowProblem:
    od, sp = candidate("od", 1.0, 100.0), candidate("sp", 0.3, 100.0, spot=True)
    p = WindowProblem(
        candidates=[od, sp], classes=("default",), demand=(400.0,), headroom=0.2,
        redundancy="none", spot_max_fraction=1.0, survive_spot_loss=True, backend_groups=groups,
    )
    return replace(p, **kw)


def test_the_oracle_knows_the_loss_rules() -> None:
    """The enumerator itself, on hand-checked cases (so the property cannot pass vacuously)."""
    # gateway-api: spot alone in its group gets no traffic; with an on-demand sibling it may
    assert not feasible(_pair((0, 1)), (4, 1)) and feasible(_pair((0, 1)), (5, 0))
    assert feasible(_pair((0, 0)), (4, 1)) and not feasible(_pair((0, 0)), (3, 2))
    assert enumerate_best(_pair((0, 1)), 8) == (pytest.approx(5.0), (5, 0))
    assert enumerate_best(_pair((0, 0)), 8) == (pytest.approx(4.3), (4, 1))
    assert feasible(_pair((0, 0), survive_spot_loss=False), (0, 5))
    # one window: 4 on-demand + 2 spot pods behind one Service put 1/3 of the requests on spot
    routed = _pair((0, 0), survive_spot_loss=False, spot_max_fraction=0.2)
    assert feasible(routed, (4, 2)) and not feasible(replace(routed, spot_by_capacity=True), (4, 2))
    assert enumerate_best(replace(routed, spot_by_capacity=True), 8) == (pytest.approx(4.3), (4, 1))
    # inference-pool: the on-demand replicas carry all 400 rps
    assert not feasible(_pair(()), (3, 2)) and feasible(_pair(()), (4, 1))
    # gateway-api n+1 per group: 2 + 2 nodes carry 200 rps summed after a loss, not 150 + 50
    a, b = candidate("a", 1.0, 100.0), candidate("b", 1.0, 50.0)
    nplus1 = WindowProblem(
        candidates=[a, b], classes=("default",), demand=(200.0,), headroom=0.0,
        redundancy="n+1", spot_max_fraction=None,
    )
    assert feasible(nplus1, (2, 2)) and not feasible(replace(nplus1, backend_groups=(0, 1)), (2, 2))
    assert feasible(replace(nplus1, backend_groups=(0, 1)), (3, 0))
