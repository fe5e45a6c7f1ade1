"""observe of a one-SLO LLM plan whose end-to-end latency is derived (TTFT and TPOT SLOs, no
slo.latency_ms): its capacity is read at the TTFT/TPOT SLOs, as for a plan whose classes' derived
limits differ, not at the derived figure nobody wrote. UX trial 38 F3: gpt-oss-120b at a 30 ms
TPOT SLO read 'capacity: not measured (the service never ran near its limit)', the limit being
the derived 58,130 ms, while its TPOT p95 ran at 35.9 ms; read at its SLOs the same history gives
1.422 rps per replica against the plan's 1.864 (the re-plan calibrated on the hours: 1.354).
No Prometheus: the fetched series are given."""

from __future__ import annotations

from pathlib import Path

from tables_helpers import shipped_tables

ROOT = Path(__file__).resolve().parents[1]
STATED = "    latency_ms: 60000.0\n"
T0 = 1767225600.0


def test_a_derived_latency_plan_has_its_capacity_read_at_the_ttft_tpot_slos() -> None:
    from scaleplan.observe.analyze import Fetched, analyze
    from scaleplan.observe.queries import build_queries
    from scaleplan.observe.report import observed_lines
    from scaleplan.plan import parse_plan_text

    text = (ROOT / "examples" / "llm-chat" / "plan.yaml").read_text(encoding="utf-8")
    assert text.count(STATED) == 1
    plan = parse_plan_text(text.replace(STATED, ""))  # derived: 2500 + 90 x 512 = 48,580 ms
    assert plan.spec.slo.tested_latency_ms is None and plan.spec.slo.tpot_ms == 90
    queries = build_queries(plan, shipped_tables())
    names = {q.name for q in queries.queries}
    assert {"ttft_latency", "tpot_latency"} <= names, sorted(names)
    hours = [(T0 + 3600 * (h + 1), 4.0 + h / 10) for h in range(24)]
    steps = [(T0 + 300 * k, 2.0 + (k % 3) / 2) for k in range(288)]  # 2, 2.5, 3 rps: 1 replica
    # TPOT rises with the load and reaches its 90 ms SLO at 3 rps; TTFT and the end-to-end
    # latency stay far below theirs (10 s against the derived 48.58 s)
    tpot = [(t, 0.090 * (0.85 + 0.15 * (d - 2.0))) for t, d in steps]
    series = {
        "demand_hourly": hours, "latency_hourly": [(t, 10.0) for t, _ in hours],
        "demand": steps, "replicas": [(t, 1.0) for t, _ in steps],
        "latency": [(t, 10.0) for t, _ in steps],
        "ttft_latency": [(t, 0.2) for t, _ in steps], "tpot_latency": tpot,
        "ttft": [(t, 0.2) for t, _ in hours], "tpot": [(t, 0.08) for t, _ in hours],
    }
    obs = analyze(plan, queries, Fetched(series, T0, T0 + 86400, 300.0, "http://x"))
    cap = obs.capacity
    assert cap.at_slos == {"ttft": 2500.0, "tpot": 90.0}, cap
    assert cap.rps_per_replica == 3.0 and cap.method == "regression", cap
    report = " ".join(" ".join(observed_lines(obs, None)).split())
    assert "capacity: 3 rps per replica at TTFT p95 2500 ms and TPOT p95 90 ms" in report, report
    assert "never ran near its limit" not in report, report
    assert "e2e p95 48580 ms (derived, not an SLO)" in report, report
