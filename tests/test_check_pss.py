"""`scaleplan check --pod-security baseline|restricted`: one rule per control of the Pod
Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards), each
an error. Every control: the clean service (tests/data/check/clean, which passes restricted)
with one change fails at the level that forbids it, and passes again once fixed; a Namespace's
``pod-security.kubernetes.io/enforce`` label checks its pods without the option; init and
ephemeral containers and every pod-bearing kind are read."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from check_helpers import CLEAN, Docs, by_kind, clean_docs, container, pod

from scaleplan.catalog.model import Catalog
from scaleplan.check import RULES, CheckReport, check_paths, check_text
from scaleplan.errors import OptionError
from scaleplan.yamlio import dump_yaml_all

PSS = {r.id for r in RULES if r.category == "pod-security"}
Obj = dict[str, Any]
Mutation = Callable[[Docs, Obj], None]  # (the documents, the container to change)


def _report(docs: Docs, tables: Catalog, level: str | None = "restricted") -> CheckReport:
    return check_text(dump_yaml_all(docs), "pss.yaml", catalog=tables, pod_security=level)


def _pss(report: CheckReport) -> set[str]:
    return {f.rule for f in report.findings if f.rule in PSS}


def _sc(c: Obj) -> Obj:
    sc: Obj = c.setdefault("securityContext", {})
    return sc


def _pod_sc(d: Docs) -> Obj:
    sc: Obj = pod(d).setdefault("securityContext", {})
    return sc


def _probe_host(d: Docs, c: Obj) -> None:
    c["readinessProbe"] = {"httpGet": {"path": "/health", "port": 8080, "host": "10.0.0.1"}}


# (case, the lowest level that rejects it, its rule, the change): a container change is made
# to the server container, and again to an init container in test_init_container_is_checked
CASES: list[tuple[str, str, str, Mutation]] = [
    ("host-process", "baseline", "pss-host-process",
     lambda d, c: _sc(c).update(windowsOptions={"hostProcess": True})),
    ("host-pid", "baseline", "pss-host-namespaces", lambda d, c: pod(d).update(hostPID=True)),
    ("host-network", "baseline", "pss-host-namespaces",
     lambda d, c: pod(d).update(hostNetwork=True)),
    ("privileged", "baseline", "pss-privileged", lambda d, c: _sc(c).update(privileged=True)),
    ("add-sys-admin", "baseline", "pss-capabilities",
     lambda d, c: _sc(c)["capabilities"].update(add=["SYS_ADMIN"])),
    ("add-chown", "restricted", "pss-capabilities",
     lambda d, c: _sc(c)["capabilities"].update(add=["CHOWN"])),
    ("drop-net-raw-only", "restricted", "pss-capabilities",
     lambda d, c: _sc(c)["capabilities"].update(drop=["NET_RAW"])),
    ("drop-all-lower-case", "restricted", "pss-capabilities",
     lambda d, c: _sc(c)["capabilities"].update(drop=["all"])),
    ("host-port", "baseline", "pss-host-ports",
     lambda d, c: c.setdefault("ports", [{"containerPort": 9000}])[0].update(hostPort=9000)),
    ("probe-host", "baseline", "pss-host-probes", _probe_host),
    ("apparmor-unconfined", "baseline", "pss-apparmor",
     lambda d, c: _sc(c).update(appArmorProfile={"type": "Unconfined"})),
    ("apparmor-annotation", "baseline", "pss-apparmor",
     lambda d, c: by_kind(d, "Deployment")["spec"]["template"]["metadata"].update(
         annotations={"container.apparmor.security.beta.kubernetes.io/server": "unconfined"})),
    ("selinux-user", "baseline", "pss-selinux",
     lambda d, c: _sc(c).update(seLinuxOptions={"user": "system_u"})),
    ("selinux-type", "baseline", "pss-selinux",
     lambda d, c: _pod_sc(d).update(seLinuxOptions={"type": "spc_t"})),
    ("proc-mount", "baseline", "pss-proc-mount", lambda d, c: _sc(c).update(procMount="Unmasked")),
    ("seccomp-unconfined", "baseline", "pss-seccomp",
     lambda d, c: _sc(c).update(seccompProfile={"type": "Unconfined"})),
    ("seccomp-unset", "restricted", "pss-seccomp", lambda d, c: _sc(c).pop("seccompProfile")),
    ("sysctl", "baseline", "pss-sysctls",
     lambda d, c: _pod_sc(d).update(sysctls=[{"name": "kernel.msgmax", "value": "65536"}])),
    ("host-path", "baseline", "pss-host-path",
     lambda d, c: pod(d)["volumes"].append({"name": "h", "hostPath": {"path": "/var"}})),
    ("nfs-volume", "restricted", "pss-volume-types",
     lambda d, c: pod(d)["volumes"].append({"name": "n", "nfs": {"server": "s", "path": "/"}})),
    ("escalation-unset", "restricted", "pss-privilege-escalation",
     lambda d, c: _sc(c).pop("allowPrivilegeEscalation")),
    ("escalation-true", "restricted", "pss-privilege-escalation",
     lambda d, c: _sc(c).update(allowPrivilegeEscalation=True)),
    # runAsUser: 1000 stays on the pod: Polaris's run-as-root accepts it, restricted does not
    ("non-root-unset", "restricted", "pss-run-as-non-root",
     lambda d, c: _pod_sc(d).pop("runAsNonRoot")),
    ("non-root-false", "restricted", "pss-run-as-non-root",
     lambda d, c: _sc(c).update(runAsNonRoot=False)),
    ("run-as-user-0", "restricted", "pss-run-as-user", lambda d, c: _sc(c).update(runAsUser=0)),
]
IDS = [c[0] for c in CASES]
CONTAINER_CASES = [c for c in CASES if c[0] not in {
    "host-pid", "host-network", "apparmor-annotation", "selinux-type", "sysctl", "host-path",
    "nfs-volume", "non-root-unset",
}]


def _mutated(mutation: Mutation, *, init: bool = False) -> Docs:
    docs = clean_docs()
    target = container(docs)
    if init:
        target = copy.deepcopy(target)
        target["name"] = "fetch"
        for key in ("ports", "readinessProbe", "livenessProbe", "startupProbe"):
            target.pop(key)
        pod(docs)["initContainers"] = [target]
    mutation(docs, target)
    return docs


def test_the_clean_service_passes_restricted_and_every_control_has_a_case(
    tables: Catalog,
) -> None:
    for level in ("baseline", "restricted"):
        report = _report(clean_docs(), tables, level)
        assert report.findings == ()
        assert {r.id for r in report.rules} >= PSS
    assert {rule for _, _, rule, _ in CASES} == PSS
    assert all(r.severity == "error" and not r.default for r in RULES if r.id in PSS)


@pytest.mark.parametrize(("case", "level", "rule", "mutation"), CASES, ids=IDS)
def test_each_control_fails_at_its_level(
    tables: Catalog, case: str, level: str, rule: str, mutation: Mutation
) -> None:
    report = _report(_mutated(mutation), tables, level)
    assert _pss(report) == {rule}, [f"{f.rule}: {f.message}" for f in report.findings]
    for f in (f for f in report.findings if f.rule in PSS):
        assert f.severity == "error" and f.line >= 1 and f.kind == "Deployment"
        assert f.message.endswith(
            f"; Pod Security {level} rejects the pod (--pod-security {level})"), f.message
        assert f.hint == next(r.hint for r in RULES if r.id == rule)
    if level == "baseline":  # restricted is baseline and more
        stricter = _pss(_report(_mutated(mutation), tables, "restricted"))
        assert stricter == ({"pss-volume-types"} if rule == "pss-host-path" else {rule})
    else:
        assert _pss(_report(_mutated(mutation), tables, "baseline")) == set()
    # without the option nothing of this runs, and the report is as before
    plain = _report(_mutated(mutation), tables, None)
    assert not PSS & {r.id for r in plain.rules}
    assert len(plain.rules) == len([r for r in RULES if r.default and not r.needs_plan])


def test_host_path_is_a_volume_type_finding_at_restricted(tables: Catalog) -> None:
    """Pod Security Admission's restricted volume check replaces baseline's hostPath one."""
    docs = _mutated(lambda d, c: pod(d)["volumes"].append({"name": "h", "hostPath": {"path": "/"}}))
    assert _pss(_report(docs, tables, "baseline")) == {"pss-host-path"}
    assert _pss(_report(docs, tables, "restricted")) == {"pss-volume-types"}
    # a volume that names no source is an emptyDir (the API server's default); image volumes pass
    ok = _mutated(lambda d, c: pod(d)["volumes"].extend(
        [{"name": "bare"}, {"name": "img", "image": {"reference": "r/m:1"}}]))
    assert _pss(_report(ok, tables)) == set()


@pytest.mark.parametrize(("case", "level", "rule", "mutation"), CONTAINER_CASES,
                         ids=[c[0] for c in CONTAINER_CASES])
def test_init_container_is_checked(
    tables: Catalog, case: str, level: str, rule: str, mutation: Mutation
) -> None:
    report = _report(_mutated(mutation, init=True), tables)
    found = [f for f in report.findings if f.rule in PSS]
    assert {f.rule for f in found} == {rule}, [f.message for f in report.findings]
    assert all("initContainers[0]" in f.path and "init container 'fetch'" in f.message
               for f in found), [(f.path, f.message) for f in found]


def test_fixes_pass(tables: Catalog) -> None:
    """The fix lines' fields: a pod-level seccomp profile covers every container; runAsNonRoot
    on the pod covers them too; NET_BIND_SERVICE is the one capability restricted adds."""
    def fixed(d: Docs, c: Obj) -> None:
        _sc(c).pop("seccompProfile")
        _pod_sc(d)["seccompProfile"] = {"type": "RuntimeDefault"}
        _sc(c)["capabilities"]["add"] = ["NET_BIND_SERVICE"]
        _sc(c)["procMount"] = "Default"
        _sc(c)["seLinuxOptions"] = {"type": "container_t"}

    assert _pss(_report(_mutated(fixed), tables)) == set()
    assert _pss(_report(_mutated(lambda d, c: _sc(c).pop("seccompProfile")), tables)) == {
        "pss-seccomp"}
    # a container's own Unconfined is not covered by the pod's RuntimeDefault, nor the reverse
    both = _mutated(lambda d, c: _pod_sc(d).update(seccompProfile={"type": "Unconfined"}))
    found = [f for f in _report(both, tables).findings if f.rule == "pss-seccomp"]
    assert [f.path for f in found] == ["spec.template.spec.securityContext.seccompProfile"]


def test_ephemeral_containers_and_every_pod_kind(tables: Catalog) -> None:
    docs = clean_docs()
    spec = pod(docs)
    debug = {"name": "debug", "image": "busybox:1.36", "securityContext": {"privileged": True}}
    kinds: list[Obj] = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                         "spec": {**copy.deepcopy(spec), "ephemeralContainers": [debug]}}]
    template = {"metadata": {"labels": {"a": "b"}}, "spec": spec}
    for api, kind in (("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
                      ("apps/v1", "ReplicaSet"), ("v1", "ReplicationController"),
                      ("batch/v1", "Job")):
        kinds.append({"apiVersion": api, "kind": kind, "metadata": {"name": kind.lower()},
                      "spec": {"template": template}})
    kinds.append({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                  "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {
                      "template": template}}}})
    spec["hostIPC"] = True
    report = _report(kinds, tables)
    hits = {(f.kind, f.rule) for f in report.findings if f.rule in PSS}
    kind_names = {k["kind"] for k in kinds}
    assert {k for k, r in hits if r == "pss-host-namespaces"} == kind_names - {"Pod"}
    ephemeral = {f.rule for f in report.findings if "ephemeralContainers" in f.path}
    # the pod's runAsNonRoot covers it; nothing else it needs is set
    assert ephemeral == {"pss-privileged", "pss-privilege-escalation", "pss-capabilities",
                         "pss-seccomp"}
    assert any("ephemeral container 'debug'" in f.message for f in report.findings)
    # the Polaris-style rules do not read ephemeral containers, as before
    assert not [f for f in report.findings if f.rule == "privileged"]


def _namespace(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


ENFORCE = "pod-security.kubernetes.io/enforce"
VERSION = "pod-security.kubernetes.io/enforce-version"


def test_namespace_label_checks_its_pods_without_the_option(tables: Catalog) -> None:
    docs = _mutated(lambda d, c: _sc(c).pop("allowPrivilegeEscalation"))
    assert not _pss(_report(docs, tables, None))
    labelled = [_namespace("inference", **{ENFORCE: "restricted"}), *docs]
    report = _report(labelled, tables, None)
    (f,) = [f for f in report.findings if f.rule in PSS]
    assert f.rule == "pss-privilege-escalation" and f.namespace == "inference"
    assert f.message.endswith(
        "Pod Security restricted rejects the pod (namespace 'inference' has "
        "pod-security.kubernetes.io/enforce: restricted)")
    # another namespace's label, a privileged or a baseline one: restricted is not checked
    for ns in (_namespace("other", **{ENFORCE: "restricted"}),
               _namespace("inference", **{ENFORCE: "privileged"}),
               _namespace("inference", **{ENFORCE: "baseline"})):
        assert not _pss(_report([ns, *docs], tables, None)), ns
    # the stricter of the option and the label wins
    assert _pss(_report(labelled, tables, "baseline")) == {"pss-privilege-escalation"}
    base = [_namespace("inference", **{ENFORCE: "baseline"}), *docs]
    assert _pss(_report(base, tables, "restricted")) == {"pss-privilege-escalation"}


def test_namespace_enforce_version_pins_the_policy(tables: Catalog) -> None:
    """Host probes are checked from policy v1.34, tcp_rmem is safe from v1.32, and a
    hostUsers: false pod may unmask /proc under baseline from v1.35."""
    def ns(version: str | None, level: str = "baseline") -> Obj:
        labels = {ENFORCE: level, **({VERSION: version} if version else {})}
        return _namespace("inference", **labels)

    probe = _mutated(_probe_host)
    assert _pss(_report([ns(None), *probe], tables, None)) == {"pss-host-probes"}
    assert _pss(_report([ns("latest"), *probe], tables, None)) == {"pss-host-probes"}
    assert _pss(_report([ns("v1.33"), *probe], tables, None)) == set()
    rmem = _mutated(lambda d, c: _pod_sc(d).update(
        sysctls=[{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]))
    assert _pss(_report([ns("v1.32"), *rmem], tables, None)) == set()
    assert _pss(_report([ns("v1.31"), *rmem], tables, None)) == {"pss-sysctls"}

    def userns(d: Docs, c: Obj) -> None:
        pod(d)["hostUsers"] = False
        _sc(c)["procMount"] = "Unmasked"

    unmasked = _mutated(userns)
    assert _pss(_report([ns("v1.35"), *unmasked], tables, None)) == set()
    assert _pss(_report([ns("v1.34"), *unmasked], tables, None)) == {"pss-proc-mount"}
    assert _pss(_report([ns("v1.35", "restricted"), *unmasked], tables, None)) == {
        "pss-proc-mount"}
    found = [f for f in _report([ns("v1.33"), *unmasked], tables, None).findings
             if f.rule in PSS]
    assert found and all("enforce-version: v1.33" in f.message for f in found)


def test_enable_alone_checks_at_the_rules_level_and_disable_wins(tables: Catalog) -> None:
    docs = _mutated(lambda d, c: _sc(c).pop("allowPrivilegeEscalation"))
    text = dump_yaml_all(docs)
    r = check_text(text, "a.yaml", catalog=tables, enabled_rules=["pss-privilege-escalation"])
    (f,) = [f for f in r.findings if f.rule in PSS]
    assert f.message.endswith("(--enable pss-privilege-escalation)")
    r = check_text(text, "a.yaml", catalog=tables, pod_security="restricted",
                   disabled_rules=["pss-privilege-escalation"])
    assert not _pss(r)


def test_bad_level_is_a_usage_error(tables: Catalog) -> None:
    with pytest.raises(OptionError):
        check_paths([CLEAN], catalog=tables, pod_security="strict")


def test_cli_pod_security_exit_codes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A pod restricted rejects for no seccomp profile is a warning of check's own rules (exit
    0), and an error with --pod-security restricted (exit 1); a bad level is exit 2."""
    f = tmp_path / "dep.yaml"
    f.write_text(dump_yaml_all(_mutated(lambda d, c: _sc(c).pop("seccompProfile"))))
    r = cli(["check", str(f)], exit_code=0)
    assert "[seccomp-profile]" in r.stdout and "pss-" not in r.stdout
    r = cli(["check", str(f), "--pod-security", "restricted"], exit_code=1)
    assert "error [pss-seccomp] Deployment/llm-g6-xlarge: container 'server' has no " in r.stdout
    cli(["check", str(f), "--pod-security", "baseline"], exit_code=0)
    r = cli(["check", str(f), "--pod-security", "strict"], exit_code=2)
    assert "--pod-security" in r.stderr and "baseline or restricted" in r.stderr
    cli(["check", "--list-rules", "--pod-security", "restricted"], exit_code=2)
    r = cli(["check", "--list-rules"])
    assert "pss-run-as-non-root" in r.stdout and "pod-security" in r.stdout


def test_a_container_under_a_bad_pod_profile_is_told_so(tables: Catalog) -> None:
    """A container with no seccompProfile under a pod whose profile is Unconfined is rejected
    (Pod Security Admission: no valid pod-level profile covers it), and its finding names the
    pod's profile instead of saying the pod sets none."""
    def inherits(d: Docs, c: Obj) -> None:
        _sc(c).pop("seccompProfile")
        _pod_sc(d)["seccompProfile"] = {"type": "Unconfined"}

    found = [f for f in _report(_mutated(inherits), tables).findings if f.rule == "pss-seccomp"]
    messages = sorted(f.message.split(";")[0] for f in found)
    assert messages == [
        "container 'server' has no seccompProfile and the pod's is Unconfined",
        "the pod sets seccompProfile.type Unconfined",
    ], messages
    unset = _mutated(lambda d, c: _sc(c).pop("seccompProfile"))
    found = [f for f in _report(unset, tables).findings if f.rule == "pss-seccomp"]
    assert [f.message.split(";")[0] for f in found] == [
        "container 'server' has no seccompProfile and the pod sets none"]


def test_selinux_fields_set_to_null_are_unset(tables: Catalog) -> None:
    """``seLinuxOptions: {type: null, user: null, role: null}`` is the empty string to the API
    server (a null string field is unset): Pod Security Admission allows it."""
    def nulls(d: Docs, c: Obj) -> None:
        _sc(c)["seLinuxOptions"] = {"type": None, "user": None, "role": None}
        _pod_sc(d)["seLinuxOptions"] = {"type": None, "level": "s0:c123,c456"}

    assert _pss(_report(_mutated(nulls), tables, level="baseline")) == set()
    assert _pss(_report(_mutated(nulls), tables)) == set()


def test_a_null_host_path_is_no_host_path(tables: Catalog) -> None:
    """``hostPath: null`` names no source (the API server reads the volume as an emptyDir), as
    pss-volume-types reads it: neither pss-host-path nor Polaris' host-path reports it."""
    def null_source(d: Docs, c: Obj) -> None:
        pod(d).setdefault("volumes", []).append({"name": "scratch", "hostPath": None})

    for level in ("baseline", "restricted"):
        report = _report(_mutated(null_source), tables, level=level)
        assert not [f for f in report.findings if "host" in f.rule or "volume" in f.rule], [
            f.message for f in report.findings]
    real = _mutated(lambda d, c: pod(d).setdefault("volumes", []).append(
        {"name": "scratch", "hostPath": {"path": "/var/lib"}}))
    assert {"pss-host-path", "host-path"} <= {
        f.rule for f in _report(real, tables, level="baseline").findings}
