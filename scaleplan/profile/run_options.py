"""``scaleplan profile TARGET``'s options checked against each other and against the kind of
TARGET, before anything is loaded or measured. The kind shows on the command line (an
``http(s)://`` URL or a model), so an option of the other kind is a usage error (exit 2), never
silently ignored (docs/cli.md, "Exit codes")."""

from __future__ import annotations

from collections.abc import Sequence

from scaleplan.errors import OptionError

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
    option without ``--openai``, ``--concurrency`` with ``--rate``, or a percentile the
    profile cannot hold."""
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
    if endpoint and "--openai" not in typed:
        extra = [o for o in typed if o in OPENAI_ONLY]
        if extra:
            raise OptionError(f"{extra[0]} applies to --openai requests only", option=extra[0])
    if concurrency and rate:
        raise OptionError("give --concurrency or --rate, not both", option="--rate")
