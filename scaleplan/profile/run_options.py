"""``scaleplan profile TARGET``'s options checked against each other and against the kind of
TARGET, before anything is loaded or measured. The kind shows on the command line (an
``http(s)://`` URL or a model), so an option of the other kind is a usage error (exit 2), never
silently ignored (docs/cli.md, "Exit codes")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scaleplan.errors import OptionError

if TYPE_CHECKING:
    from scaleplan.profile.endpoint import EndpointOptions

ENDPOINT_ONLY = (
    "--payload", "--concurrency", "--rate", "--requests", "--timeout", "--max-error-rate",
    "--openai", "--model-name", "--max-tokens", "--header", "--accelerator", "--seed",
    "--follow-redirects",
)
MODEL_ONLY = (
    "--device", "--batch-sizes", "--max-batch", "--window-ms", "--stable-windows", "--stability",
    "--target-ci", "--min-samples", "--min-span", "--interleave", "--no-interleave",
    "--input-shape", "--dtype", "--threads", "--stop-at-plateau", "--no-stop-at-plateau",
)
OPENAI_ONLY = ("--model-name", "--max-tokens")
JOBS_ONLY = ("--accelerators", "--image", "--namespace", "--catalog")


def is_endpoint(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


def typed_options(args: Sequence[str]) -> list[str]:
    """The long options in ``args`` as typed (``--rate=2`` is ``--rate``), in order, once each;
    ``--`` ends the options."""
    out: list[str] = []
    for a in args:
        if a == "--":
            break
        if a.startswith("--"):
            out.append(a.split("=", 1)[0])
    return list(dict.fromkeys(out))


def check_run_options(
    target: str, args: Sequence[str], *, slo_percentile: int, concurrency: str | None,
    rate: str | None,
) -> None:
    """OptionError (exit 2) for an option that does not apply to TARGET's kind, an ``--openai``
    option without ``--openai``, a Jobs option without ``--emit-jobs``, ``--concurrency`` with
    ``--rate``, or a percentile the profile cannot hold."""
    if slo_percentile not in (50, 90, 95, 99):
        raise OptionError("must be 50, 90, 95 or 99", option="--slo-percentile")
    typed = typed_options(args)
    endpoint = is_endpoint(target)
    wrong = [o for o in typed if o in (MODEL_ONLY if endpoint else ENDPOINT_ONLY)]
    if wrong:
        kind = "an HTTP endpoint (TARGET is a URL)" if endpoint else "a model (TARGET is not a URL)"
        verb, it = ("does", "it") if len(wrong) == 1 else ("do", "them")
        message = f"{', '.join(wrong)} {verb} not apply to {kind}; drop {it}"
        raise OptionError(message, option=wrong[0])
    unused = [o for o in typed if o in JOBS_ONLY and "--emit-jobs" not in typed]
    if unused:
        message = f"{unused[0]} applies to --emit-jobs only (the Jobs it writes)"
        raise OptionError(message, option=unused[0])
    if endpoint and "--openai" not in typed:
        extra = [o for o in typed if o in OPENAI_ONLY]
        if extra:
            raise OptionError(f"{extra[0]} applies to --openai requests only", option=extra[0])
    if concurrency and rate:
        raise OptionError("give --concurrency or --rate, not both", option="--rate")


def endpoint_options(
    url: str, *, payload: str | None, concurrency: str | None, rate: str | None,
    requests: int | None, duration_s: float, timeout_s: float, max_error_rate: float,
    slo_ms: float | None, slo_percentile: int, openai: bool, model_name: str | None,
    max_tokens: int, headers: Sequence[str], accelerator: str | None, gpus: int, seed: int,
    follow_redirects: bool,
) -> tuple[EndpointOptions, list[str]]:
    """``profile URL``'s options as one :class:`EndpointOptions` (the request body read from
    ``--payload``, the levels and headers parsed, the accelerator's catalog name), and the
    warnings to print (no ``--accelerator``). Needs aiohttp (a MissingExtra otherwise)."""
    from scaleplan.extras import require
    from scaleplan.option_values import int_list, number_list
    from scaleplan.profile.devices import normalize_accelerator
    from scaleplan.profile.endpoint import EndpointOptions, load_payload, parse_headers

    require("aiohttp", "profiling an HTTP endpoint")
    levels = int_list(concurrency, "--concurrency")
    rates = number_list(rate, "--rate")
    body = load_payload(payload, openai=openai, url=url, model_name=model_name,
                        max_tokens=max_tokens)
    warnings = [] if accelerator is not None else [
        "no --accelerator given; points are recorded with accelerator 'unknown' "
        "(pass e.g. --accelerator L4 so the optimizer can use them)"
    ]
    opts = EndpointOptions(
        url=url, body=body, headers=parse_headers(list(headers)), concurrency=levels, rates=rates,
        requests=requests, duration_s=duration_s, timeout_s=timeout_s,
        max_error_rate=max_error_rate, slo_ms=slo_ms, slo_percentile=slo_percentile,
        openai=openai, accelerator=normalize_accelerator(accelerator) if accelerator else "unknown",
        gpus=gpus, seed=seed, follow_redirects=follow_redirects,
    )
    return opts, warnings
