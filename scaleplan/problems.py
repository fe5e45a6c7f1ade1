"""Turn pydantic validation errors into :class:`~scaleplan.errors.Problem` lists.

Each problem names the YAML path (``slo.percentile``), the line when known, what is wrong in
plain words (``must be a number; got 'abc'``, never pydantic's ``Input should be ...`` or its
union markers such as ``function-after[...]``), and a fix: "did you mean" for misspelt keys and
enum values, the allowed keys or values otherwise, or the field's own description.
"""

from __future__ import annotations

import difflib
import functools
import re
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.fields import FieldInfo

from scaleplan.errors import InputError, Problem
from scaleplan.kube import names
from scaleplan.names import PROVIDER_NAME
from scaleplan.wording import counted, or_list
from scaleplan.yamlio import Document, LineMap, PathKey, format_path

_FIX_SEP = " | fix: "
# patterns said in words where a value does not match them (not the regex)
_PATTERN_WORDS = {
    PROVIDER_NAME: "a provider name: lower case letters, digits, '-', '_' and '.', starting and "
    "ending with a letter or digit, at most 63 characters",
    names.schema_pattern(names.DNS_SUBDOMAIN): "a Kubernetes object name (DNS-1123 subdomain): "
    "lower case letters, digits, '-' and '.', each dot-separated part starting and ending with "
    "a letter or digit, at most 253 characters",
    names.GATEWAY_NAME: "a DNS-1123 label: lower case letters, digits and '-', starting and "
    "ending with a letter or digit, at most 63 characters",
    names.SECRET_KEY: "a Secret key: letters, digits, '-', '_' and '.', 1 to 253 characters",
    names.EKS_CLUSTER: "an EKS cluster name: letters, digits, '-' and '_', starting with a "
    "letter or digit, at most 100 characters",
    names.HF_REVISION: "a Hugging Face revision (a branch, tag or commit): letters, digits, "
    "'.', '_', '/' and '-', starting with a letter or digit, at most 128 characters",
}
_AT_SEP = " | at: "
_MAX_SHOWN = 60
MAX_PROBLEMS = 50  # listed per file; the rest are counted

# What a value of each pydantic type error should have been, in YAML words.
_EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "str": "a string",
    "list": "a list",
    "tuple": "a list",
    "set": "a list",
    "dict": "a mapping (key: value)",
    "model": "a mapping (key: value)",
    "model_attributes": "a mapping (key: value)",
    "dataclass": "a mapping (key: value)",
    "none": "null",
    "literal": "one of the allowed values",
}

# pydantic error types -> the type word used in _EXPECTED
_TYPE_OF = {
    "int_type": "int",
    "int_parsing": "int",
    "int_from_float": "int",
    "int_parsing_size": "int",
    "float_type": "float",
    "float_parsing": "float",
    "bool_type": "bool",
    "bool_parsing": "bool",
    "string_type": "string",
    "list_type": "list",
    "tuple_type": "tuple",
    "set_type": "set",
    "dict_type": "dict",
    "model_type": "model",
    "model_attributes_type": "model",
    "dataclass_type": "dataclass",
    "none_required": "none",
}

_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}

_SCALAR_MARKERS = frozenset({"int", "float", "str", "bool", "bytes", "none"})


def shown(value: Any) -> str:
    """``repr`` of a user value, shortened so that a 300-character name stays readable."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = (text[: _MAX_SHOWN - 5] + "...'" + f" ({len(value)} characters)"
            if isinstance(value, str) else text[: _MAX_SHOWN - 3] + "...")
    return text


_CLOUD_FLAVORS = {"azure": "aks", "gcp": "gke", "google": "gke", "aws": "eks-karpenter"}
# what a cluster of no cloud is called in words (the README's "plain clusters"; UX trial 33:
# `flavor: plain` got the list of flavors and no hint)
_CLOUD_FLAVORS.update(dict.fromkeys(
    ("plain", "vanilla", "kubernetes", "k8s", "onprem", "on-prem", "bare-metal", "baremetal",
     "self-managed", "kubeadm", "k3s", "rke2", "openshift"), "generic"))


# a precision's long name (torch's, vLLM's kv-cache names), which no edit distance reaches
_DTYPE_NAMES = {"float8": "fp8", "fp8_e4m3": "fp8", "e4m3": "fp8", "bfloat16": "bf16",
                "float16": "fp16", "half": "fp16"}


def _same_value(inp: Any, vals: list[str]) -> list[str]:
    """The allowed value ``inp`` means in another case ('AKS'), or a cloud's name for its
    Kubernetes flavor ('azure'; UX trial 30 F9), or a cluster of none ('plain': generic), or
    a precision's long name ('float8'), or an allowed value and a qualifier ('fp8-dynamic',
    a checkpoint's name; UX trial 39 F6)."""
    said = inp.strip().lower() if isinstance(inp, str) else ""
    named = _CLOUD_FLAVORS.get(said) or _DTYPE_NAMES.get(said)
    head = re.split(r"[-_ ]", said, maxsplit=1)[0]
    return [v for v in vals if v.lower() == said] or [v for v in vals if v == named] or [
        v for v in vals if v.lower() == head and head != said
    ]


def supported_percentile(value: Any, supported: tuple[int, ...]) -> int:
    """``value`` as one of the ``supported`` percentiles, else a ValueError with its fix: a
    fraction whose percent is supported (``0.95``) is a percentile typed as a share, so the fix
    names the percent (UX trial 19 F8); else it is to pick the nearest supported one."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and value in supported:
        return int(value)
    hint = "pick the nearest supported percentile"
    if number and 0 < value < 1 and round(value * 100, 9) in supported:
        percent = round(value * 100, 9)
        hint = f"did you mean {percent:g}? slo.percentile is in percent, not a fraction"
    # 'p99', as dashboards write it (UX trial 30 F9)
    digits = str(value).strip().lower().removeprefix("p") if isinstance(value, str) else ""
    if digits.isdigit() and int(digits) in supported:
        hint = f"write {int(digits)}: slo.percentile is a number of percent"
    listed = ", ".join(str(p) for p in supported)
    raise ValueError(fix(f"must be one of {listed}; got {shown(value)}", hint))


def _field_at(model: type[BaseModel],
        loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """Follow ``loc`` through nested model fields: (model owning the last key, its FieldInfo).

    With an empty ``loc`` the model itself is returned (and no field).
    """
    current: Any = model
    info: FieldInfo | None = None
    owner: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None, None
        owner = current
        info = current.model_fields.get(part)
        if info is None:
            info = {f.alias: f for f in current.model_fields.values() if f.alias}.get(part)
        if info is None:
            return None, None
        current = _inner_model(info.annotation)
    return owner, info


def _inner_model(ann: Any) -> Any:
    """The BaseModel inside ``X | None``, ``tuple[X, ...]``, ``dict[str, X]``, or ``ann`` itself."""
    for _ in range(4):
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return ann
        args = typing.get_args(ann)
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            return models[0]
        nested = [a for a in args if typing.get_args(a)]
        if not nested:
            return ann
        ann = nested[0]
    return ann


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose keys live at ``loc`` (the mapping an unknown key was found in)."""
    if not loc:
        return model
    _, info = _field_at(model, loc)
    if info is None:
        return None
    inner = _inner_model(info.annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _all_paths(model: type[BaseModel], prefix: PathKey = (), depth: int = 0) -> list[PathKey]:
    out: list[PathKey] = []
    for name, f in model.model_fields.items():
        path = (*prefix, f.alias or name)
        out.append(path)
        inner = _inner_model(f.annotation)
        if depth < 5 and isinstance(inner, type) and issubclass(inner, BaseModel):
            out += _all_paths(inner, path, depth + 1)
    return out


def _elsewhere(model: type[BaseModel], key: str, here: PathKey) -> str:
    """Full path of a field named like ``key`` in another section (``slo.percentile``), or ""."""
    here_clean = tuple(p for p in here if not isinstance(p, int))
    paths = [p for p in _all_paths(model) if p[:-1] != here_clean]
    by_last: dict[str, PathKey] = {}
    for p in paths:
        by_last.setdefault(str(p[-1]), p)
    close = difflib.get_close_matches(key, list(by_last), n=1, cutoff=0.75)
    return format_path(by_last[close[0]]) if close else ""


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _keys_hint(owner: type[BaseModel], inp: Any, loc: tuple[Any, ...]) -> str:
    """The keys a mapping field takes; given a boolean where its section has an on/off key
    (`spot: true`), the mapping meant first (UX trial 33)."""
    hint = "expected keys: " + ", ".join(_field_names(owner))
    switch = [k for k in ("allowed", "enabled") if k in owner.model_fields]
    if isinstance(inp, bool) and switch and loc:
        hint = f"write '{loc[-1]}: {{{switch[0]}: {str(inp).lower()}}}'; {hint}"
    return hint


def _clean_loc(loc: tuple[Any, ...]) -> tuple[PathKey, bool]:
    """Drop pydantic's union / validator markers from a location; say whether any were there.

    Markers look like ``function-after[_check(), Traffic]``, ``nullable[float]``, ``int`` or
    ``str`` (the branches of ``int | str``); they never stand first in a location.
    """
    out: list[str | int] = []
    union = False
    for part in loc:
        if isinstance(part, str) and out and _is_marker(part):
            union = True
            continue
        out.append(part)
    return tuple(out), union


def _is_marker(part: str) -> bool:
    return (part.startswith("function-") or bool(re.fullmatch(r"[a-z][a-z-]*\[.*\]", part))
        or part in _SCALAR_MARKERS)


def _literal_values(err: Any) -> list[str]:
    expected = str(err.get("ctx", {}).get("expected", ""))
    vals = re.findall(r"'((?:[^'\\]|\\.)*)'", expected)
    if not vals:  # numbers / booleans: "1, 2 or 3"
        vals = [v.strip() for v in re.split(r",| or ", expected) if v.strip()]
    return vals


def _describe(info: FieldInfo | None) -> str:
    if info is None or not info.description:
        return ""
    d = info.description.strip().rstrip(".")
    return d[:1].lower() + d[1:] if d[:2] != d[:2].upper() else d


def _unknown_key_hint(model: type[BaseModel], loc: PathKey, key: str) -> str:
    """The fix for an unknown ``key`` at ``loc``: the model's own hint for it (its
    ``UNKNOWN_KEY_HINTS``: an SLO under a request class), a close key here, the section the key
    belongs to, else the keys allowed here."""
    owner = _model_at(model, loc[:-1])
    if special := getattr(owner, "UNKNOWN_KEY_HINTS", {}).get(key):
        return str(special)
    names = _field_names(owner) if owner else []
    close = (difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        or difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.6))
    if close:
        return f"did you mean {close[0]!r}?"
    elsewhere = _elsewhere(model, key, loc[:-1])
    if elsewhere and elsewhere.rsplit(".", 1)[-1] == key:  # not "did you mean 'slo'?"
        return f"{key!r} belongs at {elsewhere}, in another section"
    if elsewhere:
        return f"did you mean {elsewhere!r}? it belongs under another section"
    return "allowed keys here: " + ", ".join(sorted(names)) if names else ""


def _one(err: Any, model: type[BaseModel], loc: PathKey) -> tuple[str, str]:
    """(message, hint) for one pydantic error at the cleaned location ``loc``."""
    typ: str = err["type"]
    msg: str = err["msg"]
    inp = err.get("input")
    ctx = err.get("ctx") or {}
    _, info = _field_at(model, loc)
    hint = ""
    if typ == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        return f"unknown key {key!r}", _unknown_key_hint(model, loc, key)
    if typ == "missing":
        name = loc[-1] if loc else "?"
        desc = _describe(info)
        return "required field is missing", f"add '{name}:'" + (f"; {desc}" if desc else "")
    if typ in {"literal_error", "enum"}:
        vals = _literal_values(err)
        msg = f"must be {vals[0]!r}" if len(vals) == 1 else "must be one of " + ", ".join(vals)
        msg += f"; got {shown(inp)}"
        close = difflib.get_close_matches(str(inp), vals, n=1,
            cutoff=0.5) if isinstance(inp, str) else []
        # a prefix of several values ('keda'): each of them, not the shortest close one
        starts = [v for v in vals if isinstance(inp, str) and inp and v.startswith(inp)]
        close = _same_value(inp, vals) or close
        if len(vals) == 1 and loc:
            hint = f"write '{loc[-1]}: {vals[0]}'"
        elif len(starts) > 1:
            hint = f"did you mean {or_list([repr(v) for v in starts])}?"
        elif close:
            hint = f"did you mean {close[0]!r}?"
        return msg, hint
    if typ == "value_error":
        fixed = _fixed(err)
        if fixed is not None:
            return fixed.message, fixed.hint
        return msg.removeprefix("Value error, "), hint
    if typ == "assertion_error":
        return msg.removeprefix("Assertion failed, "), ""
    if typ in _TYPE_OF:
        word = _EXPECTED[_TYPE_OF[typ]]
        if typ == "int_from_float":
            msg = f"must be a whole number; got {shown(inp)}"
        elif isinstance(inp, bool) and _TYPE_OF[typ] in {"int", "float"}:
            msg = f"must be {word}; got {str(inp).lower()}"
            hint = "YAML reads yes/no/on/off/true/false as booleans"
        else:
            msg = f"must be {word}; got {shown(inp)}"
        if _TYPE_OF[typ] == "string" and isinstance(inp, int | float) and not isinstance(inp, bool):
            hint = f'quote it: "{inp}"'
        elif _TYPE_OF[typ] == "string" and isinstance(inp, bool):
            hint = (f'quote it, e.g. "{str(inp).lower()}": YAML reads unquoted '
                'yes/no/on/off/true/false as booleans')
        elif _TYPE_OF[typ] in {"model", "dict"}:
            owner = _model_at(model, loc)
            if owner is not None:
                hint = _keys_hint(owner, inp, loc)
            else:
                hint = "write it as 'key: value' lines indented under this key"
        elif _TYPE_OF[typ] in {"list", "tuple", "set"}:
            hint = "write it as [a, b] or as '- item' lines"
        if not hint:
            hint = _describe(info)
        return msg, hint
    if typ == "finite_number":
        return f"must be a finite number; got {shown(inp)}", _describe(info)
    if typ in _BOUNDS:
        key, words = _BOUNDS[typ]
        bound = ctx.get(key)
        shown_bound = f"{bound:g}" if isinstance(bound, float) else str(bound)
        hint = _percent_hint(typ, bound, inp, _describe(info))
        return f"must be {words} {shown_bound}; got {shown(inp)}", hint
    if typ in {"too_short", "too_long"}:
        n = ctx.get("min_length" if typ == "too_short" else "max_length")
        words = "at least" if typ == "too_short" else "at most"
        got = len(inp) if isinstance(inp, list | tuple | dict | str) else ctx.get("actual_length")
        return f"must have {words} {n} item{'s' if n != 1 else ''}; got {got}", _describe(info)
    if typ in {"string_too_long", "string_too_short", "string_pattern_mismatch"}:
        return _string_said(msg, ctx) + f"; got {shown(inp)}", _describe(info)
    text = msg[:1].lower() + msg[1:]
    text = text.replace("input should be", "must be")
    return text, _describe(info)


def _percent_hint(typ: str, bound: Any, inp: Any, hint: str) -> str:
    """A fraction's bound (at most 1) broken by a percent typed in (``max_fraction: 60``, from 2
    to 100, as ``traffic.headroom``'s warning guesses): the fraction first, then ``hint``.
    UX trial 34 F5: 'must be at most 1; got 60' named no value."""
    number = isinstance(inp, int | float) and not isinstance(inp, bool)
    if typ != "less_than_equal" or bound != 1 or not number or not 2 <= inp <= 100:
        return hint
    guess = f"did you mean {inp / 100:g}? the field is a fraction (0 to 1), not a percent"
    return f"{guess}; {hint}" if hint else guess


def _string_said(msg: str, ctx: dict[str, Any]) -> str:
    """A string's length or pattern error: a pattern of :data:`_PATTERN_WORDS` in words."""
    words = _PATTERN_WORDS.get(str(ctx.get("pattern")))
    if words is not None:
        return f"must be {words}"
    return msg.replace("String should", "must").replace("string should", "must")


def problems_from_validation(
    exc: ValidationError, model: type[BaseModel], lines: LineMap | None = None, prefix: PathKey = ()
) -> list[Problem]:
    """One :class:`Problem` per distinct (path, message), in the order pydantic found them.

    Errors from the branches of a union (``int | str``) at the same path are merged into one
    ``must be a whole number or a string`` problem.
    """
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    union_at: dict[PathKey, int] = {}
    errors = exc.errors(include_url=False)
    if len(errors) > MAX_PROBLEMS * 4:  # 200,000 unknown keys: no did-you-mean for each of them
        more = len(errors) - MAX_PROBLEMS
        errors = errors[:MAX_PROBLEMS]
    else:
        more = 0
    for i, err in enumerate(errors):
        loc, union = _clean_loc(tuple(err["loc"]))
        if err["type"] == "value_error" and (fixed := _fixed(err)) is not None:
            loc = (*loc, *fixed.at)
        inp = err.get("input")
        if (err["type"] == "too_short" and isinstance(inp, list | tuple)
                and len(inp) >= (err.get("ctx") or {}).get("min_length", 0)):
            continue  # long enough as written: its items failed, and those errors say why
        path = (*prefix, *loc)
        where = format_path(path)
        msg, hint = _one(err, model, loc)
        line = lines.line_of(path) if lines is not None else None
        if union and err["type"] in _TYPE_OF and path in union_at:
            i = union_at[path]
            old = problems[i]
            word = _EXPECTED[_TYPE_OF[err["type"]]]
            head, sep, tail = old.message.partition("; got ")
            if word not in head:
                problems[i] = Problem(old.where, f"{head} or {word}{sep}{tail}", hint=old.hint,
                    line=old.line)
            continue
        if (where, msg) in seen:
            continue
        seen.add((where, msg))
        if union and err["type"] in _TYPE_OF:
            union_at[path] = len(problems)
        problems.append(Problem(where, msg, hint=hint, line=line))
        if len(problems) >= MAX_PROBLEMS:
            more += len(errors) - i - 1
            break
    if more:
        problems.append(Problem("", f"... and {counted(more, 'more problem')} not listed",
            hint=f"fix the first {MAX_PROBLEMS} and run again"))
    return problems


class Fixed(str):
    """A validator's ValueError message with its fix, as fields that pydantic carries through
    (the error it keeps in ``ctx['error']``): :func:`problems_from_validation` reads them and
    never the text, which is ``message | fix: hint`` (`` | at: key`` with a key) where a pydantic
    error is printed whole."""

    message: str
    hint: str
    at: PathKey  # the key below the validated model the problem is about; () for the model's


def fix(message: str, hint: str, *, at: str = "") -> str:
    """Build a ValueError message that carries a fix hint through pydantic (a :class:`Fixed`).

    ``at`` names the key below the validated model that the problem is about (a model
    validator on ``traffic`` says ``at="classes"``), so that the message points there.
    """
    out = Fixed(f"{message}{_FIX_SEP}{hint}" + (f"{_AT_SEP}{at}" if at else ""))
    out.message, out.hint, out.at = message, hint, _at_path(at)
    return out


def _at_path(at: str) -> tuple[str | int, ...]:
    """``traffic.classes[1].slo`` as the path ("traffic", "classes", 1, "slo"), so that the
    problem's line is the item's, not its list's."""
    out: list[str | int] = []
    for part in at.split(".") if at else ():
        key, *idx = part.replace("]", "").split("[")
        out.append(key)
        out.extend(int(i) for i in idx if i.isdigit())
    return tuple(out)


def _fixed(err: Any) -> Fixed | None:
    """The :class:`Fixed` a ``value_error`` was raised with (None: a plain ValueError)."""
    exc = (err.get("ctx") or {}).get("error")
    arg = exc.args[0] if isinstance(exc, ValueError) and exc.args else None
    return arg if isinstance(arg, Fixed) else None


def _numeric(ann: Any) -> bool:
    """Whether ``ann`` is (or holds, as list items or mapping values) an int or a float."""
    if ann in (int, float):
        return True
    return any(_numeric(a) for a in typing.get_args(ann) if a is not bool)


def refuse_bool_numbers(model: type[BaseModel], data: Any) -> Any:
    """Raise if a YAML boolean stands where ``model`` wants a number (also inside lists).

    YAML reads ``yes``/``no``/``on``/``off`` as booleans and pydantic's lax mode reads True as
    1; so ``hourly_rps: [yes, ...]`` would silently become 1 request/s. Used as a
    ``model_validator(mode="before")`` by spec, profile, plan and catalog models.
    """
    if not isinstance(data, dict):
        return data
    for key in _number_keys(model):
        if key not in data:
            continue
        v = data[key]
        items = (list(v.values()) if isinstance(v, dict) else list(v) if isinstance(v, list | tuple)
            else [v])
        for i, x in enumerate(items):
            if isinstance(x, bool):
                item = f"item {i} " if isinstance(v, list | tuple) else ""
                raise ValueError(fix(f"{item}must be a number; got {str(x).lower()}",
                    "YAML reads yes/no/on/off/true/false as booleans; write a number", at=key))
    return data


class StrictModel(BaseModel):
    """The base of the file formats' models (profile, plan, observed, catalog): unknown keys,
    inf/nan and a YAML boolean (``yes``) where a number belongs are refused; values are frozen.
    The spec's models add their own rules (scaleplan/spec.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        return refuse_bool_numbers(cls, data)


def _has_bool(ann: Any) -> bool:
    return ann is bool or any(_has_bool(a) for a in typing.get_args(ann))


@functools.cache
def _number_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys of ``model``'s number fields (no bool allowed), in field order: worked out once
    per model class, not on every row validated (a catalog has hundreds)."""
    return tuple(f.alias or name for name,
        f in model.model_fields.items() if _numeric(f.annotation) and not _has_bool(f.annotation))


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def refuse_control_chars(data: Any) -> Any:
    """Raise if a string value (or a string in a list) of a mapping holds control characters.

    Catalog rows and profile metadata are printed by ``catalog list`` and friends; an ESC/OSC
    sequence there would rewrite a terminal or a CI log. Used as a ``model_validator(mode="before")``.
    """
    if not isinstance(data, dict):
        return data
    for key, v in data.items():
        items = v if isinstance(v, list | tuple) else [v]
        for x in items:
            if isinstance(x, str) and _CONTROL_CHARS.search(x):
                raise ValueError(fix(f"{shown(x)} contains control characters (ESC, NUL, ...)",
                    "remove them; names and notes are plain text", at=str(key)))
    return data


def format_json_schema(model: type[BaseModel], name: str | None = None,
        title: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one of scaleplan's file formats, as ``scaleplan schema`` prints it:
    pydantic's schema plus the draft, and the format's ``$id`` and title when it has them."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if name is not None:
        schema["$id"] = f"https://scaleplan.dev/schemas/{name}-v1.json"
    if title is not None:
        schema["title"] = title
    return schema


_M = TypeVar("_M", bound=BaseModel)


def validate_document(model: type[_M], doc: Document, error: type[InputError],
        file: str | None = None) -> _M:
    """``doc`` as a ``model`` (a file format), or ``error`` (the format's InputError) listing
    every problem with its YAML path and line."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise error(doc.file if file is None else file,
            problems_from_validation(exc, model, doc.lines)) from None
