"""A command's inputs, assembled in one place: the spec, the profile it names, the catalogs
(the shipped ones for its providers, its ``placement.catalogs``, ``--catalog`` files), an
Observed file, and the input hashes a plan records; and the accelerator and instance tables
that ``render`` and ``check`` take (:func:`load_tables`), which they never read themselves.

``optimize``, ``validate`` and ``simulate`` (and the tests) read their inputs here, so a missing
or invalid referenced file is reported in one wording, with the spec's line, whichever command
meets it. :func:`gather_inputs` collects every problem (``validate``);
:func:`load_inputs` raises them all at once (``optimize``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from scaleplan.errors import (
    InfeasibleError,
    InputError,
    OptionError,
    Problem,
    SpecError,
    input_error,
)

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator, Catalog
    from scaleplan.llm.serving import LlmSetup, TokenClass
    from scaleplan.observe.model import Observed
    from scaleplan.plan import InputHashes, Plan
    from scaleplan.profile.model import Profile
    from scaleplan.simulate.llm_replicas import Point
    from scaleplan.solve import SolveOptions, SolveResult
    from scaleplan.spec import Spec
    from scaleplan.yamlio import Document, LineMap


@dataclass(frozen=True)
class Inputs:
    """What ``optimize`` solves: a valid spec, its profile, the merged catalog, the hashes."""

    spec: Spec
    profile: Profile
    catalog: Catalog
    hashes: InputHashes
    source: str  # the file the inputs came from (spec or Mélange config); out/ goes next to it
    # the spec file's line numbers, as the loader read them (None: a Mélange config, no spec
    # file), so that a later problem with the spec names its line without reading it again
    lines: LineMap | None = None


@dataclass(frozen=True)
class Gathered:
    """Everything that could be read from a spec and its references, and every problem found."""

    file: str
    spec: Spec | None
    profile: Profile | None
    profile_path: Path | None
    spec_catalogs: tuple[Path, ...]  # the spec's placement.catalogs next to it (when all are valid)
    catalog: Catalog | None  # None when the spec or one of its catalogs is invalid
    problems: tuple[Problem, ...]
    lines: LineMap  # the spec's line numbers, for further problems


@dataclass(frozen=True)
class ObservedInputs:
    """``optimize --observed``: the inputs re-planned from an Observed file, and its labels."""

    inputs: Inputs
    source: str
    observed: Observed
    labels: tuple[str, ...]


def solve_inputs(inp: Inputs, options: SolveOptions) -> SolveResult:
    """``optimize``'s solve; a problem it finds with the spec (named by field only: the solve
    is pure) is named by the spec file and line (:func:`in_spec_file`)."""
    from scaleplan.solve import solve

    try:
        return solve(inp.spec, inp.profile, inp.catalog, options=options)
    except InputError as exc:
        raise in_spec_file(exc, inp) from None
    except InfeasibleError as exc:
        raise infeasible_in_spec_file(exc, inp) from None


def infeasible_in_spec_file(exc: InfeasibleError, inp: Inputs) -> InfeasibleError:
    """Each reason about a spec field (``where``: placement.budget_per_hour) led by the spec
    file and the field's line, as a bad value is (``spec.yaml:14: ...``); the line is also in
    the reason's details."""
    if inp.lines is None or not any(r.where for r in exc.reasons):
        return exc
    out = []
    for r in exc.reasons:
        if r.where:
            key = tuple(int(k) if k.isdigit() else k for k in r.where.split("."))
            line = inp.lines.line_of(key)  # placement.quotas.0.max_gpus: a list's index
            at = f"{inp.source}:{line}: {r.message}"
            r = replace(r, message=at, details={**r.details, "line": line})
        out.append(r)
    return InfeasibleError(out)


def in_spec_file(exc: InputError, inp: Inputs) -> InputError:
    """A problem the solve found with the spec, which it names by field only (it is pure):
    named by the spec file and, where the loader saw the field, its line."""
    if exc.file is not None or inp.lines is None:
        return exc
    return type(exc)(inp.source, with_lines(exc.problems, inp.lines))


def with_lines(problems: Sequence[Problem], lines: LineMap) -> list[Problem]:
    """``problems`` named by field, each given the line of its field (or its nearest parent)."""
    return [
        replace(p, line=p.line or lines.line_of(tuple(p.where.split(".")))) if p.where else p
        for p in problems
    ]


def gather_inputs(path: str | Path, catalogs: Sequence[str] = ()) -> Gathered:
    """Read a spec, its profile and catalogs, collecting every problem instead of stopping
    (the spec's own values render would refuse included: :mod:`scaleplan.spec_checks`).

    Raises only when the spec file itself cannot be read as YAML, or a ``--catalog`` file
    is missing or invalid (nothing more about the spec's names can then be checked).
    """
    from scaleplan.spec import parse_spec
    from scaleplan.yamlio import load_yaml

    file = str(path)
    doc = load_yaml(path, what="spec")
    problems: list[Problem] = []
    spec: Spec | None = None
    try:
        spec = parse_spec(doc)
    except SpecError as exc:
        problems += exc.problems
    profile, profile_path, more = _referenced_profile(file, doc)
    problems += more
    cat_problems = _referenced_catalogs(file, doc)
    problems += cat_problems
    catalog = None
    spec_catalogs: tuple[Path, ...] = ()
    if spec is not None and not cat_problems:
        spec_catalogs = tuple(Path(file).parent / c for c in spec.placement.catalogs)
        from scaleplan.catalog.files import load_catalog
        from scaleplan.precheck import placement_problems

        # the spec's providers' shipped files, then the spec's own catalogs, then --catalog
        catalog = load_catalog(
            [*map(str, spec_catalogs), *catalogs], providers=spec.placement.providers
        )
        problems += placement_problems(spec, catalog, doc.lines)
    if spec is not None:
        # what render would refuse in the spec's own values, before anything is solved: optimize
        # --no-manifests wrote a literal HF_TOKEN from kubernetes.env into plan.yaml
        from scaleplan.spec_checks import spec_problems

        problems += [p.in_spec(doc.lines) for p in spec_problems(spec)]
    # by line, whichever pass found them (fields, referenced files, names); unplaced ones last
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return Gathered(
        file, spec, profile, profile_path, spec_catalogs, catalog, tuple(problems), doc.lines
    )


def load_tables(
    catalogs: Sequence[str | Path] = (), *, providers: Sequence[str] | None = None
) -> Catalog:
    """The accelerator and instance tables ``render`` and ``check`` take when no spec assembled
    them (``scaleplan render PLAN``, ``scaleplan check``, library callers): the shipped
    accelerator table and the shipped catalogs of ``providers`` (default: every provider), then
    the ``catalogs`` files in order (a later row replaces an earlier one; a file's accelerators
    extend the table). ``optimize`` renders with the catalog it solved with
    (:attr:`Inputs.catalog`), which holds the spec's own catalogs too."""
    from scaleplan.catalog.files import load_catalog

    return load_catalog(list(catalogs), providers=providers)


def load_inputs(spec_path: str, catalogs: Sequence[str] = ()) -> Inputs:
    """The spec, its profile and the catalogs, with the input hashes; SpecError on any problem."""
    from scaleplan.catalog.files import shipped_paths
    from scaleplan.plan import InputHashes
    from scaleplan.yamlio import sha256_file

    g = gather_inputs(spec_path, catalogs)
    if g.problems:
        raise SpecError(spec_path, g.problems)
    assert (
        g.spec is not None
        and g.profile is not None
        and g.profile_path is not None
        and g.catalog is not None
    )
    hashes = {f"shipped/{p.name}": sha256_file(p) for p in shipped_paths()}
    for rel, path in zip(g.spec.placement.catalogs, g.spec_catalogs, strict=True):
        hashes[f"spec/{rel}"] = sha256_file(path)
    for extra in catalogs:
        hashes[str(extra)] = sha256_file(extra)
    inputs = InputHashes(
        spec=sha256_file(spec_path), profile=sha256_file(g.profile_path), catalogs=hashes
    )
    return Inputs(g.spec, g.profile, g.catalog, inputs, spec_path, g.lines)


def melange_inputs(path: str) -> Inputs:
    """A Mélange config stated as spec, profile and catalog in memory (``import melange``
    without the files): the plan's input hashes are the config's."""
    from scaleplan.catalog.files import load_catalog, merge
    from scaleplan.importers.melange import import_files, load_json
    from scaleplan.plan import InputHashes
    from scaleplan.yamlio import sha256_file

    doc = load_json(path)
    if not isinstance(doc, dict) or "gpu_info" not in doc:
        hint = (
            "pass a Mélange config JSON, or convert AIBrix profiles with `scaleplan import "
            "melange FILES --rate RPS --out DIR` and optimize the spec it writes"
        )
        raise InputError(
            path, [Problem("", "not a Mélange config (it has no 'gpu_info')", hint=hint)]
        )
    base = load_catalog(providers=())
    res = import_files([path], base)
    catalog = merge([(path, res.catalog)], base.accelerators)
    digest = sha256_file(path)
    hashes = InputHashes(
        spec=digest, profile=digest, catalogs={f"melange/{Path(path).name}": digest}
    )
    return Inputs(res.spec, res.profile, catalog, hashes, path)


def with_observed(inputs: Inputs, path: str) -> ObservedInputs:
    """The spec and profile ``optimize --observed`` solves, with the Observed file's hash."""
    import dataclasses

    from scaleplan.observe.model import read_observed
    from scaleplan.observe.replan import apply_observed
    from scaleplan.yamlio import sha256_file

    observed = read_observed(path)
    rp = apply_observed(inputs.spec, inputs.profile, observed, source=path)
    hashes = inputs.hashes.model_copy(update={"observed": sha256_file(path)})
    replanned = dataclasses.replace(inputs, spec=rp.spec, profile=rp.profile, hashes=hashes)
    return ObservedInputs(replanned, path, observed, rp.labels)


def command_inputs(
    spec: str | None, melange: str | None, catalogs: Sequence[str], observed: str | None
) -> tuple[Inputs, ObservedInputs | None]:
    """``optimize``'s inputs: the spec's (or the Mélange config's, which holds its own GPUs and
    prices: no ``--catalog``), re-planned from the Observed file when given."""
    if melange is not None:
        if catalogs:
            raise input_error(
                "--catalog",
                "",
                "--catalog does not apply to --melange (the config holds its own GPUs and prices)",
                "drop --catalog, or import the config with `scaleplan import melange` and edit "
                "its catalog.yaml",
            )
        inp = melange_inputs(melange)
    else:
        assert spec is not None
        inp = load_inputs(spec, catalogs)
    if observed is None:
        return inp, None
    obs = with_observed(inp, observed)
    return obs.inputs, obs


def optimize_inputs(
    spec: str | None,
    melange: str | None,
    catalogs: Sequence[str],
    observed: str | None,
    out: str | None,
) -> tuple[Inputs, ObservedInputs | None, tuple[str, ...]]:
    """``optimize``: ``--out`` checked first (a folder path, before anything is read), then
    :func:`command_inputs`, and the warnings about them (a catalog whose prices are stale for
    the spec's providers, :func:`scaleplan.spec_checks.spec_warnings`)."""
    from datetime import UTC, datetime

    from scaleplan.catalog.freshness import stale_warning
    from scaleplan.outputs import check_out_dir

    if out is not None:
        check_out_dir(out)
    inp, obs = command_inputs(spec, melange, catalogs, observed)
    from scaleplan.spec_checks import spec_warnings

    stale = stale_warning(inp.catalog, datetime.now(UTC), providers=inp.spec.placement.providers)
    return inp, obs, (*((stale,) if stale else ()), *spec_warnings(inp.spec))


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
    notes: tuple[str, ...] = ()  # the spec's accelerators left out


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
    ``--output-tokens``, when typed) is a usage error where its classes give the tokens, and
    ``accelerators`` not given are its placement's GPUs (else :data:`DEFAULT_LLM_ACCELERATORS`)."""
    from scaleplan.catalog.files import load_accelerators, load_catalog
    from scaleplan.catalog.model import resolve_name
    from scaleplan.llm.arch import load_architecture
    from scaleplan.llm.serving import TokenClass, setup, setup_from_spec
    from scaleplan.spec import read_spec

    classes = [default_class]
    spec_lines: LineMap | None = None  # set when the classes are the spec's
    placed: list[str] = []  # the spec's placement.accelerators (GPUs)
    if spec_path is not None:
        from scaleplan.spec_checks import context_problems

        sp, doc = read_spec(spec_path)
        placed = [a for a in sp.placement.accelerators if a.lower() != "cpu"]
        too_long = context_problems(sp)  # a class the server would reject, as optimize says
        if too_long:
            raise InputError(spec_path, [p.in_spec(doc.lines) for p in too_long])
        if sp.traffic.classes:
            missing = [
                c.name for c in sp.traffic.classes if not (c.input_tokens and c.output_tokens)
            ]
            if missing:
                raise InputError(
                    spec_path,
                    [
                        Problem(
                            "traffic.classes",
                            f"class(es) {', '.join(missing)} lack input_tokens/output_tokens",
                            hint="give every class its tokens",
                        )
                    ],
                )
            classes = [
                TokenClass(c.name, c.input_tokens or 1, c.output_tokens or 1)
                for c in sp.traffic.classes
            ]
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
            raise OptionError(
                "the spec's traffic.classes give every class its tokens; drop the option, "
                "or --spec to plan one class of these tokens",
                option=tokens_given,
            )
        # the spec's model settings (engine_config included), each option given overriding its
        # own; MODEL (relative to the current folder) overriding model.architecture
        given = {"dtype": dtype, "kv_cache_dtype": kv_cache_dtype, "engine": engine}
        settings = sp.model.model_copy(
            update={k: v for k, v in given.items() if v is not None}
            | ({"architecture": model} if model is not None else {})
        )
        arch = load_architecture(model) if model is not None else None
        s = setup_from_spec(settings, Path(spec_path).parent, arch)
        model = model or sp.model.architecture
        assert model is not None
    else:
        assert model is not None
        s = setup(model, dtype=dtype, kv_cache_dtype=kv_cache_dtype, engine=engine)
    # only accelerator specs are needed: the instance catalogs load only with --catalog
    table = {
        a.name: a
        for a in (load_catalog(list(catalogs)).accelerators if catalogs else load_accelerators())
    }
    accs = []
    # not given: the GPUs the spec allows (a 405B model placed on B200 fits none of the defaults)
    for name in accelerators if accelerators is not None else placed or DEFAULT_LLM_ACCELERATORS:
        canonical = resolve_name(tuple(table.values()), name)
        a = table.get(canonical) if canonical else None
        if a is None:
            raise InputError(
                None,
                [
                    Problem(
                        "--accelerators",
                        f"unknown accelerator {name!r}",
                        hint=f"use one of: {', '.join(table)}",
                    )
                ],
            )
        accs.append(a)
    notes: tuple[str, ...] = ()
    if accelerators is None and placed:  # the spec's GPUs: one the model cannot run is left out
        accs, notes = _runnable(accs, s.dtype, spec_path, doc.lines)
    where = "--input-tokens" if spec_lines is None else "traffic.classes"
    over = s.over_context(classes, where)
    if over is not None:
        if spec_lines is not None:  # the spec's classes (one or several), at their line
            raise InputError(spec_path, with_lines([over], spec_lines))
        raise InputError(None, [over])
    return LlmProfileInputs(model, s, tuple(classes), tuple(accs), table, notes)


def _runnable(
    accs: Sequence[Accelerator], dtype: str, spec_path: str | None, lines: LineMap
) -> tuple[list[Accelerator], tuple[str, ...]]:
    """The accelerators the LLM model can size and that run ``dtype``, and a note for each
    other one (as optimize leaves them out: an fp8 spec that also allows an A10G); when every
    one is left out, an InputError at the spec's placement.accelerators saying why."""
    from scaleplan.llm.hardware import UnsupportedDtype, hardware, missing_facts

    keep, notes = [], []
    for a in accs:
        hw = hardware(a)
        if hw is None:
            notes.append(f"{a.name} is left out: the accelerator table lacks {missing_facts(a)}")
            continue
        try:
            hw.compute_peak_tflops(dtype)
        except UnsupportedDtype as exc:
            notes.append(f"{a.name} is left out: {dtype}: {exc}")
            continue
        keep.append(a)
    if not keep:  # not an empty 'no shape can serve' later: each one's reason, at its line
        why = Problem("placement.accelerators", "none can serve the model: " + "; ".join(notes),
                      hint=f"allow an accelerator that runs {dtype}, or change model.dtype")
        raise InputError(spec_path, with_lines([why], lines))
    return keep, tuple(notes)


def llm_profile_points(
    plan: Plan, plan_file: str, given: str | None
) -> tuple[dict[str, list[Point]] | None, tuple[str, ...]]:
    """``simulate`` of LLM plans: TTFT/TPOT points for the allocations without ``llm.classes``,
    from the ``--profile`` file, else the spec's profile next to the plan when it is there
    (with a note saying so); None when no allocation needs them or there is no profile."""
    from scaleplan.profile.model import read_profile
    from scaleplan.simulate.llm_replicas import profile_points

    needs = [a for a in plan.allocations if a.llm is None or not a.llm.classes]
    if not needs:
        return None, ()
    notes: tuple[str, ...] = ()
    if given is not None:
        prof = read_profile(given)
    else:
        guess = Path(plan_file).parent / plan.spec.model.profile
        if not guess.is_file():
            return None, ()
        prof = read_profile(guess)
        notes = (f"TTFT/TPOT points read from the spec's profile next to the plan: {guess}",)
    toks = {c.name: (c.input_tokens, c.output_tokens) for c in plan.spec.traffic.classes}
    pts = {a.name: profile_points(prof, a.accelerator, a.gpus_per_replica, toks) for a in needs}
    return pts, notes


# --- referenced files: one wording for missing, unusable and invalid ones ---------------------

_Kind = Literal["profile", "catalog"]
_HINTS: dict[_Kind, str] = {
    "profile": (
        "run `scaleplan profile` to create it, or fix the path (it is relative to the spec file)"
    ),
    "catalog": "fix the path (it is relative to the spec file)",
}


def _missing(
    kind: _Kind, where: str, ref: str, path: Path, line: int, hint: str = ""
) -> Problem | None:
    """A problem when ``path`` cannot be used or does not exist; None when it exists."""
    try:
        exists = path.exists()
    except (OSError, ValueError) as exc:  # a 5,000-character name, a NUL byte
        return Problem(
            where,
            f"{kind} path cannot be used: {getattr(exc, 'strerror', None) or exc}",
            hint="use a plain relative path",
            line=line,
        )
    if exists:
        return None
    return Problem(
        where,
        f"{kind} file {ref!r} not found (looked for {path.absolute()})",
        hint=hint or _HINTS[kind],
        line=line,
    )


def _invalid(kind: _Kind, where: str, ref: str, exc: InputError, line: int) -> list[Problem]:
    """The problems of an invalid referenced file, each placed at the spec's reference."""
    if not exc.problems:
        return [
            Problem(
                where,
                f"{kind} {ref!r} is invalid: {exc}",
                hint=exc.hint or f"fix the {kind} file",
                line=line,
            )
        ]
    return [
        Problem(
            where,
            f"invalid {kind}: {Problem(p.where, p.message, line=p.line).render(ref)}",
            hint=p.hint or f"fix the {kind} file",
            line=line,
        )
        for p in exc.problems
    ]


def _referenced_profile(
    file: str, doc: Document
) -> tuple[Profile | None, Path | None, list[Problem]]:
    from scaleplan.profile.model import read_profile

    raw = doc.data.get("model") if isinstance(doc.data, dict) else None
    ref = raw.get("profile") if isinstance(raw, dict) else None
    if not isinstance(ref, str) or not ref:
        return None, None, []  # the spec's own validation reports it
    path = (Path(file).parent / ref).absolute()  # no resolve(): a symlink loop raised RuntimeError
    line = doc.lines.line_of(("model", "profile"))
    llm = ""  # an LLM spec's profile comes from its architecture: say the command that writes it
    if isinstance(raw, dict) and raw.get("architecture"):
        import shlex

        args = f"--spec {shlex.quote(file)} --out {shlex.quote(str(Path(file).parent / ref))}"
        llm = f"create it from model.architecture: scaleplan profile llm {args}"
    missing = _missing("profile", "model.profile", ref, path, line, llm)
    if missing is not None:
        return None, None, [missing]
    try:
        return read_profile(path), path, []
    except InputError as exc:
        return None, None, _invalid("profile", "model.profile", ref, exc, line)


def _referenced_catalogs(file: str, doc: Document) -> list[Problem]:
    from scaleplan.catalog.files import read_catalog_file

    raw = doc.data.get("placement") if isinstance(doc.data, dict) else None
    refs = raw.get("catalogs") if isinstance(raw, dict) else None
    problems: list[Problem] = []
    for i, ref in enumerate(refs if isinstance(refs, list) else ()):
        if not isinstance(ref, str) or not ref:
            continue
        path, where, line = (
            Path(file).parent / ref,
            f"placement.catalogs[{i}]",
            doc.lines.line_of(("placement", "catalogs", i)),
        )
        missing = _missing("catalog", where, ref, path, line)
        if missing is not None:
            problems.append(missing)
            continue
        try:
            read_catalog_file(path)
        except InputError as exc:
            problems += _invalid("catalog", where, ref, exc, line)
    return problems
