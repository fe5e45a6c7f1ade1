"""The files ``optimize`` and ``render`` write: ``plan.yaml`` and ``manifests/`` (``render``:
the manifests folder alone) in one output transaction (:mod:`scaleplan.outputs`), the changes
against the plan already in the folder, and which manifest folders are scaleplan's to replace;
each command from its options to what it wrote (:func:`optimize_file`, :func:`render_plan_file`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from scaleplan.errors import InputError, OptionError, PlanError, Problem, SpecError
from scaleplan.inputs import noisy_plan_points, optimize_inputs, solve_inputs
from scaleplan.table import Report, titled

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from contextlib import AbstractContextManager

    from scaleplan.catalog.model import Accelerator, Catalog
    from scaleplan.inputs import Inputs, ObservedInputs
    from scaleplan.plan import Plan
    from scaleplan.plandiff import PlanDiff
    from scaleplan.render import Layout, RenderResult
    from scaleplan.solve import SolveOptions, SolveResult
    from scaleplan.yamlio import LineMap

SOLVED_PLAN = "the solved plan"  # what render's errors name in optimize: no plan file exists yet


@dataclass(frozen=True)
class PlanOutputs:
    """What ``optimize`` wrote, and what it has to say about it."""

    written: tuple[str, ...]  # the paths written, plan.yaml first
    plan_file: Path
    changes: PlanDiff | None  # against the plan that was in the folder, when there was one
    warnings: tuple[str, ...]  # an unreadable previous plan, the plan's, the renderer's, prices'
    render_warnings: tuple[str, ...]
    # date-based (never in plan.yaml): spot prices the plan rests on that may not hold
    price_warnings: tuple[str, ...] = ()


def not_rendered_by_us(directory: Path) -> list[Path]:
    """The files under ``directory`` that are not manifests scaleplan render wrote (sorted).
    The output lock (``.scaleplan.lock``, left by ``optimize``) is scaleplan's too: it is not
    listed, so a refusal names the user's files."""
    from scaleplan.outputs import LOCK_NAME
    from scaleplan.render import HEADER

    out: list[Path] = []
    for p in sorted(directory.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        if p.name == LOCK_NAME and p.is_file() and not p.is_symlink():
            continue
        if p.suffix != ".yaml" or p.is_symlink():
            out.append(p)
            continue
        try:
            with p.open(encoding="utf-8") as fh:
                first = fh.readline()
        except (OSError, UnicodeDecodeError):
            first = ""
        if first != HEADER:
            out.append(p)
    return out


def write_manifests(out: Path, files: Mapping[str, str]) -> None:
    """``render --out DIR``: replace DIR with the manifests at once, through the output
    transaction ``optimize`` uses (locked, every file fsynced, all or nothing); refused when
    DIR holds files scaleplan did not write."""
    from scaleplan.outputs import replace_folder
    from scaleplan.yamlio import file_not_folder

    if out.exists() and not out.is_dir():
        raise file_not_folder(out)
    replace_folder(out, files, foreign=not_rendered_by_us)


def write_plan_outputs(
    out_dir: Path,
    plan: Plan,
    catalog: Catalog,
    *,
    manifests: bool,
    spec_file: str | None = None,
    spec_lines: LineMap | None = None,
) -> PlanOutputs:
    """``optimize``: OUT/plan.yaml and (with ``manifests``) OUT/manifests/, rendered with the
    ``catalog`` the plan was optimized with, computed first and then swapped in together under
    a lock on the folder; a manifests/ folder with user files is refused, never deleted.
    Render's problems with the spec's own values (engine flags that contradict the solved plan)
    name ``spec_file`` and its lines (``spec_lines``, the line numbers the inputs were read
    with: :attr:`scaleplan.inputs.Inputs.lines`), not the plan in memory."""
    from scaleplan.outputs import commit_outputs
    from scaleplan.plan import dump_plan
    from scaleplan.yamlio import file_not_folder

    if out_dir.exists() and not out_dir.is_dir():
        raise file_not_folder(out_dir)
    plan_file = out_dir / "plan.yaml"
    changes, unreadable = _changes(plan_file, plan, catalog)
    render_warnings: tuple[str, ...] = ()
    trees: dict[str, dict[str, str]] = {}
    if manifests:
        result = _render(plan, catalog, spec_file, spec_lines)
        trees["manifests"], render_warnings = dict(result.files), result.warnings
    written = commit_outputs(
        out_dir, {"plan.yaml": dump_plan(plan)}, trees, foreign=not_rendered_by_us
    )
    warnings = (*unreadable, *plan.warnings, *render_warnings)
    return PlanOutputs(
        tuple(str(p) for p in written), plan_file, changes, warnings, render_warnings
    )


def default_out_dir(source: str) -> Path:
    """``optimize``'s output folder without ``--out``: ``out`` next to the spec (or Mélange
    config)."""
    return Path(source).parent / "out"


def check_default_out(out_dir: Path, name: str) -> None:
    """Refuse (exit 3) to write service ``name``'s plan into the default folder ``out_dir``
    when the plan already there is another service's (its ``metadata.name``): two specs in one
    folder share the default ``out/``, and the second would silently replace the first's plan
    and manifests. The same name (a re-plan) is allowed; so is an unreadable plan (its changes
    are not shown, with a warning) and any folder given with ``--out``, or ``--force``."""
    plan_file = out_dir / "plan.yaml"
    if not plan_file.is_file():
        return
    from scaleplan.yamlio import load_yaml

    try:
        data = load_yaml(plan_file, what="plan").data
    except InputError:
        return
    meta = data.get("metadata") if isinstance(data, dict) else None
    other = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(other, str) or other == name:
        return
    raise InputError(
        str(plan_file),
        [
            Problem(
                "metadata.name",
                f"the default output folder {out_dir} holds the plan of service {other!r}, "
                f"not {name!r}: writing there would replace its plan.yaml and manifests",
                hint=f"pass --out for this service (e.g. --out {out_dir.parent / f'out-{name}'}), "
                "or --force to replace the other service's plan",
            )
        ],
    )


class Rendered(NamedTuple):
    """What ``render`` wrote: the plan, its manifests, the folder and the layout. ``out`` is
    None for ``--out -``: nothing was written, and ``stream`` is what goes to stdout."""

    plan: Plan
    result: RenderResult
    out: Path | None
    layout: Layout

    @property
    def stream(self) -> str | None:
        """``--out -``: every object as one YAML stream (``--layout single``'s manifests.yaml,
        for ``kubectl apply -f -`` or ``scaleplan check -``); None when written to a folder."""
        from scaleplan.render import SINGLE_FILE

        return self.result.files[SINGLE_FILE] if self.out is None else None

    def report(self, as_json: bool, wide: bool, width: Callable[[], int | None]) -> Report:
        """``render``'s output: its warnings, then the one YAML stream (``--out -``), the
        ``--json`` summary, or the objects table (``wide``: every column; else at most
        ``width()``, the terminal's, as records if need be)."""
        from scaleplan.render import objects_table, render_summary

        warnings, out = self.result.warnings, str(self.out)
        if self.stream is not None:
            return Report(text=self.stream, warnings=warnings)
        if as_json:
            doc = render_summary(self.plan, self.result, out, self.layout)
            return Report(doc=doc, warnings=warnings)
        table = objects_table(self.result, out, wide=wide, width=None if wide else width())
        return Report(lines=titled(table), warnings=warnings)


def render_plan_file(
    plan_file: str, out: str, layout: str, catalogs: Sequence[str], *, json_out: bool = False
) -> Rendered:
    """``render``: ``--layout`` and the ``--out`` path checked, the plan read, the manifests
    rendered with the accelerators the plan was optimized with (the shipped ones and
    ``catalogs``; rows only of the providers the plan uses) and written into ``out``; ``-``
    writes nothing and renders the one-stream layout for stdout (with ``--json``, which prints
    the summary there, a usage error)."""
    from scaleplan.inputs import catalogs_not_given, plan_tables, types_in_no_catalog
    from scaleplan.outputs import check_out_path
    from scaleplan.plan import edited_warning, read_plan
    from scaleplan.render import layout_option, render_report

    chosen = layout_option(layout)
    if out == "-" and json_out:
        message = (
            "--out - prints the manifests on stdout and --json prints the summary there "
            "(drop one; --json with --out DIR)"
        )
        raise OptionError(message, option="--json")
    out_dir = None if out == "-" else check_out_path(out)
    if out_dir is None:  # one stream on stdout, whatever --layout says
        chosen = "single"
    plan = read_plan(plan_file)
    given, tables = plan_tables(plan, plan_file, catalogs)  # each file hashed once, here
    result = render_report(plan, tables, layout=chosen, source=plan_file)
    missing = catalogs_not_given(plan, given)  # said, not refused: a row may not matter
    if missing is not None:
        result = replace(result, warnings=(missing, *result.warnings))
    edited = edited_warning(plan, plan_file)  # said, not refused: render caps what it must
    edited += types_in_no_catalog(plan, tables, given)
    result = replace(result, warnings=(*edited, *result.warnings))
    if out_dir is not None:
        replaced = others_replaced(out_dir, plan.spec.metadata.name, len(result.files))
        write_manifests(out_dir, result.files)
        result = replace(result, warnings=(*result.warnings, *replaced))
    return Rendered(plan, result, out_dir, chosen)


_PART_OF = re.compile(r"^ +app\.kubernetes\.io/part-of: *['\"]?([^'\"\s]+)", re.MULTILINE)


def others_replaced(out: Path, service: str, count: int) -> tuple[str, ...]:
    """``render --out DIR`` over manifests rendered for other services: what the replacement
    removes, said (the folder is replaced whole, so a GitOps sync or ``kubectl apply --prune``
    of it deletes the other services' objects). Read before the write; ``count`` files come."""
    if not out.is_dir():
        return ()
    held: dict[str, int] = {}
    for p in sorted(out.rglob("*.yaml")):
        try:
            names = set(_PART_OF.findall(p.read_text(encoding="utf-8"))) - {service}
        except (OSError, UnicodeDecodeError):
            continue
        for name in names:
            held[name] = held.get(name, 0) + 1
    if not held:
        return ()
    them = ", ".join(f"{n} ({k} file{'s' if k != 1 else ''})" for n, k in sorted(held.items()))
    return (
        f"render: {out} held manifests rendered for another service, {them}: they are replaced "
        f"by this plan's {count} files for {service}; a GitOps sync or kubectl apply --prune of "
        "the folder deletes those objects from the cluster (render each service into its own "
        "folder)",
    )


class Optimized(NamedTuple):
    """What ``optimize`` made: the plan as written, the solve's result (statistics, alternatives,
    baselines), what was written, the Observed inputs it re-planned from (``--observed``), and
    the accelerator table of the catalog it solved with (the report prices start-ups by it)."""

    plan: Plan
    result: SolveResult
    wrote: PlanOutputs
    observed: ObservedInputs | None
    accelerators: tuple[Accelerator, ...]

    def report(self, as_json: bool, wide: bool) -> Report:
        """``optimize``'s output (:func:`scaleplan.plan_report.optimize_report`): the ``--json``
        document, or the summary table (``wide``: every column) and lines."""
        from scaleplan.plan_report import optimize_report

        return optimize_report(
            self.plan, self.result, self.wrote, self.observed, self.accelerators,
            as_json=as_json, wide=wide,
        )


def optimize_file(
    spec: str | None,
    melange: str | None,
    catalogs: Sequence[str],
    options: SolveOptions,
    *,
    observed: str | None,
    out: str | None,
    force: bool,
    manifests: bool,
    warn: Callable[[Iterable[str]], None],
    quiet: Callable[[], AbstractContextManager[object]],
) -> Optimized:
    """``optimize`` from its options to the plan written: the inputs (:func:`optimize_inputs`;
    their warnings to ``warn`` before the solve), the solve (inside ``quiet``: the command line
    keeps the solvers' C libraries off its stdout), the plan written (:func:`write_solved`),
    then the warnings about what was written and the noisy profile points the plan rests on."""
    inp, obs, warnings = optimize_inputs(spec, melange, catalogs, observed, out, force)
    warn(warnings)
    with quiet():
        result = solve_inputs(inp, options)
    plan, wrote = write_solved(result.plan, inp, obs, out, manifests=manifests, spec_file=spec)
    warn([*wrote.warnings, *noisy_plan_points(inp, plan)])
    return Optimized(plan, result, wrote, obs, inp.catalog.accelerators)


def write_solved(
    plan: Plan,
    inp: Inputs,
    obs: ObservedInputs | None,
    out: str | None,
    *,
    manifests: bool,
    spec_file: str | None,
) -> tuple[Plan, PlanOutputs]:
    """``optimize``: the solved plan, labelled as re-planned from the Observed file when there
    is one, written by :func:`write_plan_outputs` into ``out`` (default: ``out`` next to the
    spec or Mélange config); the plan as written, and what was written."""
    if obs is not None:  # scaleplan.observe is imported only for --observed
        from scaleplan.observe.replan import label_plan

        plan = label_plan(plan, obs.labels)
    out_dir = Path(out) if out is not None else default_out_dir(inp.source)
    wrote = write_plan_outputs(
        out_dir, plan, inp.catalog, manifests=manifests, spec_file=spec_file, spec_lines=inp.lines
    )
    priced = spot_price_notes(plan, inp.catalog)
    if priced:
        wrote = replace(wrote, warnings=(*wrote.warnings, *priced), price_warnings=priced)
    return plan, wrote


def spot_price_notes(plan: Plan, catalog: Catalog) -> tuple[str, ...]:
    """The warning when the plan's spot allocations rest on catalog spot prices that may not
    hold today (:func:`scaleplan.catalog.freshness.spot_price_warnings`): a date-based note,
    so it is printed and in ``--json``, never in plan.yaml."""
    from datetime import UTC, datetime

    from scaleplan.catalog.freshness import spot_price_warnings

    by_key = {r.key: r for r in catalog.rows}
    used = [
        by_key[key]
        for a in plan.allocations
        if a.capacity_type == "spot" and (key := (a.provider, a.region, a.instance_type)) in by_key
    ]
    return tuple(spot_price_warnings(used, datetime.now(UTC)))


def _render(
    plan: Plan, catalog: Catalog, spec_file: str | None, lines: LineMap | None
) -> RenderResult:
    """The manifests of a plan optimize solved; a PlanError whose problems all lie in the spec
    (``Problem.path`` under ``spec``) becomes a SpecError naming the spec file and lines."""
    from scaleplan.render import render_report

    try:
        return render_report(plan, catalog, layout="files", source=SOLVED_PLAN)
    except PlanError as exc:
        paths = [p.path for p in exc.problems]
        in_spec = bool(paths) and all(q is not None and q[:1] == ("spec",) for q in paths)
        if spec_file is None or lines is None or not in_spec:
            raise
        problems = []
        for p in exc.problems:
            assert p.path is not None
            path = p.path[1:]
            where = p.where.removeprefix("spec.")
            problems.append(replace(p, where=where, path=path, line=lines.line_of(path)))
        raise SpecError(spec_file, problems) from None


def _changes(
    plan_file: Path, plan: Plan, catalog: Catalog
) -> tuple[PlanDiff | None, tuple[str, ...]]:
    """The diff against the plan already in the output folder (None when there is none, or a
    warning when it cannot be read); both plans' start-ups priced by ``catalog``'s
    accelerators, the catalog optimize solved with."""
    if not plan_file.is_file():
        return None, ()
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_plans

    try:
        old = read_plan(plan_file)
    except InputError as exc:
        why = exc.message.splitlines()[0]
        return None, (
            f"the plan already in {plan_file} cannot be read, so its changes are not shown ({why})",
        )
    return diff_plans(old, plan, catalog.accelerators), ()
