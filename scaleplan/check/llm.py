"""``scaleplan check`` rules for LLM servers: engine flags against the GPUs and the plan, /dev/shm,
the weights volume, and routes to capacity the plan can lose (docs/ci.md, "LLM serving rules").

The flag spellings come from :mod:`scaleplan.llm.engine_flags`, the same table render writes
from, so a manifest rendered from the plan passes and an edited one names what changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scaleplan.check.context import Context, RuleFn, nodepool_for, registrar, spot_only
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    Container,
    as_list,
    as_map,
    containers,
    get,
    gpus,
    pod_spec_path,
    same_namespace,
    selector_matches,
    str_map,
)
from scaleplan.kube.quantity import GIB, quantity
from scaleplan.llm.engine_flags import (
    AT_LEAST_ABOVE,
    DERIVED_SETTINGS,
    ENGINES,
    FLAGS,
    KV_WRITTEN,
    PLANNED,
    POSITIONAL_MODEL,
    FlagUse,
    args_engine,
    bad_value,
    engine_image,
    image_mismatch,
    in_flight_default,
    model_named,
    model_use,
    model_words,
    parse_flags,
    parse_number,
    queues,
    same_value,
)
from scaleplan.render import engine as engines
from scaleplan.render import serving
from scaleplan.wording import counted

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


def quantity_gib(v: Any) -> float | None:
    """A storage quantity ('147Gi', '500G', 1073741824) in GiB; None when unreadable
    (:func:`scaleplan.kube.quantity.quantity`, the API server's reading)."""
    q = quantity(v)
    return None if q is None else float(q / GIB)


def _argv(c: Container) -> list[str]:
    return [str(x) for x in as_list(c.data.get("command")) + as_list(c.data.get("args"))]


def _flags_path(c: Container) -> tuple[str | int, ...]:
    return ((*c.path, "args") if "args" in c.data else (*c.path, "command") if "command" in c.data
        else c.path)


def _gpu_containers(ctx: Context) -> Iterator[tuple[K8sObject, Container, int]]:
    for w in ctx.workloads:
        for c in containers(w):
            n = sum(gpus(c).values())
            if n > 0:
                yield w, c, n


@impl("engine-parallel-gpus")
def _parallel_gpus(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, c, n in _gpu_containers(ctx):
        got = parse_flags(_argv(c))
        tp = got.get("tensor_parallel")
        if tp is None:
            continue
        pp = got.get("pipeline_parallel")
        tpv = parse_number(tp.value)
        ppv = parse_number(pp.value) if pp else 1.0
        if tpv is None or ppv is None or tpv * ppv != n:
            shown = f"{tp.flag} {tp.value}" + (f" x {pp.flag} {pp.value}" if pp else "")
            # the container's own flags (SGLang --tp-size, TGI --num-shard), not vLLM's
            fix = f"make {tp.flag}" + (f" x {pp.flag}" if pp else "")
            fix += f" equal the container's GPU limit ({n}), or re-render from the plan"
            said = f"{c.label()} runs {shown} but requests {counted(n, 'GPU')}"
            yield w.finding(rule, said, _flags_path(c), hint=fix)


def _pod(w: K8sObject) -> Mapping[str, Any]:
    path = pod_spec_path(w)
    return as_map(get(w.data, path)) if path is not None else {}


def _volumes(w: K8sObject) -> dict[str, Mapping[str, Any]]:
    return {str(v.get("name")): v for v in (as_map(x) for x in as_list(_pod(w).get("volumes")))
        if v.get("name")}


@impl("engine-image-mismatch")
def _image_mismatch(ctx: Context, rule: Rule) -> Iterator[Finding]:
    planned = ctx.plan.spec.model.engine if ctx.plan is not None else None
    for w in ctx.workloads:
        for c in containers(w):
            image = str(c.data.get("image") or "")
            started = args_engine(_argv(c))
            engine = started or (planned if _allocation(ctx, w) is not None else None)
            why = image_mismatch(engine, image) if engine and image else None
            if engine and why:
                runs = "its args start" if started else "the plan's model.engine is"
                msg = f"{c.label()}: {runs} {engine}, but {why} (use {engine_image(engine)})"
                yield w.finding(rule, msg, (*c.path, "image"))


@impl("shm-missing")
def _shm_missing(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, c, n in _gpu_containers(ctx):
        if n <= 1:
            continue  # one GPU: no tensor-parallel workers to talk over shared memory
        vols = _volumes(w)
        ok = False
        for m in (as_map(x) for x in as_list(c.data.get("volumeMounts"))):
            if str(m.get("mountPath", "")).rstrip("/") == "/dev/shm":
                ed = as_map(vols.get(str(m.get("name")), {}).get("emptyDir"))
                ok = ed.get("medium") == "Memory"
        if not ok:
            yield w.finding(rule, f"{c.label()} runs {counted(n, 'GPU')} but mounts no "
                "memory-backed emptyDir at /dev/shm",
                (*c.path, "volumeMounts") if "volumeMounts" in c.data else c.path)


def _allocation(ctx: Context, w: K8sObject) -> Any:
    plan = ctx.plan
    if plan is None:
        return None
    for a in plan.allocations:
        if a.name == w.name:
            return a
    return None


@impl("engine-plan-flags")
def _plan_flags(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None or plan.spec.model.engine is None:
        return
    for w in ctx.workloads:
        a = _allocation(ctx, w)
        if a is None:
            continue
        server = engines.server_settings(plan, a)
        if server is None:
            continue
        for c in containers(w):
            if not gpus(c) and a.gpus_per_replica > 0:
                continue
            got = parse_flags(_argv(c), (server.engine,))
            for setting in (*PLANNED, *DERIVED_SETTINGS):
                read = _queue_message if setting in AT_LEAST_ABOVE else _flag_message
                msg = read(c, server, setting, got, a.name)
                if msg is not None:
                    yield w.finding(rule, msg, _flags_path(c))
            kv = _kv_message(c, server, a.name)
            if kv is not None:
                yield w.finding(rule, kv, _flags_path(c))


# what a server told other than the plan's value does to the capacity the plan counts on
_LOWER = {
    "max_num_seqs": (
        "each replica serves at most {got} requests at once, fewer than the {want} the plan's "
        "replica count counts on (the rest wait or are refused)"
    ),
    "max_model_len": "requests longer than {got} tokens are refused",
    "max_input_tokens": "prompts longer than {got} tokens are refused (HTTP 422)",
    "gpu_memory_utilization": "the KV cache is smaller than the plan sized: fewer sequences fit",
    "max_num_batched_tokens": "prefill takes more steps than the plan's TTFT assumes",
}
_HIGHER = {
    "max_num_seqs": (
        "each replica admits up to {got} sequences at once, more than the {want} at which the "
        "plan predicted TPOT, so TPOT exceeds the plan"
    ),
    "gpu_memory_utilization": (
        "the engine takes more GPU memory than the plan left free and may fail to start"
    ),
    "max_input_tokens": (
        "TGI refuses to start: its --max-input-tokens must be below --max-total-tokens"
    ),
}


def _flag_message(
    c: Container, server: engines.ServerSettings, setting: str, got: Mapping[str, Any], name: str
) -> str | None:
    """The finding for one planned setting of the container: missing, unreadable (the engine
    would not start) or other than the plan's value (with what that does to capacity)."""
    planned = server.value(setting)
    flags = FLAGS[server.engine].get(setting)
    if planned is None or not flags:
        return None
    if setting == "pipeline_parallel" and planned == 1 and setting not in got:
        return None
    flag, want = flags[0], engines.value_text(setting, planned)
    plans = f"the plan has {flag} {want} for allocation {name}"
    use = got.get(setting)
    if use is None:
        return f"{c.label()} has no {flag}; {plans}"
    unreadable = _unreadable(c, server.engine, use, plans)
    if unreadable is not None:
        return unreadable
    if same_value(setting, use.value, want):
        return None
    x = parse_number(use.value) or 0.0
    effect = (_LOWER if x < planned else _HIGHER).get(setting)
    why = f": {effect.format(got=use.value, want=want)}" if effect else ""
    return f"{c.label()} runs {use.flag} {use.value} but {plans}{why}"


def _unreadable(c: Container, engine: str, use: FlagUse, plans: str) -> str | None:
    """The finding for a planned setting's value the engine cannot read (it would not start)."""
    bad = bad_value(use.setting, use.value)
    if bad is None:
        return None
    return f"{c.label()} runs {use.flag} {use.value}: {bad}, so {engine} would not start; {plans}"


def _queue_message(
    c: Container, server: engines.ServerSettings, setting: str, got: Mapping[str, Any], name: str
) -> str | None:
    """The finding for TGI's in-flight limit: unreadable, or at or below the planned batch (left
    out: TGI's default), so that the server refuses requests the plan counts on queueing. Any
    value above the batch serves as planned (the queue's depth is the user's choice)."""
    want, batch = server.value(setting), server.max_num_seqs
    flags = FLAGS[server.engine].get(setting)
    if want is None or batch is None or not flags:
        return None
    flag, want_text = flags[0], engines.value_text(setting, want)
    plans = f"the plan has {flag} {want_text} for allocation {name}"
    use = got.get(setting)
    limit = None
    if use is not None:
        unreadable = _unreadable(c, server.engine, use, plans)
        if unreadable is not None:
            return unreadable
        limit = parse_number(use.value)
    if queues(server.engine, limit, batch):
        return None
    default = f"has no {flag} (TGI's default is {in_flight_default(server.engine)})"
    shown = f"runs {use.flag} {use.value}" if use is not None else default
    batch_flag = FLAGS[server.engine]["max_num_seqs"][0]
    return (
        f"{c.label()} {shown}, at or below the planned batch of {batch} ({batch_flag}): TGI "
        "refuses every request past that many in flight (HTTP 429) instead of queueing it, "
        f"but the plan's replica count counts on them waiting; {plans}"
    )


def _kv_message(c: Container, server: engines.ServerSettings, name: str) -> str | None:
    """The container's KV-cache precision against the plan's (model.kv_cache_dtype): a flag that
    stores another one, or no flag where the plan sized fp8 and the engine has one."""
    argv = _argv(c)
    planned = engines.kv_planned_text(server)
    conflict = engines.kv_conflict(server, argv)
    if conflict is not None:
        got = f"{conflict.flag} {conflict.user_value}"
        return f"{c.label()} runs {got} but the plan has {planned} for allocation {name}"
    written = KV_WRITTEN.get(server.engine)
    if server.kv_cache_dtype != "fp8" or written is None:
        return None
    if "kv_cache_dtype" in parse_flags(argv, (server.engine,)):
        return None
    flag = FLAGS[server.engine]["kv_cache_dtype"][0]
    return (
        f"{c.label()} has no {flag}; the plan sized the KV cache of allocation {name} in fp8 "
        f"({planned}), so the server holds half the sequences the plan counts on"
    )


_MODEL_ENV = ("MODEL_ID", "MODEL_NAME", "MODEL")


def _names_model(c: Container, engine: str) -> bool:
    """Whether the server is told its model: the engine's model flag, a positional model after a
    ``serve`` command (``vllm serve M``, ``trtllm-serve M``), or a model environment variable."""
    argv = _argv(c)
    if model_named(engine, argv):
        return True
    if engine not in POSITIONAL_MODEL:  # `vllm serve M` (trtllm-serve: model_named, exactly)
        for i, tok in enumerate(argv[:-1]):
            if tok.endswith("serve") and not argv[i + 1].startswith("-"):
                return True
    return any(str(e.get("name")) in _MODEL_ENV and (e.get("value") or e.get("valueFrom"))
        for e in as_list(c.data.get("env")) if isinstance(e, Mapping))


@impl("engine-model-missing")
def _model_missing(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None or plan.spec.model.engine is None:
        return
    engine = plan.spec.model.engine
    flag = model_words(engine).removeprefix("a ")
    for w in ctx.workloads:
        a = _allocation(ctx, w)
        if a is None:
            continue
        for c in containers(w):
            if (not gpus(c) and a.gpus_per_replica > 0) or _names_model(c, engine):
                continue
            yield w.finding(rule, f"{c.label()} names no model (no {flag}): {engine} would start "
                f"its default model, not the one allocation {a.name} was sized for", _flags_path(c))


def _target_dirs(c: Container, engine: str | None) -> list[str]:
    """Where the server writes or reads the weights: HF_HOME and an absolute model path."""
    argv = _argv(c)
    # trtllm-serve /models/weights: positional (model_use)
    model = model_use(engine, argv) if engine else parse_flags(argv, ENGINES).get("model")
    if model is not None and model.value.startswith("/"):
        return [model.value]  # a local path: the weights are there, not in the HF cache
    return [str(e["value"]) for e in (as_map(x) for x in as_list(c.data.get("env")))
        if e.get("name") == "HF_HOME" and isinstance(e.get("value"), str)]


def _mount_for(c: Container, path: str) -> Mapping[str, Any] | None:
    best: Mapping[str, Any] | None = None
    for m in (as_map(x) for x in as_list(c.data.get("volumeMounts"))):
        mp = str(m.get("mountPath", "")).rstrip("/") or "/"
        if ((path == mp or path.startswith(mp + "/"))
                and (best is None or len(mp) > len(str(best.get("mountPath", ""))))):
            best = m
    return best


def _root_volume_gib(ctx: Context, w: K8sObject) -> float | None:
    np = nodepool_for(ctx, w)
    if np is None:
        return None
    ref = str(get(np.data, ("spec", "template", "spec", "nodeClassRef", "name")) or "")
    for o in ctx.objects:
        if o.kind == "EC2NodeClass" and o.name == ref:
            for bd in as_list(get(o.data, ("spec", "blockDeviceMappings"))):
                size = quantity_gib(get(bd, ("ebs", "volumeSize")))
                if size is not None:
                    return size
    return None


@impl("weights-volume-small")
def _weights_volume(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None or (plan.spec.model.engine is None and plan.spec.model.source is None):
        return
    for w in ctx.workloads:
        a = _allocation(ctx, w)
        if a is None:
            continue
        weights, basis = serving.weights_gib(plan, a, None)
        if weights is None or basis != "plan":
            continue  # only the plan's LLM section states the weights exactly
        vols = _volumes(w)
        for c in containers(w):
            for target in _target_dirs(c, plan.spec.model.engine):
                m = _mount_for(c, target)
                if m is None:
                    continue
                v = vols.get(str(m.get("name")), {})
                if "persistentVolumeClaim" in v:
                    continue  # an existing claim holds the weights already; its size is not here
                size = (quantity_gib(as_map(v.get("emptyDir")).get("sizeLimit")) if "emptyDir" in v
                    else quantity_gib(get(v, ("ephemeral", "volumeClaimTemplate", "spec",
                    "resources", "requests", "storage"))))
                where = f"volume {m.get('name')!r} at {m.get('mountPath')}"
                if (size is None and "emptyDir" in v
                        and as_map(v.get("emptyDir")).get("medium") != "Memory"):
                    root = _root_volume_gib(ctx, w)
                    need = weights * a.replicas_per_node
                    if root is not None and need > root:
                        yield w.finding(rule, f"{c.label()} downloads {weights:.0f} GiB of weights "
                            f"into {where}, an emptyDir on the node's {root:.0f} GiB root volume, "
                            f"and {counted(a.replicas_per_node, 'replica')} per node "
                            f"{'needs' if a.replicas_per_node == 1 else 'need'} {need:.0f} GiB",
                            (*c.path, "volumeMounts"))
                elif size is not None and size < weights:
                    yield w.finding(rule, f"{c.label()} keeps {weights:.1f} GiB of weights in "
                        f"{where}, which holds {size:.1f} GiB", (*c.path, "volumeMounts"))
                break


def _service_workloads(ctx: Context, svc: K8sObject) -> list[K8sObject]:
    sel = str_map(get(svc.data, ("spec", "selector")))
    if not sel:
        return []
    return [w for w in ctx.workloads if same_namespace(svc, w)
        and selector_matches({"matchLabels": sel}, ctx.labels(w))]


@impl("route-to-losable")
def _route_to_losable(ctx: Context, rule: Rule) -> Iterator[Finding]:
    plan = ctx.plan
    if plan is None:
        return
    spot = {a.name for a in plan.allocations if a.capacity_type == "spot"}
    services = {(s.namespace, s.name): s for s in ctx.of_kind("Service") if s.group == ""}
    for route in ctx.of_kind("HTTPRoute"):
        for i, rl in enumerate(as_list(get(route.data, ("spec", "rules")))):
            for j, ref in enumerate(as_list(as_map(rl).get("backendRefs"))):
                r = as_map(ref)
                if r.get("group", "") not in ("", None) or r.get("kind", "Service") != "Service":
                    continue
                weight = r.get("weight", 1)
                if not isinstance(weight, int) or weight <= 0:
                    continue
                ns = str(r.get("namespace") or route.namespace)
                svc = (services.get((ns, str(r.get("name"))))
                    or next((s for (n, name), s in services.items() if name == r.get("name")
                    and (not n or not ns)), None))
                if svc is None:
                    continue
                ws = _service_workloads(ctx, svc)
                if ws and all(w.name in spot and spot_only(ctx, w) for w in ws):
                    total = sum(int(as_map(x).get("weight", 1))
                        for x in as_list(as_map(rl).get("backendRefs"))
                        if isinstance(as_map(x).get("weight", 1), int))
                    share = weight / total if total > 0 else 1.0
                    yield route.finding(rule, f"backendRef {svc.name!r} (weight {weight}, "
                        f"{share:.0%} of requests) selects only spot pods with no fallback "
                        f"({', '.join(sorted(w.name for w in ws))}); losing the spot capacity "
                        "fails that share", ("spec", "rules", i, "backendRefs", j, "weight"))
