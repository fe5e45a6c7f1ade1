"""Pod security rules, as Polaris defines them: running as root, privilege escalation, a writable
root filesystem, privileged containers, and the host's network, PID and IPC namespaces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, Rule
from scaleplan.check.workloads import as_map, containers, get, pod_spec_path

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
