"""Turn pydantic validation errors into :class:`~scaleplan.errors.Problem` lists.

Each problem names the YAML path (``slo.percentile``), the line when known, what is wrong in
plain words, and a fix: "did you mean" for misspelt keys, the allowed values for enums.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from scaleplan.errors import Problem
from scaleplan.yamlio import LineMap, PathKey, format_path


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow ``loc`` through nested model fields to find the model that owns the last key."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            alias_map = {f.alias: f for f in current.model_fields.values() if f.alias}
            field = alias_map.get(part)
        if field is None:
            return None
        ann = field.annotation
        # unwrap Optional / list / tuple / dict
        for _ in range(4):
            args = typing.get_args(ann)
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                break
            cands = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if cands:
                ann = cands[0]
                break
            nested = [a for a in args if typing.get_args(a)]
            if not nested:
                break
            ann = nested[0]
        current = ann
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _clean_loc(loc: tuple[Any, ...]) -> PathKey:
    """Drop pydantic's union/tagged-union markers from a location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part.startswith("function-") or part in {"str", "int", "float", "list[float]", "list[int]"} or "[" in part and part.endswith("]") and not part.startswith("[")):
            continue
        out.append(part)
    return tuple(out)


def problems_from_validation(
    exc: ValidationError, model: type[BaseModel], lines: LineMap | None = None, prefix: PathKey = ()
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        path = (*prefix, *loc)
        where = format_path(path)
        typ = err["type"]
        msg = err["msg"]
        hint = ""
        inp = err.get("input")
        if typ == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            owner = _model_at(model, loc[:-1])
            names = _field_names(owner) if owner else []
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            msg = f"unknown key {key!r}"
            if close:
                hint = f"did you mean {close[0]!r}?"
            elif names:
                hint = "allowed keys here: " + ", ".join(sorted(names))
        elif typ == "missing":
            msg = "required field is missing"
            hint = f"add '{loc[-1]}:'" if loc else ""
        elif typ in {"literal_error", "enum"}:
            expected = err.get("ctx", {}).get("expected", "")
            msg = f"must be one of {expected}; got {inp!r}"
        elif typ.endswith("_type") or typ.endswith("_parsing"):
            msg = f"{msg[0].lower()}{msg[1:]}; got {inp!r}" if not isinstance(inp, dict | list) else f"{msg[0].lower()}{msg[1:]}; got a {type(inp).__name__}"
        elif typ == "value_error":
            msg = msg.removeprefix("Value error, ")
            if " | fix: " in msg:
                msg, hint = msg.split(" | fix: ", 1)
        elif typ in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
            msg = f"{msg[0].lower()}{msg[1:]}; got {inp!r}"
        else:
            msg = f"{msg[0].lower()}{msg[1:]}"
        key2 = (where, msg)
        if key2 in seen:
            continue
        seen.add(key2)
        line = lines.line_of(path) if lines is not None else None
        problems.append(Problem(where, msg, hint=hint, line=line))
    return problems


def fix(message: str, hint: str) -> str:
    """Build a ValueError message that carries a fix hint through pydantic."""
    return f"{message} | fix: {hint}"
