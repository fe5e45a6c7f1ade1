"""Checks of a spec's own values that ``render`` applies to the plan's copy of the spec and
``validate`` applies before anything is solved, so that a spec ``validate`` passes is not
refused by ``optimize`` when it writes the manifests.

* :func:`container_problems`: what the container is started with (env, args, probe paths);
* :func:`engine_arg_problems`: engine flags in ``kubernetes.args`` that contradict the spec's
  own model settings (the KV-cache precision); the flags that contradict values only the solve
  decides (tensor parallelism, concurrency) are render's (:mod:`scaleplan.render.allocations`).

Each :class:`SpecProblem` carries its YAML path in the spec: ``validate`` finds the line with
it, render reports it under the plan's ``spec`` (:meth:`SpecProblem.in_plan`). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scaleplan.errors import Problem
from scaleplan.render import engine as engines
from scaleplan.render import safety
from scaleplan.spec import Kubernetes, ModelSpec
from scaleplan.yamlio import LineMap

__all__ = ["SpecProblem", "container_problems", "engine_arg_problems"]

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


def _at(path: Path, problems: Iterable[Problem]) -> list[SpecProblem]:
    """Problems from the text checks of :mod:`scaleplan.render.safety`, given ``where`` as
    text, with their path."""
    return [SpecProblem(path, p.where, p.message, p.hint) for p in problems]


def container_problems(k8s: Kubernetes) -> list[SpecProblem]:
    """env, args and probe paths: what the container is started with."""
    out: list[SpecProblem] = []
    for key, value in sorted(k8s.env.items()):
        path: Path = ("kubernetes", "env", key)
        where = f"kubernetes.env[{key!r}]"
        if not safety.C_IDENTIFIER.fullmatch(key) or len(key) > 256:
            out.append(SpecProblem(
                path, where, f"env name {safety.shown(key)} is not a valid variable name",
                hint="use letters, digits and '_', not starting with a digit",
            ))
        elif (safety.secretish_env(key) and value) or safety.token_value(value):
            out.append(SpecProblem(
                path, where,
                f"env {key} holds a literal secret or token; it would be written into the "
                "manifests in clear text",
                hint="keep secrets out of the spec: put the token in a Kubernetes Secret and "
                "name it in model.source.secret (HF_TOKEN, AWS keys), or mount it with a "
                "kustomize patch (valueFrom.secretKeyRef)",
            ))
        out += _at(path, safety.check_text(
            value, where, what="env value", allow_newline=True, max_len=32768
        ))
    for i, arg in enumerate(k8s.args):
        path = ("kubernetes", "args", i)
        where = f"kubernetes.args[{i}]"
        out += _at(path, safety.check_text(
            arg, where, what="argument", allow_newline=True, max_len=32768
        ))
        if safety.token_value(arg):
            out.append(SpecProblem(
                path, where,
                "argument holds a literal token; it would be written into the manifests in "
                "clear text",
                hint="put the token in a Kubernetes Secret and hand it to the container from "
                "the Secret (env valueFrom.secretKeyRef, e.g. with a kustomize patch); "
                "model.source.secret covers the model download's credentials (HF_TOKEN, AWS "
                "keys)",
            ))
    for fld in ("path", "readiness_path"):
        p = getattr(k8s.probes, fld)
        if p is not None and (not safety.HTTP_PATH.fullmatch(p) or len(p) > 1024):
            out.append(SpecProblem(
                ("kubernetes", "probes", fld), f"kubernetes.probes.{fld}",
                f"probe path {safety.shown(p)} is not a plain HTTP path",
                hint="use an absolute path such as /health, without spaces or quotes",
            ))
    return out


def engine_arg_problems(model: ModelSpec, k8s: Kubernetes) -> list[SpecProblem]:
    """Engine flags in ``kubernetes.args`` that contradict what the spec itself says the server
    runs: a KV-cache dtype that stores another precision than ``model.kv_cache_dtype``, which
    every allocation of every plan of the spec is sized with (``fp8_e5m2`` is fp8 and agrees)."""
    if model.engine is None:
        return []
    stored = engines.kv_of_spec(model.kv_cache_dtype)
    c = engines.kv_flag_conflict(model.engine, stored, k8s.args)
    if c is None:
        return []
    got = engines.kv_stored(model.engine, c.user_value)
    ratio = {"fp8": "twice", "16-bit": "half"}.get(got or "")
    effect = f"hold {ratio} the sequences" if ratio else "not hold the sequences"
    if got in ("fp8", "16-bit"):
        value = "fp8" if got == "fp8" else "auto"
        instead = f"set model.kv_cache_dtype: {value} and run scaleplan optimize again"
    else:
        instead = "use a precision scaleplan sizes (model.kv_cache_dtype: auto, bf16, fp16, fp8)"
    planned = engines.kv_text(model.engine, stored)
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
