"""Availability and autoscaling rules: PodDisruptionBudgets that block every eviction, HPA
bounds, and an HPA and a KEDA ScaledObject fighting over one workload.
"""

from __future__ import annotations

from collections.abc import Iterator

from scaleplan.check.context import Context, RuleFn, registrar
from scaleplan.check.model import Finding, K8sObject, Rule
from scaleplan.check.workloads import (
    SCALABLE_KINDS,
    as_map,
    get,
    int_or_percent,
    quantity_int,
    same_namespace,
    selector_matches,
    target_ref,
)

IMPLS: dict[str, RuleFn] = {}
impl = registrar(IMPLS)


# --- availability ------------------------------------------------------------------------


@impl("pdb-blocks-eviction")
def _pdb_blocks(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for pdb in ctx.of_kind("PodDisruptionBudget"):
        spec = as_map(pdb.data.get("spec"))
        max_u = spec.get("maxUnavailable")
        min_a = spec.get("minAvailable")
        if (
            max_u is not None
            and not isinstance(max_u, bool)
            and (max_u == 0 or (isinstance(max_u, str) and max_u.strip() in ("0", "0%")))
        ):
            yield pdb.finding(
                rule,
                f"maxUnavailable is {max_u!r}: no pod may ever be evicted",
                ("spec", "maxUnavailable"),
            )
            continue
        if min_a is None:
            continue
        if isinstance(min_a, str) and min_a.strip() == "100%":
            yield pdb.finding(
                rule, "minAvailable is 100%: no pod may ever be evicted", ("spec", "minAvailable")
            )
            continue
        selector = as_map(spec.get("selector"))
        if not selector:
            continue
        for w in ctx.workloads:
            if (
                w.kind not in SCALABLE_KINDS
                or not same_namespace(pdb, w)
                or not selector_matches(selector, ctx.labels(w))
            ):
                continue
            low = ctx.scaling[id(w)].min_replicas()
            if low <= 0:
                continue
            need = int_or_percent(min_a, low)
            if need is not None and need >= low:
                src = (
                    "the autoscaler's minimum"
                    if ctx.scaling[id(w)].hpas or ctx.scaling[id(w)].scaled_objects
                    else "replicas"
                )
                yield pdb.finding(
                    rule,
                    f"minAvailable {min_a!r} ({need} pods) is not below the {src} of "
                        f"{w.kind}/{w.name} ({low}): no pod may be evicted",
                    ("spec", "minAvailable"),
                )
                break


# --- autoscaling -------------------------------------------------------------------------


def _hpa_bounds(ctx: Context) -> Iterator[tuple[K8sObject, int, int]]:
    for h in ctx.of_kind("HorizontalPodAutoscaler"):
        mx = quantity_int(get(h.data, ("spec", "maxReplicas")))
        mn = quantity_int(get(h.data, ("spec", "minReplicas")))
        if mx is None:
            continue
        yield h, 1 if mn is None else mn, mx


@impl("hpa-min-above-max")
def _hpa_min_max(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for h, mn, mx in _hpa_bounds(ctx):
        if mn > mx:
            yield h.finding(
                rule, f"minReplicas {mn} is above maxReplicas {mx}", ("spec", "minReplicas")
            )


@impl("hpa-no-range")
def _hpa_no_range(ctx: Context, rule: Rule) -> Iterator[Finding]:
    for h, mn, mx in _hpa_bounds(ctx):
        if mn == mx:
            yield h.finding(
                rule,
                f"minReplicas equals maxReplicas ({mx}): the HPA never scales",
                ("spec", "maxReplicas"),
            )


@impl("hpa-keda-conflict")
def _hpa_keda(ctx: Context, rule: Rule) -> Iterator[Finding]:
    hpas = list(ctx.of_kind("HorizontalPodAutoscaler"))
    for so in ctx.of_kind("ScaledObject"):
        kind, name = target_ref(so)
        for h in hpas:
            hk, hn = target_ref(h)
            if hk == kind and hn == name and same_namespace(h, so):
                yield h.finding(
                    rule,
                    f"ScaledObject/{so.name} ({so.file}:{so.line()}) also scales {kind}/{name}",
                    ("spec", "scaleTargetRef"),
                )
