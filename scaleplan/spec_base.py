"""The base of the spec's pydantic models (:mod:`scaleplan.spec`): frozen, no extra keys,
and no YAML boolean read as a number."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from scaleplan.problems import refuse_bool_numbers


class SpecModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    # fields left out of the dump while at their default (a model's serializer calls
    # without_omitted): added after plans were written, so an old plan's spec reads the same
    OMITTED: ClassVar[tuple[str, ...]] = ()

    def without_omitted(self, data: Any) -> Any:
        """``data`` (this model serialised) without those of OMITTED at their default."""
        if isinstance(data, dict):
            for f in self.OMITTED:
                value = data.get(f)  # a tuple field dumps as a list in JSON mode
                value = tuple(value) if isinstance(value, list) else value
                if f in data and value == type(self).model_fields[f].default:
                    data.pop(f)
        return data

    # Runs before any field is validated, on every number field (also list items and mapping
    # values): a field-level twin (``field_validator("*")``) never saw a boolean this had not
    # refused first, and wrapped each of the spec's ~120 fields in a Python validator, built
    # on every start-up (issue 20: ~1.3 % of `optimize`'s instructions)
    @model_validator(mode="before")
    @classmethod
    def _no_bool_items(cls, data: Any) -> Any:
        return refuse_bool_numbers(cls, data)


class OmittingModel(SpecModel):
    """A spec model with fields added after plans were written (its OMITTED): left out of the
    dump while at their default, so a plan's copy of a spec that does not set them (and its
    hash) is the same as before the fields existed."""

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self.without_omitted(handler(self))
