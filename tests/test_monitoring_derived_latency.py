"""An LLM plan whose spec sets TTFT and TPOT SLOs and no slo.latency_ms: the end-to-end latency
is derived (spec_defaults.llm_latency_default), not an SLO. The rendered monitoring alerts on
the SLOs the user set (TTFT, TPOT), not on the derived figure: no end-to-end burn-rate alert
that could page while TTFT and TPOT hold (with a length spread the derived figure is the p95
completion's), no missing-bucket alert on a bound the server was never told of, and the
dashboard labels the figure as derived, not as the SLO. Before, render alerted and plotted
the derived latency as if it were the user's SLO."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tables_helpers import shipped_tables

ROOT = Path(__file__).resolve().parents[1]
STATED = "    latency_ms: 60000.0\n"


def _render(
    slo_latency: str = "", engine: str | None = None, percentile: int = 95
) -> tuple[Any, ...]:
    """examples/llm-chat's plan with kubernetes.service_monitor on, its slo.latency_ms
    replaced by ``slo_latency`` (none: derived, 2500 + 90 x 512 = 48,580 ms), at the SLO
    ``percentile``: the plan, the rule groups, the dashboard and render's warnings."""
    from scaleplan.plan import parse_plan_text
    from scaleplan.render import render_report

    text = (ROOT / "examples" / "llm-chat" / "plan.yaml").read_text(encoding="utf-8")
    assert text.count(STATED) == 1
    text = text.replace("    percentile: 95\n", f"    percentile: {percentile}\n", 1)
    plan = parse_plan_text(text.replace(STATED, slo_latency))
    image = {"tgi": {"image": "ghcr.io/huggingface/text-generation-inference:3.3.6"}}
    k8s = plan.spec.kubernetes.model_copy(
        update={"service_monitor": True, **image.get(engine or "", {})})
    model = plan.spec.model if engine is None else plan.spec.model.model_copy(
        update={"engine": engine})
    plan = plan.model_copy(
        update={"spec": plan.spec.model_copy(update={"kubernetes": k8s, "model": model})})
    rep = render_report(plan, shipped_tables())
    objs = {o.kind: o.obj for o in rep.objects}
    dash = json.loads(next(iter(objs["ConfigMap"]["data"].values())))
    return plan, objs["PrometheusRule"]["spec"]["groups"], dash, tuple(rep.warnings)


def _names(groups: list[dict]) -> set[str]:
    return {str(r.get("record") or r.get("alert")) for g in groups for r in g["rules"]}


def _read_series(dash: dict) -> set[str]:
    """The recorded series (scaleplan:...) the dashboard's panels read."""
    return {
        word.split("{")[0]
        for p in dash["panels"] for t in p["targets"] for word in t["expr"].split()
        if word.startswith("scaleplan:")
    }


def test_a_derived_latency_gets_no_alert_and_is_no_slo_on_the_dashboard() -> None:
    plan, groups, dash, warnings = _render()
    assert plan.spec.slo.tested_latency_ms is None and plan.spec.slo.latency_ms == 48_580.0
    names = _names(groups)
    assert not {n for n in names if "Latency" in n or "slo_latency" in n}, sorted(names)
    assert {"ChatTtftBudgetBurn", "ChatTpotBudgetBurn"} <= names  # the SLOs set
    assert "scaleplan:latency_p95_seconds:rate5m" in names  # still seen on the dashboard
    assert not any("48580" in json.dumps(g) for g in groups)
    assert _read_series(dash) <= names  # every series a panel reads is recorded
    panels = {p["id"]: p for p in dash["panels"]}
    latency = panels[2]
    assert "SLO" not in latency["title"], latency["title"]
    legends = [t["legendFormat"] for t in latency["targets"]]
    assert "SLO" not in legends and any("derived" in x for x in legends), legends
    burn = panels[4]
    assert burn["title"] == "TTFT and TPOT error budget burn rate", burn["title"]
    assert "SLO p95 48580 ms" not in dash["description"], dash["description"]
    assert "TTFT 2500 ms, TPOT 90 ms" in dash["description"], dash["description"]
    assert "48580 ms derived" in dash["description"], dash["description"]
    assert not any("latency" in w.lower() and "48580" in w for w in warnings), warnings


def test_a_stated_latency_keeps_its_alerts_and_panels() -> None:
    _, groups, dash, _ = _render("    latency_ms: 48580.0\n")
    names = _names(groups)
    assert {"ChatLatencyBudgetBurn", "ChatLatencySloBucketMissing",
            "scaleplan:slo_latency_bad_ratio:rate1h"} <= names
    panels = {p["id"]: p for p in dash["panels"]}
    assert panels[2]["title"] == "Latency p95 vs SLO"
    assert panels[4]["title"] == "Latency error budget burn rate"
    assert dash["description"].endswith("SLO p95 48580 ms.")
    assert _read_series(dash) <= names


def test_a_derived_latency_on_an_engine_without_token_histograms_says_no_alert() -> None:
    """TGI: scaleplan knows no TTFT/TPOT histograms of it, and the derived latency is no SLO:
    no burn-rate alert at all, and render says so and how to get one."""
    _, groups, dash, warnings = _render(engine="tgi")
    names = _names(groups)
    assert not {n for n in names if "BudgetBurn" in n or "bad_ratio" in n}, sorted(names)
    assert _read_series(dash) <= names
    assert 4 not in {p["id"] for p in dash["panels"]}  # no burn rate to show
    said = [w for w in warnings if "no TTFT/TPOT SLO alerts" in w]
    assert len(said) == 1, warnings
    assert "slo.latency_ms is derived (48580 ms), not an SLO" in said[0], said
    assert "set slo.latency_ms" in said[0], said



def test_pairs_left_out_at_a_low_percentile_are_still_said() -> None:
    """At p50 (a 50 % budget) only the 3d/6h pair can fire, the others are left out, which
    render says once, as it did with the end-to-end latency's alerts, which a derived latency
    no longer has: TTFT's and TPOT's pairs are left out alike, and said."""
    for latency in ("", "    latency_ms: 48580.0\n"):
        _, groups, _, warnings = _render(latency, percentile=50)
        names = [str(r.get("alert")) + r.get("labels", {}).get("long_window", "")
                 for g in groups for r in g["rules"]]
        assert "ChatTtftBudgetBurn1h" not in names, names
        assert "ChatTtftBudgetBurn3d" in names and "ChatTpotBudgetBurn3d" in names, names
        left = [w for w in warnings if "is left out" in w]
        assert [w.split(": ")[1].split(" is left")[0] for w in left] == [
            "the 1h/5m burn-rate alert (x14.4)", "the 6h/30m burn-rate alert (x6)",
            "the 1d/2h burn-rate alert (x3)"], warnings
