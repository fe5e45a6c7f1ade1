"""``scaleplan simulate`` from a plan file to a result: the options checked
(:mod:`scaleplan.simulate.options`), the plan read and checked, and the simulator its kind
needs run: request-level (:func:`scaleplan.simulate.core.simulate`) or, for LLM plans, token
by token (:func:`scaleplan.simulate.llm.simulate_llm`). The command line shows the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scaleplan.errors import input_error

if TYPE_CHECKING:
    from scaleplan.catalog.model import Catalog
    from scaleplan.plan import Plan
    from scaleplan.simulate.failures import Failure
    from scaleplan.simulate.llm_results import LlmSimResult
    from scaleplan.simulate.options import Choices, LlmChoices
    from scaleplan.simulate.results import SimResult
    from scaleplan.simulate.surge import Surge
    from scaleplan.table import Report


@dataclass(frozen=True)
class SimulateArgs:
    """The options of ``scaleplan simulate`` as given (checked by :func:`simulate_file`)."""

    arrivals: str = "poisson"
    trace: str | None = None
    duration: float | None = None
    windows: str = "all"
    seed: int = 0
    fail: str | None = None
    fail_at: float | None = None
    policy: str = "auto"
    batch_timeout_ms: float = 0.0
    fixed_fraction: float = 0.5
    replica_delta: int = 0
    # plan, or autoscaler: what the rendered autoscalers run (replay; under --surge their
    # reaction); None: plan, or autoscaler under --surge
    replicas: str | None = None
    profile: str | None = None
    lengths: str = "spec"
    length_sigma: float = 0.5
    min_requests: int = 1000
    replace_after: float | None = None
    picker: str = "epp"
    steps: str = "auto"
    png: str | None = None  # checked before simulating (matplotlib, a writable path)
    surge: str | None = None  # FACTORx@START+DURATION (scaleplan.simulate.surge)
    catalog: Sequence[str] | None = None  # --catalog files, beyond the spec's found beside it


def simulate_command(plan_file: str, a: SimulateArgs, as_json: bool) -> Report:
    """``scaleplan simulate``'s report (the ``--png`` written before it is printed)."""
    from scaleplan.simulate.report import simulate_report

    return simulate_report(simulate_file(plan_file, a), as_json)


def simulate_file(plan_file: str, a: SimulateArgs) -> SimResult | LlmSimResult:
    """Simulate the plan in ``plan_file`` (and write ``--png``): options that no simulation
    takes are usage errors (exit 2), checked before the plan is read; a plan that cannot be
    simulated, or that an option does not apply to, is bad input (exit 3)."""
    from scaleplan.plan import edited_warning, read_plan
    from scaleplan.simulate import check_simulatable
    from scaleplan.simulate.options import check_options, select_windows

    chosen = check_options(
        policy=a.policy, fail=a.fail, arrivals=a.arrivals, trace=a.trace, duration=a.duration,
        batch_timeout_ms=a.batch_timeout_ms, fixed_fraction=a.fixed_fraction,
    )
    if a.png is not None:  # a missing matplotlib or a bad path fails before the simulation
        from scaleplan.simulate.report import check_png

        check_png(a.png)
    replicas = a.replicas or ("autoscaler" if a.surge is not None else "plan")
    if replicas not in ("plan", "autoscaler"):
        from scaleplan.errors import OptionError

        raise OptionError(f"must be plan or autoscaler; got {replicas!r}", option="--replicas")
    surge = _surge_checked(a)
    plan = read_plan(plan_file)
    edited = edited_warning(plan, plan_file)
    check_simulatable(plan, plan_file)
    if chosen.fail == "zone":  # before simulating, naming the file (the simulators name the plan)
        from scaleplan.simulate.failures import check_zones_listed

        check_zones_listed(plan, plan_file)
    tables, missing = _tables(plan, plan_file, a.catalog or ())
    replayed = None
    if replicas == "autoscaler" and surge is None:
        replayed = _autoscaled(plan, plan_file, tables)
    if replayed is not None:
        plan, note = replayed
        check_simulatable(plan, plan_file)
    sel = select_windows(a.windows, plan.demand.windows, plan.demand.rps)
    if surge is not None:
        sel = _surge_window(plan, plan_file, a.windows, sel)
    res = _run(plan, plan_file, a, chosen, sel, (surge, replicas == "autoscaler"), tables)
    if replayed is not None:
        import dataclasses

        res = dataclasses.replace(res, notes=(note, *res.notes))
    if edited or missing:  # simulated as it is, said first
        import dataclasses

        res = dataclasses.replace(res, notes=(*edited, *missing, *res.notes))
    if a.png is not None:  # written before the command prints its report
        from scaleplan.simulate.report import write_png

        write_png(a.png, res)
    return res


def _surge_checked(a: SimulateArgs) -> Surge | None:
    """``--surge`` read, and the options it does not combine with (exit 2)."""
    if a.surge is None:
        return None
    from scaleplan.errors import OptionError
    from scaleplan.simulate.surge import parse_surge

    surge = parse_surge(a.surge)
    clash = [
        o for o, on in (("--fail", a.fail is not None), ("--trace", a.trace is not None),
                        ("--replica-delta", a.replica_delta != 0)) if on
    ]
    if clash:
        why = " (a trace brings its own rates)" if a.trace is not None else ""
        message = f"does not combine with {', '.join(clash)}: one scenario at a time{why}; drop one"
        raise OptionError(message, option="--surge")
    return surge


def _surge_window(
    plan: Plan, plan_file: str, text: str, sel: tuple[int, ...] | None
) -> tuple[int, ...] | None:
    """A surge runs in one window: the peak by default (``--windows all``), else the one given;
    several are a usage error. An LLM plan only (exit 3 at the plan, as the other LLM options)."""
    from scaleplan.errors import OptionError
    from scaleplan.simulate.llm import is_llm_plan
    from scaleplan.simulate.options import select_windows

    if not is_llm_plan(plan):
        raise input_error(
            plan_file, "", "--surge applies to LLM plans only (the token-level simulator, whose "
            "replicas follow the rendered autoscalers)", "drop --surge: this plan is simulated by "
            "request; --arrivals bursty or a --trace gives it a spike at the plan's counts",
        )
    if sel is None:
        return select_windows("peak", plan.demand.windows, plan.demand.rps)
    if len(sel) != 1:
        message = (f"a surge runs in one window; {text!r} selects {len(sel)} (give --windows "
                   "peak or one window number)")
        raise OptionError(message, option="--windows")
    return sel


def _autoscaled(plan: Plan, plan_file: str, tables: Catalog) -> tuple[Plan, str]:
    """``--replicas autoscaler``: the plan with the counts its rendered autoscalers run at each
    window's planned rate (:mod:`scaleplan.render.replay`), and the note that says so."""
    from scaleplan.render.replay import (
        Unreplayable,
        autoscaled_counts,
        replay_note,
        with_counts,
    )

    try:
        counts = autoscaled_counts(plan, tables)
    except Unreplayable as exc:
        raise input_error(
            plan_file, "spec.kubernetes.autoscaler",
            f"--replicas autoscaler cannot replay {exc}",
            "simulate the plan's counts (--replicas plan), or render a request-rate autoscaler",
        ) from None
    return with_counts(plan, counts), replay_note(plan, counts)


def _tables(plan: Plan, plan_file: str, catalogs: Sequence[str]) -> tuple[Catalog, list[str]]:
    """The catalogs render reads for the plan with the same ``--catalog`` files
    (:func:`scaleplan.inputs.plan_tables`), and the warning when a catalog of the user's the
    plan was optimized with is none of them (:func:`scaleplan.inputs.catalogs_not_given`:
    ``optimize --catalog``'s is found nowhere). Read here, at the command's edge, and passed
    down: the simulators take the accelerator table from it (an accelerator a catalog of the
    user's defines is sized as render sizes it) and read no catalog themselves."""
    from scaleplan.inputs import SIMULATED, catalogs_not_given, plan_tables

    given, tables = plan_tables(plan, plan_file, catalogs)
    missing = catalogs_not_given(plan, given, "the simulation", SIMULATED)
    return tables, [] if missing is None else [missing]


def _run(
    plan: Plan, plan_file: str, a: SimulateArgs, chosen: Choices, sel: tuple[int, ...] | None,
    surge: tuple[Surge | None, bool], tables: Catalog,
) -> SimResult | LlmSimResult:
    """The simulator the plan's kind needs, with the options checked."""
    from scaleplan.simulate import read_trace
    from scaleplan.simulate import simulate as run
    from scaleplan.simulate.llm import is_llm_plan
    from scaleplan.simulate.options import check_llm, check_request_level

    if is_llm_plan(plan):
        llm = check_llm(
            plan, plan_file, policy=a.policy, batch_timeout_ms=a.batch_timeout_ms,
            fixed_fraction=a.fixed_fraction, arrivals=a.arrivals, lengths=a.lengths,
            picker=a.picker, steps=a.steps, length_sigma=a.length_sigma,
            min_requests=a.min_requests, replace_after=a.replace_after,
        )
        return _simulate_llm(
            plan, plan_file, llm, a, windows=sel, fail=chosen.fail, surge=surge, tables=tables
        )
    check_request_level(
        plan_file, profile=a.profile, lengths=a.lengths, replace_after=a.replace_after,
        picker=a.picker, steps=a.steps,
    )
    source = read_trace(a.trace) if a.trace is not None else a.arrivals
    try:
        return run(
            plan, arrivals=source, duration_s=60.0 if a.duration is None else a.duration,
            seed=a.seed, failure=chosen.fail, fail_at_s=a.fail_at, replace_after_s=a.replace_after,
            policy=chosen.policy,
            batch_timeout_ms=a.batch_timeout_ms, fixed_fraction=a.fixed_fraction,
            replica_delta=a.replica_delta, windows=sel, accelerators=tables.accelerators,
        )
    except ValueError as exc:
        raise input_error(plan_file, "", str(exc), "adjust the simulation options") from None


def _simulate_llm(
    plan: Plan, plan_file: str, llm: LlmChoices, a: SimulateArgs, *,
    windows: tuple[int, ...] | None, fail: Failure | None,
    surge: tuple[Surge | None, bool], tables: Catalog,
) -> LlmSimResult:
    """LLM plans: token-level continuous-batching simulation (docs/simulate.md, "LLM plans")."""
    from scaleplan.llm_inputs import llm_profile_points
    from scaleplan.render.replay import Unreplayable, rendered_scalers
    from scaleplan.simulate.llm import simulate_llm
    from scaleplan.simulate.llm_trace import read_llm_trace

    pts, notes = llm_profile_points(plan, plan_file, a.profile)
    llm_trace = read_llm_trace(a.trace) if a.trace is not None else None
    try:
        autoscaled = surge[0] is not None and surge[1]
        scalers = rendered_scalers(plan, tables) if autoscaled else None
        res = simulate_llm(
            plan, name=plan_file, trace=llm_trace, duration_s=a.duration,
            min_requests=a.min_requests, windows=windows, seed=a.seed, lengths=llm.lengths,
            length_sigma=a.length_sigma, failure=fail, fail_at_s=a.fail_at,
            replace_after_s=a.replace_after, picker=llm.picker, profile_pts=pts,
            steps_source=llm.steps, arrivals=llm.arrivals, replica_delta=a.replica_delta,
            surge=surge[0], scalers=scalers, accelerators=tables.accelerators,
        )
    except Unreplayable as exc:
        raise input_error(
            plan_file, "spec.kubernetes.autoscaler", f"--surge cannot simulate {exc}",
            "simulate the surge on the plan's counts (--replicas plan), or render a request-rate "
            "or LLM-engine autoscaler",
        ) from None
    except ValueError as exc:
        raise input_error(plan_file, "", str(exc), "adjust the simulation options") from None
    if notes:
        import dataclasses

        res = dataclasses.replace(res, notes=(*notes, *res.notes))
    return res
