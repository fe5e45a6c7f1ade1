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


def _observed(  # type: ignore[no-untyped-def]
    tables: Catalog, tpot_s: list[float], e2e_s: list[float] | None = None,
    latency_ms: float | None = None, queries: dict[str, str] | None = None,
):
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.plan import read_plan

    plan = read_plan(LLM_CHAT)
    assert plan.spec.model.engine == "vllm" and plan.spec.slo.tpot_ms == 90  # inside 75-100 ms
    if latency_ms is not None:  # a stated end-to-end SLO
        slo = plan.spec.slo.model_copy(update={"latency_ms": latency_ms})
        plan = plan.model_copy(update={"spec": plan.spec.model_copy(update={"slo": slo})})
        assert plan.spec.slo.tested_latency_ms == latency_ms
    qs = build_queries(plan, tables, queries or {})
    hours = [(HOUR0 + 3600 * h, 2.0) for h in range(24)]
    steps = [(HOUR0 - 3600 + 300 * k, 2.0) for k in range(288)]
    e2e = e2e_s or [10.0] * 24
    fetched = Fetched(
        {
            "demand_hourly": hours,
            "latency_hourly": [(t, v) for (t, _), v in zip(hours, e2e, strict=True)],
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
    from scaleplan.llm.engine_metrics import TOKEN_HISTOGRAMS, slo_bucket
    from scaleplan.observe.slo import slo_bracket
    from scaleplan.plan import read_plan

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


def test_e2e_hours_read_inside_the_slos_bucket_are_not_above(tables: Catalog) -> None:
    """The end-to-end SLO on vLLM's e2e_request_latency_seconds: a 4 s SLO lies inside its
    2.5-5 s bucket, so an hour read at 4.5 s there is interpolated, neither above nor within
    (r2 L1: only TTFT/TPOT were judged so; the e2e line counted it above)."""
    from scaleplan.observe.replan import risks
    from scaleplan.observe.report import observed_lines

    e2e = [2.0] * 8 + [4.5] * 8 + [6.0] * 8  # within, inside 2.5-5 s, above
    obs = _observed(tables, [0.06] * 24, e2e, latency_ms=4000.0)
    s = obs.slo
    assert (s.hours_above, s.hours_seen, s.hours_inside, s.peak_hours_inside) == (8, 24, 8, 8)
    assert s.slo_bucket_ms == (2500.0, 5000.0)
    warning = (
        "p95 read inside the latency histogram's 2500-5000 ms bucket, which holds the SLO "
        "(4000 ms), in 8 of 24 hours (8 of 24 peak hours): histogram_quantile interpolates "
        "linearly there, so whether those hours met the SLO cannot be told (not counted above)"
    )
    assert obs.warnings == (warning,)
    lines = observed_lines(obs, None)
    assert "SLO p95 4000 ms: above in 8 of 24 observed hours," in lines, lines
    assert any(x.startswith("warning: p95 read inside the latency histogram's") for x in lines)
    said = risks(obs)
    assert "p95 was above the SLO (4000 ms) in 8 of 24 peak hours (worst 6000 ms)" in said, said
    assert warning in said
    # at a bucket bound (5 s) the histogram tells each hour: 4.5 s is within, nothing inside
    at = _observed(tables, [0.06] * 24, e2e, latency_ms=5000.0).slo
    assert (at.hours_above, at.hours_inside, at.slo_bucket_ms) == (8, None, None)


def test_e2e_hours_of_another_histogram_are_judged_as_read(tables: Catalog) -> None:
    """``--queries`` reading the users' own latency histogram: its buckets are not known, so
    every hour is judged on its reading, as before."""
    mine = "histogram_quantile(0.95, sum by (le) (increase(my_latency_seconds_bucket[1h])))"
    e2e = [2.0] * 8 + [4.5] * 8 + [6.0] * 8
    obs = _observed(tables, [0.06] * 24, e2e, 4000.0, {"latency_hourly": mine})
    assert obs.queries["latency_hourly"] == mine
    s = obs.slo
    assert (s.hours_above, s.hours_inside, s.slo_bucket_ms, obs.warnings) == (16, None, None, ())


def test_hours_against_one_rule_for_token_and_end_to_end_hours() -> None:
    """The hours above the SLO and inside its bucket (lo < v <= hi inside, v > hi above), one
    function for TTFT/TPOT (slo.token_slo_hours) and the end-to-end latency
    (analyze._slo, whose clamped hours, beyond the largest finite bucket, are above where that
    bound reaches the target and never inside)."""
    from scaleplan.observe.slo import hours_against

    cells = {0: 20.0, 1: 25.0, 2: 30.0, 3: 50.0, 4: 50.5, 5: 40.0}
    assert hours_against(cells, 40.0, (25.0, 50.0)) == ([4], [2, 3, 5])
    assert hours_against(cells, 40.0, None) == ([3, 4], [])
    # clamped: read at the largest finite bound; 60 >= 40 is above, 30 < 40 is neither
    clamped_cells = {"a": 60.0, "b": 30.0, "c": 45.0}
    assert hours_against(clamped_cells, 40.0, (25.0, 50.0), {"a", "b"}) == (["a"], ["c"])
    assert hours_against(clamped_cells, 40.0, None, {"a", "b"}) == (["a", "c"], [])
