"""Checks on every string that flows from a spec or plan into a manifest (render's plan checks
and the spec checks before solving both use them; below both, in the Kubernetes layer).

The renderer emits YAML only through a safe dumper (``scaleplan.yamlio.dump_yaml``), so no
string can add keys or documents. What this module guards against is a manifest that
Kubernetes would reject or misread: names that are not DNS-1123 labels, label keys and values
outside Kubernetes' syntax, control characters, 300-character names. Names that scaleplan
derives itself (Deployment and NodePool names) are **sanitized** and reported as warnings;
values the user wrote (labels, annotations, env, probe paths, image) are **rejected** with a
problem naming the plan field and the fix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from scaleplan.errors import Problem
from scaleplan.kube import names

# the non-root user and group the pods scaleplan writes run as: render's Deployments and
# profile --emit-jobs' Jobs (one uid, so that an image built for one runs as the other)
RUN_AS = 65532


def pod_security_context() -> dict[str, Any]:
    """A pod's securityContext: non-root as :data:`RUN_AS` (user, group and fsGroup), under
    the container runtime's default seccomp profile."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(read_only_root: bool) -> dict[str, Any]:
    """A container's securityContext: unprivileged, no privilege escalation, every capability
    dropped, non-root, and the root filesystem read-only when ``read_only_root``."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }

# Names are checked with the patterns of scaleplan/kube/names.py (one validator, fullmatch).

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u0085\u2028\u2029]")
# "secret", "password" anywhere in a name; "token" and "key" only where no letter follows
# (HF_TOKEN, WANDB_API_KEY, authToken), so that TOKENIZERS_PARALLELISM and MAX_TOKENS are no
# secrets
_SECRETISH = re.compile(
    r"(?i)(secret|password|passwd|credential)"
    r"|(?:token|api_?key|access_?key)(?:[^a-z]|$)"
)
# a command-line flag that takes a credential: --api-key, --hf-token, --password, --secret
_SECRET_FLAG = re.compile(
    r"(?i)--?(?:[a-z0-9]+[-_])*(?:api[-_]?key|token|password|passwd|secret|access[-_]?key"
    r"|credentials?)"
)
# values that are credentials whatever the variable is called: Hugging Face, AWS access key ids,
# GitHub, OpenAI-style and Slack tokens
_TOKEN_VALUE = re.compile(
    r"(^|[^A-Za-z0-9])(hf_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|sk-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})"
)

MAX_ANNOTATION_VALUE = 64 * 1024

# The label keys scaleplan puts on every object it renders (Kubernetes' recommended
# app.kubernetes.io labels, in this order; render selects pods on them): a spec's own label may
# not use one (the spec checks refuse it before solving).
RESERVED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)
# The pod label a backend Service shared by the allocations of one serving shape selects on
# (routing: gateway-api, scaleplan.kube.backends); reserved too, so no other pod carries it.
BACKEND_LABEL = "scaleplan.dev/backend"


def has_control(text: str, *, allow_newline: bool = False) -> bool:
    if not allow_newline and ("\n" in text or "\r" in text or "\t" in text):
        return True
    return bool(_CONTROL.search(text))


def shown(text: str, limit: int = 60) -> str:
    """A short, printable repr of a user string for messages."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 4] + "...'"


def check_label_key(key: str, where: str) -> list[Problem]:
    prefix, slash, name = key.rpartition("/")
    ok = bool(names.QUALIFIED_NAME.fullmatch(name)) and len(name) <= 63
    if slash:
        in_dns = bool(names.DNS_SUBDOMAIN.fullmatch(prefix))
        ok = ok and bool(prefix) and len(prefix) <= 253 and in_dns
    if ok:
        return []
    hint = (
        "use [prefix/]name: name at most 63 characters of letters, digits, '-', '_', '.', "
        "starting and ending alphanumeric; prefix a lower-case DNS subdomain"
    )
    message = f"key {shown(key)} is not a valid Kubernetes label/annotation key"
    return [Problem(where, message, hint=hint)]


def check_label_value(value: str, where: str) -> list[Problem]:
    if isinstance(value, str) and len(value) <= 63 and names.LABEL_VALUE.fullmatch(value):
        return []
    hint = (
        "use at most 63 characters of letters, digits, '-', '_', '.', starting and ending "
        "alphanumeric (or put free text in an annotation)"
    )
    message = f"label value {shown(str(value))} is not valid in Kubernetes"
    return [Problem(where, message, hint=hint)]


def text_problems(
    value: object,
    where: str,
    *,
    what: str = "value",
    allow_newline: bool = False,
    max_len: int = 4096,
) -> list[Problem]:
    if not isinstance(value, str):
        return [Problem(where, f"{what} must be a string")]
    if has_control(value, allow_newline=allow_newline):
        nl = "" if allow_newline else "newlines, tabs or "
        message = f"{what} {shown(value)} contains {nl}control characters"
        return [Problem(where, message, hint="remove them")]
    if len(value) > max_len:
        message = f"{what} is {len(value)} characters long, more than {max_len}"
        return [Problem(where, message, hint="shorten it")]
    return []


def _digest(text: str, n: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def sanitize_dns_label(name: str, max_len: int = 63) -> str:
    """A DNS-1123 label derived from ``name``: lower-cased, other characters -> '-',
    and a short hash of the original appended when anything had to change or be cut."""
    if len(name) <= max_len and names.DNS_LABEL.fullmatch(name):
        return name
    base = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    base = re.sub(r"-{2,}", "-", base).strip("-")
    suffix = _digest(name)
    keep = max_len - len(suffix) - 1
    base = base[:keep].rstrip("-")
    return f"{base}-{suffix}" if base else f"x-{suffix}"


def secretish_env(name: str) -> bool:
    """Env names that hold secrets (kube-linter's env-var-secret names, plus tokens and keys)."""
    return bool(_SECRETISH.search(name))


# an absolute path of two or more parts: a mounted file (GOOGLE_APPLICATION_CREDENTIALS,
# CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE name the key file, they do not hold the key)
_FILE_PATH = re.compile(r"/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+")
# a value that is wholly a reference to another variable: $(NAME), which the kubelet expands
# from the container's env (how a Secret reaches a flag: --api-key $(VLLM_API_KEY)), or a
# shell's $NAME / ${NAME}; it holds no credential
_REFERENCE = re.compile(r"\$(?:\([A-Za-z_]\w*\)|\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)")


def names_mounted_file(value: str) -> bool:
    """A value that is the absolute path of a file (``/var/secrets/key.json``): a secret-like
    env name or flag that names the mounted file holding the credential, not the credential.
    The one exemption of env (:func:`literal_secret_env`) and args
    (:func:`secret_flag_values`)."""
    return bool(_FILE_PATH.fullmatch(value))


def _literal(value: str) -> bool:
    """A value given in clear text: not empty, not a variable reference."""
    return bool(value) and not _REFERENCE.fullmatch(value)


# a switch, never a credential: HF_HUB_DISABLE_IMPLICIT_TOKEN: "1"
_SWITCH = frozenset({"0", "1", "true", "false", "yes", "no", "on", "off"})


def literal_secret_env(name: str, value: str) -> bool:
    """An env variable that carries a credential in clear text: a token-shaped value, or a
    value under a secret-like name that is not the path of a mounted file, a reference to
    another variable (``$(NAME)``) nor a switch (``1``, ``true``)."""
    if not _literal(value):
        return False
    if token_value(value):
        return True
    setting = names_mounted_file(value) or value.lower() in _SWITCH
    return secretish_env(name) and not setting


def secret_flag_values(args: Sequence[str]) -> list[int]:
    """Indexes of the literal values handed to a flag named like a secret: ``--api-key X``
    (X's index) and ``--api-key=X`` (its own). A flag followed by another flag, or by
    nothing, takes no literal value (the server reads it from its environment), nor one
    followed by a variable reference (``--api-key $(VLLM_API_KEY)``) or by a mounted file's
    path (``--api-key /etc/secret/key``, :func:`names_mounted_file`)."""
    out: list[int] = []
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if not _SECRET_FLAG.fullmatch(flag):
            continue
        if eq:
            if _literal(value) and not names_mounted_file(value):
                out.append(i)
        elif i + 1 < len(args):
            value = args[i + 1]
            if _literal(value) and not value.startswith("-") and not names_mounted_file(value):
                out.append(i + 1)
    return out


def literal_secret_args(args: Sequence[str]) -> set[int]:
    """Indexes of the arguments (``args`` or ``command``) that carry a credential in clear
    text: a token-shaped value anywhere (:func:`token_value`) or a secret flag's literal value
    (:func:`secret_flag_values`). The one rule behind validate's refusal and check's
    ``env-literal-secret``."""
    return set(secret_flag_values(args)) | {i for i, a in enumerate(args) if token_value(a)}


def token_value(value: str) -> bool:
    """A literal credential (an hf_..., AKIA..., ghp_..., sk-... token) in a value."""
    return bool(_TOKEN_VALUE.search(value))
