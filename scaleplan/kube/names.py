"""One set of Kubernetes name validators for spec, plan, render and check (their grammars).

Every compiled pattern is matched with :meth:`re.Pattern.fullmatch` and anchored with
``\\Z``: ``$`` in Python also matches before a final newline, so
``re.match(r"^[a-z]+$", "vision\\n")`` succeeds, and a name with a trailing newline would reach
a manifest as a ``name: |`` block and a file called ``service-vision\\n.yaml``. Use the
functions here (or the patterns with ``fullmatch``), never ``re.match`` on a ``$``-anchored
pattern. The ``^...$`` strings below (GATEWAY_NAME, SECRET_KEY, EKS_CLUSTER, HF_REVISION)
are no exception: they are JSON schema patterns for pydantic's ``Field(pattern=...)`` only,
whose regex engine matches ``$`` at the very end (as :func:`schema_pattern`'s output).
"""

from __future__ import annotations

import re

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?\Z")
QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
HOSTNAME = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")  # Gateway API Hostname
HTTP_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*\Z")
# A container image reference (github.com/distribution/reference grammar, simplified):
# [registry[:port]/]path[:tag][@algorithm:hex]. Nothing a shell or YAML would interpret.
IMAGE = re.compile(
    r"(?P<name>(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?\Z"
)

INT32_MAX = 2**31 - 1

# Spec fields' patterns as JSON schema spells them (pydantic's Field(pattern=...)); the words
# each is explained in when a value does not match: scaleplan.problems.PATTERN_WORDS.
GATEWAY_NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"  # a Gateway or its namespace (a label)
SECRET_KEY = r"^[-._a-zA-Z0-9]{1,253}$"  # a key of a Secret's data
EKS_CLUSTER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
HF_REVISION = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$"


def schema_pattern(pattern: re.Pattern[str]) -> str:
    """One of these patterns as a JSON schema (and pydantic's ``Field(pattern=...)``) spells
    it: anchored with ``^`` and ``$``, which there match at the very end only."""
    return "^" + pattern.pattern.removesuffix("\\Z") + "$"


def is_dns_label(name: object, max_len: int = 63) -> bool:
    """A DNS-1123 label (Kubernetes object names such as Services, namespaces)."""
    return isinstance(name, str) and len(name) <= max_len and DNS_LABEL.fullmatch(name) is not None


def is_dns_subdomain(name: object, max_len: int = 253) -> bool:
    """A DNS-1123 subdomain (most Kubernetes object names: Deployments, ConfigMaps...)."""
    return (isinstance(name, str) and len(name) <= max_len
        and DNS_SUBDOMAIN.fullmatch(name) is not None)


def is_label_value(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 63 and LABEL_VALUE.fullmatch(value) is not None


def is_label_key(key: object) -> bool:
    """``[prefix/]name``: name a qualified name of at most 63, prefix a DNS subdomain."""
    if not isinstance(key, str):
        return False
    prefix, slash, name = key.rpartition("/")
    ok = len(name) <= 63 and QUALIFIED_NAME.fullmatch(name) is not None
    if slash:
        ok = ok and is_dns_subdomain(prefix)
    return ok
