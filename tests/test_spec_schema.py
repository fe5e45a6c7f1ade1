"""`scaleplan schema spec|profile|plan|catalog`: valid JSON Schemas that agree with the models."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from pydantic import BaseModel
from spec_helpers import GOOD, GOOD_PROFILE, ROOT, SPECS

from scaleplan.yamlio import load_yaml

KINDS = ("spec", "profile", "plan", "catalog")


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, object]]:
    from typer.testing import CliRunner

    from scaleplan.cli import app

    out: dict[str, dict[str, object]] = {}
    for kind in KINDS:
        result = CliRunner().invoke(app, ["schema", kind], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        out[kind] = json.loads(result.stdout)  # the whole of stdout is one JSON document
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_a_valid_draft_2020_12_schema(schemas: dict[str, dict[str, object]], kind: str) -> None:
    schema = schemas[kind]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_good_spec_and_profile_validate_against_their_schemas(schemas: dict[str, dict[str, object]]) -> None:
    jsonschema.Draft202012Validator(schemas["spec"]).validate(load_yaml(GOOD).data)
    jsonschema.Draft202012Validator(schemas["profile"]).validate(load_yaml(GOOD_PROFILE).data)


def test_shipped_catalog_validates_against_catalog_schema(schemas: dict[str, dict[str, object]]) -> None:
    data = load_yaml(ROOT / "catalogs" / "aws.yaml", what="catalog").data
    jsonschema.Draft202012Validator(schemas["catalog"]).validate(data)


@pytest.mark.parametrize(
    ("fixture", "path"),
    [
        ("bad-percentile-97.yaml", ["slo", "percentile"]),
        ("bad-misspelt-key.yaml", ["slo"]),
        ("bad-wrong-type.yaml", ["slo", "latency_ms"]),
        ("bad-hourly-23.yaml", ["traffic", "hourly_rps"]),
        ("bad-name-upper.yaml", ["metadata", "name"]),
        ("bad-kind.yaml", ["kind"]),
    ],
)
def test_bad_spec_fails_the_schema_at_the_same_place(schemas: dict[str, dict[str, object]], fixture: str, path: list[str]) -> None:
    data = yaml.safe_load((SPECS / fixture).read_text())
    errors = list(jsonschema.Draft202012Validator(schemas["spec"]).iter_errors(data))
    assert errors, f"{fixture} passed the JSON Schema"
    assert any(list(e.absolute_path) == path for e in errors), [(list(e.absolute_path), e.message) for e in errors]


def test_autoscaler_shorthand_is_in_the_schema(schemas: dict[str, dict[str, object]]) -> None:
    data = yaml.safe_load(GOOD.read_text())
    data["kubernetes"]["autoscaler"] = "keda-prometheus"
    jsonschema.Draft202012Validator(schemas["spec"]).validate(data)
    data["kubernetes"]["autoscaler"] = "autoscale-please"
    assert not jsonschema.Draft202012Validator(schemas["spec"]).is_valid(data)


def test_every_spec_field_has_a_description(schemas: dict[str, dict[str, object]]) -> None:
    from scaleplan import spec as spec_mod

    missing = []
    models = [c for c in vars(spec_mod).values() if isinstance(c, type) and issubclass(c, BaseModel) and c.__module__ == spec_mod.__name__]
    assert len(models) > 10
    for model in models:
        for name, info in model.model_fields.items():
            if not info.description:
                missing.append(f"{model.__name__}.{name}")
    assert missing == []


def test_unknown_schema_name_is_a_usage_error(cli) -> None:
    result = cli(["schema", "manifest"], exit_code=2)
    assert "must be one of spec, profile, plan, catalog" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_schema_without_argument_is_a_usage_error(cli) -> None:
    cli(["schema"], exit_code=2)


def _field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    import typing

    from scaleplan.problems import _inner_model

    out = []
    for name, info in model.model_fields.items():
        path = prefix + name
        out.append(path)
        inner = _inner_model(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out += _field_paths(inner, path + ("[]." if typing.get_origin(info.annotation) is tuple else "."))
    return out


def test_docs_spec_md_documents_every_field() -> None:
    from scaleplan.spec import Spec

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    missing = [p for p in _field_paths(Spec) if f"| `{p}` |" not in text]
    assert missing == [], "fields missing from the table in docs/spec.md"


def test_file_formats_build_on_one_strict_base() -> None:
    """Profile, plan, observed and catalog models share StrictModel (each file had its own copy);
    the catalog adds its control-character rule and keeps the boolean one."""
    from pydantic import ValidationError

    from scaleplan.catalog.model import InstanceRow
    from scaleplan.observe.model import Observed
    from scaleplan.plan import OperatingPoint, Plan
    from scaleplan.problems import StrictModel
    from scaleplan.profile.model import Profile

    assert all(issubclass(m, StrictModel) for m in (InstanceRow, Observed, Plan, Profile))
    row = {"provider": "aws", "region": "r", "instance_type": "x", "family": "x", "vcpus": 4}
    row |= {"memory_gib": 16, "price_ondemand": 1.0}
    assert InstanceRow.model_validate(row).vcpus == 4
    with pytest.raises(ValidationError, match="must be a number; got true"):
        InstanceRow.model_validate({**row, "vcpus": True})
    with pytest.raises(ValidationError, match="control characters"):
        InstanceRow.model_validate({**row, "family": "x\x1b[31m"})
    with pytest.raises(ValidationError, match="must be a number; got true"):
        OperatingPoint.model_validate({"batch_size": True})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        InstanceRow.model_validate({**row, "colour": "red"})


def test_plan_schema_says_what_the_cost_fields_are(schemas: dict[str, dict[str, object]]) -> None:
    """An editor hovering plan.yaml's costs reads what they are: the mean over the day's
    windows (not the peak), a 730-hour month, requests without headroom, node prices only."""
    props = schemas["plan"]["properties"]
    assert isinstance(props, dict)
    hour = props["cost_per_hour"]["description"]
    assert "mean" in hour and "peak" in hour and "node" in hour
    assert "730" in props["cost_per_month"]["description"]
    assert "headroom" in props["cost_per_million_requests"]["description"]
