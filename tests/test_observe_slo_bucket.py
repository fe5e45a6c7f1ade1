"""observe and optimize --observed of an LLM plan whose TPOT SLO lies inside one of vLLM's
histogram buckets (UX trial 34 F1).

vLLM's per-token buckets around a 40 ms TPOT SLO are 25 and 50 ms; ``histogram_quantile``
interpolates linearly inside a bucket, so a service whose p95 was 27 ms read 40.7 ms there and
observe said "above in 24 of 24 hours" of a service that held its SLO in every hour. An hour
read inside the bucket that holds the SLO is now neither above nor within: the report and the
risks say how many, and count as above only the hours read beyond that bucket.
"""

from __future__ import annotations

from pathlib import Path

from scaleplan.catalog.model import Catalog

LLM_CHAT = Path(__file__).parent.parent / "examples" / "llm-chat" / "plan.yaml"
HOUR0 = 1767229200.0


def _observed(tables: Catalog, tpot_s: list[float]):  # type: ignore[no-untyped-def]
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(LLM_CHAT)
    assert plan.spec.model.engine == "vllm" and plan.spec.slo.tpot_ms == 90  # inside 75-100 ms
    qs = build_queries(plan, tables)
    hours = [(HOUR0 + 3600 * h, 2.0) for h in range(24)]
    steps = [(HOUR0 - 3600 + 300 * k, 2.0) for k in range(288)]
    fetched = Fetched(
        {
            "demand_hourly": hours, "latency_hourly": [(t, 10.0) for t, _ in hours],
            "demand": steps, "replicas": [(t, 1.0) for t, _ in steps],
            "latency": [(t, 10.0) for t, _ in steps],
            "tpot": [(t, v) for (t, _), v in zip(hours, tpot_s, strict=True)],
        },
        HOUR0 - 3600, HOUR0 + 23 * 3600, 300.0, "http://x",
    )
    return analyze(plan, qs, fetched)


def test_hours_read_inside_the_slos_bucket_are_not_above(tables: Catalog) -> None:
    from scaleplan.observe.replan import risks
    from scaleplan.observe.report import observed_lines

    # 8 hours read 80 ms and 8 read 95 ms (both inside vLLM's 75-100 ms bucket, which holds the
    # 90 ms SLO), 8 read 120 ms (beyond it: above whatever the spread inside the bucket)
    obs = _observed(tables, [0.08] * 8 + [0.095] * 8 + [0.12] * 8)
    lines = observed_lines(obs, None)
    i = lines.index("TPOT p95 90 ms: above in 8 of 24 hours of the day")  # it said 16
    assert lines[i + 1] == "  (median across days), worst 120 ms"
    note = " ".join(x.strip() for x in lines[i + 2:i + 5])
    assert note.startswith(
        "TPOT p95: 16 of 24 hours of the day read inside the histogram's 75-100 ms bucket, "
        "which holds the SLO (90 ms): histogram_quantile interpolates linearly there, so "
        "whether they met it cannot be told"
    ), lines
    assert all(len(x) <= 80 for x in lines)
    said = risks(obs)
    assert (
        "TPOT p95 (median across days) was above the SLO (90 ms) in 8 of 24 hours of the day "
        "(worst 120 ms)"
    ) in said
    assert any(r.startswith("TPOT p95: 16 of 24 hours of the day read inside") for r in said), said


def test_hours_below_the_slos_bucket_are_within_and_say_nothing_more(tables: Catalog) -> None:
    from scaleplan.observe.replan import risks
    from scaleplan.observe.report import observed_lines

    obs = _observed(tables, [0.06] * 24)  # in the 50-75 ms bucket: below the SLO's
    lines = observed_lines(obs, None)
    i = lines.index("TPOT p95 90 ms: above in 0 of 24 hours of the day")
    assert not lines[i + 2].startswith("  TPOT p95:")
    assert not [r for r in risks(obs) if r.startswith("TPOT")]


def test_the_bucket_that_holds_an_slo() -> None:
    from scaleplan.observe.slo import slo_bracket as slo_bucket
    from scaleplan.plan import read_plan

    plan = read_plan(LLM_CHAT)
    assert slo_bucket(plan, "tpot", 90.0) == (75.0, 100.0)
    assert slo_bucket(plan, "tpot", 40.0) == (25.0, 50.0)
    assert slo_bucket(plan, "tpot", 5.0) == (0.0, 10.0)  # below the smallest bucket
    assert slo_bucket(plan, "tpot", 100.0) is None  # a bound: the histogram tells it exactly
    assert slo_bucket(plan, "ttft", 2500.0) is None
    assert slo_bucket(plan, "tpot", 90_000.0) is None  # beyond the largest finite bucket
    model = plan.spec.model.model_copy(update={"engine": "tgi"})
    tgi = plan.spec.model_copy(update={"model": model})
    assert slo_bucket(plan.model_copy(update={"spec": tgi}), "tpot", 90.0) is None  # unknown


def test_the_bracket_and_the_alerts_bucket_agree_on_what_a_bound_is() -> None:
    """observe's bracket (the bucket holding the SLO: its reading is interpolated) and
    monitoring's slo_bucket (the bound an alert's SLI counts against) are one test of "the SLO
    is a bucket bound": a bracket exactly where the alert counts against the bucket below
    (r2 L2: two functions named slo_bucket, each with its own bound test)."""
    from scaleplan.observe.slo import slo_bracket
    from scaleplan.plan import read_plan
    from scaleplan.render.monitoring import TOKEN_HISTOGRAMS, slo_bucket

    plan = read_plan(LLM_CHAT)
    for key in ("ttft", "tpot"):
        buckets = TOKEN_HISTOGRAMS["vllm"][key][1]
        assert buckets is not None
        for b in buckets[:-1]:
            for slo_s in (b, b * 1.1, b * 0.999):
                bound, how = slo_bucket(slo_s, buckets)
                got = slo_bracket(plan, key, slo_s * 1000.0)
                assert (got is None) == (how == "at"), (key, slo_s, got, how)
                if how == "below":
                    assert got is not None and got[0] == round(bound * 1000.0, 9)


def test_a_query_of_another_histogram_is_judged_as_read(tables: Catalog) -> None:
    """``--queries`` replacing ``tpot`` with another histogram: its buckets are not vLLM's, so
    every hour is judged on its reading, as before."""
    from scaleplan.observe.report import observed_lines

    obs = _observed(tables, [0.08] * 8 + [0.095] * 8 + [0.12] * 8)
    mine = "histogram_quantile(0.95, sum by (le) (increase(my_tpot_seconds_bucket[1h])))"
    obs = obs.model_copy(update={"queries": {**obs.queries, "tpot": mine}})
    lines = observed_lines(obs, None)
    i = lines.index("TPOT p95 90 ms: above in 16 of 24 hours of the day")
    assert not lines[i + 2].startswith("  TPOT p95:")


def _read_at_tpot(obs, rps: float):  # type: ignore[no-untyped-def]
    """``obs`` with its capacity read at the 90 ms TPOT SLO (inside vLLM's 75-100 ms bucket)."""
    c = obs.capacity
    cap = c.model_copy(update={
        "at_slos": {"tpot": 90.0}, "rps_per_replica": rps, "method": "regression",
        "ratio": rps / c.planned_rps_per_replica,
    })
    return obs.model_copy(update={"capacity": cap})


def test_the_interpolated_capacity_note_sits_beside_a_capacity_risk_only(tables: Catalog) -> None:
    """optimize --observed's risks: the capacity read inside the SLO's bucket reads low, said
    right after the capacity risk it qualifies; a capacity within tolerance says no risk, so no
    note either (r2 L3: it was appended whenever a capacity was rated, and untested)."""
    from scaleplan.observe.replan import risks

    obs = _observed(tables, [0.06] * 24)
    low = risks(_read_at_tpot(obs, 2.0))  # 3.62 planned
    i = low.index(
        "the LLM model over-states capacity by 81% on g6e.2xlarge, g6e.xlarge (3.62 planned, "
        "2 observed rps per replica)"
    )
    assert low[i + 1].startswith(
        "the capacity was read at TPOT p95 90 ms inside the histogram's 75-100 ms bucket: "
        "histogram_quantile interpolates linearly there"
    ), low
    right = risks(_read_at_tpot(obs, 3.62))
    assert not [r for r in right if "capacity" in r], right
