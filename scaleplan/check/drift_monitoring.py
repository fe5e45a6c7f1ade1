"""Drift facts of the monitoring the plan renders (``kubernetes.service_monitor``): the
PrometheusRule's recording rules and alerts, which decide when the plan's SLO alerts page
(UX trial 36: an SLO alert loosened by hand passed ``check --plan``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from scaleplan.check.workloads import as_list, as_map, get
from scaleplan.safetext import printable
from scaleplan.yamlio import PathKey

Facts = dict[str, tuple[PathKey, Any]]


def prometheus_rule_facts(facts: Facts, data: Mapping[str, Any]) -> None:
    """Each rule's expression (whitespace-insensitive) and ``for``, keyed by its name (a
    burn-rate alert's with its long window: the four pairs share one alert name). A key the
    file holds again is keyed with its count (``rules[name]#2``, :func:`repeated`): until
    2026-12-07 the last of them replaced the others' facts, unsaid."""
    seen: Counter[str] = Counter()
    for gi, group in enumerate(as_list(get(data, ("spec", "groups")))):
        for ri, rm in enumerate(map(as_map, as_list(as_map(group).get("rules")))):
            window = as_map(rm.get("labels")).get("long_window")
            name = f"rules[{rm.get('record') or rm.get('alert')}{f'/{window}' if window else ''}]"
            seen[name] += 1
            name += f"#{seen[name]}" if seen[name] > 1 else ""
            base = ("spec", "groups", gi, "rules", ri)
            facts[f"{name}.expr"] = ((*base, "expr"), " ".join(str(rm.get("expr")).split()))
            if rm.get("for") is not None:
                facts[f"{name}.for"] = ((*base, "for"), rm.get("for"))


_REPEAT = re.compile(r"(rules\[.*\])#(\d+)\.expr")


def repeated(label: str, want: Facts) -> str | None:
    """The drift message for ``label``, the expression of a rule whose key (name, long
    window) an earlier rule of the checked PrometheusRule has, where the plan renders that
    key; None for any other label. Prometheus evaluates both, and only the first is the
    one compared with the plan."""
    m = _REPEAT.fullmatch(label)
    if m is None or f"{m[1]}.expr" not in want:
        return None
    return (
        f"{m[1]} is defined again here (copy {m[2]}): Prometheus evaluates every copy, and "
        "only the first is compared with the plan's rule"
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
        a, b = str(have or ""), str(want or "")
        i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                 min(len(a), len(b)))
        have, want = (f"...{s[max(0, i - 30):i + 30]}..." if s else None for s in (a, b))
        show = _quoted
    return f"{label} is {show(have)}, the plan renders {show(want)}"
