"""The two expressions render writes for KEDA and reads back: the scalingModifiers formula that
runs the plan's count (:mod:`scaleplan.render.spare`) and the gate of a request-rate trigger
the plan runs in some hours only (minutes of the UTC day: the plan's hours, each run opened
early by the pods' start-up time) (:mod:`scaleplan.render.hours`). Each is written
and parsed here, and nowhere else: ``simulate --replicas autoscaler`` (:mod:`scaleplan.render.
replay`) evaluates them, ``check --plan`` reads a manifest's formula with them, and so do the
tests.

The subset is exactly what render writes, and anything else is refused
(:class:`FormulaError`, a ``ValueError``) rather than evaluated by a guess::

    formula := "float(" (NAME "<=" BOUND "?" COUNT ":")* COUNT ")"
    gate    := "(" DAY " >= " M " and " DAY " < " M ")" (" or " that)*
    DAY     := "hour() * 60 + minute()"

NAME is one trigger's name (the same in every step), BOUND a non-negative decimal, bounds
strictly rising (a repeated bound is refused too), COUNT a whole number; spaces around the
operators are free in the formula. At a metric in (previous bound, bound] the formula is that
step's count, above the last bound the last count. A gated query is ``(QUERY) and on()
(gate)``, M a minute of the UTC day, each run [M, M) within [0, 1440]. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scaleplan.render.resources import number_text

# the request-rate trigger of an allocation the plan runs in some hours only (this, or this-1,
# this-2, ...): its own name, so that observe (which reads the Service's rate from the
# "requests" triggers) never takes a query gated by the hour for the Service's rate
PLANNED_HOURS_TRIGGER = "requests-in-planned-hours"
SUBSET = "float(NAME <= BOUND ? COUNT : ... : COUNT)"
_STEP = re.compile(r"\s*([A-Za-z_]\w*)\s*<=\s*(\d+(?:\.\d+)?)\s*\?\s*(\d+)\s*:")
_LAST = re.compile(r"\s*(\d+)\s*")
_WRAP = re.compile(r"\s*float\s*\((.*)\)\s*", re.DOTALL)
DAY_MINUTES = 24 * 60
_DAY = "hour() * 60 + minute()"  # the minute of the UTC day, in PromQL
_RUN = re.compile(
    r"\(hour\(\) \* 60 \+ minute\(\) >= (\d+) and hour\(\) \* 60 \+ minute\(\) < (\d+)\)"
)
_GATE_JOIN = " and on() ("


class FormulaError(ValueError):
    """An expression outside the subset render writes: it is refused, not evaluated.
    ``reason``: why, without the expression."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def _bound_text(b: float) -> str:
    """A bound as render writes it (three decimals at most), or exactly where that would
    round it (a hand-written bound read back)."""
    s = number_text(b)
    return s if float(s) == b else repr(b)


@dataclass(frozen=True)
class StepFormula:
    """``float(var <= b1 ? n1 : var <= b2 ? n2 : ... : last)``: ``steps`` are (bound, count)
    pairs, bounds rising."""

    var: str
    steps: tuple[tuple[float, int], ...]
    last: int

    def text(self) -> str:
        """The formula as render writes it."""
        parts = [f"{self.var} <= {_bound_text(b)} ? {n}" for b, n in self.steps]
        return "float(" + " : ".join([*parts, str(self.last)]) + ")"

    def count(self, metrics: Mapping[str, float]) -> int:
        """The formula's value with the triggers' metrics (trigger name -> value)."""
        if self.var not in metrics:
            names = ", ".join(sorted(metrics)) or "none"
            raise FormulaError(
                f"the formula reads {self.var!r}, which names no trigger of the ScaledObject "
                f"(its triggers: {names})"
            )
        value = metrics[self.var]
        return next((n for b, n in self.steps if value <= b), self.last)

    def breakpoints(self) -> tuple[float, ...]:
        """The bounds, where the count changes just above."""
        return tuple(b for b, _ in self.steps)


def step_formula(var: str, chain: Sequence[tuple[float, int]]) -> StepFormula:
    """``chain`` ((bound, count) pairs, bounds rising; the last count holds above the last
    bound) as render writes it: bounds to KEDA's three decimals. A bound that equals the one
    before at three decimals is left out with its step, which KEDA would never reach."""
    *head, (_, last) = chain
    out: list[tuple[float, int]] = []
    for b, n in head:
        bound = float(number_text(b))
        if not out or bound > out[-1][0]:
            out.append((bound, int(n)))
    return StepFormula(var, tuple(out), int(last))


def _refuse(text: str, why: str) -> FormulaError:
    reason = f"{why}; scaleplan reads only the chain render writes, {SUBSET}"
    return FormulaError(f"cannot read the formula {' '.join(text.split())!r}: {reason}", reason)


def parse_formula(text: str) -> StepFormula:
    """The :class:`StepFormula` that ``text`` writes; :class:`FormulaError` when ``text`` is not
    in the subset render writes."""
    wrap = _WRAP.fullmatch(text)
    if wrap is None:
        raise _refuse(text, "it is not wrapped in float(...)")
    body, pos = wrap.group(1), 0
    var: str | None = None
    steps: list[tuple[float, int]] = []
    while (m := _STEP.match(body, pos)) is not None:
        name, bound = m.group(1), float(m.group(2))
        if var is not None and name != var:
            raise _refuse(text, f"it reads {var!r} and {name!r}, not one trigger")
        if steps and bound <= steps[-1][0]:  # a repeated bound's step is never reached
            how = "fall" if bound < steps[-1][0] else "repeat"
            prev = number_text(steps[-1][0])
            raise _refuse(text, f"its bounds {how} ({prev}, then {m.group(2)})")
        var = name
        steps.append((bound, int(m.group(3))))
        pos = m.end()
    last = _LAST.fullmatch(body, pos)
    if last is None:
        raise _refuse(text, f"{body[pos:].strip()[:40]!r} is not a step nor a last count")
    if var is None:
        raise _refuse(text, "it has no step on a trigger")
    return StepFormula(var, tuple(steps), int(last.group(1)))


def gate_text(runs: Sequence[tuple[int, int]]) -> str:
    """The minutes [start, end) of the UTC day in ``runs`` as a PromQL condition on
    ``hour() * 60 + minute()``."""
    return " or ".join(f"({_DAY} >= {s} and {_DAY} < {e})" for s, e in runs)


def gated_query(query: str, runs: Sequence[tuple[int, int]]) -> str:
    """``query`` answering only in the minutes of the day in ``runs`` (no result outside
    them)."""
    return f"({query}){_GATE_JOIN}{gate_text(runs)})"


def gate_runs(query: str) -> tuple[tuple[int, int], ...]:
    """The runs (minutes of the UTC day) of a query :func:`gated_query` wrote;
    :class:`FormulaError` for any other."""
    head, sep, gate = query.rpartition(_GATE_JOIN)
    runs = gate.removesuffix(")").split(" or ")
    found = [_RUN.fullmatch(r) for r in runs]
    if not sep or not _one_group(head) or not gate.endswith(")") or None in found:
        raise FormulaError(
            f"cannot read the hours of the query {' '.join(query.split())!r}: scaleplan reads "
            f"only the gate render writes, (QUERY) and on() (({_DAY} >= M and {_DAY} < M) "
            "or ...), M a minute of the UTC day"
        )
    out = tuple((int(m.group(1)), int(m.group(2))) for m in found if m is not None)
    if any(not 0 <= s < e <= DAY_MINUTES for s, e in out):
        raise FormulaError(
            f"the query's runs {out} are not runs of minutes within a day [0, {DAY_MINUTES}]"
        )
    return out


def _one_group(text: str) -> bool:
    """Whether ``text`` is one parenthesised group, ``(QUERY)``: the parenthesis it opens with
    closes at its end (quoted label values skipped), so the gate covers all of it; ``(a) or
    (b)`` is not one (PromQL's ``and`` binds tighter than ``or``: the gate would cover b only)."""
    depth, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if quote:  # inside a quoted string: only its closing quote (unescaped) counts
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
        elif depth == 0:
            return False
    return False


def in_gate(runs: Sequence[tuple[int, int]], minute: int) -> bool:
    """Whether a query gated to ``runs`` answers at ``minute`` of the UTC day."""
    return any(s <= minute % DAY_MINUTES < e for s, e in runs)
