"""scaleplan.check: schema, best-practice, GPU and drift checks for Kubernetes manifests.

Library API::

    from scaleplan.check import check_paths
    from scaleplan.inputs import load_tables
    report = check_paths(["deploy/"], kube_version="1.33", catalog=load_tables)
    report.failed("error")  # -> bool
"""

from scaleplan.check.context import DEFAULT_KUBE_VERSION
from scaleplan.check.engine import (
    check_objects,
    check_paths,
    check_text,
    normalise_kube_version,
    select_rules,
    supported_kube_versions,
)
from scaleplan.check.model import IGNORE_ANNOTATION, CheckReport, Finding, K8sObject, Rule
from scaleplan.check.rules import RULES, RULES_BY_ID

__all__ = [
    "DEFAULT_KUBE_VERSION",
    "IGNORE_ANNOTATION",
    "RULES",
    "RULES_BY_ID",
    "CheckReport",
    "Finding",
    "K8sObject",
    "Rule",
    "check_objects",
    "check_paths",
    "check_text",
    "normalise_kube_version",
    "select_rules",
    "supported_kube_versions",
]
