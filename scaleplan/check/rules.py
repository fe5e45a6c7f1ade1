"""The rules of ``scaleplan check``, in one table: each a stable id, a severity, a category, a
reason and a fix hint. The table's order is the order of ``check --list-rules`` and of the
reports; the functions that implement the rules live in one module per family
(:mod:`scaleplan.check.engine` collects them).

Where a rule is shared with Polaris (``Rule.polaris``) it follows Polaris's definition of that
check exactly (tests/test_check_polaris.py runs Polaris's own pass/fail fixtures); the GPU and
plan rules are scaleplan's own.
"""

from __future__ import annotations

from scaleplan.check.model import Rule
from scaleplan.check.pss_rules import PSS_RULES
from scaleplan.llm.engine_flags import IMAGES

R = Rule
RULES: tuple[Rule, ...] = (
    # schema (implemented in scaleplan.check.schema)
    R(
        "schema",
        "error",
        "schema",
        "The object does not validate against the Kubernetes (or CRD) schema for the "
            "chosen version.",
        "fix the field named in the message; `kubectl explain KIND.FIELD` shows the schema",
    ),
    R(
        "unknown-kind",
        "error",
        "schema",
        "No schema is known for this apiVersion/kind, so nothing about it was checked.",
        "fix a typo in apiVersion/kind, or disable the rule for this object with the "
            "scaleplan.dev/ignore annotation",
    ),
    R(
        "api-rejects",
        "error",
        "schema",
        "A value the API server rejects although the OpenAPI schema allows it: an object name, "
            "namespace, label key or value that is not a valid Kubernetes name (a trailing newline "
            "included), an int32 field (replicas, ports, probe timings) beyond 2147483647, a "
            "container resource name that is neither cpu, memory, ephemeral-storage or "
            "hugepages-<size> nor domain-qualified (a typo such as 'cpux' or 'gpu'), a container's "
            "request above its limit (a hand edit that raised requests.memory past limits.memory), "
            "or a container field behind a feature gate that is off by default at the chosen "
            "version (lifecycle sleep before 1.30).",
        "use a DNS-1123 name (lower-case letters, digits, '-' and '.'; at most 253 characters, 63 "
            "for labels) and int32 numbers; spell resources cpu, memory or vendor.com/name "
            "(nvidia.com/gpu); keep each request at most its limit; for a gated field, a newer "
            "cluster (--kube-version) or an exec handler instead",
    ),
    # resources
    R(
        "cpu-request-missing",
        "error",
        "resources",
        "A container has no CPU request, so the scheduler may pack it onto a busy node.",
        "set resources.requests.cpu",
        polaris=("cpuRequestsMissing",),
        kube_linter=("unset-cpu-requirements",),
    ),
    R(
        "memory-request-missing",
        "error",
        "resources",
        "A container has no memory request, so the scheduler cannot place it safely.",
        "set resources.requests.memory",
        polaris=("memoryRequestsMissing",),
        kube_linter=("unset-memory-requirements",),
    ),
    R(
        "cpu-limit-missing",
        "warning",
        "resources",
        "A container has no CPU limit.",
        "set resources.limits.cpu",
        polaris=("cpuLimitsMissing",),
        kube_linter=("unset-cpu-requirements",),
    ),
    R(
        "memory-limit-missing",
        "error",
        "resources",
        "A container has no memory limit, so a leak can take the node's memory from other pods.",
        "set resources.limits.memory",
        polaris=("memoryLimitsMissing",),
        kube_linter=("unset-memory-requirements",),
    ),
    # image
    R(
        "image-tag",
        "error",
        "image",
        "The image has no tag or uses 'latest', so what runs changes under you.",
        "pin a version tag or a digest (name:1.2.3 or name@sha256:...)",
        polaris=("tagNotSpecified",),
        kube_linter=("latest-tag",),
    ),
    # probes
    R(
        "readiness-probe-missing",
        "error",
        "probes",
        "A container has no readiness probe, so it gets traffic before the model is loaded.",
        "add a readinessProbe (vLLM: httpGet /health or /v1/models)",
        polaris=("readinessProbeMissing",),
    ),
    R(
        "liveness-probe-missing",
        "warning",
        "probes",
        "A container has no liveness probe, so a hung server is never restarted.",
        "add a livenessProbe (vLLM: httpGet /health) and a startupProbe covering model load",
        polaris=("livenessProbeMissing",),
    ),
    R(
        "probe-port",
        "error",
        "probes",
        "A probe's port matches no port the container declares.",
        "point the probe at a containerPort (by number or name)",
        kube_linter=("readiness-port", "liveness-port", "startup-port"),
    ),
    # selectors
    R(
        "selector-mismatch",
        "error",
        "selectors",
        "The workload's selector does not match its pod template's labels.",
        "make spec.selector.matchLabels a subset of spec.template.metadata.labels",
        kube_linter=("mismatching-selector",),
    ),
    R(
        "service-no-pods",
        "error",
        "selectors",
        "The Service's selector matches no pods in the checked manifests.",
        "make the Service selector match the pod template labels of its workload",
        kube_linter=("dangling-service",),
    ),
    R(
        "route-backend-missing",
        "error",
        "selectors",
        "An HTTPRoute backendRef names a Service (or a Service port) that is not in the checked "
            "manifests, so its share of the requests fails.",
        "point backendRefs[].name and port at a Service in the same manifests, or render the route "
            "and its Services together",
    ),
    R(
        "route-conflict",
        "error",
        "selectors",
        "Two HTTPRoutes attach to one Gateway listener with the same hostnames and an identical"
        " match, so the Gateway sends every request they both match to one of them and the"
        " other's backends get none.",
        "give each service behind a shared Gateway its own hostnames (spec"
        " kubernetes.gateway.hostnames), or attach it to another Gateway",
    ),
    # availability
    R(
        "pdb-blocks-eviction",
        "error",
        "availability",
        "The PodDisruptionBudget allows no voluntary eviction, so node drains and upgrades hang.",
        "use maxUnavailable: 1, or a minAvailable below the workload's (minimum) replicas",
        polaris=("pdbDisruptionsIsZero",),
        kube_linter=("pdb-min-available", "pdb-max-unavailable"),
    ),
    # autoscaling
    R(
        "hpa-min-above-max",
        "error",
        "autoscaling",
        "The HorizontalPodAutoscaler's minReplicas is above its maxReplicas.",
        "set minReplicas <= maxReplicas",
        polaris=("hpaMaxAvailability",),
    ),
    R(
        "hpa-no-range",
        "warning",
        "autoscaling",
        "The HorizontalPodAutoscaler's minReplicas equals maxReplicas, so it can never scale.",
        "raise maxReplicas above minReplicas, or drop the HPA and set replicas",
        polaris=("hpaMaxAvailability",),
    ),
    R(
        "hpa-keda-conflict",
        "error",
        "autoscaling",
        "An HPA and a KEDA ScaledObject scale the same workload; they fight over its replicas.",
        "keep one: KEDA creates its own HPA, so delete the HorizontalPodAutoscaler",
    ),
    # security
    # monitoring
    R(
        "promql-invalid",
        "error",
        "monitoring",
        "A PrometheusRule expression or a KEDA Prometheus trigger query is not valid PromQL: the "
            "rule never fires, the trigger leaves the workload at its fallback.",
        "fix the expression (the message quotes the parser); `promtool check rules` and "
            "Prometheus's expression browser show the same error",
    ),
    R(
        "dashboard-json-invalid",
        "error",
        "monitoring",
        "A ConfigMap key ending in .json (a Grafana dashboard) does not parse as JSON, so the "
            "dashboard sidecar skips it.",
        "fix the JSON (the message names line and column), or re-render the dashboard with "
            "`scaleplan render`",
    ),
    R(
        "run-as-root",
        "warning",
        "security",
        "The container may run as root.",
        "set securityContext.runAsNonRoot: true (or runAsUser >= 1)",
        polaris=("runAsRootAllowed",),
        kube_linter=("run-as-non-root",),
    ),
    R(
        "privilege-escalation",
        "warning",
        "security",
        "The container allows privilege escalation.",
        "set securityContext.allowPrivilegeEscalation: false",
        polaris=("privilegeEscalationAllowed",),
        kube_linter=("privilege-escalation-container",),
    ),
    R(
        "writable-root-fs",
        "warning",
        "security",
        "The container's root filesystem is writable.",
        "set securityContext.readOnlyRootFilesystem: true; mount an emptyDir for caches and /tmp",
        polaris=("notReadOnlyRootFilesystem",),
        kube_linter=("no-read-only-root-fs",),
    ),
    R(
        "privileged",
        "error",
        "security",
        "The container runs privileged (full access to the host).",
        "remove securityContext.privileged; GPUs need no privileged mode with the device plugin",
        polaris=("runAsPrivileged",),
        kube_linter=("privileged-container",),
    ),
    R(
        "host-network",
        "error",
        "security",
        "The pod uses the host's network namespace.",
        "remove hostNetwork: true",
        polaris=("hostNetworkSet",),
        kube_linter=("host-network",),
    ),
    R(
        "host-pid",
        "error",
        "security",
        "The pod shares the host's process namespace.",
        "remove hostPID: true",
        polaris=("hostPIDSet",),
        kube_linter=("host-pid",),
    ),
    R(
        "host-ipc",
        "error",
        "security",
        "The pod shares the host's IPC namespace.",
        "remove hostIPC: true; use an emptyDir with medium: Memory for /dev/shm",
        polaris=("hostIPCSet",),
        kube_linter=("host-ipc",),
    ),
    R(
        "host-path",
        "error",
        "security",
        (
            "The pod mounts a hostPath volume: the container reads (or writes) the node's files, "
            "and Pod Security Admission (baseline and restricted) rejects the pod."
        ),
        (
            "use an emptyDir, a PersistentVolumeClaim or a generic ephemeral volume instead of "
            "hostPath"
        ),
    ),
    R(
        "host-port",
        "error",
        "security",
        (
            "A container binds a port on the node (hostPort): one replica per node at most, "
            "reachable around the Service, and Pod Security Admission (baseline and restricted) "
            "rejects the pod."
        ),
        "remove ports[].hostPort; reach the pods through their Service",
    ),
    R(
        "dangerous-capabilities",
        "error",
        "security",
        (
            "A container adds a Linux capability that the Pod Security Standards' baseline forbids "
            "(ALL, SYS_ADMIN, NET_ADMIN, NET_RAW, ...: anything but AUDIT_WRITE, CHOWN, "
            "DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP,"
            " SETUID, SYS_CHROOT); a namespace that enforces baseline or restricted rejects the "
            "pod."
        ),
        (
            "remove the capability from securityContext.capabilities.add; GPUs and NCCL need none "
            "with the device plugin"
        ),
        polaris=("dangerousCapabilities",),
    ),
    R(
        "insecure-capabilities",
        "warning",
        "security",
        (
            "A container does not drop all Linux capabilities (securityContext.capabilities.drop "
            "lacks ALL); a namespace that enforces the restricted Pod Security Standard rejects the"
            " pod."
        ),
        "set securityContext.capabilities.drop: [ALL]",
        polaris=("insecureCapabilities",),
    ),
    R(
        "seccomp-profile",
        "warning",
        "security",
        (
            "A container runs without a seccomp profile (neither it nor the pod sets "
            "seccompProfile.type RuntimeDefault or Localhost) or with Unconfined; a namespace that "
            "enforces the restricted Pod Security Standard rejects the pod (baseline rejects "
            "Unconfined)."
        ),
        (
            "set spec.securityContext.seccompProfile.type: RuntimeDefault on the pod, and no "
            "Unconfined on a container"
        ),
    ),
    R(
        "env-literal-secret",
        "error",
        "security",
        (
            "A container's env value, argument or command holds a literal credential: a variable "
            "named like a secret (HF_TOKEN, *SECRET*, *PASSWORD*, *_API_KEY, ...) with a value, a "
            "flag named like one (--api-key, --token) followed by a value, or a value shaped like a"
            " token (hf_..., AKIA..., ghp_..., sk-...); it is stored in clear text in the "
            "manifests, in Git and in the API server."
        ),
        (
            "put the credential in a Secret and read it with env valueFrom.secretKeyRef (scaleplan "
            "render writes it for model.source.secret and kubernetes.secret_env)"
        ),
        kube_linter=("env-var-secret",),
    ),
    # gpu
    R(
        "gpu-limit-request-mismatch",
        "error",
        "gpu",
        "A GPU request differs from its limit (extended resources cannot be overcommitted; the API "
            "server rejects it).",
        "set the GPU only under limits, or make requests equal to limits",
    ),
    R(
        "gpu-node-selector",
        "error",
        "gpu",
        "A pod requests GPUs but does not select GPU nodes, so it can land on (or provision) the "
            "wrong instance type.",
        "add a nodeSelector on node.kubernetes.io/instance-type, nvidia.com/gpu.product, "
            "karpenter.k8s.aws/instance-gpu-name or cloud.google.com/gke-accelerator (or required "
            "nodeAffinity terms that each require one)",
    ),
    R(
        "gpu-toleration",
        "error",
        "gpu",
        "A pod requests GPUs but tolerates no GPU taint, so it cannot schedule on "
            "tainted GPU nodes.",
        "add a toleration {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}",
    ),
    R(
        "gpu-exceeds-instance",
        "error",
        "gpu",
        "A pod requests more GPUs than any instance type it selects has; it can never schedule.",
        "lower the GPUs per pod or select a larger instance type",
    ),
    R(
        "gpu-nodepool-limit",
        "error",
        "gpu",
        "Replicas x GPUs per pod at the autoscaler's maximum exceed the NodePool's GPU limit.",
        "raise spec.limits of the NodePool or lower maxReplicas",
    ),
    R(
        "engine-parallel-gpus",
        "error",
        "gpu",
        "The server's tensor-parallel (or shard) flag times its pipeline-parallel flag differs "
            "from the GPUs the container requests, so the server fails to start or "
            "leaves GPUs idle.",
        "make --tensor-parallel-size (x --pipeline-parallel-size) equal the container's GPU limit, "
            "or re-render from the plan",
    ),
    R(
        "engine-image-mismatch",
        "error",
        "gpu",
        "The container's image is a known image of another serving engine than the one its command "
            "and args start (or than the plan's model.engine): the vLLM and TGI images' "
            "entrypoints read the args as their own flags and the SGLang and TensorRT-LLM images "
            "run them as a command, so the server cannot start and the pod crash-loops.",
        f"use the engine's image ({', '.join(repos[0] for repos in IMAGES.values())}), or set "
            "model.engine to the image's engine and re-render",
    ),
    R(
        "shm-missing",
        "error",
        "gpu",
        "A multi-GPU (tensor-parallel) server has no /dev/shm volume; NCCL runs out of the "
            "container's 64 MiB default and the workers crash or hang.",
        "mount an emptyDir with medium: Memory at /dev/shm",
    ),
    R(
        "engine-plan-flags",
        "error",
        "plan",
        "The server's parallelism, concurrency, context-length, memory or KV-cache precision flags "
            "differ from the plan (or are missing), so it runs at a load or memory split the plan "
            "did not assume.",
        "re-render from the plan, or change model.engine_config or model.kv_cache_dtype and run "
            "scaleplan optimize again",
        needs_plan=True,
    ),
    R(
        "engine-model-missing",
        "error",
        "plan",
        "The model server names no model (no model flag, no positional model after serve, no "
            "MODEL_ID environment variable), so it starts its engine's default model and serves "
            "something other than what the plan sized.",
        "set model.source in the spec and re-render, or pass the model in spec.kubernetes.args "
        "(--model for vLLM; after trtllm-serve for trtllm)",
        needs_plan=True,
    ),
    R(
        "weights-volume-small",
        "error",
        "plan",
        "The volume the model's weights are downloaded into is smaller than the weights, so the "
            "download fails and the pod never starts.",
        "size the model cache volume from the weights (scaleplan render does: weights x "
            "1.1 + 2 GiB)",
        needs_plan=True,
    ),
    R(
        "route-to-losable",
        "error",
        "plan",
        "An HTTPRoute gives a weight to a Service whose pods run only on spot capacity with no "
            "fallback; when the spot capacity is reclaimed, that share of the requests fails.",
        "let the pods fall back to on-demand nodes (eks-karpenter renders a fallback NodePool), "
            "use routing: inference-pool, or give the route no weight there",
        needs_plan=True,
    ),
    R(
        "spot-only-capacity",
        "error",
        "plan",
        "A workload can only run on spot capacity but the plan requires on-demand capacity for it.",
        "allow on-demand in the NodePool (karpenter.sh/capacity-type In [on-demand, spot]) or drop "
            "the spot node selector",
        needs_plan=True,
    ),
    R(
        "flavor-mismatch",
        "error",
        "plan",
        "A node selector, NodePool or node class belongs to another cloud than the plan's cluster "
            "flavor (an EKS cluster has no GCP instance types or GKE labels), so the pods can "
            "never schedule.",
        "re-plan with placement.providers matching kubernetes.flavor (the default), or set flavor: "
            "generic for a cluster that spans clouds",
        needs_plan=True,
    ),
    R(
        "zone-spread-not-enforced",
        "error",
        "plan",
        "The plan survives losing a zone (redundancy: zone) only with the workload's replicas "
        "spread evenly over its zones, but the pod's zone spread is missing or best effort "
        "(whenUnsatisfiable: ScheduleAnyway, maxSkew above 1, minDomains unset or below the "
        "plan's zone count), so the scheduler may stack replicas in one zone and a zone loss "
        "takes more than the plan survives.",
        "re-render from the plan: a topologySpreadConstraint on topology.kubernetes.io/zone "
        "with maxSkew: 1, whenUnsatisfiable: DoNotSchedule and minDomains: the plan's zone count",
        needs_plan=True,
    ),
    R(
        "floor-above-plan",
        "warning",
        "plan",
        "A workload's lowest replica count as deployed (an HPA's minReplicas, which is at least "
        "1, a ScaledObject's minReplicaCount, or fixed replicas) is above the plan's lowest "
        "hourly count, so it keeps nodes in hours the plan runs fewer and the deployment costs "
        "more than the plan says. Allocations priced $0/h are left out: render holds them at "
        "their peak, and their floor costs nothing.",
        "re-run scaleplan optimize (plans hold the HPA's floor of 1 replica in every hour), or "
        "use an autoscaler that scales to 0 (kubernetes.autoscaler.type: keda-prometheus)",
        needs_plan=True,
    ),
    R(
        "drift",
        "error",
        "plan",
        "The manifests differ from what the plan renders.",
        "re-run `scaleplan render` from the plan, or re-plan and commit both",
        needs_plan=True,
    ),
    # pod-security (scaleplan.check.pss_rules): off unless --pod-security or a Namespace asks
    *PSS_RULES,
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
