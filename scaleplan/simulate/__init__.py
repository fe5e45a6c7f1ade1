"""Plan verification by discrete-event simulation (``scaleplan simulate``; docs/simulate.md)."""

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
