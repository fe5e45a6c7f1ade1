"""Pod security rules, as Polaris defines them: running as root, privilege escalation, a writable
root filesystem, privileged containers, and the host's network, PID and IPC namespaces; then
what the Pod Security Standards (baseline, restricted) reject beyond those: hostPath volumes,
host ports, added and undropped capabilities and the seccomp profile
(https://kubernetes.io/docs/concepts/security/pod-security-standards); and literal credentials
in a container's env, args or command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    Container,
    as_list,
    as_map,
    containers,
    get,
    pod_spec_path,
)
from scaleplan.kube import safety
from scaleplan.yamlio import PathKey

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


# --- security ----------------------------------------------------------------------------


def _security_rule(
    good: Callable[[Mapping[str, Any]], bool],
    not_bad: Callable[[Mapping[str, Any]], bool],
    message: str,
    field_name: str,
) -> RuleFn:
    """Polaris's Container+PodSpec schema pattern: the pod-level context is good and the container
    does not override it badly, or the container-level context is good."""

    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w in ctx.workloads:
            path = pod_spec_path(w)
            assert path is not None
            pod_sc = get(w.data, (*path, "securityContext"))
            for c in containers(w, init=True):
                csc = c.data.get("securityContext")
                # A container securityContext that is present but not a mapping (null) counts as
                # bad, as in Polaris's schema.
                container_ok = ("securityContext" not in c.data) or (
                    isinstance(csc, Mapping) and not_bad(csc)
                )
                ok = (isinstance(csc, Mapping) and good(csc)) or (
                    isinstance(pod_sc, Mapping) and good(pod_sc) and container_ok
                )
                if not ok:
                    where = (
                        (*c.path, "securityContext", field_name)
                        if isinstance(csc, Mapping) and field_name in csc
                        else (*c.path, "securityContext")
                        if isinstance(csc, Mapping)
                        else c.path
                    )
                    yield w.finding(rule, f"{c.label()} {message}", where)

    return fn


def _num_ge1(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v >= 1


IMPLS["run-as-root"] = _security_rule(
    lambda sc: _num_ge1(sc.get("runAsUser")) or sc.get("runAsNonRoot") is True,
    lambda sc: (
        ("runAsUser" not in sc or _num_ge1(sc["runAsUser"]))
        and ("runAsNonRoot" not in sc or sc["runAsNonRoot"] is True)
    ),
    "may run as root (neither runAsNonRoot: true nor runAsUser >= 1)",
    "runAsNonRoot",
)
IMPLS["privilege-escalation"] = _security_rule(
    lambda sc: sc.get("allowPrivilegeEscalation") is False,
    lambda sc: "allowPrivilegeEscalation" not in sc or sc["allowPrivilegeEscalation"] is False,
    "does not set allowPrivilegeEscalation: false",
    "allowPrivilegeEscalation",
)
IMPLS["writable-root-fs"] = _security_rule(
    lambda sc: sc.get("readOnlyRootFilesystem") is True,
    lambda sc: "readOnlyRootFilesystem" not in sc or sc["readOnlyRootFilesystem"] is True,
    "has a writable root filesystem (readOnlyRootFilesystem is not true)",
    "readOnlyRootFilesystem",
)


# Violations as (message, path): shared by these rules and the Pod Security Standards rules
# (scaleplan.check.pss), which read the same fields the same way, in ephemeral containers too.
Violation = tuple[str, PathKey]


def privileged_in(cs: Iterable[Container]) -> Iterator[Violation]:
    # Only containers can be privileged (PodSecurityContext has no such field; Polaris agrees).
    for c in cs:
        if c.security_context.get("privileged") is True:
            yield f"{c.label()} sets privileged: true", (*c.path, "securityContext", "privileged")


def host_namespaces(w: K8sObject, *fields: str) -> Iterator[Violation]:
    """hostNetwork, hostPID and hostIPC set to true (``fields``: only those)."""
    path = pod_spec_path(w)
    assert path is not None
    spec = as_map(get(w.data, path))
    for name in fields or ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(name) is True:
            yield f"the pod sets {name}: true", (*path, name)


@impl("privileged")
def _privileged(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for message, where in privileged_in(containers(w, init=True)):
            yield w.finding(rule, message, where)


def _host_rule(field_name: str) -> RuleFn:
    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w in ctx.workloads:
            for message, where in host_namespaces(w, field_name):
                yield w.finding(rule, message, where)

    return fn


IMPLS["host-network"] = _host_rule("hostNetwork")
IMPLS["host-pid"] = _host_rule("hostPID")
IMPLS["host-ipc"] = _host_rule("hostIPC")


# --- Pod Security Standards beyond Polaris's namespace checks ----------------------------

# The capabilities the baseline standard lets a container add (restricted: NET_BIND_SERVICE
# only, with drop: [ALL]).
BASELINE_ADD = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
# Polaris insecureCapabilities: drop ALL, or every one of these.
_POLARIS_DROP = frozenset({"NET_ADMIN", *BASELINE_ADD, "NET_RAW"})
SECCOMP_OK = ("RuntimeDefault", "Localhost")


def host_path_volumes(w: K8sObject) -> Iterator[Violation]:
    path = pod_spec_path(w)
    assert path is not None
    for i, v in enumerate(as_list(as_map(get(w.data, path)).get("volumes"))):
        if isinstance(v, Mapping) and v.get("hostPath") is not None:  # null: no source
            host = as_map(v.get("hostPath")).get("path")
            message = f"volume {v.get('name')!r} mounts the node's {host!r} (hostPath)"
            yield message, (*path, "volumes", i, "hostPath")


def host_ports_in(cs: Iterable[Container]) -> Iterator[Violation]:
    for c in cs:
        for i, port in enumerate(as_list(c.data.get("ports"))):
            hp = as_map(port).get("hostPort")
            if hp not in (None, 0):
                yield f"{c.label()} binds host port {hp}", (*c.path, "ports", i, "hostPort")


def caps(c: Container, key: str, *, upper: bool = True) -> list[str]:
    """The capabilities a container's securityContext adds or drops (``key``), upper-cased as
    Polaris reads them, or as written (``upper=False``: as Pod Security Admission reads them)."""
    found = as_map(c.security_context.get("capabilities"))
    return [x.upper() if upper else x for x in as_list(found.get(key)) if isinstance(x, str)]


def added_beyond_baseline(cs: Iterable[Container]) -> Iterator[Violation]:
    """Capabilities added that the baseline standard does not allow, as written: Pod Security
    Admission compares names exactly (chown is not CHOWN)."""
    for c in cs:
        bad = [cap for cap in caps(c, "add", upper=False) if cap not in BASELINE_ADD]
        if bad:
            case = [cap for cap in bad if cap.upper() in BASELINE_ADD]
            note = f" (baseline allows {', '.join(x.upper() for x in case)}, as written)"
            message = f"{c.label()} adds {', '.join(bad)}{note if case else ''}"
            yield message, (*c.path, "securityContext", "capabilities", "add")


@impl("host-path")
def _host_path(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for message, where in host_path_volumes(w):
            yield w.finding(rule, message, where)


@impl("host-port")
def _host_port(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for message, where in host_ports_in(containers(w, init=True)):
            yield w.finding(rule, message, where)


@impl("dangerous-capabilities")
def _dangerous_caps(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for message, where in added_beyond_baseline(containers(w, init=True)):
            yield w.finding(rule, message, where)


@impl("insecure-capabilities")
def _insecure_caps(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            drop = set(caps(c, "drop"))
            if "ALL" not in drop and not drop >= _POLARIS_DROP:
                yield w.finding(
                    rule,
                    f"{c.label()} does not drop ALL capabilities",
                    (*c.path, "securityContext"),
                )


@impl("seccomp-profile")
def _seccomp(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        path = pod_spec_path(w)
        assert path is not None
        pod_sc = as_map(get(w.data, (*path, "securityContext")))
        pod_type = as_map(pod_sc.get("seccompProfile")).get("type")
        for c in containers(w, init=True):
            own = as_map(c.security_context.get("seccompProfile"))
            kind = own.get("type", pod_type)
            if kind in SECCOMP_OK:
                continue
            at = (*c.path, "securityContext", "seccompProfile") if own else c.path
            what = f"seccompProfile {kind}" if kind is not None else "no seccomp profile"
            yield w.finding(rule, f"{c.label()} runs with {what}", at)


@impl("env-literal-secret")
def _env_literal_secret(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            for i, e in enumerate(as_list(c.data.get("env"))):
                e = as_map(e)
                name, value = e.get("name"), e.get("value")
                if not isinstance(name, str) or not isinstance(value, str):
                    continue
                if safety.literal_secret_env(name, value):
                    yield w.finding(
                        rule,
                        f"{c.label()} sets env {name} to a literal secret (value not shown)",
                        (*c.path, "env", i, "value"),
                    )
            for key in ("command", "args"):
                words = [a if isinstance(a, str) else "" for a in as_list(c.data.get(key))]
                for i in sorted(safety.literal_secret_args(words)):
                    yield w.finding(
                        rule,
                        f"{c.label()} passes a literal secret in {key}[{i}] (not shown)",
                        (*c.path, key, i),
                    )
