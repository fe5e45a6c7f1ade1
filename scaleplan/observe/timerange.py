"""The time range ``observe`` queries: ``--step`` (a divisor of an hour, at most 30m),
``--since`` (at least a day: the curve needs every UTC hour) and ``--end`` (ISO 8601 or
unix time; default now, on a step). A bad value is an
:class:`~scaleplan.errors.OptionError` (exit 2)."""

from __future__ import annotations

import re

from scaleplan.errors import OptionError
from scaleplan.option_values import duration_s


def step_seconds(step: str) -> float:
    """``--step`` in seconds: it must divide an hour (the curve is per UTC hour)."""
    step_s = duration_s(step, "--step")
    if step_s > 1800 or 3600 % step_s:
        message = "must divide an hour and be at most 30m (e.g. 30s, 1m, 5m, 15m)"
        raise OptionError(message, option="--step")
    return step_s


def since_seconds(since: str, step_s: float) -> float:
    """``--since`` in seconds, at least a day (and so at least one step): the demand curve
    needs a mean for every UTC hour, and a shorter range leaves hours without one, which
    failed only after every query had run (exit 5)."""
    since_s = duration_s(since, "--since")
    if since_s < max(step_s, 86400.0):
        message = (
            f"{since} is under a day: the demand curve needs every UTC hour"
            " (e.g. 1d, 14d, 2w)"
        )
        raise OptionError(message, option="--since")
    return since_s


def end_time(text: str | None, step: float) -> float:
    """``--end`` as a unix time; None: now, rounded down to a whole step."""
    from datetime import UTC, datetime

    if text is None:
        now = datetime.now(UTC).timestamp()
        return float(int(now // step) * step)
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return float(text)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        message = f"{text!r} is neither a unix time nor an ISO 8601 time"
        raise OptionError(message, option="--end") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
