"""A command's inputs, assembled in one place: the spec, the profile it names, the catalogs
(the shipped ones for its providers, its ``placement.catalogs``, ``--catalog`` files), an
Observed file, and the input hashes a plan records; and the accelerator and instance tables
that ``render`` and ``check`` take (:func:`load_tables`), which they never read themselves.

``optimize``, ``validate`` and ``simulate`` (and the tests) read their inputs here, so a missing
or invalid referenced file is reported in one wording (:mod:`scaleplan.referenced_files`), with
the spec's line, whichever command meets it. :func:`gather_inputs` collects every problem
(``validate``); :func:`load_inputs` raises them all at once (``optimize``). The LLM commands'
inputs (``profile llm``, ``simulate``'s TTFT/TPOT points) are :mod:`scaleplan.llm_inputs`'.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from scaleplan.errors import (
    InfeasibleError,
    InputError,
    OptionError,
    Problem,
    SpecError,
)
from scaleplan.referenced_files import referenced_catalogs, referenced_profile

if TYPE_CHECKING:
    from scaleplan.catalog.model import Accelerator, Catalog
    from scaleplan.observe.model import Observed
    from scaleplan.plan import InputHashes, Plan
    from scaleplan.profile.model import Profile
    from scaleplan.solve import SolveOptions, SolveResult
    from scaleplan.spec import Spec
    from scaleplan.yamlio import LineMap


@dataclass(frozen=True)
class Inputs:
    """What ``optimize`` solves: a valid spec, its profile (None: an LLM spec planned from its
    architecture alone), the merged catalog, the hashes."""

    spec: Spec
    profile: Profile | None
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
    """``optimize``'s solve, with the inputs' hashes (the plan records them) and the spec's
    folder (a model.architecture path is relative to it) added to ``options``; a problem it
    finds with the spec (named by field only: the solve is pure) is named by the spec file and
    line (:func:`in_spec_file`)."""
    from scaleplan.solve import solve

    options = replace(options, inputs=inp.hashes, spec_dir=str(Path(inp.source).parent))
    try:
        return solve(inp.spec, inp.profile, inp.catalog, options=options)
    except InputError as exc:
        raise in_spec_file(exc, inp) from None
    except InfeasibleError as exc:
        raise infeasible_in_spec_file(exc, inp) from None


def noisy_plan_points(inp: Inputs, plan: Plan) -> list[str]:
    """``optimize``'s warning when the plan's capacity rests on profile points measured
    contended or unstable (:func:`scaleplan.profile.verdict.noisy_plan_points`)."""
    if inp.profile is None or all(m.source != "measured" for m in inp.profile.measurements):
        return []  # only measured points have a verdict (and its module three dataclasses)
    from scaleplan.profile.verdict import noisy_plan_points as noisy

    used = (
        (a.accelerator, a.operating_point.batch_size, a.operating_point.request_class)
        for a in plan.allocations
    )
    return noisy(inp.profile, used, inp.spec.model.profile or "the profile")


def infeasible_in_spec_file(exc: InfeasibleError, inp: Inputs) -> InfeasibleError:
    """Each reason about a spec field (``where``: placement.budget_per_hour) led by the spec
    file and the field's line, as a bad value is (``spec.yaml:14: ...``); the line is also in
    the reason's details."""
    if inp.lines is None or not any(r.where for r in exc.reasons):
        return InfeasibleError(exc.reasons, name=inp.spec.metadata.name)
    out = []
    for r in exc.reasons:
        if r.where:
            key = tuple(int(k) if k.isdigit() else k for k in r.where.split("."))
            line = inp.lines.line_of(key)  # placement.quotas.0.max_gpus: a list's index
            at = f"{inp.source}:{line}: {r.message}"
            r = replace(r, message=at, details={**r.details, "line": line})
        out.append(r)
    return InfeasibleError(out, name=inp.spec.metadata.name, file=inp.source)


def in_spec_file(exc: InputError, inp: Inputs) -> InputError:
    """A problem the solve found with the spec, which it names by field only (it is pure):
    named by the spec file and, where the loader saw the field, its line."""
    if exc.file is not None or inp.lines is None:
        return exc
    return type(exc)(inp.source, with_lines(exc.problems, inp.lines))


def with_lines(problems: Sequence[Problem], lines: LineMap) -> list[Problem]:
    """``problems`` named by field, each given the line of its field (or its nearest parent);
    a list's item as ``traffic.classes[1].lengths``."""
    return [
        replace(p, line=p.line or lines.line_of(_keys(p.where))) if p.where else p
        for p in problems
    ]


def _keys(where: str) -> tuple[str | int, ...]:
    """``traffic.classes[1].lengths`` -> ("traffic", "classes", 1, "lengths")."""
    out: list[str | int] = []
    for part in where.split("."):
        name, _, rest = part.partition("[")
        out.append(name)
        out += [int(i) for i in rest.rstrip("]").split("][") if i.isdigit()] if rest else []
    return tuple(out)


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
    from scaleplan.catalog.files import load_catalog
    from scaleplan.precheck import placement_alone, placement_name_problems, placement_problems

    problems: list[Problem] = []
    spec: Spec | None = None
    alone = None
    try:
        spec = parse_spec(doc)
    except SpecError as exc:
        problems += exc.problems
        alone = placement_alone(doc, exc.problems)  # its names are checked all the same
    profile, profile_path, more = referenced_profile(file, doc)
    problems += more
    cat_problems = referenced_catalogs(file, doc)
    problems += cat_problems
    catalog = None
    spec_catalogs: tuple[Path, ...] = ()
    if alone is not None and not cat_problems:
        pl, flavor = alone
        found = [str(Path(file).parent / c) for c in pl.catalogs]
        mine = load_catalog([*found, *catalogs], providers=pl.providers)
        problems += placement_name_problems(pl, flavor, mine, doc.lines)
    if spec is not None and not cat_problems:
        spec_catalogs = tuple(Path(file).parent / c for c in spec.placement.catalogs)
        # the spec's providers' shipped files, then the spec's own catalogs, then --catalog
        catalog = load_catalog(
            [*map(str, spec_catalogs), *catalogs], providers=spec.placement.providers
        )
        problems += placement_problems(spec, catalog, doc.lines)
        from scaleplan.llm_inputs import dtype_problems  # its module imports this one

        problems += dtype_problems(spec, file, doc.lines, catalog)
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


def shipped_accelerators() -> tuple[Accelerator, ...]:
    """The shipped accelerator table (:func:`scaleplan.catalog.files.load_accelerators`), for
    a library caller of the simulators, which take the table as a required argument (tests,
    bench); the commands read the user's catalogs too (``diff``: :func:`plans_accelerators`)."""
    from scaleplan.catalog.files import load_accelerators

    return load_accelerators()


def plans_accelerators(
    plans: Sequence[tuple[Plan, str]], catalogs: Sequence[str] = ()
) -> tuple[tuple[Accelerator, ...], list[str]]:
    """The accelerator table for plans read from their files (``diff``): the shipped one, then
    the accelerators of each plan's spec catalogs found beside it with the recorded content
    (:func:`spec_catalogs_found`), a later plan's winning, then ``catalogs`` (``--catalog``),
    as ``render`` merges them; no provider's instance rows are read. With a warning per
    catalog of the user's a plan was optimized with that none of these gives
    (:func:`catalogs_not_given`: ``optimize --catalog``'s are found nowhere)."""
    from scaleplan.catalog.files import load_catalog

    given = [(plan, spec_catalogs_found(plan, file, catalogs)) for plan, file in plans]
    found = [f for _, g in given for f in g.files[: len(g.files) - len(catalogs)]]
    what = "its accelerators' memory is"
    warned = (catalogs_not_given(plan, g, "the start-up costs", what) for plan, g in given)
    table = load_catalog([*found, *catalogs], shipped=False).accelerators
    return table, list(dict.fromkeys(w for w in warned if w))


def users_catalogs(plan: Plan) -> dict[str, str]:
    """The catalogs of the user's that ``plan`` was optimized with (the spec's
    ``placement.catalogs`` or ``optimize --catalog``), name -> sha256: the plan's
    ``metadata.inputs.catalogs`` less the shipped ones."""
    own = plan.metadata.inputs.catalogs.items()
    return {
        k.removeprefix("spec/"): digest
        for k, digest in own
        if not k.startswith(("shipped/", "melange/"))
    }


@dataclass(frozen=True)
class GivenCatalogs:
    """The catalog files ``render`` and ``check --plan`` read for a plan
    (:func:`spec_catalogs_found`), with the sha256 of each, hashed once: the catalogs of the
    user's the plan names are matched against these (:func:`catalogs_not_given`,
    :func:`types_in_no_catalog`). Until 2026-12-06 each of those hashed every file again."""

    files: tuple[str, ...]
    digests: frozenset[str]


def _digests(catalogs: Sequence[str | Path] | GivenCatalogs) -> frozenset[str]:
    """The sha256 of each file of ``catalogs`` (hashed here unless already: GivenCatalogs); a
    --catalog that is missing or no file is load_tables' to report (exit 3), not hashed."""
    if isinstance(catalogs, GivenCatalogs):
        return catalogs.digests
    from scaleplan.yamlio import sha256_file

    return frozenset(sha256_file(c) for c in catalogs if Path(c).is_file())


def spec_catalogs_found(plan: Plan, plan_file: str, catalogs: Sequence[str]) -> GivenCatalogs:
    """``catalogs`` and, before them, each catalog of the plan's spec (``placement.catalogs``,
    recorded as ``spec/<path>`` with its sha256) that none of them gives and that is found at
    its path from the plan's folder's parent (``optimize`` writes ``out/plan.yaml`` next to
    the spec), the plan's folder or the working folder, with the recorded content: ``render``
    and ``check --plan`` then read its rows without a ``--catalog`` (UX trial 25 F16). A file
    there with other content is not taken (the warning asks for ``--catalog``). With the
    digests of all of them, so that nothing hashes them again."""
    from scaleplan.yamlio import sha256_file

    given = set(_digests(catalogs))
    folder = Path(os.path.abspath(plan_file)).parent  # 'plan.yaml' run from out/: its parent
    found = []
    for key, digest in plan.metadata.inputs.catalogs.items():
        if not key.startswith("spec/") or digest in given:
            continue
        rel = key.removeprefix("spec/")
        for base in (folder.parent, folder, Path()):
            path = base / rel
            if path.is_file() and sha256_file(path) == digest:
                found.append(str(path))
                given.add(digest)
                break
    # as optimize merges them: the spec's, then --catalog's (wins)
    return GivenCatalogs((*found, *catalogs), frozenset(given))


def plan_tables(
    plan: Plan, plan_file: str, catalogs: Sequence[str] = ()
) -> tuple[GivenCatalogs, Catalog]:
    """The catalog files ``render`` reads for ``plan`` (``catalogs`` and, before them, the
    spec's catalogs found beside it: :func:`spec_catalogs_found`, each hashed once) and their
    tables (:func:`load_tables`: the shipped catalogs of the providers the plan uses only);
    ``simulate`` reads the same with its own ``--catalog``, so that its accelerators are
    render's."""
    given = spec_catalogs_found(plan, plan_file, catalogs)
    providers = sorted({a.provider for a in plan.allocations})
    return given, load_tables(list(given.files), providers=providers)


def gate_tables(
    plan_file: str | None, catalogs: Sequence[str]
) -> tuple[Callable[[], GivenCatalogs], Callable[[], Catalog]]:
    """``check``'s catalog files (``catalogs`` and, with ``--plan``, the plan's spec catalogs
    found beside it: :func:`spec_catalogs_found`) and its tables, each read once, when first
    needed (the gate reads the plan, and refuses a bad one, before either is)."""
    from functools import cache

    @cache
    def files() -> GivenCatalogs:
        if plan_file is None:
            return GivenCatalogs(tuple(catalogs), _digests(catalogs))
        from scaleplan.plan import read_plan

        return spec_catalogs_found(read_plan(plan_file), plan_file, catalogs)

    return files, cache(lambda: load_tables(list(files().files)))


# what catalogs_not_given says simulate leaves out (plans_accelerators: diff's start-up
# costs, the memory alone): a new pod's weight copy, the LLM model's sizing and step times
SIMULATED = "its accelerators' memory and speed are"


def catalogs_not_given(
    plan: Plan, catalogs: Sequence[str | Path] | GivenCatalogs, into: str = "the manifests",
    what: str = "node labels, GPU labels, extended resources and memory of its rows are",
) -> str | None:
    """A warning when ``plan`` was optimized with catalogs of the user's (the spec's
    ``placement.catalogs`` or ``optimize --catalog``: ``metadata.inputs.catalogs`` other than
    the shipped ones) that none of ``catalogs`` (``render``/``check --catalog``) matches by
    content: their rows' node_labels, gpu_product, extended resource and memory are then left
    out of what is rendered (an owned node's pool label dropped, and ``check --plan`` reporting
    the committed selector as drift, UX trial 22); None when every one is given."""
    given = _digests(catalogs)
    missing = [k for k, digest in users_catalogs(plan).items() if digest not in given]
    if not missing:
        return None
    names = ", ".join(missing)
    flags = " ".join(f"--catalog {m}" for m in missing)
    return (
        f"the plan was optimized with {names} (the spec's placement.catalogs or optimize "
        f"--catalog), which no --catalog gives here: {what} left out of {into}; pass {flags} "
        "(its path from here; docs/catalog.md, \"Owned nodes\")"
    )


def types_in_no_catalog(
    plan: Plan,
    catalog: Catalog | Callable[[], Catalog],
    catalogs: Sequence[str | Path] | GivenCatalogs = (),
) -> list[str]:
    """A warning when an allocation's instance type is in no row of ``catalog`` (the shipped
    catalogs and the ``--catalog`` files), said only where the plan names no catalog of the
    user's that is not given (:func:`catalogs_not_given` says that) and came from no Mélange
    import: a hand-edited ``instance_type: a2-highgpu-1gg`` rendered a nodeSelector no node can
    match, its pods Pending, and passed ``check --plan`` with the generic edited warning only
    (UX trial 25). ``catalogs``: the ``--catalog`` files; a catalog of the user's given there
    does not skip the check (r1 review 38 item 9). ``catalog`` may be the function that
    reads it (``check``'s, shared with its rules), called only when the check runs."""
    own = plan.metadata.inputs.catalogs
    if any(k.startswith("melange/") for k in own) or catalogs_not_given(plan, catalogs):
        return []
    rows = (catalog() if callable(catalog) else catalog).rows
    keys = {(r.provider, r.region, r.instance_type) for r in rows}
    gone = sorted(
        {(a.provider, a.region, a.instance_type) for a in plan.allocations} - keys
    )
    if not gone:
        return []
    names = ", ".join(f"{t} ({p} {r})" for p, r, t in gone)
    one = len(gone) == 1
    types, it, its = ("type", "it", "its") if one else ("types", "them", "their")
    return [
        f"the plan's instance {types} {names}: in no catalog row (shipped or --catalog), so no "
        f"node of {it} can start and {its} pods would stay Pending; re-run `scaleplan optimize` "
        f"(an edited plan?), or pass the catalog that lists {it} with --catalog"
    ]


def plan_warnings(
    plan: Plan | None,
    catalogs: Sequence[str] | GivenCatalogs,
    plan_file: str | None,
    tables: Callable[[], Catalog],
) -> list[str]:
    """``check --plan``'s warnings about the plan (on stderr; the report and the exit code are
    the checks'): the plan edited after optimize wrote it (UX trial 24), and the catalogs it
    was optimized with that no ``--catalog`` gives, without whose rows' labels the drift
    check's render reads the committed selectors as drift (UX trial 22). ``plan``: the plan
    the gate read from ``plan_file`` (:attr:`CheckReport.plan`), not read again; none
    without ``--plan``. ``tables``: the gate's own (cached) reader of the shipped and
    ``--catalog`` tables, so the drift check and this warning read them once."""
    if plan is None or plan_file is None:
        return []
    from scaleplan.plan import edited_warning

    missing = catalogs_not_given(plan, catalogs, "the drift check's render")
    unknown = types_in_no_catalog(plan, tables, catalogs)
    return [*edited_warning(plan, plan_file), *([] if missing is None else [missing]), *unknown]


def load_inputs(spec_path: str, catalogs: Sequence[str] = ()) -> Inputs:
    """The spec, its profile and the catalogs, with the input hashes; SpecError on any problem."""
    from scaleplan.catalog.files import shipped_paths
    from scaleplan.plan import InputHashes
    from scaleplan.yamlio import sha256_file

    g = gather_inputs(spec_path, catalogs)
    if g.problems:
        raise SpecError(spec_path, g.problems)
    assert g.spec is not None and g.catalog is not None
    # no profile only where the spec may leave it out (model.architecture: ModelSpec checks)
    assert (g.profile is None) == (g.profile_path is None) == (g.spec.model.profile is None)
    hashes = {f"shipped/{p.name}": sha256_file(p) for p in shipped_paths()}
    for rel, path in zip(g.spec.placement.catalogs, g.spec_catalogs, strict=True):
        hashes[f"spec/{rel}"] = sha256_file(path)
    for extra in catalogs:
        hashes[str(extra)] = sha256_file(extra)
    profile = sha256_file(g.profile_path) if g.profile_path is not None else None
    inputs = InputHashes(spec=sha256_file(spec_path), profile=profile, catalogs=hashes)
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
        if catalogs:  # two options that cannot be combined: a usage error (exit 2)
            raise OptionError(
                "does not apply to --melange (the config holds its own GPUs and prices); drop "
                "--catalog, or import the config with `scaleplan import melange` and edit its "
                "catalog.yaml",
                option="--catalog",
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
    force: bool = False,
) -> tuple[Inputs, ObservedInputs | None, tuple[str, ...]]:
    """``optimize``: ``--out`` checked first (a folder path, before anything is read), then
    :func:`command_inputs`; without ``--out`` (and ``--force``), the default folder must not
    hold another service's plan (:func:`scaleplan.plan_outputs.check_default_out`, before the
    solve); and the warnings about the inputs (a catalog whose prices are stale for the spec's
    providers, :func:`scaleplan.spec_checks.spec_warnings`). A spec and ``--melange`` together,
    or neither, is a usage error."""
    from datetime import UTC, datetime

    from scaleplan.catalog.freshness import stale_warning
    from scaleplan.outputs import check_out_dir, refuse_input_in_out_dir

    if (spec is None) == (melange is None):
        raise OptionError("give a spec file or --melange FILE (one of them)", option="SPEC")
    if out is not None:
        check_out_dir(out)
        refuse_input_in_out_dir(out, ["plan.yaml"], [spec, melange, *catalogs, observed])
    inp, obs = command_inputs(spec, melange, catalogs, observed)
    if out is None and not force:
        from scaleplan.plan_outputs import check_default_out, default_out_dir

        check_default_out(default_out_dir(inp.source), inp.spec.metadata.name)
    from scaleplan.llm_inputs import spec_config_notes
    from scaleplan.spec_checks import spec_warnings

    pl = inp.spec.placement
    now = datetime.now(UTC)
    stale = stale_warning(inp.catalog, now, providers=pl.providers, regions=pl.regions)
    assumed = spec_config_notes(inp.spec, inp.source) if spec is not None else ()
    prices = inp.catalog.price_notes
    return inp, obs, (*((stale,) if stale else ()), *prices, *spec_warnings(inp.spec), *assumed)
