"""The LLM commands' inputs: ``profile llm``'s serving setup, token classes and accelerators
(from MODEL and/or a spec, the options overriding it), and the TTFT/TPOT points ``simulate``
reads for an LLM plan's allocations that carry none (``--profile``, else the spec's profile
next to the plan). The arithmetic is the LLM room's (:mod:`scaleplan.llm`); this reads files
and resolves names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.errors import InputError, Problem, input_error, option_error
from scaleplan.inputs import with_lines

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator, Catalog
    from scaleplan.llm.serving import LlmSetup, TokenClass
    from scaleplan.plan import Plan
    from scaleplan.profile.model import Measurement, Profile
    from scaleplan.simulate.llm_replicas import Point
    from scaleplan.spec import Spec
    from scaleplan.yamlio import LineMap


DEFAULT_LLM_ACCELERATORS = ("H100", "L40S", "L4")  # profile llm without --accelerators or a spec


@dataclass(frozen=True)
class LlmProfileInputs:
    """What ``profile llm`` estimates: the serving setup, the token classes, the accelerators
    asked for (resolved) and the accelerator table they come from."""

    model: str  # the MODEL argument, else the spec's model.architecture
    setup: LlmSetup
    classes: tuple[TokenClass, ...]
    accelerators: tuple[Accelerator, ...]
    table: dict[str, Accelerator]
    notes: tuple[str, ...] = ()  # fields the config.json leaves out; accelerators left out
    served: tuple[str, ...] = ()  # the spec's names of the model (llm.serving.served_names)


def llm_profile_inputs(
    model: str | None,
    spec_path: str | None,
    *,
    default_class: TokenClass,
    tokens_given: str | None = None,
    dtype: str | None,
    kv_cache_dtype: str | None,
    engine: str | None,
    accelerators: Sequence[str] | None,
    catalogs: Sequence[str],
) -> LlmProfileInputs:
    """``profile llm``: MODEL (a preset or a config.json) and/or a spec's model settings and
    traffic classes, with the accelerators resolved against the accelerator table (the shipped
    one, or the ``--catalog`` files' when given). The caller checks that one of MODEL and the
    spec is given. With a spec, the options given (``dtype``, ``kv_cache_dtype``, ``engine``,
    MODEL) override its model settings, ``tokens_given`` (``--input-tokens`` or
    ``--output-tokens``, when typed) is refused (exit 3, at the spec) where its classes give the
    tokens, and ``accelerators`` not given are its placement's GPUs (else
    :data:`DEFAULT_LLM_ACCELERATORS`)."""
    from scaleplan.catalog.files import load_accelerators, load_catalog
    from scaleplan.llm.arch import config_notes, load_architecture
    from scaleplan.llm.serving import served_names, setup, setup_from_spec, token_classes_of
    from scaleplan.spec import read_spec

    classes = [default_class]
    spec_lines: LineMap | None = None  # set when the classes are the spec's
    placed: list[str] = []  # the spec's placement.accelerators (GPUs)
    base: Path | None = None  # what a relative config.json path is relative to
    if spec_path is not None:
        from scaleplan.spec_checks import context_problems

        sp, doc = read_spec(spec_path)
        placed = [a for a in sp.placement.accelerators if a.lower() != "cpu"]
        too_long = context_problems(sp)  # a class the server would reject, as optimize says
        if too_long:
            raise InputError(spec_path, [p.in_spec(doc.lines) for p in too_long])
        if sp.traffic.classes:
            toks = [(c.name, c.input_tokens and c.output_tokens) for c in sp.traffic.classes]
            missing = [name for name, given in toks if not given]
            if missing:
                one = len(missing) == 1
                lack = (
                    f"{'class' if one else 'classes'} {', '.join(missing)} "
                    f"{'lacks' if one else 'lack'} input_tokens/output_tokens"
                )
                raise input_error(spec_path, "traffic.classes", lack, "give every class its tokens")
            classes = token_classes_of(sp.traffic.classes)
            spec_lines = doc.lines
        if model is None and sp.model.architecture is None:
            raise InputError(
                spec_path,
                [
                    Problem(
                        "model.architecture",
                        "missing",
                        hint="give MODEL on the command line or set model.architecture",
                    )
                ],
            )
        if tokens_given and sp.traffic.classes:
            # the option against the spec's content: invalid input (exit 3), naming the spec
            raise input_error(
                spec_path,
                tokens_given,
                "the spec's traffic.classes give every class its tokens",
                "drop the option, or --spec to plan one class of these tokens",
            )
        # the spec's model settings (engine_config included), each option given overriding its
        # own; MODEL (relative to the current folder) overriding model.architecture
        given = {"dtype": dtype, "kv_cache_dtype": kv_cache_dtype, "engine": engine}
        settings = sp.model.model_copy(
            update={k: v for k, v in given.items() if v is not None}
            | ({"architecture": model} if model is not None else {})
        )
        arch = load_architecture(model) if model is not None else None
        served = served_names(sp.model) if model is None else ()
        s = setup_from_spec(settings, Path(spec_path).parent, arch)
        base = None if model is not None else Path(spec_path).parent  # the config.json's folder
        model = model or sp.model.architecture
        assert model is not None
    else:
        assert model is not None
        served = ()
        s = setup(model, dtype=dtype, kv_cache_dtype=kv_cache_dtype, engine=engine)
    # only accelerator specs are needed: the instance catalogs load only with --catalog
    table = {
        a.name: a
        for a in (load_catalog(list(catalogs)).accelerators if catalogs else load_accelerators())
    }
    # not given: the GPUs the spec allows (a 405B model placed on B200 fits none of the defaults)
    names = accelerators if accelerators is not None else placed or DEFAULT_LLM_ACCELERATORS
    accs = _resolve(names, table, given=accelerators is not None, spec_path=spec_path)
    if dtype is not None and accelerators is not None:
        _refuse_dtype_on(accs, s.dtype)
    notes: tuple[str, ...] = ()
    if accelerators is None and placed:  # the spec's GPUs: one the model cannot run is left out
        accs, notes = runnable(accs, s.dtype, s.kv_dtype, spec_path, doc.lines)
    notes = (*config_notes(model, base, dtype or (sp.model.dtype if spec_path else None)), *notes)
    if spec_lines is not None:  # the spec's classes: validate's and optimize's check, at its line
        over = s.context_problem(classes, sp.traffic.classes, sp.slo.percentile)
        if over is not None:
            raise InputError(spec_path, with_lines([over], spec_lines))
    else:  # one class of --input-tokens/--output-tokens, without a spread
        over = s.over_context(classes, "--input-tokens")
        if over is not None:
            raise InputError(None, [over])
    return LlmProfileInputs(model, s, tuple(classes), tuple(accs), table, notes, served)


def _resolve(
    names: Sequence[str], table: dict[str, Accelerator], *, given: bool, spec_path: str | None
) -> list[Accelerator]:
    """The accelerators named; an unknown one given with ``--accelerators`` is a usage error
    (exit 2), one of the spec's placement.accelerators bad input (exit 3)."""
    from scaleplan.catalog.model import resolve_name
    from scaleplan.names import unknown_accelerator_hint

    accs = []
    for name in names:
        canonical = resolve_name(tuple(table.values()), name)
        a = table.get(canonical) if canonical else None
        if a is None:
            where = "--accelerators" if given else "placement.accelerators"
            add = ", and give that file with --catalog" if given else (
                ", and name that file in placement.catalogs"
            )
            hint = unknown_accelerator_hint(name, table, add)
            problem = Problem(where, f"unknown accelerator {name!r}", hint=hint)
            raise option_error([problem]) if given else InputError(spec_path, [problem])
        accs.append(a)
    return accs


def _refuse_dtype_on(accs: Sequence[Accelerator], dtype: str) -> None:
    """``--dtype`` and ``--accelerators`` that cannot be combined (fp8 on an A10G): a usage
    error (exit 2); a dtype from the spec or the model against them is the estimate's (3)."""
    from scaleplan.llm.hardware import UnsupportedDtype, hardware

    for a in accs:
        hw = hardware(a)
        if hw is None:  # a table without the facts: the estimate says so (exit 3)
            continue
        try:
            hw.compute_peak_tflops(dtype)
        except UnsupportedDtype as exc:
            runs = ", ".join(hw.runs())
            hint = f"drop {a.name} from --accelerators or pick a dtype it runs ({runs})"
            raise option_error([Problem("--dtype", f"{dtype}: {exc}", hint=hint)]) from None


def dtype_problems(spec: Spec, file: str, lines: LineMap, catalog: Catalog) -> list[Problem]:
    """The spec's ``model.dtype`` (or the checkpoint's own) or ``kv_cache_dtype`` that none of
    the GPUs in ``placement.accelerators`` runs (:func:`runnable`, the LLM model's checks), at
    placement.accelerators: ``validate`` and ``optimize`` refuse it before solving (exit 3). None
    without ``model.architecture``, with a name the catalog does not know (placement's own
    problem) or a model the LLM model cannot read (``validate`` says why; ``optimize``'s solve)."""
    from scaleplan.llm.serving import setup_from_spec

    named = [a for a in spec.placement.accelerators if a.upper() != "CPU"]
    gpus = [catalog.accelerator(a) for a in named]
    if spec.model.architecture is None or not gpus or not all(gpus):
        return []
    try:
        s = setup_from_spec(spec.model, Path(file).parent)
    except InputError:
        return []
    try:
        runnable([a for a in gpus if a], s.dtype, s.kv_dtype, file, lines)
    except InputError as exc:
        return list(exc.problems)
    return []


def spec_config_notes(spec: Spec, spec_file: str) -> tuple[str, ...]:
    """The fields the config.json of the spec's ``model.architecture`` leaves out and the values
    assumed for them (:func:`scaleplan.llm.arch.config_notes`; for a preset, only the note of an
    HF id sized with its base model's): ``validate`` and ``optimize`` warn with them, as
    ``profile llm`` notes them."""
    from scaleplan.llm.arch import config_notes

    ref = spec.model.architecture
    if ref is None:
        return ()
    return (*config_notes(ref, Path(spec_file).parent, spec.model.dtype), *_source_note(spec))


def _source_note(spec: Spec) -> tuple[str, ...]:
    """A Hugging Face ``model.source`` that is the checkpoint of another preset than the
    ``model.architecture`` planned (UX trial 29 F6: a copied spec whose architecture alone was
    changed plans Qwen3-32B while render serves Mixtral's weights with Qwen's settings)."""
    import dataclasses

    from scaleplan.llm.arch import Architecture, is_config_path, preset, resolve_preset

    src, ref = spec.model.source, spec.model.architecture
    if src is None or ref is None or is_config_path(ref) or "://" in src.uri.removeprefix("hf://"):
        return ()
    served, planned = resolve_preset(src.uri.removeprefix("hf://")), resolve_preset(ref)
    if served is None or planned is None or served == planned:
        return ()
    # presets of one architecture size alike (Llama 3.1 and 3.3 70B; DeepSeek V3 and R1): what
    # sizes a model is its facts, not its name, source, or the dtype its checkpoint ships in
    def facts(name: str) -> Architecture:
        return dataclasses.replace(
            preset(name), name="", source="", native_dtype="", stated_params_b=None
        )

    if facts(served) == facts(planned):
        return ()
    return (
        f"model.source {src.uri!r} is a checkpoint of {served!r}, not of the "
        f"model.architecture planned, {planned!r}: the plan sizes {planned} while the rendered "
        f"server loads {served}'s weights (set model.architecture: {served}, or point "
        f"model.source at {planned}'s checkpoint)",
    )


def runnable(
    accs: Sequence[Accelerator], dtype: str, kv_dtype: str, spec_path: str | None, lines: LineMap
) -> tuple[list[Accelerator], tuple[str, ...]]:
    """The accelerators the LLM model can size and that run ``dtype`` and a ``kv_dtype`` KV
    cache (the model's own checks: :meth:`~scaleplan.llm.hardware.Hardware.compute_peak_tflops`,
    :meth:`~scaleplan.llm.hardware.Hardware.check_kv_dtype`), and a note for each other one (as
    optimize leaves them out: an fp8 spec that also allows an A10G); when every one is left
    out, an InputError at the spec's placement.accelerators saying why (``profile llm --spec``
    and ``validate``)."""
    from scaleplan.llm.hardware import UnsupportedDtype, hardware, missing_facts

    keep, notes, kv, precision = [], [], "", False
    for a in accs:
        hw = hardware(a)
        if hw is None:
            notes.append(f"{a.name} is left out: the accelerator table lacks {missing_facts(a)}")
            continue
        precision = True  # a refusal below is the precision's
        try:
            hw.compute_peak_tflops(dtype)
        except UnsupportedDtype as exc:
            notes.append(f"{a.name} is left out: {dtype}: {exc}")
            continue
        try:
            hw.check_kv_dtype(kv_dtype)
        except UnsupportedDtype as exc:
            notes.append(f"{a.name} is left out: kv_cache_dtype {kv_dtype}: {exc}")
            kv = f" with an {kv_dtype} KV cache"  # only fp8 is refused
            continue
        keep.append(a)
    if not keep:  # not an empty 'no shape can serve' later: each one's reason, at its line
        fields = "model.dtype" + (" or model.kv_cache_dtype" if kv else "")
        fix = f"allow an accelerator that runs {dtype}{kv}, or change {fields}"
        if not precision:  # none the model can size (an Inferentia): no dtype would do
            fix = ("allow an accelerator the LLM model can size, or plan the model without "
                   "model.architecture on a profile measured on it")
        why = Problem("placement.accelerators", "none can serve the model: " + "; ".join(notes),
                      hint=fix)
        raise InputError(spec_path, with_lines([why], lines))
    return keep, tuple(notes)


def llm_profile_points(
    plan: Plan, plan_file: str, given: str | None
) -> tuple[dict[str, list[Point]] | None, tuple[str, ...]]:
    """``simulate`` of LLM plans: TTFT/TPOT points for the allocations without ``llm.classes``,
    from the ``--profile`` file, else the spec's profile next to the plan when it is there
    (with a note saying so); None when no allocation needs them or there is no profile. A
    ``--profile`` no allocation needs is not read, and a note says so (UX trial 34 F4: another
    model's profile was taken without a word)."""
    from scaleplan.profile.model import read_profile
    from scaleplan.simulate.llm_replicas import profile_points

    needs = [a for a in plan.allocations if a.llm is None or not a.llm.classes]
    if not needs:
        unread = (
            f"--profile {given} is not read: every allocation of the plan records its LLM "
            "predictions (llm.classes), which the step times follow (docs/simulate.md)",
        )
        return None, unread if given is not None else ()
    notes: tuple[str, ...] = ()
    if given is not None:
        prof = read_profile(given)
    elif plan.spec.model.profile is None:  # planned from the architecture alone
        return None, ()
    else:
        guess = Path(plan_file).parent / plan.spec.model.profile
        if not guess.is_file():
            return None, ()
        prof = read_profile(guess)
        notes = (f"TTFT/TPOT points read from the spec's profile next to the plan: {guess}",)
    toks = {c.name: (c.input_tokens, c.output_tokens) for c in plan.spec.traffic.classes}
    pts = {a.name: profile_points(prof, a.accelerator, a.gpus_per_replica, toks) for a in needs}
    return pts, notes


def _precision_misfit(m: Measurement, meta: str, s: LlmSetup) -> tuple[str, str] | None:
    """('dtype', 'fp8') when the point ran another precision than the plan's (its own dtype,
    else the profile's ``meta``), ('kv', 'fp8') when its recorded KV cache is of another size;
    None when it fits (or records neither)."""
    from typing import get_args

    from scaleplan.llm.memory import kv_precision
    from scaleplan.spec import LlmDtype

    d = (m.dtype or "").strip().lower() or meta
    if d in get_args(LlmDtype) and d != s.dtype:
        return "dtype", d
    kv = (m.kv_cache_dtype or "").strip().lower()
    # the cache's bytes an element, as the LLM model reads them (auto follows the model's
    # precision: 16-bit but for an fp8 KV cache)
    if kv and kv_precision(kv) != kv_precision(s.kv_dtype):
        return "kv", kv
    return None


def _precision_notes(
    dropped: list[tuple[str, str]], own: int, unknown: int, s: LlmSetup
) -> list[str]:
    """What :func:`calibrating_points` says of the points it left out and of those that
    record no precision."""
    from scaleplan.wording import counted

    notes: list[str] = []
    dtypes = sorted({v for k, v in dropped if k == "dtype"})
    kvs = sorted({v for k, v in dropped if k == "kv"})
    n_d = sum(1 for k, _ in dropped if k == "dtype")
    if dtypes and n_d == own:
        notes.append(
            f"calibration: the profile's points were measured in {', '.join(dtypes)} "
            f"(metadata.dtype), the model planned is {s.dtype}: another precision runs at "
            f"another speed, so they are left out (measure {s.dtype}, or plan model.dtype: "
            f"{dtypes[0]})"
        )
    elif dtypes:
        notes.append(
            f"calibration: {counted(n_d, 'point')} of {own} measured in {', '.join(dtypes)} "
            f"(their dtype) left out: the model planned is {s.dtype}, and another precision "
            "runs at another speed"
        )
    if kvs:
        n_kv = len(dropped) - n_d
        notes.append(
            f"calibration: {counted(n_kv, 'point')} with a {', '.join(kvs)} KV cache "
            f"(kv_cache_dtype) left out: the plan's KV cache is {s.kv_dtype}, and a cache of "
            "another size holds other sequences and reads at another speed"
        )
    if unknown and unknown == own:
        notes.append(
            "calibration: the profile does not record the precision its points ran in "
            f"(metadata.dtype; `profile import --dtype`): they are taken as {s.dtype} runs, "
            "the precision planned"
        )
    elif unknown:
        notes.append(
            f"calibration: {counted(unknown, 'point')} record no precision (dtype): taken as "
            f"{s.dtype} runs, the precision planned"
        )
    return notes


def own_points(points: Sequence[Measurement]) -> list[Measurement]:
    """The profile's own measured or imported points: not the running service's hours that
    ``optimize --observed`` adds beside them (device ``observed``, observe.replan.llm_points)."""
    return [m for m in points if m.source in ("measured", "imported") and m.device != "observed"]


def file_positions(profile: Profile | None, points: Sequence[Measurement]) -> list[int]:
    """Each of ``points``' index in ``profile``'s ``measurements`` (what the calibration's
    notes call it), where :func:`calibrating_points` left some out before them."""
    at = {id(m): i for i, m in enumerate(profile.measurements)} if profile is not None else {}
    return [at.get(id(m), i) for i, m in enumerate(points)]


def calibrating_points(
    profile: Profile | None, s: LlmSetup
) -> tuple[tuple[Measurement, ...], tuple[str, ...]]:
    """The profile's points that may calibrate ``s`` (``profile llm --calibrate``, a spec's
    ``model.profile``), and notes. Points measured in another precision than the model planned
    (each point's ``dtype``, else the profile's ``metadata.dtype``) are left out: they were
    sized as runs of the planned precision (fp8 runs calibrating a bf16 plan moved memory to
    x1.67 and predicted bf16 about as fast as fp8); so are points whose recorded KV cache
    (``kv_cache_dtype``) is of another size than the plan's. Points that record no precision
    are said."""
    if profile is None:
        return (), ()
    points = tuple(profile.measurements)
    own = own_points(points)  # the running service's hours ran the plan's precision
    if not own:
        return points, ()
    meta = profile.metadata.llm_precision() or ""
    misfits = {id(m): f for m in own if (f := _precision_misfit(m, meta, s)) is not None}
    unknown = sum(1 for m in own if not m.dtype and not meta and id(m) not in misfits)
    notes = _precision_notes(list(misfits.values()), len(own), unknown, s)
    return tuple(m for m in points if id(m) not in misfits), tuple(notes)
