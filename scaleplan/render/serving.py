"""Model weights, caches and credentials for LLM servers (docs/render.md, "Model weights").

Pure: :func:`model_storage` turns an allocation and the spec's ``model.source`` into the pod's
volumes, mounts, environment and (for s3:// and gs://) the init container that copies the
weights, plus the sizes the node needs. Credentials only ever come from a Kubernetes Secret
(``secretKeyRef`` / a Secret volume); the spec cannot hold a token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scaleplan.kube.safety import container_security_context
from scaleplan.plan import Allocation, Plan
from scaleplan.spec import ModelSource

Obj = dict[str, Any]

MODEL_DIR = "/models"
CACHE_DIR = "/cache"
CACHE_DIR_GIB = 10  # engine compile caches (torch.compile, Triton, CUDA graphs), HF metadata
WEIGHTS_MARGIN = 1.10  # safetensors headers, tokenizer, config, a partial download
WEIGHTS_EXTRA_GIB = 2
OS_GIB = 40  # OS, kubelet, container logs
IMAGES_GIB = 60  # an LLM engine image is 10-25 GiB extracted; room for the old and new one in a rollout
LOADER_IMAGES = {"s3": "amazon/aws-cli:2.27.50", "gs": "gcr.io/google.com/cloudsdktool/google-cloud-cli:530.0.0-slim"}
# AWS instance families whose every size has local NVMe instance store, with the smallest size's
# store in GiB (AWS instance-type pages): the cache goes there with Karpenter's RAID0 policy.
NVME_FAMILIES: dict[str, int] = {
    "g4dn": 116,
    "g5": 232,
    "g6": 232,
    "g6e": 232,
    "gr6": 464,
    "p4d": 7450,
    "p4de": 7450,
    "p5": 28610,
    "p5e": 28610,
    "p5en": 28610,
    "p6-b200": 28610,
}


@dataclass
class Storage:
    """What the pod template and the node need for the model's weights and caches."""

    volumes: list[Obj] = field(default_factory=list)
    mounts: list[Obj] = field(default_factory=list)
    env: list[Obj] = field(default_factory=list)
    init: list[Obj] = field(default_factory=list)
    model_arg: str | None = None  # what the engine's model flag gets
    revision: str | None = None
    weights_gib: float | None = None  # per replica
    cache_gib: int | None = None  # the model cache volume's size (None: a PVC source, no cache)
    node_local: bool = False  # the cache is an emptyDir on node-local NVMe (Karpenter RAID0)
    ephemeral_gib: int = 0  # ephemeral storage each pod requests
    notes: list[str] = field(default_factory=list)


def weights_gib(plan: Plan, a: Allocation,
        accel_memory_gib: float | None) -> tuple[float | None, str]:
    """Weights one replica loads, and where the number comes from. The plan's LLM section gives
    it exactly; a plan from a profile alone gives an upper bound (the spec's memory_gib, or the
    replica's GPU memory)."""
    if a.llm is not None:
        return a.llm.weights_gib_per_gpu * a.llm.tensor_parallel * a.llm.pipeline_parallel, "plan"
    if plan.spec.model.memory_gib is not None:
        return plan.spec.model.memory_gib, ("spec model.memory_gib (an upper bound: it includes "
            "the KV cache)")
    if accel_memory_gib is not None and a.gpus_per_replica > 0:
        return accel_memory_gib * a.gpus_per_replica, "the replica's GPU memory (an upper bound)"
    return None, "unknown"


STARTUP_S = 600  # engine start, CUDA graphs and compilation: the start-up window of any server
DOWNLOAD_GIB_PER_S = 0.1  # a server downloading from Hugging Face: ~100 MiB/s, a cautious rate
LOAD_GIB_PER_S = 1.0  # weights read from local disk into GPU memory
# before a new pod starts: its node starts and its image is pulled (new_pod_serving_after)
NODE_START_S = 90.0
IMAGE_PULL_S = 120.0


def serves_model(plan: Plan) -> bool:
    """Whether the pods get the model's storage (:func:`model_storage`'s cache, source and
    init copy): ``model.engine`` is named or a ``model.source`` given."""
    return plan.spec.model.engine is not None or plan.spec.model.source is not None


def startup_seconds(explicit: int | None, st: Storage | None) -> int:
    """How long the startup probe waits: the spec's ``kubernetes.probes.startup_seconds``, else
    600 s plus the weights' load and, when the server downloads them itself (a Hugging Face
    source or none: no init container copies them first, no volume holds them), their download,
    rounded up to the probe's 10 s period. An init container's copy runs before the probe."""
    return startup_window(explicit, st)[0]


def startup_window(explicit: int | None, st: Storage | None) -> tuple[int, str]:
    """:func:`startup_seconds` and how it was reckoned, in words."""
    if explicit is not None:
        return explicit, "the spec's kubernetes.probes.startup_seconds"
    engine = f"engine start-up {STARTUP_S} s"
    if st is None or st.weights_gib is None:
        return STARTUP_S, engine
    w = st.weights_gib
    downloads = st.cache_gib is not None and not st.init  # not a PVC's, not an init copy's
    per_gib = 1 / LOAD_GIB_PER_S + (1 / DOWNLOAD_GIB_PER_S if downloads else 0)
    fetch = f" + download {w:.3g} GiB at {DOWNLOAD_GIB_PER_S:g} GiB/s" if downloads else ""
    said = f"{engine}{fetch} + weight load {w:.3g} GiB at {LOAD_GIB_PER_S:g} GiB/s"
    said += ", rounded up to 10 s"
    return 10 * math.ceil((STARTUP_S + w * per_gib) / 10 - 1e-9), said


def copy_seconds(st: Storage | None) -> int:
    """How long an init container's copy of the weights (s3://, gs://) may take, at the
    download's cautious rate, rounded up to 10 s: it runs before the startup probe, so the
    rollout's progressDeadlineSeconds waits for it on top of the probe's window. 0 without one."""
    if st is None or not st.init:
        return 0
    return 10 * math.ceil(_copied_gib(st) / DOWNLOAD_GIB_PER_S / 10 - 1e-9)


def _copied_gib(st: Storage) -> float:
    """What an init container copies: the weights, or the cache's size when they are unknown."""
    return st.weights_gib if st.weights_gib is not None else float(st.cache_gib or 0)


def serving_after(plan: Plan, a: Allocation, accel_memory_gib: float | None) -> tuple[int, str]:
    """Seconds from a new pod's start (its node up, its image pulled) until it serves, as the
    rendered pod of ``a`` budgets them, and how, in words: the init container's copy of s3:// or
    gs:// weights (:func:`copy_seconds`), then the startup probe's window
    (:func:`startup_seconds`). The one reckoning behind render's windows and simulate's
    replacement delay (docs/simulate.md, "Failures")."""
    st = model_storage(plan, a, accel_memory_gib, llm=serves_model(plan))
    window, said = startup_window(plan.spec.kubernetes.probes.startup_seconds, st)
    copy = copy_seconds(st)
    said = f"the rendered startup probe's window {window} s ({said})"
    if copy:
        said = (f"the init container's copy {copy} s ({_copied_gib(st):.3g} GiB at "
                f"{DOWNLOAD_GIB_PER_S:g} GiB/s, rounded up to 10 s) + {said}")
    return copy + window, said


def new_pod_serving_after(
    plan: Plan, a: Allocation, accel_memory_gib: float | None = None
) -> tuple[float, str]:
    """Seconds from asking for a new replica of ``a`` (on a new node) until it serves, and how
    that was reckoned: node start + image pull + what the rendered pod budgets from its start
    until it serves (:func:`serving_after`: an init container's copy of the weights, then the
    startup probe's window, engine start-up included). The one start-up time behind simulate's
    replacement delay (docs/simulate.md, "Failures") and the lead of render's cron triggers
    (docs/render.md, "Autoscaling"). ``accel_memory_gib``: the accelerator's memory, which
    render sizes the weights by when neither the plan's LLM section nor ``model.memory_gib``
    gives them."""
    after, said = serving_after(plan, a, accel_memory_gib)
    return NODE_START_S + IMAGE_PULL_S + after, (
        f"node start {NODE_START_S:g} s + image pull {IMAGE_PULL_S:g} s + {said}"
    )


def cache_size_gib(weights: float) -> int:
    """The model cache volume: the weights plus 10 % and 2 GiB, rounded up to whole GiB."""
    return max(1, math.ceil(weights * WEIGHTS_MARGIN + WEIGHTS_EXTRA_GIB - 1e-9))


def node_local_nvme(flavor: str, a: Allocation, cache_gib: int) -> bool:
    """Whether the cache can live on the node's NVMe instance store (eks-karpenter only, where
    the EC2NodeClass can RAID0 it into the kubelet's ephemeral storage)."""
    store = NVME_FAMILIES.get(a.family)
    return (flavor == "eks-karpenter" and store is not None
        and store >= a.replicas_per_node * (cache_gib + CACHE_DIR_GIB))


def root_volume_gib(*, gpu: bool, replicas_per_node: int, llm: bool) -> int:
    """The node's root volume: OS, engine images and each pod's small emptyDirs; the model cache
    is never on it (NVMe or a PVC holds that)."""
    if not gpu:
        return 50
    if not llm:
        return 200
    need = OS_GIB + IMAGES_GIB + replicas_per_node * (CACHE_DIR_GIB + 5)
    return max(100, 10 * math.ceil(need / 10))


def secret_env(name: str, secret: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def model_storage(plan: Plan, a: Allocation, accel_memory_gib: float | None, *,
        llm: bool) -> Storage:
    """Volumes, mounts, env and init containers for the model of allocation ``a``."""
    st = Storage()
    spec = plan.spec
    src: ModelSource | None = spec.model.source
    if not llm and src is None:
        return st
    # writable caches next to a read-only root filesystem
    st.volumes.append({"name": "cache", "emptyDir": {"sizeLimit": f"{CACHE_DIR_GIB}Gi"}})
    st.mounts.append({"name": "cache", "mountPath": CACHE_DIR})
    env = {
        "HOME": CACHE_DIR,
        "XDG_CACHE_HOME": CACHE_DIR,
        "VLLM_CACHE_ROOT": f"{CACHE_DIR}/vllm",
        "TRITON_CACHE_DIR": f"{CACHE_DIR}/triton",
        "TORCHINDUCTOR_CACHE_DIR": f"{CACHE_DIR}/inductor",
        "HF_HOME": f"{MODEL_DIR}/hf",
    }
    st.ephemeral_gib = CACHE_DIR_GIB
    w, basis = weights_gib(plan, a, accel_memory_gib)
    st.weights_gib = w
    if basis != "plan" and w is not None:
        st.notes.append(f"model cache sized from {basis}")
    if src is not None and src.kind == "pvc":
        claim, _, sub = src.uri.removeprefix("pvc://").partition("/")
        st.volumes.append({"name": "model", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
        st.mounts.append({"name": "model", "mountPath": MODEL_DIR, "readOnly": True})
        env["HF_HOME"] = f"{CACHE_DIR}/hf"
        env["HF_HUB_OFFLINE"] = "1"
        st.model_arg = f"{MODEL_DIR}/{sub.strip('/')}" if sub.strip("/") else MODEL_DIR
    else:
        size = cache_size_gib(w if w is not None else 100.0)
        if w is None:
            st.notes.append("weights size unknown: model cache sized at 100 GiB; set "
                "model.memory_gib or plan with model.architecture")
        st.cache_gib = size
        if node_local_nvme(spec.kubernetes.flavor, a, size):
            st.node_local = True
            st.volumes.append({"name": "model-cache", "emptyDir": {"sizeLimit": f"{size}Gi"}})
            st.ephemeral_gib += size
        else:
            pvc: Obj = {"accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size}Gi"}}}
            if src is not None and src.storage_class:
                pvc["storageClassName"] = src.storage_class
            st.volumes.append({"name": "model-cache", "ephemeral": {"volumeClaimTemplate": {"metadata": {"labels": {"app.kubernetes.io/part-of": spec.metadata.name}}, "spec": pvc}}})
        st.mounts.append({"name": "model-cache", "mountPath": MODEL_DIR})
        if src is not None and src.kind == "hf":
            st.model_arg = src.uri.removeprefix("hf://")
            st.revision = src.revision
            if src.secret:
                st.env.append(secret_env("HF_TOKEN", src.secret, "HF_TOKEN"))
        elif src is not None:
            st.model_arg = f"{MODEL_DIR}/weights"
            st.init.append(_loader(src, size))
    st.env = [{"name": k, "value": env[k]} for k in sorted(env)] + st.env
    return st


def _loader(src: ModelSource, size_gib: int) -> Obj:
    """An init container that copies s3:// or gs:// weights into the cache (skipped when a
    previous pod on the same volume finished the copy)."""
    kind = src.kind
    image = src.loader_image or LOADER_IMAGES[kind]
    dest = f"{MODEL_DIR}/weights"
    if kind == "s3":
        copy = ["aws", "s3", "sync", "--no-progress", src.uri, dest]
    else:
        copy = ["gcloud", "storage", "rsync", "--recursive", src.uri, dest]
    env: list[Obj] = [{"name": "HOME", "value": CACHE_DIR}]
    # /tmp: the pod's writable emptyDir, as for the server (the root filesystem is read-only)
    mounts: list[Obj] = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "model-cache", "mountPath": MODEL_DIR},
        {"name": "cache", "mountPath": CACHE_DIR},
    ]
    if src.secret and kind == "s3":
        env += [secret_env(k, src.secret, k)
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
        # temporary (STS) credentials need their session token; long-lived keys have none
        session = secret_env("AWS_SESSION_TOKEN", src.secret, "AWS_SESSION_TOKEN")
        session["valueFrom"]["secretKeyRef"]["optional"] = True
        env.append(session)
    elif src.secret:
        env.append({"name": "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
            "value": "/var/run/secrets/model-source/key.json"})
        mounts.append({"name": "model-source-credentials", "mountPath": "/var/run/secrets/model-source", "readOnly": True})
    mem = "2Gi"
    return {
        "name": "fetch-weights",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": copy,
        "env": env,
        "resources": {"requests": {"cpu": "1", "memory": mem}, "limits": {"cpu": "2", "memory": mem}},
        "securityContext": container_security_context(read_only_root=True),
        "volumeMounts": mounts,
    }


def secret_volume(src: ModelSource | None) -> Obj | None:
    """gs:// with a Secret: the key file as a read-only Secret volume."""
    if src is None or src.kind != "gs" or not src.secret:
        return None
    return {"name": "model-source-credentials",
        "secret": {"secretName": src.secret, "items": [{"key": "key.json", "path": "key.json"}]}}
