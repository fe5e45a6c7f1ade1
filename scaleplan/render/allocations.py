"""Each allocation's derived facts, which every builder reads (docs/render.md).

:func:`derive_allocations` turns the plan's allocations with replicas into :class:`Alloc`:
the sanitized Deployment and Service names, the accelerator and its extended resource, the
CPU and memory requests capped to what fits the node, the replica range, the NodePool name;
then :func:`server_args` adds the model server's container args (the spec's merged with the
planned engine flags, :mod:`scaleplan.render.engine`) and the model storage
(:mod:`scaleplan.render.serving`). A user flag that contradicts the plan is a problem naming
both values. :func:`fixed_replicas` says whether an allocation gets an autoscaler. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from scaleplan.catalog.model import Accelerator
from scaleplan.errors import PlanError, Problem
from scaleplan.kube import backends, safety
from scaleplan.kube import capacity as kube_capacity
from scaleplan.llm.engine_flags import (
    DERIVED_SETTINGS,
    POSITIONAL_MODEL,
    Conflict,
    bad_value,
    engine_has,
    model_named,
    model_words,
    parse_flags,
    parse_number,
)
from scaleplan.plan import HPA_MIN_REPLICAS, Allocation, Plan
from scaleplan.render import engine as engines
from scaleplan.render import serving
from scaleplan.render.resources import (
    MIN_CPU,
    MIN_MEMORY_GIB,
    cpu_quantity,
    fit_per_replica,
    memory_quantity,
)
from scaleplan.spec import PROVIDER_OF_FLAVOR
from scaleplan.wording import counted

_ARGS: tuple[str | int, ...] = ("spec", "kubernetes", "args")  # Problem.path of an argument

# planned server setting -> the model.engine_config field that sets it
_SETTING_FIELD = {
    "tensor_parallel": "tensor_parallel",
    "pipeline_parallel": "pipeline_parallel",
    "max_num_seqs": "max_num_seqs",
    "max_model_len": "max_model_len",
    "gpu_memory_utilization": "gpu_memory_utilization",
    "block_size": "block_size",
    "max_num_batched_tokens": "max_num_batched_tokens",
}


@dataclass(frozen=True)
class Alloc:
    """An allocation with the derived facts the builders need."""

    a: Allocation
    index: int
    name: str  # sanitized Deployment name
    accel: Accelerator | None  # None for CPU-only
    resource: str | None  # extended resource name (nvidia.com/gpu, aws.amazon.com/neuron)
    min_replicas: int
    max_replicas: int  # its planned peak
    most_replicas: int  # its autoscaler's bound: the peak, or more (render.room)
    share: float  # share of the plan's peak capacity
    service: str  # its backend Service (routing: gateway-api): its own, or one shared by its shape
    cpu: str
    memory: str
    nodepool: str | None
    server: engines.ServerSettings | None = None  # model.engine set: the planned server settings
    args: tuple[str, ...] = ()  # container args: the spec's merged with the planned engine flags
    storage: serving.Storage | None = None
    types: tuple[str, ...] = ()  # eks-karpenter spot: the instance types its NodePools allow
    shared_backend: bool = False  # gateway-api: its Service is shared with allocations of its shape
    backend_share: float = 1.0  # its share of its backend's capacity (1 with a Service of its own)
    node_labels: tuple[tuple[str, str], ...] = ()  # its catalog row's node_labels (nodeSelector)


def accelerator_table(accelerators: Sequence[Accelerator]) -> dict[str, Accelerator]:
    """Lower-cased accelerator name or alias -> accelerator (a name wins over an alias)."""
    table: dict[str, Accelerator] = {}
    for acc in accelerators:
        table[acc.name.lower()] = acc
        for al in acc.aliases:
            table.setdefault(al.lower(), acc)
    return table


def derive_allocations(plan: Plan, live: Sequence[tuple[int, Allocation]],
        accelerators: Mapping[str, Accelerator], warnings: list[str], source: str) -> list[Alloc]:
    """The facts of each allocation with replicas (``live``: index in the plan, allocation),
    sorted by Deployment name, with server args and storage; PlanError for clashing names or
    server flags that contradict the plan."""
    from scaleplan.render.room import bounds

    total_cap = sum(a.replicas * a.capacity_rps_per_replica for _, a in live)
    most, capped = bounds(plan, lambda a: owned_at_peak(plan, a))
    warnings += capped
    allocs: list[Alloc] = []
    seen: dict[str, str] = {}
    for i, a in live:
        name = safety.sanitize_dns_label(a.name)
        if name != a.name:
            warnings.append(f"allocation name {safety.shown(a.name)} is not a DNS-1123 label of at "
                f"most 63 characters; using {name!r}")
        if name in seen:
            raise PlanError(source, [Problem(f"allocations[{i}].name",
                f"allocations {seen[name]!r} and {a.name!r} both give the name {name!r}",
                hint="give allocations distinct names")])
        seen[name] = a.name
        share = (a.replicas * a.capacity_rps_per_replica / total_cap) if total_cap > 0 else 1.0
        allocs.append(_derive(plan, i, a, name, share, accelerators, warnings, most[a.name]))
    allocs.sort(key=lambda x: x.name)
    if plan.spec.kubernetes.routing == "gateway-api":
        allocs = _with_backends(plan, allocs)
    model = plan.spec.model
    if model.engine is not None:
        uri = model.source.uri if model.source is not None else None
        k8s_args = plan.spec.kubernetes.args
        native = engines.native_precision(plan)
        arch = (plan.architecture or {}).get("name") or model.architecture
        own = (str(arch), native) if native is not None and arch else None
        warnings += engines.precision_notes(
            model.engine, model.dtype, model.kv_cache_dtype, uri, k8s_args, own
        )
        unstated = engines.unstated_precision_note(model.engine, model.dtype, uri, native, k8s_args)
        warnings += [unstated] if unstated else []
        warnings += engines.fp8_split_notes(plan)
        ep = engines.expert_parallel_note(plan)
        warnings += [ep] if ep else []
    problems: list[Problem] = []
    for j, al in enumerate(allocs):
        allocs[j], probs = server_args(plan, al, warnings)
        problems += probs
    if problems:
        raise PlanError(source, problems)
    return allocs


def _with_backends(plan: Plan, allocs: Sequence[Alloc]) -> list[Alloc]:
    """routing: gateway-api: each allocation's backend (:mod:`scaleplan.kube.backends`): the
    Service it shares with the allocations of its shape, and its share of that backend's
    capacity."""
    of = backends.backend_of(plan)
    cap = {al.a.name: al.a.replicas * al.a.capacity_rps_per_replica for al in allocs}
    out: list[Alloc] = []
    for al in allocs:
        b = of.get(al.a.name)
        if b is None or not b.shared:
            out.append(al)
            continue
        total = sum(cap.get(m, 0.0) for m in b.members)
        share = cap[al.a.name] / total if total > 0 else 1.0
        out.append(replace(al, service=b.service, shared_backend=True, backend_share=share))
    return out


def _derive(plan: Plan, i: int, a: Allocation, name: str, share: float,
        accelerators: Mapping[str, Accelerator], warnings: list[str], most: int) -> Alloc:
    spec = plan.spec
    k8s = spec.kubernetes
    want = PROVIDER_OF_FLAVOR.get(k8s.flavor)
    if want is not None and a.provider != want:
        warnings.append(f"allocation {name}: provider {a.provider} on flavor {k8s.flavor} (expects "
            f"{want}); its node labels will not match")
    gpu = a.gpus_per_replica > 0
    accel = accelerators.get(a.accelerator.lower()) if gpu else None
    resource: str | None = None
    if gpu:
        if accel is None:
            warnings.append(
                f"allocation {name}: accelerator {a.accelerator!r} is not in the accelerator "
                "specs; requesting nvidia.com/gpu (give the catalog file that defines it with "
                "--catalog)"
            )
        resource = accel.k8s_resource if accel else "nvidia.com/gpu"
    # plans from the current optimizer already fit (scaleplan.kube.capacity); cap old or hand-edited
    # ones
    cpu_fit, mem_fit = fit_per_replica(a.vcpus_per_node, a.memory_gib_per_node, a.replicas_per_node,
        flavor=k8s.flavor, reserve=k8s.node_reserve)
    cpu, mem = min(a.cpu_per_replica, cpu_fit), min(a.memory_gib_per_replica, mem_fit)
    own = gpu and k8s.node_reserve is not None  # the spec's own DaemonSet reserve: GPU replicas take the rest
    if own:
        cpu, mem = kube_capacity.floor_millicores(cpu_fit), kube_capacity.floor_centi_gib(mem_fit)
    capped = []
    if cpu < a.cpu_per_replica * 0.999:
        capped.append(f"CPU {a.cpu_per_replica:g} -> {cpu_quantity(max(cpu, MIN_CPU))}")
    if mem < a.memory_gib_per_replica * 0.999:
        capped.append(f"memory {a.memory_gib_per_replica:g}Gi -> "
            f"{memory_quantity(max(mem, MIN_MEMORY_GIB))}")
    if capped and not own:
        warnings.append(f"allocation {name}: requests capped so that "
            f"{counted(a.replicas_per_node, 'replica')} "
            f"{'fits' if a.replicas_per_node == 1 else 'fit'} next to system-reserved resources "
            f"and DaemonSets on {a.instance_type}: {', '.join(capped)}")
    lo = min(a.replicas_per_window) if a.replicas_per_window else a.replicas
    if owned_at_peak(plan, a):  # its idle replicas cost nothing: fixed at the peak
        lo = a.replicas
    nodepool = (safety.sanitize_dns_label(f"{spec.metadata.name}-{a.family}-{a.capacity_type}")
        if k8s.flavor == "eks-karpenter" else None)
    svc = backends.allocation_service(a.name)
    return Alloc(
        a, i, name, accel, resource, max(0, min(lo, a.replicas)), a.replicas, most, share, svc,
        cpu_quantity(max(cpu, MIN_CPU)), memory_quantity(max(mem, MIN_MEMORY_GIB)), nodepool,
    )


def server_args(plan: Plan, al: Alloc, warnings: list[str]) -> tuple[Alloc, list[Problem]]:
    """The allocation's container args (the spec's merged with the planned engine flags) and
    model storage; a user flag that contradicts the plan is a problem naming both values."""
    spec = plan.spec
    k8s = spec.kubernetes
    a = al.a
    user = list(k8s.args)
    server = engines.server_settings(plan, a)
    storage = serving.model_storage(plan, a, al.accel.memory_gib if al.accel else None,
        llm=serving.serves_model(plan))
    for note in storage.notes:
        warnings.append(f"allocation {al.name}: {note}")
    if server is None:
        if storage.model_arg is not None:
            warnings.append(f"allocation {al.name}: model.source is set but model.engine is not, "
                f"so no model flag is written; point your server at {storage.model_arg}")
        return replace(al, args=tuple(user), storage=storage), _user_parallelism_problems(a, user)
    if server.engine == "tgi" and server.pipeline_parallel > 1:
        return al, [Problem("spec.model.engine", f"allocation {a.name} plans pipeline parallelism "
            f"{server.pipeline_parallel}, which TGI does not support",
            hint="use engine vllm, sglang or trtllm, or plan with "
            "model.engine_config.pipeline_parallel: 1", path=("spec", "model", "engine"))]
    model_arg = storage.model_arg
    if model_arg is None and not model_named(server.engine, user):
        warnings.append(f"allocation {al.name}: neither model.source nor "
            f"{model_words(server.engine)} in spec.kubernetes.args names the model, so "
            f"{server.engine} "
            f"{'does not start' if server.engine in POSITIONAL_MODEL else 'starts with its default model'}; "
            f"set model.source{_source_example(spec.model.architecture)}")
    if storage.revision is not None and not engine_has(server.engine, "revision"):
        warnings.append(
            f"allocation {al.name}: model.source.revision {storage.revision} is not written: "
            f"scaleplan writes no revision flag for {server.engine} (not every trtllm-serve "
            "release has --revision), so the server loads the repository's default branch; "
            "serve a local copy of that revision (s3://, gs:// or pvc://), or add --revision "
            "to spec.kubernetes.args if your release has it"
        )
    planned = engines.engine_flags(server, port=k8s.port, model=model_arg,
        revision=storage.revision)
    args, conflicts = engines.merge_args(user, planned, server.engine, model_arg)
    problems = [_conflict_problem(a, server, c) for c in conflicts]  # the KV dtype: plan_checks
    return replace(al, server=server, args=tuple(args), storage=storage), problems


def _user_parallelism_problems(a: Allocation, user: Sequence[str]) -> list[Problem]:
    """No engine named: the args are the user's, but a tensor-parallel flag must still fit the GPUs."""
    if a.gpus_per_replica <= 0:
        return []
    got = parse_flags(user)
    tp, pp = got.get("tensor_parallel"), got.get("pipeline_parallel")
    tpv = parse_number(tp.value) if tp else None
    ppv = parse_number(pp.value) if pp else 1.0
    if tp is None or (tpv is not None and ppv is not None and tpv * ppv == a.gpus_per_replica):
        return []
    shown_pp = f" x {pp.flag} {pp.value}" if pp else ""
    return [Problem(f"spec.kubernetes.args[{tp.index}]", f"{tp.flag} {tp.value}{shown_pp} "
        f"contradicts the plan: allocation {a.name} runs {counted(a.gpus_per_replica, 'GPU')} per "
        f"replica ({a.instance_type}), so the server would not start or would leave GPUs idle",
        hint=f"remove {tp.flag} from spec.kubernetes.args and set model.engine, so that render "
        f"writes it from the plan (here {a.gpus_per_replica})", path=(*_ARGS, tp.index))]


def _derived_problem(a: Allocation, server: engines.ServerSettings, c: Conflict) -> Problem:
    """A user's TGI --max-concurrent-requests at or below the batch, or --max-input-tokens other
    than the context length less one (both derived from planned settings: engine_flags)."""
    where, path = f"spec.kubernetes.args[{c.index}]", (*_ARGS, c.index)
    bad = bad_value(c.setting, c.user_value)
    if bad is not None:
        why = f"{bad}, so {server.engine} would not start"
    elif c.setting == "max_concurrent_requests":
        why = (
            f"at or below the batch of {server.max_num_seqs} the plan runs, TGI refuses every "
            "request past that many in flight (HTTP 429) instead of queueing it as the plan assumes"
        )
    else:
        why = f"the plan serves prompts up to {c.planned_value} tokens (max_model_len - 1)"
    fix = f"remove {c.flag} from spec.kubernetes.args: render writes it from the plan"
    if c.setting == "max_concurrent_requests":
        fix += f", or give a value above the batch ({server.max_num_seqs})"
    return Problem(where, f"{c.flag} {c.user_value}: {why}; allocation {a.name} needs "
        f"{c.planned_flag} {c.planned_value}", hint=fix, path=path)


def _conflict_problem(a: Allocation, server: engines.ServerSettings, c: Conflict) -> Problem:
    if c.setting in DERIVED_SETTINGS:
        return _derived_problem(a, server, c)
    if server.from_plan:
        why = "the plan"
    elif c.setting in ("tensor_parallel", "pipeline_parallel"):
        why = "the plan's GPUs per replica"
    else:  # concurrency, context length, memory: the plan's operating point or engine_config
        why = "the plan and the spec's model.engine_config"
    fld = _SETTING_FIELD.get(c.setting)
    bad = bad_value(c.setting, c.user_value) if fld is not None else None
    if bad is not None:
        return Problem(f"spec.kubernetes.args[{c.index}]", f"{c.flag} {c.user_value}: {bad}, so "
            f"{server.engine} would not start; allocation {a.name} needs {c.planned_flag} "
            f"{c.planned_value}", hint=f"remove {c.flag} from spec.kubernetes.args: render writes "
            f"it from {why}", path=(*_ARGS, c.index))
    if c.setting == "model" and not c.flag.startswith("-"):  # a positional model (trtllm-serve M)
        return Problem(f"spec.kubernetes.args[{c.index}]", f"{c.flag} {c.user_value} contradicts "
            f"model.source: allocation {a.name} was sized for the model at {c.planned_value}",
            hint=f"remove {c.user_value} from spec.kubernetes.args (render writes the model "
            f"model.source names after {c.flag}), or change model.source", path=(*_ARGS, c.index))
    if c.setting == "tensor_parallel":
        per = counted(a.gpus_per_replica, "GPU")
        fix_hint = (f"remove {c.flag} from spec.kubernetes.args: render writes it from the plan "
            f"({per} per replica)")
    elif fld is not None:
        fix_hint = (f"remove {c.flag} from spec.kubernetes.args, or set model.engine_config.{fld}: "
            f"{c.user_value} and run scaleplan optimize again")
    elif c.setting == "model":
        fix_hint = (f"remove {c.flag} from spec.kubernetes.args (model.source sets it), or change "
            "model.source")
    else:
        fix_hint = f"remove {c.flag} from spec.kubernetes.args"
    return Problem(f"spec.kubernetes.args[{c.index}]", f"{c.flag} {c.user_value} contradicts "
        f"{why}: allocation {a.name} needs {c.planned_flag} {c.planned_value}", hint=fix_hint,
        path=(*_ARGS, c.index))


def owned_at_peak(plan: Plan, a: Allocation) -> bool:
    """An allocation priced $0/h (owned nodes, docs/catalog.md) whose plan count varies by the
    hour, under an autoscaler: render fixes it at its peak count all day, with no autoscaler of
    its own. Its idle replicas cost nothing, and held at the peak they leave the priced
    allocations' autoscalers to add capacity only once the owned pods are at their target
    (docs/render.md, "Burst plans"): an autoscaler per allocation, each on its own pods' load,
    would grow the rented pods together with the owned ones."""
    if not (
        plan.spec.kubernetes.autoscaler.type != "none"
        and a.price_per_node_hour <= 0
        and a.replicas_per_window
        and min(a.replicas_per_window) < a.replicas
    ):
        return False
    return not owned_shared(plan, a)


def owned_group(plan: Plan, a: Allocation) -> list[Allocation]:
    """The allocations priced $0/h on ``a``'s nodes (provider, region and family: what a
    quota counts)."""
    return [
        b for b in plan.allocations
        if b.price_per_node_hour <= 0 and b.replicas_per_window
        and (b.provider, b.region, b.family) == (a.provider, a.region, a.family)
    ]


def owned_shared(plan: Plan, a: Allocation) -> tuple[int, int] | None:
    """(nodes at their peaks together, nodes the plan uses at most) when the allocations priced
    $0/h on ``a``'s nodes peak in different hours on the same nodes (the plan moves the nodes
    between serving shapes by the hour), so that each at its peak would need more nodes than
    the plan ever uses; None when their peaks fit together."""
    group = owned_group(plan, a)
    together = sum(b.nodes for b in group)
    used = max(
        (sum(b.nodes_per_window[w] for b in group) for w in range(len(a.nodes_per_window))),
        default=0,
    )
    return (together, used) if together > used else None


def fixed_replicas(plan: Plan, al: Alloc) -> bool:
    """Fixed replicas: autoscaler none, the plan keeps this allocation at one count all day
    (an autoscaler with minReplicas == maxReplicas could never scale), or it is priced $0/h
    (:func:`owned_at_peak`: its minimum is its peak)."""
    kind = plan.spec.kubernetes.autoscaler.type
    if kind == "none":
        return True
    low = max(HPA_MIN_REPLICAS, al.min_replicas) if kind == "hpa" else al.min_replicas
    return low >= al.most_replicas


def _source_example(architecture: str | None) -> str:
    """For a preset: the source that serves the repository its figures came from, as an example
    (the user picks the checkpoint: a preset of a base model also sizes its Instruct variant)."""
    if not architecture:
        return ""
    from scaleplan.llm.arch import preset_repository

    repo = preset_repository(architecture)
    if repo is None:
        return ""
    return (
        f", e.g. `model.source: {{uri: {repo}}}` (the preset's repository; an -Instruct variant "
        "or a fine-tune of it has the same architecture; a gated repository also needs `secret`)"
    )
