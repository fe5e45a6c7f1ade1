"""The Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards),
one rule per control of the baseline and restricted levels, each read as Pod Security Admission
reads it (k8s.io/pod-security-admission/policy, the check that rejects the pod): in every
container, init container and ephemeral container, at a policy version (the namespace's
``pod-security.kubernetes.io/enforce-version``, else ``--kube-version``).

Which pods are checked, and at which level (:func:`policy`): every pod with ``--pod-security
LEVEL``; the pods of a namespace whose Namespace object, among the checked manifests, carries
``pod-security.kubernetes.io/enforce: LEVEL`` (the stricter of the two wins); with neither, a
rule turned on with ``--enable`` checks every pod at its own level. The fields that the
Polaris-style rules read the same way (privileged, host namespaces, hostPath, host ports,
capabilities beyond baseline) come from :mod:`scaleplan.check.pod_security`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scaleplan.check.context import DEFAULT_KUBE_VERSION, Context, RuleFn
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.pod_security import (
    SECCOMP_OK,
    Violation,
    added_beyond_baseline,
    caps,
    host_namespaces,
    host_path_volumes,
    host_ports_in,
    privileged_in,
)
from scaleplan.check.pss_rules import PSS_LEVEL
from scaleplan.check.workloads import Container, as_list, as_map, containers, get, pod_spec_path

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
LEVELS = ("baseline", "restricted")
_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
Version = tuple[int, int]

# The safe sysctls (baseline), by the policy version that added them.
SYSCTLS: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
    })),
    ((1, 27), frozenset({"net.ipv4.ip_local_reserved_ports"})),
    ((1, 29), frozenset({
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    })),
    ((1, 32), frozenset({"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})),
    ((1, 37), frozenset({"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"})),
)
SELINUX_TYPES: tuple[tuple[Version, frozenset[str]], ...] = (
    ((1, 0), frozenset({"", "container_t", "container_init_t", "container_kvm_t"})),
    ((1, 31), frozenset({"container_engine_t"})),
)
# restricted: every volume sets one of these (Pod Security Admission also allows image
# volumes, since Kubernetes 1.33 at every policy version; the page lists the other eight)
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
})
APPARMOR_OK = ("RuntimeDefault", "Localhost")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")


@dataclass(frozen=True)
class Policy:
    """The level a pod is checked at, the policy version, and who asked (quoted in findings)."""

    level: str
    version: Version
    source: str

    def at(self, level: str) -> bool:
        return _RANK[self.level] >= _RANK[level]

    def since(self, major: int, minor: int) -> bool:
        return self.version >= (major, minor)


def parse_version(text: str) -> Version | None:
    """``v1.29`` or ``1.29`` as (1, 29); None for ``latest`` or anything else."""
    parts = text.strip().lstrip("vV").split(".")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


# the policy version ``latest`` means where no --kube-version says one
_MAJOR, _MINOR = DEFAULT_KUBE_VERSION.split(".")
_LATEST: Version = (int(_MAJOR), int(_MINOR))


def namespace_policies(objects: Iterable[K8sObject], default: Version) -> dict[str, Policy]:
    """Namespace name -> the level its ``pod-security.kubernetes.io/enforce`` label names
    (baseline, restricted or privileged) at its ``enforce-version`` (latest: ``default``)."""
    out: dict[str, Policy] = {}
    for o in objects:
        labels = as_map(o.metadata.get("labels"))
        level = labels.get(ENFORCE)
        if o.kind != "Namespace" or o.api_version != "v1" or level not in _RANK:
            continue
        pinned = labels.get(ENFORCE_VERSION)
        version = parse_version(pinned) if isinstance(pinned, str) else None
        why = f"namespace {o.name!r} has {ENFORCE}: {level}"
        if version is not None:
            why += f", {ENFORCE_VERSION}: {pinned}"
        out[o.name] = Policy(str(level), version or default, why)
    return out


def enforced(objects: Iterable[K8sObject]) -> bool:
    """Whether a Namespace among ``objects`` enforces baseline or restricted."""
    policies = namespace_policies(objects, _LATEST)
    return any(p.level in LEVELS for p in policies.values())


def policy(ctx: Context, w: K8sObject, rule: Rule) -> Policy | None:
    """The level ``w``'s pods are checked at for ``rule``: the stricter of --pod-security and
    its namespace's enforce label (the namespace on a tie); with neither, the rule's own level
    when --enable named it; None: not checked."""
    if ctx.pss_namespaces is None or ctx.pss_version is None:
        ctx.pss_version = parse_version(ctx.kube_version) or _LATEST
        ctx.pss_namespaces = namespace_policies(ctx.objects, ctx.pss_version)
    version = ctx.pss_version
    found = [ctx.pss_namespaces[w.namespace]] if w.namespace in ctx.pss_namespaces else []
    if ctx.pod_security is not None:
        level = ctx.pod_security
        found.append(Policy(level, version, f"--pod-security {level}"))
    if not found and rule.id in ctx.enabled:
        found.append(Policy(PSS_LEVEL[rule.id], version, f"--enable {rule.id}"))
    best = max(found, key=lambda p: _RANK[p.level], default=None)
    return best if best is not None and best.at(PSS_LEVEL[rule.id]) else None


# --- the controls --------------------------------------------------------------------------

Check = Callable[[K8sObject, Policy], Iterable[Violation]]
IMPLS: dict[str, RuleFn] = {}


def control(rule_id: str) -> Callable[[Check], Check]:
    """Files a control's check under its rule id: each violation becomes a finding that names
    the level it was checked at and why."""

    def deco(check: Check) -> Check:
        def fn(ctx: Context, rule: Rule) -> Iterator[Finding]:
            for w in ctx.workloads:
                pol = policy(ctx, w, rule)
                if pol is None:
                    continue
                for message, where in check(w, pol):
                    text = f"{message}; Pod Security {pol.level} rejects the pod ({pol.source})"
                    yield w.finding(rule, text, where)

        assert rule_id in PSS_LEVEL, rule_id
        IMPLS[rule_id] = fn
        return check

    return deco


def _spec(w: K8sObject) -> tuple[tuple[Any, ...], Mapping[str, Any]]:
    path = pod_spec_path(w)
    assert path is not None
    return path, as_map(get(w.data, path))


def _all(w: K8sObject) -> list[Container]:
    return list(containers(w, init=True, ephemeral=True))


def _windows(w: K8sObject, pol: Policy) -> bool:
    """Pods with spec.os.name windows are exempt from the Linux-only restricted controls
    (policy v1.25 and later)."""
    return pol.since(1, 25) and as_map(_spec(w)[1].get("os")).get("name") == "windows"


def _user_namespace(w: K8sObject, pol: Policy) -> bool:
    """A pod with hostUsers: false runs in a user namespace: from policy v1.35 the run-as-root
    controls (and baseline's /proc mount) relax for it."""
    return pol.since(1, 35) and _spec(w)[1].get("hostUsers") is False


def _levels(w: K8sObject) -> Iterator[tuple[str, Mapping[str, Any], tuple[Any, ...]]]:
    """(who, securityContext, its path) for the pod, then each container."""
    path, spec = _spec(w)
    yield "the pod", as_map(spec.get("securityContext")), (*path, "securityContext")
    for c in _all(w):
        yield c.label(), c.security_context, (*c.path, "securityContext")


@control("pss-host-process")
def _host_process(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    for who, sc, at in _levels(w):
        if as_map(sc.get("windowsOptions")).get("hostProcess") is True:
            yield f"{who} sets windowsOptions.hostProcess: true", (*at, "windowsOptions")


@control("pss-host-namespaces")
def _host_ns(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    return host_namespaces(w)


@control("pss-privileged")
def _privileged(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    return privileged_in(_all(w))


@control("pss-capabilities")
def _capabilities(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    if not (pol.at("restricted") and pol.since(1, 22)):
        yield from added_beyond_baseline(_all(w))
        return
    if _windows(w, pol):
        return
    for c in _all(w):
        at = (*c.path, "securityContext", "capabilities")
        if "ALL" not in caps(c, "drop", upper=False):
            yield f"{c.label()} does not drop ALL capabilities", (*at, "drop")
        added = [x for x in caps(c, "add", upper=False) if x != "NET_BIND_SERVICE"]
        if added:
            yield f"{c.label()} adds {', '.join(added)}", (*at, "add")


@control("pss-host-path")
def _host_path(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    # restricted's volume-type control covers hostPath (Pod Security Admission: an override)
    if not pol.at("restricted"):
        yield from host_path_volumes(w)


@control("pss-host-ports")
def _host_ports(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    return host_ports_in(_all(w))


@control("pss-host-probes")
def _host_probes(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    if not pol.since(1, 34):
        return
    for c in _all(w):
        handlers: list[tuple[str, tuple[str, ...], Mapping[str, Any]]] = [
            (p, (p,), as_map(c.data.get(p))) for p in PROBES
        ]
        hooks = as_map(c.data.get("lifecycle"))
        handlers += [(f"lifecycle.{h}", ("lifecycle", h), as_map(hooks.get(h))) for h in HOOKS]
        for name, sub, handler in handlers:
            for kind in ("httpGet", "tcpSocket"):
                host = as_map(handler.get(kind)).get("host")
                if host not in (None, ""):
                    message = f"{c.label()} {name}.{kind} sets host {host!r}"
                    yield message, (*c.path, *sub, kind, "host")


@control("pss-apparmor")
def _apparmor(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    path = _spec(w)[0]
    for who, sc, at in _levels(w):
        if "appArmorProfile" in sc and sc["appArmorProfile"] is not None:
            kind = as_map(sc["appArmorProfile"]).get("type")
            if kind not in APPARMOR_OK:
                yield f"{who} sets appArmorProfile.type {kind}", (*at, "appArmorProfile")
    meta = w.metadata if w.kind == "Pod" else as_map(get(w.data, (*path[:-1], "metadata")))
    meta_path = ("metadata",) if w.kind == "Pod" else (*path[:-1], "metadata")
    for key, value in as_map(meta.get("annotations")).items():
        ok = value in ("", "runtime/default") or str(value).startswith("localhost/")
        if str(key).startswith(APPARMOR_ANNOTATION) and not ok:
            yield f"the annotation {key} is {value!r}", (*meta_path, "annotations", key)


def _allowed(table: Sequence[tuple[Version, frozenset[str]]], pol: Policy) -> frozenset[str]:
    return frozenset().union(*(names for since, names in table if pol.version >= since))


@control("pss-selinux")
def _selinux(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    types = _allowed(SELINUX_TYPES, pol)
    for who, sc, at in _levels(w):
        opts = as_map(sc.get("seLinuxOptions"))
        # a null string field is unset, "" to the API server
        if (opts.get("type") or "") not in types:
            yield f"{who} sets seLinuxOptions.type {opts['type']!r}", (*at, "seLinuxOptions")
        for key in ("user", "role"):
            if (opts.get(key) or "") != "":
                yield f"{who} sets seLinuxOptions.{key} {opts[key]!r}", (*at, "seLinuxOptions")


@control("pss-proc-mount")
def _proc_mount(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    if not pol.at("restricted") and _user_namespace(w, pol):
        return
    for c in _all(w):
        mount = c.security_context.get("procMount")
        if mount is not None and mount != "Default":
            yield f"{c.label()} sets procMount {mount}", (*c.path, "securityContext", "procMount")


@control("pss-seccomp")
def _seccomp(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    spec = _spec(w)[1]
    pod = as_map(spec.get("securityContext")).get("seccompProfile")
    restricted = pol.at("restricted") and pol.since(1, 19)
    if restricted and _windows(w, pol):
        return
    pod_ok = pod is not None and as_map(pod).get("type") in SECCOMP_OK
    for who, sc, at in _levels(w):
        profile = sc.get("seccompProfile")
        kind = as_map(profile).get("type")
        if profile is not None and (kind not in SECCOMP_OK if restricted else kind == "Unconfined"):
            yield f"{who} sets seccompProfile.type {kind}", (*at, "seccompProfile")
        elif profile is None and restricted and who != "the pod" and not pod_ok:
            pod_has = " sets none" if pod is None else f"'s is {as_map(pod).get('type')}"
            yield f"{who} has no seccompProfile and the pod{pod_has}", at


@control("pss-sysctls")
def _sysctls(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    path, spec = _spec(w)
    allowed = _allowed(SYSCTLS, pol)
    for i, s in enumerate(as_list(as_map(spec.get("securityContext")).get("sysctls"))):
        name = as_map(s).get("name")
        if name not in allowed:
            yield f"the pod sets sysctl {name}", (*path, "securityContext", "sysctls", i, "name")


@control("pss-volume-types")
def _volume_types(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    path, spec = _spec(w)
    for i, v in enumerate(as_list(spec.get("volumes"))):
        sources = sorted(k for k, x in as_map(v).items() if k != "name" and x is not None)
        # a volume that names no source is an emptyDir (the API server's default)
        if sources and not set(sources) & RESTRICTED_VOLUMES:
            name = as_map(v).get("name")
            yield f"volume {name!r} is a {', '.join(sources)} volume", (*path, "volumes", i)


@control("pss-privilege-escalation")
def _privilege_escalation(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    if _windows(w, pol):
        return
    for c in _all(w):
        if c.security_context.get("allowPrivilegeEscalation") is not False:
            at = (*c.path, "securityContext") if "securityContext" in c.data else c.path
            yield f"{c.label()} does not set allowPrivilegeEscalation: false", at


@control("pss-run-as-non-root")
def _run_as_non_root(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    if _user_namespace(w, pol):
        return
    pod = as_map(_spec(w)[1].get("securityContext")).get("runAsNonRoot")
    for who, sc, at in _levels(w):
        value = sc.get("runAsNonRoot")
        if value is False:
            yield f"{who} sets runAsNonRoot: false", (*at, "runAsNonRoot")
        elif value is None and who != "the pod" and pod is not True:
            yield f"{who} does not set runAsNonRoot: true and the pod does not either", at


@control("pss-run-as-user")
def _run_as_user(w: K8sObject, pol: Policy) -> Iterator[Violation]:
    if not pol.since(1, 23) or _user_namespace(w, pol):
        return
    for who, sc, at in _levels(w):
        if sc.get("runAsUser") == 0 and not isinstance(sc.get("runAsUser"), bool):
            yield f"{who} sets runAsUser: 0", (*at, "runAsUser")
