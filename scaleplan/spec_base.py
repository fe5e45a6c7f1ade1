"""The base of the spec's pydantic models (:mod:`scaleplan.spec`): frozen, no extra keys,
and no YAML boolean read as a number."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from scaleplan.problems import fix, refuse_bool_numbers


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

    @model_validator(mode="before")
    @classmethod
    def _no_bool_items(cls, data: Any) -> Any:
        return refuse_bool_numbers(cls, data)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        """YAML reads yes/no/on/off as booleans; never let one pass as the number 1 or 0."""
        if isinstance(v, bool) and info.field_name is not None:
            ann = cls.model_fields[info.field_name].annotation
            if ann in _NUMERIC:
                raise ValueError(fix(
                    f"must be a number; got {str(v).lower()}",
                    "YAML reads yes/no/on/off/true/false as booleans; write a number",
                ))
        return v


_NUMERIC: tuple[Any, ...] = (int, float, int | None, float | None)


class OmittingModel(SpecModel):
    """A spec model with fields added after plans were written (its OMITTED): left out of the
    dump while at their default, so a plan's copy of a spec that does not set them (and its
    hash) is the same as before the fields existed."""

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self.without_omitted(handler(self))
