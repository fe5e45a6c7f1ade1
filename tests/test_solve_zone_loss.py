"""Under redundancy: zone a plan counts what its zone spread loses with a zone: ceil(R/Z).

Render enforces a maxSkew-1 spread of each allocation's pods over its Z zones, so the worst
zone holds ceil(R/Z) of its R pods (``kube.zones.spread_loss``). Until 2026-12-07 every zone
loss row and check counted q ceil(n/Z): a whole node's q pods for each node in the worst zone,
where the spread puts one pod on each of the n mod Z nodes beyond the even ones. 2 owned 8-GPU
nodes over 3 zones hold 1 pod each and lose 1 with a zone; the rows counted 8, so plans left
the nodes the user owns idle and paid for others. The MILP's rows (m_k >= r_k / Z_k), the
fixed-count checks, the split, the starts and simulate's layout now count the same figure.
"""

from __future__ import annotations

from pathlib import Path

from simulate_helpers import allocation, make_plan
from solve_helpers import candidate, catalog, point, profile, row, spec
from test_render_keda_spare import _asks, _scaled_objects, _with

from scaleplan.inputs import shipped_accelerators
from scaleplan.kube.zones import spread_loss, spread_nodes, spread_replicas
from scaleplan.plan import floor_cost, read_plan
from scaleplan.simulate.core import simulate
from scaleplan.simulate.failures import lost_replicas
from scaleplan.simulate.layout import topology
from scaleplan.solve import SolveOptions, SolveResult, solve
from scaleplan.solve.milp.even import even_feasible
from scaleplan.solve.milp.window import WindowProblem, zone_lost
from scaleplan.solve.prune import PruneRules, prune

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _owned(max_nodes: int, peak_rps: float) -> SolveResult:
    """Owned 8-GPU nodes at $0/h (at most ``max_nodes``) beside g6.xlarge at $0.80/h, zone."""
    cat = catalog(
        row("own.8x", "L4", 8, 0.0, family="own", vcpus=96, mem=1900, zones=ZONES),
        row("g6.xlarge", "L4", 1, 0.8, vcpus=8, mem=32, zones=ZONES),
    )
    sp = spec(
        traffic={"peak_rps": peak_rps, "headroom": 0.0},
        placement={"redundancy": "zone", "quotas": [
            {"provider": "aws", "region": "us-east-1", "family": "own", "max_nodes": max_nodes}]},
    )
    return solve(sp, profile(point("L4", 1, 20, 60)), cat, options=SolveOptions(alternatives=False))


def test_spread_loss_is_the_fullest_zone_of_the_even_spread() -> None:
    assert spread_loss(2, 3) == 1 and spread_loss(3, 3) == 1 and spread_loss(4, 3) == 2
    assert spread_loss(0, 3) == 0 and spread_loss(5, 1) == 5
    for q in range(1, 6):
        for z in range(1, 5):
            for n in range(25):
                r = spread_replicas(n, q, z)
                shares = [r // z + (i < r % z) for i in range(z)]
                assert spread_loss(r, z) == max(shares)
                # never more than the q ceil(n/Z) the rows counted before, the same at q = 1
                assert spread_loss(r, z) <= q * -(-n // z)
                assert q > 1 or spread_loss(r, z) == -(-n // z)


def test_two_owned_nodes_over_three_zones_serve_and_survive_a_zone_loss() -> None:
    """The brief's case: 2 owned 8-GPU nodes, 3 zones, one pod's demand. The spread puts one
    pod on each (2 zones); a zone takes one, and the other carries the demand. Before, the
    rows charged 8 pods lost with a zone, so the plan bought 2 g6.xlarge ($1.60/h) beside
    the idle owned nodes."""
    res = _owned(2, 20.0)
    plan = res.plan
    assert plan.status == "optimal"
    [own] = [a for a in plan.allocations if a.instance_type == "own.8x"]
    assert own.nodes == 2 and own.replicas == 2 and own.zones == ZONES
    assert spread_nodes(own.replicas, own.replicas_per_node, 3) == own.nodes
    assert plan.cost_per_hour == 0.0
    assert not [a for a in plan.allocations if a.instance_type == "g6.xlarge" and a.nodes]
    out = simulate(plan, duration_s=60, seed=3, failure="zone", fail_at_s=10.0, accelerators=ACCS)
    assert out.failure is not None
    assert out.failure.lost == {own.name: 1}  # one pod a zone, as the spread places them
    assert out.failure.claim_tested and out.failure.holds


def test_owned_nodes_and_bought_ones_lose_one_zone_each() -> None:
    """A demand of two pods' worth: the owned nodes' 2 pods and 2 g6.xlarge lose 1 + 1 with
    the worst zone, 2 of 4 left ($1.60/h). Counted q ceil(n/Z) = 8 for the owned nodes they
    never served and the plan was 3 g6.xlarge ($2.40/h)."""
    plan = _owned(2, 40.0).plan
    assert plan.status == "optimal"
    assert round(plan.cost_per_hour, 6) == 1.6
    assert {a.instance_type: a.replicas for a in plan.allocations if a.replicas} == {
        "own.8x": 2, "g6.xlarge": 2}
    out = simulate(plan, duration_s=60, seed=3, failure="zone", fail_at_s=10.0, accelerators=ACCS)
    assert out.failure is not None and sum(out.failure.lost.values()) == 2
    assert out.failure.holds


def test_simulate_places_the_pods_of_a_spread_allocation_zone_by_zone() -> None:
    """simulate --fail zone under zone loses ceil(R/Z) of R pods of q a node (pod i in zone
    i mod Z, as render's maxSkew-1 spread places them), not the q pods of each node the old
    layout filled zone by zone (there 5 pods of 4 a node on 2 nodes lost 4 with us-east-1a)."""
    zones = ("us-east-1a", "us-east-1b", "us-east-1c")
    spread = make_plan(
        [allocation(replicas=(5, 2), replicas_per_node=4, zones=zones)], rps=(40.0, 10.0),
        redundancy="zone",
    )
    topo = topology(spread, 0)
    assert list(topo.zone_of) == [zones[i % 3] for i in range(5)]
    out = simulate(spread, duration_s=10, seed=1, failure="zone", fail_at_s=1.0, accelerators=ACCS)
    assert out.failure is not None and out.failure.lost == {"svc-g6-xlarge-od": 2}
    # without the zone rule nothing enforces the spread: nodes of 4 fill the zones in turn
    packed = make_plan(
        [allocation(replicas=(5, 2), replicas_per_node=4, zones=zones)], rps=(40.0, 10.0),
    )
    assert list(topology(packed, 0).zone_of) == [zones[0]] * 4 + [zones[1]]


def test_fixed_count_check_counts_the_spread_loss() -> None:
    """even_feasible (routing: service, the reused and scaled-up plans' check): 2 nodes of 8
    over 3 zones run 2 pods, lose 1 with a zone: one pod's demand holds."""
    big = candidate("own", 0.0, 30.0, rpn=8)
    p = WindowProblem(
        candidates=(big,), classes=("default",), demand=(20.0,), headroom=0.0,
        redundancy="zone", spot_max_fraction=None, even=True,
    )
    assert zone_lost(big, 2) == 1
    assert even_feasible(p, [2], [2], p.demand)
    assert not even_feasible(p, [2], [2], (40.0,))  # 2 - 1 pods left for 2 pods' demand


def test_prune_keeps_a_spread_candidate_apart_from_one_of_other_zones() -> None:
    """Under zone a node of q > 1 pods holds fewer over more zones (2 nodes of 2 over 2 zones
    hold 4, over 3 zones 2), so such a candidate no longer replaces a cheaper-per-node one of
    another zone count."""
    two = candidate("two", 1.0, 10.0, rpn=2, zones=2)
    three = candidate("three", 0.9, 10.0, rpn=2, zones=3)
    assert spread_replicas(2, 2, 2) == 4 and spread_replicas(2, 2, 3) == 2
    assert prune([two, three], PruneRules()) == [three]
    assert sorted(c.row.instance_type for c in prune([two, three], PruneRules(spread=True))) == [
        "three.x", "two.x"]


def test_a_spread_candidate_over_two_zones_is_not_pruned_for_one_over_three() -> None:
    """2 L4 a node, one-GPU pods, 2 pods' demand after a zone loss: 2 nodes over 2 zones hold
    4 pods and lose 2 ($2.00/h); over 3 zones 2 nodes hold 2, so 3 nodes are needed
    ($2.70/h). Pruning dropped the 2-zone type for the cheaper 3-zone one (more zones used to
    be no worse) and the plan was $2.70/h, 'optimal'."""
    cat = catalog(
        row("two.2x", "L4", 2, 1.0, zones=("us-east-1a", "us-east-1b")),
        row("three.2x", "L4", 2, 0.9, zones=ZONES),
    )
    sp = spec(traffic={"peak_rps": 40.0, "headroom": 0.0}, placement={"redundancy": "zone"})
    fast = SolveOptions(alternatives=False)
    plan = solve(sp, profile(point("L4", 1, 20, 60)), cat, options=fast).plan
    assert plan.status == "optimal" and round(plan.cost_per_hour, 6) == 2.0
    assert [(a.instance_type, a.nodes, a.replicas) for a in plan.allocations] == [("two.2x", 2, 4)]


def test_keda_formula_runs_the_spread_plans_count_in_every_hour(cli, tmp_path: Path) -> None:
    """vision-daily on g2-standard-24 alone (2 L4, one-GPU pods: q = 2) under zone and KEDA:
    the ScaledObject's formula (render.spare) counts the zone loss as the optimizer does, in
    replicas (2 pods on 2 nodes in the quiet hours, 1 lost with a zone; 6 on 3 at the peak).
    It counted whole nodes, q·(m + ceil(m/2)) for m nodes' demand: 4 pods in the quiet hours,
    where the plan runs 2 (and the spread puts 4 pods on 3 nodes, a node the plan does not
    have)."""
    text = (EXAMPLES / "vision-daily" / "spec.yaml").read_text(encoding="utf-8")
    old = "accelerators: [T4, L4, A100]"
    assert old in text
    text = text.replace(old, "accelerators: [L4]\n  exclude: [g2-standard-4, g2-standard-8, "
                        "g2-standard-12, g2-standard-16, g2-standard-32]")
    for f in (EXAMPLES / "vision-daily").glob("profile*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "o"), "--no-manifests"])
    plan = read_plan(tmp_path / "o" / "plan.yaml")
    (a,) = plan.allocations
    assert a.replicas_per_node == 2 and sorted(set(a.replicas_per_window)) == [2, 6]
    (so,) = _scaled_objects(_with(plan, type="keda-prometheus")).values()
    for w, n in enumerate(a.replicas_per_window):
        assert _asks(so, plan.demand.rps[w]) == n, (w, plan.demand.rps[w], n)


def test_the_floor_cost_counts_the_nodes_the_spread_needs() -> None:
    """plan.floor_cost (render's and check's HPA floor messages, the optimizer's 'no plan holds
    the floor' reason): 3 pods of 8 a node over 3 zones take 3 nodes, not 1."""
    assert floor_cost(3, 8, [1, 1], 1.0) == 0.0
    assert floor_cost(3, 8, [1, 1], 1.0, zones=3) == 2.0
    assert floor_cost(3, 1, [1, 1], 1.0, zones=3) == floor_cost(3, 1, [1, 1], 1.0) == 2.0


def test_simulate_fail_node_takes_one_node_of_the_spread() -> None:
    """simulate --fail node under zone takes the pods one node holds under the spread: q pods
    of one zone (pod i in zone i mod Z, a node holds only its own zone's), here 2 of 5 pods of
    4 a node over 3 zones (pods 0 and 3, us-east-1a's node). It took pods 0..q-1, 4 pods in
    three zones that no node holds together."""
    plan = make_plan(
        [allocation(replicas=(5, 2), replicas_per_node=4, zones=ZONES)], rps=(40.0, 10.0),
        redundancy="zone",
    )
    topo = topology(plan, 0)
    lost, _ = lost_replicas(plan, topo, "node", 0)
    assert sorted(lost) == [0, 3] and {topo.zone_of[g] for g in lost} == {ZONES[0]}
    out = simulate(plan, duration_s=10, seed=1, failure="node", fail_at_s=1.0, accelerators=ACCS)
    assert out.failure is not None and out.failure.lost == {"svc-g6-xlarge-od": 2}
    # in the quiet window (2 pods, one a zone) the node holds pod 0 only; pod 3 is down too
    assert sorted(lost_replicas(plan, topo, "node", 1)[0]) == [0, 3]
    # without the zone rule nodes of 4 fill in order: the first holds pods 0..3
    packed = make_plan(
        [allocation(replicas=(5, 2), replicas_per_node=4, zones=ZONES)], rps=(40.0, 10.0),
    )
    assert sorted(lost_replicas(packed, topology(packed, 0), "node", 0)[0]) == [0, 1, 2, 3]
