"""Issue 19 must-show: random Unicode (control characters, newlines, '---', quotes) in every
user-provided name of a plan is either refused (PlanError: exit 3 on the CLI) or renders
manifests that parse back to the same objects, pass strict schema validation and raise no
`api-rejects` or `schema` finding in `scaleplan check`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hardening_helpers import EXAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleplan.catalog.model import Catalog
from scaleplan.check import check_text
from scaleplan.check.schema_cache import validate_object
from scaleplan.errors import PlanError
from scaleplan.plan import Plan
from scaleplan.render import render_report
from scaleplan.yamlio import load_yaml, parse_yaml_documents

BASE: dict[str, Any] = load_yaml(EXAMPLE / "plan.yaml", what="plan").data

# Text that stresses YAML and Kubernetes: controls, newlines, document markers, quotes,
# plus plain DNS-ish pieces so that some examples are valid names.
HOSTILE = st.one_of(
    st.text(min_size=0, max_size=70),
    st.text(alphabet=st.sampled_from(list("abc-z09.\n\r\t\x00\x1b\x85\u2028'\"---: #{}[]&*!|>%@`")), max_size=40),
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\n|---|\"|')?", fullmatch=True),
)


def _set_spec(path: tuple[str, ...]) -> Callable[[dict[str, Any], str], None]:
    def fn(d: dict[str, Any], v: str) -> None:
        cur = d["spec"]
        for p in path[:-1]:
            cur = cur.setdefault(p, {})
        cur[path[-1]] = v

    return fn


def _set_key(path: tuple[str, ...], value: str = "x") -> Callable[[dict[str, Any], str], None]:
    def fn(d: dict[str, Any], v: str) -> None:
        cur = d["spec"]
        for p in path:
            cur = cur.setdefault(p, {})
        cur[v] = value

    return fn


def _set_map_value(path: tuple[str, ...], key: str) -> Callable[[dict[str, Any], str], None]:
    def fn(d: dict[str, Any], v: str) -> None:
        cur = d["spec"]
        for p in path:
            cur = cur.setdefault(p, {})
        cur[key] = v

    return fn


def _set_alloc(field: str) -> Callable[[dict[str, Any], str], None]:
    def fn(d: dict[str, Any], v: str) -> None:
        d["allocations"][0][field] = v

    return fn


FIELDS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "metadata.name": _set_spec(("metadata", "name")),
    "metadata.labels key": _set_key(("metadata", "labels")),
    "metadata.labels value": _set_map_value(("metadata", "labels"), "team"),
    "metadata.annotations key": _set_key(("metadata", "annotations")),
    "metadata.annotations value": _set_map_value(("metadata", "annotations"), "note"),
    "kubernetes.namespace": _set_spec(("kubernetes", "namespace")),
    "kubernetes.image": _set_spec(("kubernetes", "image")),
    "kubernetes.env name": _set_key(("kubernetes", "env")),
    "kubernetes.env value": _set_map_value(("kubernetes", "env"), "MODE"),
    "kubernetes.probes.path": _set_spec(("kubernetes", "probes", "path")),
    "allocation name": _set_alloc("name"),
    "allocation instance_type": _set_alloc("instance_type"),
    "allocation region": _set_alloc("region"),
}


@pytest.mark.parametrize("field", list(FIELDS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(value=HOSTILE)
def test_hostile_names_are_refused_or_render_valid_manifests(
    tables: Catalog, field: str, value: str
) -> None:
    data = copy.deepcopy(BASE)
    FIELDS[field](data, value)
    try:
        plan = Plan.model_validate(data)
        report = render_report(plan, tables, source="plan.yaml")
    except PlanError:
        return  # refused: exit 3 on the CLI
    except Exception as exc:  # pydantic's ValidationError is what parse_plan turns into PlanError
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            return
        raise
    for o in report.objects:
        docs = parse_yaml_documents(report.files[o.file], o.file)
        assert [d.data for d in docs] == [o.obj], f"{field}={value!r}: {o.file} does not parse back"
        assert validate_object(o.obj, "1.37") == [], f"{field}={value!r}: {o.kind}/{o.name}"
        assert "\n" not in o.file and "\x00" not in o.file
    text = "---\n".join(report.files[f] for f in sorted(report.files) if f.endswith(".yaml") and f != "kustomization.yaml")
    findings = check_text(text, "manifests.yaml", catalog=tables).findings
    bad = [f for f in findings if f.rule in ("api-rejects", "schema", "unknown-kind")]
    assert not bad, f"{field}={value!r}: {[f.message for f in bad]}"
