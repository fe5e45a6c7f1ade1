"""``scaleplan observe`` from a plan file to an Observed document: the queries the plan
implies (:mod:`scaleplan.observe.queries`), then the client, the fetch and the analysis, and
the file written (:func:`observe_command`, the command's report). The command line prints the
queries, the notes and the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping

    from scaleplan.observe.model import Observed
    from scaleplan.observe.queries import QuerySet
    from scaleplan.plan import Plan
    from scaleplan.table import Report


@dataclass(frozen=True)
class ObserveArgs:
    """The options of ``scaleplan observe`` as given (read by the functions below)."""

    prometheus: str | None  # None: --print-queries alone sends nothing (UX trial 33)
    plan: str
    since: str = "14d"
    step: str = "5m"
    end: str | None = None
    quantile: float = 0.9
    queries: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    deadline: float = 300.0
    max_mib: float = 64.0


class Planned(NamedTuple):
    """The running plan and the queries to send for it, over ``since_s`` at ``step_s``."""

    running: Plan
    queries: QuerySet
    step_s: float
    since_s: float


def check_outputs(*, print_queries: bool, out: str | None) -> None:
    """OptionError (exit 2) for outputs that do not go together: ``--print-queries`` sends
    nothing, so it writes no ``--out`` file. Every combination with ``--json`` goes; neither
    ``--out`` nor ``--json`` is a look: the text report on stdout, no file written."""
    from scaleplan.errors import OptionError

    if print_queries and out is not None:
        raise OptionError("--print-queries writes no file", option="--out")


def plan_queries(a: ObserveArgs) -> Planned:
    """``--step``, ``--since``, the plan and ``--queries`` read and checked; the queries built
    (nothing is sent yet: ``--print-queries`` stops here)."""
    from scaleplan.errors import InputError
    from scaleplan.inputs import load_tables
    from scaleplan.observe.queries import build_queries, read_overrides
    from scaleplan.observe.timerange import since_seconds, step_seconds
    from scaleplan.plan import read_plan

    step_s = step_seconds(a.step)
    since_s = since_seconds(a.since, step_s)
    running = read_plan(a.plan)
    overrides = read_overrides(a.queries) if a.queries is not None else {}
    try:
        qs = build_queries(running, load_tables(), overrides, step_s=step_s)
    except InputError as exc:  # an override the plan's queries cannot take: named by its file
        if exc.file != "--queries":
            raise
        raise InputError(a.queries, exc.problems, hint=exc.hint) from None
    return Planned(running, qs, step_s, since_s)


def observe_plan(
    planned: Planned, a: ObserveArgs, out: str | None, env: Mapping[str, str]
) -> Observed:
    """Send the queries to ``a.prometheus`` (credentials from ``env``), analyze the answers and
    write the Observed file to ``out`` (when given; checked writable before any query runs)."""
    from scaleplan.observe.analyze import analyze
    from scaleplan.observe.client import ClientOptions, Prometheus, auth_from_env
    from scaleplan.observe.fetch import fetch
    from scaleplan.observe.model import dump_observed
    from scaleplan.observe.timerange import end_time
    from scaleplan.outputs import check_out_file, refuse_input_as_output
    from scaleplan.yamlio import atomic_write, check_writable

    assert a.prometheus is not None  # observe_command refused a run without it
    if out is not None:  # before the queries run: a path that cannot be written fails now, exit 3
        check_writable(check_out_file(out, example="observed.yaml"), example="observed.yaml")
        inputs = [a.plan, *([a.queries] if a.queries is not None else [])]
        refuse_input_as_output(out, inputs, option="--out", example="observed.yaml")
    auth = auth_from_env(env, token_file=a.token_file)
    opts = ClientOptions(
        timeout_s=a.timeout, deadline_s=a.deadline, max_bytes=int(a.max_mib * 1048576),
        ca_file=a.ca_file, insecure=a.insecure,
    )
    prom = Prometheus(a.prometheus, auth=auth, options=opts)
    t_end = end_time(a.end, planned.step_s)
    t_start = t_end - planned.since_s
    fetched = fetch(prom, planned.queries, t_start, t_end, planned.step_s)
    obs = analyze(planned.running, planned.queries, fetched, quantile_q=a.quantile)
    if out is not None:
        atomic_write(out, dump_observed(obs))
    return obs


def observe_command(
    a: ObserveArgs, out: str | None, print_queries: bool, as_json: bool, env: Mapping[str, str]
) -> Report:
    """``scaleplan observe``'s :class:`~scaleplan.table.Report`: the queries built (and the
    outputs checked); with ``print_queries`` only they, as lines or JSON (nothing is sent);
    else the Observed document (:func:`observe_plan`, written to ``out`` when given)."""
    from scaleplan.errors import OptionError
    from scaleplan.observe import report

    if a.prometheus is None and not print_queries:  # the command line first, as the parser
        raise OptionError(  # would (UX trial 33: --print-queries sends nothing, needs no URL)
            "not given: observe queries the Prometheus at this base URL, e.g. "
            "http://prometheus.monitoring.svc:9090 (only --print-queries runs without one)",
            option="--prometheus",
        )
    planned = plan_queries(a)
    check_outputs(print_queries=print_queries, out=out)
    if print_queries:
        return report.queries_report(planned.queries, as_json)
    return report.observed_report(observe_plan(planned, a, out, env), out, as_json)
