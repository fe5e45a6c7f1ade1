"""Checks of a spec's own values that ``render`` applies to the plan's copy of the spec, and
that ``validate`` and ``optimize`` apply with the inputs (:func:`scaleplan.inputs.gather_inputs`),
before anything is solved: a spec ``validate`` passes is not refused by ``optimize`` when it
writes the manifests, and nothing render would refuse reaches a plan.yaml.

* :func:`metadata_problems`: the labels and annotations put on every object;
* :func:`container_problems`: what the container is started with (env, args, probe paths);
* :func:`engine_image_problems`: a ``kubernetes.image`` that is a known image of another engine
  than ``model.engine`` (the pods could not start);
* :func:`engine_arg_problems`: engine flags in ``kubernetes.args`` that contradict the spec's
  own model settings (the KV-cache precision); the flags that contradict values only the solve
  decides (tensor parallelism, concurrency) are render's (:mod:`scaleplan.render.allocations`);
* :func:`engine_config_problems`: ``model.engine_config`` values the engine refuses (a vLLM
  block size it does not take);
* :func:`routing_problems`: the Gateway that ``gateway-api`` and ``inference-pool`` routing
  attach to, and the autoscaler's strings (:func:`autoscaler_problems`);
* :func:`class_token_problems`: the classes' tokens that ``model.architecture`` needs (the solve
  refuses a class without them; here with its line, before solving), and
  :func:`context_problems`: a class longer than ``model.engine_config.max_model_len``;
* :func:`spec_warnings`: settings that are valid but have no effect as written (``validate``
  and ``optimize`` print them, one line each with its fix; nothing is refused), such as a
  class's length spread without ``model.architecture``.

Each :class:`SpecProblem` carries its YAML path in the spec: ``validate`` finds the line with
it, render reports it under the plan's ``spec`` (:meth:`SpecProblem.in_plan`). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from scaleplan.errors import Problem
from scaleplan.kube import names, safety
from scaleplan.llm.engine_flags import (
    engine_image,
    image_engine,
    image_mismatch,
    kv_flag_conflict,
    kv_stored,
    kv_text,
)
from scaleplan.llm.memory import kv_precision
from scaleplan.spec import PROVIDER_OF_FLAVOR, Kubernetes, Metadata, ModelSpec, Spec
from scaleplan.spec_class_slo import CLASS_SLO_KEYS
from scaleplan.yamlio import Document, LineMap

__all__ = [
    "MAX_HOSTNAMES",
    "SpecProblem",
    "autoscaler_problems",
    "class_token_problems",
    "container_problems",
    "engine_arg_problems",
    "engine_config_problems",
    "engine_image_problems",
    "metadata_problems",
    "routing_problems",
    "spec_problems",
    "spec_warnings",
]

MAX_HOSTNAMES = 16

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecProblem:
    """A problem with a spec value: its YAML path in the spec, the same path as text (as the
    messages have always shown it: ``kubernetes.env['HF_TOKEN']``), what is wrong and the fix."""

    path: Path
    where: str
    message: str
    hint: str = ""

    def in_spec(self, lines: LineMap | None = None) -> Problem:
        """As ``validate`` reports it: the path in the spec file, with its line."""
        line = lines.line_of(self.path) if lines is not None else None
        return Problem(self.where, self.message, hint=self.hint, line=line, path=self.path)

    def in_plan(self) -> Problem:
        """As ``render`` reports it: under the plan's ``spec``."""
        where = f"spec.{self.where}"
        return Problem(where, self.message, hint=self.hint, path=("spec", *self.path))


def spec_problems(spec: Spec) -> list[SpecProblem]:
    """Every check of this module, in the order of the spec's fields."""
    k8s = spec.kubernetes
    out = metadata_problems(spec.metadata) + context_problems(spec) + class_token_problems(spec)
    out += container_problems(k8s)
    out += engine_image_problems(spec.model, k8s)
    out += engine_arg_problems(spec.model, k8s) + engine_config_problems(spec.model)
    return out + routing_problems(k8s) + autoscaler_problems(k8s)


def spec_warnings(spec: Spec) -> list[str]:
    """Settings that are valid but do nothing as written, each with its fix in one line."""
    out: list[str] = []
    spot = spec.placement.spot
    if spot.survive_loss and not spot.allowed:
        out.append(
            "placement.spot.survive_loss is true but placement.spot.allowed is false, so it has "
            "no effect (the plan uses no spot capacity): set spot.allowed: true to plan spot "
            "replicas that may be lost, or drop survive_loss"
        )
    if "max_fraction" in spot.model_fields_set and "allowed" not in spot.model_fields_set:
        out.append(  # UX review 17, F5: a spot share asked for, spot left at its default (off)
            f"placement.spot.max_fraction is {spot.max_fraction:g} but placement.spot.allowed is "
            "false (its default), so the plan uses no spot capacity: set spot.allowed: true to "
            "plan spot replicas, or drop max_fraction"
        )
    # seconds typed into a millisecond field (UX review 5); latency_ms and a TTFT or TPOT of
    # exactly 1 (1 s typed as 1 ms) too (UX trial 19 F7). A derived latency_ms is not the user's.
    slo = spec.slo
    targets = {
        "slo.latency_ms": slo.tested_latency_ms, "slo.ttft_ms": slo.ttft_ms,
        "slo.tpot_ms": slo.tpot_ms,
    }
    for i, c in enumerate(spec.traffic.classes):  # a class's own targets (traffic.classes[].slo)
        if c.slo is not None:
            at = f"traffic.classes[{i}].slo"
            targets |= {f"{at}.{k}": getattr(c.slo, k) for k in CLASS_SLO_KEYS}
    for field, v in targets.items():
        if v is not None and v <= 1:
            out.append(
                f"{field} is {v:g} ms, at most 1 ms, which no engine reaches; the field is in "
                f"milliseconds: did you mean {v * 1000:g} ms?"
            )
        elif v is not None and field.endswith("ttft_ms") and v < FAST_TTFT_MS:
            out.append(  # UX trial 33 F7: `ttft_ms: 1.5` (seconds) got only "relax to 45 ms"
                f"{field} is {v:g} ms, under {FAST_TTFT_MS:g} ms, which no engine's first token "
                "reaches (a prefill and a scheduler step take longer); the field is in "
                f"milliseconds: did you mean {v * 1000:g} ms?"
            )
        elif v is not None and (said := _slow_target(field, v)):
            out.append(said)
    h = spec.traffic.headroom
    if h > 1:  # a percentage typed into a fraction (UX trial 25: headroom 5 planned 6x demand)
        # a percentage is guessed only where one is plausible: 1.5 is not 1.5 % (r1 review 38)
        guess = f"; did you mean {h / 100:g} ({h:g} %)?" if h >= 2 else ""
        out.append(
            f"traffic.headroom is {h:g}, a fraction: the plan sizes for {1 + h:g}x the demand "
            f"({h * 100:g} % extra){guess}"
        )
    return out + _spread_warnings(spec)


FAST_TTFT_MS = 10.0  # no engine's first token comes this fast: seconds typed in
SLOW_TTFT_MS = 60_000.0  # a minute to the first token: no interactive service waits so long
SLOW_TPOT_MS = 1_000.0  # a second a token: slower than anyone reads


def _slow_target(field: str, v: float) -> str | None:
    """A TTFT or TPOT target too long to be meant (UX trial 31 F5: ``ttft_ms: 800000``, 13
    minutes, was taken silently), with the arithmetic and the units; said, not refused, as a
    target of at most 1 ms is (a batch job may mean it, and the TTFT warning says so: r2
    review, a 2-minute batch target read "did you mean 120 ms?" alone). An end-to-end latency
    of minutes is a long completion's, and its limit is the schema's (one hour)."""
    if field.endswith("ttft_ms") and v >= SLOW_TTFT_MS:
        mins = f"{v / 60_000:.3g}"  # 60,000 ms is "1 minute", not "1 minutes" (UX trial 39 F8)
        return (
            f"{field} is {v:,.0f} ms = {mins} minute{'' if mins == '1' else 's'} to the first "
            f"token, over {SLOW_TTFT_MS / 60_000:g} minute; the field is in milliseconds: did "
            f"you mean {v / 1000:,g} ms? (a batch class that may wait so long: nothing to change)"
        )
    if field.endswith("tpot_ms") and v >= SLOW_TPOT_MS:
        return (
            f"{field} is {v:,.0f} ms per output token = {1000 / v:.3g} tokens/s, a second or "
            "more a token; the field is in milliseconds per output token (50 ms is 20 "
            "tokens/s): check the units"
        )
    return None


def _spread_warnings(spec: Spec) -> list[str]:
    """A length spread (``traffic.classes[].lengths``) is priced by the LLM model only: without
    ``model.architecture`` the plan rests on the profile's points, and only ``simulate`` draws
    the spread (docs/llm.md, "Length spread")."""
    if spec.model.architecture is not None:
        return []
    return [
        f"traffic.classes[{i}].lengths (class {c.name!r}) has no effect on the plan: without "
        "model.architecture the optimizer plans from model.profile's points at their measured "
        "lengths, and only simulate draws the spread (--lengths spec); add model.architecture "
        "to price the spread, or drop lengths"
        for i, c in enumerate(spec.traffic.classes)
        if c.lengths is not None
    ]


def class_token_problems(spec: Spec) -> list[SpecProblem]:
    """With ``model.architecture`` the optimizer predicts every class from its tokens (the
    profile's measured points only calibrate the model, whatever their classes), so each class
    needs ``input_tokens`` and ``output_tokens``."""
    if spec.model.architecture is None:
        return []
    return [
        SpecProblem(
            ("traffic", "classes", i), f"traffic.classes[{i}]",
            f"class {c.name!r} lacks input_tokens or output_tokens, which model.architecture "
            "needs to size its KV cache and predict its latency",
            hint="give each class its typical prompt and completion length in tokens",
        )
        for i, c in enumerate(spec.traffic.classes)
        if not (c.input_tokens and c.output_tokens)
    ]


def context_problems(spec: Spec) -> list[SpecProblem]:
    """A class whose prompt and completion together exceed ``model.engine_config.max_model_len``:
    the server rejects every such request (the plan was sized and predicted as if it served
    them)."""
    ec = spec.model.engine_config
    limit = ec.max_model_len if ec is not None else None
    if limit is None:
        return []
    return [
        SpecProblem(
            ("model", "engine_config", "max_model_len"), "model.engine_config.max_model_len",
            f"class {c.name!r} needs {c.input_tokens + c.output_tokens:,} tokens "
            f"({c.input_tokens:,} prompt + {c.output_tokens:,} completion), more than the "
            f"{limit:,} the server takes: it would reject every such request",
            hint=f"raise max_model_len to at least {c.input_tokens + c.output_tokens:,}, or "
            f"shorten class {c.name!r}",
        )
        for c in spec.traffic.classes
        if c.input_tokens and c.output_tokens and c.input_tokens + c.output_tokens > limit
    ]


def _at(path: Path, problems: Iterable[Problem]) -> list[SpecProblem]:
    """Problems from the text checks of :mod:`scaleplan.kube.safety`, given ``where`` as
    text, with their path."""
    return [SpecProblem(path, p.where, p.message, p.hint) for p in problems]


def _env_name_problem(path: Path, where: str, key: str) -> SpecProblem | None:
    """An env variable name (kubernetes.env, kubernetes.secret_env) the API server refuses."""
    if names.C_IDENTIFIER.fullmatch(key) and len(key) <= 256:
        return None
    return SpecProblem(
        path, where, f"env name {safety.shown(key)} is not a valid variable name",
        hint="use letters, digits and '_', not starting with a digit",
    )


def container_problems(k8s: Kubernetes) -> list[SpecProblem]:
    """env, args and probe paths: what the container is started with."""
    out: list[SpecProblem] = []
    for key, value in sorted(k8s.env.items()):
        path: Path = ("kubernetes", "env", key)
        where = f"kubernetes.env[{key!r}]"
        if (bad_name := _env_name_problem(path, where, key)) is not None:
            out.append(bad_name)
        elif safety.literal_secret_env(key, value):
            out.append(SpecProblem(
                path, where,
                f"env {key} holds a literal secret or token; it would be written into the "
                "manifests in clear text",
                hint="keep secrets out of the spec: put the token in a Kubernetes Secret and "
                "name it in model.source.secret (HF_TOKEN, AWS keys) or in "
                f"kubernetes.secret_env ({key}: {{secret: NAME, key: KEY}})",
            ))
        out += _at(path, safety.text_problems(
            value, where, what="env value", allow_newline=True, max_len=32768
        ))
    for key in sorted(k8s.secret_env or {}):
        path = ("kubernetes", "secret_env", key)
        where = f"kubernetes.secret_env[{key!r}]"
        if (bad_name := _env_name_problem(path, where, key)) is not None:
            out.append(bad_name)
        elif key in k8s.env:
            out.append(SpecProblem(
                path, where, f"{key} is set both in kubernetes.env and from a Secret",
                hint=f"keep one: remove {key} from kubernetes.env or from kubernetes.secret_env",
            ))
    literal = safety.literal_secret_args(k8s.args)
    for i, arg in enumerate(k8s.args):
        path = ("kubernetes", "args", i)
        where = f"kubernetes.args[{i}]"
        out += _at(path, safety.text_problems(
            arg, where, what="argument", allow_newline=True, max_len=32768
        ))
        if i in literal:
            out.append(SpecProblem(
                path, where,
                "argument holds a literal secret or token; it would be written into the manifests "
                "in clear text",
                hint="put the token in a Kubernetes Secret and hand it to the container with "
                "kubernetes.secret_env (e.g. VLLM_API_KEY: {secret: NAME, key: KEY}: vLLM "
                "reads --api-key from VLLM_API_KEY); "
                "model.source.secret covers the model download's credentials (HF_TOKEN, AWS "
                "keys)",
            ))
    for fld in ("path", "readiness_path"):
        p = getattr(k8s.probes, fld)
        if p is not None and (not names.HTTP_PATH.fullmatch(p) or len(p) > 1024):
            out.append(SpecProblem(
                ("kubernetes", "probes", fld), f"kubernetes.probes.{fld}",
                f"probe path {safety.shown(p)} is not a plain HTTP path",
                hint="use an absolute path such as /health, without spaces or quotes",
            ))
    return out


def engine_image_problems(model: ModelSpec, k8s: Kubernetes) -> list[SpecProblem]:
    """``kubernetes.image`` is a known image of another engine than ``model.engine``
    (:data:`scaleplan.llm.engine_flags.IMAGES`): render would write that engine's server
    command and flags into an image that cannot run them. A custom image is not judged."""
    if model.engine is None:
        return []
    why = image_mismatch(model.engine, k8s.image)
    if why is None:
        return []
    other = image_engine(k8s.image)
    return [
        SpecProblem(
            ("kubernetes", "image"),
            "kubernetes.image",
            f"model.engine is {model.engine}, but {why}",
            hint=f"set kubernetes.image to the {model.engine} image "
            f"({engine_image(model.engine)}), or model.engine: {other} if the service runs {other}",
        )
    ]


VLLM_BLOCK_SIZES = (1, 8, 16, 32, 64, 128, 256)  # vllm.config.cache.BlockSize (256 since 0.11.1)


def engine_config_problems(model: ModelSpec) -> list[SpecProblem]:
    """``model.engine_config`` values the engine refuses at start-up: render would write them
    as its flags and every pod would crash-loop (UX review 5: ``block_size: 7`` on vLLM)."""
    bs = model.engine_config.block_size if model.engine_config is not None else None
    if model.engine != "vllm" or bs is None or bs in VLLM_BLOCK_SIZES:
        return []
    sizes = ", ".join(str(b) for b in VLLM_BLOCK_SIZES[:-1])
    return [
        SpecProblem(
            ("model", "engine_config", "block_size"),
            "model.engine_config.block_size",
            f"vLLM takes a KV block size of {sizes} (256 from v0.11.1) tokens, not block_size "
            f"{bs}: the server would refuse --block-size {bs} at start-up",
            hint="use 16 (vLLM's default) or leave block_size out",
        )
    ]


def engine_arg_problems(model: ModelSpec, k8s: Kubernetes) -> list[SpecProblem]:
    """Engine flags in ``kubernetes.args`` that contradict what the spec itself says the server
    runs: a KV-cache dtype that stores another precision than ``model.kv_cache_dtype``, which
    every allocation of every plan of the spec is sized with (``fp8_e5m2`` is fp8 and agrees)."""
    if model.engine is None:
        return []
    stored = kv_precision(model.kv_cache_dtype)
    c = kv_flag_conflict(model.engine, stored, k8s.args)
    if c is None:
        return []
    got = kv_stored(model.engine, c.user_value)
    ratio = {"fp8": "twice", "16-bit": "half"}.get(got or "")
    effect = f"hold {ratio} the sequences" if ratio else "not hold the sequences"
    if got in ("fp8", "16-bit"):
        value = "fp8" if got == "fp8" else "auto"
        instead = f"set model.kv_cache_dtype: {value} and run scaleplan optimize again"
    else:
        instead = "use a precision scaleplan sizes (model.kv_cache_dtype: auto, bf16, fp16, fp8)"
    planned = kv_text(model.engine, stored)
    return [
        SpecProblem(
            ("kubernetes", "args", c.index),
            f"kubernetes.args[{c.index}]",
            f"{c.flag} {c.user_value} contradicts the plan's KV cache (model.kv_cache_dtype: "
            f"{model.kv_cache_dtype or 'auto'}), which is sized for {planned}: the server would "
            f"{effect} the plan counts on",
            hint=f"remove {c.flag} from kubernetes.args (render writes the plan's from "
            f"model.kv_cache_dtype), or {instead}",
        )
    ]


def metadata_problems(md: Metadata) -> list[SpecProblem]:
    """The labels and annotations put on every rendered object."""
    out: list[SpecProblem] = []
    for key, value in sorted(md.labels.items()):
        path: Path = ("metadata", "labels", key)
        where = f"metadata.labels[{key!r}]"
        out += _at(path, safety.check_label_key(key, where))
        out += _at(path, safety.check_label_value(value, where))
        if key in safety.RESERVED_LABELS or key == safety.BACKEND_LABEL:
            out.append(SpecProblem(
                path, where, f"label {key!r} is set by scaleplan (it selects the pods)",
                hint="remove it or use another key",
            ))
    for key, value in sorted(md.annotations.items()):
        path = ("metadata", "annotations", key)
        where = f"metadata.annotations[{key!r}]"
        out += _at(path, safety.check_label_key(key, where))
        out += _at(path, safety.text_problems(
            value, where, what="annotation value", allow_newline=True,
            max_len=safety.MAX_ANNOTATION_VALUE,
        ))
        if key.startswith("scaleplan.dev/"):
            out.append(SpecProblem(
                path, where, f"annotation {key!r} is reserved for scaleplan",
                hint="use another prefix",
            ))
    return out


def routing_problems(k8s: Kubernetes) -> list[SpecProblem]:
    """The Gateway that ``gateway-api`` and ``inference-pool`` routing attach to."""
    if k8s.routing not in ("gateway-api", "inference-pool"):
        return []
    gw = k8s.gateway
    if gw is None:
        return [SpecProblem(
            ("kubernetes", "gateway"), "kubernetes.gateway",
            f"routing: {k8s.routing} needs a gateway",
            hint="add gateway: {name: <your Gateway>, namespace: <its namespace>}",
        )]
    out: list[SpecProblem] = []
    for fld in ("name", "namespace"):
        v = getattr(gw, fld)
        bad = not isinstance(v, str) or len(v) > 63 or not names.DNS_LABEL.fullmatch(v)
        if v is not None and bad:
            out.append(SpecProblem(
                ("kubernetes", "gateway", fld), f"kubernetes.gateway.{fld}",
                f"gateway {fld} {safety.shown(str(v))} is not a DNS-1123 label",
                hint="use at most 63 lower-case letters, digits and '-', starting and ending "
                "alphanumeric",
            ))
    hosts: Path = ("kubernetes", "gateway", "hostnames")
    if len(gw.hostnames) > MAX_HOSTNAMES:
        out.append(SpecProblem(
            hosts, "kubernetes.gateway.hostnames",
            f"{len(gw.hostnames)} hostnames; an HTTPRoute takes at most {MAX_HOSTNAMES}",
            hint="split the hostnames over several routes, or use a wildcard (*.example.com)",
        ))
    for i, h in enumerate(gw.hostnames):
        ok = isinstance(h, str) and len(h) <= 253 and bool(names.HOSTNAME.fullmatch(h))
        if not ok or re.fullmatch(r"[0-9.]+", str(h)):
            out.append(SpecProblem(
                (*hosts, i), f"kubernetes.gateway.hostnames[{i}]",
                f"hostname {safety.shown(str(h))} is not a valid Gateway API hostname",
                hint="use a lower-case DNS name such as api.example.com, optionally with a "
                "leading '*.' wildcard; no IP addresses, ports or schemes",
            ))
    if len(set(gw.hostnames)) != len(gw.hostnames):
        out.append(SpecProblem(
            hosts, "kubernetes.gateway.hostnames", "hostnames repeat",
            hint="list each hostname once",
        ))
    return out


def autoscaler_problems(k8s: Kubernetes) -> list[SpecProblem]:
    """The strings the autoscaler's objects carry (Prometheus, Kafka, RabbitMQ, HPA metric)."""
    ks = k8s.autoscaler
    base: Path = ("kubernetes", "autoscaler")
    out: list[SpecProblem] = []

    def text(path: Path, value: str, what: str, *, allow_newline: bool = False) -> None:
        where = ".".join(str(k) for k in path)
        found = safety.text_problems(value, where, what=what, allow_newline=allow_newline)
        out.extend(_at(path, found))

    if ks.type == "keda-prometheus":
        text((*base, "prometheus", "server_address"), ks.prometheus.server_address, "address")
        if ks.prometheus.query is not None:
            text((*base, "prometheus", "query"), ks.prometheus.query, "query", allow_newline=True)
    if ks.type == "keda-kafka" and ks.kafka is not None:
        for f in ("bootstrap_servers", "topic", "consumer_group"):
            text((*base, "kafka", f), getattr(ks.kafka, f), f.replace("_", " "))
    if ks.type == "keda-rabbitmq" and ks.rabbitmq is not None:
        text((*base, "rabbitmq", "queue_name"), ks.rabbitmq.queue_name, "queue name")
        if not names.C_IDENTIFIER.fullmatch(ks.rabbitmq.host_from_env):
            out.append(SpecProblem(
                (*base, "rabbitmq", "host_from_env"),
                "kubernetes.autoscaler.rabbitmq.host_from_env",
                f"{safety.shown(ks.rabbitmq.host_from_env)} is not a valid env name",
                hint="use letters, digits and '_'",
            ))
    if ks.hpa.metric_name is not None and not names.QUALIFIED_NAME.fullmatch(ks.hpa.metric_name):
        out.append(SpecProblem(
            (*base, "hpa", "metric_name"), "kubernetes.autoscaler.hpa.metric_name",
            f"{safety.shown(ks.hpa.metric_name)} is not a valid metric name",
            hint="use letters, digits, '_', '-', '.'",
        ))
    return out


def flavor_problems(spec: Spec, doc: Document | None = None) -> list[Problem]:
    """A cloud-specific flavor (eks, gke, aks) runs nodes of one cloud only: providers must
    agree."""
    flavor = spec.kubernetes.flavor
    cloud = PROVIDER_OF_FLAVOR.get(flavor)
    if cloud is None:
        return []
    problems = []
    for i, p in enumerate(spec.placement.providers):
        if p != cloud:
            line = doc.lines.line_of(("placement", "providers", i)) if doc is not None else None
            problems.append(
                Problem(
                    f"placement.providers[{i}]",
                    f"provider {p!r} cannot run on flavor {flavor!r}, whose nodes are {cloud} "
                    "instances",
                    hint=f"remove {p!r} (or the whole providers line: it defaults to [{cloud}] "
                    f"for {flavor}), or set kubernetes.flavor: generic for a cluster that spans "
                    "clouds",
                    line=line,
                )
            )
    return problems
