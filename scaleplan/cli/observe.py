"""``scaleplan observe``: learn the demand curve, capacity and SLO of a running plan from Prometheus."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from scaleplan.cli._common import handle_errors, print_report
from scaleplan.cli.options import number_option
from scaleplan.option_values import args_of


def observe(
    plan: Annotated[str, typer.Option("--plan", metavar="FILE", help="The running plan (plan.yaml).", show_default=False)],
    prometheus: Annotated[str | None, typer.Option("--prometheus", help="Prometheus base URL (credentials: SCALEPLAN_PROMETHEUS_TOKEN[_FILE] or SCALEPLAN_PROMETHEUS_USER + _PASSWORD[_FILE]); required unless --print-queries.", show_default=False)] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", metavar="FILE", help="Write the Observed file here (YAML).")] = None,
    since: Annotated[str, typer.Option("--since", help="How far back to look (30m, 12h, 14d, 2w).")] = "14d",
    step: Annotated[str, typer.Option("--step", help="Resolution of the range queries.")] = "5m",
    end: Annotated[str | None, typer.Option("--end", help="End of the range (ISO 8601 or unix time); default: now.")] = None,
    quantile: Annotated[float, number_option("--quantile", what="a quantile", example="0.9", min=0.01, max=1.0, help="Quantile across days of each hour's demand (0.5 typical day, 0.9 busy day).")] = 0.9,
    queries: Annotated[str | None, typer.Option("--queries", metavar="FILE", help="YAML file: query name -> PromQL template overriding the default.")] = None,
    token_file: Annotated[str | None, typer.Option("--token-file", metavar="FILE", help="File holding a bearer token (the token itself is never a flag).")] = None,
    ca_file: Annotated[str | None, typer.Option("--ca-file", metavar="FILE", help="CA bundle for an https Prometheus.")] = None,
    insecure: Annotated[bool, typer.Option("--insecure-skip-tls-verify", help="Do not verify the server's TLS certificate.")] = False,
    timeout: Annotated[float, number_option("--timeout", what="a number of seconds", example="30", min=0.1, max=3600.0, help="Seconds to wait for each answer.")] = 30.0,
    deadline: Annotated[float, number_option("--deadline", what="a number of seconds", example="300", min=1.0, max=86400.0, help="Seconds for all queries together.")] = 300.0,
    max_mib: Annotated[float, number_option("--max-mib", what="a number of MiB", example="64", min=0.001, max=4096.0, help="Largest answer accepted, in MiB.")] = 64.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the Observed document as JSON.")] = False,
    show_queries: Annotated[bool, typer.Option("--print-queries", help="Only print the queries that would be sent, then exit.")] = False,
) -> None:
    """Query Prometheus for the service a plan deployed; write what it really did (exit 5 if a query fails)."""
    with handle_errors(json_out):
        from scaleplan.observe.command import ObserveArgs, observe_command

        args = args_of(ObserveArgs, locals())
        print_report(observe_command(args, out, show_queries, json_out, os.environ))
