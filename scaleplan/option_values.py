"""Command-line option values parsed and checked in one place: repeatable and comma-separated
lists, numbers lists, durations and single numbers (finite, in range); a command's options
handed on as its core's typed arguments (:func:`args_of`); and the plain words ``--help``
names a value with (:func:`value_label`, :func:`argument_label`).

A value that cannot be read raises :class:`~scaleplan.errors.OptionError` (exit 2): the
command line prints it as a usage error naming the option, as its parser does for its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from scaleplan.errors import OptionError

T = TypeVar("T", int, float)
Args = TypeVar("Args")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def split_values(values: list[str] | None) -> list[str]:
    """A repeatable option's values, each also comma-separated (``--x a,b --x c``)."""
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


def names(text: str | None) -> list[str]:
    """A comma-separated list of names (``L4,A10G``), blanks dropped, in order."""
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def _csv(
    text: str | None,
    option: str,
    parse: Callable[[str], T],
    *,
    example: str,
    ok: Callable[[T], bool],
    rule: str,
) -> list[T] | None:
    """A comma-separated option as a sorted, de-duplicated list (None when empty)."""
    if text is None or not text.strip():
        return None
    try:
        # blanks around an item are dropped, never inside one: '1 2 4' is no number (it read
        # as 124 until 2026-12-06, UX trial 24)
        vals = [parse(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        message = f"expected comma-separated {example}; got {text!r}"
        raise OptionError(message, option=option) from None
    if not vals or not all(ok(v) for v in vals):
        raise OptionError(f"values must be {rule}; got {text!r}", option=option)
    return sorted(set(vals))


def choice(text: str | None, allowed: Sequence[str], option: str) -> str | None:
    """One of ``allowed`` (case and surrounding blanks ignored: ``FP8`` is ``fp8``), or None
    when not given; anything else is a usage error with the closest allowed values."""
    if text is None:
        return None
    key = text.strip().lower()
    if key in allowed:
        return key
    from scaleplan.names import close_matches

    close = close_matches(key, allowed)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise OptionError(f"{text!r} is not one of {', '.join(allowed)}{hint}", option=option)


def int_list(text: str | None, option: str) -> list[int] | None:
    """Comma-separated integers >= 1 (batch sizes, concurrency, GPUs), sorted, unique."""
    example = "integers such as 1,2,4,8"
    return _csv(text, option, int, example=example, ok=lambda v: v >= 1, rule=">= 1")


def number_list(text: str | None, option: str) -> list[float] | None:
    """Comma-separated finite numbers > 0 (request rates), sorted, unique."""
    example = "numbers such as 1,2,5"
    rule = "finite numbers > 0"
    return _csv(text, option, float, example=example, ok=_finite_positive, rule=rule)


def _finite_positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def duration_s(text: str, option: str) -> float:
    """A duration such as 30s, 5m, 12h, 14d or 2w, in seconds (> 0)."""
    m = _DURATION.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise OptionError(f"{text!r} is not a duration such as 30s, 5m, 12h, 14d", option=option)
    return float(m.group(1)) * _UNITS[m.group(2)]


def finite_number(
    value: str | float,
    option: str,
    *,
    what: str = "a number",
    example: str,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """A number option's value: a finite float, within ``[lo, hi]`` when given.

    ``nan`` and ``inf`` parse as floats but mean nothing as seconds, fractions or prices: they
    are refused by name (``nan is not a number of seconds; give e.g. 60``) instead of failing a
    range check whose words would be wrong (nan is not "above 86400").
    """
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise OptionError(f"{text!r} is not {what}; give e.g. {example}", option=option) from None
    if math.isnan(number):
        raise OptionError(f"{text} is not {what}; give e.g. {example}", option=option)
    if math.isinf(number):
        raise OptionError(f"{text} is not {_finite(what)}; give e.g. {example}", option=option)
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise OptionError(f"must be {_bounds(lo, hi)}; got {text}", option=option)
    return number


def whole_number(
    value: str | float, option: str, *, lo: float | None = None, hi: float | None = None
) -> int:
    """An integer option's value, within ``[lo, hi]`` when given; anything else is refused in
    the words :func:`finite_number` uses (``'1.5' is not a whole number; give e.g. 8``)."""
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        example = int(lo) if lo is not None and lo > 0 else 1
        msg = f"{text!r} is not a whole number; give e.g. {example}"
        raise OptionError(msg, option=option) from None
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise OptionError(f"must be {_bounds(lo, hi, whole=True)}; got {text}", option=option)
    return number


def _finite(what: str) -> str:
    """``a number of seconds`` -> ``a finite number of seconds``."""
    article, _, rest = what.partition(" ")
    return f"a finite {rest}" if article in ("a", "an") and rest else f"finite {what}"


def _bounds(lo: float | None, hi: float | None, *, whole: bool = False) -> str:
    fmt = "d" if whole else "g"  # 2**63 - 1 in full, not 9.22337e+18
    a, b = (None if x is None else format(int(x) if whole else x, fmt) for x in (lo, hi))
    if a is not None and b is not None:
        return f"between {a} and {b}"
    return f">= {a}" if a is not None else f"<= {b}"


def typed_options(ctx: Any) -> list[str]:
    """The options typed on the command line of a click/typer context ``ctx`` (defaults and
    environment left out), each as its first flag; duck-typed so that this module needs no
    command-line library."""
    params = [p for p in ctx.command.params if getattr(p, "param_type_name", "") == "option"]
    sources = {p.opts[0]: ctx.get_parameter_source(p.name or "") for p in params}
    return [flag for flag, src in sources.items() if getattr(src, "name", "") == "COMMANDLINE"]


# the top level's --json goes with --version alone (docs/cli.md)
JSON_AFTER_COMMAND = (
    "--json before the command goes with --version alone; "
    "give a command's --json after the command: scaleplan COMMAND ... --json"
)


def json_requested(argv: Sequence[str]) -> bool:
    """Whether a command line asks for JSON on stdout: ``--json``, or ``check``'s ``--format
    json`` (``-f json``, ``--format=json``, ``-fjson``), in the words as typed (words after
    ``--`` are arguments). For a usage error found before the command runs (the command
    itself knows its options)."""
    words = list(argv[: list(argv).index("--")] if "--" in argv else argv)
    if "--json" in words:
        return True
    value = [*words[1:], ""]  # the word after each
    return words[:1] == ["check"] and any(
        w in ("--format=json", "-fjson") or (w in ("--format", "-f") and value[i] == "json")
        for i, w in enumerate(words)
    )


def args_of(cls: type[Args], given: dict[str, Any], **handed: Any) -> Args:
    """A command's options as its core's typed arguments ``cls`` (a dataclass whose fields are
    named as the command's parameters): each field from ``given`` (the command's ``locals()``),
    or from ``handed`` where the command passes it on otherwise. A field that names no
    parameter is a KeyError when the command runs (the tests run every command), not a default
    taken in silence."""
    given = {**given, **handed}
    return cls(**{f.name: given[f.name] for f in fields(cls)})  # type: ignore[arg-type]


# --help names values in plain words (``--plan TEXT``, ``--time-limit NUMBER``), never in
# Python types (``<list[str]>``, ``<float range>``); the command line puts these in place of
# typer's own labels
_VALUE_WORDS = {
    "str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "file": "FILE",
    "directory": "DIR", "bool": "BOOLEAN",
}


def value_label(label: str) -> str:
    """An option value's type label as typer prints it (``<list[str]>``, ``<float range>``,
    ``<path>``) in a plain word: ``TEXT``, ``NUMBER``, ``PATH``; a choice (``a|b``) as it is."""
    label = label.strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    label = label.removesuffix(" range")
    return _VALUE_WORDS.get(label, label if "|" in label else label.upper())


def argument_label(name: str, nargs: int, required: bool) -> str:
    """An argument in a usage line: SPEC, [SPEC], FILES... (typer writes {SPEC}, {target},
    {FILES...}...)."""
    name = name.upper()
    if nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if required else f"[{name}]"
