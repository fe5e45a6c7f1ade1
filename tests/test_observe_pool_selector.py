"""observe's queries select the model servers' Services. Under ``routing: inference-pool``
render adds the endpoint picker's Service (``NAME-epp``, the same app.kubernetes.io/name);
its pod counted as a replica wherever Prometheus scraped it (23 "replicas" for 22 at the peak
in UX trial 22, F6: the per-replica load 4.5 % low)."""

from __future__ import annotations

from pathlib import Path

from scaleplan.catalog.files import load_catalog
from scaleplan.observe.queries import build_queries
from scaleplan.plan import read_plan
from scaleplan.render import render_report

ROOT = Path(__file__).resolve().parents[1]


def test_the_endpoint_pickers_service_is_not_a_replicas_service() -> None:
    plan = read_plan(ROOT / "examples" / "llm-chat-pool" / "plan.yaml")
    catalog = load_catalog()
    rendered = {o.name for o in render_report(plan, catalog).objects if o.kind == "Service"}
    assert rendered == {"chat", "chat-epp"}  # the case: two Services, one the picker's
    qs = build_queries(plan, catalog)
    assert qs.selector == 'namespace="llm",service="chat"', qs.selector
    replicas = qs.by_name()["replicas"].promql
    assert "chat-epp" not in replicas and 'service="chat"' in replicas, replicas


def test_every_model_service_is_still_selected() -> None:
    """A plan whose Services all front model servers keeps each (the gateway example's
    per-class Services are not dropped by the picker rule)."""
    for example in ("llm-chat", "embedding-cpu-gpu", "vision-daily"):
        plan = read_plan(ROOT / "examples" / example / "plan.yaml")
        catalog = load_catalog()
        objects = render_report(plan, catalog).objects
        services = sorted(o.name for o in objects if o.kind == "Service")
        qs = build_queries(plan, catalog)
        for name in services:
            assert name in qs.selector, (example, name, qs.selector)
