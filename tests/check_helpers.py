"""Helpers for the check tests: the clean GPU service and one-change mutations of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scaleplan.yamlio import dump_yaml_all, parse_yaml_documents, read_text

DATA = Path(__file__).parent / "data" / "check"
CLEAN = DATA / "clean" / "app.yaml"

Docs = list[dict[str, Any]]


def clean_docs() -> Docs:
    return [copy.deepcopy(d.data) for d in parse_yaml_documents(read_text(CLEAN), str(CLEAN))]


def by_kind(docs: Docs, kind: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind)


def pod(docs: Docs) -> dict[str, Any]:
    return by_kind(docs, "Deployment")["spec"]["template"]["spec"]


def container(docs: Docs) -> dict[str, Any]:
    return pod(docs)["containers"][0]


def mutated(fn: Callable[[Docs], None]) -> str:
    docs = clean_docs()
    fn(docs)
    return dump_yaml_all(docs)
