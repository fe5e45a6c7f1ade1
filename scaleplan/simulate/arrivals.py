"""Arrival processes: Poisson, bursty (a two-state Markov-modulated Poisson process) and traces.

All generators are pure functions of a numpy ``Generator``; times are seconds of simulated
time, sorted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from scaleplan.errors import InputError, Problem

F64 = NDArray[np.float64]

# Bursty: high phases at BURST_HIGH x the window's rate for BURST_SHARE of the time, low phases
# at the rate that keeps the mean equal to the window's rate; mean high phase BURST_DWELL_S.
BURST_HIGH = 1.5
BURST_SHARE = 0.2
BURST_DWELL_S = 5.0
BURST_LOW = (1.0 - BURST_HIGH * BURST_SHARE) / (1.0 - BURST_SHARE)
MAX_TRACE_BYTES = 256 * 1024 * 1024
EPOCH_S = 1e8  # a time at or after this (1973) is epoch seconds, not seconds of the day
MIXED_HINT = "give every time one way: epoch seconds (or ISO 8601), or seconds of the day"
_READ = {True: "epoch seconds", False: "seconds from the start of the day"}


@dataclass(frozen=True)
class Trace:
    """Arrival times (seconds from the start of the day, sorted) read from a file."""

    name: str
    times: F64


def poisson(rng: np.random.Generator, t0: float, t1: float, rate: float) -> F64:
    """Homogeneous Poisson arrivals on [t0, t1): a Poisson count, then sorted uniform times."""
    if rate <= 0 or t1 <= t0:
        return np.empty(0)
    n = int(rng.poisson(rate * (t1 - t0)))
    return np.sort(rng.uniform(t0, t1, n))


def bursty(rng: np.random.Generator, t0: float, t1: float, rate: float) -> F64:
    """MMPP-2: exponential phases alternating high (BURST_HIGH x rate) and low; same mean rate."""
    if rate <= 0 or t1 <= t0:
        return np.empty(0)
    low_dwell = BURST_DWELL_S * (1.0 - BURST_SHARE) / BURST_SHARE
    high = bool(rng.random() < BURST_SHARE)  # stationary start
    parts: list[F64] = []
    t = t0
    while t < t1:
        dwell = float(rng.exponential(BURST_DWELL_S if high else low_dwell))
        end = min(t1, t + dwell)
        parts.append(poisson(rng, t, end, rate * (BURST_HIGH if high else BURST_LOW)))
        t = end
        high = not high
    return np.concatenate(parts) if parts else np.empty(0)


def iso_time(name: str, v: object, line: int | None) -> float | None:
    """An ISO 8601 / RFC 3339 time (``2025-12-06T13:00:05Z``, what gateway access logs write;
    RFC 3339 lets a space stand for the ``T``) as epoch seconds; None where ``v`` is no such
    time. One without a UTC offset is refused: its time zone is unknown."""
    if not isinstance(v, str) or not any(sep in v.strip().upper() for sep in ("T", " ")):
        return None
    try:
        at = datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        fix = "end it with Z (UTC) or an offset such as +01:00, or give epoch seconds"
        message = f"time {v!r} has no UTC offset, so its hour is unknown"
        raise InputError(name, [Problem("", message, hint=fix, line=line)])
    return at.timestamp()


def mixed_clocks(
    name: str, times: F64, line_of: Callable[[int], int], shown_of: Callable[[int], str]
) -> None:
    """Refuse times that mix epoch seconds with seconds of the day (a replay over the decades
    between them), at the first line read the other way than the first (``line_of`` and
    ``shown_of``: the k-th time's line and its text, asked only of a refusal's two)."""
    if not len(times) or not times.min() < EPOCH_S <= times.max():
        return
    epoch = times >= EPOCH_S
    k = int(np.argmax(epoch != epoch[0]))
    said = f"time {shown_of(k)} is read as {_READ[bool(epoch[k])]}"
    message = f"{said}, but line {line_of(0)}'s as {_READ[bool(epoch[0])]}"
    raise InputError(name, [Problem("", message, hint=MIXED_HINT, line=line_of(k))])


def parse_trace(text: str, name: str) -> Trace:
    """One arrival time in seconds per line (first CSV column); '#' comments and one header line allowed."""
    values: list[float] = []
    lines: list[int] = []
    shown: list[str] = []
    header_seen = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        field = line.split(",", 1)[0].strip()
        try:
            v = float(field)
        except ValueError:
            at = iso_time(name, field, lineno)
            if at is None and not values and not header_seen:
                header_seen = True  # one header line before the first value
                continue
            if at is None:
                raise InputError(name, [Problem("", f"{field!r} is not a number",
                    hint="give one arrival time in seconds per line (or as the first CSV column)",
                    line=lineno)]) from None
            v = at
        if not np.isfinite(v) or v < 0:
            raise InputError(name, [Problem("", f"arrival time {field} must be finite and >= 0",
                hint="times are seconds from the start of the day", line=lineno)])
        values.append(v)
        lines.append(lineno)
        shown.append(field)
    if not values:
        raise InputError(name, [Problem("", "trace has no arrival times",
            hint="give one arrival time in seconds per line")])
    times = np.array(values, dtype=np.float64)
    mixed_clocks(name, times, lines.__getitem__, shown.__getitem__)
    return Trace(name=name, times=np.sort(times))


def read_trace(path: str | Path) -> Trace:
    from scaleplan.yamlio import read_text

    return parse_trace(read_text(path, what="trace", max_bytes=MAX_TRACE_BYTES), str(path))
