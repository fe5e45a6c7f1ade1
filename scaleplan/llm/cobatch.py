"""Classes co-batched on one replica: each class's TTFT and TPOT where a replica serves
several classes in one batch, for a spec whose classes have SLOs of their own
(``traffic.classes[].slo``; docs/llm.md, "Classes with different SLOs"). The optimizer
(solve/llm_capacity.py) tests each class against its own targets with these predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from scaleplan.llm.perf import ClassPerf, serve_class
from scaleplan.llm.serving import Shape, TokenClass, predict
from scaleplan.spec import Spec


def cobatched(
    shape: Shape, classes: Sequence[TokenClass], n: int, pct: int,
    mix: Sequence[float] | None = None,
) -> dict[str, ClassPerf]:
    """Each class at ``n`` sequences as a replica serving all of ``classes`` runs it, for a
    spec whose classes have SLOs of their own. The replica runs one batch: every sequence in it
    decodes in the same steps, and a prompt is prefilled in them, whatever classes fill it.
    With one SLO for every class the heaviest class alone bounds every class's steps; with a
    tighter target for a lighter class it does not (a chat sequence beside long summaries
    decodes at the summaries' pace).

    ``mix``: the classes' shares of the requests the replica is sent (in ``classes``' order),
    where routing sends every replica the spec's mix (routing: service, gateway-api without
    class_header). The batch then holds each class in proportion to its share times how long
    its sequences hold a slot in the shared steps (:func:`batch_shares`), and its step time is
    that blend of the classes' steps: a class's TPOT is the blend of every class's TPOT at ``n``,
    its TTFT the blend of its own prompt (its p-th percentile prompt with a length spread)
    priced in each class's steps (:func:`scaleplan.llm.perf.serve_class` ``prompts``).
    ``mix`` None (routing decides a replica's mix: class_header): any mix, so the largest of
    those instead (a batch that may be all of the heaviest class).

    Either is applied as a factor on the class's own prediction (its tails, its joint
    percentiles; the end-to-end joint percentile by the larger factor, an upper bound of the
    blend). Every class in the batch reads the one step as its TPOT: the blend is above the
    lighter classes' own TPOT and below the heaviest's (a summary beside chat sequences decodes
    in their shorter steps too). Until 2026-12-06 the factors were floored at 1, so the plan
    recorded the summaries at their own batch's 53.9-59.5 ms beside chat's 43-44 ms in the same
    replica (simulate: summaries p95 47.3 ms, chat 48.0). Under the largest (``mix`` None) every
    factor is at least 1 anyway. The throughput stays the class's own (the class mix's harmonic
    capacity, as with one SLO). One sequence at a time shares no batch: the class's own
    prediction."""
    own = {c.name: predict(shape, c, n) for c in classes}
    if n <= 1 or len(classes) < 2:
        return own
    weight = None if mix is None else batch_shares(shape, classes, n, mix, own)

    def pool(values: Sequence[float]) -> float:
        if weight is None:
            return max(values)
        return sum(w * v for w, v in zip(weight, values, strict=True))

    step = pool([own[c.name].tpot_ms for c in classes])
    out: dict[str, ClassPerf] = {}
    for c in classes:
        p = own[c.name]
        prompt = c.input_at(pct)
        mine = p.ttft_at(pct) if p.tail else p.ttft_ms
        first = pool([
            mine if k.name == c.name else prompt_in(shape, k, n, prompt) for k in classes
        ])
        ft = first / mine if mine > 0 else 1.0
        fo = step / p.tpot_ms if p.tpot_ms > 0 else 1.0
        if ft == 1.0 and fo == 1.0:
            out[c.name] = p
            continue
        out[c.name] = replace(
            p,
            ttft_ms=p.ttft_ms * ft,
            tpot_ms=p.tpot_ms * fo,
            prompt_ttft=tuple((i, t * ft) for i, t in p.prompt_ttft),
            tail=tuple((q, i, o, t * ft) for q, i, o, t in p.tail),
            joint=tuple((q, t * ft, e * max(ft, fo)) for q, t, e in p.joint),
        )
    return out


def prompt_in(shape: Shape, k: TokenClass, n: int, prompt: int) -> float:
    """Mean TTFT of a ``prompt``-token prompt in the steps of ``n`` sequences of class ``k``."""
    return serve_class(
        shape.deployment, k.input_tokens, k.output_tokens, n, open_loop=True, prompts=(prompt,),
    ).prompt_ttft[0][1]


def batch_shares(
    shape: Shape, classes: Sequence[TokenClass], n: int, mix: Sequence[float],
    own: dict[str, ClassPerf] | None = None,
) -> list[float]:
    """Each class's share of the ``n`` sequences in a batch whose requests arrive in the
    proportions ``mix``: by Little's law, its share of the arrivals times how long each of its
    sequences holds a slot (its TTFT plus its remaining tokens' TPOT) *in the co-batched
    steps*, where every class decodes at the one blended step. The steps depend on the shares,
    so this is their fixed point (a contraction: a few iterations).

    Until 2026-12-06 each class's slot time was its own, alone at ``n`` (share / its own
    throughput): a summary's 600 tokens at its own 54.5 ms steps beside chat's 300 at 27.6 ms,
    which made the summaries 63 % of a 70B H100 TP2 batch at 29 sequences (blended step 44.5
    ms) where they are 46.5 % (40.1 ms; ``simulate`` of the plan kept full: p50 39.6 ms), and
    sized class-SLO plans about 10 % too big."""
    own = own or {c.name: predict(shape, c, n) for c in classes}
    tpot = [own[c.name].tpot_ms for c in classes]
    # TTFT of each class's mean prompt in each class's steps (row: the prompt's class)
    first = [
        [own[c.name].ttft_ms if k.name == c.name else prompt_in(shape, k, n, c.input_tokens)
         for k in classes]
        for c in classes
    ]
    total = sum(mix)
    weight = [m / total for m in mix]
    for _ in range(100):
        step = sum(w * t for w, t in zip(weight, tpot, strict=True))
        held = [
            m * (sum(w * f for w, f in zip(weight, row, strict=True))
                 + (max(c.output_tokens, 1) - 1) * step)
            for c, m, row in zip(classes, mix, first, strict=True)
        ]
        new = [h / sum(held) for h in held]
        done = max(abs(a - b) for a, b in zip(new, weight, strict=True)) < 1e-9
        weight = new
        if done:
            break
    return weight


def routed_mix(spec: Spec, classes: Sequence[TokenClass]) -> tuple[float, ...] | None:
    """The class shares every replica is sent (``classes``' order) where routing sends each
    the spec's mix; None where routing decides a replica's mix (kubernetes.class_header: the
    MILP routes each class; inference-pool, whose picker routes by queue and KV cache, is
    refused with class SLOs: :func:`scaleplan.spec_class_slo.check_class_slos`)."""
    k8s = spec.kubernetes
    if k8s.routing == "inference-pool" or (k8s.routing == "gateway-api" and k8s.class_header):
        return None
    shares = {c.name: c.share for c in spec.traffic.classes}
    return tuple(shares.get(c.name, 1.0) for c in classes)


def as_planned(
    spec: Spec, shape: Shape, classes: Sequence[TokenClass], n: int
) -> dict[str, ClassPerf]:
    """Each of ``classes`` (those a replica serves) at ``n`` sequences as the optimizer
    records it in the plan (``llm.classes``; solve/llm_capacity.py): co-batched
    (:func:`cobatched`, at the spec's routed mix) where the spec's classes have SLOs of their
    own, else each class alone (:func:`~scaleplan.llm.serving.predict`). ``simulate`` compares
    a plan's record with this to tell whether the plan's model was calibrated: until 2026-12-06
    it compared the co-batched record with each class alone, read the difference as a
    calibration and ran a 70B H100 replica at step overhead x4.76, the summaries' own 62.3 ms
    and chat's own 35.5 ms TPOT against the 44.5 ms blend the plan was sized on (UX trial 26
    F4: an n+1 plan failed ``simulate --fail node`` at 93.8 %)."""
    if not spec.has_class_slos:
        return {c.name: predict(shape, c, n) for c in classes}
    return cobatched(shape, classes, n, spec.slo.percentile, routed_mix(spec, classes))
