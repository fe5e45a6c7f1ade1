"""observe's no-data hint for a query the user gave with ``--queries`` (r2 review).

The hint goes by what the plan rendered (tests/test_observe_look.py): without a
ServiceMonitor it says which labels the queries assume and to "give the queries your labels
with --queries". A query that is already the user's override was told the same: it now says
the query is their --queries override, and to check its metric names and labels."""

from __future__ import annotations

from typing import Any

import pytest

from scaleplan.observe.client import QueryFailed
from scaleplan.observe.fetch import _range
from scaleplan.observe.queries import Query, QuerySet


class _Empty:
    """A Prometheus that has no series at all."""

    shown = "stub"

    def query_range(self, *args: Any) -> list[Any]:
        return []


def _hint(source: str) -> str:
    q = Query("demand", "sum(rate(my_requests_total{job=\"x\"}[5m]))", "rate", True,
              source=source)
    qs = QuerySet((q,), None, 'namespace="search",service="ranker"', False)
    with pytest.raises(QueryFailed) as exc:
        _range(_Empty(), q, 0.0, 3600.0, 300.0, qs)  # type: ignore[arg-type]
    return " ".join(str(exc.value.hint).split())


def test_an_override_that_finds_nothing_is_said_to_be_the_users() -> None:
    said = _hint("override")
    assert "your --queries override" in said, said
    assert "give the queries your labels with --queries" not in said, said
    assert "pass --end" in said


def test_a_default_query_keeps_the_labels_hint() -> None:
    said = _hint("")
    assert "give the queries your labels with --queries" in said, said
