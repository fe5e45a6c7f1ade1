"""GPU scheduling rules: GPU requests against limits, GPU node selectors and taint tolerations,
GPUs per pod against the selected instance types (the table passed in through ``Context``),
and replicas x GPUs against a NodePool's GPU limit.
"""

from __future__ import annotations

from collections.abc import Iterator

from scaleplan.check.context import Context, RuleFn, nodepool_for, nodepool_requirement, registrar
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    AUTO_TOLERATION_KEYS,
    GPU_SELECTOR_KEYS,
    GPU_TAINT_KEYS,
    INSTANCE_TYPE_KEYS,
    as_map,
    containers,
    every_term_selects,
    get,
    is_gpu_resource,
    pod_spec_path,
    quantity_int,
    tolerations,
)
from scaleplan.wording import counted

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


# --- gpu ---------------------------------------------------------------------------------


@impl("gpu-limit-request-mismatch")
def _gpu_mismatch(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w in ctx.workloads:
        for c in containers(w, init=True):
            res = as_map(c.data.get("resources"))
            req, lim = as_map(res.get("requests")), as_map(res.get("limits"))
            for k in sorted({str(x) for x in [*req, *lim] if is_gpu_resource(str(x))}):
                if k in req and k not in lim:
                    yield w.finding(
                        rule,
                        f"{c.label()} requests {k}: {req[k]} but sets no limit for it",
                        (*c.path, "resources", "requests", k),
                    )
                elif k in req and k in lim and quantity_int(req[k]) != quantity_int(lim[k]):
                    yield w.finding(
                        rule,
                        f"{c.label()} requests {k}: {req[k]} but limits it to {lim[k]}",
                        (*c.path, "resources", "limits", k),
                    )


@impl("gpu-node-selector")
def _gpu_node_selector(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, n in ctx.gpu_workloads:
        sel = ctx.selection(w)
        if not (sel.keys() & GPU_SELECTOR_KEYS) and not every_term_selects(w, GPU_SELECTOR_KEYS):
            path = pod_spec_path(w)
            assert path is not None
            yield w.finding(
                rule,
                f"the pod requests {counted(n, 'GPU')} but selects no GPU node label "
                    "(nodeSelector, or required nodeAffinity: one term, or ORed terms that "
                    "each select one)",
                path,
            )


@impl("gpu-toleration")
def _gpu_toleration(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, n in ctx.gpu_workloads:
        if ctx.selection(w).keys() & AUTO_TOLERATION_KEYS:
            continue
        ok = False
        for t in tolerations(w):
            key = t.get("key")
            if ((key is None or key == "") and t.get("operator") == "Exists") or (
                isinstance(key, str)
                and (key in GPU_TAINT_KEYS or key.startswith(("nvidia.com/", "amd.com/")))
            ):
                ok = True
        if not ok:
            path = pod_spec_path(w)
            assert path is not None
            yield w.finding(
                rule,
                f"the pod requests {counted(n, 'GPU')} but tolerates no GPU taint (nvidia.com/gpu)",
                (*path, "tolerations") if tolerations(w) else path,
            )


@impl("gpu-exceeds-instance")
def _gpu_exceeds(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for w, n in ctx.gpu_workloads:
        sel = ctx.selection(w)
        types: set[str] = set()
        for k in INSTANCE_TYPE_KEYS:
            types |= sel.values(k) or set()
        if not types:
            np = nodepool_for(ctx, w)
            if np is not None:
                for k in INSTANCE_TYPE_KEYS:
                    types |= nodepool_requirement(np, k)[0] or set()
        if not types:
            continue
        counts = {t: ctx.instance_gpus(t) for t in sorted(types)}
        known = {t: c for t, c in counts.items() if c is not None}
        if len(known) != len(counts):
            continue  # an instance type not in the catalog: cannot judge
        most = max(known.values())
        if n > most:
            path = pod_spec_path(w)
            assert path is not None
            desc = ", ".join(f"{t}: {c}" for t, c in known.items())
            yield w.finding(
                rule,
                f"the pod requests {counted(n, 'GPU')} but the selected instance types have at "
                    f"most {most} ({desc})",
                sel.path,
            )


@impl("gpu-nodepool-limit")
def _gpu_nodepool_limit(ctx: Context, rule: Rule) -> Iterator[Finding]:
    by_pool: dict[int, list[tuple[K8sObject, int]]] = {}
    for w, n in ctx.gpu_workloads:
        pool = nodepool_for(ctx, w)
        if pool is not None:
            by_pool.setdefault(id(pool), []).append((w, n))
    for np in ctx.nodepools():
        limits = as_map(get(np.data, ("spec", "limits")))
        for res, raw in sorted(limits.items()):
            if not is_gpu_resource(str(res)):
                continue
            cap = quantity_int(raw)
            if cap is None:
                continue
            users: list[str] = []
            total = 0
            for w, n in by_pool.get(id(np), []):
                peak = ctx.scaling[id(w)].max_replicas()
                total += peak * n
                users.append(f"{w.kind}/{w.name} {peak} x {n}")
            if total > cap:
                yield np.finding(
                    rule,
                    f"workloads on this NodePool need up to {total} {res} ({'; '.join(users)}) but "
                        f"spec.limits allows {cap}",
                    ("spec", "limits", str(res)),
                )
