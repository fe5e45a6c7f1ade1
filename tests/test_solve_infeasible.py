"""Every infeasibility reason, with the explanation in the spec's terms and the smallest fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from solve_helpers import catalog, point, profile, row, spec

from scaleplan.errors import InfeasibleError
from scaleplan.solve import SolveOptions, solve

FAST = SolveOptions(alternatives=False, max_utilization=1.0)
CAT = catalog(row("g6.xlarge", "L4", 1, 0.8), row("g6.12xlarge", "L4", 4, 4.6), row("g5.xlarge", "A10G", 1, 1.0))


def reasons(sp: object, prof: object, cat: object = CAT) -> InfeasibleError:
    with pytest.raises(InfeasibleError) as ei:
        solve(sp, prof, cat, options=FAST)  # type: ignore[arg-type]
    return ei.value


def test_slo_unreachable_names_the_best_point() -> None:
    prof = profile(point("L4", 1, 34, 30), point("L4", 8, 60, 100), point("A10G", 4, 41, 50))
    err = reasons(spec(slo={"latency_ms": 20}), prof)
    assert err.reasons[0].code == "slo-unreachable"
    assert "no accelerator meets p95 <= 20 ms: the best is L4 at 34 ms at batch 1" in str(err)
    assert "relax slo.latency_ms to at least 34 ms" in err.hint


def test_slo_unreachable_names_the_allowed_accelerators_the_profile_never_measured() -> None:
    """UX review 19: a CPU-measured profile, L4 allowed, an SLO only a GPU meets: the hint said
    "profile a faster accelerator" without saying that the allowed L4 was never tried (no
    point) and how to add it."""
    cat = catalog(row("c7i.xlarge", None, 0, 0.18, family="c7i", vcpus=4), *CAT.rows)
    prof = profile(point("CPU", 1, 67, 20, device="cpu"))
    sp = spec(slo={"latency_ms": 60}, placement={"accelerators": ["cpu", "L4"]})
    err = reasons(sp, prof, cat)
    assert "the best is CPU at 67 ms" in str(err)
    assert (
        "profile a faster accelerator (L4: allowed, but the profile has no point on it, so never "
        "tried; `scaleplan profile estimate profile.yaml --accelerators L4` estimates from the "
        "measured points)"
    ) in err.hint
    measured = profile(point("L4", 1, 34, 30))  # every listed GPU measured: the hint as before
    only_l4 = spec(slo={"latency_ms": 20}, placement={"accelerators": ["L4"]})
    assert "allowed, but" not in reasons(only_l4, measured).hint
    # no allow list: every GPU of the catalogs is allowed, and none is listed
    assert "allowed, but" not in reasons(spec(slo={"latency_ms": 20}), measured).hint


def test_slo_unreachable_ttft() -> None:
    t = {"p50": 900, "p90": 900, "p95": 900, "p99": 900}
    prof = profile(point("L4", 1, 100, 3, ttft_ms=t))
    err = reasons(spec(slo={"latency_ms": 1000, "ttft_ms": 500}), prof)
    assert "p95 TTFT <= 500 ms: the best is L4 at 900 ms at batch 1" in str(err)


def test_one_class_unservable() -> None:
    prof = profile(point("L4", 1, 30, 30, request_class="short"), point("L4", 1, 90, 3, request_class="long"))
    sp = spec(traffic={"peak_rps": 10, "classes": [{"name": "short", "share": 0.5}, {"name": "long", "share": 0.5}]})
    err = reasons(sp, prof)
    assert "for class long" in str(err) and "the best is L4 at 90 ms" in str(err)


def test_classes_unservable_hint_names_the_value_every_class_needs() -> None:
    """One SLO serves every class: the fix is the largest class's best value, once (it said
    "at least 40 ms; ... at least 90 ms", and 40 ms fixes nothing)."""
    prof = profile(point("L4", 1, 40, 30, request_class="short"),
                   point("L4", 1, 90, 3, request_class="long"))
    classes = [{"name": "short", "share": 0.5}, {"name": "long", "share": 0.5}]
    err = reasons(spec(slo={"latency_ms": 20}, traffic={"peak_rps": 10, "classes": classes}), prof)
    assert "for class short" in str(err) and "for class long" in str(err)
    assert err.hint.count("relax slo.latency_ms") == 1, err.hint
    assert "relax slo.latency_ms to at least 90 ms" in err.hint, err.hint


def test_quota_reason_with_numbers() -> None:
    sp = spec(traffic={"peak_rps": 1200}, placement={"accelerators": ["L4"], "quotas": [{"provider": "aws", "region": "us-east-1", "family": "g6", "max_gpus": 32}]})
    err = reasons(sp, profile(point("L4", 4, 40, 30)))
    assert err.reasons[0].code == "quota"
    assert "quota aws/us-east-1/g6 is 32 GPUs, the cheapest plan needs 40" in str(err)
    assert "raise the quota aws/us-east-1/g6 to 40 GPUs" in err.hint
    assert err.reasons[0].where == "placement.quotas.0.max_gpus"  # optimize names its line


def test_budget_reason() -> None:
    err = reasons(spec(placement={"budget_per_hour": 2.0}), profile(point("L4", 4, 40, 30)))
    assert err.reasons[0].code == "budget"
    assert "placement.budget_per_hour is $2.00/h, the cheapest plan costs $3.20/h" in str(err)
    assert "raise placement.budget_per_hour to at least 3.20 ($3.20/h)" in err.hint
    assert err.reasons[0].where == "placement.budget_per_hour"


def test_memory_reason() -> None:
    sp = spec(model={"profile": "p", "memory_gib": 200}, placement={"max_gpus_per_replica": 2})
    err = reasons(sp, profile(point("L4", 1, 40, 30), point("A10G", 1, 40, 30)))
    assert err.reasons[0].code == "memory"
    assert "the model needs 200 GiB per replica; the largest allowed is" in str(err)
    assert "max_gpus_per_replica" in err.hint


def test_no_catalog_rows_after_placement() -> None:
    err = reasons(spec(placement={"regions": ["mars-1"]}), profile(point("L4", 1, 40, 30)))
    assert err.reasons[0].code == "no-candidates"
    assert "no catalog row matches placement" in str(err) and "mars-1" in str(err)


def test_profile_accelerators_not_allowed() -> None:
    err = reasons(spec(placement={"accelerators": ["A10G"]}), profile(point("L4", 1, 40, 30)))
    assert err.reasons[0].code == "no-candidates"
    assert "the profile has points for L4, but placement allows only instance types with A10G" in str(err)


def test_max_replicas_reason() -> None:
    err = reasons(spec(placement={"max_replicas": 2, "accelerators": ["L4"], "exclude": ["g6.12xlarge"]}), profile(point("L4", 4, 40, 30)))
    assert err.reasons[0].code == "max-replicas"
    assert "placement.max_replicas is 2, the cheapest plan needs 4 replicas" in str(err)
    assert err.reasons[0].where == "placement.max_replicas"


def test_unknown_accelerator_in_allow_list_is_a_spec_error() -> None:
    from scaleplan.errors import SpecError

    with pytest.raises(SpecError, match=r"placement.accelerators\[0\]: unknown accelerator 'Z9000'"):
        solve(spec(placement={"accelerators": ["Z9000"]}), profile(point("L4", 1, 40, 30)), CAT, options=FAST)


def test_cli_exit_4_with_reason(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "profile.yaml").write_text("apiVersion: scaleplan/v1\nkind: Profile\nmetadata: {model: m}\nmeasurements:\n- {device: cuda:0, accelerator: L4, batch_size: 1, latency_ms: {p50: 30, p90: 32, p95: 34, p99: 40}, throughput_rps: 30}\n")
    (tmp_path / "spec.yaml").write_text("apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: s}\nmodel: {profile: profile.yaml}\ntraffic: {peak_rps: 10}\nslo: {latency_ms: 20}\nplacement: {providers: [aws], regions: [us-east-1]}\nkubernetes: {image: 'example.com/s:1'}\n")
    res = cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out")], exit_code=4)
    assert "the best is L4 at 34 ms at batch 1" in res.stderr
    assert "hint: relax slo.latency_ms" in res.stderr
    assert not (tmp_path / "out" / "plan.yaml").exists()


def test_quota_need_on_zero_priced_nodes_is_the_fewest_nodes() -> None:
    """Owned nodes priced at zero (docs/catalog.md, "Owned nodes"): every plan costs $0, so the
    quota's need must come from the plan optimize would make (its tie-break: fewest nodes),
    not from any zero-cost plan the solver happens to return. UX review 14: a 40 rps 70B
    spec on 6 owned 8 x A100 nodes said "needs 960" GPUs where 192 serve it (the same rows
    at a chargeback price said 192)."""
    owned = catalog(row("a100-8x", "A100-80GB", 8, 0.0, family="a100"),
                    row("a100-4x", "A100-80GB", 4, 0.0, family="a100"))
    pl = {"accelerators": ["A100-80GB"],
          "quotas": [{"provider": "aws", "region": "us-east-1", "family": "a100",
                      "max_gpus": 16}]}
    err = reasons(spec(traffic={"peak_rps": 1000}, placement=pl),
                  profile(point("A100-80GB", 4, 40, 30)), owned)
    assert err.reasons[0].code == "quota"
    # 1000 rps / 30 rps per replica: 34 one-GPU replicas, in the fewest nodes: 4 of 8 GPUs
    # and 1 of 4, 36 GPUs (the least that holds them, too); without the tie-break it said 76
    assert "quota aws/us-east-1/a100 is 16 GPUs, the cheapest plan needs 36" in str(err), err


def test_quota_hint_names_other_providers_only_where_the_spec_limits_them() -> None:
    """UX review 14: on a fixed inventory (providers: [onprem]) renting elsewhere is the other
    way out, so the hint names placement.providers; on eks (aws only) there is no other."""
    quota = {"provider": "aws", "region": "us-east-1", "family": "g6", "max_gpus": 32}
    over = {"traffic": {"peak_rps": 1200},
            "placement": {"accelerators": ["L4"], "quotas": [quota]}}
    err = reasons(spec(**over), profile(point("L4", 4, 40, 30)))  # generic, providers: [aws]
    assert "or other providers (placement.providers)" in err.hint, err.hint
    eks = spec(**over, kubernetes={"image": "example.com/svc:1.0", "flavor": "eks"})
    err = reasons(eks, profile(point("L4", 4, 40, 30)))
    assert "raise the quota aws/us-east-1/g6 to 40 GPUs" in err.hint
    assert "providers" not in err.hint, err.hint


def test_an_alternative_every_fix_offers_is_said_once() -> None:
    """UX trial 39 F5: two classes short of their TTFT each repeated the flagged rows' 250
    characters in the exit-4 hint; an alternative all the fixes share follows them once (a
    ", or" inside its parentheses does not split it), each fix keeping its own first part."""
    from scaleplan.errors import InfeasibleReason

    flagged = ("plan on H100 (allowed, but every catalog row of it here is flagged, so never "
               "tried: give a catalog, or set placement.include_flagged: true)")
    faster = "allow faster accelerators (placement.accelerators)"
    fixes = [f"relax {f} to at least {v} ms, or {flagged}, or {faster}"
             for f, v in (("slo.ttft_ms", 1165), ("traffic.classes[1].slo.ttft_ms", 13059))]
    err = InfeasibleError([InfeasibleReason("slo-unreachable", "m", f) for f in fixes])
    assert err.hint == (
        "relax slo.ttft_ms to at least 1165 ms; relax traffic.classes[1].slo.ttft_ms to at "
        f"least 13059 ms; or, for all of these: {flagged}, or {faster}"
    ), err.hint
    assert [r["fix"] for r in err.to_json()["reasons"]] == fixes  # type: ignore[index]
    one = InfeasibleError([InfeasibleReason("a", "m", fixes[0]), InfeasibleReason("b", "n", "x")])
    assert one.hint == f"{fixes[0]}; x"  # nothing shared: each fix whole
