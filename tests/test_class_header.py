"""kubernetes.class_header: every request names its class in a header and the HTTPRoute has a
rule per class, so gateway-api plans route each class on its own (Problem.class_routed).

The two-class toy of test_solve_mixed_stream (L4: 100 rps short / 10 long; A10G: 20 / 60):
class-blind, every backend takes the mix (3 A10G, $3.02/h); with the header the per-class plan
(1 L4 + 1 A10G, $1.81/h) is what the route delivers, class by class, at its integer weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from solve_helpers import (
    GATEWAY,
    PEAK_20,
    catalog,
    profiled_spec,
    row,
    two_class_llm_chat,
    two_class_profile,
    two_class_spec,
    two_class_toy,
)

from scaleplan.check.schema_cache import validate_object
from scaleplan.inputs import shipped_accelerators
from scaleplan.kube.backends import backend_class_weights, backends
from scaleplan.plan import Plan
from scaleplan.plan_outputs import write_manifests
from scaleplan.render import render
from scaleplan.simulate import simulate
from scaleplan.solve import SolveOptions, solve
from scaleplan.solve.candidates import build_candidates
from scaleplan.yamlio import parse_yaml_documents

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

FAST = SolveOptions(alternatives=False)
GW = GATEWAY
HDR = "X-Request-Class"


def _two_class(header: str | None = HDR) -> tuple[Any, Any, Any]:
    return two_class_toy(header)


def _delivered_per_class(plan: Plan, cands: Any) -> dict[str, float]:
    """Per backend: its pods' load as the class rules deliver it, at their integer weights:
    sum over classes of weight_c / 100 x D_c x (1 + headroom) / (pods x cap_c)."""
    weights = backend_class_weights(plan)
    by = {a.name: a for a in plan.allocations}
    (d,) = plan.demand.rps
    out: dict[str, float] = {}
    for b in backends(plan):
        ms = [by[m] for m in b.members]
        c = next(
            c
            for c in cands
            if (c.row.instance_type, c.capacity_type) == (ms[0].instance_type, ms[0].capacity_type)
        )
        pods = sum(a.replicas for a in ms)
        load = 0.0
        for cls, share in plan.demand.classes.items():
            w = weights[cls].get(b.service, 0) / sum(weights[cls].values())
            if w:
                load += w * d * share * (1 + plan.demand.headroom) / (pods * c.cap(cls))
        out[b.service] = load
    return out


def test_per_class_plan_is_cheaper_than_the_mix_and_delivered_per_class() -> None:
    sp, prof, cat = _two_class()
    cands, _ = build_candidates(sp, prof, cat)
    routed = solve(sp, prof, cat, options=FAST).plan
    blind = solve(_two_class(None)[0], prof, cat, options=FAST).plan
    assert blind.cost_per_hour == pytest.approx(3.018)
    assert {a.instance_type: a.replicas for a in routed.allocations} == {
        "g6.xlarge": 1,
        "g5.xlarge": 1,
    }
    assert (
        routed.cost_per_hour == pytest.approx(1.8108)
        and routed.cost_per_hour < blind.cost_per_hour - 1
    )
    assert routed.status == "optimal"
    load = _delivered_per_class(routed, cands)
    assert max(load.values()) <= 1 + 1e-9, load
    # capacity_rps_per_replica (the autoscaler's per-pod rate, the header-less rule's basis) is
    # the capacity at the class mix each allocation is routed: the same load as delivered
    (d,) = routed.demand.rps
    for b, a in zip(backends(routed), routed.allocations, strict=True):
        routed_rps = d * sum(a.routing.get(c, 0.0) * s for c, s in routed.demand.classes.items())
        util = routed_rps * 1.2 / (a.replicas * a.capacity_rps_per_replica)
        assert util == pytest.approx(load[b.service], rel=1e-3)
    # the same plan through a class-blind route: the L4 takes its capacity share of long requests
    line = next(x for x in routed.explanation if x.startswith("Routing: gateway-api"))
    assert f"in the {HDR} header" in line


def test_rendered_route_validates_and_carries_the_class_weights() -> None:
    sp, prof, cat = _two_class()
    plan = solve(sp, prof, cat, options=FAST).plan
    files = render(plan, cat)
    (text,) = [t for name, t in files.items() if name.startswith("httproute-")]
    (route,) = [d.data for d in parse_yaml_documents(text, "route")]
    assert validate_object(route, "1.37") == []
    rules = route["spec"]["rules"]
    assert len(rules) == 3 and sum(len(r["matches"]) for r in rules) <= 128
    want = backend_class_weights(plan)
    for rule, cls in zip(rules[:2], ("short", "long"), strict=True):
        (m,) = rule["matches"]
        assert m["headers"] == [{"type": "Exact", "name": HDR, "value": cls}]
        assert {b["name"]: b["weight"] for b in rule["backendRefs"]} == want[cls]
        assert sum(want[cls].values()) == 10_000  # the plan's 4-decimal routing, exactly
    assert "headers" not in rules[2]["matches"][0]  # the header-less fallback, by capacity
    assert want["short"] != want["long"]


def test_check_catches_a_hand_edited_class_weight(tmp_path: Path) -> None:
    from scaleplan.check import RULES, check_paths

    sp, prof, cat = _two_class()
    plan = solve(sp, prof, cat, options=FAST).plan
    out = tmp_path / "out"
    write_manifests(out, render(plan, cat))
    rules = [r.id for r in RULES]

    def findings() -> Any:
        return check_paths(
            [out], plan=plan, kube_version="1.37", enabled_rules=rules, catalog=cat
        ).findings

    assert findings() == ()
    route_file = next(out.glob("httproute-*.yaml"))
    doc = yaml.safe_load(route_file.read_text(encoding="utf-8"))
    refs = doc["spec"]["rules"][1]["backendRefs"]  # class "long"
    refs[0]["weight"], refs[1]["weight"] = refs[1]["weight"], refs[0]["weight"]
    route_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    found = findings()
    assert [(f.rule, f.kind) for f in found] == [("drift", "HTTPRoute")] * 2  # both swapped
    assert all(f"rules[{HDR}=long].backendRefs[" in f.message for f in found)
    del doc["spec"]["rules"][1]  # the class's rule gone: its requests would take the fallback
    route_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    found = findings()
    assert found and all("is (unset), the plan renders" in f.message for f in found)


def test_simulate_routes_each_class_by_its_rule(tmp_path: Path) -> None:
    sp, prof, cat = _two_class()
    plan = solve(sp, prof, cat, options=FAST).plan
    res = simulate(plan, accelerators=ACCS)
    assert res.policy == "static-weights"
    assert res.meets_slo, res.attainment
    # the same plan replayed through a class-blind route overloads the L4 with long requests
    blind = plan.model_copy(update={"spec": _two_class(None)[0]})
    assert not simulate(blind, accelerators=ACCS).meets_slo


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("X Request Class", "must be an HTTP header name"),
        ("X-Request-Class:", "must be an HTTP header name"),
    ],
)
def test_bad_class_header_is_exit_3(cli: Any, tmp_path: Path, header: str, words: str) -> None:
    sp = _two_class()[0]
    data = sp.model_dump(mode="json", exclude_none=True)
    data["kubernetes"]["class_header"] = header
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = cli(["validate", str(path)], exit_code=3)
    assert words in res.stdout + res.stderr, res.stdout + res.stderr
    assert "class_header" in res.stdout + res.stderr


def test_llm_per_class_plan_simulated_by_class_rules(cli: Any, tmp_path: Path) -> None:
    """test_solve_mixed_stream's llm-chat variant (70 % 128/64 tokens, 30 % 6000/1024, 20 rps
    on L4, L40S, H100; 12 rps until a decode step carried whole prompts, docs/llm.md: at 12
    the per-class plan is the H100s alone) with the class header: the per-class plan (the L4
    for short requests only) is the plan, cheaper than the mix plan ($46.86/h since the
    2026-12-07 table refit raised H100 x vLLM's step overhead; $45.00/h before), and the LLM
    simulator, routing each
    request by its class's rule, holds it (class-blind, the same plan failed: the L4 got long
    requests)."""
    from scaleplan.plan import read_plan
    from scaleplan.simulate.llm import simulate_llm

    header = ("  routing: gateway-api\n", f"  routing: gateway-api\n  class_header: {HDR}\n")
    spec_path = profiled_spec(cli, tmp_path, two_class_llm_chat(header, PEAK_20))
    res = cli(["optimize", str(spec_path), "--no-alternatives", "--out", str(tmp_path / "p")])
    assert "weight is 0" not in res.stdout + res.stderr  # the L4 is reached by its class's rule
    plan = read_plan(tmp_path / "p" / "plan.yaml")
    assert plan.status == "optimal" and plan.cost_per_hour < 46.863 - 0.5
    l4 = [a for a in plan.allocations if a.accelerator == "L4"]
    assert l4 and all(a.routing.get("long", 0.0) == 0.0 for a in l4)
    route = (tmp_path / "p" / "manifests").glob("httproute-*.yaml")
    assert "value: long" in next(route).read_text(encoding="utf-8")
    sim = simulate_llm(plan, accelerators=ACCS)
    assert sim.ok, sim.attainment
    assert any(f"HTTPRoute rule {HDR}: long" in n for n in sim.notes)


def test_spot_loss_share_reads_the_class_rules() -> None:
    """A spot L4 for the short class (and 4.24 % of the long one): a spot loss fails what its
    class rules send, 0.5 x 1 + 0.5 x 0.0424 = 52 % of the requests, not its capacity weight
    in the header-less rule (about 85 %)."""
    from scaleplan.kube.backends import backend_weights, spot_loss_share

    sp, prof, _ = _two_class()
    pl = sp.placement.model_copy(
        update={"spot": sp.placement.spot.model_copy(update={"allowed": True, "max_fraction": 1.0})}
    )
    sp = sp.model_copy(update={"placement": pl})
    cat = catalog(row("g6.xlarge", "L4", 1, 0.8048, spot=0.3), row("g5.xlarge", "A10G", 1, 1.006))
    plan = solve(sp, prof, cat, options=FAST).plan
    spot = [a for a in plan.allocations if a.capacity_type == "spot"]
    assert [a.instance_type for a in spot] == ["g6.xlarge"]
    assert spot[0].routing == {"short": 1.0, "long": pytest.approx(0.0424)}
    assert spot_loss_share(plan) == pytest.approx(0.5 + 0.5 * 0.0424, abs=1e-4)
    # the header-less rule weighs by replicas x capacity at each one's routed class mix: the
    # planned load (52/48), not the L4's capacity for the whole mix
    w = backend_weights(plan)
    assert sorted(w.values()) == [48, 52]
    note = next(x for x in plan.warnings if "spot allocations" in x)
    assert "(52% of requests)" in note


def test_render_refuses_more_rules_than_a_route_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    from scaleplan.errors import PlanError
    from scaleplan.render import gateway

    sp, prof, cat = _two_class()
    plan = solve(sp, prof, cat, options=FAST).plan
    svcs = [b.service for b in backends(plan)]
    many = {f"c{i}": {svcs[0]: 10_000 - i, svcs[1]: i} for i in range(16)}
    monkeypatch.setattr(gateway, "backend_class_weights", lambda p: many)
    with pytest.raises(PlanError) as err:
        gateway.class_rules(plan, svcs, "plan")
    assert "16 distinct sets of backend weights" in str(err.value.problems[0].message)


def test_spot_max_fraction_reads_the_class_rules() -> None:
    """spot.max_fraction at the route's integer weights (spot_rounding.hold_rounded_spot) with a
    rule per class: the share of requests on spot pods is what the class rules send them
    (kube.backends.class_rule_spot_share), not the header-less rule's capacity weights. Short
    (70 %) on L4s, long (30 %) mostly on A10Gs, n+1, 300 rps, max_fraction 0.3: the MILP's plan
    (3 on-demand + 2 spot L4, 3 A10G, $5.83/h) sends 21.8 % of the requests to spot; measured by
    the L4's short-class capacity weight it read 36.0 %, and the repair bought an all-on-demand
    plan ($6.24/h, 'feasible')."""
    from scaleplan.kube.backends import backends, request_shares

    sp = two_class_spec(
        HDR, peak_rps=300, shares=(0.7, 0.3), redundancy="n+1",
        spot={"allowed": True, "max_fraction": 0.3},
    )
    cat = catalog(
        row("g6.xlarge", "L4", 1, 0.8048, spot=0.2), row("g5.xlarge", "A10G", 1, 1.006, spot=0.9)
    )
    plan = solve(sp, two_class_profile(), cat, options=FAST).plan
    by, shares = {a.name: a for a in plan.allocations}, request_shares(plan)
    delivered = 0.0
    for b in backends(plan):
        ms = [by[m] for m in b.members]
        spot = sum(a.replicas for a in ms if a.capacity_type == "spot")
        delivered += shares[b.service] * spot / sum(a.replicas for a in ms)
    assert 0.0 < delivered <= 0.3 + 1e-9
    assert plan.status == "optimal"
    assert plan.cost_per_hour == pytest.approx(5.8324, abs=1e-4)
    assert not any("integer weights put" in w for w in plan.warnings)


def test_plan_routing_a_class_nowhere_is_exit_3(cli: Any, tmp_path: Path) -> None:
    """A hand-edited plan whose allocations route one class nowhere would render that class's
    HTTPRoute rule with zero weights only (a Gateway answers it with HTTP 500): render, check
    --plan and simulate refuse the plan (exit 3) naming the class, and write nothing."""
    from scaleplan.plan import dump_plan

    sp, prof, cat = _two_class()
    plan = solve(sp, prof, cat, options=FAST).plan
    data = yaml.safe_load(dump_plan(plan))
    for a in data["allocations"]:
        a["routing"].pop("long", None)
    bad = tmp_path / "plan.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "m").mkdir()
    for args in (
        ["render", str(bad), "--out", str(tmp_path / "out")],
        ["simulate", str(bad)],
        ["check", str(tmp_path / "m"), "--plan", str(bad)],
    ):
        res = cli(args, exit_code=3)
        err = " ".join((res.stdout + res.stderr).split())
        assert "request class 'long'" in err and "routed to no allocation" in err, err
        assert "allocations" in err and "optimize the spec again, which" in err, err
    assert not (tmp_path / "out").exists()
    data["allocations"][0]["routing"]["long"] = 1.0  # routed again: the plan reads
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert Plan.model_validate(data).allocations
