"""The Pod Security Standards rules of ``scaleplan check``, one per control of
https://kubernetes.io/docs/concepts/security/pod-security-standards (baseline, then restricted),
appended to :data:`scaleplan.check.rules.RULES`. Off by default: ``--pod-security LEVEL``, a
checked Namespace labelled ``pod-security.kubernetes.io/enforce``, or ``--enable`` turns them
on (:mod:`scaleplan.check.pss` implements them).
"""

from __future__ import annotations

from scaleplan.check.model import Rule


def _r(rule_id: str, level: str, reason: str, hint: str) -> Rule:
    return Rule(
        rule_id,
        "error",
        "pod-security",
        f"Pod Security Standards, {level}: {reason}",
        hint,
        default=False,
    )


_PSS: tuple[tuple[str, str, str, str], ...] = (
    (
        "pss-host-process", "baseline",
        "a Windows HostProcess container (windowsOptions.hostProcess: true on the pod or a "
        "container) has privileged access to the node.",
        "remove securityContext.windowsOptions.hostProcess (or set it false) on the pod and "
        "every container",
    ),
    (
        "pss-host-namespaces", "baseline",
        "the pod shares the node's network, process or IPC namespace (hostNetwork, hostPID or "
        "hostIPC: true).",
        "remove spec.hostNetwork, spec.hostPID and spec.hostIPC (or set them false)",
    ),
    (
        "pss-privileged", "baseline",
        "a container (init and ephemeral included) runs privileged.",
        "remove securityContext.privileged (or set it false) on every container",
    ),
    (
        "pss-capabilities", "baseline",
        "a container adds a capability beyond AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID,"
        " KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT "
        "(names compared as written); restricted: every container must drop ALL and may add "
        "back only NET_BIND_SERVICE.",
        "set securityContext.capabilities.drop: [ALL] on every container and remove "
        "capabilities.add (NET_BIND_SERVICE is the one restricted allows)",
    ),
    (
        "pss-host-path", "baseline",
        "the pod mounts a hostPath volume (restricted reports it as pss-volume-types).",
        "replace spec.volumes[].hostPath with an emptyDir, a persistentVolumeClaim or an "
        "ephemeral volume",
    ),
    (
        "pss-host-ports", "baseline",
        "a container sets ports[].hostPort (anything but 0).",
        "remove ports[].hostPort from every container; reach the pods through a Service",
    ),
    (
        "pss-host-probes", "baseline",
        "a probe or lifecycle hook sets httpGet.host or tcpSocket.host, reaching another host "
        "from the kubelet (policy v1.34 and later).",
        "remove host from the livenessProbe, readinessProbe, startupProbe and "
        "lifecycle.postStart/preStop handlers (they then reach the pod's own IP)",
    ),
    (
        "pss-apparmor", "baseline",
        "the pod or a container sets appArmorProfile.type to anything but RuntimeDefault or "
        "Localhost (Unconfined), or a container.apparmor.security.beta.kubernetes.io/* "
        "annotation to anything but runtime/default or localhost/*.",
        "set securityContext.appArmorProfile.type: RuntimeDefault (or remove it) on the pod and "
        "every container",
    ),
    (
        "pss-selinux", "baseline",
        "seLinuxOptions sets a type other than container_t, container_init_t, container_kvm_t "
        "or container_engine_t (policy v1.31 and later), or any user or role.",
        "remove securityContext.seLinuxOptions.user and .role, and use an allowed .type (or "
        "none), on the pod and every container",
    ),
    (
        "pss-proc-mount", "baseline",
        "a container sets securityContext.procMount to anything but Default (from policy v1.35"
        " baseline allows it in a pod with hostUsers: false; restricted never does).",
        "remove securityContext.procMount (or set it Default) on every container",
    ),
    (
        "pss-seccomp", "baseline",
        "the pod or a container sets seccompProfile.type Unconfined; restricted: every "
        "container must run with RuntimeDefault or Localhost, set on it or on the pod.",
        "set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod, and no other "
        "type on a container",
    ),
    (
        "pss-sysctls", "baseline",
        "the pod sets a sysctl outside the safe set of its policy version (kernel.shm_rmid_forced,"
        " net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start, "
        "net.ipv4.tcp_syncookies, net.ipv4.ping_group_range; later versions add a few more).",
        "remove the sysctl from spec.securityContext.sysctls",
    ),
    (
        "pss-volume-types", "restricted",
        "a volume is neither configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
        "persistentVolumeClaim, projected nor secret (hostPath, nfs, a cloud disk, ...).",
        "use a persistentVolumeClaim (its PersistentVolume may be any type), an emptyDir or an "
        "ephemeral volume in spec.volumes",
    ),
    (
        "pss-privilege-escalation", "restricted",
        "a container does not set allowPrivilegeEscalation: false (unset allows it).",
        "set securityContext.allowPrivilegeEscalation: false on every container, init "
        "containers included",
    ),
    (
        "pss-run-as-non-root", "restricted",
        "runAsNonRoot is false, or neither the pod nor the container sets it true (a runAsUser "
        "other than 0 does not count).",
        "set spec.securityContext.runAsNonRoot: true on the pod (and no runAsNonRoot: false on "
        "a container)",
    ),
    (
        "pss-run-as-user", "restricted",
        "the pod or a container sets runAsUser: 0 (root).",
        "set securityContext.runAsUser to a non-zero UID (or remove it) on the pod and every "
        "container",
    ),
)

PSS_RULES: tuple[Rule, ...] = tuple(_r(*row) for row in _PSS)
# the level from which each rule's control applies
PSS_LEVEL: dict[str, str] = {row[0]: row[1] for row in _PSS}
