"""The JSON Schema of each file format, by kind (``scaleplan schema KIND``, for editors' YAML
language servers). Each format's module is imported only when its schema is asked for."""

from __future__ import annotations

from typing import Any

from scaleplan.errors import OptionError

KINDS = ("spec", "profile", "plan", "catalog", "observed")


def json_schema(kind: str) -> dict[str, Any]:
    """The schema of ``kind``; an unknown kind is a usage error (exit 2)."""
    if kind not in KINDS:
        raise OptionError(f"must be one of {', '.join(KINDS)}; got {kind!r}", option="KIND")
    if kind == "spec":
        from scaleplan.spec import spec_json_schema

        return spec_json_schema()
    if kind == "profile":
        from scaleplan.profile.model import profile_json_schema

        return profile_json_schema()
    if kind == "plan":
        from scaleplan.plan import plan_json_schema

        return plan_json_schema()
    if kind == "observed":
        from scaleplan.observe.model import observed_json_schema

        return observed_json_schema()
    from scaleplan.catalog.model import CatalogFile
    from scaleplan.problems import format_json_schema

    return format_json_schema(CatalogFile)
