"""Drift facts of the monitoring the plan renders (``kubernetes.service_monitor``): the
PrometheusRule's recording rules and alerts, which decide when the plan's SLO alerts page
(UX trial 36: an SLO alert loosened by hand passed ``check --plan``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scaleplan.check.workloads import as_list, as_map, get
from scaleplan.safetext import printable
from scaleplan.yamlio import PathKey

Facts = dict[str, tuple[PathKey, Any]]


@dataclass(frozen=True)
class Repeat:
    """The expression fact of a rule whose key (name, long window) an earlier rule of the same
    PrometheusRule has: the first one's fact label (``rules[name].expr``), which copy this is
    (2 for the second) and its expression. Kept as a fact, so that :func:`repeated` reads the
    count instead of parsing it back out of the label (r2 review, 2026-12-07)."""

    first: str
    copy: int
    expr: str


def prometheus_rule_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """Each rule's expression (whitespace-insensitive) and ``for``, keyed by its name (a
    burn-rate alert's with its long window: the four pairs share one alert name). A key the
    file holds again is keyed with its count (``rules[name]#2``), its expression a
    :class:`Repeat` (:func:`repeated`): until 2026-12-07 the last of them replaced the others'
    facts, unsaid."""
    seen: Counter[str] = Counter()
    for gi, group in enumerate(as_list(get(data, ("spec", "groups")))):
        for ri, rm in enumerate(map(as_map, as_list(as_map(group).get("rules")))):
            window = as_map(rm.get("labels")).get("long_window")
            name = f"rules[{rm.get('record') or rm.get('alert')}{f'/{window}' if window else ''}]"
            seen[name] += 1
            n = seen[name]
            key = f"{name}#{n}" if n > 1 else name
            base = ("spec", "groups", gi, "rules", ri)
            expr = " ".join(str(rm.get("expr")).split())
            fact = Repeat(f"{name}.expr", n, expr) if n > 1 else expr
            facts[f"{key}.expr"] = ((*base, "expr"), fact)
            if rm.get("for") is not None:
                facts[f"{key}.for"] = ((*base, "for"), rm.get("for"))


def repeated(fact: Any, want: Facts) -> str | None:
    """The drift message for a checked object's ``fact``, the expression of a rule whose key
    an earlier rule of the checked PrometheusRule has (a :class:`Repeat`), where the plan
    renders that key (``want``, the plan's facts); None for any other fact. Prometheus
    evaluates both, and only the first is the one compared with the plan."""
    if not isinstance(fact, Repeat) or fact.first not in want:
        return None
    return (
        f"{fact.first.removesuffix('.expr')} is defined again here (copy {fact.copy}): "
        "Prometheus evaluates every copy, and only the first is compared with the plan's rule"
    )


def no_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """A kind with no facts here."""


# kind -> the function adding its facts (drift.facts_of's other kinds are its own branches)
MORE_FACTS: dict[str, Callable[[Facts, Mapping[str, Any]], None]] = {
    "PrometheusRule": prometheus_rule_facts,
}


def _quoted(text: str | None) -> str:
    """An expression's excerpt in quotes, its characters as the file has them (``repr``
    doubled each backslash of a bucket's regex), control characters escaped."""
    return "(unset)" if text is None else f"'{printable(text)}'"


def differs(label: str, have: Any, want: Any, show: Callable[[Any], str]) -> str:
    """A drift message for one differing fact; a rule's expression (often hundreds of
    characters) is quoted around its first difference, 30 characters either side."""
    if label.startswith("rules[") and label.endswith(".expr"):
        a, b = (x.expr if isinstance(x, Repeat) else str(x or "") for x in (have, want))
        i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                 min(len(a), len(b)))
        have, want = (f"...{s[max(0, i - 30):i + 30]}..." if s else None for s in (a, b))
        show = _quoted
    return f"{label} is {show(have)}, the plan renders {show(want)}"
