"""Plan verification by discrete-event simulation (``scaleplan simulate``; docs/simulate.md).

The names below are imported on first use (PEP 562), not with the package: ``optimize``'s
report reads :func:`scaleplan.simulate.failures.startup_cost`, and importing a submodule runs
this file first, which would otherwise load the whole simulator (~40 ms) on every optimize."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scaleplan.simulate.arrivals import Trace, parse_trace, read_trace
    from scaleplan.simulate.core import simulate
    from scaleplan.simulate.failures import FAILURES
    from scaleplan.simulate.layout import check_simulatable
    from scaleplan.simulate.results import (
        AllocationStats,
        FailureStats,
        LatencyStats,
        SimResult,
        WindowStats,
    )
    from scaleplan.simulate.serving import POLICIES, service_model

_HOME = {
    "Trace": "arrivals", "parse_trace": "arrivals", "read_trace": "arrivals",
    "simulate": "core", "FAILURES": "failures", "check_simulatable": "layout",
    "AllocationStats": "results", "FailureStats": "results", "LatencyStats": "results",
    "SimResult": "results", "WindowStats": "results",
    "POLICIES": "serving", "service_model": "serving",
}

__all__ = [
    "FAILURES",
    "POLICIES",
    "AllocationStats",
    "FailureStats",
    "LatencyStats",
    "SimResult",
    "Trace",
    "WindowStats",
    "check_simulatable",
    "parse_trace",
    "read_trace",
    "service_model",
    "simulate",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
