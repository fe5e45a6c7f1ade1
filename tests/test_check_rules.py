"""Each rule against one-change mutations of a clean GPU service: caught by its rule, and only by it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from check_helpers import Docs, by_kind, clean_docs, container, mutated, pod

from scaleplan.catalog.model import Catalog
from scaleplan.check import RULES, check_text
from scaleplan.yamlio import dump_yaml_all


def _set(path: str, value: Any, kind: str = "Deployment") -> Callable[[Docs], None]:
    def fn(docs: Docs) -> None:
        cur = by_kind(docs, kind)
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur[int(p)] if p.isdigit() else cur.setdefault(p, {})
        cur[parts[-1]] = value

    return fn


def _del(path: str, kind: str = "Deployment") -> Callable[[Docs], None]:
    def fn(docs: Docs) -> None:
        cur = by_kind(docs, kind)
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur[int(p)] if p.isdigit() else cur[p]
        del cur[parts[-1]]

    return fn


def _add(doc: dict[str, Any]) -> Callable[[Docs], None]:
    return lambda docs: docs.append(doc)


C = "spec.template.spec.containers.0"
P = "spec.template.spec"


def _add_volume(vol: dict[str, Any]) -> Callable[[Docs], None]:
    return lambda docs: pod(docs).setdefault("volumes", []).append(vol)


def _env(name: str, value: str) -> Callable[[Docs], None]:
    return lambda docs: container(docs).setdefault("env", []).append(
        {"name": name, "value": value}
    )


def _scaled_object(target: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "llm-keda", "namespace": "inference"},
        "spec": {
            "scaleTargetRef": {"name": target},
            "minReplicaCount": 2,
            "maxReplicaCount": 6,
            "triggers": [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}],
            **spec,
        },
    }


def _prometheus_rule(expr: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "llm-slo", "namespace": "inference"},
        "spec": {
            "groups": [{"name": "llm", "rules": [{"alert": "LlmSlow", "expr": expr, "for": "5m"}]}]
        },
    }


def _dashboard(text: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "llm-dashboard",
            "namespace": "inference",
            "labels": {"grafana_dashboard": "1"},
        },
        "data": {"llm.json": text},
    }


def _gpu_resources(req: int | None, lim: int | None) -> Callable[[Docs], None]:
    def fn(docs: Docs) -> None:
        res = container(docs)["resources"]
        for section, v in (("requests", req), ("limits", lim)):
            if v is None:
                res[section].pop("nvidia.com/gpu", None)
            else:
                res[section]["nvidia.com/gpu"] = v

    return fn


def _affinity_instance_types(types: list[str]) -> Callable[[Docs], None]:
    def fn(docs: Docs) -> None:
        p = pod(docs)
        del p["nodeSelector"]["node.kubernetes.io/instance-type"]
        p["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "node.kubernetes.io/instance-type",
                                    "operator": "In",
                                    "values": types,
                                }
                            ]
                        }
                    ]
                }
            }
        }

    return fn


def _node_selector(key: str, value: str) -> Callable[[Docs], None]:
    return lambda docs: pod(docs)["nodeSelector"].update({key: value})


def _pdb_min_available(value: int | str) -> Callable[[Docs], None]:
    def fn(docs: Docs) -> None:
        spec = by_kind(docs, "PodDisruptionBudget")["spec"]
        del spec["maxUnavailable"]
        spec["minAvailable"] = value

    return fn


def _route(
    name: str,
    port: int = 80,
    namespace: str | None = None,
    *,
    route: str = "llm",
    hostnames: list[str] | None = None,
) -> dict[str, Any]:
    ref: dict[str, Any] = {"kind": "Service", "name": name, "port": port, "weight": 1}
    if namespace is not None:
        ref["namespace"] = namespace
    spec: dict[str, Any] = {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [ref]}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": route, "namespace": "inference"},
        "spec": spec,
    }


def _two_routes(first: dict[str, Any], second: dict[str, Any]) -> Callable[[Docs], None]:
    return lambda docs: docs.extend([first, second])


def _tp_gpus_without_shm(docs: Docs) -> None:
    """Two GPUs per pod on a 4-GPU type, tensor parallel 2, and the /dev/shm mount removed."""
    _gpu_resources(2, 2)(docs)
    pod(docs)["nodeSelector"]["node.kubernetes.io/instance-type"] = "g6.12xlarge"
    c = container(docs)
    c["args"] = ["--tensor-parallel-size", "2"]
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["mountPath"] != "/dev/shm"]
    by_kind(docs, "NodePool")["spec"]["limits"]["nvidia.com/gpu"] = 16


# (case id, rule that must fire, mutation)
CASES: list[tuple[str, str, Callable[[Docs], None]]] = [
    ("tp-flag-vs-gpus", "engine-parallel-gpus", _set(f"{C}.args", ["--tensor-parallel-size", "2"])),
    # TGI's flag in TGI's image (in the vLLM image it is engine-image-mismatch too)
    ("tp-shard-flag-vs-gpus", "engine-parallel-gpus", lambda docs: container(docs).update(
        image="ghcr.io/huggingface/text-generation-inference:3.3.5", args=["--num-shard=4"])),
    ("sglang-in-vllm-image", "engine-image-mismatch", lambda docs: container(docs).update(
        image="vllm/vllm-openai:v0.11.0",
        args=["python3", "-m", "sglang.launch_server", "--tp-size", "1"])),
    ("tp-without-shm", "shm-missing", _tp_gpus_without_shm),
    ("replicas-string", "schema", _set("spec.replicas", "two")),
    ("unknown-container-field", "schema", _set(f"{C}.gpuCount", 1)),
    ("pdb-bad-field", "schema", _set("spec.maxUnavailabel", 1, "PodDisruptionBudget")),
    ("keda-max-not-int", "schema", _add(_scaled_object("other", maxReplicaCount="lots"))),
    (
        "nodepool-bad-operator",
        "schema",
        _set("spec.template.spec.requirements.1.operator", "Inside", "NodePool"),
    ),
    (
        "kind-typo",
        "unknown-kind",
        _add({"apiVersion": "apps/v1", "kind": "Deploymnet", "metadata": {"name": "x"}}),
    ),
    (
        "keda-wrong-version",
        "unknown-kind",
        _add({**_scaled_object("other"), "apiVersion": "keda.sh/v1"}),
    ),
    ("cpu-request", "cpu-request-missing", _del(f"{C}.resources.requests.cpu")),
    ("memory-request", "memory-request-missing", _del(f"{C}.resources.requests.memory")),
    ("cpu-limit", "cpu-limit-missing", _del(f"{C}.resources.limits.cpu")),
    ("memory-limit", "memory-limit-missing", _del(f"{C}.resources.limits.memory")),
    ("image-no-tag", "image-tag", _set(f"{C}.image", "vllm/vllm-openai")),
    ("image-latest", "image-tag", _set(f"{C}.image", "vllm/vllm-openai:latest")),
    ("image-registry-port-no-tag", "image-tag", _set(f"{C}.image", "registry.local:5000/vllm")),
    ("readiness-missing", "readiness-probe-missing", _del(f"{C}.readinessProbe")),
    ("liveness-missing", "liveness-probe-missing", _del(f"{C}.livenessProbe")),
    ("readiness-named-port", "probe-port", _set(f"{C}.readinessProbe.httpGet.port", "metrics")),
    ("liveness-number-port", "probe-port", _set(f"{C}.livenessProbe.httpGet.port", 9090)),
    ("startup-tcp-port", "probe-port", _set(f"{C}.startupProbe", {"tcpSocket": {"port": 8081}})),
    (
        "selector-other-label",
        "selector-mismatch",
        _set("spec.selector.matchLabels", {"app.kubernetes.io/name": "other"}),
    ),
    (
        "service-selects-nothing",
        "service-no-pods",
        _set("spec.selector", {"app.kubernetes.io/name": "nope"}, "Service"),
    ),
    (
        "service-other-namespace",
        "service-no-pods",
        _set("metadata.namespace", "elsewhere", "Service"),
    ),
    ("route-backend-unknown", "route-backend-missing", _add(_route("llm-g6"))),
    ("route-backend-wrong-port", "route-backend-missing", _add(_route("llm", port=8000))),
    (
        "route-backend-other-namespace",
        "route-backend-missing",
        _add(_route("llm", namespace="other")),
    ),
    (  # two services' routes on one Gateway, neither with hostnames: one gets no requests
        "routes-tie-on-one-gateway",
        "route-conflict",
        _two_routes(_route("llm"), _route("llm", route="embedder")),
    ),
    (
        "httproute-weight-too-big",
        "schema",
        _add(
            {
                **_route("llm"),
                "spec": {
                    "rules": [{"backendRefs": [{"name": "llm", "port": 80, "weight": 1000001}]}]
                },
            }
        ),
    ),
    (
        "pdb-max-unavailable-0",
        "pdb-blocks-eviction",
        _set("spec.maxUnavailable", 0, "PodDisruptionBudget"),
    ),
    (
        "pdb-max-unavailable-0pct",
        "pdb-blocks-eviction",
        _set("spec.maxUnavailable", "0%", "PodDisruptionBudget"),
    ),
    ("pdb-min-available-100pct", "pdb-blocks-eviction", _pdb_min_available("100%")),
    ("pdb-min-available-eq-hpa-min", "pdb-blocks-eviction", _pdb_min_available(2)),
    ("pdb-min-available-pct-of-hpa-min", "pdb-blocks-eviction", _pdb_min_available("60%")),
    (
        "hpa-min-above-max",
        "hpa-min-above-max",
        _set("spec.minReplicas", 7, "HorizontalPodAutoscaler"),
    ),
    ("hpa-min-equals-max", "hpa-no-range", _set("spec.minReplicas", 6, "HorizontalPodAutoscaler")),
    ("hpa-and-keda", "hpa-keda-conflict", _add(_scaled_object("llm-g6-xlarge"))),
    ("pod-no-run-as", "run-as-root", _set(f"{P}.securityContext", {})),
    ("container-uid-0", "run-as-root", _set(f"{C}.securityContext.runAsUser", 0)),
    ("container-non-root-false", "run-as-root", _set(f"{C}.securityContext.runAsNonRoot", False)),
    (
        "allow-privilege-escalation",
        "privilege-escalation",
        _set(f"{C}.securityContext.allowPrivilegeEscalation", True),
    ),
    (
        "privilege-escalation-unset",
        "privilege-escalation",
        _del(f"{C}.securityContext.allowPrivilegeEscalation"),
    ),
    (
        "writable-root",
        "writable-root-fs",
        _set(f"{C}.securityContext.readOnlyRootFilesystem", False),
    ),
    ("privileged-container", "privileged", _set(f"{C}.securityContext.privileged", True)),
    ("host-network", "host-network", _set(f"{P}.hostNetwork", True)),
    ("host-pid", "host-pid", _set(f"{P}.hostPID", True)),
    ("host-ipc", "host-ipc", _set(f"{P}.hostIPC", True)),
    (
        "cap-add-sys-admin",
        "dangerous-capabilities",
        _set(f"{C}.securityContext.capabilities.add", ["SYS_ADMIN"]),
    ),
    (
        "cap-add-net-raw",
        "dangerous-capabilities",
        _set(f"{C}.securityContext.capabilities.add", ["net_raw"]),
    ),
    (  # Pod Security Admission reads names as written: baseline allows CHOWN, not chown
        "cap-add-allowed-name-in-lower-case",
        "dangerous-capabilities",
        _set(f"{C}.securityContext.capabilities.add", ["chown"]),
    ),
    (
        "cap-drop-not-all",
        "insecure-capabilities",
        _set(f"{C}.securityContext.capabilities.drop", ["NET_RAW"]),
    ),
    ("seccomp-unset", "seccomp-profile", _del(f"{C}.securityContext.seccompProfile")),
    (
        "seccomp-unconfined",
        "seccomp-profile",
        _set(f"{C}.securityContext.seccompProfile", {"type": "Unconfined"}),
    ),
    ("host-path-volume", "host-path", _add_volume({"name": "h", "hostPath": {"path": "/var"}})),
    ("host-port", "host-port", _set(f"{C}.ports.0.hostPort", 8000)),
    ("env-literal-hf-token", "env-literal-secret", _env("HF_TOKEN", "hf_" + "a" * 34)),
    ("env-named-like-a-secret", "env-literal-secret", _env("VLLM_API_KEY", "changeme")),
    ("env-token-under-other-name", "env-literal-secret", _env("EXTRA", "sk-" + "b" * 24)),
    ("gpu-request-above-limit", "gpu-limit-request-mismatch", _gpu_resources(2, 1)),
    ("gpu-request-without-limit", "gpu-limit-request-mismatch", _gpu_resources(1, None)),
    ("gpu-no-node-selector", "gpu-node-selector", _del(f"{P}.nodeSelector")),
    ("gpu-no-toleration", "gpu-toleration", _del(f"{P}.tolerations")),
    (
        "gpu-wrong-toleration",
        "gpu-toleration",
        _set(
            f"{P}.tolerations",
            [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}],
        ),
    ),
    (
        "gpu-on-cpu-instance",
        "gpu-exceeds-instance",
        _node_selector("node.kubernetes.io/instance-type", "c7a.xlarge"),
    ),
    (
        "gpu-affinity-cpu-types",
        "gpu-exceeds-instance",
        _affinity_instance_types(["c7a.large", "c7a.xlarge"]),
    ),
    (
        "nodepool-limit-low",
        "gpu-nodepool-limit",
        _set("spec.limits", {"nvidia.com/gpu": 4}, "NodePool"),
    ),
    (
        "hpa-max-above-nodepool",
        "gpu-nodepool-limit",
        _set("spec.maxReplicas", 20, "HorizontalPodAutoscaler"),
    ),
    (
        "promql-unclosed",
        "promql-invalid",
        _add(_prometheus_rule("histogram_quantile(0.99, rate(x_bucket[5m])")),
    ),
    (
        "keda-query-bad-range",
        "promql-invalid",
        _add(
            _scaled_object(
                "llm-batch",
                triggers=[
                    {
                        "type": "prometheus",
                        "metadata": {"query": "sum(rate(x[5 m]))", "threshold": "3"},
                    }
                ],
            )
        ),
    ),
    (
        "dashboard-trailing-comma",
        "dashboard-json-invalid",
        _add(_dashboard('{"panels": [1, 2,]}')),
    ),
    ("int32-field-overflow", "api-rejects", _set("spec.revisionHistoryLimit", 2**31)),
    ("label-value-trailing-newline", "api-rejects", _set("metadata.labels.team", "llm\n")),
]


def test_clean_set_is_clean(tables: Catalog) -> None:
    report = check_text(dump_yaml_all(clean_docs()), "clean.yaml", catalog=tables)
    assert report.findings == ()
    assert report.objects == 5


def test_at_least_40_cases_cover_every_rule_without_a_plan() -> None:
    assert len(CASES) >= 40
    covered = {rule for _, rule, _ in CASES}
    # the Pod Security Standards rules, off by default, have their own cases (test_check_pss.py)
    assert covered == {r.id for r in RULES if not r.needs_plan and r.default}


def test_route_to_existing_service_is_clean(tables: Catalog) -> None:
    docs = clean_docs()
    docs.append(_route("llm"))
    assert check_text(dump_yaml_all(docs), "route.yaml", catalog=tables).findings == ()


def test_routes_on_one_gateway_apart_by_hostname_or_listener_are_clean(tables: Catalog) -> None:
    """Own hostnames, another listener (sectionName) or another match: no tie, no finding."""
    other_listener = _route("llm", route="embedder")
    other_listener["spec"]["parentRefs"] = [{"name": "public", "sectionName": "b"}]
    first_listener = _route("llm")
    first_listener["spec"]["parentRefs"] = [{"name": "public", "sectionName": "a"}]
    by_path = _route("llm", route="embedder")
    by_path["spec"]["rules"][0]["matches"] = [{"path": {"type": "PathPrefix", "value": "/embed"}}]
    for pair in (
        (
            _route("llm", hostnames=["chat.example.com"]),
            _route("llm", route="embedder", hostnames=["embed.example.com"]),
        ),
        (first_listener, other_listener),
        (_route("llm"), by_path),
    ):
        docs = clean_docs()
        docs.extend(pair)
        report = check_text(dump_yaml_all(docs), "routes.yaml", catalog=tables)
        assert report.findings == (), [f.message for f in report.findings]


def test_route_conflict_names_both_routes_and_the_fix(tables: Catalog) -> None:
    docs = clean_docs()
    hosts = ["a.example.com", "b.example.com"]
    first = _route("llm", hostnames=hosts)
    docs.extend([first, _route("llm", route="embedder", hostnames=hosts[::-1])])
    (f,) = check_text(dump_yaml_all(docs), "routes.yaml", catalog=tables).findings
    assert f.rule == "route-conflict" and f.name == "llm"  # the later by name; names the other
    assert "'embedder'" in f.message and "Gateway inference/public" in f.message
    assert "(a.example.com, b.example.com)" in f.message and "PathPrefix /" in f.message
    assert "kubernetes.gateway.hostnames" in f.hint


@pytest.mark.parametrize(("case", "rule", "mutation"), CASES, ids=[c[0] for c in CASES])
def test_mutation_caught_by_its_rule_only(
    tables: Catalog,
    case: str, rule: str, mutation: Callable[[Docs], None]
) -> None:
    report = check_text(mutated(mutation), f"{case}.yaml", catalog=tables)
    fired = {f.rule for f in report.findings}
    assert fired == {rule}, [f"{f.rule}: {f.message}" for f in report.findings]
    for f in report.findings:
        assert f.line >= 1 and f.hint and f.kind and f.name


@pytest.mark.parametrize(
    ("case", "rule", "mutation"),
    CASES[:3] + CASES[20:23],
    ids=[c[0] for c in CASES[:3] + CASES[20:23]],
)
def test_rule_can_be_disabled_per_run_and_per_object(
    tables: Catalog,
    case: str, rule: str, mutation: Callable[[Docs], None]
) -> None:
    text = mutated(mutation)
    assert check_text(text, "x.yaml", disabled_rules=[rule], catalog=tables).findings == ()

    # per object: annotate every object with the ignore annotation
    def annotate(docs: Docs) -> None:
        mutation(docs)
        for d in docs:
            d["metadata"].setdefault("annotations", {})["scaleplan.dev/ignore"] = (
                f"unrelated, {rule}"
            )

    report = check_text(mutated(annotate), "x.yaml", catalog=tables)
    assert report.findings == (), [f.message for f in report.findings]


def test_parallel_gpus_fix_names_the_containers_own_flags(tables: Catalog) -> None:
    # UX review 5: a TGI or SGLang container was told to fix '--tensor-parallel-size', vLLM's flag
    def tgi(docs: Docs) -> None:
        container(docs).update(
            image="ghcr.io/huggingface/text-generation-inference:3.3.5", args=["--num-shard=4"]
        )

    report = check_text(mutated(tgi), "tgi.yaml", catalog=tables)
    (f,) = [f for f in report.findings if f.rule == "engine-parallel-gpus"]
    assert "--num-shard" in f.hint and "--tensor-parallel-size" not in f.hint


def test_api_rejects_container_resource_names_the_server_refuses(tables: Catalog) -> None:
    """UX review 6, #8: `requests.cpux` (a typo) or a bare `gpu` passed schema and api-rejects
    (only cpu-request-missing fired); the API server refuses any container resource name that
    is neither standard (cpu, memory, ephemeral-storage, hugepages-*) nor domain-qualified."""

    def edit(d: Docs) -> None:
        res = container(d)["resources"]
        res["requests"]["cpux"] = res["requests"]["cpu"]
        res["limits"]["gpu"] = 1

    report = check_text(mutated(edit), "res.yaml", catalog=tables)
    found = [f for f in report.findings if f.rule == "api-rejects"]
    msgs = sorted(f.message for f in found)
    assert len(found) == 2, found
    assert "resources.limits 'gpu' is not a standard container resource" in msgs[0], msgs
    assert "resources.requests 'cpux' is not a standard container resource" in msgs[1], msgs
    assert {f.path.rsplit(".", 1)[-1] for f in found} == {"gpu", "cpux"}
    clean = check_text(dump_yaml_all(clean_docs()), "clean.yaml", catalog=tables)
    assert not [f for f in clean.findings if f.rule == "api-rejects"]


def test_api_rejects_a_request_above_its_limit(tables: Catalog) -> None:
    """UX trial 35: a hand edit raised requests.memory to 64Gi over a 23183Mi limit (and a pod
    asked cpu 4 under a limit of 2); check passed both, exit 0, and kubectl apply refuses them
    ('must be less than or equal to memory limit'). Quantities compare exactly across units."""

    def edit(d: Docs) -> None:
        res = container(d)["resources"]
        res["limits"]["memory"], res["requests"]["memory"] = "23183Mi", "64Gi"
        res["limits"]["cpu"], res["requests"]["cpu"] = "2", 4

    report = check_text(mutated(edit), "res.yaml", catalog=tables)
    found = sorted((f for f in report.findings if f.rule == "api-rejects"), key=lambda f: f.path)
    assert [f.path.rsplit(".", 1)[-1] for f in found] == ["cpu", "memory"], found
    assert "resources.requests.memory 64Gi is above its limit 23183Mi" in found[1].message
    assert report.failed("error")

    def equal_across_units(d: Docs) -> None:
        res = container(d)["resources"]
        res["limits"]["memory"], res["requests"]["memory"] = "1Gi", "1024Mi"
        res["limits"]["cpu"], res["requests"]["cpu"] = "1", "1000m"
        # an exponent past what a Decimal holds is unreadable here, not a crash
        storage = "ephemeral-storage"
        res["limits"][storage], res["requests"][storage] = "1Gi", "1e99999999"

    report = check_text(mutated(equal_across_units), "res.yaml", catalog=tables)
    assert not [f for f in report.findings if f.rule == "api-rejects"]


def test_env_from_secrets_and_token_counts_are_not_literal_secrets(tables: Catalog) -> None:
    """Only a literal value is a leak: a secretKeyRef, an empty value, cache paths, the path of a
    mounted key file (render's gs:// loader sets one) and the engines' token-count flags
    (--max-num-batched-tokens) are not (UX review 12, F1)."""

    def fn(docs: Docs) -> None:
        c = container(docs)
        c["env"] = [
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN"}}},
            {"name": "API_TOKEN", "value": ""},
            {"name": "HF_HOME", "value": "/models/hf"},
            {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
            {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/gcp/key.json"},
        ]
        c["args"] = ["--max-num-batched-tokens", "8192", "--max-total-tokens", "4096"]

    report = check_text(mutated(fn), "env.yaml", catalog=tables)
    assert report.findings == ()


def test_literal_token_in_args_is_a_literal_secret(tables: Catalog) -> None:
    def fn(docs: Docs) -> None:
        container(docs)["args"] = ["--api-key", "sk-" + "c" * 24]

    report = check_text(mutated(fn), "args.yaml", catalog=tables)
    assert [f.rule for f in report.findings] == ["env-literal-secret"]
    assert "sk-" + "c" * 24 not in report.findings[0].message  # never echo the secret


def test_a_secret_flag_naming_a_mounted_file_is_no_literal_secret(tables: Catalog) -> None:
    """`args: [--api-key-file, /path/to/file]` names the key's mounted file, as
    GOOGLE_APPLICATION_CREDENTIALS does in env (exempt); it was an env-literal-secret error
    (review). A literal after a secret flag still is one."""

    def fn(docs: Docs) -> None:
        args = ["--api-key-file", "/path/to/file", "--api-key", "/etc/secret/key"]
        container(docs)["args"] = args

    assert check_text(mutated(fn), "file.yaml", catalog=tables).findings == ()

    def literal(docs: Docs) -> None:
        container(docs)["args"] = ["--api-key-file", "/path/to/file", "--api-key", "hunter2"]

    report = check_text(mutated(literal), "literal.yaml", catalog=tables)
    assert [f.rule for f in report.findings] == ["env-literal-secret"]


def test_a_variable_reference_in_args_or_env_is_no_literal_secret(tables: Catalog) -> None:
    """`args: [--api-key, $(VLLM_API_KEY)]` with VLLM_API_KEY from a secretKeyRef is the
    Kubernetes way to hand a Secret to a flag (the kubelet expands $(NAME)); it was an
    env-literal-secret error (review)."""

    def fn(docs: Docs) -> None:
        c = container(docs)
        ref = {"secretKeyRef": {"name": "vllm", "key": "api-key"}}
        c["env"] = [
            {"name": "VLLM_API_KEY", "valueFrom": ref},
            {"name": "HF_TOKEN", "value": "$(VLLM_API_KEY)"},
        ]
        c["args"] = ["--api-key", "$(VLLM_API_KEY)", "--hf-token=$(HF_TOKEN)"]

    report = check_text(mutated(fn), "ref.yaml", catalog=tables)
    assert [f.rule for f in report.findings] == []


def test_api_rejects_a_lifecycle_sleep_below_its_default_on_version(tables: Catalog) -> None:
    """UX trial 29 F13: `lifecycle.preStop.sleep` (render writes it) is in 1.29's schema while
    its feature gate is off there, so a 1.29 API server drops it and rejects the Deployment;
    check --kube-version 1.29 passed. Now api-rejects says so below 1.30, not at 1.30."""

    def edit(d: Docs) -> None:
        container(d)["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}

    text = mutated(edit)
    # 1.28's schema has no such field: the schema rule says so, api-rejects does not repeat it
    for version, flagged in (("1.28", False), ("1.29", True), ("1.30", False), ("1.33", False)):
        report = check_text(text, "sleep.yaml", kube_version=version, catalog=tables)
        found = [f for f in report.findings if f.rule == "api-rejects"]
        assert bool(found) is flagged, (version, found)
        if flagged:
            (f,) = found
            assert "lifecycle.preStop.sleep needs Kubernetes 1.30 or later" in f.message
            assert f.path.endswith("lifecycle.preStop.sleep")


def test_api_rejects_gives_each_case_its_own_fix(tables: Catalog) -> None:
    """UX trial 35 LOW-9: every api-rejects finding carried the rule's whole hint, so a request
    above its limit was told `fix: use a DNS-1123 name ... and int32 numbers; spell resources
    ...`. Each case now has its own fix, naming the values where the message does; the rule's
    hint (check --list-rules, SARIF's rule help) still lists them all."""
    (rule,) = [r for r in RULES if r.id == "api-rejects"]

    def fix(edit: Callable[[Docs], None], kube_version: str = "1.31") -> str:
        report = check_text(mutated(edit), "x.yaml", kube_version=kube_version, catalog=tables)
        (f,) = [f for f in report.findings if f.rule == "api-rejects"]
        assert f.hint != rule.hint, f
        return f.hint

    def above(d: Docs) -> None:
        res = container(d)["resources"]
        res["limits"]["memory"], res["requests"]["memory"] = "23183Mi", "64Gi"

    def typo(d: Docs) -> None:
        res = container(d)["resources"]
        res["requests"]["cpux"] = res["requests"].pop("cpu")

    def sleep(d: Docs) -> None:
        container(d)["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}

    hints = {
        "request": fix(above),
        "resource": fix(typo),
        "name": fix(_set("metadata.name", "Chat_Server")),
        "service": fix(_set("metadata.name", "chat.server", kind="Service")),
        "namespace": fix(_set("metadata.namespace", "LLM")),
        "label": fix(_set("metadata.labels.team", "llm\n")),
        "int32": fix(_set("spec.revisionHistoryLimit", 2**31)),
        "gated": fix(sleep, "1.29"),
    }
    assert hints["request"] == (
        "lower resources.requests.memory to at most 23183Mi, or raise "
        "resources.limits.memory to at least 64Gi"
    )
    assert hints["resource"].startswith("spell the resource cpu, memory"), hints
    assert "253" in hints["name"] and "subdomain" in hints["name"], hints
    assert "63" in hints["service"] and "label" in hints["service"], hints
    assert hints["namespace"] == hints["service"]
    assert "label key" in hints["label"] and "whitespace" in hints["label"], hints
    assert hints["int32"] == "set revisionHistoryLimit between -2147483648 and 2147483647"
    assert "1.30" in hints["gated"] and "lifecycle.preStop.sleep" in hints["gated"], hints
    # no fix speaks of another case
    for case, text in hints.items():
        assert ("int32" in text or "2147483647" in text) == (case == "int32"), (case, text)
        assert ("DNS-1123" in text) == (case in ("name", "service", "namespace")), (case, text)
        assert ("limit" in text) == (case == "request"), (case, text)
