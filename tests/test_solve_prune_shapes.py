"""Pruning whole serving shapes (``prune.prune_shapes``) is exact under routing: gateway-api,
where each backend group (one Service per serving shape, its region included) absorbs its own
losses: on random small catalogs the pruned and the full candidate lists reach the same optimal
cost with the real solver (n+1, zone, spot.survive_loss, spot capped as delivered, quotas; one
class, the class mix's one-class form, and two classes with per-type spares).

The generator is made for shapes that almost dominate each other: one instance type in up to
three regions with on-demand and spot rows whose prices move independently (the case of
8415622: on-demand equal in both regions, spot cheaper in one), large nodes next to small ones,
and faster accelerators at nearby prices."""

from __future__ import annotations

import time
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from solve_helpers import LAT, row, spec

from scaleplan.solve.candidates import Candidate
from scaleplan.solve.diagnose import serving_candidates
from scaleplan.solve.milp import QuotaScope, WindowProblem, solve_window
from scaleplan.solve.oppoints import OpPoint
from scaleplan.solve.problem import Problem, SolveOptions
from scaleplan.solve.prune import PruneRules, prune, prune_rules
from scaleplan.solve.search import search_windows, shape_groups

CLASSES = ("a", "b")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


def _op(cap: float) -> OpPoint:
    return OpPoint(
        batch_size=1,
        latency=LAT,
        throughput_rps=cap,
        max_utilization=1.0,
        capacity_rps=cap,
        source="measured",
        service_ms=10.0,
        request_class=None,
        estimated=False,
        latency_at_slo=10.0,
    )


def _cand(
    itype: str,
    acc: str,
    region: str,
    price: float,
    caps: tuple[float, ...],
    rpn: int,
    spot: bool,
    zones: int,
) -> Candidate:
    r = row(itype, acc, rpn, price, region=region, family=itype.split(".")[0])
    pts = tuple((c, _op(cap)) for c, cap in zip(CLASSES, caps, strict=False) if cap > 0)
    return Candidate(
        row=r,
        capacity_type="spot" if spot else "on-demand",
        price=price,
        accelerator=acc,
        gpus_per_replica=1,
        threads=0,
        replicas_per_node=rpn,
        cpu_per_replica=1.0,
        memory_gib_per_replica=1.0,
        points=pts,
        zones=zones,
    )


@st.composite
def problems(draw: st.DrawFn) -> tuple[WindowProblem, bool]:
    """A gateway-api window problem (backend groups) over 1-3 accelerators, each in 1-3
    regions with an on-demand row, often a spot row, sometimes a large node; and whether
    spot is capped as delivered (what prune.spot_capped says of such a spec)."""
    ncls = draw(st.sampled_from([1, 1, 2]))
    cands: list[Candidate] = []
    for i in range(draw(st.integers(1, 3))):
        acc = f"ACC{i}"
        caps = tuple(float(draw(st.integers(4, 30))) for _ in range(ncls))
        od = draw(st.integers(50, 300)) / 100
        zones = draw(st.integers(1, 3))
        regions = draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True))
        spot = draw(st.booleans())
        big = draw(st.one_of(st.none(), st.tuples(st.sampled_from([2, 4]), st.integers(80, 110))))
        for reg in regions:
            p_od = round(od * draw(st.sampled_from([1.0, 1.0, 0.9, 1.1])), 4)
            cands.append(_cand(f"t{i}.x", acc, reg, p_od, caps, 1, False, zones))
            p_spot = round(p_od * draw(st.sampled_from([0.3, 0.4, 0.45, 0.5])), 4)
            if spot:
                cands.append(_cand(f"t{i}.x", acc, reg, p_spot, caps, 1, True, zones))
            if big is not None:
                mult, pct = big
                cands.append(
                    _cand(
                        f"t{i}.{mult}x",
                        acc,
                        reg,
                        round(p_od * mult * pct / 100, 4),
                        caps,
                        mult,
                        False,
                        zones,
                    )
                )
                if spot and draw(st.booleans()):
                    price = round(p_spot * mult * pct / 100, 4)
                    cands.append(_cand(f"t{i}.{mult}x", acc, reg, price, caps, mult, True, zones))
    cands.sort(key=lambda c: c.sort_key)
    has_spot = any(c.capacity_type == "spot" for c in cands)
    spot_f = draw(st.sampled_from([0.5, 0.5, 1.0])) if has_spot else None
    survive = spot_f is not None and draw(st.booleans())
    capped = spot_f is not None and spot_f < 1
    rps = float(draw(st.integers(2, 60)))
    shares = (1.0,) if ncls == 1 else (0.6, 0.4)
    quota = draw(st.one_of(st.none(), st.none(), st.integers(2, 12)))
    east = tuple(i for i, c in enumerate(cands) if c.row.region == "us-east-1")
    base = WindowProblem(
        candidates=cands,
        classes=CLASSES[:ncls],
        demand=tuple(round(rps * s, 9) for s in shares),
        headroom=draw(st.sampled_from([0.0, 0.2])),
        redundancy=draw(st.sampled_from(["none", "n+1", "n+1", "zone", "zone"])),
        spot_max_fraction=spot_f,
        quotas=() if quota is None else (QuotaScope("aws/us-east-1/*", quota, east),),
        min_replicas=draw(st.integers(0, 3)),
        survive_spot_loss=survive,
        backend_groups=shape_groups(cands),
        spot_by_capacity=capped and draw(st.booleans()),
    )
    return base, capped


def _pruned(base: WindowProblem, capped: bool) -> WindowProblem:
    """``base`` over the candidates prune keeps under the rules of a gateway-api spec with
    n+1 / zone / survive_loss (pruning stays within shapes when none of them holds)."""
    quota_of = {
        c.row.key: ((0,) if base.quotas and c.row.region == "us-east-1" else ())
        for c in base.candidates
    }
    per_group = base.survive_spot_loss or base.redundancy in ("n+1", "zone")
    rules = PruneRules(quota_of=quota_of, shape_scoped=per_group, spot_capped=capped)
    kept = prune(list(base.candidates), rules)
    quotas = tuple(
        replace(q, members=tuple(i for i, c in enumerate(kept) if c.row.region == "us-east-1"))
        for q in base.quotas
    )
    return replace(base, candidates=kept, quotas=quotas, backend_groups=shape_groups(kept))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(problems())
def test_pruning_whole_shapes_keeps_the_optimum(inst: tuple[WindowProblem, bool]) -> None:
    base, capped = inst
    small = _pruned(base, capped)
    assert len(small.candidates) <= len(base.candidates)
    full = solve_window(base, tie_break=False)
    got = solve_window(small, tie_break=False)
    assert full.status == got.status, (full, got)
    if full.status == "optimal":
        assert abs(full.cost - got.cost) < 1e-6, (
            [c.label for c in small.candidates],
            [c.label for c in base.candidates],
            full.nodes,
            got.nodes,
        )


def _two_regions(spot_west: float) -> list[Candidate]:
    """One type in two regions at one on-demand price, spot at 0.40 in us-east-1 and
    ``spot_west`` in us-west-2 (tests/test_solve_region_monotone.py's toy, as candidates)."""
    return [
        _cand("g6.xlarge", "L4", "us-east-1", 1.0, (10.0,), 1, False, 3),
        _cand("g6.xlarge", "L4", "us-east-1", 0.40, (10.0,), 1, True, 3),
        _cand("g6.xlarge", "L4", "us-west-2", 1.0, (10.0,), 1, False, 3),
        _cand("g6.xlarge", "L4", "us-west-2", spot_west, (10.0,), 1, True, 3),
    ]


def test_a_region_whose_rows_are_all_matched_goes_whole() -> None:
    rules = PruneRules(shape_scoped=True)
    # on-demand equal, spot cheaper in us-west-2: us-east-1's shape goes, both of its rows
    kept = prune(_two_regions(0.38), rules)
    assert [(c.row.region, c.capacity_type) for c in kept] == [
        ("us-west-2", "on-demand"),
        ("us-west-2", "spot"),
    ]
    # the pre-8415622 merge (on-demand of one region, spot of the other) never comes back
    assert len({c.row.region for c in kept}) == 1


def test_regions_that_each_win_a_row_both_stay() -> None:
    cands = _two_regions(0.38)
    cands[2] = replace(cands[2], price=1.05)  # on-demand dearer in us-west-2, spot cheaper
    kept = prune(cands, PruneRules(shape_scoped=True))
    assert len(kept) == 4


def test_a_faster_cheaper_accelerator_takes_a_whole_shape() -> None:
    slow = [
        _cand("g5.xlarge", "A10G", "us-east-1", 1.0, (8.0,), 1, False, 3),
        _cand("g5.xlarge", "A10G", "us-east-1", 0.4, (8.0,), 1, True, 3),
    ]
    fast = [
        _cand("g6.xlarge", "L4", "us-east-1", 0.9, (10.0,), 1, False, 3),
        _cand("g6.xlarge", "L4", "us-east-1", 0.35, (10.0,), 1, True, 3),
    ]
    assert prune(slow + fast, PruneRules(shape_scoped=True)) == fast
    # spot capped as delivered: a faster spot row would raise the spot capacity, so the
    # slow spot row may only go to an on-demand row, which is dearer here: both shapes stay
    both = prune(slow + fast, PruneRules(shape_scoped=True, spot_capped=True))
    assert len(both) == 4


def _capped(cands: list[Candidate], rps: float = 25.0) -> WindowProblem:
    return WindowProblem(
        candidates=cands,
        classes=("a",),
        demand=(rps,),
        headroom=0.0,
        redundancy="none",
        spot_max_fraction=0.4,
        backend_groups=shape_groups(cands),
        spot_by_capacity=True,
    )


def test_spot_capped_as_delivered_keeps_a_slower_spot_row() -> None:
    """spot capacity <= 0.4 x capacity is not monotone in spot replicas: 2 on-demand L4 and
    1 spot L4 (10 of 30 rps on spot) hold it, 1 on-demand H100 + 1 spot H100 (20 of 40) do
    not, so the slower spot row must stay although a faster one is cheaper; within a shape a
    larger spot node likewise. Without spot_capped both prunes lose the optimum."""
    slow = [
        _cand("g6.xlarge", "L4", "us-east-1", 1.0, (10.0,), 1, False, 3),
        _cand("g6.xlarge", "L4", "us-east-1", 0.4, (10.0,), 1, True, 3),
    ]
    fast = [
        _cand("p5.xlarge", "H100", "us-east-1", 1.0, (20.0,), 1, False, 3),
        _cand("p5.xlarge", "H100", "us-east-1", 0.39, (20.0,), 1, True, 3),
    ]
    big = [*slow, _cand("g6.2xlarge", "L4", "us-east-1", 0.39, (10.0,), 2, True, 3)]
    for cands in (slow + fast, big):
        cands.sort(key=lambda c: c.sort_key)
        base = _capped(cands)
        full = solve_window(base, tie_break=False)
        assert full.status == "optimal"
        for capped in (True, False):
            kept = prune(list(cands), PruneRules(shape_scoped=True, spot_capped=capped))
            got = solve_window(
                replace(base, candidates=kept, backend_groups=shape_groups(kept)), tie_break=False
            )
            assert (abs(got.cost - full.cost) < 1e-6) is capped, (capped, got.cost, full.cost)


def _class_a_only(a10g_spot: float) -> list[Candidate]:
    """An A10G shape that serves class a only (spot at ``a10g_spot``) beside an L4 and a T4
    shape that serve a and b at the A10G's class-a capacity, the L4 the cheapest."""
    cands = [
        _cand("g5.xlarge", "A10G", "us-east-1", 1.0, (10.0, 0.0), 1, False, 3),
        _cand("g5.xlarge", "A10G", "us-east-1", a10g_spot, (10.0, 0.0), 1, True, 3),
        _cand("g6.xlarge", "L4", "us-east-1", 0.9, (10.0, 10.0), 1, False, 3),
        _cand("g6.xlarge", "L4", "us-east-1", 0.29, (10.0, 10.0), 1, True, 3),
        _cand("g4dn.xlarge", "T4", "us-east-1", 0.95, (10.0, 10.0), 1, False, 3),
        _cand("g4dn.xlarge", "T4", "us-east-1", 0.295, (10.0, 10.0), 1, True, 3),
    ]
    return sorted(cands, key=lambda c: c.sort_key)


def test_spot_capped_keeps_a_spot_row_of_fewer_classes() -> None:
    """With two classes the delivered spot cap weighs a pod by its capacity for the class mix
    (``route_caps``), 0 for a type that misses a class: a spot A10G serving class a only adds
    no spot capacity there, a spot L4 of the same class-a capacity that also serves b does.
    So an L4 shape serving both classes must not take the A10G shape's spot row (kubernetes.
    class_header over one window: 2 spot A10G + 2 on-demand L4 at $2.40/h; without the A10G
    shape the cap allows no spot pod and the plan is 3 on-demand L4, $2.70/h)."""
    cands = _class_a_only(0.3)
    base = WindowProblem(
        candidates=cands,
        classes=CLASSES,
        demand=(10.0, 0.1),
        headroom=0.0,
        redundancy="n+1",
        spot_max_fraction=0.4,
        backend_groups=shape_groups(cands),
        spot_by_capacity=True,
    )
    full = solve_window(base, tie_break=False)
    kept = prune(list(cands), PruneRules(shape_scoped=True, spot_capped=True))
    got = solve_window(
        replace(base, candidates=kept, backend_groups=shape_groups(kept)), tie_break=False
    )
    assert full.status == got.status == "optimal"
    assert abs(full.cost - 2.4) < 1e-6
    assert abs(got.cost - full.cost) < 1e-6, [c.label for c in kept]


def test_the_second_shape_kept_for_the_spot_cap_serves_every_class() -> None:
    """Spot capped over a curve, gateway-api without a class header: the search keeps the
    candidates that serve every class (``serving_candidates``) after pruning, and one serving
    shape left turns the delivered spot cap on (``search_windows``' spot_by_capacity). Two
    shapes that serve every class must stay: an A10G shape of class a only, dominated by the
    L4 one and next in rank (or kept for its spot row), left the L4 shape alone ($2.25/h
    against $2.09/h with the T4)."""
    cands = _class_a_only(0.291)
    curve = [15.0, 10.0] * 12
    sp = spec(
        traffic={
            "peak_rps": None, "hourly_rps": curve, "headroom": 0.0,
            "classes": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}],
        },
        placement={
            "providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0,
            "redundancy": "n+1", "spot": {"allowed": True, "max_fraction": 0.4},
        },
        kubernetes={
            "image": "example.com/svc:1.0", "routing": "gateway-api", "gateway": {"name": "gw"},
        },
    )
    pb = Problem.of(sp, SolveOptions(alternatives=False))

    def searched(cs: list[Candidate]) -> float:
        serving = serving_candidates(pb, cs, curve)
        o = search_windows(pb, serving, curve, deadline=time.perf_counter() + 60)
        assert o.status == "optimal"
        return o.cost

    full = searched(cands)
    assert abs(full - 2.09) < 1e-6
    assert abs(searched(prune(list(cands), prune_rules(sp, cands))) - full) < 1e-6


def test_pruning_without_group_losses_keeps_two_shapes_under_a_spot_cap() -> None:
    """gateway-api over a curve without n+1, zone or survive_loss prunes candidate by
    candidate across shapes; where that leaves one serving shape the search caps spot as
    delivered (spot_by_capacity), a row the full list does not have: L4 on-demand and spot
    dominating the T4 rows left the L4 alone, $1.35/h against $1.045/h searched."""
    cands = sorted(
        [
            _cand("g6.xlarge", "L4", "us-east-1", 0.9, (10.0,), 1, False, 3),
            _cand("g6.xlarge", "L4", "us-east-1", 0.29, (10.0,), 1, True, 3),
            _cand("g4dn.xlarge", "T4", "us-east-1", 0.95, (10.0,), 1, False, 3),
            _cand("g4dn.xlarge", "T4", "us-east-1", 0.295, (10.0,), 1, True, 3),
        ],
        key=lambda c: c.sort_key,
    )
    curve = [15.0, 10.0] * 12
    sp = spec(
        traffic={
            "peak_rps": None, "hourly_rps": curve, "headroom": 0.0,
            "classes": [{"name": "a", "share": 1.0}],
        },
        placement={
            "providers": ["aws"], "regions": ["us-east-1"], "min_replicas": 0,
            "spot": {"allowed": True, "max_fraction": 0.4},
        },
        kubernetes={
            "image": "example.com/svc:1.0", "routing": "gateway-api", "gateway": {"name": "gw"},
        },
    )
    pb = Problem.of(sp, SolveOptions(alternatives=False))
    kept = prune(list(cands), prune_rules(sp, cands))
    end = time.perf_counter() + 60
    costs = [search_windows(pb, cs, curve, deadline=end) for cs in (cands, kept)]
    assert [o.status for o in costs] == ["optimal", "optimal"]
    assert abs(costs[0].cost - 1.045) < 1e-6
    assert abs(costs[1].cost - costs[0].cost) < 1e-6, [c.label for c in kept]
