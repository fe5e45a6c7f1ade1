"""Plan verification by discrete-event simulation (``scaleplan simulate``; docs/simulate.md)."""

from scaleplan.simulate.arrivals import Trace, parse_trace, read_trace
from scaleplan.simulate.core import (
    FAILURES,
    POLICIES,
    AllocationStats,
    FailureStats,
    LatencyStats,
    SimResult,
    WindowStats,
    check_simulatable,
    service_model,
    simulate,
)

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
