"""Pod security rules, as Polaris defines them: running as root, privilege escalation, a writable
root filesystem, privileged containers, and the host's network, PID and IPC namespaces; then
what the Pod Security Standards (baseline, restricted) reject beyond those: hostPath volumes,
host ports, added and undropped capabilities and the seccomp profile
(https://kubernetes.io/docs/concepts/security/pod-security-standards); and literal credentials
in a container's env, args or command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, Rule
from scaleplan.check.workloads import as_list, as_map, containers, get, pod_spec_path
from scaleplan.kube import safety

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


@impl("privileged")
def _privileged(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        # Only containers can be privileged (PodSecurityContext has no such field; Polaris agrees).
        for c in containers(w, init=True):
            if as_map(c.data.get("securityContext")).get("privileged") is True:
                yield w.finding(
                    rule,
                    f"{c.label()} sets privileged: true",
                    (*c.path, "securityContext", "privileged"),
                )


def _host_rule(field_name: str) -> RuleFn:
    def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
        for w in ctx.workloads:
            path = pod_spec_path(w)
            assert path is not None
            if as_map(get(w.data, path)).get(field_name) is True:
                yield w.finding(rule, f"the pod sets {field_name}: true", (*path, field_name))

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
_SECCOMP_OK = ("RuntimeDefault", "Localhost")


@impl("host-path")
def _host_path(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        path = pod_spec_path(w)
        assert path is not None
        for i, v in enumerate(as_list(as_map(get(w.data, path)).get("volumes"))):
            if isinstance(v, Mapping) and "hostPath" in v:
                host = as_map(v.get("hostPath")).get("path")
                yield w.finding(
                    rule,
                    f"volume {v.get('name')!r} mounts the node's {host!r} (hostPath)",
                    (*path, "volumes", i, "hostPath"),
                )


@impl("host-port")
def _host_port(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            for i, port in enumerate(as_list(c.data.get("ports"))):
                hp = as_map(port).get("hostPort")
                if hp not in (None, 0):
                    yield w.finding(
                        rule,
                        f"{c.label()} binds host port {hp}",
                        (*c.path, "ports", i, "hostPort"),
                    )


def _caps(c_data: Mapping[str, Any], key: str, *, upper: bool = True) -> list[str]:
    """The capabilities a container's securityContext adds or drops (``key``), upper-cased as
    Polaris reads them, or as written (``upper=False``: as Pod Security Admission reads them)."""
    caps = as_map(as_map(c_data.get("securityContext")).get("capabilities"))
    return [x.upper() if upper else x for x in as_list(caps.get(key)) if isinstance(x, str)]


@impl("dangerous-capabilities")
def _dangerous_caps(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            # as written: Pod Security Admission compares names exactly (chown is not CHOWN)
            bad = [cap for cap in _caps(c.data, "add", upper=False) if cap not in BASELINE_ADD]
            if bad:
                case = [cap for cap in bad if cap.upper() in BASELINE_ADD]
                note = f" (baseline allows {', '.join(x.upper() for x in case)}, as written)"
                yield w.finding(
                    rule,
                    f"{c.label()} adds {', '.join(bad)}{note if case else ''}",
                    (*c.path, "securityContext", "capabilities", "add"),
                )


@impl("insecure-capabilities")
def _insecure_caps(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            drop = set(_caps(c.data, "drop"))
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
            own = as_map(as_map(c.data.get("securityContext")).get("seccompProfile"))
            kind = own.get("type", pod_type)
            if kind in _SECCOMP_OK:
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
