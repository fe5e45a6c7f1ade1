"""A one-cluster flavor plans the cheapest single region (``solve.core._one_region``): its
regions must not come from candidates pruned across every region. Region a runs the short
class on L4 and the long class on A10G (gateway-api with a class header), each at $1/h a
node; region b has a cheaper L4 ($0.9/h) but a dear A10G ($5/h), region c the other way
round. Pruned across regions, b's L4 and c's A10G drop both of a's, so a was never searched,
and b ($17.70/h: three nodes of each type) was chosen over a ($6/h)."""

from __future__ import annotations

from solve_helpers import GATEWAY, catalog, point, profile, row, spec

from scaleplan.solve import SolveOptions, solve

# d: a's types, the same but dearer: skipped (a's plan moved to d costs no less)
PRICES = {"a": (1.0, 1.0), "b": (0.9, 5.0), "c": (5.0, 0.9), "d": (1.0, 1.5)}


def _solve(**placement: object):  # type: ignore[no-untyped-def]
    rows = []
    for r, (l4, a10g) in PRICES.items():
        rows.append(row("g6.xlarge", "L4", 1, l4, region=r))
        rows.append(row("g5.xlarge", "A10G", 1, a10g, region=r))
    prof = profile(
        point("L4", 1, 30, 20, request_class="short"),
        point("A10G", 1, 30, 20, request_class="long"),
    )
    sp = spec(
        traffic={
            "peak_rps": 10,
            "classes": [{"name": "short", "share": 0.5}, {"name": "long", "share": 0.5}],
        },
        placement={"providers": ["aws"], "regions": [], "min_replicas": 0, **placement},
        kubernetes={**GATEWAY, "flavor": "eks", "class_header": "x-class"},
    )
    return solve(sp, prof, catalog(*rows), options=SolveOptions(alternatives=False))


def test_a_region_whose_types_are_each_cheaper_elsewhere_is_still_searched() -> None:
    res = _solve()
    choice = res.region_choice
    assert choice is not None
    assert choice.cost_per_hour == {"a": 6.0, "b": 17.7, "c": 17.7}
    assert choice.chosen == "a" and res.plan.cost_per_hour == 6.0
    assert {a.region for a in res.plan.allocations if a.replicas > 0} == {"a"}
    assert res.plan.explanation[0].startswith("one region: flavor eks renders for one cluster")
    assert "a is the cheapest that holds the SLO ($6.0000/h)" in res.plan.explanation[0]
    # as with the region named (placement.regions: [a])
    assert _solve(regions=["a"]).plan.cost_per_hour == 6.0
