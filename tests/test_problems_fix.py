"""A validator's fix travels through pydantic as fields (problems.Fixed), not as text that
problems_from_validation splits again: a message holding the separators' words stays whole."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from scaleplan.errors import Problem
from scaleplan.problems import fix, problems_from_validation


class _Inner(BaseModel):
    name: str
    size: int = 0

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v == "plain":  # a ValueError without a fix: its message, no hint
            raise ValueError(f"plain {v!r} | fix: not a hint")
        if v != "ok":
            raise ValueError(fix(f"unknown name {v!r}", "use 'ok'"))
        return v

    @model_validator(mode="after")
    def _size(self) -> _Inner:
        if self.size < 0:
            raise ValueError(fix(f"size {self.size} | at: name is negative", "use 0", at="size"))
        return self


class _Outer(BaseModel):
    inner: _Inner


def _problems(data: dict[str, Any]) -> list[Problem]:
    with pytest.raises(ValidationError) as exc:
        _Outer.model_validate(data)
    return problems_from_validation(exc.value, _Outer)


def test_the_fix_and_its_key_are_read_from_the_error_not_split_from_its_text() -> None:
    (p,) = _problems({"inner": {"name": "x | fix: y"}})
    assert (p.where, p.message, p.hint) == ("inner.name", "unknown name 'x | fix: y'", "use 'ok'")
    (p,) = _problems({"inner": {"name": "ok", "size": -1}})
    assert (p.where, p.message, p.hint) == ("inner.size", "size -1 | at: name is negative", "use 0")
    (p,) = _problems({"inner": {"name": "plain"}})
    assert (p.where, p.message, p.hint) == ("inner.name", "plain 'plain' | fix: not a hint", "")


def test_a_fix_prints_as_before_where_the_error_is_shown_whole() -> None:
    assert fix("m", "h", at="a.b") == "m | fix: h | at: a.b"
    assert fix("m", "h") == "m | fix: h"
